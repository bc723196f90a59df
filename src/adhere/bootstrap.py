"""Wiring: settings in, a ready service out. The one place that picks the adapters."""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Engine

from adhere.adapters.database import connect, upgrade
from adhere.adapters.loop_thread import LoopThread
from adhere.adapters.sealing import Sealer
from adhere.adapters.store import SqlStore
from adhere.config import Settings
from adhere.domain.data_actions import DataAction
from adhere.domain.instants import MICROS_PER_MINUTE, MICROS_PER_SECOND, Instant
from adhere.domain.organisation import ManagementUnit
from adhere.domain.rules import RuleSpec
from adhere.entrypoints.api.live_rows import render_row
from adhere.service.action_runner import ActionRunner
from adhere.service.action_scopes import ScopeGuard
from adhere.service.announcer import Announcer
from adhere.service.auth import AuthService
from adhere.service.board_feed import BoardFeed
from adhere.service.context import Limits, ServiceContext
from adhere.service.jobs import JobRunner
from adhere.service.live import LiveAdherence, LiveRow
from adhere.service.replay import rebuild
from adhere.service.rule_worker import RuleWorker
from adhere.service.scope_check import ScopeVerdict
from adhere.service.users import UserService
from adhere.service.webhook_dispatch import Dispatcher
from adhere.service.webhooks import WebhookPolicy

_log = logging.getLogger("adhere")
_SCOPE_CHECK_SECONDS = 30.0  # an OpenAPI document and a token, each with its own timeout


@dataclass
class Container:
    settings: Settings
    database: Engine
    auth: AuthService
    context: ServiceContext
    webhooks: WebhookPolicy
    sealer: Sealer  # opens and seals data action credentials
    actions: ActionRunner  # runs data actions, in `automation`'s loop only
    users: UserService  # people who log in to the board, and their sessions
    automation: LoopThread = field(default_factory=LoopThread)  # the loop for outbound work
    jobs: JobRunner = field(default_factory=JobRunner)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    announcer: Announcer | None = None  # publishes what the live engine learns
    board: BoardFeed | None = None  # the live board's rows, for its event stream
    _rule_worker: RuleWorker | None = None  # runs in `automation`
    _dispatcher: Dispatcher | None = None  # delivers webhooks, in its own thread and loop
    _rules: Future[None] | None = None  # the worker's run

    @property
    def live(self) -> LiveAdherence:
        assert self.context.live is not None
        return self.context.live

    def start(self) -> None:
        """Rebuild the live state from the store, then keep it moving with the clock."""
        store = self.context.store
        announced = store.announced_changes()  # writes made while no server ran
        self.reload()
        store.forget_changes(announced)
        self._dispatcher = dispatcher = Dispatcher(store, self.webhooks, self.context.clock)
        for name, target in (
            ("adhere-clock", self._tick),
            ("adhere-sync", self._sync),
            ("adhere-webhooks", lambda: dispatcher.run(self._stopping)),
            ("adhere-announcer", self._announce),
            ("adhere-board", self._publish_board),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.automation.start()  # the runner makes its HTTP client on first use, in this loop
        self._rule_worker = RuleWorker(store, self.actions, self.context.clock)
        self._rules = self.automation.submit(self._rule_worker.run(self._stopping))

    @property
    def scope_guard(self) -> ScopeGuard:
        """Scope checks before saving actions and rules, run in the automation loop."""

        def run(check: Callable[[ActionRunner], Awaitable[ScopeVerdict]]) -> ScopeVerdict:
            return self.automation.submit(check(self.actions)).result(_SCOPE_CHECK_SECONDS)

        return ScopeGuard(self.context, self.sealer, run)

    def rules_changed(self) -> None:
        """A rule was saved or enabled: let the worker see it now, not at its next poll."""
        worker = self._rule_worker
        if worker is not None and self.automation.running:
            self.automation.loop.call_soon_threadsafe(worker.wake)

    def verify_rule(self, spec: RuleSpec) -> None:
        self.scope_guard.check_rule(spec)

    def verify_action(self, action: DataAction) -> None:
        self.scope_guard.check_action(action)

    def stop(self) -> None:
        self._stopping.set()
        if self.board is not None:
            self.board.close()  # open event streams end now, not at the server's timeout
        self.rules_changed()  # wake the workers from their pauses, to see `_stopping` now
        if self._dispatcher is not None:
            self._dispatcher.wake()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._rules is not None:
            try:
                self._rules.result(timeout=30)
            except Exception:
                _log.exception("the workflow rules stopped with an error")
        if self.automation.running:
            try:
                self.automation.submit(self.actions.close()).result(timeout=5)
            except Exception:
                _log.exception("closing the data actions' HTTP client failed")
        self.automation.stop()
        self.jobs.shutdown()
        self.database.dispose()

    def reload(self) -> int:
        gc.unfreeze()  # the engine being replaced may hold cycles: let them be collected
        with self.context.exclusive():
            replayed = rebuild(self.live, self.context.store, self.context.clock())
        _settle_garbage_collection()
        _log.info("live state rebuilt from %d stored events", replayed)
        return replayed

    def _tick(self) -> None:
        """Schedule boundaries change adherence with no event: move the engine's clock."""
        interval = self.settings.clock_interval_seconds
        while not self._stopping.wait(interval):
            try:
                with self.live.lock:
                    self.live.catch_up(self.context.clock())
            except Exception:  # keep ticking; the error is logged
                _log.exception("advancing the clock failed")

    def _publish_board(self) -> None:
        if self.board is not None:
            self.board.run(self._stopping)

    def _announce(self) -> None:
        if self.announcer is not None:
            self.announcer.run(self._stopping)

    def _sync(self) -> None:
        """Notice writes by another process (an `adhere import` beside the server)."""
        store = self.context.store
        while not self._stopping.wait(self.settings.sync_interval_seconds):
            try:
                announced = store.announced_changes()
                if announced:
                    _log.info("another process changed the database: rebuilding live state")
                    self.reload()
                    store.forget_changes(announced)
            except Exception:
                _log.exception("checking the database for changes failed")


def _settle_garbage_collection() -> None:
    """Keep the cyclic collector off the live state: it holds millions of objects, and each
    full collection walked them all, a pause of a tenth of a second and a fifth of the CPU at
    sustained ingest (docs/benchmarks.md). Frozen objects are still freed by reference
    counting; new ones are collected as usual, in larger, rarer young generations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG_OBJECTS_PER_COLLECTION, 10, 10)


_YOUNG_OBJECTS_PER_COLLECTION = 20_000  # CPython's default is 700


def build(settings: Settings) -> Container:
    store = _migrated_store(settings.database_url, "server")
    limits = Limits(
        lateness_micros=round(settings.lateness_limit_days * 86_400 * MICROS_PER_SECOND),
        future_micros=round(settings.future_tolerance_seconds * MICROS_PER_SECOND),
        max_batch=settings.max_batch_events,
    )
    live = LiveAdherence()
    context = ServiceContext(store, live, limits)
    after_minutes = settings.shift_start_missed_after_minutes
    announcer = Announcer(context, round(after_minutes * MICROS_PER_MINUTE))
    auth = AuthService(store.engine, settings)
    sealer = secret_sealer(settings)
    return Container(
        settings,
        store.engine,
        auth,
        context,
        webhook_policy(settings),
        announcer=announcer,
        board=BoardFeed(live, context.clock, _board_row),
        sealer=sealer,
        actions=ActionRunner(store, sealer),
        users=UserService(store, settings),
    )


def _board_row(row: LiveRow, horizon: Instant | None, unit: ManagementUnit, now: Instant) -> str:
    """A board row: the realtime API's, and when its out-of-adherence run becomes severe."""
    severe_after = unit.settings.severe_alert_threshold_minutes * 60
    return orjson.dumps(
        {**render_row(row, horizon, now), "severe_after_seconds": severe_after}
    ).decode()


def secret_sealer(settings: Settings) -> Sealer:
    """Seals data action credentials with ADHERE_SECRET_KEY, or the key in secret_key_file."""
    key = None if settings.secret_key is None else settings.secret_key.get_secret_value()
    return Sealer(key, settings.secret_key_file)


def webhook_policy(settings: Settings) -> WebhookPolicy:
    return WebhookPolicy(
        allowed_networks=tuple(
            ipaddress.ip_network(network, strict=False)
            for network in settings.webhook_allowed_networks
        ),
        timeout_seconds=settings.webhook_timeout_seconds,
        concurrency_per_endpoint=settings.webhook_concurrency_per_endpoint,
        disable_after_micros=round(
            settings.webhook_disable_after_days * 86_400 * MICROS_PER_SECOND
        ),
    )


def command_context(database_url: str) -> ServiceContext:
    """For CLI commands: the store alone (a running server notices the writes)."""
    return ServiceContext(_migrated_store(database_url, "cli"), announce_writes=True)


def _migrated_store(database_url: str, role: str) -> SqlStore:
    database = connect(database_url)
    upgrade(database)
    return SqlStore(database, writer=f"{role}:{socket.gethostname()}:{os.getpid()}")

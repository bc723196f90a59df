"""Running workflow rules: read the outbox, arm and fire timers, run the actions.

Three steps, each durable before the next:

1. Messages after `rule_progress` are matched against the enabled rules; a match fires an
   execution (recorded as pending) or arms a timer, a miss disarms one; progress moves in the
   same transaction.
2. Timers that are due become pending executions, in the transaction that removes them.
3. Pending executions run their actions in order and are recorded as succeeded or failed.

A crash anywhere repeats at most step 3 for the executions it interrupted: actions run at
least once. Messages are read in `seq` order and never past a gap younger than `_GAP_GRACE`:
on PostgreSQL a transaction may commit a lower seq after a higher one became visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import orjson

from adhere.adapters.rule_store import StoredMessage, Timer
from adhere.adapters.store import SqlStore, StoreTransaction
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MICROS_PER_SECOND, Instant
from adhere.domain.rules import (
    Decision,
    ExecutionStatus,
    Rule,
    RuleExecution,
    RunDataAction,
    SendToWebhook,
    decide,
)
from adhere.service.organisation import NotFound

_log = logging.getLogger("adhere.rules")

_BATCH = 1_000
_GAP_GRACE = 10 * MICROS_PER_SECOND
_CONCURRENT_EXECUTIONS = 50
_IDLE_SECONDS = 1.0  # between looks while no rule is enabled: polling costs ingestion (GIL)


class ActionResult(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def succeeded(self) -> bool: ...
    @property
    def error(self) -> str | None: ...


class ActionExecutor(Protocol):
    async def execute(self, action_id: str, input: dict[str, Any], source: str) -> Any: ...


class _Waiting(NamedTuple):
    messages: bool  # to match against the rules
    timers: bool  # due
    executions: bool  # pending
    rules: bool  # some rule is enabled

    def __bool__(self) -> bool:
        return self.messages or self.timers or self.executions


_NOTHING = _Waiting(False, False, False, False)


class RuleWorker:
    def __init__(
        self, store: SqlStore, actions: ActionExecutor, clock: Callable[[], Instant]
    ) -> None:
        self._store = store
        self._actions = actions
        self._clock = clock
        self._running: set[int] = set()
        self._gap: tuple[int, Instant] | None = None  # (progress, when first read at it)
        self._slots = asyncio.Semaphore(_CONCURRENT_EXECUTIONS)
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Look again now, not at the next poll (a rule was saved or enabled). Call it in the
        worker's loop (`loop.call_soon_threadsafe(worker.wake)` from another thread)."""
        self._woken.set()

    async def run(self, stopping: threading.Event, interval_seconds: float = 0.1) -> None:
        """Work until `stopping` is set (a coroutine for the automation loop).

        Each round first asks one read-only transaction whether there is anything to do: an
        empty write transaction every round would contend with ingestion for the database."""
        tasks: set[asyncio.Task[None]] = set()
        while not stopping.is_set():
            more, waiting = False, _NOTHING
            try:
                waiting = await asyncio.to_thread(self._waiting)
                if waiting.messages:
                    more = await asyncio.to_thread(self.match_messages)
                if waiting.timers:
                    await asyncio.to_thread(self.fire_due_timers)
                if waiting:
                    pending = await asyncio.to_thread(self._pending)
                    for task in self._start(pending):
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
            except Exception:  # the database may be busy: nothing is lost, try again
                _log.exception("running workflow rules failed")
            if not more:
                pause = interval_seconds if waiting.rules else _IDLE_SECONDS
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), pause)
                self._woken.clear()
        if tasks:
            await asyncio.wait(tasks, timeout=30)

    async def run_once(self) -> int:
        """Steps 1 to 3 until nothing is left to do now; returns the executions run (tests)."""
        while self.match_messages():
            pass
        self.fire_due_timers()
        done = 0
        while tasks := self._start_pending():
            await asyncio.wait(tasks)
            done += len(tasks)
        return done

    # ---- step 1 ----------------------------------------------------------------------------

    def match_messages(self) -> bool:
        """Match the next batch of messages; True if a full batch was read (more may wait)."""
        now = self._clock()
        with self._store.transaction() as tx:
            progress = tx.rules.progress()
            messages = tx.rules.messages_after(progress, _BATCH)
            readable = _without_gaps(progress, messages, self._gap_grace_over(progress, now))
            if not readable:
                return False
            by_topic: dict[str, list[Rule]] = {}
            for rule in tx.rules.rules(enabled_only=True):
                by_topic.setdefault(rule.spec.topic, []).append(rule)
            for message in readable:
                for rule in by_topic.get(message.topic, ()):
                    if message.created > rule.updated:  # a rule acts on what follows it
                        _match(tx, rule, message)
            tx.rules.set_progress(readable[-1].seq)
        return len(readable) == _BATCH

    def _gap_grace_over(self, progress: int, now: Instant) -> bool:
        """Has the worker waited `_GAP_GRACE` at this progress? A gap in seq that lasts that
        long, from when the worker first met it, was a rollback, not a commit yet to come."""
        if self._gap is None or self._gap[0] != progress:
            self._gap = (progress, now)
        return now - self._gap[1] >= _GAP_GRACE

    # ---- step 2 ----------------------------------------------------------------------------

    def fire_due_timers(self) -> int:
        now = self._clock()
        with self._store.transaction() as tx:
            due = tx.rules.due_timers(now, _BATCH)
            for timer in due:
                tx.rules.disarm(timer.rule_id, timer.subject)
                tx.rules.add_execution(timer.rule_id, timer.message_seq, timer.subject, timer.due)
        return len(due)

    def _waiting(self) -> _Waiting:
        with self._store.reading() as tx:
            enabled = bool(tx.rules.enabled_topics())
            return _Waiting(
                _needs_matching(tx, enabled),
                bool(tx.rules.due_timers(self._clock(), 1)),
                bool(tx.rules.pending_executions(1)),
                enabled,
            )

    # ---- step 3 ----------------------------------------------------------------------------

    def _pending(self) -> list[RuleExecution]:
        with self._store.reading() as tx:
            return tx.rules.pending_executions(_BATCH)

    def _start_pending(self) -> list[asyncio.Task[None]]:
        return self._start(self._pending())

    def _start(self, pending: list[RuleExecution]) -> list[asyncio.Task[None]]:
        tasks = []
        for execution in pending:
            if execution.seq not in self._running:
                self._running.add(execution.seq)
                tasks.append(asyncio.create_task(self._execute(execution)))
        return tasks

    async def _execute(self, execution: RuleExecution) -> None:
        try:
            async with self._slots:
                status, results = await self._run_actions(execution)
            await asyncio.to_thread(self._finish, execution.seq, status, results)
        except Exception:  # not recorded: it stays pending and runs again
            _log.exception("rule execution %s failed unexpectedly", execution.seq)
        finally:
            self._running.discard(execution.seq)

    def _finish(self, seq: int, status: ExecutionStatus, results: list[dict[str, Any]]) -> None:
        with self._store.transaction() as tx:
            tx.rules.finish_execution(seq, status, results, self._clock())

    def _rule(self, rule_id: str) -> Rule | None:
        with self._store.reading() as tx:
            return tx.rules.rule(rule_id)

    async def _run_actions(
        self, execution: RuleExecution
    ) -> tuple[ExecutionStatus, list[dict[str, Any]]]:
        rule = await asyncio.to_thread(self._rule, execution.rule_id)
        if rule is None:
            return ExecutionStatus.FAILED, [{"error": "the rule was deleted before it ran"}]
        message = orjson.loads(execution.payload)
        results: list[dict[str, Any]] = []
        for action in rule.spec.actions:
            result = await self._run_action(rule, action, execution, message)
            results.append(result)
            if result["outcome"] != "succeeded":  # later actions may depend on this one
                return ExecutionStatus.FAILED, results
        return ExecutionStatus.SUCCEEDED, results

    async def _run_action(
        self,
        rule: Rule,
        action: RunDataAction | SendToWebhook,
        execution: RuleExecution,
        message: dict[str, Any],
    ) -> dict[str, Any]:
        described = action.as_json()
        described.pop("input", None)
        try:
            if isinstance(action, SendToWebhook):
                return {**described, **(await asyncio.to_thread(self._send, action, execution))}
            given = action.input_for(message)
            record = await self._actions.execute(action.action_id, given, f"rule:{rule.id}")
        except (InvalidInput, NotFound) as error:  # deleted, or its input is refused
            return {**described, "outcome": "failed", "error": str(error)}
        except Exception as error:  # recorded as this action's failure: never run again
            _log.exception("rule %s: an action failed unexpectedly", rule.id)
            return {**described, "outcome": "failed", "error": f"{type(error).__name__}: {error}"}
        return {
            **described,
            "outcome": "succeeded" if record.succeeded else "failed",
            "execution_id": record.id,
            "error": record.error,
        }

    def _send(self, action: SendToWebhook, execution: RuleExecution) -> dict[str, Any]:
        with self._store.transaction() as tx:
            endpoint = tx.webhooks.endpoint(action.endpoint_id)
            if endpoint is None:
                return {"outcome": "failed", "error": f"no webhook {action.endpoint_id!r}"}
            delivery = tx.webhooks.add_delivery(
                action.endpoint_id, execution.message_seq, self._clock()
            )
        return {"outcome": "succeeded", "delivery_id": delivery}


def _needs_matching(tx: StoreTransaction, rules_enabled: bool) -> bool:
    """Messages past the progress while some rule is enabled (until one is, they wait: each
    rule acts only on what follows it)."""
    return rules_enabled and tx.rules.last_message_seq() > tx.rules.progress()


def _match(tx: StoreTransaction, rule: Rule, stored: StoredMessage) -> None:
    message = orjson.loads(stored.payload)
    try:
        decision = decide(rule.spec, message)
        subject = "" if decision is Decision.IGNORE else rule.spec.subject(message)
    except Exception:  # a JSONPath that parses but cannot run: it must not stop the rules
        _log.warning("rule %s could not be evaluated on message %s", rule.id, stored.id)
        return
    if decision is Decision.IGNORE:
        return
    if decision is Decision.FIRE:
        tx.rules.add_execution(rule.id, stored.seq, subject, stored.created)
    elif decision is Decision.ARM:
        assert rule.spec.for_micros is not None
        tx.rules.arm(Timer(rule.id, subject, stored.created + rule.spec.for_micros, stored.seq))
    else:
        tx.rules.disarm(rule.id, subject)


def _without_gaps(
    progress: int, messages: list[StoredMessage], grace_over: bool
) -> list[StoredMessage]:
    """The messages up to the first gap in seq, which a transaction in flight may still fill
    (on PostgreSQL a lower seq can commit after a higher one), unless the gap at `progress`
    has outlasted the grace; one further on waits for a later read."""
    readable: list[StoredMessage] = []
    expected = progress + 1
    for message in messages:
        if message.seq != expected and not (grace_over and not readable):
            break
        readable.append(message)
        expected = message.seq + 1
    return readable

"""Delivering the outbox: each due delivery is attempted, then recorded as delivered, retried
later (domain/retries.py), or dead-lettered; an endpoint that answers 410 Gone, or keeps failing
for `WebhookPolicy.disable_after_micros`, is disabled and that is published too.

A delivery stays pending in the database until its outcome is recorded, so a crash or restart
only repeats attempts (at least once; receivers de-duplicate by `webhook-id`). Each endpoint
has its own concurrency limit and the HTTP timeout bounds every attempt, so a slow or dead
endpoint delays nobody else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import replace

import httpx

from adhere.adapters.store import SqlStore, StoreTransaction
from adhere.adapters.webhooks import Attempt, attempt
from adhere.domain.instants import Instant
from adhere.domain.retries import next_attempt
from adhere.domain.webhooks import Delivery, DeliveryStatus, Endpoint
from adhere.service.webhooks import (
    WebhookPolicy,
    endpoint_disabled_message,
    interest,
    publish_message,
)

_log = logging.getLogger("adhere.webhooks")


class Dispatcher:
    def __init__(
        self,
        store: SqlStore,
        policy: WebhookPolicy,
        clock: Callable[[], Instant],
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._rng = rng or random.Random()
        self._in_flight: set[int] = set()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._wake: Callable[[], object] | None = None

    def run(self, stopping: threading.Event, interval_seconds: float = 0.2) -> None:
        """Deliver until `stopping` is set (a thread's target: it has its own event loop)."""
        asyncio.run(self._run(stopping, interval_seconds))

    async def deliver_due(self, http: httpx.AsyncClient) -> int:
        """Attempt every delivery due now, and wait for the outcomes; returns how many."""
        tasks = self._start_due(http)
        if tasks:
            await asyncio.wait(tasks)
        return len(tasks)

    def wake(self) -> None:
        """End the current pause now (from any thread): `run` then sees `stopping` at once."""
        wake = self._wake
        if wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                wake()

    async def _run(self, stopping: threading.Event, interval_seconds: float) -> None:
        running: set[asyncio.Task[None]] = set()
        loop, woken = asyncio.get_running_loop(), asyncio.Event()
        self._wake = lambda: loop.call_soon_threadsafe(woken.set)
        async with self._client() as http:
            while not stopping.is_set():
                try:
                    for task in self._start_due(http):
                        running.add(task)
                        task.add_done_callback(running.discard)
                except Exception:  # the database may be busy: the deliveries stay pending
                    _log.exception("reading the webhook outbox failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), interval_seconds)
            if running:
                await asyncio.wait(running, timeout=self._policy.timeout_seconds + 1)
        self._wake = None

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._policy.timeout_seconds, follow_redirects=False)

    def _start_due(self, http: httpx.AsyncClient) -> list[asyncio.Task[None]]:
        with self._store.reading() as tx:
            due = tx.webhooks.due(self._clock(), self._policy.concurrency_per_endpoint)
        tasks = []
        for delivery in due:
            if delivery.seq not in self._in_flight:
                self._in_flight.add(delivery.seq)
                tasks.append(asyncio.create_task(self._deliver(http, delivery)))
        return tasks

    async def _deliver(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        try:
            slots = self._slots.setdefault(
                delivery.endpoint_id, asyncio.Semaphore(self._policy.concurrency_per_endpoint)
            )
            async with slots:
                with self._store.reading() as tx:
                    endpoint = tx.webhooks.endpoint(delivery.endpoint_id)
                    secret = tx.webhooks.secret(delivery.endpoint_id)
                if endpoint is None or secret is None or not endpoint.enabled:
                    return  # deleted or disabled meanwhile: nothing to record
                result = await attempt(
                    http,
                    endpoint.url,
                    secret,
                    delivery.message_id,
                    delivery.payload,
                    self._policy.allowed_networks,
                )
            self._record(delivery, result)
        except Exception:  # recorded nowhere: the delivery stays pending and is tried again
            _log.exception("webhook delivery %s failed unexpectedly", delivery.seq)
        finally:
            self._in_flight.discard(delivery.seq)

    def _record(self, delivery: Delivery, result: Attempt) -> None:
        now = self._clock()
        attempts = delivery.attempts + 1
        with self._store.transaction() as tx:
            endpoint = tx.webhooks.endpoint(delivery.endpoint_id)
            if endpoint is None:
                return
            if result.delivered:
                tx.webhooks.record_attempt(
                    delivery.seq, DeliveryStatus.DELIVERED, attempts, None, result.status, None, now
                )
                if endpoint.failing_since is not None:
                    tx.webhooks.update_endpoint(replace(endpoint, failing_since=None, updated=now))
                return
            error = result.error or f"HTTP {result.status}"
            if result.status == 410:
                tx.webhooks.record_attempt(
                    delivery.seq, DeliveryStatus.DEAD, attempts, None, 410, error, now
                )
                _disable(tx, endpoint, "the endpoint answered 410 Gone", now)
                return
            retry_at = next_attempt(attempts, now, result.retry_after_seconds, self._rng)
            status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.DEAD
            tx.webhooks.record_attempt(
                delivery.seq, status, attempts, retry_at, result.status, error, now
            )
            failing_since = endpoint.failing_since if endpoint.failing_since is not None else now
            if now - failing_since >= self._policy.disable_after_micros:
                days = self._policy.disable_after_micros / 86_400_000_000
                _disable(tx, endpoint, f"every delivery failed for {days:g} days", now)
            elif endpoint.failing_since is None:
                tx.webhooks.update_endpoint(replace(endpoint, failing_since=now, updated=now))


def _disable(tx: StoreTransaction, endpoint: Endpoint, reason: str, now: Instant) -> None:
    disabled = replace(endpoint, enabled=False, disabled_reason=reason, updated=now)
    tx.webhooks.update_endpoint(disabled)
    _log.warning("webhook endpoint %s (%s) disabled: %s", endpoint.id, endpoint.url, reason)
    # Read after the update: the disabled endpoint is no longer among the listeners.
    publish_message(tx, interest(tx), endpoint_disabled_message(disabled, reason, now), now)

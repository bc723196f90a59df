"""What every use case works with: the store, the live engine (in a server), the clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from adhere.adapters.store import SqlStore, StoreTransaction
from adhere.domain.instants import MICROS_PER_SECOND, Instant
from adhere.service.live import LiveAdherence


def wall_clock() -> Instant:
    return int(time.time() * MICROS_PER_SECOND)


@dataclass(frozen=True, slots=True)
class Limits:
    """How far from now an event may be; None disables the check (importing history)."""

    lateness_micros: int | None = 7 * 24 * 3600 * MICROS_PER_SECOND
    future_micros: int | None = 300 * MICROS_PER_SECOND
    max_batch: int = 10_000


class Write:
    """One write in progress: its transaction, and what to apply to the live engine after it
    commits (nothing is applied if it does not)."""

    __slots__ = ("_then", "tx")

    def __init__(self, tx: StoreTransaction) -> None:
        self.tx = tx
        self._then: list[Callable[[LiveAdherence], None]] = []

    def then(self, apply: Callable[[LiveAdherence], None]) -> None:
        """Apply this to the live engine (in a server) once committed, in commit order."""
        self._then.append(apply)


@dataclass(slots=True)
class ServiceContext:
    store: SqlStore
    live: LiveAdherence | None = None  # None in a CLI: only the store is written
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], Instant] = wall_clock
    announce_writes: bool = False  # a CLI tells the server its writes; the server needn't
    _commit_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def write(self, what: str) -> Iterator[Write]:
        """One write: committed to the store, then applied to the live engine.

        Writers commit one at a time. Each takes the engine's lock before it lets the next
        writer commit, so the engine applies writes in commit order, while the next commit
        (mostly the database's time, not Python's) overlaps this write's application.
        """
        self._commit_lock.acquire()
        try:
            with self.store.transaction() as tx:
                write = Write(tx)
                yield write
                if self.announce_writes:
                    tx.record_change(what)
            live = self.live
            if live is None or not write._then:
                return
            live.lock.acquire()
        finally:
            self._commit_lock.release()
        try:
            for apply in write._then:
                apply(live)
        finally:
            live.lock.release()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No write in progress, none applied but not yet in the engine: for a rebuild of the
        live state from the store."""
        with self._commit_lock:
            if self.live is None:
                yield
                return
            with self.live.lock:
                yield

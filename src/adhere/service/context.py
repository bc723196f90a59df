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


@dataclass(slots=True)
class ServiceContext:
    store: SqlStore
    live: LiveAdherence | None = None  # None in a CLI: only the store is written
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], Instant] = wall_clock
    announce_writes: bool = False  # a CLI tells the server its writes; the server needn't
    _write_lock: threading.RLock = field(default_factory=threading.RLock)

    @contextmanager
    def write(self, what: str) -> Iterator[StoreTransaction]:
        """One write: committed to the store, then (still serialised) applied to the engine.

        The caller applies its change to `live` after this block, so both see writes in the
        same order. The lock is the engine's own when there is one.
        """
        with self.store.transaction() as transaction:
            yield transaction
            if self.announce_writes:
                transaction.record_change(what)

    @property
    def lock(self) -> threading.RLock:
        return self.live.lock if self.live is not None else self._write_lock

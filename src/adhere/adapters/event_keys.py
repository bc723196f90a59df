"""Which (agent, event id) pairs the SQLite event log holds, kept in memory.

A unique index over (agent_id, event_id) would decide duplicates for us, but events arrive in
time order across thousands of agents, so every insert lands on a different page of that index
and every commit writes each of those pages to the WAL: ten times the cost of the append itself
(docs/benchmarks.md). The log is append-only and numbered (`seq`), and SQLite lets one writer at
a time: so, inside a write transaction, the rows numbered after the last one this process has
seen are exactly what other processes added since, and reading them makes the set current.

PostgreSQL keeps its unique index instead: its writers are concurrent.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection

from adhere.domain.agent_state import AgentEvent

EventKey = tuple[str, str]  # (agent id, event id)


class StoredEventKeys:
    """The keys committed to `events`, as of row `through`; shared by a store's transactions."""

    def __init__(self) -> None:
        self._ids: defaultdict[str, set[str]] = defaultdict(set)
        self._through = 0  # every row with a smaller or equal seq is in `_ids`
        self._lock = threading.Lock()  # commits merge while the next writer refreshes

    def refresh(self, connection: Connection) -> int:
        """Take in rows others committed since; returns the largest seq stored now.

        Call inside a write transaction, so that nobody adds rows before this one commits.
        """
        top = connection.exec_driver_sql("SELECT max(seq) FROM events").scalar() or 0
        with self._lock:
            if top > self._through:
                rows = connection.exec_driver_sql(
                    "SELECT agent_id, event_id FROM events WHERE seq > ? AND seq <= ?",
                    (self._through, top),
                )
                self._add(rows)
                self._through = top
        return top

    def new(
        self, events: Iterable[AgentEvent], taken: set[EventKey]
    ) -> tuple[list[AgentEvent], set[EventKey]]:
        """The events whose key is neither stored nor in `taken` (the current transaction's),
        the first of each key only; and their keys."""
        fresh: list[AgentEvent] = []
        keys: set[EventKey] = set()
        stored = self._ids.get
        for event in events:
            agent_id, event_id = event.agent_id, event.id
            key = (agent_id, event_id)
            if key in keys or key in taken:
                continue
            ids = stored(agent_id)
            if ids is None or event_id not in ids:
                keys.add(key)
                fresh.append(event)
        return fresh, keys

    def committed(self, keys: Iterable[EventKey], through: int) -> None:
        """A transaction that stored `keys`, numbered up to `through`, has committed."""
        with self._lock:
            self._add(keys)
            self._through = max(self._through, through)

    def _add(self, keys: Iterable[EventKey]) -> None:
        ids = self._ids
        for agent_id, event_id in keys:
            ids[agent_id].add(event_id)

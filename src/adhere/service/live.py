"""Live adherence: the engine, held in memory, and what the API reads from it.

Every write to the store is applied here after it commits, under `lock`, so the engine always
equals a fresh evaluation of what is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adhere.domain.adherence import UNSCHEDULED_OFFLINE, Adherence
from adhere.domain.agent_state import AgentEvent, AgentState
from adhere.domain.categories import AdherenceState
from adhere.domain.engine import AdherenceChange, AdherenceEngine
from adhere.domain.explanations import Explanation
from adhere.domain.instants import Instant
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.domain.schedule import Activity, ActivityCode


@dataclass(frozen=True, slots=True)
class LiveRow:
    agent: Agent
    adherence: Adherence
    state: AgentState
    since: Instant | None  # when the current adherence (every field of it) began
    out_of_adherence_since: Instant | None  # start of the current out-of-adherence run


@dataclass(slots=True)
class _Since:
    since: Instant | None = None
    out_since: Instant | None = None
    stale: bool = False  # a correction touched the past: recompute from the timeline


class LiveAdherence:
    def __init__(self) -> None:
        self.engine = AdherenceEngine()
        self.lock = threading.RLock()
        self._since: dict[str, _Since] = {}

    def replace_engine(self, engine: AdherenceEngine) -> None:
        """Swap in a rebuilt engine (with `lock` held); every agent's `since` is recomputed."""
        self.engine = engine
        self._since = {agent_id: _Since(stale=True) for agent_id in engine.agent_ids()}

    # ---- inputs (call with `lock` held, after the store committed) ------------------------

    def configure_unit(self, unit: ManagementUnit, codes: Sequence[ActivityCode]) -> None:
        self._record(self.engine.configure_unit(unit, codes))

    def add_agent(self, agent: Agent) -> None:
        self.engine.add_agent(agent)
        self._since.setdefault(agent.id, _Since())

    def ingest(self, events: Iterable[AgentEvent]) -> None:
        ingest = self.engine.ingest
        changes: list[AdherenceChange] = []
        for event in events:
            changes += ingest(event)
        self._record(changes)

    def replace_schedule(
        self, agent_id: str, start: Instant, end: Instant, activities: Sequence[Activity]
    ) -> None:
        self._record(self.engine.replace_schedule(agent_id, start, end, activities))

    def put_explanation(self, explanation: Explanation) -> None:
        self._record(self.engine.put_explanation(explanation))

    def catch_up(self, now: Instant) -> None:
        """Report what schedule boundaries changed up to `now`.

        The engine's clock moves only to the instants where something changes, never to `now`
        itself: an event stamped a moment ago then still lies after the clock, on the engine's
        fast path, instead of being a correction of a past the clock already reported.
        """
        engine = self.engine
        due = engine.next_change_at()
        while due is not None and due <= now:
            self._record(engine.advance_to(due))
            due = engine.next_change_at()

    # ---- queries (call with `lock` held) ---------------------------------------------------

    def row(self, agent_id: str) -> LiveRow:
        engine = self.engine
        since = self._since.setdefault(agent_id, _Since(stale=True))
        if since.stale:
            since.since, since.out_since = _since(engine.timeline(agent_id))
            since.stale = False
        return LiveRow(
            engine.agent(agent_id),
            engine.current(agent_id),
            engine.state(agent_id),
            since.since,
            since.out_since,
        )

    # ---- internals -------------------------------------------------------------------------

    def _record(self, changes: Sequence[AdherenceChange]) -> None:
        if not changes:
            return
        for change in changes:
            since = self._since.setdefault(change.agent_id, _Since())
            if change.correction or change.until is not None:
                since.stale = True
            elif not since.stale:
                since.since = change.at
                out = AdherenceState.OUT_OF_ADHERENCE
                if change.current.adherence_state is not out:
                    since.out_since = None
                elif change.previous.adherence_state is not out:
                    since.out_since = change.at


def _since(points: Sequence[tuple[Instant, Adherence]]) -> tuple[Instant | None, Instant | None]:
    """When the last value began, and when the trailing out-of-adherence run began."""
    if not points or (len(points) == 1 and points[0][1] == UNSCHEDULED_OFFLINE):
        return None, None  # as it has always been
    since = points[-1][0]
    out_since = None
    for at, adherence in reversed(points):
        if adherence.adherence_state is not AdherenceState.OUT_OF_ADHERENCE:
            break
        out_since = at
    return since, out_since

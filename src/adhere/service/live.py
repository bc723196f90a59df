"""Live adherence: the engine, held in memory, and what the API reads from it.

Every write to the store is applied here after it commits, under `lock`, so the engine always
equals a fresh evaluation of what is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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


@dataclass(frozen=True, slots=True)
class QueueNote:
    """An accepted event changed the agent's queue membership to `queue_ids`."""

    agent_id: str
    event_id: str
    time: Instant
    queue_ids: tuple[str, ...]


@dataclass(slots=True)
class Pending:
    """What the live state recorded for the announcer since it last looked."""

    changes: list[AdherenceChange] = field(default_factory=list)
    queues: list[QueueNote] = field(default_factory=list)
    schedules: set[str] = field(default_factory=set)  # agents whose schedule was edited
    units: set[str] = field(default_factory=set)  # units whose settings or codes changed
    rebuilt: bool = False  # the engine was replaced: compare everything


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
        # Each agent's queue membership: the queue ids of its latest event carrying some.
        self.queues: dict[str, tuple[Instant, tuple[str, ...]]] = {}
        self._pending: Pending | None = None  # recorded only while an announcer looks
        self._touched: set[str] = set()  # agents whose row may have changed, for the board

    def replace_engine(
        self,
        engine: AdherenceEngine,
        queues: dict[str, tuple[Instant, tuple[str, ...]]] | None = None,
    ) -> None:
        """Swap in a rebuilt engine (with `lock` held); every agent's `since` is recomputed."""
        self.engine = engine
        self._since = {agent_id: _Since(stale=True) for agent_id in engine.agent_ids()}
        self.queues = {} if queues is None else queues
        self._touched = set(engine.agent_ids())
        if self._pending is not None:
            self._pending.rebuilt = True

    def take_touched(self) -> set[str]:
        """The agents whose live row may have changed since the last call (with `lock`
        held): what the board's feed re-renders (service/board_feed.py)."""
        touched, self._touched = self._touched, set()
        return touched

    # ---- the announcer's buffer (call with `lock` held) -----------------------------------

    def start_announcing(self) -> None:
        """Record what changes from now on for `drain` (service/announcer.py)."""
        self._pending = Pending()

    def stop_announcing(self) -> None:
        self._pending = None

    @property
    def announcing(self) -> bool:
        return self._pending is not None

    def drain(self) -> Pending:
        """What was recorded since the last drain (or `start_announcing`)."""
        drained = self._pending
        if drained is None:
            raise RuntimeError("nobody is announcing")
        self._pending = Pending()
        return drained

    # ---- inputs (call with `lock` held, after the store committed) ------------------------

    def configure_unit(self, unit: ManagementUnit, codes: Sequence[ActivityCode]) -> None:
        engine = self.engine
        self._record(engine.configure_unit(unit, codes))
        # Rows carry unit settings (the severe threshold) even where adherence is unchanged.
        self._touched.update(
            a for a in engine.agent_ids() if engine.agent(a).management_unit_id == unit.id
        )
        if self._pending is not None:
            self._pending.units.add(unit.id)

    def add_agent(self, agent: Agent) -> None:
        self.engine.add_agent(agent)
        self._since.setdefault(agent.id, _Since())
        self._touched.add(agent.id)

    def ingest(self, events: Iterable[AgentEvent]) -> None:
        ingest = self.engine.ingest
        touch = self._touched.add  # presence and routing show on the board, changed or not
        changes: list[AdherenceChange] = []
        for event in events:
            changes += ingest(event)
            touch(event.agent_id)
            if event.queue_ids is not None:
                self._join(event, event.queue_ids)
        self._record(changes)

    def replace_schedule(
        self, agent_id: str, start: Instant, end: Instant, activities: Sequence[Activity]
    ) -> None:
        self._record(self.engine.replace_schedule(agent_id, start, end, activities))
        self._touched.add(agent_id)
        if self._pending is not None:
            self._pending.schedules.add(agent_id)

    def put_explanation(self, explanation: Explanation) -> None:
        self._record(self.engine.put_explanation(explanation))
        self._touched.add(explanation.agent_id)

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

    def _join(self, event: AgentEvent, queue_ids: tuple[str, ...]) -> None:
        """Membership follows the latest event (in time) that carries queue ids."""
        known = self.queues.get(event.agent_id)
        if known is not None and event.time < known[0]:
            return  # a late event: a later one already said where the agent is
        self.queues[event.agent_id] = (event.time, queue_ids)
        if self._pending is not None and set(() if known is None else known[1]) != set(queue_ids):
            self._pending.queues.append(QueueNote(event.agent_id, event.id, event.time, queue_ids))

    def _record(self, changes: Sequence[AdherenceChange]) -> None:
        if not changes:
            return
        if self._pending is not None:
            self._pending.changes += changes
        self._touched.update(change.agent_id for change in changes)
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

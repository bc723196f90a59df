"""The real-time adherence engine: live per-agent state, fed one input at a time.

Every input (event, schedule edit, explanation, settings change, clock tick) returns the
adherence changes it caused. Each change says that over ``[at, until)`` (``until=None``: from
``at`` onwards) the agent's adherence is now `current` where it was believed to be `previous`.
Replaying every change in order onto an agent that starts `UNSCHEDULED_OFFLINE` gives exactly
the timeline that batch evaluation computes, up to the engine's horizon.

An agent's *horizon* is the latest of the engine's clock and its latest event: what happens up
to it has been reported. Changes beyond it are announced when the clock reaches them
(`next_change_at`, `advance_to`); changes at or before it are *corrections* (late events,
schedule edits, explanations, settings).

Cost: an event in time order costs a few look-ups, whatever the history's length; a late event
or an edit re-sweeps the agent's timeline from the edited instant to the horizon. See
docs/adherence.md §8, including what `compact` means for duplicate ids.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import count
from operator import attrgetter, itemgetter

from adhere.domain.adherence import UNSCHEDULED_OFFLINE, Adherence, Classifier
from adhere.domain.agent_state import AgentEvent, AgentState, Effect, apply
from adhere.domain.categories import Category
from adhere.domain.errors import InvalidInput
from adhere.domain.explanations import Explanation, approved_intervals
from adhere.domain.instants import Instant, format_instant
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.domain.schedule import Activity, ActivityCode, replaced_range
from adhere.domain.shifts import next_shift_start, shift_start_at
from adhere.domain.timeline import AgentInputs, ChangePoint, sweep


@dataclass(frozen=True, slots=True)
class AdherenceChange:
    agent_id: str
    at: Instant
    until: Instant | None
    previous: Adherence
    current: Adherence
    correction: bool


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    agent: Agent
    unit: ManagementUnit
    inputs: AgentInputs
    classifier: Classifier
    explanation_ends: list[Instant]
    compacted_before: Instant | None


class TooLate(InvalidInput):
    """The input reaches before the engine's compaction point; rebuild the agent to apply it."""


@dataclass(slots=True)
class _Unit:
    unit: ManagementUnit
    classifier: Classifier


@dataclass(slots=True)
class _Agent:
    agent: Agent
    classifier: Classifier  # its management unit's
    inputs: AgentInputs = field(default_factory=AgentInputs)
    ids: list[str] = field(default_factory=list)  # of the events held, in their order
    seen: set[str] = field(default_factory=set)
    explanations: dict[str, Explanation] = field(default_factory=dict)
    latest: AgentState | None = None  # fold of every held event; None means base_state
    last_event: Instant | None = None
    current: Adherence = UNSCHEDULED_OFFLINE
    # The schedule at the horizon, valid until `boundary` (the next schedule or explanation
    # edge): an event before the boundary needs one classification, not a sweep.
    code: str | None = None
    explained: bool = False
    boundary: Instant | None = None
    next_change: Instant | None = None  # a timer is set for it
    verified: bool = False  # whether adherence really changes at next_change
    compacted_before: Instant | None = None


class AdherenceEngine:
    def __init__(self) -> None:
        self._units: dict[str, _Unit] = {}
        self._agents: dict[str, _Agent] = {}
        self._clock: Instant | None = None
        self._timers: list[tuple[Instant, int, str]] = []
        self._timer_order = count()

    # ---- configuration -------------------------------------------------------------------

    def configure_unit(
        self, unit: ManagementUnit, activity_codes: Sequence[ActivityCode]
    ) -> list[AdherenceChange]:
        """Add a management unit or change its settings and codes; the past is re-evaluated."""
        configured = _Unit(unit, Classifier(unit.settings, activity_codes))
        slots = [s for s in self._agents.values() if s.agent.management_unit_id == unit.id]
        for slot in slots:
            for activity in slot.inputs.activities:
                configured.classifier.require_code(activity.activity_code_id)
        self._units[unit.id] = configured
        changes: list[AdherenceChange] = []
        for slot in slots:
            # Sweep the old timeline with the old classifier, then the new one.
            changes += self._revise(
                slot,
                self._earliest(slot),
                partial(setattr, slot, "classifier", configured.classifier),
            )
        return changes

    def add_agent(self, agent: Agent) -> None:
        if agent.management_unit_id not in self._units:
            raise InvalidInput(
                f"unknown management unit {agent.management_unit_id!r}", "management_unit_id"
            )
        slot = self._agents.get(agent.id)
        if slot is None:
            self._agents[agent.id] = _Agent(agent, self._units[agent.management_unit_id].classifier)
        elif slot.agent.management_unit_id != agent.management_unit_id:
            raise InvalidInput(
                f"agent {agent.id!r} belongs to {slot.agent.management_unit_id!r}; "
                "moving agents between management units is not supported",
                "management_unit_id",
            )
        else:
            slot.agent = agent

    # ---- inputs --------------------------------------------------------------------------

    def ingest(self, event: AgentEvent) -> list[AdherenceChange]:
        """Apply one event; a duplicate id (first arrival wins) changes nothing."""
        slot = self._agents.get(event.agent_id) or self._slot(event.agent_id)
        event_id, instant, effect = event.id, event.time, event.effect
        if event_id in slot.seen:
            return []
        if slot.compacted_before is not None:
            self._refuse_compacted(slot, instant, f"event {event_id!r}")
        slot.seen.add(event_id)
        horizon = _later(self._clock, slot.last_event)
        if horizon is None or instant <= horizon:
            return self._ingest_reported(slot, event_id, instant, effect, horizon)
        # Past the horizon, hence after every event held: the usual case, kept short. The
        # state before the event is the cached latest one, so nothing is re-folded.
        inputs = slot.inputs
        before = slot.latest or self._latest(slot)
        inputs.times.append(instant)
        inputs.effects.append(effect)
        slot.ids.append(event_id)
        slot.last_event = instant
        state = slot.latest = apply(before, effect)
        if slot.boundary is None or instant < slot.boundary:
            return self._step(slot, instant, state)
        return self._advance_agent(slot, horizon, instant, before, len(inputs.times) - 1)

    def _ingest_reported(
        self,
        slot: _Agent,
        event_id: str,
        instant: Instant,
        effect: Effect,
        horizon: Instant | None,
    ) -> list[AdherenceChange]:
        """An event at or before the horizon (or the agent's first): a correction."""
        inputs = slot.inputs
        held = len(inputs.times)
        in_order = held == 0 or instant >= inputs.times[-1]
        before = self._latest(slot) if in_order else None
        if slot.last_event is None or instant > slot.last_event:
            slot.last_event = instant

        def hold() -> None:
            slot.ids.insert(inputs.add_event(instant, effect), event_id)

        if horizon is None:
            hold()
            slot.latest = None
            return self._advance_agent(slot, None, instant)
        if before is not None:
            changes = self._revise(slot, instant, hold, (before, held))
            slot.latest = apply(before, effect)
            return changes
        # A late event changes the timeline only until the fold of the events after it comes
        # back to what it was (the next event setting the same fields): re-sweep that far.
        converged = _convergence(inputs, instant, effect)
        changes = self._revise(slot, instant, hold, stop=converged)
        if converged is None:
            slot.latest = None  # the fold of all events changed
        return changes

    def replace_schedule(
        self, agent_id: str, start: Instant, end: Instant, activities: Iterable[Activity]
    ) -> list[AdherenceChange]:
        """Replace the agent's activities inside ``[start, end)``."""
        slot = self._slot(agent_id)
        self._refuse_compacted(slot, start, "schedule edit")
        classifier = slot.classifier
        new = replaced_range(agent_id, slot.inputs.activities, start, end, activities)
        for activity in new:
            classifier.require_code(activity.activity_code_id)
        return self._revise(slot, start, lambda: setattr(slot.inputs, "activities", new))

    def put_explanation(self, explanation: Explanation) -> list[AdherenceChange]:
        """Add an explanation or change its status; an approved one explains time out."""
        slot = self._slot(explanation.agent_id)
        old = slot.explanations.get(explanation.id)
        since = explanation.start if old is None else min(old.start, explanation.start)
        self._refuse_compacted(slot, since, f"explanation {explanation.id!r}")

        def store() -> None:
            slot.explanations[explanation.id] = explanation
            slot.inputs.explained = approved_intervals(slot.explanations.values())

        return self._revise(slot, since, store)

    def advance_to(self, now: Instant) -> list[AdherenceChange]:
        """Move the clock to `now`, reporting what schedule boundaries changed on the way."""
        if self._clock is not None and now <= self._clock:
            return []
        changes: list[AdherenceChange] = []
        if self._clock is None:
            due = list(self._agents.values())
        else:
            due = []
            while self._timers and self._timers[0][0] <= now:
                instant, _, agent_id = heapq.heappop(self._timers)
                slot = self._agents[agent_id]
                if slot.next_change == instant:
                    slot.next_change = None
                    due.append(slot)
        previous_clock, self._clock = self._clock, now
        for slot in due:
            horizon = _later(previous_clock, slot.last_event)
            if horizon is None:
                changes += self._advance_agent(slot, None, now)
            elif horizon < now:  # every event held is at or before the horizon
                latest = self._latest(slot)
                changes += self._advance_agent(slot, horizon, now, latest, len(slot.inputs.times))
            else:
                self._schedule_timer(slot)
        return changes

    def compact(self, before: Instant) -> None:
        """Forget inputs that end before `before` (bounded memory); earlier inputs become
        `TooLate`. Only instants the engine has already reported can be forgotten."""
        for slot in self._agents.values():
            horizon = self._horizon(slot)
            if horizon is None:
                continue
            cut = min(before, horizon)
            inputs = slot.inputs
            state, index = inputs.state_before(cut)
            inputs.base_state = state
            if index:
                del inputs.times[:index]
                del inputs.effects[:index]
                del slot.ids[:index]
                slot.seen = set(slot.ids)
            inputs.activities = [a for a in inputs.activities if a.end > cut]
            inputs.explained = [span for span in inputs.explained if span[1] > cut]
            slot.explanations = {k: e for k, e in slot.explanations.items() if e.end > cut}
            if slot.compacted_before is None or cut > slot.compacted_before:
                slot.compacted_before = cut

    # ---- queries -------------------------------------------------------------------------

    def now(self) -> Instant | None:
        return self._clock

    def next_change_at(self) -> Instant | None:
        """The next instant at which some agent's adherence changes by the clock alone."""
        while self._timers:
            instant, _, agent_id = self._timers[0]
            slot = self._agents[agent_id]
            if slot.next_change != instant:
                heapq.heappop(self._timers)  # superseded
                continue
            if slot.verified:
                return instant
            # Timers are set at the next schedule edge, which is cheap to find; whether the
            # edge changes anything is checked here, once, when someone asks.
            horizon = self._horizon(slot)
            assert horizon is not None  # timers are only set once there is a horizon
            actual = self._next_change(slot, horizon)
            slot.verified = True
            if actual != instant:
                heapq.heappop(self._timers)
                self._set_timer(slot, actual)
        return None

    def horizon(self, agent_id: str) -> Instant | None:
        """The latest instant whose adherence has been reported for the agent."""
        return self._horizon(self._slot(agent_id))

    def current(self, agent_id: str) -> Adherence:
        """The agent's adherence at its horizon (the latest instant reported)."""
        return self._slot(agent_id).current

    def adherence_at(self, agent_id: str, instant: Instant) -> Adherence:
        slot = self._slot(agent_id)
        self._refuse_compacted(slot, instant, "query")
        return self._sweep(slot, instant, instant)[0].adherence

    def scheduled_at(self, agent_id: str, instant: Instant) -> tuple[Category, str | None]:
        """The agent's scheduled category and activity code at `instant` (one look-up)."""
        slot = self._slot(agent_id)
        activities = slot.inputs.activities
        index = bisect_right(activities, instant, key=_end)
        if index < len(activities) and activities[index].start <= instant:
            code = activities[index].activity_code_id
            return slot.classifier.require_code(code).category, code
        return Category.UNSCHEDULED, None

    def next_shift_start(self, agent_id: str, after: Instant) -> Instant | None:
        """The agent's first shift start after `after` (domain/shifts.py)."""
        slot = self._slot(agent_id)
        return next_shift_start(slot.inputs.activities, _category_of(slot.classifier), after)

    def shift_start_at(self, agent_id: str, instant: Instant) -> Instant | None:
        """The start of the agent's shift that `instant` lies in, if any."""
        slot = self._slot(agent_id)
        return shift_start_at(slot.inputs.activities, _category_of(slot.classifier), instant)

    def management_unit(self, agent_id: str) -> ManagementUnit:
        return self._units[self._slot(agent_id).agent.management_unit_id].unit

    def agent_ids(self) -> list[str]:
        return list(self._agents)

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in self._agents

    def agent(self, agent_id: str) -> Agent:
        return self._slot(agent_id).agent

    def state(self, agent_id: str) -> AgentState:
        """The agent's state after every event held (presence, routing status, ...)."""
        return self._latest(self._slot(agent_id))

    def timeline(self, agent_id: str) -> list[tuple[Instant, Adherence]]:
        """The agent's adherence from its earliest input to its horizon, as change points."""
        slot = self._slot(agent_id)
        horizon = self._horizon(slot)
        if horizon is None:
            return []
        return _adherence_points(self._sweep(slot, self._earliest(slot), horizon))

    def snapshot(self, agent_id: str) -> AgentSnapshot:
        """A copy of the agent's inputs, to evaluate history without holding the engine."""
        slot = self._slot(agent_id)
        inputs = slot.inputs
        copied = AgentInputs(
            array("q", inputs.times),
            list(inputs.effects),
            list(inputs.activities),
            list(inputs.explained),
            inputs.base_state,
        )
        ends = [explanation.end for explanation in slot.explanations.values()]
        unit = self._units[slot.agent.management_unit_id].unit
        return AgentSnapshot(slot.agent, unit, copied, slot.classifier, ends, slot.compacted_before)

    # ---- internals -----------------------------------------------------------------------

    def _slot(self, agent_id: str) -> _Agent:
        slot = self._agents.get(agent_id)
        if slot is None:
            raise InvalidInput(f"unknown agent {agent_id!r}", "agent_id")
        return slot

    def _horizon(self, slot: _Agent) -> Instant | None:
        return _later(self._clock, slot.last_event)

    def _latest(self, slot: _Agent) -> AgentState:
        """The fold of every event held, cached until a late event invalidates it."""
        if slot.latest is None:
            slot.latest = slot.inputs.state_at_index(len(slot.inputs.times))
        return slot.latest

    def _earliest(self, slot: _Agent) -> Instant:
        """The earliest instant whose adherence the engine can still re-evaluate."""
        if slot.compacted_before is not None:
            return slot.compacted_before
        span = slot.inputs.boundaries()
        horizon = self._horizon(slot)
        return span[0] if span else (horizon if horizon is not None else 0)

    def _refuse_compacted(self, slot: _Agent, instant: Instant, what: str) -> None:
        if slot.compacted_before is not None and instant < slot.compacted_before:
            raise TooLate(
                f"{what} at {format_instant(instant)} is before "
                f"{format_instant(slot.compacted_before)}, which this engine no longer holds"
            )

    def _sweep(
        self,
        slot: _Agent,
        start: Instant,
        stop: Instant,
        state: AgentState | None = None,
        event_index: int | None = None,
    ) -> list[ChangePoint]:
        return sweep(
            slot.inputs, slot.classifier, start, stop, state=state, event_index=event_index
        )

    def _revise(
        self,
        slot: _Agent,
        since: Instant,
        mutate: Callable[[], None],
        known: tuple[AgentState, int] | None = None,
        stop: Instant | None = None,
    ) -> list[AdherenceChange]:
        """Apply `mutate` (which changes nothing before `since`, nor after `stop` if given)
        and report the corrections.

        `known` is the fold of the events before `since` and the index of the next, if known.
        """
        horizon = self._horizon(slot)
        if horizon is None or since > horizon:
            mutate()
            self._schedule_timer(slot)
            return []
        end = horizon if stop is None else min(stop, horizon)
        state, index = known if known is not None else slot.inputs.state_before(since)
        old = _adherence_points(self._sweep(slot, since, end, state, index))
        mutate()
        new = _adherence_points(self._sweep(slot, since, end, state, index))
        if end == horizon:
            slot.current = new[-1][1]
        self._schedule_timer(slot)
        return _corrections(slot.agent.id, old, new)

    def _advance_agent(
        self,
        slot: _Agent,
        horizon: Instant | None,
        until: Instant,
        state: AgentState | None = None,
        event_index: int | None = None,
    ) -> list[AdherenceChange]:
        """Report the changes in ``(horizon, until]``, in time order, as live transitions."""
        if horizon is None:
            span = slot.inputs.boundaries()
            start = min(span[0], until) if span else until
            state = event_index = None
        else:
            start = horizon
        points = _adherence_points(self._sweep(slot, start, until, state, event_index))
        changes: list[AdherenceChange] = []
        previous = slot.current
        for at, adherence in points:
            if adherence != previous:
                changes.append(AdherenceChange(slot.agent.id, at, None, previous, adherence, False))
                previous = adherence
        slot.current = previous
        self._schedule_timer(slot, horizon=until)
        return changes

    def _step(self, slot: _Agent, instant: Instant, state: AgentState) -> list[AdherenceChange]:
        """An event past the horizon and before the next schedule edge: one classification."""
        adherence = slot.classifier.classify(slot.code, state, slot.explained).adherence
        # The new state may change what the next edge does: look at it again, even if an
        # earlier check moved the timer past it.
        if slot.next_change != slot.boundary:
            self._set_timer(slot, slot.boundary)
        slot.verified = False
        if adherence == slot.current:
            return []
        change = AdherenceChange(slot.agent.id, instant, None, slot.current, adherence, False)
        slot.current = adherence
        return [change]

    def _schedule_timer(self, slot: _Agent, horizon: Instant | None = None) -> None:
        """Note the schedule at the agent's horizon, and set a timer at its next edge."""
        horizon = horizon if horizon is not None else self._horizon(slot)
        if horizon is None:
            return
        inputs = slot.inputs
        edges: list[Instant] = []
        activities = inputs.activities
        index = bisect_right(activities, horizon, key=_end)
        slot.code = None
        if index < len(activities):
            activity = activities[index]
            if activity.start <= horizon:
                slot.code = activity.activity_code_id
                edges.append(activity.end)
            else:
                edges.append(activity.start)
        spans = inputs.explained
        index = bisect_right(spans, horizon, key=_span_end)
        slot.explained = index < len(spans) and spans[index][0] <= horizon
        if index < len(spans):
            edges.append(spans[index][1] if slot.explained else spans[index][0])
        slot.boundary = min(edges) if edges else None
        slot.verified = False
        self._set_timer(slot, slot.boundary)

    def _set_timer(self, slot: _Agent, instant: Instant | None) -> None:
        if instant is not None and instant != slot.next_change:
            heapq.heappush(self._timers, (instant, next(self._timer_order), slot.agent.id))
        slot.next_change = instant

    def _next_change(self, slot: _Agent, horizon: Instant) -> Instant | None:
        """The first schedule or explanation edge after `horizon` that changes adherence."""
        inputs = slot.inputs
        first = bisect_right(inputs.activities, horizon, key=_end)
        activity_edges = (
            edge for a in inputs.activities[first:] for edge in (a.start, a.end) if edge > horizon
        )
        spans = inputs.explained[bisect_right(inputs.explained, horizon, key=_span_end) :]
        span_edges = (edge for span in spans for edge in span if edge > horizon)
        state, index = self._latest(slot), len(inputs.times)
        for edge in heapq.merge(activity_edges, span_edges):
            if self._sweep(slot, edge, edge, state, index)[0].adherence != slot.current:
                return edge
        return None


_end = attrgetter("end")
_span_end = itemgetter(1)


def _category_of(classifier: Classifier) -> Callable[[str], Category]:
    return lambda code_id: classifier.require_code(code_id).category


def _convergence(inputs: AgentInputs, instant: Instant, effect: Effect) -> Instant | None:
    """Where the fold, with an event of `effect` at `instant` inserted, equals the fold
    without it again; None if it never does within the events held."""
    index = bisect_right(inputs.times, instant)  # where the new event goes
    without = inputs.state_at_index(index)
    with_it = apply(without, effect)
    if with_it == without:
        return instant
    times, effects = inputs.times, inputs.effects
    for later in range(index, len(times)):
        without, with_it = apply(without, effects[later]), apply(with_it, effects[later])
        if with_it == without:
            return times[later]
    return None


def _later(a: Instant | None, b: Instant | None) -> Instant | None:
    if a is None:
        return b
    return a if b is None or a >= b else b


def _adherence_points(points: Sequence[ChangePoint]) -> list[tuple[Instant, Adherence]]:
    """The change points of adherence alone (conformance-only changes dropped)."""
    collapsed: list[tuple[Instant, Adherence]] = []
    for point in points:
        if not collapsed or collapsed[-1][1] != point.adherence:
            collapsed.append((point.at, point.adherence))
    return collapsed


def _corrections(
    agent_id: str,
    old: Sequence[tuple[Instant, Adherence]],
    new: Sequence[tuple[Instant, Adherence]],
) -> list[AdherenceChange]:
    """Maximal intervals of constant (old, new) where the two timelines differ.

    Both start at the same instant; the last values hold on to the horizon and beyond.
    """
    instants = sorted({at for at, _ in old} | {at for at, _ in new})
    changes: list[AdherenceChange] = []
    pending: tuple[Instant, Adherence, Adherence] | None = None
    oi = ni = 0
    for instant in instants:
        while oi + 1 < len(old) and old[oi + 1][0] <= instant:
            oi += 1
        while ni + 1 < len(new) and new[ni + 1][0] <= instant:
            ni += 1
        before, after = old[oi][1], new[ni][1]
        if pending is not None and (pending[1], pending[2]) != (before, after):
            changes.append(AdherenceChange(agent_id, pending[0], instant, *pending[1:], True))
            pending = None
        if pending is None and before != after:
            pending = (instant, before, after)
    if pending is not None:
        changes.append(AdherenceChange(agent_id, pending[0], None, *pending[1:], True))
    return changes

"""An agent's timeline: the piecewise-constant adherence that schedule and events produce.

`sweep` is the one place where inputs become adherence. Batch evaluation sweeps the whole
timeline once; the real-time engine sweeps only the range an input can have changed. Because
both run the same code, they cannot disagree.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import NamedTuple

from adhere.domain.adherence import Adherence, Classified, Classifier
from adhere.domain.agent_state import KEEP, LOGGED_OUT, AgentState, Effect, Keep
from adhere.domain.categories import Presence, Routing
from adhere.domain.instants import Instant
from adhere.domain.schedule import Activity


@dataclass(slots=True)
class AgentInputs:
    """Everything that decides one agent's timeline, each list kept in order.

    Accepted events are held as two columns in (time, arrival) order: their instants in a
    packed array and their (shared) effects. Arrival numbers need not be stored: a newly
    arrived event goes after every event at or before its instant. That is 16 bytes an event.
    """

    times: array[int] = field(default_factory=lambda: array("q"))
    effects: list[Effect] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    explained: list[tuple[Instant, Instant]] = field(default_factory=list)
    base_state: AgentState = LOGGED_OUT
    """The fold of events no longer held (see `AdherenceEngine.compact`)."""

    def state_before(self, instant: Instant) -> tuple[AgentState, int]:
        """The fold of every event earlier than `instant`, and the index of the next event."""
        index = bisect_left(self.times, instant)
        return self.state_at_index(index), index

    def add_event(self, instant: Instant, effect: Effect) -> int:
        """Hold a newly arrived event; returns its index."""
        index = bisect_right(self.times, instant)
        if index == len(self.times):
            self.times.append(instant)
            self.effects.append(effect)
        else:
            self.times.insert(index, instant)
            self.effects.insert(index, effect)
        return index

    def state_at_index(self, index: int) -> AgentState:
        """The fold of ``events[:index]``, found walking back from `index`.

        Every event sets `unknown`, and logins, logouts and presence events set the other
        fields, so the walk stops after a few events instead of re-folding the history.
        """
        presence: Presence | Keep = KEEP
        routing: Routing | Keep = KEEP
        secondary: str | Keep | None = KEEP
        unknown: bool | None = None
        while index > 0 and (
            unknown is None or presence is KEEP or routing is KEEP or secondary is KEEP
        ):
            index -= 1
            effect = self.effects[index]
            if unknown is None:
                unknown = effect.unknown
            if presence is KEEP:
                presence = effect.presence
            if routing is KEEP:
                routing = effect.routing
            if secondary is KEEP:
                secondary = effect.secondary_presence_id
        base = self.base_state
        return AgentState(
            base.presence if presence is KEEP else presence,
            base.routing if routing is KEEP else routing,
            base.secondary_presence_id if secondary is KEEP else secondary,
            base.unknown if unknown is None else unknown,
        )

    def boundaries(self) -> tuple[Instant, Instant] | None:
        """The first and last instant any input mentions, or None when there are none."""
        instants = [
            *(edge for span in self.explained for edge in span),
            *(edge for activity in self.activities for edge in (activity.start, activity.end)),
        ]
        if self.times:
            instants += (self.times[0], self.times[-1])
        return (min(instants), max(instants)) if instants else None


class ChangePoint(NamedTuple):
    at: Instant
    adherence: Adherence
    conforming: bool


_end = attrgetter("end")
_span_end = itemgetter(1)


def sweep(
    inputs: AgentInputs,
    classifier: Classifier,
    start: Instant,
    stop: Instant,
    *,
    state: AgentState | None = None,
    event_index: int | None = None,
) -> list[ChangePoint]:
    """The value at `start`, then every instant in ``(start, stop]`` where it changes.

    `state` and `event_index` may be passed when the caller knows them (the fold of the events
    before `start`, and the index of the first event at or after it).
    """
    if state is None or event_index is None:
        state, event_index = inputs.state_before(start)
    times, effects = inputs.times, inputs.effects
    activities, explained = inputs.activities, inputs.explained
    instants = {start}
    for time in times[event_index:]:
        if time > stop:
            break
        instants.add(time)
    first_activity = bisect_right(activities, start, key=_end)
    for activity in activities[first_activity:]:
        if activity.start > stop:
            break
        instants.add(max(activity.start, start))
        if activity.end <= stop:
            instants.add(activity.end)
    first_span = bisect_right(explained, start, key=_span_end)
    for span_start, span_end in explained[first_span:]:
        if span_start > stop:
            break
        instants.add(max(span_start, start))
        if span_end <= stop:
            instants.add(span_end)

    points: list[ChangePoint] = []
    last: Classified | None = None
    classify = classifier.classify
    ei, ai, xi = event_index, first_activity, first_span
    n_events, n_activities, n_spans = len(times), len(activities), len(explained)
    for instant in sorted(instants):
        if ei < n_events and times[ei] <= instant:
            # The fold of `apply`, inlined: this loop runs once per event of the history.
            presence, routing, secondary, unknown = state
            while ei < n_events and times[ei] <= instant:
                new_presence, new_routing, new_secondary, unknown = effects[ei]
                if new_presence is not KEEP:
                    presence = new_presence
                if new_routing is not KEEP:
                    routing = new_routing
                if new_secondary is not KEEP:
                    secondary = new_secondary
                ei += 1
            state = AgentState(presence, routing, secondary, unknown)
        while ai < n_activities and activities[ai].end <= instant:
            ai += 1
        code_id = (
            activities[ai].activity_code_id
            if ai < n_activities and activities[ai].start <= instant
            else None
        )
        while xi < n_spans and explained[xi][1] <= instant:
            xi += 1
        classified = classify(code_id, state, xi < n_spans and explained[xi][0] <= instant)
        if last is None or (classified is not last and classified != last):
            points.append(ChangePoint(instant, *classified))
            last = classified
    return points


class Piece(NamedTuple):
    start: Instant
    end: Instant
    point: ChangePoint


def pieces(
    points: Sequence[ChangePoint], end: Instant, clip_start: Instant, clip_end: Instant
) -> Iterator[Piece]:
    """The constant pieces of a timeline ending at `end`, clipped to ``[clip_start, clip_end)``.

    Pieces of zero length are left out.
    """
    index = max(bisect_right(points, clip_start, key=_at) - 1, 0)
    for i in range(index, len(points)):
        point = points[i]
        piece_start = max(point.at, clip_start)
        if piece_start >= clip_end:
            break
        piece_end = min(points[i + 1].at if i + 1 < len(points) else end, clip_end)
        if piece_end > piece_start:
            yield Piece(piece_start, piece_end, point)


_at = attrgetter("at")


def value_at(points: Sequence[ChangePoint], instant: Instant) -> ChangePoint | None:
    """The change point in force at `instant`, or None before the first."""
    index = bisect_right(points, instant, key=_at) - 1
    return points[index] if index >= 0 else None

"""What has been announced about each agent, and the messages that a change calls for.

The announcer (service/announcer.py) feeds every adherence change the live engine records
into an agent's `Announced` state, in order, and gets back the messages to publish: the
change itself (`adherence.changed`), and the out-of-adherence run it opens, extends or closes
(`adherence.exception.started`, `.severe`, `.ended`, by the management unit's thresholds,
docs/adherence.md §5). Pure: no clock, no I/O; `now` is the messages' timestamp.

Runs follow the changes at the horizon (``until`` is None), as a live observer saw them: a
correction of a bounded stretch of the past does not move a run already announced, and a
correction from some instant onwards opens or closes the run there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from adhere.domain.adherence import UNSCHEDULED_OFFLINE, Adherence
from adhere.domain.categories import AdherenceState, Impact
from adhere.domain.engine import AdherenceChange
from adhere.domain.instants import Instant
from adhere.domain.metrics import worse
from adhere.domain.organisation import Agent
from adhere.domain.settings import AdherenceSettings
from adhere.domain.topics import (
    adherence_changed,
    exception_ended,
    exception_severe,
    exception_started,
    queue_member_status,
)

Message = dict[str, Any]
_OUT = AdherenceState.OUT_OF_ADHERENCE


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When an out-of-adherence run becomes an exception, and when a severe one (µs)."""

    exception: int
    severe: int

    @classmethod
    def of(cls, settings: AdherenceSettings) -> Thresholds:
        return cls(settings.exception_threshold_micros, settings.severe_threshold_micros)


@dataclass(slots=True)
class Announced:
    """What subscribers have been told about one agent."""

    adherence: Adherence = UNSCHEDULED_OFFLINE
    run_start: Instant | None = None  # the open out-of-adherence run, announced or not yet
    run_impact: Impact = Impact.NEUTRAL  # over the run so far
    exception: bool = False  # the run was announced as an exception
    severe: bool = False  # ... and as a severe one
    shift_missed: Instant | None = None  # the last shift start announced as missed
    queue_ids: tuple[str, ...] = ()

    def copy(self) -> Announced:
        return replace(self)


@dataclass(frozen=True, slots=True)
class Facts:
    """An agent as the live engine has it now, to compare with what was announced."""

    adherence: Adherence
    since: Instant  # when the current adherence began
    run_start: Instant | None  # the open out-of-adherence run
    run_impact: Impact
    queues: tuple[Instant, tuple[str, ...]] | None  # membership and the time it was set
    run_end: Callable[[Instant], tuple[Instant, Impact]]  # a past run's end and impact


def changed(
    state: Announced,
    agent: Agent,
    change: AdherenceChange,
    thresholds: Thresholds,
    now: Instant,
    *,
    report: bool = True,
) -> list[Message]:
    """The messages for one change the engine recorded (live or a correction); `report`:
    whether `adherence.changed` itself is wanted (the state follows the change anyway)."""
    out: list[Message] = []
    if report:
        out.append(
            adherence_changed(
                agent,
                change.at,
                change.until,
                change.previous,
                change.current,
                correction=change.correction,
                recovered=False,
                timestamp=now,
            )
        )
    if change.until is not None:
        return out  # a stretch of the past, corrected: what holds now is as it was
    state.adherence = change.current
    current = change.current
    if current.adherence_state is _OUT:
        if state.run_start is None:
            _open(state, change.at, current.impact)
        else:
            state.run_impact = worse(state.run_impact, current.impact)
    elif state.run_start is not None:
        out += _close(state, agent, change.at, thresholds, now, correction=change.correction)
    return out


def reached(
    state: Announced,
    agent: Agent,
    at: Instant,
    thresholds: Thresholds,
    now: Instant,
    *,
    recovered: bool = False,
) -> list[Message]:
    """What the open run, lasting until `at`, has become and was not yet announced as."""
    start = state.run_start
    if start is None:
        return []
    out: list[Message] = []
    length = at - start
    if not state.exception and length >= thresholds.exception:
        state.exception = True
        out.append(
            exception_started(
                agent,
                start,
                state.run_impact,
                thresholds.exception,
                recovered=recovered,
                timestamp=now,
            )
        )
    if state.exception and not state.severe and length >= thresholds.severe:
        state.severe = True
        out.append(
            exception_severe(
                agent,
                start,
                state.run_impact,
                thresholds.severe,
                recovered=recovered,
                timestamp=now,
            )
        )
    return out


def due(state: Announced, thresholds: Thresholds) -> Instant | None:
    """When the open run next becomes something to announce, if it stays open."""
    if state.run_start is None:
        return None
    if not state.exception:
        return state.run_start + thresholds.exception
    if not state.severe:
        return state.run_start + max(thresholds.exception, thresholds.severe)
    return None


def queues_changed(
    state: Announced,
    agent: Agent,
    event_id: str | None,
    time: Instant,
    queue_ids: Sequence[str],
    now: Instant,
    *,
    recovered: bool = False,
) -> list[Message]:
    """`routing.queue.member.status` if the membership differs from the one announced."""
    if set(queue_ids) == set(state.queue_ids):
        state.queue_ids = tuple(queue_ids)
        return []
    before, state.queue_ids = state.queue_ids, tuple(queue_ids)
    return [
        queue_member_status(
            agent, event_id, time, before, queue_ids, recovered=recovered, timestamp=now
        )
    ]


def recover(
    state: Announced,
    agent: Agent,
    facts: Facts,
    thresholds: Thresholds,
    now: Instant,
    *,
    recovered: bool = True,
) -> list[Message]:
    """What differs between what was announced and what the engine has now, as messages
    with ``recovered: true``; the transitions in between are not reproduced."""
    out: list[Message] = []
    if state.adherence != facts.adherence:
        out.append(
            adherence_changed(
                agent,
                facts.since,
                None,
                state.adherence,
                facts.adherence,
                correction=False,
                recovered=recovered,
                timestamp=now,
            )
        )
        state.adherence = facts.adherence
    start = state.run_start
    if start is not None:
        if facts.run_start is not None and facts.run_start <= start:
            state.run_impact = worse(state.run_impact, facts.run_impact)  # the same run
        else:
            end, impact = facts.run_end(start)
            state.run_impact = worse(state.run_impact, impact)
            out += _close(state, agent, end, thresholds, now, recovered=recovered)
    if state.run_start is None and facts.run_start is not None:
        _open(state, facts.run_start, facts.run_impact)
    out += reached(state, agent, now, thresholds, now, recovered=recovered)
    if facts.queues is not None:
        time, queue_ids = facts.queues
        out += queues_changed(state, agent, None, time, queue_ids, now, recovered=recovered)
    return out


def _open(state: Announced, start: Instant, impact: Impact) -> None:
    state.run_start, state.run_impact = start, impact
    state.exception = state.severe = False


def _close(
    state: Announced,
    agent: Agent,
    end: Instant,
    thresholds: Thresholds,
    now: Instant,
    *,
    correction: bool = False,
    recovered: bool = False,
) -> list[Message]:
    """The run ends at `end`: what it reached before (a run that lasted the threshold was
    an exception, however late the announcer looks), then its end if it was an exception."""
    start = state.run_start
    assert start is not None
    end = max(end, start)
    out = reached(state, agent, end, thresholds, now, recovered=recovered)
    if state.exception:
        out.append(
            exception_ended(
                agent,
                start,
                end,
                state.run_impact,
                severe=end - start >= max(thresholds.exception, thresholds.severe),
                correction=correction,
                recovered=recovered,
                timestamp=now,
            )
        )
    state.run_start, state.run_impact = None, Impact.NEUTRAL
    state.exception = state.severe = False
    return out

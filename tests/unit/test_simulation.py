"""`adhere simulate`'s plan (domain/simulation.py) and its pacing (service/simulation.py).

The plan: the same for a seed, schedules a WFM tool could have published, a behaviour mix a
supervisor would recognise, events the API accepts. The pacing, against a fake clock: speed,
never ahead of the wall clock, batches, stopping.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time

import pytest

from adhere.adapters.adhere_client import BatchOutcome
from adhere.adapters.scenario_format import parse_event
from adhere.adapters.simulation_sinks import event_body
from adhere.domain.agent_state import LOGGED_OUT, AgentEvent, AgentState, EventKind, apply
from adhere.domain.categories import Presence, Routing
from adhere.domain.instants import MICROS_PER_MINUTE, MICROS_PER_SECOND, parse_instant, to_datetime
from adhere.domain.local_days import first_instant
from adhere.domain.simulation import (
    ACTIVITY_CODES,
    BREAK,
    MEAL,
    ON_QUEUE,
    TIME_OFF,
    Center,
    SimulatedAgent,
    build_center,
    condensed,
)
from adhere.entrypoints.api.models import EventBatchIn
from adhere.service.simulation import BATCH_LIMIT, TICK_SECONDS, Pacing, simulate

SECOND = MICROS_PER_SECOND
MINUTE = MICROS_PER_MINUTE
HOUR = 60 * MINUTE
ANCHOR = parse_instant("2026-06-02T14:07:23Z")


@pytest.fixture(scope="module")
def center() -> Center:
    return build_center(300, 3, 1234, ANCHOR)


@pytest.fixture(scope="module")
def feeds(center: Center) -> dict[str, list[AgentEvent]]:
    return {a.agent.id: list(center.agent_events(a)) for a in center.agents}


# ---- the center ----------------------------------------------------------------------------


def test_the_same_seed_and_start_give_the_same_center_and_events() -> None:
    first, second = (build_center(40, 4, 99, ANCHOR) for _ in range(2))
    assert first == second
    assert list(first.events()) == list(second.events())
    other = build_center(40, 4, 100, ANCHOR)
    assert [a.agent.name for a in other.agents] != [a.agent.name for a in first.agents]
    assert list(other.events())[:50] != list(first.events())[:50]
    # ids stay (an agent cannot move between units), so a re-run replaces the same records
    assert [a.agent.id for a in other.agents] == [a.agent.id for a in first.agents]


def test_units_in_several_time_zones_with_teams_and_every_category(center: Center) -> None:
    assert [u.time_zone for u in center.units] == [
        "America/New_York",
        "Europe/London",
        "Asia/Manila",
    ]
    per_unit = Counter(t.management_unit_id for t in center.teams)
    assert set(per_unit) == {u.id for u in center.units}
    assert all(2 <= count <= 4 for count in per_unit.values())
    assert len({t.name for t in center.teams}) == len(center.teams)
    assert {c.category.value for c in ACTIVITY_CODES} == {
        "OnQueueWork", "Break", "Meal", "Meeting", "OffQueueWork", "TimeOff", "Training",
        "Unavailable",
    }  # fmt: skip
    agents_per_unit = Counter(a.agent.management_unit_id for a in center.agents)
    assert sum(agents_per_unit.values()) == 300
    assert all(count >= 50 for count in agents_per_unit.values())
    teams = {t.id: t for t in center.teams}
    for simulated in center.agents:
        agent = simulated.agent
        assert teams[agent.team_id or ""].management_unit_id == agent.management_unit_id
        assert " " in agent.name  # a first and a last name
    assert len({a.agent.id for a in center.agents}) == 300
    assert len({a.agent.name for a in center.agents}) > 150


def test_schedules_are_well_formed_shifts_around_the_start(center: Center) -> None:
    zones = {u.id: u.zone for u in center.units}
    starts: Counter[int] = Counter()
    extras: Counter[str] = Counter()
    for simulated in center.agents:
        schedule = simulated.schedule
        activities = list(schedule.activities)
        zone = zones[simulated.agent.management_unit_id]
        shift_start, shift_end = activities[0].start, activities[-1].end
        # one contiguous shift: sorted, touching, never overlapping
        for before, after in itertools.pairwise(activities):
            assert before.end == after.start
        assert 8 * HOUR <= shift_end - shift_start <= 9 * HOUR
        # on a local quarter hour, from 6 h before the start to 2 h after it
        local = to_datetime(shift_start).astimezone(zone)
        assert local.minute % 15 == 0
        assert local.second == 0
        assert ANCHOR - 6 * HOUR - 15 * MINUTE < shift_start <= ANCHOR + 2 * HOUR
        starts[(shift_start - ANCHOR) // (15 * MINUTE)] += 1
        # written over whole local days of the agent's unit
        first_day = local.date()
        last_day = to_datetime(shift_end - 1).astimezone(zone).date()
        assert schedule.start == first_instant(zone, first_day)
        assert to_datetime(schedule.end).astimezone(zone).time() == time(0)
        assert schedule.end == first_instant(zone, last_day) + 24 * HOUR
        # breaks and the meal inside the shift, with on-queue work around them
        codes = [a.activity_code_id for a in activities]
        assert codes[0] == ON_QUEUE
        assert codes[-1] in {ON_QUEUE, TIME_OFF}
        assert codes.count(MEAL) == 1
        assert codes.count(BREAK) == (1 if TIME_OFF in codes else 2)
        for activity in activities:
            minutes = (activity.end - activity.start) // MINUTE
            if activity.activity_code_id == BREAK:
                assert minutes == 15
            if activity.activity_code_id == MEAL:
                assert minutes == 30
        for index, code in enumerate(codes):
            if code not in (ON_QUEUE, TIME_OFF):
                assert codes[index - 1] == ON_QUEUE
                assert codes[index + 1] in {ON_QUEUE, TIME_OFF}
        extras.update(c for c in codes if c not in {ON_QUEUE, BREAK, MEAL})
    assert len(starts) >= 25  # spread over the 33 quarter hours
    assert {"meeting", "training", "back-office", "time-off"} <= set(extras)


# ---- the agents' behaviour -----------------------------------------------------------------


def test_events_are_in_time_order_with_unique_ids(center: Center) -> None:
    events = list(center.events())
    assert [e.time for e in events] == sorted(e.time for e in events)
    assert len({e.id for e in events}) == len(events)
    per_agent: dict[str, list[int]] = defaultdict(list)
    for event in events:
        per_agent[event.agent_id].append(event.time)
    assert all(a < b for times in per_agent.values() for a, b in itertools.pairwise(times))
    # another start: other ids (a re-run's events are not taken for duplicates)
    later = build_center(300, 3, 1234, ANCHOR + HOUR)
    assert not {e.id for e in itertools.islice(later.events(), 2000)} & {e.id for e in events}


def test_every_event_is_one_the_api_accepts(
    center: Center, feeds: dict[str, list[AgentEvent]]
) -> None:
    events = [e for a in center.agents[::5] for e in feeds[a.agent.id]]  # every kind is there
    assert {e.kind for e in events} == {
        EventKind.LOGIN, EventKind.LOGOUT, EventKind.PRESENCE, EventKind.ROUTING_STATUS
    }  # fmt: skip
    bodies = [event_body(e) for e in events]
    for start in range(0, len(bodies), 10_000):
        EventBatchIn.model_validate({"events": bodies[start : start + 10_000]})
    assert [parse_event(body) for body in bodies] == events


def _shift(agent: SimulatedAgent) -> tuple[int, int]:
    activities = agent.schedule.activities
    working = [a for a in activities if a.activity_code_id != TIME_OFF]
    return working[0].start, working[-1].end


def test_the_behaviour_mix_of_a_contact_center(
    center: Center, feeds: dict[str, list[AgentEvent]]
) -> None:
    by_id = {a.agent.id: a for a in center.agents}
    missed = [a for a in center.agents if not feeds[a.agent.id]]
    assert missed == [a for a in center.agents if a.misses_shift]
    assert len(missed) == 9  # 3 % of 300

    lateness = []
    early_logouts = 0
    for agent_id, events in feeds.items():
        if not events:
            continue
        start, end = _shift(by_id[agent_id])
        assert events[0].kind is EventKind.LOGIN
        assert events[-1].kind is EventKind.LOGOUT
        lateness.append((events[0].time - start) / MINUTE)
        early_logouts += events[-1].time < end - 10 * MINUTE
    working = len(lateness)
    assert sum(m < 0 for m in lateness) > working / 2  # most log in early
    assert 0.10 * working < sum(0 < m < 6 for m in lateness) < 0.30 * working
    assert 0.03 * working < sum(m > 8 for m in lateness) < 0.12 * working  # very late
    assert 0.02 * working < early_logouts < 0.12 * working

    back_from_break = []
    leave_for_break = []
    for agent_id, events in feeds.items():
        for activity in by_id[agent_id].schedule.activities if events else ():
            if activity.activity_code_id != BREAK:
                continue
            left = next(
                e.time
                for e in events
                if e.system_presence is Presence.BREAK and e.time >= activity.start - 6 * MINUTE
            )
            came = next(
                e.time for e in events if e.system_presence is Presence.ON_QUEUE and e.time > left
            )
            leave_for_break.append((left - activity.start) / MINUTE)
            back_from_break.append((came - activity.end) / MINUTE)
    breaks = len(back_from_break)
    assert breaks > 500
    assert 0.06 * breaks < sum(m > 3 for m in back_from_break) < 0.2 * breaks  # long breaks
    assert 0.06 * breaks < sum(m < -1 for m in back_from_break) < 0.2 * breaks  # back early
    assert 0.03 * breaks < sum(m < -1 for m in leave_for_break) < 0.15 * breaks  # early to break
    assert 0.08 * breaks < sum(m > 1 for m in leave_for_break) < 0.3 * breaks  # late to break
    assert sum(abs(m) < 1 for m in leave_for_break) > breaks / 2  # most are on time

    routing = Counter(e.routing_status for es in feeds.values() for e in es)
    assert routing[Routing.INTERACTING] > 20_000
    assert routing[Routing.NOT_RESPONDING] > 200
    assert routing[Routing.COMMUNICATING] > 200
    assert sum(e.kind is EventKind.LOGOUT for es in feeds.values() for e in es) > working + 20


def test_routing_changes_every_minute_or_so_while_on_queue(
    feeds: dict[str, list[AgentEvent]],
) -> None:
    gaps = [
        (b.time - a.time) / SECOND
        for events in feeds.values()
        for a, b in itertools.pairwise(e for e in events if e.kind is EventKind.ROUTING_STATUS)
        if b.time - a.time < 30 * MINUTE
    ]
    gaps.sort()
    median = gaps[len(gaps) // 2]
    assert 10 < median < 120


def test_five_thousand_agents_send_about_a_hundred_events_a_second() -> None:
    big = build_center(5000, 8, 7, ANCHOR)
    sample = big.agents[::10]  # the rate of one agent in ten, times ten
    window = [
        e
        for agent in sample
        for e in big.agent_events(agent)
        if ANCHOR <= e.time < ANCHOR + 10 * MINUTE
    ]
    rate = 10 * len(window) / 600
    assert 80 < rate < 300


# ---- the history before a start ------------------------------------------------------------


def _fold(events: Sequence[AgentEvent]) -> dict[str, AgentState]:
    states: dict[str, AgentState] = {}
    for event in events:
        states[event.agent_id] = apply(states.get(event.agent_id, LOGGED_OUT), event.effect)
    return states


def test_condensed_history_leaves_every_agent_in_the_same_state(center: Center) -> None:
    for before in (ANCHOR - 3 * HOUR, ANCHOR, ANCHOR + 77 * MINUTE):
        history = list(itertools.takewhile(lambda e, b=before: e.time < b, center.events()))
        short = condensed(history)
        assert _fold(short) == _fold(history)
        assert len(short) < len(history) / 5
        assert [e.time for e in short] == sorted(e.time for e in short)
        kept = {e.id for e in short}
        assert all(e.id in kept for e in history if e.kind is not EventKind.ROUTING_STATUS)


def test_condensed_keeps_a_routing_status_that_a_later_event_keeps() -> None:
    def event(n: int, kind: EventKind, **fields: object) -> AgentEvent:
        return AgentEvent(f"e{n}", "a", n * SECOND, kind, **fields)  # type: ignore[arg-type]

    history = [
        event(1, EventKind.LOGIN, system_presence=Presence.ON_QUEUE),
        event(2, EventKind.ROUTING_STATUS, routing_status=Routing.INTERACTING),
        event(3, EventKind.PRESENCE, system_presence=Presence.ON_QUEUE),  # keeps routing
        event(4, EventKind.ROUTING_STATUS, routing_status=Routing.IDLE),
        event(5, EventKind.ROUTING_STATUS, routing_status=Routing.NOT_RESPONDING),
    ]
    assert [e.id for e in condensed(history)] == ["e1", "e2", "e3", "e5"]


# ---- pacing --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: int) -> None:
        self.wall = now
        self.naps: list[float] = []

    def now(self) -> int:
        return self.wall

    async def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.wall += round(seconds * SECOND)


@dataclass
class RecordingSink:
    clock: FakeClock
    sent: list[tuple[int, list[AgentEvent]]] = field(default_factory=list)
    seconds_per_batch: float = 0.0

    async def send(self, events: Sequence[AgentEvent]) -> BatchOutcome:
        self.sent.append((self.clock.now(), list(events)))
        self.clock.wall += round(self.seconds_per_batch * SECOND)
        return BatchOutcome(len(events))

    def events(self) -> list[AgentEvent]:
        return [e for _, batch in self.sent for e in batch]


class StopAfter:
    """Set once the fake clock has passed `wall`."""

    def __init__(self, clock: FakeClock, wall: int) -> None:
        self.clock, self.wall = clock, wall

    def is_set(self) -> bool:
        return self.clock.now() >= self.wall


class Never:
    def is_set(self) -> bool:
        return False


def _steady(start: int, end: int, every: int, agents: int = 3) -> list[AgentEvent]:
    """Routing changes of a few agents, one every `every` microseconds each."""
    return sorted(
        (
            AgentEvent(
                f"{a}-{t}", f"a{a}", t + a, EventKind.ROUTING_STATUS, routing_status=Routing.IDLE
            )
            for a in range(agents)
            for t in range(start, end, every)
        ),
        key=lambda e: e.time,
    )


NOW = parse_instant("2026-06-02T15:00:00Z")


def test_speed_runs_simulated_time_faster_until_it_catches_up_with_now() -> None:
    clock = FakeClock(NOW)
    sink = RecordingSink(clock)
    start = NOW - 30 * MINUTE
    events = _steady(start, NOW + 5 * MINUTE, 10 * SECOND)
    progress = asyncio.run(
        simulate(
            events,
            sink,
            pacing=Pacing(start, speed=60),
            end=NOW + 2 * MINUTE,
            stop=Never(),
            clock=clock,
        )
    )
    assert progress.done
    assert not progress.stopped
    sent = sink.events()
    assert sent == [e for e in events if e.time < NOW + 2 * MINUTE]
    for wall, batch in sink.sent:
        assert all(e.time <= wall for e in batch)  # never ahead of the wall clock
        simulated = start + 60 * (wall - NOW)
        assert all(e.time <= simulated for e in batch)  # never ahead of the simulated clock
        assert max(e.time for e in batch) > min(simulated, wall) - 7 * SECOND  # nor behind
    # 30 simulated minutes at 60x took 30 s; then real time, up to the last event before the
    # end (at 01:50 past now)
    caught_up = next(wall for wall, batch in sink.sent if batch[-1].time >= NOW - SECOND)
    assert 29 * SECOND <= caught_up - NOW <= 31 * SECOND
    assert 110 * SECOND <= sink.sent[-1][0] - NOW <= 111 * SECOND


def test_events_due_together_travel_as_one_batch_at_most_every_tick() -> None:
    clock = FakeClock(NOW)
    sink = RecordingSink(clock)
    events = _steady(NOW, NOW + 20 * SECOND, 50_000, agents=10)  # 200 a second
    asyncio.run(simulate(events, sink, pacing=Pacing(NOW), stop=Never(), clock=clock))
    walls = [wall for wall, _ in sink.sent]
    assert all(b - a >= TICK_SECONDS * SECOND for a, b in itertools.pairwise(walls))
    assert 180 <= len(sink.sent) <= 201  # ~10 a second
    assert max(len(batch) for _, batch in sink.sent) <= 30
    assert sink.events() == events
    assert all(naps >= TICK_SECONDS for naps in clock.naps)


def test_a_slow_sink_gets_larger_batches_never_over_the_limit() -> None:
    clock = FakeClock(NOW)
    sink = RecordingSink(clock, seconds_per_batch=2.0)
    start = NOW - 10 * MINUTE
    events = _steady(start, NOW, 100_000, agents=5)  # 50 a second
    asyncio.run(simulate(events, sink, pacing=Pacing(start, speed=10), stop=Never(), clock=clock))
    sizes = [len(batch) for _, batch in sink.sent]
    assert max(sizes) == BATCH_LIMIT
    assert sink.events() == events


def test_history_before_the_start_is_sent_at_once_condensed() -> None:
    center = build_center(30, 2, 5, NOW)
    clock = FakeClock(NOW)
    sink = RecordingSink(clock)
    stop = StopAfter(clock, NOW + 3 * SECOND)
    asyncio.run(simulate(center.events(), sink, pacing=Pacing(NOW), stop=stop, clock=clock))
    history = [e for e in center.events() if e.time < NOW]
    first = [e for wall, batch in sink.sent if wall == NOW for e in batch]
    assert first[: len(condensed(history))] == condensed(history)
    assert _fold(first) == _fold(history)


def test_a_stop_flushes_what_is_due_then_returns() -> None:
    clock = FakeClock(NOW)
    sink = RecordingSink(clock)
    events = _steady(NOW - 5 * MINUTE, NOW + MINUTE, 30_000)
    stop = StopAfter(clock, NOW + 10 * SECOND)
    progress = asyncio.run(simulate(events, sink, pacing=Pacing(NOW), stop=stop, clock=clock))
    assert progress.stopped
    assert not progress.done
    last_wall = sink.sent[-1][0]
    assert last_wall == clock.wall >= NOW + 10 * SECOND  # the stop's flush
    due = [e for e in events if NOW <= e.time <= last_wall]
    assert [e for e in sink.events() if e.time >= NOW] == due
    assert progress.sent == len(sink.events())
    assert clock.wall - (NOW + 10 * SECOND) < SECOND


def test_without_pacing_the_whole_day_goes_at_once_with_planned_times() -> None:
    clock = FakeClock(NOW)
    sink = RecordingSink(clock)
    events = _steady(NOW - HOUR, NOW + 8 * HOUR, 30 * SECOND)
    progress = asyncio.run(
        simulate(events, sink, pacing=None, end=NOW + 4 * HOUR, stop=Never(), clock=clock)
    )
    assert sink.events() == [e for e in events if e.time < NOW + 4 * HOUR]
    assert all(wall == NOW for wall, _ in sink.sent)  # no waiting for the clock
    assert progress.done
    assert progress.sent == len(sink.events())
    assert not clock.naps


def test_pacing_refuses_a_speed_of_zero() -> None:
    with pytest.raises(ValueError, match="speed"):
        Pacing(NOW, speed=0)


def test_a_center_needs_units_it_knows_and_agents() -> None:
    with pytest.raises(ValueError, match="units"):
        build_center(10, 11, 1, NOW)
    with pytest.raises(ValueError, match="agent"):
        build_center(0, 1, 1, NOW)

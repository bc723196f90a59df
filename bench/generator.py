"""A seeded, deterministic contact-center workload for the Adhere benchmarks.

Benchmarks are only worth their figures if the input looks like production: agents spread over
real time zones (so local days, DST and clock ticks behave as they will), schedules shaped like a
WFM tool's output, and an event feed as dense and as sloppy as a real platform's (interactions
every few minutes, early and late breaks, missed alerts, feed gaps, out-of-order delivery).

Everything is derived from one seed. Each agent-day has its own random stream, seeded from
``(seed, agent, day)``, so any subset of agents or days can be generated lazily, in any order,
and is identical to the same slice of a full run: the batch benchmark generates one management
unit at a time to bound memory without changing the data.

The generator produces domain objects directly (no JSON parsing on the hot path); a small
``adhere-scenario/1`` document can be emitted for ``adhere evaluate``::

    python bench/generator.py --agents 5 --days 1 --unit 0 > /tmp/scenario.json
    .venv/bin/adhere evaluate /tmp/scenario.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import Category, Presence, Routing
from adhere.domain.instants import (
    MICROS_PER_MINUTE,
    MICROS_PER_SECOND,
    Instant,
    format_instant,
    from_datetime,
)
from adhere.domain.local_days import first_instant
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.domain.schedule import Activity, ActivityCode
from adhere.domain.settings import AdherenceSettings

DEFAULT_SEED = 20260323
BASE_DATE = date(2026, 3, 23)
"""A Monday. The first week holds the EU switch to summer time (29 March, a 23-hour local day
in London and Paris), so the benchmarks cross a DST transition as production does."""

EVENTS_PER_AGENT_DAY = 150

SECOND = MICROS_PER_SECOND
MINUTE = MICROS_PER_MINUTE
MILLISECOND = 1_000

# (IANA zone, share of agents): the big offshore sites carry more agents, as in real fleets.
ZONES: tuple[tuple[str, int], ...] = (
    ("America/New_York", 15),
    ("America/Chicago", 12),
    ("America/Los_Angeles", 10),
    ("Europe/London", 12),
    ("Europe/Paris", 8),
    ("Asia/Kolkata", 18),
    ("Asia/Manila", 18),
    ("Australia/Sydney", 7),
)

ON_QUEUE, BREAK, MEAL, MEETING, TRAINING = "on-queue", "break", "meal", "meeting", "training"
CODES: tuple[ActivityCode, ...] = (
    ActivityCode(ON_QUEUE, "On queue", Category.ON_QUEUE_WORK),
    ActivityCode(BREAK, "Break", Category.BREAK),
    ActivityCode(MEAL, "Meal", Category.MEAL),
    ActivityCode(MEETING, "Team meeting", Category.MEETING, "sp-meeting"),
    ActivityCode(TRAINING, "Training", Category.TRAINING, "sp-training"),
)
_SECONDARY = {MEETING: "sp-meeting", TRAINING: "sp-training"}
_PRESENCE = {
    BREAK: Presence.BREAK,
    MEAL: Presence.MEAL,
    MEETING: Presence.MEETING,
    TRAINING: Presence.TRAINING,
}

# Settings differ a little between units, as real tenants configure them differently.
_UNIT_SETTINGS: dict[str, AdherenceSettings] = {
    "Europe/London": AdherenceSettings(non_on_queue_activities_equivalent=True),
    "Europe/Paris": AdherenceSettings(adherence_exception_threshold_seconds=120),
    "Asia/Manila": AdherenceSettings(working_outside_shift_is_exception=True),
}

_FIXED_EVENTS = 24
"""Events an agent-day has besides routing changes (login, breaks, meal, meeting, logout),
used to size the interaction cycle so that a day has about `events_per_day` events."""


# ---- the organisation --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """An agent and the habits that stay fixed from day to day."""

    index: int
    agent: Agent
    unit: ManagementUnit
    zone: ZoneInfo
    shift_start_minute: int  # local time of day
    shift_minutes: int
    meal_minutes: int
    queue_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Population:
    seed: int
    units: tuple[ManagementUnit, ...]
    codes: tuple[ActivityCode, ...]
    profiles: tuple[Profile, ...]
    events_per_day: int = EVENTS_PER_AGENT_DAY

    def agents(self) -> list[Agent]:
        return [profile.agent for profile in self.profiles]

    def of_unit(self, unit_id: str) -> tuple[Profile, ...]:
        return tuple(p for p in self.profiles if p.unit.id == unit_id)


def _unit(zone: str) -> ManagementUnit:
    city = zone.rsplit("/", maxsplit=1)[-1].replace("_", " ")
    unit_id = "mu-" + city.lower().replace(" ", "-")
    settings = _UNIT_SETTINGS.get(zone) or AdherenceSettings()
    return ManagementUnit(unit_id, f"{city} contact center", zone, settings)


UNITS = tuple(_unit(zone) for zone, _ in ZONES)


def population(
    n_agents: int = 10_000, seed: int = DEFAULT_SEED, events_per_day: int = EVENTS_PER_AGENT_DAY
) -> Population:
    """`n_agents` agents spread over one management unit per time zone.

    Agent number i is the same in every population of the same seed, whatever its size.
    """
    profiles = tuple(agent_profile(seed, index) for index in range(n_agents))
    return Population(seed, UNITS, CODES, profiles, events_per_day)


def agent_profile(seed: int, index: int) -> Profile:
    """Agent number `index`: its home unit, shift pattern and queues."""
    rng = random.Random(f"{seed}/agent/{index}")
    unit = rng.choices(UNITS, weights=[share for _, share in ZONES])[0]
    agent_id = _uuid(rng)
    team = rng.randrange(1, 9)
    agent = Agent(agent_id, f"Agent {index:05d}", unit.id, f"{unit.id}-team-{team}")
    queues = tuple(f"{unit.id}-queue-{q}" for q in sorted(rng.sample(range(1, 13), 2)))
    return Profile(
        index=index,
        agent=agent,
        unit=unit,
        zone=unit.zone,
        shift_start_minute=rng.choice(range(6 * 60, 11 * 60 + 1, 30)),
        shift_minutes=rng.choice((480, 510, 540)),
        meal_minutes=rng.choice((30, 30, 60)),
        queue_ids=queues,
    )


def _uuid(rng: random.Random) -> str:
    """A platform-style id (platforms send UUIDs; their size matters for memory figures)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# ---- one agent-day -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentDay:
    activities: list[Activity]
    events: list[AgentEvent]  # in time order; times strictly increase


def agent_day(pop: Population, profile: Profile, day: int) -> AgentDay:
    """The schedule and the event feed of `profile` on local day `day` (0 = `BASE_DATE`)."""
    rng = random.Random(f"{pop.seed}/{profile.index}/{day}")
    activities = _schedule(rng, profile, BASE_DATE + timedelta(days=day))
    return AgentDay(activities, _Simulation(rng, profile, pop.events_per_day).run(activities))


def _schedule(rng: random.Random, profile: Profile, local_date: date) -> list[Activity]:
    """A WFM-style shift: on-queue work around two breaks, a meal and maybe a meeting."""
    start_local = datetime.combine(local_date, time(), tzinfo=profile.zone) + timedelta(
        minutes=profile.shift_start_minute
    )
    shift_start = from_datetime(start_local)
    length, meal = profile.shift_minutes, profile.meal_minutes
    jitter = (-15, 0, 15)
    first_break = 120 + rng.choice(jitter)
    meal_at = (length - meal) // 2 // 15 * 15 + rng.choice(jitter)
    second_break = min(meal_at + meal + 120 + rng.choice(jitter), length - 60)
    planned = [(first_break, 15, BREAK), (meal_at, meal, MEAL), (second_break, 15, BREAK)]
    extra = _extra_activity(rng, first_break + 15, meal_at, meal_at + meal, second_break)
    if extra is not None:
        planned.append(extra)
    return _filled(shift_start, length, sorted(planned))


def _extra_activity(
    rng: random.Random, gap1_start: int, gap1_end: int, gap2_start: int, gap2_end: int
) -> tuple[int, int, str] | None:
    """A meeting (25 % of days) or training (10 %), with on-queue work on both sides."""
    draw = rng.random()
    if draw < 0.25:
        code, length = MEETING, rng.choice((30, 60))
    elif draw < 0.35:
        code, length = TRAINING, 60
    else:
        return None
    for start, end in ((gap2_start, gap2_end), (gap1_start, gap1_end)):
        if end - start >= length + 60:
            return (start + 30 + (end - start - length - 60) // 30 * 15, length, code)
    return None


def _filled(
    shift_start: Instant, length: int, planned: list[tuple[int, int, str]]
) -> list[Activity]:
    """The planned activities with on-queue work in every gap of the shift."""
    activities: list[Activity] = []
    cursor = 0
    for start, minutes, code in [*planned, (length, 0, "")]:
        if start > cursor:
            activities.append(_activity(shift_start, cursor, start, ON_QUEUE))
        if minutes:
            activities.append(_activity(shift_start, start, start + minutes, code))
        cursor = start + minutes
    return activities


def _activity(shift_start: Instant, start: int, end: int, code: str) -> Activity:
    return Activity(shift_start + start * MINUTE, shift_start + end * MINUTE, code)


class _Feed:
    """One agent's event feed: ids are UUIDs and times strictly increase at millisecond
    resolution, as a platform's notifications do (and as the engine's fast path expects)."""

    def __init__(self, rng: random.Random, agent_id: str, queue_ids: tuple[str, ...]) -> None:
        self.rng = rng
        self.agent_id = agent_id
        self.queue_ids = queue_ids
        self.events: list[AgentEvent] = []
        self.last: Instant = 0

    def emit(
        self,
        at: float,
        kind: EventKind,
        presence: Presence | None = None,
        routing: Routing | None = None,
        secondary: str | None = None,
    ) -> Instant:
        instant = max(int(at) // MILLISECOND * MILLISECOND, self.last + MILLISECOND)
        queues = self.queue_ids if presence is Presence.ON_QUEUE else None
        event = AgentEvent(
            _uuid(self.rng), self.agent_id, instant, kind, presence, secondary, routing, queues
        )
        self.events.append(event)
        self.last = instant
        return instant


class _Simulation:
    """Walks through one shift, emitting what the platform would report."""

    def __init__(self, rng: random.Random, profile: Profile, events_per_day: int) -> None:
        self.rng = rng
        self.feed = _Feed(rng, profile.agent.id, profile.queue_ids)
        self.events_per_day = events_per_day
        self.cycle = 0.0  # mean seconds between two interactions, set per day in `run`

    def run(self, activities: Sequence[Activity]) -> list[AgentEvent]:
        on_queue = sum(a.end - a.start for a in activities if a.activity_code_id == ON_QUEUE)
        routing_events = max(self.events_per_day - _FIXED_EVENTS, 20)
        self.cycle = 2 * on_queue / SECOND / routing_events * self.rng.uniform(0.85, 1.15)
        now = self._log_in(activities[0].start)
        for index, activity in enumerate(activities):
            following = activities[index + 1] if index + 1 < len(activities) else None
            if activity.activity_code_id == ON_QUEUE:
                now = self._work_queue(now, activity.end + self._departure())
                now = self._leave_queue(now, following)
            else:
                now = self._return(max(activity.end + self._return_delay(), now + MINUTE), activity)
        return self.feed.events

    # -- deviations from the schedule, in microseconds --

    def _arrival(self) -> float:
        if self.rng.random() < 0.05:  # missed shift start
            return self.rng.uniform(5, 15) * MINUTE
        return self.rng.gauss(-2 * MINUTE, 2 * MINUTE)

    def _departure(self) -> float:
        if self.rng.random() < 0.10:  # leaves early
            return -self.rng.uniform(1, 4) * MINUTE
        return self.rng.gauss(0, MINUTE)

    def _return_delay(self) -> float:
        if self.rng.random() < 0.12:  # back late
            return self.rng.uniform(2, 10) * MINUTE
        return self.rng.gauss(30 * SECOND, MINUTE)

    # -- transitions --

    def _log_in(self, shift_start: Instant) -> Instant:
        at = self.feed.emit(shift_start + self._arrival(), EventKind.LOGIN)
        return self._go_on_queue(at + self.rng.uniform(15, 90) * SECOND)

    def _go_on_queue(self, at: float) -> Instant:
        """Presence On Queue, then the routing status follows a moment later (as in Genesys)."""
        at = self.feed.emit(at, EventKind.PRESENCE, Presence.ON_QUEUE)
        at += self.rng.uniform(1, 3) * SECOND
        return self.feed.emit(at, EventKind.ROUTING_STATUS, routing=Routing.IDLE)

    def _leave_queue(self, now: Instant, following: Activity | None) -> Instant:
        feed, rng = self.feed, self.rng
        if following is None:  # end of shift
            now = feed.emit(now, EventKind.PRESENCE, Presence.AVAILABLE)
            return feed.emit(now + rng.uniform(30, 120) * SECOND, EventKind.LOGOUT)
        code = following.activity_code_id
        if code == MEAL and rng.random() < 0.15:
            return feed.emit(now, EventKind.LOGOUT)  # offline meal: adherent by default
        secondary = _SECONDARY.get(code)
        if secondary is not None and rng.random() < 0.4:
            # Busy with a reason code: the secondary presence decides the category (§3 rule 3).
            return feed.emit(now, EventKind.PRESENCE, Presence.BUSY, secondary=secondary)
        return feed.emit(now, EventKind.PRESENCE, _PRESENCE[code], secondary=secondary)

    def _return(self, at: float, activity: Activity) -> Instant:
        if activity.activity_code_id == MEAL and self.feed.events[-1].kind is EventKind.LOGOUT:
            at = self.feed.emit(at, EventKind.LOGIN)
            at += self.rng.uniform(10, 60) * SECOND
        return self._go_on_queue(at)

    # -- on-queue work --

    def _work_queue(self, now: Instant, leave_at: float) -> Instant:
        """Interactions until `leave_at`; one in progress then finishes first (a late leave)."""
        rng, feed = self.rng, self.feed
        while True:
            now += int(rng.expovariate(1 / (0.2 * self.cycle)) * SECOND)
            if now >= leave_at:
                return max(int(leave_at), feed.last + MILLISECOND)
            draw = rng.random()
            if draw < 0.04:  # an alert nobody answered
                now = feed.emit(now, EventKind.ROUTING_STATUS, routing=Routing.NOT_RESPONDING)
                now += int(rng.uniform(8, 30) * SECOND)
                now = feed.emit(now, EventKind.ROUTING_STATUS, routing=Routing.IDLE)
            elif draw < 0.065:  # stepped away from the queue
                away = rng.choice((Presence.AVAILABLE, Presence.AWAY, Presence.BUSY))
                now = feed.emit(now, EventKind.PRESENCE, away)
                now = self._go_on_queue(now + rng.uniform(2, 8) * MINUTE)
            elif draw < 0.0665:  # a feed gap, healed by a full state
                now = feed.emit(now, EventKind.UNKNOWN)
                now += int(rng.uniform(1, 5) * MINUTE)
                now = feed.emit(now, EventKind.STATE, Presence.ON_QUEUE, Routing.IDLE)
            else:
                now = self._interaction(now)
            if now >= leave_at:
                return feed.last + rng.randint(2, 20) * SECOND

    def _interaction(self, now: Instant) -> Instant:
        routing = Routing.COMMUNICATING if self.rng.random() < 0.05 else Routing.INTERACTING
        now = self.feed.emit(now, EventKind.ROUTING_STATUS, routing=routing)
        handle = self.rng.lognormvariate(0, 0.6) / 1.2 * 0.8 * self.cycle
        return self.feed.emit(now + handle * SECOND, EventKind.ROUTING_STATUS, routing=Routing.IDLE)


# ---- data sets ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dataset:
    """Schedules and events per agent id, for the given agents and days."""

    schedules: dict[str, list[Activity]]
    events: dict[str, list[AgentEvent]]

    def event_count(self) -> int:
        return sum(len(events) for events in self.events.values())


def generate(pop: Population, days: int = 1, profiles: Sequence[Profile] | None = None) -> Dataset:
    """Local days 0 … `days` − 1 of `profiles` (default: every agent)."""
    schedules: dict[str, list[Activity]] = {}
    events: dict[str, list[AgentEvent]] = {}
    for profile in pop.profiles if profiles is None else profiles:
        activities: list[Activity] = []
        feed: list[AgentEvent] = []
        for day in range(days):
            generated = agent_day(pop, profile, day)
            activities += generated.activities
            feed += generated.events
        schedules[profile.agent.id] = activities
        events[profile.agent.id] = feed
    return Dataset(schedules, events)


class Delivery(NamedTuple):
    """An event and the instant the platform delivers it (its own time unless late)."""

    at: Instant
    event: AgentEvent


def in_time_order(events: Iterable[Sequence[AgentEvent]]) -> list[Delivery]:
    """Every event of every agent, delivered on time: one feed sorted by event time."""
    deliveries = [Delivery(event.time, event) for feed in events for event in feed]
    deliveries.sort(key=lambda d: d.at)
    return deliveries


def with_late_events(
    events: Iterable[Sequence[AgentEvent]],
    seed: int = DEFAULT_SEED,
    fraction: float = 0.05,
    max_lateness: int = 3 * MINUTE,
) -> list[Delivery]:
    """The feed with `fraction` of each agent's events delivered late, after at least one later
    event of the same agent, by at most `max_lateness` (a platform retrying a notification)."""
    rng = random.Random(f"{seed}/late")
    deliveries: list[Delivery] = []
    for feed in events:
        delays = _late_deliveries(rng, feed, fraction, max_lateness)
        deliveries += (Delivery(delays.get(i, e.time), e) for i, e in enumerate(feed))
    deliveries.sort(key=lambda d: d.at)
    return deliveries


def _late_deliveries(
    rng: random.Random, feed: Sequence[AgentEvent], fraction: float, max_lateness: int
) -> dict[int, Instant]:
    """Delivery instants of the late events of one agent, by index in its feed."""
    eligible = [
        i
        for i in range(len(feed) - 1)
        if feed[i + 1].time - feed[i].time < max_lateness - MILLISECOND
    ]
    chosen = rng.sample(eligible, min(len(eligible), round(fraction * len(feed))))
    return {
        i: rng.randint(feed[i + 1].time + MILLISECOND, feed[i].time + max_lateness) for i in chosen
    }


# ---- adhere-scenario/1 -------------------------------------------------------------------


def scenario_document(
    agents: int = 10, days: int = 1, seed: int = DEFAULT_SEED, unit: int = 0
) -> dict[str, Any]:
    """An ``adhere-scenario/1`` document: the first `agents` agents of management unit number
    `unit`, over `days` local days, the same agents and data as in `population(n, seed)`.
    Meant for small sizes: the document takes ~40 KB per agent-day."""
    mu = UNITS[unit]
    profiles: list[Profile] = []
    index = 0
    while len(profiles) < agents:
        candidate = agent_profile(seed, index)
        if candidate.unit.id == mu.id:
            profiles.append(candidate)
        index += 1
    pop = Population(seed, UNITS, CODES, tuple(profiles))
    data = generate(pop, days)
    return {
        "format": "adhere-scenario/1",
        "management_unit": {
            "id": mu.id,
            "name": mu.name,
            "time_zone": mu.time_zone,
            "settings": _settings_json(mu.settings),
        },
        "teams": [{"id": t, "name": t} for t in sorted({p.agent.team_id or "" for p in profiles})],
        "activity_codes": [_code_json(code) for code in pop.codes],
        "agents": [_agent_json(p.agent) for p in profiles],
        "schedules": [
            {"agent_id": agent_id, "activities": [_activity_json(a) for a in activities]}
            for agent_id, activities in data.schedules.items()
        ],
        "events": [_event_json(d.event) for d in in_time_order(data.events.values())],
        "window": {
            "start": format_instant(first_instant(mu.zone, BASE_DATE)),
            "end": format_instant(first_instant(mu.zone, BASE_DATE + timedelta(days=days))),
        },
    }


def _settings_json(settings: AdherenceSettings) -> dict[str, Any]:
    return {
        "adherence_exception_threshold_seconds": settings.adherence_exception_threshold_seconds,
        "non_on_queue_activities_equivalent": settings.non_on_queue_activities_equivalent,
        "working_outside_shift_is_exception": settings.working_outside_shift_is_exception,
    }


def _code_json(code: ActivityCode) -> dict[str, Any]:
    item = {"id": code.id, "name": code.name, "category": code.category.value}
    if code.secondary_presence_id is not None:
        item["secondary_presence_id"] = code.secondary_presence_id
    return item


def _agent_json(agent: Agent) -> dict[str, Any]:
    return {"id": agent.id, "name": agent.name, "team_id": agent.team_id}


def _activity_json(activity: Activity) -> dict[str, Any]:
    return {
        "start": format_instant(activity.start),
        "length_minutes": (activity.end - activity.start) / MINUTE,
        "activity_code_id": activity.activity_code_id,
    }


def _event_json(event: AgentEvent) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": event.id,
        "agent_id": event.agent_id,
        "time": format_instant(event.time),
        "kind": event.kind.value,
    }
    optional = {
        "system_presence": event.system_presence,
        "secondary_presence_id": event.secondary_presence_id,
        "routing_status": event.routing_status,
        "queue_ids": list(event.queue_ids) if event.queue_ids is not None else None,
    }
    item.update({key: value for key, value in optional.items() if value is not None})
    return item


def main(argv: Sequence[str] | None = None) -> None:
    """Print a scenario document, e.g. to feed ``adhere evaluate``."""
    parser = argparse.ArgumentParser(description="Print an adhere-scenario/1 document.")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--unit", type=int, default=0, help=f"0–{len(ZONES) - 1}: {ZONES}")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    document = scenario_document(args.agents, args.days, args.seed, args.unit)
    json.dump(document, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""A simulated contact center: its organisation, today's schedules, and how its agents behave.

`adhere simulate` drives a server with what this module plans, so that a demo (or a benchmark)
exercises the real path: the organisation and the schedules are written through the API, then
the agents' events are posted as a platform would post them.

Everything is derived from a seed and an *anchor* instant (the simulation's start). Shifts are
spread around the anchor (starting from 6 h before it to 2 h after it, on local quarter hours),
so that from the first second most agents are mid-shift and others log in or out within
minutes: the board is lively at once. Each agent's behaviour comes from its own random stream,
so the plan is the same whatever part of it is read, and its events are generated lazily: a
day of 5,000 agents is millions of events, which are never all held in memory.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from adhere.domain.agent_state import KEEP, AgentEvent, EventKind
from adhere.domain.categories import Category, Presence, Routing
from adhere.domain.instants import MICROS_PER_MINUTE, MICROS_PER_SECOND, Instant, to_datetime
from adhere.domain.local_days import first_instant
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.domain.schedule import Activity, ActivityCode, ScheduleReplacement

SECOND: Final = MICROS_PER_SECOND
MINUTE: Final = MICROS_PER_MINUTE
MILLISECOND: Final = 1_000

EARLIEST_SHIFT_START_MINUTES: Final = -6 * 60
LATEST_SHIFT_START_MINUTES: Final = 2 * 60
"""Shift starts relative to the anchor, in 15-minute steps: most agents are mid-shift at once."""

MISSED_SHIFT_SHARE: Final = 0.03


@dataclass(frozen=True, slots=True)
class _Site:
    key: str
    city: str
    time_zone: str
    weight: int  # share of the agents: offshore sites are the big ones
    names: tuple[tuple[str, ...], tuple[str, ...]]  # first names, last names


_ENGLISH = (
    (
        "James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda",
        "Daniel", "Sarah", "Chris", "Jessica", "Kevin", "Ashley", "Brian", "Emily",
    ),
    (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
        "Taylor", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright",
    ),
)  # fmt: skip
_BRITISH = (
    (
        "Oliver", "Amelia", "Harry", "Olivia", "George", "Isla", "Jack", "Emily",
        "Charlie", "Poppy", "Thomas", "Sophie", "Alfie", "Grace", "Oscar", "Chloe",
    ),
    (
        "Taylor", "Evans", "Thomas", "Roberts", "Hughes", "Patel", "Edwards", "Wood",
        "Green", "Hill", "Morris", "Ward", "Turner", "Cooper", "Khan", "Baker",
    ),
)  # fmt: skip
_FILIPINO = (
    (
        "Maria", "Jose", "Angelica", "Mark", "Kristine", "John Paul", "Mary Grace", "Carlo",
        "Jasmine", "Rodel", "Camille", "Jerome", "Patricia", "Arnel", "Joy", "Ramon",
    ),
    (
        "Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Torres",
        "Villanueva", "Ramos", "Aquino", "Castillo", "Flores", "Navarro", "Dela Cruz", "Lim",
    ),
)  # fmt: skip
_INDIAN = (
    (
        "Priya", "Rahul", "Ananya", "Arjun", "Divya", "Vikram", "Sneha", "Rohan",
        "Kavya", "Aditya", "Pooja", "Karthik", "Meera", "Sanjay", "Neha", "Amit",
    ),
    (
        "Sharma", "Verma", "Iyer", "Reddy", "Nair", "Gupta", "Patel", "Rao",
        "Menon", "Singh", "Das", "Kulkarni", "Joshi", "Pillai", "Mehta", "Bose",
    ),
)  # fmt: skip
_FRENCH = (
    (
        "Camille", "Lucas", "Léa", "Hugo", "Manon", "Louis", "Chloé", "Gabriel",
        "Inès", "Arthur", "Jade", "Jules", "Sarah", "Nathan", "Emma", "Théo",
    ),
    (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Roux",
    ),
)  # fmt: skip
_BRAZILIAN = (
    (
        "Ana", "João", "Beatriz", "Pedro", "Larissa", "Lucas", "Camila", "Rafael",
        "Juliana", "Gustavo", "Fernanda", "Felipe", "Mariana", "Bruno", "Letícia", "Thiago",
    ),
    (
        "Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Rodrigues",
        "Almeida", "Nascimento", "Carvalho", "Araújo", "Ribeiro", "Gomes", "Martins", "Rocha",
    ),
)  # fmt: skip
_SOUTH_AFRICAN = (
    (
        "Thabo", "Lerato", "Sipho", "Naledi", "Johan", "Zanele", "Pieter", "Ayanda",
        "Kagiso", "Nomvula", "Themba", "Lindiwe", "Willem", "Palesa", "Bongani", "Anele",
    ),
    (
        "Nkosi", "Dlamini", "Botha", "Mokoena", "van der Merwe", "Ndlovu", "Khumalo", "Naidoo",
        "Mahlangu", "Pretorius", "Zulu", "Mthembu", "Venter", "Molefe", "Sithole", "Jacobs",
    ),
)  # fmt: skip

SITES: Final[tuple[_Site, ...]] = (
    _Site("new-york", "New York", "America/New_York", 3, _ENGLISH),
    _Site("london", "London", "Europe/London", 2, _BRITISH),
    _Site("manila", "Manila", "Asia/Manila", 4, _FILIPINO),
    _Site("bengaluru", "Bengaluru", "Asia/Kolkata", 3, _INDIAN),
    _Site("chicago", "Chicago", "America/Chicago", 2, _ENGLISH),
    _Site("paris", "Paris", "Europe/Paris", 1, _FRENCH),
    _Site("los-angeles", "Los Angeles", "America/Los_Angeles", 2, _ENGLISH),
    _Site("sao-paulo", "São Paulo", "America/Sao_Paulo", 2, _BRAZILIAN),
    _Site("johannesburg", "Johannesburg", "Africa/Johannesburg", 2, _SOUTH_AFRICAN),
    _Site("sydney", "Sydney", "Australia/Sydney", 1, _ENGLISH),
)
"""The management units, in the order they are used: `--units 3` is New York, London, Manila."""
MAX_UNITS: Final = len(SITES)

_TEAM_NAMES: Final = (
    "Billing", "Technical Support", "Retention", "Sales", "Claims", "Onboarding",
    "Escalations", "Premium Care", "Collections", "Orders", "Returns", "Loyalty",
)  # fmt: skip

ON_QUEUE, BREAK, MEAL, MEETING, TRAINING, BACK_OFFICE, TIME_OFF, UNAVAILABLE = (
    "on-queue", "break", "meal", "meeting", "training", "back-office", "time-off", "unavailable",
)  # fmt: skip
ACTIVITY_CODES: Final[tuple[ActivityCode, ...]] = (
    ActivityCode(ON_QUEUE, "On queue", Category.ON_QUEUE_WORK),
    ActivityCode(BREAK, "Break", Category.BREAK),
    ActivityCode(MEAL, "Lunch", Category.MEAL),
    ActivityCode(MEETING, "Team meeting", Category.MEETING, "sp-meeting"),
    ActivityCode(TRAINING, "Training", Category.TRAINING, "sp-training"),
    ActivityCode(BACK_OFFICE, "Back office", Category.OFF_QUEUE_WORK, "sp-back-office"),
    ActivityCode(TIME_OFF, "Time off", Category.TIME_OFF),
    ActivityCode(UNAVAILABLE, "Unavailable", Category.UNAVAILABLE, "sp-system-issue"),
)
"""One code per activity category; every management unit has the same ones."""
_CODES = {code.id: code for code in ACTIVITY_CODES}
_PRESENCE_OF: Final = {
    BREAK: Presence.BREAK,
    MEAL: Presence.MEAL,
    MEETING: Presence.MEETING,
    TRAINING: Presence.TRAINING,
    BACK_OFFICE: Presence.BUSY,
}


@dataclass(frozen=True, slots=True)
class SimulatedAgent:
    index: int  # in the center: orders ties between agents' events
    agent: Agent
    queue_ids: tuple[str, ...]
    schedule: ScheduleReplacement
    """The shift, written over whole local days of the agent's unit (a re-run replaces them)."""
    misses_shift: bool


@dataclass(frozen=True, slots=True)
class Center:
    seed: int
    anchor: Instant
    units: tuple[ManagementUnit, ...]
    teams: tuple[Team, ...]
    agents: tuple[SimulatedAgent, ...]
    activity_codes: tuple[ActivityCode, ...] = ACTIVITY_CODES  # in every unit

    def events(self) -> Iterator[AgentEvent]:
        """Every agent's events, in time order (ties: in agent order)."""
        return heapq.merge(*(self.agent_events(a) for a in self.agents), key=_time)

    def agent_events(self, agent: SimulatedAgent) -> Iterator[AgentEvent]:
        """One agent's events over its shift; times strictly increase."""
        if agent.misses_shift:
            return iter(())
        rng = random.Random(f"{self.seed}/{agent.agent.id}/behaviour")
        prefix = f"s{self.seed}-{self.anchor // SECOND}-{agent.index:05d}"
        return _Walk(rng, agent, prefix).shift()


def _time(event: AgentEvent) -> Instant:
    return event.time


def build_center(agents: int, units: int, seed: int, anchor: Instant) -> Center:
    """`agents` agents split over the first `units` sites, with shifts around `anchor`.

    Ids do not depend on the seed (an agent stays in its unit when a center is rebuilt, as the
    API requires); names, teams, schedules and behaviour do.
    """
    if not 1 <= units <= MAX_UNITS:
        raise ValueError(f"units must be between 1 and {MAX_UNITS}")
    if agents < 1:
        raise ValueError("a center needs at least one agent")
    sites = SITES[:units]
    unit_of = {site.key: _unit(site) for site in sites}
    teams = {site.key: _teams(site, number) for number, site in enumerate(sites)}
    counts = _split(agents, [site.weight for site in sites])
    missed = set(random.Random(f"{seed}/missed").sample(range(agents), _missed(agents)))
    simulated: list[SimulatedAgent] = []
    for site, count in zip(sites, counts, strict=True):
        for number in range(1, count + 1):
            index = len(simulated)
            rng = random.Random(f"{seed}/{site.key}/{number}")
            team = rng.choice(teams[site.key])
            agent = Agent(
                f"{site.key}-{number:04d}", _name(rng, site), unit_of[site.key].id, team.id
            )
            queues = (f"{team.id}-voice", f"{team.id}-messaging")
            schedule = _schedule(rng, agent.id, unit_of[site.key], anchor)
            simulated.append(SimulatedAgent(index, agent, queues, schedule, index in missed))
    return Center(
        seed,
        anchor,
        tuple(unit_of.values()),
        tuple(team for site in sites for team in teams[site.key]),
        tuple(simulated),
    )


def _unit(site: _Site) -> ManagementUnit:
    return ManagementUnit(f"mu-{site.key}", f"{site.city} contact center", site.time_zone)


def _teams(site: _Site, number: int) -> tuple[Team, ...]:
    """2 to 4 teams, the same for a unit whatever the seed (teams cannot be deleted)."""
    names = [_TEAM_NAMES[(3 * number + k) % len(_TEAM_NAMES)] for k in range(2 + number % 3)]
    return tuple(
        Team(
            f"{site.key}-{name.lower().replace(' ', '-')}", f"{site.city} {name}", f"mu-{site.key}"
        )
        for name in names
    )


def _split(total: int, weights: list[int]) -> list[int]:
    """`total` split by `weights`, largest remainders first: the counts add up exactly."""
    whole = sum(weights)
    counts = [total * w // whole for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _missed(agents: int) -> int:
    """About 3 % of agents miss their shift; a center of 20 or more has at least one."""
    return round(agents * MISSED_SHIFT_SHARE + 0.4) if agents >= 20 else 0


def _name(rng: random.Random, site: _Site) -> str:
    first, last = site.names
    return f"{rng.choice(first)} {rng.choice(last)}"


# ---- schedules ---------------------------------------------------------------------------


def _schedule(
    rng: random.Random, agent_id: str, unit: ManagementUnit, anchor: Instant
) -> ScheduleReplacement:
    """A WFM-style shift: on-queue work around two 15-minute breaks, a 30-minute meal and
    sometimes a meeting, training or back-office work; now and then an afternoon off."""
    offset = rng.randrange(EARLIEST_SHIFT_START_MINUTES, LATEST_SHIFT_START_MINUTES + 1, 15)
    start = _local_quarter_hour(unit, anchor + offset * MINUTE)
    length = rng.choice((480, 480, 510, 540))
    jitter = (-15, 0, 15)
    first_break = 120 + rng.choice(jitter)
    meal = (length - 30) // 2 // 15 * 15 + rng.choice(jitter)
    planned = [(first_break, 15, BREAK), (meal, 30, MEAL)]
    if rng.random() < 0.04:  # a half day off: the afternoon is time off, no second break
        planned.append((length - 120, 120, TIME_OFF))
    else:
        second_break = min(meal + 30 + 120 + rng.choice(jitter), length - 60)
        planned.append((second_break, 15, BREAK))
    extra = _extra_activity(rng, sorted(planned), length)
    if extra is not None:
        planned.append(extra)
    activities = _filled(start, length, sorted(planned))
    zone = unit.zone
    first_day = to_datetime(start).astimezone(zone).date()
    last_day = to_datetime(activities[-1].end - 1).astimezone(zone).date()
    return ScheduleReplacement(
        agent_id,
        first_instant(zone, first_day),
        first_instant(zone, last_day + timedelta(days=1)),
        activities,
    )


def _local_quarter_hour(unit: ManagementUnit, instant: Instant) -> Instant:
    """`instant` rounded down to a quarter hour of the unit's local time."""
    local = to_datetime(instant).astimezone(unit.zone)
    down = timedelta(
        minutes=local.minute % 15, seconds=local.second, microseconds=local.microsecond
    )
    return instant - round(down.total_seconds() * SECOND)


def _extra_activity(
    rng: random.Random, planned: list[tuple[int, int, str]], length: int
) -> tuple[int, int, str] | None:
    """A meeting (20 % of shifts), training (10 %) or back-office work (10 %), placed in a
    stretch of on-queue work with at least half an hour of it on both sides."""
    draw = rng.random()
    if draw < 0.20:
        code, minutes = MEETING, rng.choice((30, 30, 60))
    elif draw < 0.30:
        code, minutes = TRAINING, 60
    elif draw < 0.40:
        code, minutes = BACK_OFFICE, rng.choice((30, 45, 60))
    else:
        return None
    ends = [start + span for start, span, _ in planned]
    gaps = list(zip([0, *ends], [start for start, _, _ in planned] + [length], strict=True))
    roomy = [(a, b) for a, b in gaps if b - a >= minutes + 60]
    if not roomy:
        return None
    a, b = rng.choice(roomy)
    return (a + 30 + rng.randrange(0, (b - a - minutes - 60) // 15 + 1) * 15, minutes, code)


def _filled(start: Instant, length: int, planned: list[tuple[int, int, str]]) -> list[Activity]:
    """The planned activities with on-queue work in every gap of the shift."""
    activities: list[Activity] = []
    cursor = 0
    for at, minutes, code in [*planned, (length, 0, "")]:
        if at > cursor:
            activities.append(Activity(start + cursor * MINUTE, start + at * MINUTE, ON_QUEUE))
        if minutes:
            activities.append(Activity(start + at * MINUTE, start + (at + minutes) * MINUTE, code))
        cursor = at + minutes
    return activities


# ---- behaviour ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Channel:
    handle_median_seconds: float  # one interaction
    idle_mean_seconds: float  # waiting for the next


_VOICE = _Channel(handle_median_seconds=150, idle_mean_seconds=25)
_MESSAGING = _Channel(handle_median_seconds=30, idle_mean_seconds=8)
VOICE_SHARE: Final = 0.35
"""Voice agents change routing status every minute or two; messaging agents, handling short
chats back to back, every 20 s or so: about 110 events/s for 5,000 agents (docs/service.md)."""

_Steps = Generator[AgentEvent, None, Instant]
"""Events, then the instant the agent is done with them."""


class _Walk:
    """One agent through its shift, emitting what a platform reports; deviations from the
    schedule are drawn as they come (late logins, long breaks, early logouts, …)."""

    def __init__(self, rng: random.Random, agent: SimulatedAgent, prefix: str) -> None:
        self.rng = rng
        self.agent = agent
        self.prefix = prefix
        self.count = 0
        self.last: Instant = 0
        self.offline_meal = False
        channel = _VOICE if rng.random() < VOICE_SHARE else _MESSAGING
        pace = rng.uniform(0.8, 1.25)  # some agents are quicker than others
        self.handle = channel.handle_median_seconds * pace * SECOND
        self.idle = channel.idle_mean_seconds * pace * SECOND

    def shift(self) -> Iterator[AgentEvent]:
        """Log in, follow the activities (time off ends the working day), log out."""
        activities = self.agent.schedule.activities
        working = [a for a in activities if a.activity_code_id != TIME_OFF]
        now = yield from self._log_in(working[0].start + self._arrival())
        for index, activity in enumerate(working):
            following = working[index + 1] if index + 1 < len(working) else None
            if activity.activity_code_id == ON_QUEUE:
                leave = activity.end + (self._departure() if following else self._logout())
                now = yield from self._work_queue(now, leave)
            else:
                now = max(round(activity.end + self._return()), now + MINUTE)
            yield from self._switch(now, activity, following)

    # -- deviations from the schedule, in microseconds --

    def _arrival(self) -> float:
        draw = self.rng.random()
        if draw < 0.07:  # very late: out of adherence, an exception
            return self.rng.uniform(8, 25) * MINUTE
        if draw < 0.25:  # a little late
            return self.rng.uniform(1, 5) * MINUTE
        return -self.rng.uniform(0.5, 8) * MINUTE  # early, getting ready

    def _departure(self) -> float:
        draw = self.rng.random()
        if draw < 0.08:  # early to break
            return -self.rng.uniform(1, 5) * MINUTE
        if draw < 0.20:  # late: finishing an interaction
            return self.rng.uniform(1, 6) * MINUTE
        return self.rng.gauss(0, 20 * SECOND)

    def _return(self) -> float:
        draw = self.rng.random()
        if draw < 0.12:  # a long break
            return self.rng.uniform(3, 12) * MINUTE
        if draw < 0.22:  # back early
            return -self.rng.uniform(1, 4) * MINUTE
        return self.rng.gauss(30 * SECOND, 45 * SECOND)

    def _logout(self) -> float:
        if self.rng.random() < 0.06:  # leaves early
            return -self.rng.uniform(10, 40) * MINUTE
        return self.rng.gauss(90 * SECOND, 90 * SECOND)

    # -- transitions --

    def _emit(
        self,
        at: float,
        kind: EventKind,
        presence: Presence | None = None,
        routing: Routing | None = None,
        secondary: str | None = None,
    ) -> AgentEvent:
        """An event at `at` (to the millisecond), after every earlier one of this agent."""
        instant = max(int(at) // MILLISECOND * MILLISECOND, self.last + MILLISECOND)
        self.last = instant
        self.count += 1
        queues = self.agent.queue_ids if presence is Presence.ON_QUEUE else None
        return AgentEvent(
            f"{self.prefix}-{self.count:05d}",
            self.agent.agent.id,
            instant,
            kind,
            presence,
            secondary,
            routing,
            queues,
        )

    def _log_in(self, at: float) -> _Steps:
        yield self._emit(at, EventKind.LOGIN, Presence.AVAILABLE)
        return (yield from self._go_on_queue(self.last + self.rng.uniform(20, 90) * SECOND))

    def _go_on_queue(self, at: float) -> _Steps:
        """Presence On Queue, then the routing status follows a moment later (as in Genesys)."""
        yield self._emit(at, EventKind.PRESENCE, Presence.ON_QUEUE)
        at = self.last + self.rng.uniform(1, 3) * SECOND
        yield self._emit(at, EventKind.ROUTING_STATUS, routing=Routing.IDLE)
        return self.last

    def _switch(
        self, at: Instant, current: Activity, following: Activity | None
    ) -> Iterator[AgentEvent]:
        """From `current` to `following` (or off shift), at `at`."""
        if following is None:
            yield self._emit(at, EventKind.PRESENCE, Presence.AVAILABLE)
            yield self._emit(self.last + self.rng.uniform(10, 60) * SECOND, EventKind.LOGOUT)
            return
        code = following.activity_code_id
        if code == ON_QUEUE:
            if current.activity_code_id == MEAL and self.offline_meal:
                yield self._emit(at, EventKind.LOGIN, Presence.AVAILABLE)
                at = self.last + round(self.rng.uniform(10, 60) * SECOND)
            yield from self._go_on_queue(at)
            return
        self.offline_meal = code == MEAL and self.rng.random() < 0.15
        if self.offline_meal:
            yield self._emit(at, EventKind.LOGOUT)  # offline meal: adherent by default
            return
        secondary = _CODES[code].secondary_presence_id
        if secondary is not None and self.rng.random() < 0.4:
            # Busy with a reason code: the secondary presence decides the category (§3 rule 3).
            yield self._emit(at, EventKind.PRESENCE, Presence.BUSY, secondary=secondary)
        else:
            yield self._emit(at, EventKind.PRESENCE, _PRESENCE_OF[code], secondary=secondary)

    # -- on-queue work --

    def _work_queue(self, now: Instant, leave: float) -> _Steps:
        """Interactions until `leave`: Idle and Interacting in turn, an alert now and then
        not answered (Not Responding), and sometimes a few minutes away from the queue."""
        rng = self.rng
        while True:
            at = now + rng.expovariate(1 / self.idle)  # waiting for the next interaction
            if at >= leave:
                return max(int(leave), self.last + MILLISECOND)
            draw = rng.random()
            if draw < 0.03:  # an alert nobody answered
                yield self._emit(at, EventKind.ROUTING_STATUS, routing=Routing.NOT_RESPONDING)
                at = self.last + rng.uniform(10, 40) * SECOND
                yield self._emit(at, EventKind.ROUTING_STATUS, routing=Routing.IDLE)
            elif draw < 0.045:  # stepped away from the queue
                away = rng.choice((Presence.AVAILABLE, Presence.AWAY, Presence.BUSY))
                yield self._emit(at, EventKind.PRESENCE, away)
                yield from self._go_on_queue(self.last + rng.uniform(1, 6) * MINUTE)
            else:
                routing = Routing.COMMUNICATING if rng.random() < 0.05 else Routing.INTERACTING
                yield self._emit(at, EventKind.ROUTING_STATUS, routing=routing)
                at = self.last + self.handle * rng.lognormvariate(0, 0.5)
                if at > leave:  # wrapped up quickly: the agent means to leave on time
                    at = max(leave + rng.uniform(0, 30) * SECOND, self.last + 5 * SECOND)
                yield self._emit(at, EventKind.ROUTING_STATUS, routing=Routing.IDLE)
            now = self.last


# ---- history before a start --------------------------------------------------------------


def condensed(events: Iterable[AgentEvent]) -> list[AgentEvent]:
    """`events` (in time order) with every routing-status change that a later event of the
    same agent overrides left out: each agent's state after them is the same, in a fraction of
    the events. How a simulation starting mid-day sends the hours before its start at once."""
    kept: list[AgentEvent | None] = []
    pending: dict[str, int] = {}  # agent -> index in `kept` of its last routing-only event
    for event in events:
        overrides = event.kind is EventKind.ROUTING_STATUS or event.effect.routing is not KEEP
        before = pending.pop(event.agent_id, None)
        if before is not None and overrides:
            kept[before] = None
        if event.kind is EventKind.ROUTING_STATUS:
            pending[event.agent_id] = len(kept)
        kept.append(event)
    return [event for event in kept if event is not None]

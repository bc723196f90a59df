"""Hypothesis strategies for small, valid adherence inputs (one management unit)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import strategies as st

from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import Category, Presence, Routing
from adhere.domain.explanations import Explanation, ExplanationStatus
from adhere.domain.instants import MICROS_PER_MINUTE, MICROS_PER_SECOND, Instant
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.domain.schedule import Activity, ActivityCode
from adhere.domain.settings import AdherenceSettings

T0: Instant = 1_774_742_400 * MICROS_PER_SECOND  # 2026-03-29T00:00:00Z, a DST day in Paris
HORIZON_MINUTES = 12 * 60

CODES = (
    ActivityCode("oq", "On queue", Category.ON_QUEUE_WORK, "sp-oq"),
    ActivityCode("brk", "Break", Category.BREAK, "sp-break"),
    ActivityCode("meal", "Meal", Category.MEAL),
    ActivityCode("mtg", "Meeting", Category.MEETING, "sp-meet"),
    ActivityCode("off", "Time off", Category.TIME_OFF),
    ActivityCode("trn", "Training", Category.TRAINING, "sp-break"),
)
CODE_IDS = tuple(code.id for code in CODES)


def minute(m: float) -> Instant:
    return T0 + round(m * MICROS_PER_MINUTE)


settings = st.builds(
    AdherenceSettings,
    adherence_exception_threshold_seconds=st.sampled_from([0, 30, 60, 120]),
    severe_alert_threshold_minutes=st.sampled_from([0, 1, 3]),
    non_on_queue_activities_equivalent=st.booleans(),
    ignored_activity_categories=st.frozensets(st.sampled_from([Category.MEETING, Category.MEAL])),
    ignored_activity_code_ids=st.frozensets(st.sampled_from(["trn"])),
    working_outside_shift_is_exception=st.booleans(),
    offline_adherent_categories=st.sampled_from(
        [frozenset({Category.TIME_OFF, Category.MEAL, Category.BREAK}), frozenset()]
    ),
    presence_categories=st.sampled_from([{}, {Presence.AWAY: Category.BREAK}]),
)


@st.composite
def schedules(draw: st.DrawFn) -> list[Activity]:
    """Non-overlapping activities with gaps, on a minute grid within the horizon."""
    cuts = sorted(draw(st.sets(st.integers(0, HORIZON_MINUTES), min_size=0, max_size=10)))
    activities = []
    for start, end in itertools.pairwise(cuts):
        code = draw(st.sampled_from((None, *CODE_IDS)))
        if code is not None:
            activities.append(Activity(minute(start), minute(end), code))
    return activities


@st.composite
def events(draw: st.DrawFn, agent_id: str = "a1", max_size: int = 25) -> list[AgentEvent]:
    """Events with unique ids; instants on a 30 s grid so that ties happen."""
    count = draw(st.integers(0, max_size))
    made = []
    for index in range(count):
        kind = draw(st.sampled_from(list(EventKind)))
        presence = draw(st.none() | st.sampled_from(list(Presence)))
        routing = draw(st.none() | st.sampled_from(list(Routing)))
        if kind is EventKind.PRESENCE and presence is None:
            presence = Presence.ON_QUEUE
        if kind is EventKind.ROUTING_STATUS and routing is None:
            routing = Routing.IDLE
        made.append(
            AgentEvent(
                id=f"e{index}",
                agent_id=agent_id,
                time=minute(draw(st.integers(-60, HORIZON_MINUTES * 2 + 60)) / 2),
                kind=kind,
                system_presence=presence,
                secondary_presence_id=draw(st.sampled_from([None, "sp-break", "sp-meet", "x"])),
                routing_status=routing,
            )
        )
    return made


@st.composite
def explanations(draw: st.DrawFn, agent_id: str = "a1") -> list[Explanation]:
    return [
        Explanation(
            id=f"x{index}",
            agent_id=agent_id,
            start=minute(draw(st.integers(0, HORIZON_MINUTES))),
            length_minutes=draw(st.integers(1, 90)),
            status=draw(st.sampled_from(list(ExplanationStatus))),
        )
        for index in range(draw(st.integers(0, 3)))
    ]


@dataclass(frozen=True)
class AgentCase:
    unit: ManagementUnit
    agent: Agent
    activities: list[Activity]
    events: list[AgentEvent]
    explanations: list[Explanation]


@st.composite
def agent_cases(draw: st.DrawFn) -> AgentCase:
    unit = ManagementUnit("mu", "Paris", "Europe/Paris", draw(settings))
    agent = Agent("a1", "Agent 1", "mu")
    return AgentCase(unit, agent, draw(schedules()), draw(events()), draw(explanations()))

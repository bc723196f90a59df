"""The real-time engine, input by input, on one readable day."""

from __future__ import annotations

import pytest

from adhere.domain.adherence import UNSCHEDULED_OFFLINE, Adherence
from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import AdherenceState, Category, Impact, Presence, Routing
from adhere.domain.engine import AdherenceChange, AdherenceEngine, TooLate
from adhere.domain.errors import InvalidInput
from adhere.domain.explanations import Explanation, ExplanationStatus
from adhere.domain.instants import parse_instant
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.domain.schedule import Activity, ActivityCode
from adhere.domain.settings import AdherenceSettings

CODES = [
    ActivityCode("oq", "On queue", Category.ON_QUEUE_WORK),
    ActivityCode("brk", "Break", Category.BREAK),
]
UNIT = ManagementUnit("mu", "Paris", "Europe/Paris")


def at(clock: str) -> int:
    return parse_instant(f"2026-06-02T{clock}Z")


def adherence(
    scheduled: Category,
    actual: Category,
    state: AdherenceState,
    impact: Impact = Impact.NEUTRAL,
) -> Adherence:
    code = {Category.ON_QUEUE_WORK: "oq", Category.BREAK: "brk"}.get(scheduled)
    return Adherence(scheduled, code, actual, state, impact)


ON_QUEUE_EARLY = adherence(Category.UNSCHEDULED, Category.ON_QUEUE_WORK, AdherenceState.UNSCHEDULED)
IN_ON_QUEUE = adherence(Category.ON_QUEUE_WORK, Category.ON_QUEUE_WORK, AdherenceState.IN_ADHERENCE)
WORKING_THROUGH_BREAK = adherence(
    Category.BREAK, Category.ON_QUEUE_WORK, AdherenceState.OUT_OF_ADHERENCE, Impact.POSITIVE
)
ON_BREAK = adherence(Category.BREAK, Category.BREAK, AdherenceState.IN_ADHERENCE)
LATE_FROM_BREAK = adherence(
    Category.ON_QUEUE_WORK, Category.BREAK, AdherenceState.OUT_OF_ADHERENCE, Impact.NEGATIVE
)


def event(event_id: str, clock: str, kind: EventKind, **fields: object) -> AgentEvent:
    return AgentEvent(event_id, "ana", at(clock), kind, **fields)  # type: ignore[arg-type]


@pytest.fixture
def engine() -> AdherenceEngine:
    engine = AdherenceEngine()
    engine.configure_unit(UNIT, CODES)
    engine.add_agent(Agent("ana", "Ana", "mu"))
    engine.replace_schedule(
        "ana",
        at("09:00:00"),
        at("11:00:00"),
        [
            Activity(at("09:00:00"), at("10:00:00"), "oq"),
            Activity(at("10:00:00"), at("10:15:00"), "brk"),
            Activity(at("10:15:00"), at("11:00:00"), "oq"),
        ],
    )
    return engine


def login(engine: AdherenceEngine, clock: str = "08:58:00") -> list[AdherenceChange]:
    return engine.ingest(event("login", clock, EventKind.LOGIN, system_presence=Presence.ON_QUEUE))


def test_a_login_is_reported_at_once_as_a_live_change(engine):
    assert login(engine) == [
        AdherenceChange("ana", at("08:58:00"), None, UNSCHEDULED_OFFLINE, ON_QUEUE_EARLY, False)
    ]
    assert engine.current("ana") == ON_QUEUE_EARLY


def test_schedule_boundaries_change_adherence_by_the_clock_alone(engine):
    login(engine)
    assert engine.next_change_at() == at("09:00:00")
    assert engine.advance_to(at("08:59:59")) == []
    assert engine.advance_to(at("09:30:00")) == [
        AdherenceChange("ana", at("09:00:00"), None, ON_QUEUE_EARLY, IN_ON_QUEUE, False)
    ]
    assert engine.next_change_at() == at("10:00:00")
    changes = engine.advance_to(at("12:00:00"))
    assert [(c.at, c.current.adherence_state) for c in changes] == [
        (at("10:00:00"), AdherenceState.OUT_OF_ADHERENCE),
        (at("10:15:00"), AdherenceState.IN_ADHERENCE),
        (at("11:00:00"), AdherenceState.UNSCHEDULED),
    ]
    assert engine.next_change_at() is None


def test_a_late_event_corrects_what_was_reported(engine):
    login(engine)
    engine.advance_to(at("10:05:00"))
    assert engine.current("ana") == WORKING_THROUGH_BREAK
    late_break = event("brk", "10:00:30", EventKind.PRESENCE, system_presence=Presence.BREAK)
    assert engine.ingest(late_break) == [
        AdherenceChange("ana", at("10:00:30"), None, WORKING_THROUGH_BREAK, ON_BREAK, True)
    ]
    assert engine.current("ana") == ON_BREAK
    assert engine.adherence_at("ana", at("10:00:10")) == WORKING_THROUGH_BREAK


def test_a_late_event_in_the_middle_of_history_is_bounded_by_what_follows(engine):
    login(engine)
    engine.ingest(event("back", "10:20:00", EventKind.PRESENCE, system_presence=Presence.ON_QUEUE))
    late_break = event("brk", "10:01:00", EventKind.PRESENCE, system_presence=Presence.BREAK)
    changes = engine.ingest(late_break)
    assert [(c.at, c.until, c.previous, c.current, c.correction) for c in changes] == [
        (at("10:01:00"), at("10:15:00"), WORKING_THROUGH_BREAK, ON_BREAK, True),
        (at("10:15:00"), at("10:20:00"), IN_ON_QUEUE, LATE_FROM_BREAK, True),
    ]


def test_a_schedule_edit_corrects_the_past_and_moves_the_next_change(engine):
    login(engine)
    engine.advance_to(at("09:10:00"))
    changes = engine.replace_schedule(
        "ana", at("09:00:00"), at("10:00:00"), [Activity(at("09:00:00"), at("10:00:00"), "brk")]
    )
    moved_break = adherence(
        Category.BREAK, Category.ON_QUEUE_WORK, AdherenceState.OUT_OF_ADHERENCE, Impact.POSITIVE
    )
    assert changes == [AdherenceChange("ana", at("09:00:00"), None, IN_ON_QUEUE, moved_break, True)]
    assert engine.next_change_at() == at("10:15:00")  # 10:00 is break on both sides now


def test_an_approved_explanation_turns_time_out_into_explained(engine):
    login(engine)
    engine.ingest(event("brk", "10:00:00", EventKind.PRESENCE, system_presence=Presence.BREAK))
    engine.advance_to(at("10:30:00"))
    assert engine.current("ana") == LATE_FROM_BREAK
    pending = Explanation("x1", "ana", at("10:15:00"), 10)
    assert engine.put_explanation(pending) == []
    approved = Explanation("x1", "ana", at("10:15:00"), 10, ExplanationStatus.APPROVED)
    explained = LATE_FROM_BREAK._replace(
        adherence_state=AdherenceState.EXPLAINED, impact=Impact.NEUTRAL
    )
    assert engine.put_explanation(approved) == [
        AdherenceChange("ana", at("10:15:00"), at("10:25:00"), LATE_FROM_BREAK, explained, True)
    ]


def test_duplicate_event_ids_are_ignored_even_with_other_content(engine):
    login(engine)
    again = event("login", "09:30:00", EventKind.LOGOUT)
    assert engine.ingest(again) == []
    assert engine.adherence_at("ana", at("09:45:00")) == IN_ON_QUEUE


def test_settings_changes_re_evaluate_the_past(engine):
    login(engine)
    engine.advance_to(at("09:30:00"))
    strict = ManagementUnit(
        "mu", "Paris", "Europe/Paris", AdherenceSettings(working_outside_shift_is_exception=True)
    )
    changes = engine.configure_unit(strict, CODES)
    working_early = ON_QUEUE_EARLY._replace(
        adherence_state=AdherenceState.OUT_OF_ADHERENCE, impact=Impact.POSITIVE
    )
    assert changes == [
        AdherenceChange("ana", at("08:58:00"), at("09:00:00"), ON_QUEUE_EARLY, working_early, True)
    ]


def test_compaction_bounds_memory_and_refuses_inputs_it_no_longer_holds(engine):
    login(engine)
    engine.ingest(event("r1", "09:10:00", EventKind.ROUTING_STATUS, routing_status=Routing.IDLE))
    engine.advance_to(at("10:05:00"))
    engine.compact(at("10:00:00"))
    with pytest.raises(TooLate, match="no longer holds"):
        engine.ingest(event("old", "09:30:00", EventKind.LOGOUT))
    # Inputs after the compaction point still fold onto the compacted state.
    late_break = event("brk", "10:00:30", EventKind.PRESENCE, system_presence=Presence.BREAK)
    assert engine.ingest(late_break)[0].current == ON_BREAK
    assert engine.adherence_at("ana", at("10:00:10")) == WORKING_THROUGH_BREAK


def test_unknown_agents_and_units_are_refused_by_name():
    engine = AdherenceEngine()
    with pytest.raises(InvalidInput, match="unknown management unit 'nowhere'"):
        engine.add_agent(Agent("bo", "Bo", "nowhere"))
    engine.configure_unit(UNIT, CODES)
    with pytest.raises(InvalidInput, match="unknown agent 'bo'"):
        engine.ingest(AgentEvent("e1", "bo", at("09:00:00"), EventKind.LOGIN))


def test_a_schedule_with_an_unknown_activity_code_is_refused(engine):
    with pytest.raises(InvalidInput, match="unknown activity code 'lunch'"):
        engine.replace_schedule(
            "ana",
            at("12:00:00"),
            at("13:00:00"),
            [Activity(at("12:00:00"), at("13:00:00"), "lunch")],
        )


def test_an_event_after_a_timer_check_re_arms_the_next_schedule_edge(engine):
    login(engine)
    engine.put_explanation(Explanation("x1", "ana", at("09:40:00"), 10, ExplanationStatus.APPROVED))
    engine.advance_to(at("09:30:00"))
    # On queue, 09:40 and 09:50 change nothing: the check moves the timer on to 10:00.
    assert engine.next_change_at() == at("10:00:00")
    engine.ingest(event("brk", "09:35:00", EventKind.PRESENCE, system_presence=Presence.BREAK))
    # Out of adherence now, so the explanation's start matters again.
    off_queue = adherence(
        Category.ON_QUEUE_WORK, Category.BREAK, AdherenceState.OUT_OF_ADHERENCE, Impact.NEGATIVE
    )
    explained = off_queue._replace(adherence_state=AdherenceState.EXPLAINED, impact=Impact.NEUTRAL)
    assert engine.advance_to(at("09:45:00")) == [
        AdherenceChange("ana", at("09:40:00"), None, off_queue, explained, False)
    ]
    assert engine.next_change_at() == at("09:50:00")


def test_a_compaction_point_never_moves_back(engine):
    login(engine)
    engine.advance_to(at("10:05:00"))
    engine.compact(at("10:00:00"))
    engine.compact(at("09:00:00"))
    with pytest.raises(TooLate):
        engine.ingest(event("old", "09:30:00", EventKind.LOGOUT))


def test_events_at_the_same_instant_apply_in_arrival_order(engine):
    login(engine)
    engine.advance_to(at("09:10:00"))
    engine.ingest(event("p", "09:20:00", EventKind.PRESENCE, system_presence=Presence.BREAK))
    changes = engine.ingest(
        event("r", "09:20:00", EventKind.ROUTING_STATUS, routing_status=Routing.INTERACTING)
    )
    assert [c.current for c in changes] == [IN_ON_QUEUE]  # interacting counts as on queue
    assert engine.adherence_at("ana", at("09:20:00")) == IN_ON_QUEUE

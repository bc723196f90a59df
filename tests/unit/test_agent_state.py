"""§2 of the adherence rules: folding agent state events into the state of an agent.

Field-level checks parse events with the scenario adapter and fold them with the domain
(`agent_inputs` keeps the first arrival of each id and orders by (time, arrival)); observable
effects (Unknown state, duplicates, ties) are also checked end to end through
`evaluate_document`.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from adhere.adapters.scenario_format import parse_event
from adhere.domain.agent_state import AgentState
from adhere.domain.categories import Presence, Routing
from adhere.domain.errors import InvalidInput
from adhere.domain.evaluation import agent_inputs
from adhere.domain.instants import parse_instant
from adhere.service.evaluation import evaluate_document

DAY = "2026-06-02"
_ids = itertools.count(1)

ALL_PRESENCES = (
    "Available",
    "Away",
    "Busy",
    "Offline",
    "Idle",
    "OnQueue",
    "Meal",
    "Training",
    "Meeting",
    "Break",
)
ALL_ROUTINGS = ("OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING")


def t(clock: str) -> str:
    return f"{DAY}T{clock}Z"


def ev(kind: str, clock: str = "09:00:00", *, id: str | None = None, **fields: Any) -> dict:
    """An event document for agent a1; `clock` is a UTC time of day."""
    return {
        "id": id or f"e{next(_ids)}",
        "agent_id": "a1",
        "time": t(clock),
        "kind": kind,
        **fields,
    }


def state_at(*events: dict, clock: str = "23:59:59") -> AgentState:
    """The state at the instant `clock` (events at that instant included), events listed in
    arrival order."""
    parsed = [parse_event(event) for event in events]
    inputs = agent_inputs((), parsed, ())
    state, _ = inputs.state_before(parse_instant(t(clock)) + 1)
    return state


def known(presence: Presence, routing: Routing, secondary: str | None) -> AgentState:
    return AgentState(presence, routing, secondary, False)


# ---- starting state --------------------------------------------------------------------


def test_agent_nobody_has_heard_from_is_logged_out() -> None:
    assert state_at() == known(Presence.OFFLINE, Routing.OFF_QUEUE, None)


def test_state_before_the_first_event_is_logged_out() -> None:
    login = ev("login", "09:00:00", system_presence="OnQueue", routing_status="IDLE")
    assert state_at(login, clock="08:59:59") == known(Presence.OFFLINE, Routing.OFF_QUEUE, None)


def test_event_at_exactly_t_is_part_of_the_state_at_t() -> None:
    login = ev("login", "09:00:00", system_presence="OnQueue", routing_status="IDLE")
    assert state_at(login, clock="09:00:00") == known(Presence.ON_QUEUE, Routing.IDLE, None)


# ---- login -----------------------------------------------------------------------------


def test_login_defaults_to_available_off_queue_no_secondary() -> None:
    assert state_at(ev("login")) == known(Presence.AVAILABLE, Routing.OFF_QUEUE, None)


def test_login_takes_given_values() -> None:
    login = ev(
        "login", system_presence="OnQueue", routing_status="IDLE", secondary_presence_id="sp-1"
    )
    assert state_at(login) == known(Presence.ON_QUEUE, Routing.IDLE, "sp-1")


def test_login_resets_routing_and_secondary_it_does_not_carry() -> None:
    before = ev(
        "state",
        "08:00:00",
        system_presence="Away",
        routing_status="INTERACTING",
        secondary_presence_id="sp-1",
    )
    assert state_at(before, ev("login", "09:00:00")) == known(
        Presence.AVAILABLE, Routing.OFF_QUEUE, None
    )


def test_login_with_null_fields_takes_the_defaults() -> None:
    login = ev("login", system_presence=None, routing_status=None, secondary_presence_id=None)
    assert state_at(login) == known(Presence.AVAILABLE, Routing.OFF_QUEUE, None)


def test_login_carrying_offline_sets_offline() -> None:
    assert state_at(ev("login", system_presence="Offline")) == known(
        Presence.OFFLINE, Routing.OFF_QUEUE, None
    )


# ---- logout ----------------------------------------------------------------------------


def test_logout_sets_offline_off_queue_and_clears_secondary() -> None:
    before = ev(
        "login",
        "08:00:00",
        system_presence="OnQueue",
        routing_status="INTERACTING",
        secondary_presence_id="sp-1",
    )
    assert state_at(before, ev("logout", "09:00:00")) == known(
        Presence.OFFLINE, Routing.OFF_QUEUE, None
    )


def test_logout_ignores_fields_it_carries() -> None:
    before = ev("login", "08:00:00", system_presence="OnQueue", routing_status="IDLE")
    logout = ev(
        "logout",
        "09:00:00",
        system_presence="Available",
        routing_status="IDLE",
        secondary_presence_id="sp-1",
    )
    assert state_at(before, logout) == known(Presence.OFFLINE, Routing.OFF_QUEUE, None)


# ---- presence --------------------------------------------------------------------------


def test_presence_other_than_on_queue_sets_routing_off_queue() -> None:
    before = ev("login", "08:00:00", system_presence="OnQueue", routing_status="IDLE")
    after = ev("presence", "09:00:00", system_presence="Away")
    assert state_at(before, after) == known(Presence.AWAY, Routing.OFF_QUEUE, None)


def test_presence_on_queue_keeps_routing() -> None:
    before = ev("state", "08:00:00", system_presence="Busy", routing_status="INTERACTING")
    after = ev("presence", "09:00:00", system_presence="OnQueue")
    assert state_at(before, after) == known(Presence.ON_QUEUE, Routing.INTERACTING, None)


def test_presence_with_given_routing_takes_it_for_another_presence() -> None:
    before = ev("login", "08:00:00", system_presence="OnQueue", routing_status="IDLE")
    after = ev("presence", "09:00:00", system_presence="Away", routing_status="INTERACTING")
    assert state_at(before, after) == known(Presence.AWAY, Routing.INTERACTING, None)


def test_presence_on_queue_with_given_routing_takes_it() -> None:
    before = ev("state", "08:00:00", system_presence="Busy", routing_status="INTERACTING")
    after = ev("presence", "09:00:00", system_presence="OnQueue", routing_status="IDLE")
    assert state_at(before, after) == known(Presence.ON_QUEUE, Routing.IDLE, None)


def test_presence_sets_given_secondary_and_clears_it_when_not_given() -> None:
    first = ev("presence", "08:00:00", system_presence="Away", secondary_presence_id="sp-1")
    assert state_at(first) == known(Presence.AWAY, Routing.OFF_QUEUE, "sp-1")
    second = ev("presence", "09:00:00", system_presence="Busy")
    assert state_at(first, second) == known(Presence.BUSY, Routing.OFF_QUEUE, None)


def test_presence_with_null_routing_is_as_if_routing_were_absent() -> None:
    before = ev("login", "08:00:00", system_presence="OnQueue", routing_status="IDLE")
    after = ev("presence", "09:00:00", system_presence="Away", routing_status=None)
    assert state_at(before, after) == known(Presence.AWAY, Routing.OFF_QUEUE, None)


def test_presence_on_queue_with_null_routing_keeps_routing() -> None:
    before = ev("state", "08:00:00", system_presence="Busy", routing_status="COMMUNICATING")
    after = ev("presence", "09:00:00", system_presence="OnQueue", routing_status=None)
    assert state_at(before, after) == known(Presence.ON_QUEUE, Routing.COMMUNICATING, None)


@pytest.mark.parametrize("fields", [{}, {"system_presence": None}])
def test_presence_event_requires_a_presence(fields: dict) -> None:
    event = ev("presence", **fields)
    with pytest.raises(InvalidInput) as raised:
        parse_event(event)
    assert "system_presence" in str(raised.value)


# ---- routing_status ----------------------------------------------------------------------


def test_routing_status_sets_routing_only() -> None:
    before = ev(
        "state",
        "08:00:00",
        system_presence="Away",
        routing_status="OFF_QUEUE",
        secondary_presence_id="sp-1",
    )
    after = ev("routing_status", "09:00:00", routing_status="INTERACTING")
    assert state_at(before, after) == known(Presence.AWAY, Routing.INTERACTING, "sp-1")


@pytest.mark.parametrize("fields", [{}, {"routing_status": None}])
def test_routing_status_event_requires_a_routing(fields: dict) -> None:
    event = ev("routing_status", **fields)
    with pytest.raises(InvalidInput) as raised:
        parse_event(event)
    assert "routing_status" in str(raised.value)


# ---- state -----------------------------------------------------------------------------


def test_state_sets_every_field_it_carries() -> None:
    before = ev("login", "08:00:00", system_presence="OnQueue", routing_status="IDLE")
    after = ev(
        "state",
        "09:00:00",
        system_presence="Meeting",
        routing_status="NOT_RESPONDING",
        secondary_presence_id="sp-2",
    )
    assert state_at(before, after) == known(Presence.MEETING, Routing.NOT_RESPONDING, "sp-2")


def test_state_leaves_omitted_fields_unchanged() -> None:
    before = ev(
        "login",
        "08:00:00",
        system_presence="OnQueue",
        routing_status="IDLE",
        secondary_presence_id="sp-1",
    )
    # A presence change through `state` does not touch routing (unlike a `presence` event).
    after = ev("state", "09:00:00", system_presence="Away")
    assert state_at(before, after) == known(Presence.AWAY, Routing.IDLE, "sp-1")


def test_state_only_secondary_changes_secondary() -> None:
    before = ev("login", "08:00:00", system_presence="Busy", routing_status="IDLE")
    after = ev("state", "09:00:00", secondary_presence_id="sp-9")
    assert state_at(before, after) == known(Presence.BUSY, Routing.IDLE, "sp-9")


def test_state_with_null_fields_leaves_them_unchanged() -> None:
    before = ev(
        "login",
        "08:00:00",
        system_presence="OnQueue",
        routing_status="IDLE",
        secondary_presence_id="sp-1",
    )
    after = ev(
        "state",
        "09:00:00",
        system_presence=None,
        routing_status=None,
        secondary_presence_id=None,
    )
    assert state_at(before, after) == known(Presence.ON_QUEUE, Routing.IDLE, "sp-1")


# ---- unknown ---------------------------------------------------------------------------


def test_unknown_marks_the_state_unknown_and_keeps_the_fields() -> None:
    before = ev(
        "login",
        "08:00:00",
        system_presence="Break",
        routing_status="OFF_QUEUE",
        secondary_presence_id="sp-1",
    )
    assert state_at(before, ev("unknown", "09:00:00")) == AgentState(
        Presence.BREAK, Routing.OFF_QUEUE, "sp-1", True
    )


def test_unknown_on_a_fresh_agent_keeps_logged_out_fields() -> None:
    assert state_at(ev("unknown")) == AgentState(Presence.OFFLINE, Routing.OFF_QUEUE, None, True)


def test_unknown_does_not_apply_fields_it_carries() -> None:
    before = ev("login", "08:00:00", system_presence="Break")
    unknown = ev("unknown", "09:00:00", system_presence="OnQueue", routing_status="IDLE")
    assert state_at(before, unknown) == AgentState(Presence.BREAK, Routing.OFF_QUEUE, None, True)


def test_second_unknown_changes_nothing() -> None:
    before = ev("login", "08:00:00", system_presence="Meal")
    once = state_at(before, ev("unknown", "09:00:00"))
    twice = state_at(before, ev("unknown", "09:00:00"), ev("unknown", "09:30:00"))
    assert once == twice == AgentState(Presence.MEAL, Routing.OFF_QUEUE, None, True)


def test_next_event_clears_unknown_and_applies_to_fields_as_they_were() -> None:
    before = ev(
        "login",
        "08:00:00",
        system_presence="Away",
        routing_status="OFF_QUEUE",
        secondary_presence_id="sp-1",
    )
    events = (
        before,
        ev("unknown", "09:00:00"),
        ev("routing_status", "09:10:00", routing_status="INTERACTING"),
    )
    assert state_at(*events, clock="09:05:00").unknown
    assert state_at(*events) == known(Presence.AWAY, Routing.INTERACTING, "sp-1")


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("login", {}),
        ("logout", {}),
        ("presence", {"system_presence": "Busy"}),
        ("routing_status", {"routing_status": "IDLE"}),
        ("state", {}),
    ],
)
def test_every_other_kind_clears_unknown(kind: str, fields: dict) -> None:
    events = (ev("unknown", "09:00:00"), ev(kind, "09:10:00", **fields))
    assert not state_at(*events).unknown


def test_duplicate_does_not_clear_unknown() -> None:
    unknown = ev("unknown", "09:00:00", id="gap")
    duplicate = ev("state", "09:10:00", id="gap", system_presence="Available")
    assert state_at(unknown, duplicate) == AgentState(
        Presence.OFFLINE, Routing.OFF_QUEUE, None, True
    )


# ---- name matching ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["OnQueue", "On Queue", "ON_QUEUE", "on-queue", "onqueue"])
def test_presence_names_are_normalised(name: str) -> None:
    assert state_at(ev("login", system_presence=name)).presence is Presence.ON_QUEUE


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not responding", Routing.NOT_RESPONDING),
        ("Not-Responding", Routing.NOT_RESPONDING),
        ("NotResponding", Routing.NOT_RESPONDING),
        ("interacting", Routing.INTERACTING),
        ("Off Queue", Routing.OFF_QUEUE),
    ],
)
def test_routing_names_are_normalised(name: str, expected: Routing) -> None:
    assert state_at(ev("routing_status", routing_status=name)).routing is expected


def test_unknown_presence_is_rejected_naming_value_and_accepted_set() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_event(ev("presence", system_presence="Lunch"))
    message = str(raised.value)
    assert "Lunch" in message
    for name in ALL_PRESENCES:
        assert name in message


def test_unknown_routing_is_rejected_naming_value_and_accepted_set() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_event(ev("routing_status", routing_status="WRAP_UP"))
    message = str(raised.value)
    assert "WRAP_UP" in message
    for name in ALL_ROUTINGS:
        assert name in message


def test_unknown_presence_in_a_login_is_rejected_too() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_event(ev("login", system_presence="Sleeping"))
    assert "Sleeping" in str(raised.value)


# ---- duplicates, order, ties -------------------------------------------------------------


def test_duplicate_with_different_content_is_ignored_first_arrival_wins() -> None:
    first = ev("login", "09:00:00", id="x", system_presence="Break")
    second = ev("login", "09:00:00", id="x", system_presence="OnQueue", routing_status="IDLE")
    assert state_at(first, second) == known(Presence.BREAK, Routing.OFF_QUEUE, None)


def test_duplicate_at_another_time_is_ignored_even_if_it_is_earlier() -> None:
    login = ev("login", "08:00:00", system_presence="OnQueue", routing_status="IDLE")
    first = ev("presence", "09:30:00", id="p", system_presence="Break")
    duplicate = ev("presence", "09:00:00", id="p", system_presence="Meal")
    events = (login, first, duplicate)
    assert state_at(*events, clock="09:15:00") == known(Presence.ON_QUEUE, Routing.IDLE, None)
    assert state_at(*events) == known(Presence.BREAK, Routing.OFF_QUEUE, None)


def test_result_does_not_depend_on_arrival_order_of_distinct_times() -> None:
    events = [
        ev("login", "08:00:00", system_presence="OnQueue", routing_status="IDLE"),
        ev("routing_status", "08:10:00", routing_status="INTERACTING"),
        ev("presence", "08:20:00", system_presence="Away", secondary_presence_id="sp-1"),
        ev("unknown", "08:30:00"),
        ev("state", "08:40:00", routing_status="COMMUNICATING"),
    ]
    expected = known(Presence.AWAY, Routing.COMMUNICATING, "sp-1")
    for order in itertools.permutations(events):
        assert state_at(*order) == expected
        assert state_at(*order, clock="08:35:00") == AgentState(
            Presence.AWAY, Routing.OFF_QUEUE, "sp-1", True
        )


def test_ties_at_the_same_instant_are_resolved_by_arrival_order() -> None:
    away = ev("presence", "09:00:00", system_presence="Away")
    meal = ev("presence", "09:00:00", system_presence="Meal")
    assert state_at(away, meal).presence is Presence.MEAL
    assert state_at(meal, away).presence is Presence.AWAY


def test_tie_with_unknown_depends_on_arrival_order() -> None:
    login = ev("login", "09:00:00")
    unknown = ev("unknown", "09:00:00")
    assert state_at(login, unknown).unknown
    assert not state_at(unknown, login).unknown


# ---- end to end through evaluate_document ------------------------------------------------


def _scenario(events: list[dict], agents: tuple[str, ...] = ("a1",)) -> dict:
    return {
        "format": "adhere-scenario/1",
        "management_unit": {"id": "mu", "time_zone": "UTC"},
        "activity_codes": [
            {"id": "oq", "category": "OnQueueWork"},
            {"id": "brk", "category": "Break", "secondary_presence_id": "sp-brk"},
        ],
        "agents": [{"id": agent} for agent in agents],
        "schedules": [
            {
                "agent_id": agent,
                "activities": [
                    {"start": t("09:00:00"), "end": t("10:00:00"), "activity_code_id": "oq"}
                ],
            }
            for agent in agents
        ],
        "events": events,
        "window": {"start": t("09:00:00"), "end": t("10:00:00")},
    }


def _segments(result: dict, agent: str = "a1") -> list[tuple[str, str, str, str, str]]:
    (found,) = [a for a in result["agents"] if a["agent_id"] == agent]
    return [
        (s["start"], s["end"], s["actual_category"], s["adherence_state"], s["impact"])
        for s in found["segments"]
    ]


def test_unknown_state_is_reported_unknown_with_actual_category_still_computed() -> None:
    events = [
        ev("login", "09:00:00", system_presence="Away", secondary_presence_id="sp-brk"),
        ev("unknown", "09:20:00"),
        ev("unknown", "09:30:00"),
        ev("presence", "09:40:00", system_presence="OnQueue", routing_status="IDLE"),
    ]
    assert _segments(evaluate_document(_scenario(events))) == [
        (t("09:00:00"), t("09:20:00"), "Break", "OutOfAdherence", "Negative"),
        (t("09:20:00"), t("09:40:00"), "Break", "Unknown", "Unknown"),
        (t("09:40:00"), t("10:00:00"), "OnQueueWork", "InAdherence", "Neutral"),
    ]


def test_unknown_from_the_start_is_reported_with_actual_offline() -> None:
    events = [ev("unknown", "09:00:00"), ev("login", "09:30:00", system_presence="OnQueue")]
    assert _segments(evaluate_document(_scenario(events))) == [
        (t("09:00:00"), t("09:30:00"), "Offline", "Unknown", "Unknown"),
        (t("09:30:00"), t("10:00:00"), "OnQueueWork", "InAdherence", "Neutral"),
    ]


def test_duplicate_does_not_clear_unknown_end_to_end() -> None:
    events = [
        ev("login", "09:00:00", system_presence="OnQueue", routing_status="IDLE"),
        ev("unknown", "09:10:00", id="gap"),
        ev("login", "09:20:00", id="gap", system_presence="OnQueue"),
    ]
    assert _segments(evaluate_document(_scenario(events))) == [
        (t("09:00:00"), t("09:10:00"), "OnQueueWork", "InAdherence", "Neutral"),
        (t("09:10:00"), t("10:00:00"), "OnQueueWork", "Unknown", "Unknown"),
    ]


def test_duplicate_end_to_end_first_arrival_wins() -> None:
    events = [
        ev("login", "09:00:00", id="x", system_presence="OnQueue", routing_status="IDLE"),
        ev("login", "09:00:00", id="x", system_presence="Away"),
        ev("presence", "09:30:00", id="y", system_presence="Break"),
        ev("presence", "09:15:00", id="y", system_presence="Away"),
    ]
    assert _segments(evaluate_document(_scenario(events))) == [
        (t("09:00:00"), t("09:30:00"), "OnQueueWork", "InAdherence", "Neutral"),
        (t("09:30:00"), t("10:00:00"), "Break", "OutOfAdherence", "Negative"),
    ]


def test_same_event_id_for_two_agents_is_not_a_duplicate() -> None:
    events = [
        ev("login", "09:00:00", id="same", system_presence="OnQueue"),
        {**ev("login", "09:00:00", id="same", system_presence="OnQueue"), "agent_id": "a2"},
    ]
    result = evaluate_document(_scenario(events, agents=("a1", "a2")))
    expected = [(t("09:00:00"), t("10:00:00"), "OnQueueWork", "InAdherence", "Neutral")]
    assert _segments(result, "a1") == expected
    assert _segments(result, "a2") == expected


def test_tie_end_to_end_resolved_by_arrival_order() -> None:
    on_queue = ev("login", "09:00:00", system_presence="OnQueue")
    on_break = ev("presence", "09:00:00", system_presence="Break")
    first = evaluate_document(_scenario([on_queue, on_break]))
    second = evaluate_document(_scenario([on_break, on_queue]))
    assert _segments(first) == [
        (t("09:00:00"), t("10:00:00"), "Break", "OutOfAdherence", "Negative")
    ]
    assert _segments(second) == [
        (t("09:00:00"), t("10:00:00"), "OnQueueWork", "InAdherence", "Neutral")
    ]


def test_late_out_of_order_arrival_gives_the_same_result() -> None:
    events = [
        ev("login", "09:00:00", system_presence="OnQueue", routing_status="IDLE"),
        ev("presence", "09:20:00", system_presence="Break"),
        ev("presence", "09:25:00", system_presence="OnQueue", routing_status="IDLE"),
    ]
    in_order = evaluate_document(_scenario(events))
    reversed_order = evaluate_document(_scenario(list(reversed(events))))
    assert in_order == reversed_order
    assert _segments(in_order)[1] == (
        t("09:20:00"),
        t("09:25:00"),
        "Break",
        "OutOfAdherence",
        "Negative",
    )

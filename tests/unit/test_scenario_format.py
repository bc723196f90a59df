"""§6 of the adherence rules: the adhere-scenario/1 document and its validation.

A scenario that breaks the rules raises `InvalidInput` naming the offending item; keys the
format does not define are ignored.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from adhere.domain.errors import InvalidInput
from adhere.service.evaluation import evaluate_document

DAY = "2026-06-02"


def t(clock: str) -> str:
    return f"{DAY}T{clock}Z"


def base() -> dict[str, Any]:
    """A small valid scenario: a1 on queue 09:00-09:30, on break 09:30-09:45."""
    return {
        "format": "adhere-scenario/1",
        "management_unit": {
            "id": "mu",
            "name": "Unit",
            "time_zone": "Europe/Paris",
            "settings": {"adherence_exception_threshold_seconds": 60},
        },
        "teams": [{"id": "t1", "name": "Team"}],
        "activity_codes": [
            {"id": "oq", "name": "On queue", "category": "OnQueueWork"},
            {"id": "brk", "name": "Break", "category": "Break", "secondary_presence_id": "sp"},
        ],
        "agents": [{"id": "a1", "name": "Ana", "team_id": "t1"}, {"id": "a2", "name": "Bo"}],
        "schedules": [
            {
                "agent_id": "a1",
                "activities": [
                    {"start": t("09:00:00"), "length_minutes": 30, "activity_code_id": "oq"},
                    {"start": t("09:30:00"), "end": t("09:45:00"), "activity_code_id": "brk"},
                ],
            }
        ],
        "events": [
            {
                "id": "e1",
                "agent_id": "a1",
                "time": t("09:02:00"),
                "kind": "login",
                "system_presence": "OnQueue",
                "routing_status": "IDLE",
            },
            {
                "id": "e2",
                "agent_id": "a1",
                "time": t("09:31:00"),
                "kind": "presence",
                "system_presence": "Break",
            },
        ],
        "explanations": [
            {
                "id": "x1",
                "agent_id": "a1",
                "start": t("09:00:00"),
                "length_minutes": 1,
                "type": "Late",
                "status": "Approved",
            }
        ],
        "window": {"start": t("09:00:00"), "end": t("10:00:00")},
    }


def modified(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    document = base()
    change(document)
    return document


def rejected(document: object) -> str:
    with pytest.raises(InvalidInput) as raised:
        evaluate_document(document)
    return str(raised.value)


def a1_activities(document: dict) -> list[dict]:
    return document["schedules"][0]["activities"]


def test_base_scenario_is_valid() -> None:
    result = evaluate_document(base())
    assert result["format"] == "adhere-result/1"
    assert [a["agent_id"] for a in result["agents"]] == ["a1", "a2"]
    segments = result["agents"][0]["segments"]
    assert [(s["start"], s["end"], s["adherence_state"]) for s in segments] == [
        (t("09:00:00"), t("09:01:00"), "Explained"),
        (t("09:01:00"), t("09:02:00"), "OutOfAdherence"),
        (t("09:02:00"), t("09:30:00"), "InAdherence"),
        (t("09:30:00"), t("09:31:00"), "OutOfAdherence"),
        (t("09:31:00"), t("09:45:00"), "InAdherence"),
        (t("09:45:00"), t("10:00:00"), "Unscheduled"),
    ]


# ---- overlapping activities ------------------------------------------------------------------


def test_overlapping_activities_are_rejected_naming_agent_and_both_starts() -> None:
    document = modified(
        lambda d: a1_activities(d).__setitem__(
            1, {"start": t("09:20:00"), "end": t("09:45:00"), "activity_code_id": "brk"}
        )
    )
    message = rejected(document)
    assert "a1" in message
    assert t("09:00:00") in message
    assert t("09:20:00") in message


def test_overlap_across_schedule_entries_of_one_agent_is_rejected() -> None:
    document = base()
    document["schedules"].append(
        {
            "agent_id": "a1",
            "activities": [
                {"start": t("09:40:00"), "length_minutes": 10, "activity_code_id": "oq"}
            ],
        }
    )
    message = rejected(document)
    assert "a1" in message
    assert t("09:30:00") in message
    assert t("09:40:00") in message


def test_overlap_naming_uses_utc_instants_whatever_the_input_offset() -> None:
    document = modified(
        lambda d: a1_activities(d).__setitem__(
            1, {"start": "2026-06-02T11:10:00+02:00", "length_minutes": 5, "activity_code_id": "oq"}
        )
    )
    message = rejected(document)
    assert "a1" in message
    assert t("09:00:00") in message
    assert t("09:10:00") in message


def test_contained_activity_overlaps() -> None:
    document = modified(
        lambda d: a1_activities(d).append(
            {"start": t("09:35:00"), "length_minutes": 1, "activity_code_id": "oq"}
        )
    )
    message = rejected(document)
    assert t("09:30:00") in message
    assert t("09:35:00") in message


def test_touching_activities_are_fine() -> None:
    document = modified(
        lambda d: a1_activities(d).append(
            {"start": t("09:45:00"), "length_minutes": 15, "activity_code_id": "oq"}
        )
    )
    segments = evaluate_document(document)["agents"][0]["segments"]
    assert segments[-1]["start"] == t("09:45:00")
    assert segments[-1]["scheduled_activity_code_id"] == "oq"


# ---- unknown references ------------------------------------------------------------------


def test_unknown_activity_code_is_rejected_naming_it() -> None:
    document = modified(lambda d: a1_activities(d)[1].__setitem__("activity_code_id", "lunch"))
    message = rejected(document)
    assert "lunch" in message
    assert "a1" in message or "schedules" in message


def test_unknown_presence_is_rejected_naming_it_and_the_event() -> None:
    document = modified(lambda d: d["events"][1].__setitem__("system_presence", "Napping"))
    message = rejected(document)
    assert "Napping" in message
    assert "system_presence" in message
    assert "e2" in message or "events[1]" in message


def test_unknown_routing_status_is_rejected_naming_it() -> None:
    document = modified(lambda d: d["events"][0].__setitem__("routing_status", "WRAPUP"))
    message = rejected(document)
    assert "WRAPUP" in message
    assert "routing_status" in message


def test_unknown_event_kind_is_rejected_naming_it() -> None:
    document = modified(lambda d: d["events"][0].__setitem__("kind", "teleport"))
    message = rejected(document)
    assert "teleport" in message
    assert "kind" in message


def test_unknown_activity_category_is_rejected_naming_it() -> None:
    document = modified(lambda d: d["activity_codes"][1].__setitem__("category", "Nap"))
    message = rejected(document)
    assert "Nap" in message
    assert "category" in message


def test_unknown_ignored_activity_code_is_rejected_naming_it() -> None:
    document = modified(
        lambda d: d["management_unit"]["settings"].__setitem__("ignored_activity_code_ids", ["zz"])
    )
    assert "zz" in rejected(document)


def test_agent_not_listed_in_schedules_is_rejected() -> None:
    document = modified(lambda d: d["schedules"][0].__setitem__("agent_id", "ghost"))
    message = rejected(document)
    assert "ghost" in message
    assert "schedules" in message


def test_agent_not_listed_in_events_is_rejected() -> None:
    document = modified(lambda d: d["events"][1].__setitem__("agent_id", "ghost"))
    message = rejected(document)
    assert "ghost" in message
    assert "events" in message


def test_agent_not_listed_in_explanations_is_rejected() -> None:
    document = modified(lambda d: d["explanations"][0].__setitem__("agent_id", "ghost"))
    message = rejected(document)
    assert "ghost" in message
    assert "explanations" in message


# ---- window --------------------------------------------------------------------------------


def test_window_ending_before_it_starts_is_rejected() -> None:
    document = modified(lambda d: d["window"].__setitem__("end", t("08:59:59")))
    assert "window" in rejected(document)


def test_window_ending_one_microsecond_before_it_starts_is_rejected() -> None:
    document = modified(lambda d: d["window"].__setitem__("end", t("08:59:59.999999")))
    assert "window" in rejected(document)


def test_empty_window_is_valid() -> None:
    document = modified(lambda d: d["window"].__setitem__("end", t("09:00:00")))
    result = evaluate_document(document)
    zero_states = {
        "InAdherence": 0,
        "OutOfAdherence": 0,
        "Unscheduled": 0,
        "Ignored": 0,
        "Explained": 0,
        "Unknown": 0,
    }
    for agent in result["agents"]:
        assert agent["segments"] == []
        assert agent["exceptions"] == []
        assert agent["days"] == []
        assert agent["metrics"]["state_seconds"] == zero_states
        assert agent["metrics"]["adherence_percent"] is None
        assert agent["metrics"]["conformance_percent"] is None
    assert result["totals"]["metrics"]["state_seconds"] == zero_states


# ---- instants ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "set_instant"),
    [
        ("window", lambda d, v: d["window"].__setitem__("start", v)),
        ("activities", lambda d, v: a1_activities(d)[0].__setitem__("start", v)),
        ("events", lambda d, v: d["events"][0].__setitem__("time", v)),
        ("explanations", lambda d, v: d["explanations"][0].__setitem__("start", v)),
    ],
)
def test_instant_without_offset_is_rejected(
    where: str, set_instant: Callable[[dict, str], None]
) -> None:
    document = base()
    set_instant(document, "2026-06-02T09:00:00")
    message = rejected(document)
    assert "2026-06-02T09:00:00" in message
    assert where in message


def test_instant_that_is_not_rfc3339_is_rejected() -> None:
    document = modified(lambda d: d["events"][0].__setitem__("time", "June 2nd, 9am"))
    message = rejected(document)
    assert "June 2nd, 9am" in message
    assert "time" in message


def test_instants_with_offsets_are_converted_to_utc() -> None:
    document = base()
    a1_activities(document)[0]["start"] = "2026-06-02T11:00:00+02:00"
    document["events"][0]["time"] = "2026-06-02T06:02:00-03:00"
    document["window"] = {"start": "2026-06-02T10:00:00+01:00", "end": "2026-06-02T10:00:00Z"}
    assert evaluate_document(document) == evaluate_document(base())


def test_fractional_seconds_are_accepted_and_printed_in_utc() -> None:
    document = modified(
        lambda d: d["events"][0].__setitem__("time", "2026-06-02T11:02:00.25+02:00")
    )
    segments = evaluate_document(document)["agents"][0]["segments"]
    assert segments[1]["end"] == "2026-06-02T09:02:00.25Z"
    assert segments[2]["start"] == "2026-06-02T09:02:00.25Z"


# ---- activities ----------------------------------------------------------------------------


def test_length_minutes_and_end_that_disagree_are_rejected() -> None:
    document = modified(lambda d: a1_activities(d)[0].__setitem__("end", t("09:31:00")))
    message = rejected(document)
    assert "length_minutes" in message or "end" in message
    assert "activities" in message


def test_length_minutes_and_end_that_agree_are_accepted() -> None:
    document = modified(lambda d: a1_activities(d)[0].__setitem__("end", t("09:30:00")))
    assert evaluate_document(document) == evaluate_document(base())


def test_activity_with_neither_end_nor_length_is_rejected() -> None:
    document = modified(lambda d: a1_activities(d)[1].pop("end"))
    message = rejected(document)
    assert "end" in message or "length_minutes" in message


# ---- management unit -------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "CEST", "Europe/Pariss", ""])
def test_invalid_time_zone_is_rejected_naming_it(zone: str) -> None:
    document = modified(lambda d: d["management_unit"].__setitem__("time_zone", zone))
    message = rejected(document)
    assert "time_zone" in message
    assert repr(zone) in message or (zone == "" and "string" in message)


def test_missing_time_zone_is_rejected() -> None:
    document = modified(lambda d: d["management_unit"].pop("time_zone"))
    assert "time_zone" in rejected(document)


def test_omitted_settings_take_the_defaults() -> None:
    document = modified(lambda d: d["management_unit"].pop("settings"))
    assert evaluate_document(document) == evaluate_document(base())


# ---- format and JSON types ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["adhere-scenario/2", "adhere-result/1", "", None, 1])
def test_wrong_format_is_rejected(value: object) -> None:
    document = modified(lambda d: d.__setitem__("format", value))
    assert "format" in rejected(document)


def test_missing_format_is_rejected() -> None:
    document = modified(lambda d: d.pop("format"))
    assert "format" in rejected(document)


@pytest.mark.parametrize("document", [[], "scenario", 42, None])
def test_document_that_is_not_an_object_is_rejected(document: object) -> None:
    rejected(document)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("agents", lambda d: d.__setitem__("agents", "a1")),
        ("agents", lambda d: d["agents"].__setitem__(1, "a2")),
        ("id", lambda d: d["agents"][1].__setitem__("id", 7)),
        ("activity_codes", lambda d: d.__setitem__("activity_codes", {"oq": "OnQueueWork"})),
        ("schedules", lambda d: d.__setitem__("schedules", {"a1": []})),
        ("activities", lambda d: d["schedules"][0].__setitem__("activities", "none")),
        ("length_minutes", lambda d: a1_activities(d)[0].__setitem__("length_minutes", "30")),
        ("length_minutes", lambda d: a1_activities(d)[0].__setitem__("length_minutes", True)),
        ("start", lambda d: a1_activities(d)[0].__setitem__("start", 1780390800)),
        ("events", lambda d: d.__setitem__("events", "e1")),
        ("time", lambda d: d["events"][0].__setitem__("time", 1780390920)),
        ("system_presence", lambda d: d["events"][0].__setitem__("system_presence", 3)),
        ("queue_ids", lambda d: d["events"][0].__setitem__("queue_ids", "q1")),
        ("length_minutes", lambda d: d["explanations"][0].__setitem__("length_minutes", "1")),
        ("status", lambda d: d["explanations"][0].__setitem__("status", "Maybe")),
        ("window", lambda d: d.__setitem__("window", [t("09:00:00"), t("10:00:00")])),
        ("management_unit", lambda d: d.__setitem__("management_unit", "mu")),
        ("settings", lambda d: d["management_unit"].__setitem__("settings", ["x"])),
        (
            "adherence_exception_threshold_seconds",
            lambda d: d["management_unit"]["settings"].__setitem__(
                "adherence_exception_threshold_seconds", "60"
            ),
        ),
        (
            "severe_alert_threshold_minutes",
            lambda d: d["management_unit"]["settings"].__setitem__(
                "severe_alert_threshold_minutes", True
            ),
        ),
        (
            "non_on_queue_activities_equivalent",
            lambda d: d["management_unit"]["settings"].__setitem__(
                "non_on_queue_activities_equivalent", "yes"
            ),
        ),
        (
            "working_outside_shift_is_exception",
            lambda d: d["management_unit"]["settings"].__setitem__(
                "working_outside_shift_is_exception", 1
            ),
        ),
        (
            "ignored_activity_categories",
            lambda d: d["management_unit"]["settings"].__setitem__(
                "ignored_activity_categories", "Break"
            ),
        ),
        (
            "offline_adherent_categories",
            lambda d: d["management_unit"]["settings"].__setitem__(
                "offline_adherent_categories", ["Nap"]
            ),
        ),
        (
            "presence_categories",
            lambda d: d["management_unit"]["settings"].__setitem__(
                "presence_categories", {"Snoozing": "Break"}
            ),
        ),
    ],
)
def test_wrong_json_types_are_rejected_naming_the_field(
    field: str, change: Callable[[dict], object]
) -> None:
    assert field in rejected(modified(change))


@pytest.mark.parametrize("value", [[], "", 0, False], ids=["list", "string", "zero", "false"])
def test_settings_of_a_falsy_wrong_type_are_rejected(value: object) -> None:
    # `settings` is an object; an empty list or string is not "omitted settings".
    document = modified(lambda d: d["management_unit"].__setitem__("settings", value))
    assert "settings" in rejected(document)


# ---- leniency and merging ----------------------------------------------------------------------


def _with_unknown_keys(document: dict) -> dict:
    document = copy.deepcopy(document)
    document["comment"] = {"anything": [1, 2, 3]}
    document["management_unit"]["colour"] = "blue"
    document["management_unit"]["settings"]["future_setting"] = True
    document["teams"][0]["motto"] = "hi"
    document["activity_codes"][0]["colour"] = "#00ff00"
    document["agents"][0]["email"] = "ana@example.com"
    document["schedules"][0]["published"] = True
    a1_activities(document)[0]["notes"] = None
    document["events"][0]["source"] = {"platform": "genesys"}
    document["explanations"][0]["reviewer"] = "boss"
    document["window"]["label"] = "morning"
    return document


def test_unknown_keys_at_any_level_are_ignored() -> None:
    assert evaluate_document(_with_unknown_keys(base())) == evaluate_document(base())


def test_optional_sections_may_be_omitted() -> None:
    document = base()
    document.pop("teams")
    document["agents"][0].pop("team_id")
    document.pop("explanations")
    result = evaluate_document(document)
    assert result["agents"][0]["segments"][0]["adherence_state"] == "OutOfAdherence"
    assert result["agents"][0]["segments"][0]["end"] == t("09:02:00")


def test_several_schedule_entries_for_one_agent_are_merged() -> None:
    split = base()
    first, second = a1_activities(split)
    split["schedules"] = [
        {"agent_id": "a1", "activities": [second]},
        {"agent_id": "a2", "activities": []},
        {"agent_id": "a1", "activities": [first]},
    ]
    assert evaluate_document(split) == evaluate_document(base())


def test_merged_schedule_entries_all_count() -> None:
    document = base()
    document["schedules"].append(
        {
            "agent_id": "a1",
            "activities": [
                {"start": t("09:45:00"), "length_minutes": 15, "activity_code_id": "oq"}
            ],
        }
    )
    segments = evaluate_document(document)["agents"][0]["segments"]
    assert segments[-1] == {
        "start": t("09:45:00"),
        "end": t("10:00:00"),
        "scheduled_category": "OnQueueWork",
        "scheduled_activity_code_id": "oq",
        "actual_category": "Break",
        "adherence_state": "OutOfAdherence",
        "impact": "Negative",
    }


def test_events_of_several_agents_are_split_by_agent() -> None:
    document = base()
    document["events"].append(
        {
            "id": "e1",
            "agent_id": "a2",
            "time": t("09:00:00"),
            "kind": "login",
            "system_presence": "Break",
        }
    )
    result = evaluate_document(document)
    assert result["agents"][0] == evaluate_document(base())["agents"][0]
    assert result["agents"][1]["segments"] == [
        {
            "start": t("09:00:00"),
            "end": t("10:00:00"),
            "scheduled_category": "Unscheduled",
            "scheduled_activity_code_id": None,
            "actual_category": "Break",
            "adherence_state": "Unscheduled",
            "impact": "Neutral",
        }
    ]

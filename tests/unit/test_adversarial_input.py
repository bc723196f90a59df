"""Hostile or absurd scenario documents: each is refused with an error naming the field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from adhere.domain.errors import InvalidInput
from adhere.service.evaluation import evaluate_document

BASE: dict[str, Any] = {
    "format": "adhere-scenario/1",
    "management_unit": {"id": "mu", "time_zone": "Europe/Paris", "settings": {}},
    "activity_codes": [{"id": "oq", "category": "OnQueueWork"}],
    "agents": [{"id": "a1"}],
    "schedules": [
        {
            "agent_id": "a1",
            "activities": [
                {"start": "2026-06-02T09:00:00Z", "length_minutes": 60, "activity_code_id": "oq"}
            ],
        }
    ],
    "events": [
        {
            "id": "e1",
            "agent_id": "a1",
            "time": "2026-06-02T09:01:00Z",
            "kind": "login",
            "system_presence": "OnQueue",
        }
    ],
    "explanations": [],
    "window": {"start": "2026-06-02T00:00:00Z", "end": "2026-06-03T00:00:00Z"},
}


def document(**changes: Any) -> dict[str, Any]:
    """BASE with dotted paths set, e.g. ``{"window.start": "…"}``."""
    doc = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return doc


def refusal(doc: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as raised:
        evaluate_document(doc)
    return str(raised.value)


ACTIVITY = "schedules.0.activities.0"
SETTINGS = "management_unit.settings"


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (f"{ACTIVITY}.length_minutes", float("nan"), "activities[0].length_minutes"),
        (f"{ACTIVITY}.length_minutes", float("inf"), "activities[0].length_minutes"),
        (f"{ACTIVITY}.length_minutes", 10**400, "activities[0].length_minutes"),
        (f"{ACTIVITY}.length_minutes", 1e302, "activities[0].length_minutes"),
        (f"{SETTINGS}.adherence_exception_threshold_seconds", float("nan"), "threshold_seconds"),
        (f"{SETTINGS}.adherence_exception_threshold_seconds", 1e303, "threshold_seconds"),
        (f"{SETTINGS}.severe_alert_threshold_minutes", float("-inf"), "severe_alert"),
        ("window.start", "0001-01-01T00:00:00Z", "window.start"),
        ("window.end", "9999-12-31T23:00:00Z", "window.end"),
        ("window.start", "0999-06-01T00:00:00Z", "window.start"),
        ("management_unit.time_zone", "America", "time_zone"),
    ],
)
def test_absurd_numbers_years_and_zones_are_refused_by_field(path, value, named):
    message = refusal(document(**{path: value}))
    assert named in message


def test_an_explanation_of_infinite_length_is_refused():
    explanation = {
        "id": "x1",
        "agent_id": "a1",
        "start": "2026-06-02T09:00:00Z",
        "length_minutes": float("inf"),
        "status": "Approved",
    }
    assert "explanations[0] (id 'x1').length_minutes" in refusal(
        document(explanations=[explanation])
    )


def test_two_explanations_with_one_id_are_refused():
    explanation = {
        "id": "x1",
        "agent_id": "a1",
        "start": "2026-06-02T09:00:00Z",
        "length_minutes": 5,
        "status": "Approved",
    }
    denied = {**explanation, "status": "Denied"}
    assert "explanations[1].id: duplicate id 'x1'" in refusal(
        document(explanations=[explanation, denied])
    )


def test_an_unknown_code_in_ignored_settings_names_the_setting():
    message = refusal(document(**{f"{SETTINGS}.ignored_activity_code_ids": ["zzz"]}))
    assert "ignored_activity_code_ids" in message
    assert "zzz" in message


def test_an_unknown_code_in_a_schedule_names_the_agent_and_the_activity():
    message = refusal(document(**{f"{ACTIVITY}.activity_code_id": "nap"}))
    assert "agent 'a1': activity starting 2026-06-02T09:00:00Z: unknown activity code 'nap'" in (
        message
    )


@pytest.mark.parametrize(("threshold", "is_exception"), [(60, True), (60.0000003, False)])
def test_thresholds_are_compared_exactly_not_rounded(threshold, is_exception):
    # The agent logs in at 09:01: a run of exactly 60 s out of adherence.
    doc = document(**{f"{SETTINGS}.adherence_exception_threshold_seconds": threshold})
    exceptions = evaluate_document(doc)["agents"][0]["exceptions"]
    assert (len(exceptions) == 1) is is_exception


def test_null_schedules_and_activities_mean_none():
    no_schedules = evaluate_document(document(schedules=None))
    assert no_schedules["agents"][0]["metrics"]["adherence_schedule_seconds"] == 0
    no_activities = evaluate_document(document(**{"schedules.0.activities": None}))
    assert no_activities["agents"][0]["metrics"]["adherence_schedule_seconds"] == 0


def test_nan_from_a_json_file_is_refused():
    doc = json.loads(json.dumps(BASE).replace('"length_minutes": 60', '"length_minutes": NaN'))
    assert "expected a finite number" in refusal(doc)

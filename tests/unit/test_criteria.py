"""Criteria on a message's JSON (domain/criteria.py): every operator, paths that find several
values or none, values of another kind, and errors that name the offending place."""

from __future__ import annotations

from typing import Any

import pytest

from adhere.domain.criteria import MATCH_ALL, Operator, parse_criteria
from adhere.domain.errors import InvalidInput

MESSAGE: dict[str, Any] = {
    "type": "adherence.changed",
    "timestamp": "2026-06-01T09:00:00Z",
    "data": {
        "agent_id": "lee",
        "team_id": None,
        "duration_seconds": 420,
        "ratio": 0.5,
        "severe": True,
        "queue_ids": ["sales", "support"],
        "note": "late for the morning shift",
        "current": {"adherence_state": "OutOfAdherence", "impact": "Negative"},
        "segments": [{"impact": "Negative"}, {"impact": "Neutral"}],
    },
}


def holds(path: str, operator: str, value: Any = None, *, given: bool = True) -> bool:
    condition: dict[str, Any] = {"path": path, "operator": operator}
    if given:
        condition["value"] = value
    return parse_criteria([condition], "filter").matches(MESSAGE)


@pytest.mark.parametrize(
    ("path", "operator", "value", "expected"),
    [
        ("$.data.agent_id", "Equal", "lee", True),
        ("$.data.agent_id", "Equal", "kim", False),
        ("$.data.team_id", "Equal", None, True),
        ("$.data.duration_seconds", "Equal", 420.0, True),  # numbers are numbers
        ("$.data.severe", "Equal", True, True),
        ("$.data.severe", "Equal", 1, False),  # a boolean is not a number
        ("$.data.duration_seconds", "Equal", "420", False),  # nor is text
        ("$.data.agent_id", "NotEqual", "kim", True),
        ("$.data.agent_id", "NotEqual", "lee", False),
        ("$.data.agent_id", "In", ["kim", "lee"], True),
        ("$.data.agent_id", "In", ["kim"], False),
        ("$.data.agent_id", "In", [], False),
        ("$.data.agent_id", "NotIn", ["kim"], True),
        ("$.data.agent_id", "NotIn", ["kim", "lee"], False),
        ("$.data.duration_seconds", "GreaterThan", 419, True),
        ("$.data.duration_seconds", "GreaterThan", 420, False),
        ("$.data.duration_seconds", "GreaterThanOrEqual", 420, True),
        ("$.data.duration_seconds", "LessThan", 420.5, True),
        ("$.data.duration_seconds", "LessThan", 420, False),
        ("$.data.duration_seconds", "LessThanOrEqual", 420, True),
        ("$.data.ratio", "LessThan", 1, True),
        ("$.timestamp", "GreaterThan", "2026-05-31T23:59:59Z", True),  # text compares as text
        ("$.timestamp", "LessThan", "2026-05-31T23:59:59Z", False),
        ("$.data.agent_id", "Exists", True, True),
        ("$.data.team_id", "Exists", True, True),  # present, although null
        ("$.data.nothing", "Exists", False, True),
        ("$.data.agent_id", "Exists", False, False),
        ("$.data.note", "Contains", "morning", True),
        ("$.data.note", "Contains", "evening", False),
        ("$.data.queue_ids", "Contains", "sales", True),  # a list holds the value
        ("$.data.queue_ids", "Contains", "billing", False),
        ("$.data.duration_seconds", "Contains", 4, False),  # a number holds nothing
        ("$.data.current.adherence_state", "Equal", "OutOfAdherence", True),
    ],
)
def test_each_operator(path: str, operator: str, value: Any, expected: bool) -> None:
    assert holds(path, operator, value) is expected


def test_exists_defaults_to_true() -> None:
    assert holds("$.data.agent_id", "Exists", given=False) is True
    assert holds("$.data.nothing", "Exists", given=False) is False


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("Equal", "support", True),  # one of them is
        ("Equal", "billing", False),
        ("NotEqual", "support", False),  # one of them is not "not support"
        ("NotEqual", "billing", True),  # none of them is billing
        ("In", ["billing", "sales"], True),
        ("NotIn", ["billing", "sales"], False),
        ("NotIn", ["billing"], True),
        ("GreaterThan", "sales", True),  # "support" > "sales"
        ("LessThan", "sales", False),
        ("Contains", "port", True),
    ],
)
def test_a_path_that_finds_several_values(operator: str, value: Any, expected: bool) -> None:
    assert holds("$.data.queue_ids[*]", operator, value) is expected


def test_a_filter_expression_path_finds_the_matching_items() -> None:
    assert holds("$.data.segments[?(@.impact == 'Negative')].impact", "Equal", "Negative")
    assert not holds("$.data.segments[?(@.impact == 'Positive')].impact", "Exists", True)


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("Equal", "x", False),
        ("Equal", None, False),  # nothing found is not a null found
        ("In", ["x"], False),
        ("GreaterThan", 0, False),
        ("LessThan", 0, False),
        ("Contains", "x", False),
        ("NotEqual", "x", True),
        ("NotIn", ["x"], True),
        ("Exists", False, True),
        ("Exists", True, False),
    ],
)
def test_a_path_that_finds_nothing(operator: str, value: Any, expected: bool) -> None:
    assert holds("$.data.missing.deeper", operator, value) is expected


@pytest.mark.parametrize(
    ("path", "operator", "value"),
    [
        ("$.data.agent_id", "GreaterThan", 3),  # text against a number
        ("$.data.duration_seconds", "GreaterThan", "3"),  # a number against text
        ("$.data.severe", "GreaterThanOrEqual", 0),  # a boolean against a number
        ("$.data.queue_ids", "LessThan", "z"),  # a list against text
        ("$.data.current", "LessThanOrEqual", 1),  # an object against a number
        ("$.data.current", "Equal", "OutOfAdherence"),
    ],
)
def test_values_of_another_kind_never_match(path: str, operator: str, value: Any) -> None:
    assert holds(path, operator, value) is False


def test_all_conditions_must_hold_and_none_is_everything() -> None:
    both = [
        {"path": "$.data.agent_id", "operator": "Equal", "value": "lee"},
        {"path": "$.data.duration_seconds", "operator": "GreaterThan", "value": 60},
    ]
    assert parse_criteria(both, "filter").matches(MESSAGE)
    both[1]["value"] = 600
    assert not parse_criteria(both, "filter").matches(MESSAGE)
    assert parse_criteria(None, "filter") is MATCH_ALL
    assert MATCH_ALL.matches(MESSAGE)
    assert parse_criteria([], "filter").matches({})


def test_criteria_come_back_as_the_json_they_were_given() -> None:
    raw = [
        {"path": "$.data.queue_ids[*]", "operator": "In", "value": ["a", "b"]},
        {"path": "$.data.x", "operator": "Exists", "value": False},
    ]
    assert parse_criteria(raw, "filter").as_json() == raw
    assert parse_criteria([{"path": "$.a", "operator": "Exists"}], "f").as_json() == [
        {"path": "$.a", "operator": "Exists", "value": True}
    ]


def test_every_operator_is_covered() -> None:
    assert {item.value for item in Operator} == {
        "Equal",
        "NotEqual",
        "In",
        "NotIn",
        "GreaterThan",
        "GreaterThanOrEqual",
        "LessThan",
        "LessThanOrEqual",
        "Exists",
        "Contains",
    }


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"path": "$.a"}, "filter", "list of conditions"),
        ("Equal", "filter", "list of conditions"),
        (["$.a"], "filter[0]", "object"),
        ([{"path": "$.a", "operator": "Equal", "value": 1, "extra": 2}], "filter[0].extra", ""),
        ([{"operator": "Equal", "value": 1}], "filter[0].path", "JSONPath"),
        ([{"path": "data.agent_id", "operator": "Equal", "value": 1}], "filter[0].path", "$"),
        ([{"path": "$.[[", "operator": "Equal", "value": 1}], "filter[0].path", "valid JSONPath"),
        ([{"path": 7, "operator": "Equal", "value": 1}], "filter[0].path", "JSONPath"),
        ([{"path": "$.a", "operator": "Equals", "value": 1}], "filter[0].operator", "NotEqual"),
        ([{"path": "$.a", "value": 1}], "filter[0].operator", "one of"),
        ([{"path": "$.a", "operator": "Equal"}], "filter[0].value", "needs a value"),
        ([{"path": "$.a", "operator": "In", "value": "x"}], "filter[0].value", "list"),
        ([{"path": "$.a", "operator": "NotIn", "value": None}], "filter[0].value", "list"),
        ([{"path": "$.a", "operator": "Exists", "value": "yes"}], "filter[0].value", "true or"),
        ([{"path": "$.a", "operator": "LessThan", "value": [1]}], "filter[0].value", "number"),
        ([{"path": "$.a", "operator": "LessThan", "value": True}], "filter[0].value", "number"),
        (
            [
                {"path": "$.a", "operator": "Exists"},
                {"path": "$.b", "operator": "Contains"},
            ],
            "filter[1].value",
            "needs a value",
        ),
    ],
)
def test_errors_name_the_offending_place(raw: object, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_criteria(raw, "filter")
    assert caught.value.field == field
    assert words in caught.value.message

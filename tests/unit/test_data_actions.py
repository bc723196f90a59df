"""Data action definitions in Genesys Cloud's export format: read, written back, refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from adhere.domain.data_actions import RetryStrategy, parse_action, render_action
from adhere.domain.errors import InvalidInput

# The export shown in ../shared/docs/reference/genesys-cloud.md §4.1.
EXPORTED: dict[str, Any] = {
    "name": "Get RTA for user - Exported 2025-03-03 @ 10:00",
    "integrationType": "purecloud-data-actions",
    "actionType": "custom",
    "config": {
        "request": {
            "requestUrlTemplate": "/api/v2/workforcemanagement/adherence?userId=${input.userId}",
            "requestType": "GET",
            "headers": {},
            "requestTemplate": "${input.rawRequest}",
        },
        "response": {
            "translationMap": {"state": "$[0].adherenceState", "impact": "$[0].impact"},
            "translationMapDefaults": {"impact": '"Unknown"'},
            "successTemplate": '{"state": ${state}, "impact": ${impact}}',
        },
    },
    "contract": {
        "input": {
            "inputSchema": {
                "type": "object",
                "required": ["userId"],
                "properties": {"userId": {"type": "string"}},
                "additionalProperties": True,
            }
        },
        "output": {
            "successSchema": {
                "type": "object",
                "properties": {"state": {"type": "string"}, "impact": {"type": "string"}},
                "additionalProperties": True,
            }
        },
    },
    "secure": False,
}


def test_a_genesys_export_is_read_with_adhere_defaults() -> None:
    action = parse_action(EXPORTED)
    assert action.method == "GET"
    assert action.translation_map["state"] == "$[0].adherenceState"
    assert action.translation_map_defaults == {"impact": '"Unknown"'}
    assert action.input_schema["required"] == ["userId"]
    assert action.timeout_seconds == 15
    assert action.retry == RetryStrategy()


def test_an_action_written_out_reads_back_equal() -> None:
    action = parse_action(EXPORTED)
    assert parse_action(render_action(action)) == action
    custom = copy.deepcopy(EXPORTED)
    custom["config"]["timeoutSeconds"] = 7
    custom["config"]["retryStrategy"] = {
        "initial_interval": 0.5,
        "maximum_attempts": 3,
        "non_retryable_status_codes": [503],
    }
    custom["credentialId"] = "cred_1"
    action = parse_action(custom)
    assert parse_action(render_action(action)) == action
    assert action.retry.maximum_attempts == 3


def broken(path: str, value: object) -> dict[str, Any]:
    document = copy.deepcopy(EXPORTED)
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        ("config.request.requestType", KeyError, "config.request.requestType", "non-empty string"),
        ("config.request.requestType", "FETCH", "config.request.requestType", "one of GET"),
        ("config.request.headers", {"X-A": 1}, "config.request.headers.X-A", "string"),
        ("config.timeoutSeconds", 61, "config.timeoutSeconds", "1 to 60"),
        ("config.timeoutSeconds", 1.5, "config.timeoutSeconds", "whole number"),
        (
            "contract.input.inputSchema",
            {"type": "objekt"},
            "contract.input.inputSchema.type",
            "not a valid JSON Schema",
        ),
        ("contract.output", KeyError, "contract.output", "object"),
        (
            "config.retryStrategy",
            {"maximum_attempts": 0},
            "config.retryStrategy.maximum_attempts",
            "1 to 100",
        ),
        (
            "config.retryStrategy",
            {"backoff_coefficient": 0.5},
            "config.retryStrategy.backoff_coefficient",
            "at least 1",
        ),
        ("config.retryStrategy", {"jitter": 1}, "config.retryStrategy", "unknown field 'jitter'"),
        ("config.retryStrategy", "linear", "config.retryStrategy", "object"),
        ("name", "  ", "name", "non-empty"),
    ],
)
def test_a_wrong_field_is_named(path: str, value: object, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_action(broken(path, value))
    assert raised.value.field == field
    assert words in raised.value.message


def test_what_is_retried() -> None:
    policy = RetryStrategy(non_retryable_status_codes=frozenset({503}))
    assert [policy.retryable(s) for s in (None, 500, 502, 503, 408, 425, 429, 400, 401, 404)] == [
        True,
        True,
        True,
        False,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_waits_grow_by_the_coefficient_up_to_the_maximum() -> None:
    policy = RetryStrategy(initial_interval=1, backoff_coefficient=2, maximum_interval=5)
    assert [policy.cap(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]

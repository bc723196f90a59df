"""Workflow rule definitions: what is accepted, what each wrong field is called, what fires."""

from __future__ import annotations

from typing import Any

import pytest

from adhere.domain.errors import InvalidInput
from adhere.domain.rules import (
    Decision,
    RunDataAction,
    SendToWebhook,
    decide,
    parse_rule,
    rule_json,
)

_LOGIN_RULE: dict[str, Any] = {
    "name": "Put on-queue agents On Queue at login",
    "topic": "agent.login",
    "criteria": [
        {"path": "$.data.scheduled_category", "operator": "Equal", "value": "OnQueueWork"}
    ],
    "actions": [
        {
            "type": "data_action",
            "action_id": "act_presence",
            "input": {"userId": "$.data.agent_id", "presence": {"value": "On Queue"}},
        },
        {"type": "webhook", "endpoint_id": "ep_1"},
    ],
}


def _message(topic: str = "agent.login", **data: Any) -> dict[str, Any]:
    return {"type": topic, "timestamp": "2026-11-25T09:00:00Z", "data": data}


def test_a_rule_round_trips_through_its_json() -> None:
    spec = parse_rule(_LOGIN_RULE)
    assert spec.for_seconds is None
    assert spec.enabled
    assert rule_json(spec) == {
        **_LOGIN_RULE,
        "for_seconds": None,
        "subject_path": "$.data.agent_id",
        "enabled": True,
    }
    assert parse_rule(rule_json(spec)) == spec


def test_the_action_input_is_built_from_the_message() -> None:
    action = parse_rule(_LOGIN_RULE).actions[0]
    assert isinstance(action, RunDataAction)
    message = _message(agent_id="a-7", scheduled_category="OnQueueWork")
    assert action.input_for(message) == {"userId": "a-7", "presence": "On Queue"}
    with pytest.raises(InvalidInput) as missing:
        action.input_for(_message(scheduled_category="OnQueueWork"))
    assert missing.value.field == "input.userId"
    assert isinstance(parse_rule(_LOGIN_RULE).actions[1], SendToWebhook)


def test_without_for_seconds_a_match_fires_and_a_miss_is_ignored() -> None:
    spec = parse_rule(_LOGIN_RULE)
    assert decide(spec, _message(scheduled_category="OnQueueWork")) is Decision.FIRE
    assert decide(spec, _message(scheduled_category="Break")) is Decision.IGNORE
    other_topic = _message("agent.logout", scheduled_category="OnQueueWork")
    assert decide(spec, other_topic) is Decision.IGNORE


def test_with_for_seconds_a_match_arms_and_a_miss_disarms() -> None:
    spec = parse_rule(
        {
            "name": "Out of adherence for 10 minutes",
            "topic": "adherence.changed",
            "criteria": [
                {
                    "path": "$.data.current.adherence_state",
                    "operator": "Equal",
                    "value": "OutOfAdherence",
                }
            ],
            "for_seconds": 600,
            "actions": [{"type": "webhook", "endpoint_id": "ep_1"}],
        }
    )
    out = _message(
        "adherence.changed", agent_id="a-1", current={"adherence_state": "OutOfAdherence"}
    )
    back = _message("adherence.changed", agent_id="a-1", current={"adherence_state": "InAdherence"})
    assert decide(spec, out) is Decision.ARM
    assert decide(spec, back) is Decision.DISARM
    assert spec.subject(out) == "a-1"
    assert spec.for_micros == 600_000_000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": " "}, "name"),
        ({"topic": "agent.sneezed"}, "topic"),
        ({"for_seconds": 0}, "for_seconds"),
        ({"for_seconds": True}, "for_seconds"),
        ({"subject_path": "data.agent_id"}, "subject_path"),
        ({"enabled": "yes"}, "enabled"),
        ({"actions": []}, "actions"),
        ({"actions": [{"type": "email"}]}, "actions[0].type"),
        ({"actions": [{"type": "webhook"}]}, "actions[0].endpoint_id"),
        ({"actions": [{"type": "webhook", "endpoint_id": "e", "url": "x"}]}, "actions[0].url"),
        (
            {"actions": [{"type": "data_action", "action_id": "a", "input": {"x": "agent"}}]},
            "actions[0].input.x",
        ),
        (
            {"actions": [{"type": "data_action", "action_id": "a", "input": {"x": "$[["}}]},
            "actions[0].input.x",
        ),
        (
            {"criteria": [{"path": "$.data", "operator": "Like", "value": 1}]},
            "criteria[0].operator",
        ),
        ({"colour": "red"}, "colour"),
    ],
)
def test_every_wrong_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_rule({**_LOGIN_RULE, **change})
    assert refused.value.field == field

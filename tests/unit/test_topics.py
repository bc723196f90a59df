"""Every topic's messages, as the service builds them, against the JSON schema of its `data`
that `GET /api/v1/topics` serves."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from adhere.domain import topics
from adhere.domain.adherence import UNSCHEDULED_OFFLINE, Adherence
from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import AdherenceState, Category, Impact, Presence, Routing
from adhere.domain.instants import MICROS_PER_MINUTE, parse_instant
from adhere.domain.organisation import Agent
from adhere.domain.webhooks import Endpoint
from adhere.service.webhooks import endpoint_disabled_message

T = parse_instant("2026-06-01T09:00:00Z")
LEE = Agent("lee", "Lee", "mu", "blue")
OUT = Adherence(
    Category.ON_QUEUE_WORK, "oq", Category.OFFLINE, AdherenceState.OUT_OF_ADHERENCE, Impact.NEGATIVE
)
ON_QUEUE = topics.Scheduled("mu", None, Category.ON_QUEUE_WORK, "oq")


def examples() -> list[dict[str, Any]]:
    event = AgentEvent(
        "e1", "lee", T, EventKind.STATE, Presence.ON_QUEUE, None, Routing.IDLE, ("sales",)
    )
    found = [
        topics.event_message(event, topic, T, ON_QUEUE) for topic in topics.event_topics(event)
    ]
    login = AgentEvent("e2", "lee", T, EventKind.LOGIN)
    found.append(topics.event_message(login, "agent.login", T, ON_QUEUE))
    logout = AgentEvent("e3", "lee", T, EventKind.LOGOUT)
    unscheduled = topics.Scheduled("mu", "blue", Category.UNSCHEDULED, None)
    found.append(topics.event_message(logout, "agent.logout", T, unscheduled))
    found += [
        topics.queue_member_status(LEE, "e1", T, ["a"], ["b"], recovered=False, timestamp=T),
        topics.queue_member_status(LEE, None, T, [], ["b"], recovered=True, timestamp=T),
        topics.adherence_changed(
            LEE, T, None, UNSCHEDULED_OFFLINE, OUT, correction=False, recovered=False, timestamp=T
        ),
        topics.adherence_changed(
            LEE, T, T + 1, OUT, UNSCHEDULED_OFFLINE, correction=True, recovered=True, timestamp=T
        ),
        topics.exception_started(LEE, T, Impact.NEGATIVE, 60_000_000, recovered=False, timestamp=T),
        topics.exception_severe(
            LEE, T, Impact.POSITIVE, 5 * MICROS_PER_MINUTE, recovered=True, timestamp=T
        ),
        topics.exception_ended(
            LEE,
            T,
            T + 90_500_000,
            Impact.NEUTRAL,
            severe=False,
            correction=False,
            recovered=False,
            timestamp=T,
        ),
        topics.shift_start_missed(
            LEE,
            T,
            5 * MICROS_PER_MINUTE,
            (Category.ON_QUEUE_WORK, "oq"),
            recovered=False,
            timestamp=T,
        ),
        topics.schedule_changed(LEE, T, T + MICROS_PER_MINUTE, 3, T),
    ]
    endpoint = Endpoint(
        "ep_1", "https://example.com/x", ("agent.login",), None, False, "gone", None, T, T
    )
    found.append(endpoint_disabled_message(endpoint, "gone", T))
    return found


@pytest.mark.parametrize("message", examples(), ids=lambda m: str(m["type"]))
def test_each_message_validates_against_its_topic(message: dict[str, Any]) -> None:
    assert set(message) == {"type", "timestamp", "data"}
    assert message["timestamp"] == "2026-06-01T09:00:00Z"
    jsonschema.validate(message["data"], topics.TOPICS[message["type"]].data_schema)


def test_every_topic_has_an_example_and_a_valid_schema() -> None:
    assert {message["type"] for message in examples()} == set(topics.TOPICS)
    for topic in topics.TOPICS.values():
        jsonschema.Draft202012Validator.check_schema(topic.data_schema)
    assert set(topics.TOPICS) >= topics.ENGINE_TOPICS


def test_a_message_with_a_field_out_of_place_is_refused_by_its_schema() -> None:
    message = topics.exception_ended(
        LEE, T, T, Impact.NEGATIVE, severe=True, correction=False, recovered=False, timestamp=T
    )
    schema = topics.TOPICS["adherence.exception.ended"].data_schema
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**message["data"], "impact": "Terrible"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**message["data"], "surprise": 1}, schema)
    data = dict(message["data"])
    del data["duration_seconds"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_queue_membership_lists_what_was_joined_and_left() -> None:
    message = topics.queue_member_status(
        LEE, "e", T, ["a", "b"], ["b", "c"], recovered=False, timestamp=T
    )
    assert (message["data"]["joined"], message["data"]["left"]) == (["c"], ["a"])

"""The topics Adhere publishes to webhooks and rules, each with the JSON schema of its `data`.

A message is ``{"type": topic, "timestamp": RFC 3339, "data": {...}}``, the Standard Webhooks
payload shape. Only topics the service emits are listed; `GET /api/v1/topics` serves this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.instants import Instant, format_instant


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    description: str
    data_schema: dict[str, Any]


_INSTANT = {"type": "string", "format": "date-time"}
_OPTIONAL_TEXT = {"type": ["string", "null"]}
_EVENT_DATA = {
    "type": "object",
    "required": ["agent_id", "event_id", "time", "kind"],
    "properties": {
        "agent_id": {"type": "string"},
        "event_id": {"type": "string"},
        "time": _INSTANT,
        "kind": {"enum": [kind.value for kind in EventKind]},
        "system_presence": _OPTIONAL_TEXT,
        "secondary_presence_id": _OPTIONAL_TEXT,
        "routing_status": _OPTIONAL_TEXT,
        "queue_ids": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}

TOPICS: dict[str, Topic] = {
    topic.name: topic
    for topic in (
        Topic("agent.login", "An agent logged in (an accepted login event).", _EVENT_DATA),
        Topic("agent.logout", "An agent logged out (an accepted logout event).", _EVENT_DATA),
        Topic(
            "agent.presence.changed",
            "An accepted presence event: the agent's system presence (and secondary presence).",
            _EVENT_DATA,
        ),
        Topic(
            "agent.routing_status.changed",
            "An accepted routing status event.",
            _EVENT_DATA,
        ),
        Topic(
            "webhook.endpoint.disabled",
            "Adhere disabled a webhook endpoint: it answered 410 Gone, or kept failing for "
            "`webhook_disable_after_days`.",
            {
                "type": "object",
                "required": ["endpoint_id", "url", "reason"],
                "properties": {
                    "endpoint_id": {"type": "string"},
                    "url": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        ),
    )
}

_EVENT_TOPICS = {
    EventKind.LOGIN: ("agent.login",),
    EventKind.LOGOUT: ("agent.logout",),
    EventKind.PRESENCE: ("agent.presence.changed",),
    EventKind.ROUTING_STATUS: ("agent.routing_status.changed",),
    EventKind.UNKNOWN: (),
}


def event_topics(event: AgentEvent) -> tuple[str, ...]:
    """The topics an accepted event is published on: a `state` event on each it sets."""
    found = _EVENT_TOPICS.get(event.kind)
    if found is not None:
        return found
    return tuple(
        topic
        for topic, value in (
            ("agent.presence.changed", event.system_presence),
            ("agent.routing_status.changed", event.routing_status),
        )
        if value is not None
    )


def event_message(event: AgentEvent, topic: str, timestamp: Instant) -> dict[str, Any]:
    """The message for an accepted event; `timestamp` is when Adhere accepted it."""
    return {
        "type": topic,
        "timestamp": format_instant(timestamp),
        "data": {
            "agent_id": event.agent_id,
            "event_id": event.id,
            "time": format_instant(event.time),
            "kind": event.kind.value,
            "system_presence": None
            if event.system_presence is None
            else event.system_presence.value,
            "secondary_presence_id": event.secondary_presence_id,
            "routing_status": None if event.routing_status is None else event.routing_status.value,
            "queue_ids": None if event.queue_ids is None else list(event.queue_ids),
        },
    }

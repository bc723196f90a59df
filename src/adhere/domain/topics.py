"""The topics Adhere publishes to webhooks and rules, each with the JSON schema of its `data`.

A message is ``{"type": topic, "timestamp": RFC 3339, "data": {...}}``, the Standard Webhooks
payload shape; `timestamp` is when Adhere published it. Only topics the service emits are
listed; `GET /api/v1/topics` serves this list. Messages are built here, from domain values, so
that what is sent is exactly what the schemas say (tests validate every topic's messages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adhere.domain.adherence import Adherence
from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import AdherenceState, Category, Impact
from adhere.domain.instants import MICROS_PER_SECOND, Instant, format_instant, seconds
from adhere.domain.organisation import Agent


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    description: str
    data_schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Scheduled:
    """What an agent was scheduled for at an instant, and where the agent belongs."""

    management_unit_id: str
    team_id: str | None
    category: Category
    activity_code_id: str | None


_INSTANT = {"type": "string", "format": "date-time"}
_OPTIONAL_INSTANT = {"type": ["string", "null"], "format": "date-time"}
_OPTIONAL_TEXT = {"type": ["string", "null"]}
_CATEGORY = {"enum": [category.value for category in Category]}
_IMPACT = {"enum": [impact.value for impact in Impact]}
_RECOVERED = {
    "type": "boolean",
    "description": "true when published on start or after a rebuild of the live state, for a "
    "change that happened while no announcement could be made (a crash, a write by the CLI)",
}
_AGENT = {
    "agent_id": {"type": "string"},
    "management_unit_id": {"type": "string"},
    "team_id": _OPTIONAL_TEXT,
}
_AGENT_REQUIRED = ["agent_id", "management_unit_id", "team_id"]
_ADHERENCE = {
    "type": "object",
    "required": [
        "scheduled_category",
        "scheduled_activity_code_id",
        "actual_category",
        "adherence_state",
        "impact",
    ],
    "additionalProperties": False,
    "properties": {
        "scheduled_category": _CATEGORY,
        "scheduled_activity_code_id": _OPTIONAL_TEXT,
        "actual_category": _CATEGORY,
        "adherence_state": {"enum": [state.value for state in AdherenceState]},
        "impact": _IMPACT,
    },
}


def _object(required: Sequence[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [*_AGENT_REQUIRED, *required],
        "additionalProperties": False,
        "properties": {**_AGENT, **properties},
    }


_EVENT_DATA = _object(
    ["event_id", "time", "kind", "scheduled_category", "scheduled_activity_code_id"],
    {
        "event_id": {"type": "string"},
        "time": _INSTANT,
        "kind": {"enum": [kind.value for kind in EventKind]},
        "system_presence": _OPTIONAL_TEXT,
        "secondary_presence_id": _OPTIONAL_TEXT,
        "routing_status": _OPTIONAL_TEXT,
        "queue_ids": {"type": ["array", "null"], "items": {"type": "string"}},
        "scheduled_category": {
            **_CATEGORY,
            "description": "What the agent was scheduled for at `time` (Unscheduled: nothing)",
        },
        "scheduled_activity_code_id": _OPTIONAL_TEXT,
    },
)
_EXCEPTION_RUN = {
    "start": {**_INSTANT, "description": "When the out-of-adherence run began"},
    "impact": {
        **_IMPACT,
        "description": "Negative if any second of the run so far is, else Positive if any "
        "is, else Neutral (docs/adherence.md §5)",
    },
    "recovered": _RECOVERED,
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
            "routing.queue.member.status",
            "An accepted event changed the agent's queue membership (the `queue_ids` of its "
            "latest event that carries them): the queues now, those joined and those left.",
            _object(
                ["event_id", "time", "queue_ids", "joined", "left", "recovered"],
                {
                    "event_id": {**_OPTIONAL_TEXT, "description": "null when recovered"},
                    "time": {**_INSTANT, "description": "The event's time"},
                    "queue_ids": {"type": "array", "items": {"type": "string"}},
                    "joined": {"type": "array", "items": {"type": "string"}},
                    "left": {"type": "array", "items": {"type": "string"}},
                    "recovered": _RECOVERED,
                },
            ),
        ),
        Topic(
            "adherence.changed",
            "The agent's adherence changed: live from `at` on (`until` null), or, when "
            "`correction` is true, a late event, schedule edit, explanation or settings change "
            "revised what was reported over [`at`, `until`).",
            _object(
                ["at", "until", "previous", "current", "correction", "recovered"],
                {
                    "at": _INSTANT,
                    "until": _OPTIONAL_INSTANT,
                    "previous": _ADHERENCE,
                    "current": _ADHERENCE,
                    "correction": {"type": "boolean"},
                    "recovered": _RECOVERED,
                },
            ),
        ),
        Topic(
            "adherence.exception.started",
            "An out-of-adherence run has lasted the management unit's "
            "`adherence_exception_threshold_seconds`: it is an exception.",
            _object(
                ["start", "impact", "threshold_seconds", "recovered"],
                {**_EXCEPTION_RUN, "threshold_seconds": {"type": "number"}},
            ),
        ),
        Topic(
            "adherence.exception.severe",
            "An exception has lasted the management unit's `severe_alert_threshold_minutes`.",
            _object(
                ["start", "impact", "threshold_minutes", "recovered"],
                {**_EXCEPTION_RUN, "threshold_minutes": {"type": "number"}},
            ),
        ),
        Topic(
            "adherence.exception.ended",
            "An out-of-adherence run that was an exception ended (the agent is no longer out of "
            "adherence, or a correction shortened the run).",
            _object(
                ["start", "end", "duration_seconds", "impact", "severe", "correction", "recovered"],
                {
                    **_EXCEPTION_RUN,
                    "impact": {**_IMPACT, "description": "Over the whole run (§5)"},
                    "end": _INSTANT,
                    "duration_seconds": {"type": "number"},
                    "severe": {"type": "boolean"},
                    "correction": {
                        "type": "boolean",
                        "description": "A late event, schedule edit or explanation ended it",
                    },
                },
            ),
        ),
        Topic(
            "shift.start.missed",
            "The agent's scheduled working time began `after_minutes` ago (setting "
            "`shift_start_missed_after_minutes`) and the agent is still Offline; once per "
            "shift start.",
            _object(
                [
                    "shift_start",
                    "after_minutes",
                    "scheduled_category",
                    "scheduled_activity_code_id",
                    "recovered",
                ],
                {
                    "shift_start": _INSTANT,
                    "after_minutes": {"type": "number"},
                    "scheduled_category": {
                        **_CATEGORY,
                        "description": "What the agent is scheduled for now",
                    },
                    "scheduled_activity_code_id": _OPTIONAL_TEXT,
                    "recovered": _RECOVERED,
                },
            ),
        ),
        Topic(
            "schedule.changed",
            "An agent's activities inside [`start`, `end`) were replaced (published in the "
            "transaction that stored them).",
            _object(
                ["start", "end", "activity_count"],
                {
                    "start": _INSTANT,
                    "end": _INSTANT,
                    "activity_count": {"type": "integer", "minimum": 0},
                },
            ),
        ),
        Topic(
            "webhook.endpoint.disabled",
            "Adhere disabled a webhook endpoint: it answered 410 Gone, or kept failing for "
            "`webhook_disable_after_days`.",
            {
                "type": "object",
                "required": ["endpoint_id", "url", "reason"],
                "additionalProperties": False,
                "properties": {
                    "endpoint_id": {"type": "string"},
                    "url": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        ),
    )
}

ENGINE_TOPICS = frozenset(
    {
        "adherence.changed",
        "adherence.exception.started",
        "adherence.exception.severe",
        "adherence.exception.ended",
        "shift.start.missed",
        "routing.queue.member.status",
    }
)
"""Topics known only once the live engine has applied a committed write: the announcer's."""

_EVENT_TOPICS = {
    EventKind.LOGIN: ("agent.login",),
    EventKind.LOGOUT: ("agent.logout",),
    EventKind.PRESENCE: ("agent.presence.changed",),
    EventKind.ROUTING_STATUS: ("agent.routing_status.changed",),
    EventKind.UNKNOWN: (),
}


EVENT_TOPICS = frozenset(topic for topics in _EVENT_TOPICS.values() for topic in topics)
"""Topics published for accepted events, which the stored events can rebuild at any time."""


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


def message(topic: str, timestamp: Instant, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": topic, "timestamp": format_instant(timestamp), "data": data}


def event_message(
    event: AgentEvent, topic: str, timestamp: Instant, scheduled: Scheduled
) -> dict[str, Any]:
    """The message for an accepted event; `timestamp` is when Adhere accepted it."""
    return message(
        topic,
        timestamp,
        {
            "agent_id": event.agent_id,
            "management_unit_id": scheduled.management_unit_id,
            "team_id": scheduled.team_id,
            "event_id": event.id,
            "time": format_instant(event.time),
            "kind": event.kind.value,
            "system_presence": None
            if event.system_presence is None
            else event.system_presence.value,
            "secondary_presence_id": event.secondary_presence_id,
            "routing_status": None if event.routing_status is None else event.routing_status.value,
            "queue_ids": None if event.queue_ids is None else list(event.queue_ids),
            "scheduled_category": scheduled.category.value,
            "scheduled_activity_code_id": scheduled.activity_code_id,
        },
    )


def agent_data(agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent.id,
        "management_unit_id": agent.management_unit_id,
        "team_id": agent.team_id,
    }


def adherence_data(adherence: Adherence) -> dict[str, Any]:
    return {
        "scheduled_category": adherence.scheduled_category.value,
        "scheduled_activity_code_id": adherence.scheduled_activity_code_id,
        "actual_category": adherence.actual_category.value,
        "adherence_state": adherence.adherence_state.value,
        "impact": adherence.impact.value,
    }


def adherence_changed(
    agent: Agent,
    at: Instant,
    until: Instant | None,
    previous: Adherence,
    current: Adherence,
    *,
    correction: bool,
    recovered: bool,
    timestamp: Instant,
) -> dict[str, Any]:
    return message(
        "adherence.changed",
        timestamp,
        {
            **agent_data(agent),
            "at": format_instant(at),
            "until": None if until is None else format_instant(until),
            "previous": adherence_data(previous),
            "current": adherence_data(current),
            "correction": correction,
            "recovered": recovered,
        },
    )


def exception_started(
    agent: Agent,
    start: Instant,
    impact: Impact,
    threshold_micros: int,
    *,
    recovered: bool,
    timestamp: Instant,
) -> dict[str, Any]:
    return message(
        "adherence.exception.started",
        timestamp,
        {
            **agent_data(agent),
            "start": format_instant(start),
            "impact": impact.value,
            "threshold_seconds": seconds(threshold_micros),
            "recovered": recovered,
        },
    )


def exception_severe(
    agent: Agent,
    start: Instant,
    impact: Impact,
    threshold_micros: int,
    *,
    recovered: bool,
    timestamp: Instant,
) -> dict[str, Any]:
    return message(
        "adherence.exception.severe",
        timestamp,
        {
            **agent_data(agent),
            "start": format_instant(start),
            "impact": impact.value,
            "threshold_minutes": threshold_micros / (60 * MICROS_PER_SECOND),
            "recovered": recovered,
        },
    )


def exception_ended(
    agent: Agent,
    start: Instant,
    end: Instant,
    impact: Impact,
    *,
    severe: bool,
    correction: bool,
    recovered: bool,
    timestamp: Instant,
) -> dict[str, Any]:
    return message(
        "adherence.exception.ended",
        timestamp,
        {
            **agent_data(agent),
            "start": format_instant(start),
            "end": format_instant(end),
            "duration_seconds": seconds(end - start),
            "impact": impact.value,
            "severe": severe,
            "correction": correction,
            "recovered": recovered,
        },
    )


def shift_start_missed(
    agent: Agent,
    shift_start: Instant,
    after_micros: int,
    scheduled: tuple[Category, str | None],
    *,
    recovered: bool,
    timestamp: Instant,
) -> dict[str, Any]:
    return message(
        "shift.start.missed",
        timestamp,
        {
            **agent_data(agent),
            "shift_start": format_instant(shift_start),
            "after_minutes": after_micros / (60 * MICROS_PER_SECOND),
            "scheduled_category": scheduled[0].value,
            "scheduled_activity_code_id": scheduled[1],
            "recovered": recovered,
        },
    )


def queue_member_status(
    agent: Agent,
    event_id: str | None,
    time: Instant,
    before: Sequence[str],
    after: Sequence[str],
    *,
    recovered: bool,
    timestamp: Instant,
) -> dict[str, Any]:
    return message(
        "routing.queue.member.status",
        timestamp,
        {
            **agent_data(agent),
            "event_id": event_id,
            "time": format_instant(time),
            "queue_ids": list(after),
            "joined": [queue for queue in after if queue not in before],
            "left": [queue for queue in before if queue not in after],
            "recovered": recovered,
        },
    )


def schedule_changed(
    agent: Agent, start: Instant, end: Instant, activity_count: int, timestamp: Instant
) -> dict[str, Any]:
    return message(
        "schedule.changed",
        timestamp,
        {
            **agent_data(agent),
            "start": format_instant(start),
            "end": format_instant(end),
            "activity_count": activity_count,
        },
    )

"""One agent's live adherence as the API shows it: the realtime routes and the live stream."""

from __future__ import annotations

from typing import Any

from adhere.domain.instants import MICROS_PER_SECOND, Instant, format_instant
from adhere.service.live import LiveRow


def render_row(row: LiveRow, horizon: Instant | None, now: Instant) -> dict[str, Any]:
    adherence, state, agent = row.adherence, row.state, row.agent
    at = max(now, horizon or now)
    out_since = row.out_of_adherence_since
    return {
        "agent_id": agent.id,
        "agent_name": agent.name,
        "management_unit_id": agent.management_unit_id,
        "team_id": agent.team_id,
        "scheduled_category": adherence.scheduled_category.value,
        "scheduled_activity_code_id": adherence.scheduled_activity_code_id,
        "actual_category": adherence.actual_category.value,
        "system_presence": state.presence.value,
        "secondary_presence_id": state.secondary_presence_id,
        "routing_status": state.routing.value,
        "adherence_state": adherence.adherence_state.value,
        "impact": adherence.impact.value,
        "since": None if row.since is None else format_instant(row.since),
        "out_of_adherence_since": None if out_since is None else format_instant(out_since),
        "out_of_adherence_seconds": 0
        if out_since is None
        else (at - out_since) / MICROS_PER_SECOND,
        "at": format_instant(horizon if horizon is not None else now),
    }

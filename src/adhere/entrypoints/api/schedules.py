"""Routes: read and replace agents' schedules, one agent or in bulk (JSON or CSV)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from adhere.adapters.scenario_format import render_activity
from adhere.adapters.schedule_files import (
    parse_csv_schedules,
    parse_json_schedules,
    parse_replacement,
)
from adhere.entrypoints.api import models
from adhere.entrypoints.api.deps import body, context, dumped, instant, json_body
from adhere.entrypoints.api.problems import Problem, invalid
from adhere.entrypoints.api.security import (
    Principal,
    forbid_role,
    require_everyone,
    require_sees,
    require_sees_id,
    requires,
)
from adhere.service import organisation
from adhere.service.context import ServiceContext
from adhere.service.schedules import replace_schedules

router = APIRouter(prefix="/api/v1", tags=["schedules"])


def _id() -> Any:
    return Path(min_length=1, max_length=128, pattern=r"^[^/\s]+$")


_MAX_IMPORT_BYTES = 64 * 1024 * 1024


@router.get("/agents/{agent_id}/schedule", response_model=models.Schedule)
def get_schedule(
    agent_id: str = _id(),
    start: str | None = Query(default=None, description="Only activities ending after this."),
    end: str | None = Query(default=None, description="Only activities starting before this."),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires("schedule:agent:read"),
) -> dict[str, Any]:
    low = None if start is None else instant(start, "start")
    high = None if end is None else instant(end, "end")
    with ctx.store.reading() as tx:
        require_sees(principal, organisation.require_agent(tx, agent_id))
        activities = tx.activities(agent_id, low, high)
    return {"agent_id": agent_id, "activities": [render_activity(a) for a in activities]}


@router.put("/agents/{agent_id}/schedule", response_model=models.Schedule)
def put_schedule(
    body: models.ScheduleIn,
    agent_id: str = _id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires("schedule:agent:write"),
) -> dict[str, Any]:
    """Replace the agent's activities inside ``[start, end)``: overlaps are rejected, naming
    both activities; activities straddling the range's edges are cut at the edge."""
    forbid_role(principal, "agent", "change schedules")  # their write scope is for explanations
    require_sees_id(principal, ctx, agent_id)
    replacement = parse_replacement(dumped(body), agent_id)
    replace_schedules(ctx, [replacement])
    with ctx.store.reading() as tx:
        activities = tx.activities(agent_id, replacement.start, replacement.end)
    return {"agent_id": agent_id, "activities": [render_activity(a) for a in activities]}


@router.post(
    "/schedules/import",
    response_model=models.ScheduleImportResult,
    responses={
        413: {"description": "The file is too large"},
        415: {"description": "Neither JSON nor CSV"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ScheduleImportIn"}},
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": "agent_id,start,end,activity_code_id (or length_minutes)",
                    }
                },
            },
        }
    },
)
async def import_schedules(
    request: Request,
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires("schedule:agent:write"),
) -> dict[str, Any]:
    """Replace many schedules at once, all or nothing (for callers who see every agent)."""
    require_everyone(principal)
    content = await body(request, _MAX_IMPORT_BYTES)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "text/csv":
        replacements = parse_csv_schedules(_text(content))
    elif media in {"application/json", ""}:
        replacements = parse_json_schedules(json_body(content))
    else:
        raise Problem(415, "request.media_type", "send application/json or text/csv")
    activities = await run_in_threadpool(replace_schedules, ctx, replacements)
    return {"schedules": len(replacements), "activities": activities}


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("body", "is not UTF-8 text", 400) from None

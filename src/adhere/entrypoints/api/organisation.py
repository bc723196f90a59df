"""Routes: management units (with settings), activity codes, teams and agents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Response

from adhere.adapters.scenario_format import (
    parse_activity_code,
    parse_agent,
    parse_management_unit,
    render_activity_code,
    render_agent_record,
    render_management_unit,
)
from adhere.domain.organisation import Team
from adhere.entrypoints.api import models
from adhere.entrypoints.api.deps import context, dumped
from adhere.entrypoints.api.security import Principal, require_everyone, require_sees, requires
from adhere.service import organisation
from adhere.service.context import ServiceContext
from adhere.service.organisation import NotFound

router = APIRouter(prefix="/api/v1", tags=["organisation"])


def _id() -> Any:
    return Path(min_length=1, max_length=128, pattern=r"^[^/\s]+$")


_READ = "schedule:agent:read"
_WRITE = "schedule:agent:write"


def _status(response: Response, created: bool) -> None:
    response.status_code = 201 if created else 200


@router.get("/management-units", response_model=models.Items)
def list_management_units(
    ctx: ServiceContext = Depends(context), _: Principal = requires(_READ)
) -> dict[str, Any]:
    with ctx.store.reading() as tx:
        return {"items": [render_management_unit(u) for u in tx.management_units()]}


@router.get("/management-units/{unit_id}", response_model=models.ManagementUnit)
def get_management_unit(
    unit_id: str = _id(), ctx: ServiceContext = Depends(context), _: Principal = requires(_READ)
) -> dict[str, Any]:
    with ctx.store.reading() as tx:
        return render_management_unit(organisation.require_unit(tx, unit_id))


@router.put(
    "/management-units/{unit_id}",
    response_model=models.ManagementUnit,
    responses={201: {"model": models.ManagementUnit, "description": "Created"}},
)
def put_management_unit(
    body: models.ManagementUnitIn,
    response: Response,
    unit_id: str = _id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_WRITE),
) -> dict[str, Any]:
    """Create or replace a management unit; new settings re-evaluate its agents' history."""
    require_everyone(principal)
    unit = parse_management_unit({"id": unit_id, **dumped(body)})
    _status(response, organisation.put_management_unit(ctx, unit))
    return render_management_unit(unit)


@router.get("/management-units/{unit_id}/activity-codes", response_model=models.Items)
def list_activity_codes(
    unit_id: str = _id(), ctx: ServiceContext = Depends(context), _: Principal = requires(_READ)
) -> dict[str, Any]:
    with ctx.store.reading() as tx:
        organisation.require_unit(tx, unit_id)
        return {"items": [render_activity_code(c) for c in tx.activity_codes(unit_id)]}


@router.put(
    "/management-units/{unit_id}/activity-codes/{code_id}",
    response_model=models.ActivityCode,
    responses={201: {"model": models.ActivityCode, "description": "Created"}},
)
def put_activity_code(
    body: models.ActivityCodeIn,
    response: Response,
    unit_id: str = _id(),
    code_id: str = _id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_WRITE),
) -> dict[str, Any]:
    """Create or replace an activity code (codes are never deleted: set `active` false)."""
    require_everyone(principal)
    code = parse_activity_code({"id": code_id, **dumped(body)})
    _status(response, organisation.put_activity_code(ctx, unit_id, code))
    return render_activity_code(code)


@router.get("/teams", response_model=models.Items)
def list_teams(
    management_unit_id: str | None = Query(default=None, max_length=128),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_READ),
) -> dict[str, Any]:
    with ctx.store.reading() as tx:
        return {"items": [_team(t) for t in tx.teams(management_unit_id)]}


@router.get("/teams/{team_id}", response_model=models.Team)
def get_team(
    team_id: str = _id(), ctx: ServiceContext = Depends(context), _: Principal = requires(_READ)
) -> dict[str, Any]:
    with ctx.store.reading() as tx:
        team = tx.team(team_id)
    if team is None:
        raise NotFound("team", team_id)
    return _team(team)


@router.put(
    "/teams/{team_id}",
    response_model=models.Team,
    responses={201: {"model": models.Team, "description": "Created"}},
)
def put_team(
    body: models.TeamIn,
    response: Response,
    team_id: str = _id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_WRITE),
) -> dict[str, Any]:
    require_everyone(principal)
    team = Team(team_id, body.name or team_id, body.management_unit_id)
    _status(response, organisation.put_team(ctx, team))
    return _team(team)


@router.get("/agents", response_model=models.Items)
def list_agents(
    management_unit_id: str | None = Query(default=None, max_length=128),
    team_id: str | None = Query(default=None, max_length=128),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_READ),
) -> dict[str, Any]:
    """The agents the caller sees."""
    with ctx.store.reading() as tx:
        found = tx.agents(management_unit_id, team_id)
    return {"items": [render_agent_record(a) for a in found if principal.visibility.sees(a)]}


@router.get("/agents/{agent_id}", response_model=models.Agent)
def get_agent(
    agent_id: str = _id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_READ),
) -> dict[str, Any]:
    with ctx.store.reading() as tx:
        agent = organisation.require_agent(tx, agent_id)
    require_sees(principal, agent)
    return render_agent_record(agent)


@router.put(
    "/agents/{agent_id}",
    response_model=models.Agent,
    responses={201: {"model": models.Agent, "description": "Created"}},
)
def put_agent(
    body: models.AgentIn,
    response: Response,
    agent_id: str = _id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_WRITE),
) -> dict[str, Any]:
    """Create or replace an agent, with its ids on other platforms (``external_ids``)."""
    require_everyone(principal)
    fields = dumped(body)
    agent = parse_agent({"id": agent_id, **fields}, body.management_unit_id)
    _status(response, organisation.put_agent(ctx, agent))
    return render_agent_record(agent)


def _team(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name, "management_unit_id": team.management_unit_id}

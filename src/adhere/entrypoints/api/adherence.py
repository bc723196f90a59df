"""Routes: real-time adherence (from the live engine) and historical adherence."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from adhere.domain.categories import AdherenceState
from adhere.domain.engine import AgentSnapshot
from adhere.entrypoints.api import models
from adhere.entrypoints.api.deps import container, context, instant
from adhere.entrypoints.api.live_rows import render_row
from adhere.entrypoints.api.problems import invalid, not_found
from adhere.entrypoints.api.security import Principal, require_sees, requires, visible_only
from adhere.service.context import ServiceContext
from adhere.service.history import HistoricalQuery, evaluate_history, event_count, snapshots

router = APIRouter(prefix="/api/v1", tags=["adherence"])
_READ = "adherence:read"
MAX_AGENT_IDS = 1000
State = Literal["InAdherence", "OutOfAdherence", "Unscheduled", "Ignored", "Explained", "Unknown"]


@router.get("/adherence/realtime", response_model=models.LiveAdherenceList)
def realtime(
    agent_id: list[str] | None = Query(
        default=None, max_length=MAX_AGENT_IDS, description="Up to 1,000 agent ids."
    ),
    management_unit_id: str | None = Query(default=None, max_length=128),
    team_id: str | None = Query(default=None, max_length=128),
    state: list[State] | None = Query(default=None, description="Only agents in these states."),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_READ),
) -> dict[str, Any]:
    """Each agent's adherence now: scheduled and actual activity, presence, routing status,
    state, impact, since when, and how long the current out-of-adherence run has lasted.
    Select with exactly one of `agent_id` (repeatable), `management_unit_id`, `team_id`."""
    selectors = [
        name
        for name, value in (
            ("agent_id", agent_id),
            ("management_unit_id", management_unit_id),
            ("team_id", team_id),
        )
        if value
    ]
    if len(selectors) != 1:
        raise invalid(
            selectors[1] if len(selectors) > 1 else "agent_id",
            "give exactly one of agent_id, management_unit_id and team_id",
        )
    live = ctx.live
    assert live is not None
    if management_unit_id or team_id:
        with ctx.store.reading() as tx:
            if management_unit_id and tx.management_unit(management_unit_id) is None:
                raise not_found("management_unit", management_unit_id)
            if team_id and tx.team(team_id) is None:
                raise not_found("team", team_id)
    wanted = None if state is None else {AdherenceState(s) for s in state}
    now = ctx.clock()
    with live.lock:
        engine = live.engine
        if agent_id:
            ids = list(dict.fromkeys(agent_id))
            unknown = [a for a in ids if not engine.has_agent(a)]
            if unknown:
                raise invalid("agent_id", "unknown agent(s) " + ", ".join(map(repr, unknown[:10])))
            for a in ids:
                require_sees(principal, engine.agent(a))
        else:
            ids = sorted(
                a
                for a in engine.agent_ids()
                if (
                    (engine.agent(a).management_unit_id == management_unit_id)
                    or (team_id is not None and engine.agent(a).team_id == team_id)
                )
                and principal.visibility.sees(engine.agent(a))
            )
        rows = [(live.row(a), engine.horizon(a)) for a in ids]
    items = [
        render_row(row, horizon, now)
        for row, horizon in rows
        if wanted is None or row.adherence.adherence_state in wanted
    ]
    return {"items": items}


@router.get("/agents/{agent_id}/adherence", response_model=models.LiveAdherence)
def agent_realtime(
    agent_id: str = Path(min_length=1, max_length=128),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_READ),
) -> dict[str, Any]:
    live = ctx.live
    assert live is not None
    with live.lock:
        if not live.engine.has_agent(agent_id):
            raise not_found("agent", agent_id)
        require_sees(principal, live.engine.agent(agent_id))
        row, horizon = live.row(agent_id), live.engine.horizon(agent_id)
    return render_row(row, horizon, ctx.clock())


@router.post(
    "/adherence/historical",
    response_model=models.Historical,
    responses={202: {"model": models.JobOut, "description": "A large query runs as a job"}},
)
async def historical(
    body: models.HistoricalQueryIn,
    services: Any = Depends(container),
    principal: Principal = requires(_READ),
) -> Any:
    """Metrics per agent and per local day for up to 31 days (optionally segments and
    exceptions), with exactly the fields and values `adhere evaluate` gives for that window,
    plus totals. A query over many events answers 202 with a job to poll."""
    query = HistoricalQuery(
        start=instant(body.start, "start"),
        end=instant(body.end, "end"),
        agent_ids=body.agent_ids,
        management_unit_id=body.management_unit_id,
        team_id=body.team_id,
        include_segments=body.include_segments,
        include_exceptions=body.include_exceptions,
    )
    found = _visible(principal, await run_in_threadpool(snapshots, services.context, query), query)
    if event_count(found, query) > services.settings.historical_job_threshold_events:
        job = services.jobs.submit(
            "adherence.historical", lambda: evaluate_history(found, query), principal.client_id
        )
        return JSONResponse(
            _job(job),
            status_code=202,
            headers={"Location": f"/api/v1/jobs/{job.id}"},
        )
    # Returned as is: validating a large result against the model would double its cost.
    return JSONResponse(await run_in_threadpool(evaluate_history, found, query))


@router.get("/jobs/{job_id}", response_model=models.JobOut)
def get_job(
    job_id: str = Path(min_length=1, max_length=128),
    services: Any = Depends(container),
    principal: Principal = requires(_READ),
) -> Any:
    """A job's status and result; only its submitter sees it (404 to anyone else)."""
    job = services.jobs.get(job_id, principal.client_id)
    if job is None:
        raise not_found("job", job_id)
    return JSONResponse(_job(job))  # the result as computed, like the synchronous answer


def _visible(
    principal: Principal, found: list[AgentSnapshot], query: HistoricalQuery
) -> list[AgentSnapshot]:
    """Agents asked for by id must all be visible; a unit or team shows only those that are."""
    if query.agent_ids is not None:
        for snapshot in found:
            require_sees(principal, snapshot.agent)
        return found
    selection = (
        f"management unit {query.management_unit_id!r}"
        if query.management_unit_id is not None
        else f"team {query.team_id!r}"
    )
    return visible_only(principal, found, lambda snapshot: snapshot.agent, selection)


def _job(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status.value,
        "result": job.result,
        "error": job.error,
    }

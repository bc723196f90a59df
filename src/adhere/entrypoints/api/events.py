"""Route: submit agent state events, one or a batch; 202 once they are durably stored."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from adhere.entrypoints.api import models
from adhere.entrypoints.api.deps import body, context, json_body
from adhere.entrypoints.api.problems import Problem, invalid, invalid_fields
from adhere.entrypoints.api.security import Principal, requires
from adhere.service.context import ServiceContext
from adhere.service.ingestion import EventResult, Outcome, ingest_events

router = APIRouter(prefix="/api/v1", tags=["events"])
_MAX_BODY_BYTES = 16 * 1024 * 1024

_BODY_SCHEMA = {
    "oneOf": [
        {"$ref": "#/components/schemas/EventIn"},
        {"$ref": "#/components/schemas/EventBatchIn"},
    ]
}


@router.post(
    "/events",
    status_code=202,
    response_model=models.EventBatchResult,
    responses={
        413: {"model": models.ProblemOut, "description": "More events than a batch may hold"},
        422: {"model": models.ProblemOut, "description": "No event could be accepted"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
)
async def submit_events(
    request: Request,
    ctx: ServiceContext = Depends(context),
    _: Principal = requires("events:write"),
) -> Any:
    """One event (an object) or a batch (``{"events": [...]}``, up to 10,000).

    Each event is accepted, a duplicate of one stored before (same agent and id), or rejected
    with its field and reason; one bad event never sinks the others. If none is accepted or a
    duplicate, the answer is a 422 problem listing why.
    """
    items = _items(_parsed(await body(request, _MAX_BODY_BYTES)), ctx.limits.max_batch)
    results = await run_in_threadpool(ingest_events, ctx, items)
    counts = Counter(result.outcome for result in results)
    rendered = [_result(result) for result in results]
    if counts[_REJECTED] == len(results):
        problem = invalid_fields(
            [(f"events[{r.index}].{r.field}", r.reason or "is invalid") for r in results]
        )
        problem.extra["results"] = rendered
        raise problem
    answer = {
        "accepted": counts[Outcome.ACCEPTED],
        "duplicate": counts[Outcome.DUPLICATE],
        "rejected": counts[_REJECTED],
        "results": rendered,
    }
    return Response(orjson.dumps(answer), status_code=202, media_type="application/json")


def _parsed(content: bytes) -> Any:
    """orjson for the hot path; anything it refuses goes to the standard parser, which
    accepts what JSON allows (integers of any size) and words its errors as elsewhere."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json_body(content)


def _items(document: Any, max_batch: int) -> list[Any]:
    if isinstance(document, dict) and "events" in document:
        events = document["events"]
        if not isinstance(events, list):
            raise invalid("events", "must be a list of events")
        if not events:
            raise invalid("events", "must hold at least one event")
        if len(events) > max_batch:
            raise Problem(
                413,
                "events.batch_too_large",
                f"a batch holds at most {max_batch} events; this one has {len(events)}",
                errors=[{"field": "events", "message": f"at most {max_batch} events"}],
            )
        return events
    if isinstance(document, dict):
        return [document]
    raise invalid("body", 'must be an event object or {"events": [...]}')


_REJECTED = Outcome.REJECTED


def _result(result: EventResult) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "index": result.index,
        "id": result.id,
        "agent_id": result.agent_id,
        "outcome": result.outcome,  # a str enum: JSON gets its value
    }
    if result.outcome is _REJECTED:
        rendered["field"] = result.field
        rendered["reason"] = result.reason
    return rendered

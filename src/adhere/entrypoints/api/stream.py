"""Route: the live board's server-sent event stream (service/board_feed.py feeds it).

A `snapshot` event first (or, resuming with `Last-Event-ID`, the rows missed meanwhile), then a
`rows` event whenever some rows the caller sees change. Every event carries an id; the browser
sends the latest back when it reconnects, so a dropped connection loses nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from adhere.domain.instants import format_instant
from adhere.domain.organisation import Agent
from adhere.entrypoints.api.deps import container
from adhere.entrypoints.api.problems import not_found
from adhere.entrypoints.api.security import Principal, requires, still_authorised
from adhere.service.board_feed import Batch, BoardFeed, Listener, Wanted
from adhere.service.context import ServiceContext

router = APIRouter(prefix="/api/v1", tags=["adherence"])
_SCOPE = "adherence:read"
RETRY_MILLISECONDS = 1000  # how soon a browser reconnects after losing the stream
PING_SECONDS = 15  # a comment line, so that proxies keep an idle stream open
SHUTDOWN_GRACE_SECONDS = 2  # to end the stream cleanly when the server stops (uvicorn waits 5)

_DESCRIPTION = """Server-sent events (`text/event-stream`) for the live board.

- `snapshot`: `{"rows": [...], "at": "<server time>"}`, every agent the caller may see (narrowed
  by `management_unit_id` / `team_id`); a client replaces all its rows with these.
- `rows`: `{"rows": [...], "at": ...}`, the rows that changed; a client replaces those agents'.

Each row is the one `GET /api/v1/agents/{agent_id}/adherence` returned when it changed, plus
`severe_after_seconds` (the unit's severe threshold); `{"agent_id", "removed": true}` means the
agent left what the caller sees. The stream ends soon after the caller's token or session does.
Every event has an `id`; send the latest back as `Last-Event-ID` (or `last_event_id`) to
resume: the rows changed meanwhile come first, as a `rows` event, or a `snapshot` if they are
no longer known (a restart, or too long away)."""

_EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An endless stream of server-sent events",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/adherence/stream",
    response_class=EventSourceResponse,
    responses=_EVENT_STREAM,
    description=_DESCRIPTION,
    summary="Live adherence stream",
)
async def stream(
    request: Request,
    management_unit_id: str | None = Query(default=None, min_length=1, max_length=128),
    team_id: str | None = Query(default=None, min_length=1, max_length=128),
    last_event_id: str | None = Query(
        default=None,
        max_length=64,
        description="Resume after this event; the Last-Event-ID header wins if both are sent.",
    ),
    last_event_id_header: str | None = Header(
        default=None,
        alias="Last-Event-ID",
        max_length=64,
        description="The id of the last event received (browsers send it when reconnecting).",
    ),
    services: Any = Depends(container),
    principal: Principal = requires(_SCOPE),
) -> EventSourceResponse:
    await run_in_threadpool(_require_known, services.context, management_unit_id, team_id)
    feed: BoardFeed = services.board
    visibility = principal.visibility

    def wanted(agent: Agent) -> bool:
        return (
            visibility.sees(agent)
            and (management_unit_id is None or agent.management_unit_id == management_unit_id)
            and (team_id is None or agent.team_id == team_id)
        )

    shutdown = anyio.Event()  # set by sse-starlette when the server is asked to stop

    def allowed() -> bool:
        return still_authorised(request, _SCOPE)

    recheck = _Recheck(allowed, services.settings.stream_recheck_seconds)
    events = _events(
        feed, last_event_id_header or last_event_id, wanted, services.context, shutdown, recheck
    )
    return EventSourceResponse(
        events,
        ping=PING_SECONDS,
        headers={"Cache-Control": "no-store"},
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
    )


async def _events(
    feed: BoardFeed,
    last_event_id: str | None,
    wanted: Wanted,
    ctx: ServiceContext,
    shutdown: anyio.Event,
    recheck: _Recheck,
) -> AsyncIterator[ServerSentEvent]:
    """Ends when the feed closes (the service stops), the server shuts down, or the caller's
    token or session no longer holds; sse-starlette cancels it when the client goes away."""
    listener = feed.listen()  # before the first batch: nothing published after it is missed
    watcher = asyncio.create_task(_wake_on(shutdown, listener))
    try:
        await run_in_threadpool(feed.publish)  # what changed while no stream was open
        batch = feed.start(last_event_id, wanted)
        yield _event(batch, ctx, retry=RETRY_MILLISECONDS)
        seq = batch.seq
        while not (feed.closed or shutdown.is_set()):
            with suppress(TimeoutError):
                await asyncio.wait_for(listener.wait(), recheck.seconds_left())
            if recheck.due() and not await run_in_threadpool(recheck.passes):
                return  # the browser reconnects, is refused, and asks its user to log in
            found = feed.since(seq, wanted)
            if found is None:
                continue
            seq = found.seq
            if found.rows or found.snapshot:
                yield _event(found, ctx)
    finally:
        watcher.cancel()
        feed.forget(listener)


class _Recheck:
    """When to ask again whether the stream's caller is still allowed to read it."""

    def __init__(self, allowed: Callable[[], bool], interval_seconds: float) -> None:
        self._allowed = allowed
        self._interval = interval_seconds
        self._next = time.monotonic() + interval_seconds

    def seconds_left(self) -> float:
        return max(0.0, self._next - time.monotonic())

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def passes(self) -> bool:
        self._next = time.monotonic() + self._interval
        return self._allowed()


async def _wake_on(shutdown: anyio.Event, listener: Listener) -> None:
    await shutdown.wait()
    listener.wake()


def _event(batch: Batch, ctx: ServiceContext, retry: int | None = None) -> ServerSentEvent:
    at = format_instant(ctx.clock())
    data = '{"rows":[' + ",".join(batch.rows) + f'],"at":"{at}"}}'
    kind = "snapshot" if batch.snapshot else "rows"
    return ServerSentEvent(data=data, event=kind, id=batch.event_id, retry=retry)


def _require_known(ctx: ServiceContext, unit_id: str | None, team_id: str | None) -> None:
    if unit_id is None and team_id is None:
        return
    with ctx.store.reading() as tx:
        if unit_id is not None and tx.management_unit(unit_id) is None:
            raise not_found("management_unit", unit_id)
        if team_id is not None and tx.team(team_id) is None:
            raise not_found("team", team_id)

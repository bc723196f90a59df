"""Where a simulated contact center goes: a server's API, or files a benchmark can load.

Both take the same API bodies. The center's setup is a list of *stages* of requests: the
requests of a stage are independent of each other (they may run concurrently), and each stage
needs the ones before it (agents need their teams, schedules their agents). A file sink writes
that list as ``FILE.setup.json`` beside the events, one ``POST /api/v1/events`` body per line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import orjson

from adhere.adapters.adhere_client import AdhereClient, BatchOutcome
from adhere.adapters.scenario_format import render_activity, render_activity_code
from adhere.domain.agent_state import AgentEvent
from adhere.domain.instants import format_instant
from adhere.domain.simulation import Center

SETUP_FORMAT = "adhere-simulation-setup/1"
SCHEDULES_PER_IMPORT = 500
Request = dict[str, Any]  # {"method", "path", "body"}
SetupProgress = Callable[[int, int], None]
"""Told (requests done, requests in all) as the setup goes."""


def event_body(event: AgentEvent) -> dict[str, Any]:
    """The event as `POST /api/v1/events` takes it; fields it does not carry are left out."""
    body: dict[str, Any] = {
        "id": event.id,
        "agent_id": event.agent_id,
        "time": format_instant(event.time),
        "kind": event.kind.value,
    }
    if event.system_presence is not None:
        body["system_presence"] = event.system_presence.value
    if event.secondary_presence_id is not None:
        body["secondary_presence_id"] = event.secondary_presence_id
    if event.routing_status is not None:
        body["routing_status"] = event.routing_status.value
    if event.queue_ids is not None:
        body["queue_ids"] = list(event.queue_ids)
    return body


def setup_stages(center: Center) -> list[list[Request]]:
    """The API requests that create (or, run again, replace) the center, stage by stage."""
    units = [
        _put(f"management-units/{_p(u.id)}", {"name": u.name, "time_zone": u.time_zone})
        for u in center.units
    ]
    codes = [
        _put(
            f"management-units/{_p(unit.id)}/activity-codes/{_p(code.id)}",
            _without_id(render_activity_code(code)),
        )
        for unit in center.units
        for code in center.activity_codes
    ]
    teams = [
        _put(f"teams/{_p(t.id)}", {"name": t.name, "management_unit_id": t.management_unit_id})
        for t in center.teams
    ]
    agents = [
        _put(
            f"agents/{_p(a.agent.id)}",
            {
                "name": a.agent.name,
                "management_unit_id": a.agent.management_unit_id,
                "team_id": a.agent.team_id,
            },
        )
        for a in center.agents
    ]
    schedules = [
        {
            "agent_id": a.agent.id,
            "start": format_instant(a.schedule.start),
            "end": format_instant(a.schedule.end),
            "activities": [render_activity(activity) for activity in a.schedule.activities],
        }
        for a in center.agents
    ]
    imports = [
        {"method": "POST", "path": "/api/v1/schedules/import", "body": {"schedules": chunk}}
        for chunk in _chunks(schedules, SCHEDULES_PER_IMPORT)
    ]
    return [units, codes + teams, agents, imports]


def setup_document(center: Center) -> dict[str, Any]:
    return {
        "format": SETUP_FORMAT,
        "seed": center.seed,
        "start": format_instant(center.anchor),
        "stages": setup_stages(center),
    }


class ApiSink:
    """A server, through its public API."""

    def __init__(self, client: AdhereClient, concurrency: int = 8) -> None:
        self.client = client
        self._concurrency = concurrency

    async def set_up(self, center: Center, on_progress: SetupProgress | None = None) -> None:
        """Create the center: each stage's requests a few at a time (a server writes them one
        by one anyway), the stages in order."""
        stages = setup_stages(center)
        total = sum(len(stage) for stage in stages)
        done = 0
        slots = asyncio.Semaphore(self._concurrency)

        async def send(request: Request) -> None:
            nonlocal done
            async with slots:
                await self.client.request(request["method"], request["path"], request["body"])
            done += 1
            if on_progress is not None:
                on_progress(done, total)

        for stage in stages:
            try:
                async with asyncio.TaskGroup() as group:
                    for request in stage:
                        group.create_task(send(request))
            except ExceptionGroup as failed:  # the others were cancelled: one says it all
                raise failed.exceptions[0] from None

    async def send(self, events: Sequence[AgentEvent]) -> BatchOutcome:
        return await self.client.post_events([event_body(event) for event in events])

    async def aclose(self) -> None:
        await self.client.aclose()


class JsonlSink:
    """A JSON Lines file of events (one `POST /api/v1/events` body a line, in time order), and
    the setup beside it in ``FILE.setup.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.setup_path = Path(f"{path}.setup.json")
        self._file: BinaryIO = path.open("wb")

    async def set_up(self, center: Center, on_progress: SetupProgress | None = None) -> None:
        self.setup_path.write_bytes(orjson.dumps(setup_document(center)) + b"\n")
        if on_progress is not None:
            on_progress(1, 1)

    async def send(self, events: Sequence[AgentEvent]) -> BatchOutcome:
        self._file.write(b"".join(orjson.dumps(event_body(e)) + b"\n" for e in events))
        return BatchOutcome(len(events))

    async def aclose(self) -> None:
        self._file.close()


def _put(path: str, body: dict[str, Any]) -> Request:
    return {"method": "PUT", "path": f"/api/v1/{path}", "body": body}


def _p(identifier: str) -> str:
    return quote(identifier, safe="")


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "id"}


def _chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]

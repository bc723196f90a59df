"""Crash safety: SIGKILL `adhere serve` while a client streams event batches, restart it on the
same database and port, let the client retry what was not acknowledged, then check that

- every event acknowledged with a 202 is stored, exactly once, and a batch is stored whole or
  not at all; the stored events are exactly the events sent;
- a batch acknowledged before the crash comes back all "duplicate";
- historical adherence equals `adhere evaluate` on the stored inputs, and live adherence equals
  that evaluation at the instant the live row describes.

On SQLite (a file) and PostgreSQL.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text

from adhere.adapters import schema
from adhere.adapters.database import connect
from adhere.domain.instants import format_instant, parse_instant
from adhere.service.evaluation import evaluate_document
from tests.e2e.service_process import (
    RunningServer,
    api_client,
    create_client,
    fetch_token,
    running_server,
    start_server,
)

UNIT = "mu-crash"
AGENTS = [f"agent-{n:02d}" for n in range(20)]
BATCHES = 16
EVENTS_PER_AGENT_PER_BATCH = 10  # 200 events a batch
ACKNOWLEDGED_BEFORE_KILL = 5
STEP = timedelta(seconds=5)  # between two events of one agent
ACCEPTED = {"accepted", "duplicate"}

# What each agent does, in turn (each from its own place in the cycle, so that agents end in
# different states): every kind of event, in and out of adherence.
PATTERN: list[dict[str, str]] = [
    {"kind": "login", "system_presence": "OnQueue", "routing_status": "IDLE"},
    {"kind": "routing_status", "routing_status": "INTERACTING"},
    {"kind": "routing_status", "routing_status": "IDLE"},
    {"kind": "presence", "system_presence": "Break"},
    {"kind": "presence", "system_presence": "OnQueue", "routing_status": "IDLE"},
    {"kind": "presence", "system_presence": "Available"},
    {"kind": "state", "system_presence": "OnQueue", "routing_status": "INTERACTING"},
    {"kind": "logout"},
]

Event = dict[str, str]
StoredKey = tuple[str, str, int, str, str | None, str | None]


@dataclass
class Plan:
    """Times, schedules and batches, all relative to `base` (a little in the past)."""

    base: datetime
    batches: list[list[Event]] = field(default_factory=list)

    @property
    def window(self) -> tuple[datetime, datetime]:
        last = self.base + STEP * (BATCHES * EVENTS_PER_AGENT_PER_BATCH)
        return self.base - timedelta(minutes=30), last + timedelta(minutes=1)


@dataclass
class Stream:
    """The client: sends batches in order and stops at the first one without a 202."""

    base_url: str
    token: str
    batches: list[list[Event]]
    acknowledged: dict[int, dict[str, Any]] = field(default_factory=dict)
    acknowledged_at: list[float] = field(default_factory=list)
    stopped_by: str | None = None

    def batch_seconds(self) -> float:
        """The mean time a batch took so far."""
        times = self.acknowledged_at
        return (times[-1] - times[0]) / max(len(times) - 1, 1)

    def run(self) -> None:
        with api_client(self.base_url, self.token) as api:
            for index, batch in enumerate(self.batches):
                try:
                    response = api.post("/api/v1/events", json={"events": batch})
                except httpx.TransportError as error:
                    self.stopped_by = f"batch {index}: {error!r}"
                    return
                if response.status_code != 202:
                    self.stopped_by = f"batch {index}: {response.status_code} {response.text}"
                    return
                self.acknowledged[index] = response.json()
                self.acknowledged_at.append(time.monotonic())


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    with running_server(database_url, tmp_path) as started:
        yield started


def test_a_sigkill_mid_stream_loses_and_duplicates_nothing(
    server: RunningServer, database_url: str, tmp_path: Path
):
    token = fetch_token(server.base_url, create_client(database_url, "e2e-crash"))
    plan = _plan()
    _load_organisation(server.base_url, token, plan)

    stream = Stream(server.base_url, token, plan.batches)
    sender = threading.Thread(target=stream.run, name="event-stream")
    sender.start()
    try:
        _wait_until(lambda: len(stream.acknowledged) >= ACKNOWLEDGED_BEFORE_KILL)
        # Anywhere in the next batch: before, during or after its commit.
        time.sleep(random.uniform(0, stream.batch_seconds()))
        server.kill()
    finally:
        sender.join(timeout=60)
    assert server.process.returncode == -signal.SIGKILL
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base_url}/healthz", timeout=2)
    assert stream.stopped_by is not None, "the kill came after the last batch: not mid-stream"
    assert len(stream.acknowledged) < BATCHES

    restarted = start_server(database_url, tmp_path, port=server.port)
    try:
        _check_recovery(restarted, token, plan, stream)
    finally:
        restarted.stop()


def _check_recovery(server: RunningServer, token: str, plan: Plan, stream: Stream) -> None:
    with api_client(server.base_url, token) as api:
        retried = {
            index: _post(api, batch)
            for index, batch in enumerate(plan.batches)
            if index not in stream.acknowledged
        }
        replayed = _post(api, plan.batches[0])

    for index, result in {**stream.acknowledged, **retried}.items():
        outcomes = {r["outcome"] for r in result["results"]}
        assert outcomes <= ACCEPTED, f"batch {index}: {result}"
        assert len(outcomes) == 1, f"batch {index} was stored in part: {outcomes}"
    assert {r["outcome"] for r in replayed["results"]} == {"duplicate"}
    assert replayed["duplicate"] == len(plan.batches[0])

    engine = connect(server.database_url)
    try:
        _check_stored_events(engine, plan, stream)
        scenario = _scenario_from_store(engine, *plan.window)
    finally:
        engine.dispose()
    _check_historical(server, token, scenario)
    _check_live(server, token, scenario)


def _check_stored_events(engine: Engine, plan: Plan, stream: Stream) -> None:
    with engine.connect() as connection:
        repeated = connection.execute(
            text(
                "SELECT agent_id, event_id, count(*) FROM events "
                "GROUP BY agent_id, event_id HAVING count(*) <> 1"
            )
        ).all()
        rows = connection.execute(
            text(
                "SELECT agent_id, event_id, time_us, kind, system_presence, routing_status "
                "FROM events"
            )
        ).all()
    assert repeated == []
    stored: set[StoredKey] = {
        (r.agent_id, r.event_id, r.time_us, r.kind, r.system_presence, r.routing_status)
        for r in rows
    }
    assert len(stored) == len(rows)
    acknowledged = {
        (r["agent_id"], r["id"])
        for result in stream.acknowledged.values()
        for r in result["results"]
    }
    assert acknowledged <= {(agent, event) for agent, event, *_ in stored}
    sent = {_key(event) for batch in plan.batches for event in batch}
    assert stored == sent


def _check_historical(server: RunningServer, token: str, scenario: dict[str, Any]) -> None:
    expected = evaluate_document(scenario)
    with api_client(server.base_url, token) as api:
        response = api.post(
            "/api/v1/adherence/historical",
            json={
                "management_unit_id": UNIT,
                "start": scenario["window"]["start"],
                "end": scenario["window"]["end"],
                "include_segments": True,
                "include_exceptions": True,
            },
        )
    assert response.status_code == 200, response.text
    historical = response.json()
    assert [a["agent_id"] for a in historical["agents"]] == AGENTS
    assert historical["agents"] == expected["agents"]
    assert historical["totals"] == expected["totals"]


def _check_live(server: RunningServer, token: str, scenario: dict[str, Any]) -> None:
    with api_client(server.base_url, token) as api:
        response = api.get("/api/v1/adherence/realtime", params={"management_unit_id": UNIT})
    assert response.status_code == 200, response.text
    rows = response.json()["items"]
    assert [row["agent_id"] for row in rows] == AGENTS
    # Evaluate up to just after the latest instant a row describes, then read each row's.
    latest = max(parse_instant(row["at"]) for row in rows)
    until = {**scenario, "window": {**scenario["window"], "end": format_instant(latest + 1)}}
    segments = {a["agent_id"]: a["segments"] for a in evaluate_document(until)["agents"]}
    for row in rows:
        at = parse_instant(row["at"])
        segment = next(
            s
            for s in segments[row["agent_id"]]
            if parse_instant(s["start"]) <= at < parse_instant(s["end"])
        )
        fields = ("adherence_state", "scheduled_category", "actual_category")
        assert {f: row[f] for f in fields} == {f: segment[f] for f in fields}, (
            row["agent_id"],
            row["at"],
        )


def _plan() -> Plan:
    now = datetime.now(UTC).replace(microsecond=0)
    plan = Plan(base=now - STEP * (BATCHES * EVENTS_PER_AGENT_PER_BATCH) - timedelta(minutes=2))
    for batch in range(BATCHES):
        events: list[Event] = []
        for number in range(EVENTS_PER_AGENT_PER_BATCH):
            step = batch * EVENTS_PER_AGENT_PER_BATCH + number
            for offset, agent in enumerate(AGENTS):
                events.append(
                    {
                        "id": f"{agent}-e{step:04d}",
                        "agent_id": agent,
                        "time": _rfc3339(plan.base + STEP * step),
                        **PATTERN[(step + offset) % len(PATTERN)],
                    }
                )
        plan.batches.append(events)
    return plan


def _load_organisation(base_url: str, token: str, plan: Plan) -> None:
    """The unit, its codes, the agents and their schedules, through the API: an on-queue
    shift with a break inside the events' span (a little later for each agent)."""
    start, end = plan.window
    with api_client(base_url, token) as api:
        _ok(api.put(f"/api/v1/management-units/{UNIT}", json={"time_zone": "America/Chicago"}))
        for code, category in (("oq", "OnQueueWork"), ("brk", "Break")):
            _ok(
                api.put(
                    f"/api/v1/management-units/{UNIT}/activity-codes/{code}",
                    json={"category": category},
                )
            )
        for index, agent in enumerate(AGENTS):
            _ok(api.put(f"/api/v1/agents/{agent}", json={"management_unit_id": UNIT}))
            brk = plan.base + timedelta(minutes=4, seconds=10 * index)
            activities = [
                _activity(start, brk, "oq"),
                _activity(brk, brk + timedelta(minutes=5), "brk"),
                _activity(brk + timedelta(minutes=5), end + timedelta(hours=2), "oq"),
            ]
            _ok(
                api.put(
                    f"/api/v1/agents/{agent}/schedule",
                    json={
                        "start": _rfc3339(start),
                        "end": _rfc3339(end + timedelta(hours=2)),
                        "activities": activities,
                    },
                )
            )


def _scenario_from_store(engine: Engine, start: datetime, end: datetime) -> dict[str, Any]:
    """An adhere-scenario/1 document of everything stored, events in (time, arrival) order."""
    with engine.connect() as connection:

        def rows(query: Any) -> list[dict[str, Any]]:
            return [dict(row) for row in connection.execute(query).mappings()]

        (unit,) = rows(select(schema.management_units))
        codes = rows(
            select(schema.activity_codes)
            .where(schema.activity_codes.c.management_unit_id == UNIT)
            .order_by(schema.activity_codes.c.id)
        )
        agents = rows(select(schema.agents).order_by(schema.agents.c.id))
        activities = rows(
            select(schema.schedule_activities).order_by(
                schema.schedule_activities.c.agent_id, schema.schedule_activities.c.start_us
            )
        )
        events = rows(select(schema.events).order_by(schema.events.c.time_us, schema.events.c.seq))
        explanations = rows(select(schema.explanations).order_by(schema.explanations.c.id))
    schedules: dict[str, list[dict[str, Any]]] = {}
    for activity in activities:
        schedules.setdefault(activity["agent_id"], []).append(
            {
                "start": format_instant(activity["start_us"]),
                "end": format_instant(activity["end_us"]),
                "activity_code_id": activity["activity_code_id"],
            }
        )
    return {
        "format": "adhere-scenario/1",
        "management_unit": _present(unit),
        "activity_codes": [_present(code, "management_unit_id") for code in codes],
        "agents": [_present(agent) for agent in agents],
        "schedules": [
            {"agent_id": agent, "activities": items} for agent, items in schedules.items()
        ],
        "events": [
            _present(
                {**event, "id": event["event_id"], "time": format_instant(event["time_us"])},
                "seq",
                "event_id",
                "time_us",
                "received_us",
            )
            for event in events
        ],
        "explanations": [
            _present(
                {**item, "start": format_instant(item["start_us"])},
                "start_us",
                "notes",
                "created_us",
                "updated_us",
            )
            for item in explanations
        ],
        "window": {"start": _rfc3339(start), "end": _rfc3339(end)},
    }


def _post(api: httpx.Client, batch: list[Event]) -> dict[str, Any]:
    response = api.post("/api/v1/events", json={"events": batch})
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def _key(event: Event) -> StoredKey:
    return (
        event["agent_id"],
        event["id"],
        parse_instant(event["time"]),
        event["kind"],
        event.get("system_presence"),
        event.get("routing_status"),
    )


def _activity(start: datetime, end: datetime, code: str) -> dict[str, Any]:
    return {"start": _rfc3339(start), "end": _rfc3339(end), "activity_code_id": code}


def _present(row: dict[str, Any], *storage_only: str) -> dict[str, Any]:
    """A row as a scenario item: the columns that hold a value, less those of storage alone."""
    return {k: v for k, v in row.items() if v is not None and k not in storage_only}


def _wait_until(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def _ok(response: httpx.Response) -> None:
    assert response.status_code < 300, response.text


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")

"""`adhere simulate` against a real `adhere serve` (SQLite and PostgreSQL): the center it
builds through the API, the events it posts (every one stored, none from the future), the
states the board then shows; a client without `events:write`; `--out` files that a benchmark
can replay; Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from adhere.adapters.scenario_format import render_activity
from adhere.adapters.schema import events as events_table
from adhere.domain.instants import MICROS_PER_MINUTE, format_instant, parse_instant
from adhere.entrypoints.api.models import EventIn
from adhere.entrypoints.cli import app
from adhere.entrypoints.cli_simulate import (
    SimulationOptions,
    SimulationOutcome,
    run_simulation,
)
from adhere.service.simulation import SystemClock
from tests.e2e.service_process import (
    ADHERE,
    ClientCredentials,
    RunningServer,
    api_client,
    create_client,
    fetch_token,
    start_server,
)

SIMULATOR_SCOPES = ("schedule:agent:write", "events:write")
READER_SCOPES = ("schedule:agent:read", "adherence:read")
MINUTE = MICROS_PER_MINUTE


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    started = start_server(database_url, tmp_path / "server")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def simulator(server: RunningServer) -> ClientCredentials:
    return create_client(server.database_url, "simulator", SIMULATOR_SCOPES)


def _reader(server: RunningServer) -> Any:
    reader = create_client(server.database_url, "reader", READER_SCOPES)
    return api_client(server.base_url, fetch_token(server.base_url, reader))


def _stored(database_url: str) -> tuple[int, int]:
    """(events stored, the most any event's time is ahead of its arrival, in microseconds)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            count, ahead = connection.execute(
                select(
                    func.count(),
                    func.max(events_table.c.time_us - events_table.c.received_us),
                )
            ).one()
    finally:
        engine.dispose()
    return count, ahead if ahead is not None else 0


def _in_thread(options: SimulationOptions, stop: threading.Event) -> threading.Thread:
    outcome: list[SimulationOutcome] = []
    thread = threading.Thread(target=lambda: outcome.append(run_simulation(options, stop)))
    thread.outcome = outcome  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_living_center_through_the_api(
    server: RunningServer, simulator: ClientCredentials
) -> None:
    start = SystemClock().now() - 30 * MINUTE
    options = SimulationOptions(
        url=server.base_url,
        client_id=simulator.id,
        client_secret=simulator.secret,
        agents=30,
        seed=11,
        speed=60,
        start=start,
        quiet=True,
    )
    stop = threading.Event()
    thread = _in_thread(options, stop)
    time.sleep(10)
    stop.set()
    thread.join(60)
    assert not thread.is_alive()
    (outcome,) = thread.outcome  # type: ignore[attr-defined]
    progress = outcome.progress
    center = outcome.center

    # 60x from half an hour ago: about ten simulated minutes in ten seconds (setup included)
    assert progress.stopped
    assert start + 7 * MINUTE < progress.clock < start + 11 * MINUTE
    assert progress.sent == progress.accepted > 300
    assert progress.rejected == 0
    assert progress.duplicate == 0
    stored, ahead = _stored(server.database_url)
    assert stored == progress.accepted
    assert ahead <= 0  # no event was stamped after the moment it arrived

    with _reader(server) as http:
        units = http.get("/api/v1/management-units").json()["items"]
        assert [(u["id"], u["time_zone"]) for u in units] == sorted(
            (u.id, u.time_zone) for u in center.units
        )
        teams = http.get("/api/v1/teams").json()["items"]
        assert sorted(t["name"] for t in teams) == sorted(t.name for t in center.teams)
        agents = {a["id"]: a for a in http.get("/api/v1/agents").json()["items"]}
        assert {a.agent.id: (a.agent.name, a.agent.team_id) for a in center.agents} == {
            i: (a["name"], a["team_id"]) for i, a in agents.items()
        }
        someone = center.agents[7]
        schedule = http.get(f"/api/v1/agents/{someone.agent.id}/schedule").json()
        assert schedule["activities"] == [render_activity(a) for a in someone.schedule.activities]
        codes = http.get(f"/api/v1/management-units/{units[0]['id']}/activity-codes").json()
        assert len(codes["items"]) == 8

        rows = [
            row
            for unit in center.units
            for row in http.get(
                "/api/v1/adherence/realtime", params={"management_unit_id": unit.id}
            ).json()["items"]
        ]
    assert len(rows) == 30
    states = Counter(row["adherence_state"] for row in rows)
    actual = Counter(row["actual_category"] for row in rows)
    routing = Counter(row["routing_status"] for row in rows)
    assert len(states) >= 2, states
    assert len(actual) >= 3, actual
    assert actual["OnQueueWork"] >= 5
    assert actual["Offline"] >= 1
    assert routing.keys() & {"IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING"}

    # run again (another seed): the same records are replaced, nothing is refused
    again = run_simulation(
        SimulationOptions(
            url=server.base_url,
            client_id=simulator.id,
            client_secret=simulator.secret,
            agents=30,
            seed=12,
            setup_only=True,
            quiet=True,
        )
    )
    assert again.progress is None
    with _reader(server) as http:
        renamed = http.get(f"/api/v1/agents/{someone.agent.id}").json()
        assert len(http.get("/api/v1/agents").json()["items"]) == 30
    assert renamed["name"] == again.center.agents[7].agent.name


def test_a_client_without_events_write_is_told_which_scope(
    server: RunningServer, tmp_path: Path
) -> None:
    setup_only = create_client(server.database_url, "setup", ("schedule:agent:write",))
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--url",
            server.base_url,
            "--client-id",
            setup_only.id,
            "--client-secret",
            setup_only.secret,
            "--agents",
            "5",
            "--quiet",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "events:write" in result.stderr
    assert f"adhere clients set-scopes {setup_only.id}" in result.stderr
    assert _stored(server.database_url)[0] == 0


def test_out_writes_the_day_and_a_setup_a_server_accepts(
    server: RunningServer, tmp_path: Path
) -> None:
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        app, ["simulate", "--out", str(out), "--agents", "20", "--seed", "3", "--units", "2"]
    )
    assert result.exit_code == 0, result.output
    written = int(re.search(r"done: ([\d,]+) events sent", result.stderr)[1].replace(",", ""))
    lines = out.read_bytes().splitlines()
    assert len(lines) == written > 5_000
    bodies = [orjson.loads(line) for line in lines]
    events = [EventIn.model_validate(body) for body in bodies]
    times = [parse_instant(e.time) for e in events]
    assert times == sorted(times)
    assert len({e.id for e in events}) == len(events)
    now = SystemClock().now()
    assert times[0] < now - 5 * 60 * MINUTE
    assert times[-1] > now + 7 * 60 * MINUTE

    setup = orjson.loads(Path(f"{out}.setup.json").read_bytes())
    assert setup["format"] == "adhere-simulation-setup/1"
    assert setup["seed"] == 3
    admin = create_client(server.database_url, "bench", (*SIMULATOR_SCOPES, *READER_SCOPES))
    with api_client(server.base_url, fetch_token(server.base_url, admin)) as http:
        for stage in setup["stages"]:
            for request in stage:
                response = http.request(request["method"], request["path"], json=request["body"])
                assert response.status_code in {200, 201}, response.text
        assert len(http.get("/api/v1/agents").json()["items"]) == 20
        past = [body for body, at in zip(bodies, times, strict=True) if at <= now]
        accepted = 0
        for first in range(0, len(past), 1000):
            answer = http.post("/api/v1/events", json={"events": past[first : first + 1000]})
            assert answer.status_code == 202, answer.text
            accepted += answer.json()["accepted"]
    assert accepted == len(past) > 1000


def test_ctrl_c_sends_what_is_due_and_reports_it(
    server: RunningServer, simulator: ClientCredentials
) -> None:
    env = {
        **os.environ,
        "ADHERE_CLIENT_ID": simulator.id,
        "ADHERE_CLIENT_SECRET": simulator.secret,
    }
    start = format_instant(SystemClock().now() - 20 * MINUTE)
    process = subprocess.Popen(
        [ADHERE, "simulate", "--url", server.base_url, "--agents", "30", "--seed", "5",
         "--speed", "120", "--start", start],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _stored(server.database_url)[0] < 400 and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    found = re.search(r"stopped: ([\d,]+) events sent \(accepted ([\d,]+)", stderr)
    assert found is not None, stderr
    sent, accepted = (int(n.replace(",", "")) for n in found.groups())
    assert sent == accepted == _stored(server.database_url)[0] >= 400

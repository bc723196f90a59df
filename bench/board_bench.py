"""How soon a change reaches the live board in a browser, and what the server spends, while a
simulated contact center runs at its own pace.

    python bench/board_bench.py                                # 5,000 agents, 120 s measured
    python bench/board_bench.py --agents 500 --seconds 30      # quick run

Everything runs as in production, each in its own process: ``adhere serve`` on a fresh SQLite
database (or ``--db postgresql``), ``adhere simulate`` driving `--agents` agents at real time
through the API, and Debian's Chromium (Playwright) showing the board, logged in as an admin.

Besides the simulated agents, `--probes` probe agents are scheduled on queue all day and shown
on the board (searched by name, so their rows are on screen while the board holds every agent).
Once a second this script posts an event for one probe that flips its adherence (On Queue ↔
Break) and the page records, with a MutationObserver, when that row's adherence cell first
shows the new state. Latency = that moment minus the moment before the POST was sent; both
clocks are this machine's wall clock.

Reported (never asserted): latency p50/p99/max; events/s the server accepted in the window
(every event stored, from the database); the server's CPU in cores, and per 1,000 events/s;
its resident memory at the end and at its peak.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import create_engine, text

from engine_bench import machine, revision
from service_bench import ADHERE, ROOT, Server, Tokens, create_client, database, percentile, run_cli

PROBE_UNIT = "bench-probes"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_WATCH = """probes => {
    window.__seen = [];
    const last = {};
    const look = () => {
        const cells = '[data-agent-id^="probe-"] [data-field="adherence_state"]';
        for (const cell of document.querySelectorAll(cells)) {
            const agent = cell.closest('[data-agent-id]').dataset.agentId;
            const state = cell.textContent.trim();
            if (last[agent] !== state) {
                last[agent] = state;
                window.__seen.push([agent, state, Date.now()]);
            }
        }
    };
    const all = {subtree: true, childList: true, characterData: true};
    new MutationObserver(look).observe(document.body, all);
    look();
    window.__longTasks = [];
    new PerformanceObserver(list => {
        for (const task of list.getEntries()) window.__longTasks.push(task.duration);
    }).observe({type: 'longtask'});
}"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _probes(api: httpx.Client, tokens: Tokens, count: int) -> list[str]:
    """Probe agents in a unit of their own, on queue from an hour ago for the whole run."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    puts: list[tuple[str, dict[str, Any]]] = [
        (f"/api/v1/management-units/{PROBE_UNIT}", {"name": "Probes", "time_zone": "UTC"}),
        (
            f"/api/v1/management-units/{PROBE_UNIT}/activity-codes/probe-oq",
            {"category": "OnQueueWork"},
        ),
    ]
    agents = [f"probe-{index:03d}" for index in range(count)]
    for agent in agents:
        puts.append(
            (
                f"/api/v1/agents/{agent}",
                {"name": f"Probe {agent[-3:]}", "management_unit_id": PROBE_UNIT},
            )
        )
        puts.append(
            (
                f"/api/v1/agents/{agent}/schedule",
                {
                    "start": _iso(start),
                    "end": _iso(start + timedelta(hours=12)),
                    "activities": [
                        {
                            "start": _iso(start),
                            "length_minutes": 720,
                            "activity_code_id": "probe-oq",
                        }
                    ],
                },
            )
        )
    for path, body in puts:
        answer = api.put(path, json=body, headers=tokens.headers())
        answer.raise_for_status()
    return agents


def _post(
    api: httpx.Client, tokens: Tokens, agent: str, presence: str, kind: str = "presence"
) -> None:
    body = {
        "id": f"{agent}-{secrets.token_hex(6)}",
        "agent_id": agent,
        "time": _iso(datetime.now(UTC)),
        "kind": kind,
        "system_presence": presence,
    }
    answer = api.post("/api/v1/events", json=body, headers=tokens.headers())
    answer.raise_for_status()


def _log_in(page: Page, base: str, password: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Username").fill("bench")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")


def _stored_events(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident) in MiB."""
    found = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in {"VmRSS", "VmHWM"}:
                found[name] = int(value.split()[0]) // 1024
    return found


@contextlib.contextmanager
def _simulator(
    base: str, client: tuple[str, str], agents: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    environment = {"ADHERE_CLIENT_ID": client[0], "ADHERE_CLIENT_SECRET": client[1]}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                ADHERE,
                "simulate",
                "--url",
                base,
                "--agents",
                str(agents),
                "--units",
                "8",
                "--seed",
                "7",
                "--quiet",
            ],
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    with database(args.db, scratch) as url:
        run_cli("db", "upgrade", "--db", url)
        password = secrets.token_urlsafe(12)
        done = subprocess.run(
            [
                ADHERE,
                "users",
                "create",
                "bench",
                "--role",
                "admin",
                "--password-stdin",
                "--db",
                url,
            ],
            input=password,
            text=True,
            capture_output=True,
            check=False,
            cwd=ROOT,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        client = create_client(url)
        server = Server(url, scratch / "server.log")
        tokens = Tokens(server.base, *client)
        try:
            with httpx.Client(base_url=server.base, timeout=30) as api:
                probes = _probes(api, tokens, args.probes)
                for agent in probes:
                    _post(api, tokens, agent, "OnQueue", kind="login")
                with _simulator(
                    server.base, client, args.agents, scratch / "simulator.log"
                ) as simulator:
                    print(f"waiting for the simulator to set up {args.agents} agents…", flush=True)
                    _wait_for_agents(api, tokens, args.agents + args.probes, simulator)
                    return _measure(args, url, server, api, tokens, probes, password)
        finally:
            server.stop()


def _wait_for_agents(
    api: httpx.Client, tokens: Tokens, wanted: int, simulator: subprocess.Popen[bytes]
) -> None:
    while True:
        if simulator.poll() is not None:
            raise SystemExit("the simulator stopped during setup")
        answer = api.get("/api/v1/agents", headers=tokens.headers())
        if len(answer.json()["items"]) >= wanted:
            return
        time.sleep(2)


def _measure(
    args: argparse.Namespace,
    url: str,
    server: Server,
    api: httpx.Client,
    tokens: Tokens,
    probes: Sequence[str],
    password: str,
) -> dict[str, Any]:
    time.sleep(args.warmup)  # the simulator's catch-up burst passes
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _log_in(page, server.base, password)
        expect(page.locator("#counts")).to_contain_text("agents", timeout=30_000)
        rows_on_board = page.inner_text("#counts")  # before the search narrows it
        page.get_by_label("Search by name").fill("Probe")
        page.locator('[data-agent-id^="probe-"]').first.wait_for()
        page.evaluate(_WATCH, list(probes))
        cpu_before, events_before, started = server.cpu_seconds(), _stored_events(url), time.time()
        sent: list[tuple[str, str, float]] = []
        state = dict.fromkeys(probes, "OnQueue")
        index = 0
        while time.time() - started < args.seconds:
            agent = probes[index % len(probes)]
            index += 1
            state[agent] = "Break" if state[agent] == "OnQueue" else "OnQueue"
            expected = "out" if state[agent] == "Break" else "in"
            at = time.time()
            _post(api, tokens, agent, state[agent])
            sent.append((agent, expected, at))
            time.sleep(max(0.0, 1.0 - (time.time() - at)))
        seconds = time.time() - started
        cpu = server.cpu_seconds() - cpu_before
        events = _stored_events(url) - events_before
        page.wait_for_timeout(3000)
        seen = page.evaluate("window.__seen")
        long_tasks = page.evaluate("window.__longTasks")
        memory = _memory(server.process.pid)
        browser.close()
    latencies = _latencies(sent, seen)
    rate = events / seconds
    cores = cpu / seconds
    return {
        "agents": args.agents,
        "probes_sent": len(sent),
        "probes_seen": len(latencies),
        "latency_ms": {
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies, default=float("nan")),
        },
        "events_per_second": rate,
        "server_cores": cores,
        "server_cores_per_1000_events_per_second": cores / (rate / 1000) if rate else float("nan"),
        "server_memory_mib": memory,
        "browser_long_tasks": {
            "count": len(long_tasks),
            "max_ms": max(long_tasks, default=0.0),
            "busy_ms_per_second": sum(long_tasks) / seconds,
        },
        "board_summary": rows_on_board,
        "seconds": seconds,
    }


def _latencies(
    sent: Sequence[tuple[str, str, float]], seen: Sequence[Sequence[Any]]
) -> list[float]:
    """For each probe event, the first time after it was sent that its row showed the state."""
    found = []
    for agent, expected, at in sent:
        for seen_agent, label, when in seen:
            if seen_agent == agent and when / 1000 >= at and label.lower().startswith(expected):
                found.append(when - at * 1000)
                break
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument(
        "--warmup",
        type=float,
        default=60,
        help="seconds after the agents exist before measuring (schedules, catch-up)",
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"machine: {machine()} · commit {revision()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="adhere-board-bench-") as scratch:
        result = run(args, Path(scratch))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

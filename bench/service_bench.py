"""How fast the Adhere service takes events over HTTP, and how soon a login can be read back.

    python bench/service_bench.py                          # full run, SQLite then PostgreSQL
    python bench/service_bench.py --db sqlite --agents 2000 --seconds 10   # quick run
    python bench/service_bench.py --db sqlite --profile    # py-spy the server while measuring

The server is a separate process, started exactly as in production (``adhere serve``: uvicorn,
one worker, access log on), on a fresh database: a SQLite file (WAL, the default) or a fresh
PostgreSQL database that is created for the run and dropped after it. The organisation (10,000
agents in 8 management units by default, with one day of schedules) comes from
bench/generator.py and is loaded with ``adhere import scenario`` before the server starts.
The load generator is this process: httpx clients with keep-alive, one thread per connection.

Two figures per database, each printed next to its target (this script never asserts):

a. sustained ingest: batches of 1,000 events POSTed back to back on `--connections` keep-alive
   connections (each connection carries a fixed share of the agents, so every agent's events
   stay in order, as a connector partitioning its feed would); events/s accepted over
   `--seconds` of steady state after `--warmup`, and the per-request latency p50/p99;
b. login-to-readable: under a steady background load (`--bg-rate` events/s in batches of
   `--bg-batch`, on its own connection and thread), a login event is POSTed for an agent that
   is logged out, then GET /api/v1/agents/{id}/adherence is polled until it shows the login;
   the time from sending the POST to receiving the first read that shows it, p50/p99 over
   `--logins` logins.

Event timing (a): ``--timing live`` (default: the sustained load of a real-time feed) stamps the
generated day's events, in their order, into the coming minutes, each after the server's clock.
``--timing replay`` keeps the day's own spacing, shifted so that it ends a minute before the
run starts: every event is then behind the server's clock, as when a connector backfills a day,
and each one is a correction of adherence already reported (the engine's slow path).
The background of b is always live: each batch is stamped with the wall clock when it is sent.

CPU is reported in cores for the server process, this process and the rest of the machine
(PostgreSQL's backends, and anything else running: the machine may be shared). `--profile`
attaches py-spy to the server for each measured window and prints where its time went;
`--setup-sql FILE` runs statements on the fresh database before the server starts, for
what-if experiments (another index, say) whose figures are not the service's.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from adhere.domain.agent_state import AgentEvent
from adhere.domain.instants import MICROS_PER_SECOND, Instant, format_instant
from adhere.domain.schedule import Activity
from engine_bench import machine, print_table, revision, verdict
from generator import (
    DEFAULT_SEED,
    Dataset,
    Population,
    Profile,
    _activity_json,
    _agent_json,
    _code_json,
    _settings_json,
    generate,
    in_time_order,
    population,
)

TARGET_INGEST_EVENTS_PER_SECOND = 50_000  # SQLite, batches of 1,000
TARGET_LOGIN_P99_MS = 50.0

ROOT = Path(__file__).resolve().parent.parent
ADHERE = str(Path(sys.executable).with_name("adhere"))
PY_SPY = str(Path(sys.executable).with_name("py-spy"))
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SCOPES = "events:write adherence:read schedule:agent:read schedule:agent:write"
MINUTE = 60 * MICROS_PER_SECOND
MILLISECOND = 1_000
TOKEN_REFRESH_SECONDS = 8 * 60  # tokens live 10 minutes


# ---- the workload ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """One generated day, shifted to end a minute before now, and who is used for what."""

    pop: Population
    data: Dataset
    shift: int  # microseconds added to every generated instant (whole minutes)
    login_agents: list[str]  # no events at all: logged out until b logs them in
    background_agents: list[str]  # their events are b's background load
    ingest_agents: list[str]  # their events are a's load

    def events_of(self, agent_ids: Sequence[str]) -> int:
        return sum(len(self.data.events[a]) for a in agent_ids)


def workload(args: argparse.Namespace) -> Workload:
    pop = population(args.agents, args.seed)
    data = generate(pop, 1)
    last = max(events[-1].time for events in data.events.values() if events)
    now = int(time.time() * MICROS_PER_SECOND)
    shift = (now - MINUTE - last) // MINUTE * MINUTE
    ids = [profile.agent.id for profile in pop.profiles]
    logins, background = args.logins, args.bg_agents
    if logins + background >= len(ids):
        raise SystemExit("--agents must exceed --logins + --bg-agents")
    return Workload(
        pop,
        data,
        shift,
        ids[:logins],
        ids[logins : logins + background],
        ids[logins + background :],
    )


def scenario_files(work: Workload, directory: Path) -> list[Path]:
    """One adhere-scenario/1 document per management unit: unit, codes, teams, agents and the
    shifted schedules; no events (those go through the API)."""
    files = []
    for number, unit in enumerate(work.pop.units):
        profiles: Sequence[Profile] = work.pop.of_unit(unit.id)
        if not profiles:
            continue
        document = {
            "format": "adhere-scenario/1",
            "management_unit": {
                "id": unit.id,
                "name": unit.name,
                "time_zone": unit.time_zone,
                "settings": _settings_json(unit.settings),
            },
            "teams": [
                {"id": t, "name": t} for t in sorted({p.agent.team_id or "" for p in profiles})
            ],
            "activity_codes": [_code_json(code) for code in work.pop.codes],
            "agents": [_agent_json(p.agent) for p in profiles],
            "schedules": [
                {
                    "agent_id": p.agent.id,
                    "activities": [
                        _activity_json(
                            Activity(a.start + work.shift, a.end + work.shift, a.activity_code_id)
                        )
                        for a in work.data.schedules[p.agent.id]
                    ],
                }
                for p in profiles
            ],
            "events": [],
            "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
        }
        path = directory / f"unit-{number}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        files.append(path)
    return files


# ---- the database and the server ---------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """A fresh, empty database URL; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    name = f"adhere_bench_{os.getpid()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_cli(*args: str) -> str:
    done = subprocess.run([ADHERE, *args], check=False, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"adhere {shlex.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def import_organisation(url: str, files: Sequence[Path], *, parallel: bool) -> None:
    """`adhere import scenario` for each file; on PostgreSQL up to 4 at once (each agent is
    its own transaction, so the commits' waits overlap). SQLite takes one writer at a time."""
    run_cli("db", "upgrade", "--db", url)  # once: concurrent first migrations would race
    if not parallel:
        for path in files:
            run_cli("import", "scenario", str(path), "--db", url)
        return
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda path: run_cli("import", "scenario", str(path), "--db", url), files))


def run_sql(url: str, script: str) -> None:
    """Statements separated by ';', run in one transaction (for what-if experiments)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in script.split(";"):
            if statement.strip():
                connection.execute(text(statement))
    engine.dispose()


def create_client(url: str) -> tuple[str, str]:
    out = run_cli("clients", "create", "--name", "bench", "--scopes", SCOPES, "--db", url)
    found = dict(re.findall(r"^client (id|secret):\s*(\S+)", out, re.MULTILINE))
    return found["id"], found["secret"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`adhere serve` as a child process, with its log in a file."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [ADHERE, "serve", "--db", url, "--host", "127.0.0.1", "--port", str(self.port)]
        self.command = command
        self._log_file = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        started = time.perf_counter()
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited; see {log}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            if time.perf_counter() - started > 300:
                self.stop()
                raise SystemExit(f"the server did not come up in 300 s; see {log}")
            time.sleep(0.2)
        self.startup_seconds = time.perf_counter() - started

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


class Tokens:
    """A bearer token for the bench client, fetched again before it expires."""

    def __init__(self, base: str, client_id: str, secret: str) -> None:
        self.base, self.client_id, self.secret = base, client_id, secret
        self._lock = threading.Lock()
        self._token = ""
        self._fetched = -1e9

    def headers(self) -> dict[str, str]:
        with self._lock:
            if time.monotonic() - self._fetched > TOKEN_REFRESH_SECONDS:
                answer = httpx.post(
                    self.base + "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(self.client_id, self.secret),
                    timeout=30,
                )
                answer.raise_for_status()
                self._token = answer.json()["access_token"]
                self._fetched = time.monotonic()
            return {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}


class Profiler:
    """py-spy attached to the server for one measured window (raw collapsed stacks)."""

    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen(
            [
                PY_SPY,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "100",
                "--format",
                "raw",
                "--duration",
                str(max(1, round(seconds))),
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def finish(self) -> Path | None:
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return None
        return self.out if self.out.exists() else None


# ---- timing helpers ----------------------------------------------------------------------


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, all CPUs (idle and iowait are not busy)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total


def postgres_cpu() -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL process (backends, writer, WAL writer...)."""
    found: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        if name.startswith("postgres"):
            fields = text.rsplit(")", 1)[1].split()
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def postgres_cores(start: dict[int, float], end: dict[int, float], seconds: float) -> float:
    return sum(end[pid] - start.get(pid, 0.0) for pid in end) / seconds if seconds else 0.0


def busy_cores(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Cores kept busy on average between two `machine_cpu` readings."""
    total = end[1] - start[1]
    return (os.cpu_count() or 1) * (end[0] - start[0]) / total if total else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (the value at or below which `fraction` of values lie)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[min(len(ordered), int(rank)) - 1]


def wall_us() -> Instant:
    return time.time_ns() // 1_000


_SECONDS: dict[int, str] = {}


def rfc3339(instant: Instant) -> str:
    """`instant` (whole milliseconds) as RFC 3339 UTC with milliseconds: format_instant's
    value, ~10x faster (preparing a day of request bodies is not part of any figure)."""
    second, micros = divmod(instant, MICROS_PER_SECOND)
    prefix = _SECONDS.get(second)
    if prefix is None:
        prefix = _SECONDS[second] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{prefix}.{micros // MILLISECOND:03d}Z"


def event_item(event: AgentEvent, at: Instant) -> dict[str, Any]:
    """The event as the API takes it (generator.py's JSON), stamped `at`."""
    item: dict[str, Any] = {
        "id": event.id,
        "agent_id": event.agent_id,
        "time": rfc3339(at),
        "kind": event.kind.value,
    }
    if event.system_presence is not None:
        item["system_presence"] = event.system_presence.value
    if event.secondary_presence_id is not None:
        item["secondary_presence_id"] = event.secondary_presence_id
    if event.routing_status is not None:
        item["routing_status"] = event.routing_status.value
    if event.queue_ids is not None:
        item["queue_ids"] = list(event.queue_ids)
    return item


# ---- a: sustained ingest -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    sent: float  # perf_counter
    done: float
    status: int
    accepted: int
    duplicate: int
    rejected: int


@dataclass(slots=True)
class IngestRun:
    connections: int
    batch_size: int
    timing: str
    warmup: float
    requests: list[Request] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    postgres_cpu: float = 0.0
    batches_prepared: int = 0
    ran_out: bool = False
    first_error: str | None = None

    @property
    def steady(self) -> list[Request]:
        start, end = self.window
        return [r for r in self.requests if start < r.done <= end]

    @property
    def seconds(self) -> float:
        return self.window[1] - self.window[0]

    @property
    def events_per_second(self) -> float:
        return sum(r.accepted for r in self.steady) / self.seconds if self.seconds > 0 else 0.0

    def latency_ms(self, fraction: float) -> float:
        return 1000 * percentile([r.done - r.sent for r in self.steady], fraction)


def ingest_bodies(
    work: Workload, connections: int, batch_size: int, timing: str, limit: int | None
) -> list[list[bytes]]:
    """Pre-serialised request bodies per connection (so that the client spends its CPU on
    HTTP during the run, not on JSON). Connection k carries the agents whose position in the
    ingest list is k modulo `connections`, in time order."""
    share = {agent_id: i % connections for i, agent_id in enumerate(work.ingest_agents)}
    deliveries = in_time_order(work.data.events[a] for a in work.ingest_agents)
    if timing == "replay":
        times = [d.event.time + work.shift for d in deliveries]
    else:
        # Into the coming minutes, in the same order: 20 s to 260 s ahead of now, under the
        # server's 300 s future tolerance, and ahead of its clock for the whole run.
        # Each agent's events keep strictly increasing milliseconds.
        start = wall_us() // MILLISECOND * MILLISECOND + 20 * MICROS_PER_SECOND
        step = 240 * MICROS_PER_SECOND / max(1, len(deliveries))
        last: dict[str, Instant] = {}
        times = []
        for i, delivery in enumerate(deliveries):
            agent_id = delivery.event.agent_id
            at = max(start + int(i * step) // MILLISECOND * MILLISECOND, last.get(agent_id, 0))
            last[agent_id] = at + MILLISECOND
            times.append(at)
    per_connection: list[list[dict[str, Any]]] = [[] for _ in range(connections)]
    for delivery, at in zip(deliveries, times, strict=True):
        per_connection[share[delivery.event.agent_id]].append(event_item(delivery.event, at))
    bodies: list[list[bytes]] = []
    for events in per_connection:
        batches = [
            json.dumps({"events": events[i : i + batch_size]}, separators=(",", ":")).encode()
            for i in range(0, len(events), batch_size)
        ]
        bodies.append(batches if limit is None else batches[: -(-limit // connections)])
    return bodies


def run_ingest(
    server: Server,
    tokens: Tokens,
    bodies: list[list[bytes]],
    args: argparse.Namespace,
    profile_to: Path | None,
) -> tuple[IngestRun, Path | None]:
    run = IngestRun(args.connections, args.batch_size, args.timing, args.warmup)
    run.batches_prepared = sum(len(b) for b in bodies)
    stop = threading.Event()
    lock = threading.Lock()

    def sender(batches: list[bytes]) -> None:
        with httpx.Client(base_url=server.base, timeout=120) as client:
            for body in batches:
                if stop.is_set():
                    return
                headers = tokens.headers()
                sent = time.perf_counter()
                answer = client.post("/api/v1/events", content=body, headers=headers)
                done = time.perf_counter()
                counts = _counts(answer)
                with lock:
                    run.requests.append(Request(sent, done, answer.status_code, *counts))
                    if answer.status_code != 202 and run.first_error is None:
                        run.first_error = f"{answer.status_code} {answer.text[:300]}"

    threads = [threading.Thread(target=sender, args=(b,), daemon=True) for b in bodies]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    steady_start = begin + args.warmup
    _sleep_until(steady_start, threads)
    cpu0, client0, t0 = server.cpu_seconds(), time.process_time(), time.perf_counter()
    machine0, postgres0 = machine_cpu(), postgres_cpu()
    profiler = Profiler(server.process.pid, args.seconds, profile_to) if profile_to else None
    _sleep_until(t0 + args.seconds, threads)
    t1 = time.perf_counter()
    run.server_cpu = (server.cpu_seconds() - cpu0) / (t1 - t0)
    run.client_cpu = (time.process_time() - client0) / (t1 - t0)
    run.machine_cpu = busy_cores(machine0, machine_cpu())
    run.postgres_cpu = postgres_cores(postgres0, postgres_cpu(), t1 - t0)
    run.ran_out = not any(thread.is_alive() for thread in threads)
    stop.set()
    for thread in threads:
        thread.join()
    if run.ran_out:  # the data ran out before the time: the window ends at the last answer
        t1 = max(r.done for r in run.requests)
    run.window = (t0, t1)
    profile = profiler.finish() if profiler else None
    return run, profile


def _counts(answer: httpx.Response) -> tuple[int, int, int]:
    try:
        body = answer.json()
        return int(body["accepted"]), int(body["duplicate"]), int(body["rejected"])
    except (ValueError, KeyError, TypeError):
        return 0, 0, 0


def _sleep_until(deadline: float, threads: Sequence[threading.Thread]) -> None:
    while time.perf_counter() < deadline and any(t.is_alive() for t in threads):
        time.sleep(min(0.05, max(0.0, deadline - time.perf_counter())))


# ---- b: login to readable ----------------------------------------------------------------


@dataclass(slots=True)
class LoginRun:
    logins: int = 0
    total_ms: list[float] = field(default_factory=list)  # POST sent -> first read showing it
    post_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)  # POST answered -> first read showing it
    reads: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    bg_events: int = 0
    bg_requests: int = 0
    bg_late_sends: int = 0
    bg_ms: list[float] = field(default_factory=list)
    bg_rejected: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    machine_cpu: float = 0.0


class Background(threading.Thread):
    """`rate` events/s in batches of `batch`, sent on a fixed schedule from one connection;
    each batch is stamped with the wall clock as it is sent (a live feed)."""

    def __init__(self, server: Server, tokens: Tokens, work: Workload, rate: float, batch: int):
        super().__init__(daemon=True)
        self.server, self.tokens, self.rate, self.batch = server, tokens, rate, batch
        self.events = [
            d.event for d in in_time_order(work.data.events[a] for a in work.background_agents)
        ]
        self.stop = threading.Event()
        self.measuring = threading.Event()
        self.run_stats = LoginRun()
        self.error: str | None = None

    def run(self) -> None:
        period = self.batch / self.rate
        last: dict[str, Instant] = {}
        cursor = 0
        stats = self.run_stats
        with httpx.Client(base_url=self.server.base, timeout=60) as client:
            due = time.perf_counter()
            while not self.stop.is_set() and cursor < len(self.events):
                pause = due - time.perf_counter()
                if pause > 0:
                    if self.stop.wait(pause):
                        break
                elif pause < -period and self.measuring.is_set():
                    stats.bg_late_sends += 1
                chunk = self.events[cursor : cursor + self.batch]
                cursor += len(chunk)
                now = wall_us() // MILLISECOND * MILLISECOND
                items = []
                for event in chunk:
                    at = max(now, last.get(event.agent_id, 0) + MILLISECOND)
                    last[event.agent_id] = at
                    items.append(event_item(event, at))
                body = json.dumps({"events": items}, separators=(",", ":")).encode()
                headers = self.tokens.headers()
                sent = time.perf_counter()
                answer = client.post("/api/v1/events", content=body, headers=headers)
                took = time.perf_counter() - sent
                accepted, _, rejected = _counts(answer)
                if answer.status_code != 202 and self.error is None:
                    self.error = f"{answer.status_code} {answer.text[:300]}"
                if self.measuring.is_set():
                    stats.bg_requests += 1
                    stats.bg_events += accepted
                    stats.bg_rejected += rejected
                    stats.bg_ms.append(1000 * took)
                due += period


def run_logins(
    server: Server,
    tokens: Tokens,
    work: Workload,
    args: argparse.Namespace,
    profile_to: Path | None,
) -> tuple[LoginRun, Path | None, str | None]:
    background = Background(server, tokens, work, args.bg_rate, args.bg_batch)
    background.start()
    time.sleep(args.warmup)
    rng = random.Random(f"{args.seed}/logins")
    stats = background.run_stats
    gap = 1.0 / args.login_rate
    expected = args.logins * gap
    profiler = Profiler(server.process.pid, expected, profile_to) if profile_to else None
    background.measuring.set()
    cpu0, t0, machine0 = server.cpu_seconds(), time.perf_counter(), machine_cpu()
    with httpx.Client(base_url=server.base, timeout=30) as client:
        # One request first, so the connection is open before the first measured login.
        client.get("/healthz")
        for agent_id in work.login_agents:
            time.sleep(rng.uniform(0.5 * gap, 1.5 * gap))  # random phase against the background
            _one_login(client, tokens, agent_id, stats)
    t1 = time.perf_counter()
    background.measuring.clear()
    stats.seconds = t1 - t0
    stats.server_cpu = (server.cpu_seconds() - cpu0) / stats.seconds
    stats.machine_cpu = busy_cores(machine0, machine_cpu())
    background.stop.set()
    background.join()
    profile = profiler.finish() if profiler else None
    return stats, profile, background.error


def _one_login(client: httpx.Client, tokens: Tokens, agent_id: str, stats: LoginRun) -> None:
    headers = tokens.headers()
    event = {
        "id": str(uuid.uuid4()),
        "agent_id": agent_id,
        "time": rfc3339(wall_us() // MILLISECOND * MILLISECOND),
        "kind": "login",
    }
    body = json.dumps({"events": [event]}).encode()
    sent = time.perf_counter()
    answer = client.post("/api/v1/events", content=body, headers=headers)
    posted = time.perf_counter()
    if answer.status_code != 202 or _counts(answer)[0] != 1:
        stats.failures.append(f"POST {answer.status_code} {answer.text[:200]}")
        return
    reads = 0
    while True:
        reply = client.get(f"/api/v1/agents/{agent_id}/adherence", headers=headers)
        reads += 1
        seen = time.perf_counter()
        if reply.status_code != 200:
            stats.failures.append(f"GET {reply.status_code} {reply.text[:200]}")
            return
        if reply.json()["system_presence"] != "Offline":
            break
        if seen - sent > 5:
            stats.failures.append(f"login of {agent_id} not readable after 5 s")
            return
    stats.logins += 1
    stats.total_ms.append(1000 * (seen - sent))
    stats.post_ms.append(1000 * (posted - sent))
    stats.read_ms.append(1000 * (seen - posted))
    stats.reads[reads] += 1


# ---- profile summary ---------------------------------------------------------------------

_CATEGORIES: tuple[tuple[str, str], ...] = (
    (
        "waiting (idle threads, lock waits, select)",
        r"(Condition\.wait|Event\.wait|EpollSelector|_wait_for_tstate_lock|[Ll]ock\.acquire)",
    ),
    (
        "database driver (sqlite3 / psycopg: execute, commit, fetch)",
        r"(do_execute|do_executemany|do_commit|do_rollback|psycopg/|sqlite3|fetchone|fetchall)",
    ),
    ("SQLAlchemy (compile, params, rows, pool)", r"sqlalchemy/"),
    ("adherence engine (adhere/domain)", r"adhere/domain/"),
    ("JSON (request parse, response render)", r"json/"),
    (
        "auth (JWT verify, token lookup)",
        r"(joserfc|cryptography|adhere/service/auth|adhere/adapters/auth_store)",
    ),
    ("adhere service and API code", r"adhere/"),
    (
        "HTTP, ASGI, asyncio (uvicorn, h11, starlette, fastapi, anyio)",
        r"(uvicorn|h11|starlette|fastapi|anyio|asyncio|pydantic)",
    ),
)


def summarize_profile(path: Path, top: int = 25) -> str:
    """What py-spy saw: time by category (by the leaf frame), then the heaviest functions."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    categories: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
        categories[_category(frames)] += samples
    if not total:
        return "  (no samples)"
    lines = [f"  {total:,} samples at 100 Hz over all threads (1 busy thread = 100 samples/s)"]
    lines.append("  by category of the innermost frame:")
    for name, samples in categories.most_common():
        lines.append(f"    {100 * samples / total:5.1f} %  {name}")
    lines.append("  own time:")
    for frame, samples in own.most_common(top):
        lines.append(f"    {100 * samples / total:5.1f} %  {frame}")
    lines.append("  inclusive (adhere functions and database calls):")
    wanted = [
        (frame, samples)
        for frame, samples in inclusive.most_common()
        if "adhere/" in frame or "do_execute" in frame or "do_commit" in frame
    ]
    for frame, samples in wanted[:top]:
        lines.append(f"    {100 * samples / total:5.1f} %  {frame}")
    return "\n".join(lines)


def _category(frames: Sequence[str]) -> str:
    leaf = frames[-1]
    for name, pattern in _CATEGORIES:
        if re.search(pattern, leaf):
            return name
    # A C function or the standard library: attribute it to the nearest known caller.
    for frame in reversed(frames[:-1]):
        for name, pattern in _CATEGORIES[1:]:
            if re.search(pattern, frame):
                return name
    return "other"


# ---- one database ------------------------------------------------------------------------


@dataclass(slots=True)
class DatabaseRun:
    kind: str
    setup_seconds: float = 0.0
    startup_seconds: float = 0.0
    ingest: IngestRun | None = None
    logins: LoginRun | None = None
    stored_before_logins: int = 0


class _Watcher(threading.Thread):
    """A board watching the whole time (`--watch`): the live stream, read and dropped, so the
    server renders every changed row as it would for a supervisor's browser."""

    def __init__(self, base: str, tokens: Tokens) -> None:
        super().__init__(daemon=True, name="watcher")
        self.base, self.tokens = base, tokens
        self.received = 0

    def run(self) -> None:
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.stream(
                "GET",
                self.base + "/api/v1/adherence/stream",
                headers=self.tokens.headers(),
                timeout=None,
            ) as stream,
        ):
            for chunk in stream.iter_bytes():
                self.received += len(chunk)


def run_database(kind: str, work: Workload, args: argparse.Namespace, scratch: Path) -> DatabaseRun:
    result = DatabaseRun(kind)
    directory = scratch / kind
    directory.mkdir()
    with database(kind, directory) as url:
        started = time.perf_counter()
        import_organisation(url, scenario_files(work, directory), parallel=kind != "sqlite")
        if args.setup_sql:
            run_sql(url, Path(args.setup_sql).read_text(encoding="utf-8"))
        client_id, secret = create_client(url)
        result.setup_seconds = time.perf_counter() - started
        print(
            f"[{kind}] organisation imported with `adhere import scenario` in "
            f"{result.setup_seconds:.1f} s ({len(work.pop.profiles):,} agents)",
            flush=True,
        )
        server = Server(url, directory / "server.log")
        try:
            result.startup_seconds = server.startup_seconds
            print(
                f"[{kind}] `adhere serve` answered /healthz {server.startup_seconds:.1f} s after "
                f"starting (port {server.port}, log: {directory.name}/server.log)",
                flush=True,
            )
            tokens = Tokens(server.base, client_id, secret)
            watcher = _Watcher(server.base, tokens) if args.watch else None
            if watcher is not None:
                watcher.start()
            parts = set(args.parts.split(","))
            if "a" in parts:
                prepared = time.perf_counter()
                bodies = ingest_bodies(
                    work, args.connections, args.batch_size, args.timing, args.batches
                )
                print(
                    f"[{kind}] a: {sum(map(len, bodies)):,} bodies prepared in "
                    f"{time.perf_counter() - prepared:.1f} s (not timed)",
                    flush=True,
                )
                profile_to = directory / "profile-a.txt" if args.profile else None
                result.ingest, profile = run_ingest(server, tokens, bodies, args, profile_to)
                del bodies
                print_ingest(kind, result.ingest)
                if watcher is not None:
                    print(f"[{kind}] a: the watching board received {watcher.received:,} bytes")
                if profile:
                    print(
                        f"[{kind}] a: server profile (py-spy, steady window), "
                        f"{_kept(args, kind, profile)}:"
                    )
                    print(summarize_profile(profile))
            if "b" in parts:
                if result.ingest is not None:
                    result.stored_before_logins = sum(r.accepted for r in result.ingest.requests)
                print(
                    f"[{kind}] b: the store holds {result.stored_before_logins:,} events "
                    "(from a) as b starts",
                    flush=True,
                )
                profile_to = directory / "profile-b.txt" if args.profile else None
                result.logins, profile, error = run_logins(server, tokens, work, args, profile_to)
                print_logins(kind, result.logins, args, error)
                if profile:
                    print(
                        f"[{kind}] b: server profile (py-spy, login window), "
                        f"{_kept(args, kind, profile)}:"
                    )
                    print(summarize_profile(profile))
        finally:
            server.stop()
            if args.keep:
                kept = Path(args.keep) / kind
                shutil.copytree(directory, kept, dirs_exist_ok=True)
    return result


def _kept(args: argparse.Namespace, kind: str, path: Path) -> Path:
    """Where `path` (in the run's scratch folder) is copied to when the run ends."""
    return Path(args.keep) / kind / path.name


# ---- report ------------------------------------------------------------------------------


def print_ingest(kind: str, run: IngestRun) -> None:
    steady = run.steady
    statuses = collections.Counter(r.status for r in run.requests)
    accepted = sum(r.accepted for r in run.requests)
    duplicate = sum(r.duplicate for r in run.requests)
    rejected = sum(r.rejected for r in run.requests)
    print(
        f"[{kind}] a: {len(run.requests):,} requests of {run.batch_size:,} events on "
        f"{run.connections} connection(s), timing {run.timing}; warm-up {run.warmup:.0f} s "
        f"excluded; steady window {run.seconds:.1f} s with {len(steady):,} requests"
        + (" (the prepared data ran out first)" if run.ran_out else "")
    )
    print(
        f"[{kind}] a: {run.events_per_second:,.0f} events/s accepted; request latency p50 "
        f"{run.latency_ms(0.5):.0f} ms, p99 {run.latency_ms(0.99):.0f} ms, max "
        f"{run.latency_ms(1.0):.0f} ms; CPU in cores: server {run.server_cpu:.2f}, this client "
        f"{run.client_cpu:.2f}, PostgreSQL {run.postgres_cpu:.2f}, anything else "
        f"{max(0.0, run.machine_cpu - run.server_cpu - run.client_cpu - run.postgres_cpu):.2f}"
        f"; machine {run.machine_cpu:.2f} of {os.cpu_count()}"
    )
    print(
        f"[{kind}] a: whole run: {accepted:,} accepted, {duplicate:,} duplicate, {rejected:,} "
        f"rejected; HTTP statuses {dict(statuses)}"
        + (f"; first error: {run.first_error}" if run.first_error else ""),
        flush=True,
    )


def print_logins(kind: str, run: LoginRun, args: argparse.Namespace, error: str | None) -> None:
    print(
        f"[{kind}] b: {run.logins} logins in {run.seconds:.1f} s under a background of "
        f"{run.bg_events / run.seconds:,.0f} events/s ({run.bg_requests} batches of "
        f"{args.bg_batch}, asked {args.bg_rate:,.0f}/s; {run.bg_late_sends} sent late; "
        f"{run.bg_rejected} rejected); background request p50 {percentile(run.bg_ms, 0.5):.1f} "
        f"ms, p99 {percentile(run.bg_ms, 0.99):.1f} ms; CPU in cores: server "
        f"{run.server_cpu:.2f}, whole machine {run.machine_cpu:.2f}"
        + (f"; background error: {error}" if error else "")
    )
    reads = ", ".join(f"{n} read(s): {count}" for n, count in sorted(run.reads.items()))
    print(
        f"[{kind}] b: login-to-readable p50 {percentile(run.total_ms, 0.5):.1f} ms, p99 "
        f"{percentile(run.total_ms, 0.99):.1f} ms, max {percentile(run.total_ms, 1.0):.1f} ms "
        f"(= POST p50 {percentile(run.post_ms, 0.5):.1f} / p99 {percentile(run.post_ms, 0.99):.1f}"
        f" ms + reads p50 {percentile(run.read_ms, 0.5):.1f} / p99 "
        f"{percentile(run.read_ms, 0.99):.1f} ms); {reads}"
        + (f"; {len(run.failures)} failures, first: {run.failures[0]}" if run.failures else ""),
        flush=True,
    )


def rows(runs: Sequence[DatabaseRun]) -> list[tuple[str, str, str, str, str]]:
    table = []
    for run in runs:
        if run.ingest is not None:
            rate = run.ingest.events_per_second
            target = TARGET_INGEST_EVENTS_PER_SECOND
            table.append(
                (
                    "a",
                    f"{run.kind}: ingest, batches of {run.ingest.batch_size:,}, "
                    f"{run.ingest.connections} conn., {run.ingest.timing}",
                    f"{rate:,.0f} events/s (p50 {run.ingest.latency_ms(0.5):.0f} ms, "
                    f"p99 {run.ingest.latency_ms(0.99):.0f} ms per request)",
                    f">= {target:,} events/s" + ("" if run.kind == "sqlite" else " (SQLite's)"),
                    verdict(rate, target, higher_is_better=True)
                    if run.kind == "sqlite"
                    else "(for reference)"
                    if rate < target
                    else "met",
                )
            )
        if run.logins is not None:
            p99 = percentile(run.logins.total_ms, 0.99)
            table.append(
                (
                    "b",
                    f"{run.kind}: login to readable, {run.logins.logins} logins",
                    f"p99 {p99:.1f} ms (p50 {percentile(run.logins.total_ms, 0.5):.1f} ms)",
                    f"p99 <= {TARGET_LOGIN_P99_MS:.0f} ms",
                    verdict(p99, TARGET_LOGIN_P99_MS, higher_is_better=False),
                )
            )
    return table


# ---- main --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--agents", type=int, default=10_000, help="agents (10,000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--parts", default="a,b", help="comma-separated parts to run (a,b)")
    parser.add_argument("--seconds", type=float, default=20, help="a: steady state, s (20)")
    parser.add_argument("--warmup", type=float, default=5, help="a and b: warm-up, s (5)")
    parser.add_argument("--batch-size", type=int, default=1000, help="a: events per batch")
    parser.add_argument(
        "--batches",
        type=int,
        default=None,
        help="a: at most this many batches (default: "
        "as many as the steady window takes, up to the generated day)",
    )
    parser.add_argument("--connections", type=int, default=2, help="a: connections (2)")
    parser.add_argument("--timing", choices=("live", "replay"), default="live")
    parser.add_argument("--logins", type=int, default=250, help="b: logins, one agent each")
    parser.add_argument("--login-rate", type=float, default=15, help="b: logins per second")
    parser.add_argument("--bg-rate", type=float, default=1000, help="b: background events/s")
    parser.add_argument("--bg-batch", type=int, default=100, help="b: background batch size")
    parser.add_argument("--bg-agents", type=int, default=1000, help="b: background agents")
    parser.add_argument(
        "--setup-sql",
        help="a file of SQL statements run on each database after the import and "
        "before the server starts: for what-if experiments (e.g. other indexes); not a figure",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the server (a and b)")
    parser.add_argument(
        "--watch", action="store_true", help="keep a live board stream open during the run"
    )
    parser.add_argument(
        "--keep",
        help="copy each database's scratch folder (server log, profiles) here "
        "(with --profile, default: a new folder under /tmp)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.profile and not Path(PY_SPY).exists():
        raise SystemExit(f"--profile needs py-spy at {PY_SPY} (pip install py-spy)")
    if args.profile and not args.keep:
        args.keep = tempfile.mkdtemp(prefix="adhere-service-bench-")
    sys.setswitchinterval(0.0005)  # client threads wake promptly (the background's JSON work)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print("Adhere service benchmark")
    print(f"  machine : {machine()}")
    print(f"  code    : {revision()}")
    print(f"  command : python {shlex.join(sys.argv)}")
    started = time.perf_counter()
    work = workload(args)
    end = max(events[-1].time for events in work.data.events.values() if events) + work.shift
    print(
        f"  workload: {len(work.pop.profiles):,} agents in {len(work.pop.units)} management "
        f"units, seed {args.seed}; one generated day shifted by "
        f"{work.shift / MINUTE / 1440:+.3f} days to end at {format_instant(end)}; "
        f"a uses {len(work.ingest_agents):,} agents ({work.events_of(work.ingest_agents):,} "
        f"events), b {len(work.background_agents):,} background agents and "
        f"{len(work.login_agents):,} login agents; generated in "
        f"{time.perf_counter() - started:.1f} s (not timed)",
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="adhere-service-bench-") as scratch:
        for kind in kinds:
            results.append(run_database(kind, work, args, Path(scratch)))
    print()
    print_table(rows(results))


if __name__ == "__main__":
    main()

"""How fast and how big the adherence engine is on a realistic contact-center workload.

    python bench/engine_bench.py                      # full run: 10,000 agents, 7 batch days
    python bench/engine_bench.py --agents 500         # quick run, well under a minute
    python bench/engine_bench.py --agents 500 --profile in-order   # where the time goes

Four figures, each printed next to its target (the targets are product requirements; this
script reports them and never asserts):

a. incremental engine throughput, events delivered in time order, clock ticking every second;
b. the same with 5 % of the events delivered late (out of order within the agent);
c. batch evaluation of every agent over `--days` local days;
d. live engine state per agent after one day, with and without compaction.

Generation is timed separately and excluded from every figure. Everything runs in this one
process, single-threaded, as the engine does in production.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import linecache
import os
import platform
import pstats
import shlex
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import adhere
from adhere.domain.adherence import Classifier
from adhere.domain.engine import AdherenceEngine
from adhere.domain.evaluation import agent_inputs, evaluate_agent
from adhere.domain.instants import MICROS_PER_SECOND, Instant, format_instant
from adhere.domain.local_days import first_instant
from adhere.domain.metrics import Metrics
from adhere.domain.scenario import Window
from generator import (
    BASE_DATE,
    CODES,
    DEFAULT_SEED,
    Dataset,
    Delivery,
    Population,
    Profile,
    generate,
    in_time_order,
    population,
    with_late_events,
)

TARGET_EVENTS_PER_SECOND = 200_000
TARGET_BATCH_SECONDS = 5.0
TARGET_BATCH_AGENT_DAYS = 10_000 * 7
TARGET_BYTES_PER_AGENT = 2_048

TICK = MICROS_PER_SECOND
"""The engine clock advances once per simulated second of event time, as a live service's
timer would; those `advance_to` calls are part of the measured run time."""
HOUR = 3_600 * MICROS_PER_SECOND
PARTS = ("a", "b", "c", "d")

_T = TypeVar("_T")


# ---- timing helpers ----------------------------------------------------------------------


@dataclass(slots=True)
class Stopwatch:
    """Accumulates generation time, so it can be reported and kept out of every figure."""

    seconds: dict[str, float] = field(default_factory=dict)

    def time(self, label: str, work: Callable[[], _T]) -> _T:
        start = time.perf_counter()
        result = work()
        self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start
        return result


# ---- a, b: the incremental engine --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedRun:
    events: int
    seconds: float
    advance_calls: int
    advance_seconds: float
    changes: int
    corrections: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def build_engine(pop: Population, data: Dataset) -> AdherenceEngine:
    """An engine holding every unit, agent and published schedule, before any event."""
    engine = AdherenceEngine()
    for unit in pop.units:
        engine.configure_unit(unit, pop.codes)
    for agent in pop.agents():
        engine.add_agent(agent)
    for agent_id, activities in data.schedules.items():
        if activities:
            engine.replace_schedule(agent_id, activities[0].start, activities[-1].end, activities)
    return engine


def feed(engine: AdherenceEngine, deliveries: Sequence[Delivery]) -> FeedRun:
    """Deliver every event, ticking the clock before each event for every whole second of
    delivery time that has passed (so the clock stays strictly before the next delivery, as
    a live service's clock does). Returned changes are counted, then dropped."""
    next_tick = deliveries[0].at // TICK * TICK
    advance_calls = changes = corrections = 0
    advance_seconds = 0.0
    ingest, advance_to, clock = engine.ingest, engine.advance_to, time.perf_counter
    start = clock()
    for at, event in deliveries:
        while next_tick < at:
            tick_start = clock()
            changes += len(advance_to(next_tick))
            advance_seconds += clock() - tick_start
            advance_calls += 1
            next_tick += TICK
        found = ingest(event)
        if found:
            changes += len(found)
            corrections += sum(1 for change in found if change.correction)
    elapsed = clock() - start
    return FeedRun(len(deliveries), elapsed, advance_calls, advance_seconds, changes, corrections)


def live_run(pop: Population, data: Dataset, deliveries: Sequence[Delivery]) -> FeedRun:
    """One measured feed into a fresh engine; setup (units, agents, schedules) is not timed."""
    engine = build_engine(pop, data)
    gc.collect()
    return feed(engine, deliveries)


@dataclass(frozen=True, slots=True)
class Lateness:
    late: int
    total: int
    median_seconds: float
    max_seconds: float


def lateness(deliveries: Sequence[Delivery]) -> Lateness:
    """How late the late events of a feed are (delivery instant minus event time)."""
    delays = sorted(d.at - d.event.time for d in deliveries if d.at > d.event.time)
    if not delays:
        return Lateness(0, len(deliveries), 0.0, 0.0)
    median = delays[len(delays) // 2] / MICROS_PER_SECOND
    return Lateness(len(delays), len(deliveries), median, delays[-1] / MICROS_PER_SECOND)


# ---- c: batch evaluation -----------------------------------------------------------------


@dataclass(slots=True)
class BatchRun:
    """Seconds are kept per repetition (each repetition evaluates every agent once)."""

    repeat: int
    agent_days: int = 0
    events: int = 0
    inputs_seconds: list[float] = field(default_factory=list)
    evaluate_seconds: list[float] = field(default_factory=list)
    segments: int = 0
    exceptions: int = 0
    totals: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        self.inputs_seconds = [0.0] * self.repeat
        self.evaluate_seconds = [0.0] * self.repeat

    @property
    def all_seconds(self) -> list[float]:
        return sorted(
            i + e for i, e in zip(self.inputs_seconds, self.evaluate_seconds, strict=True)
        )

    @property
    def median(self) -> int:
        """The index of the median repetition."""
        totals = [i + e for i, e in zip(self.inputs_seconds, self.evaluate_seconds, strict=True)]
        return sorted(range(self.repeat), key=totals.__getitem__)[self.repeat // 2]

    @property
    def seconds(self) -> float:
        return self.inputs_seconds[self.median] + self.evaluate_seconds[self.median]


def batch_run(
    pop: Population,
    days: int,
    watch: Stopwatch,
    repeat: int = 1,
    profiler: cProfile.Profile | None = None,
) -> BatchRun:
    """Every agent over `days` local days of its unit, one unit at a time: a unit's data is
    generated (untimed), evaluated `repeat` times (timed, and profiled if asked), then
    dropped, so memory stays bounded."""
    run = BatchRun(repeat)
    for unit in pop.units:
        profiles = pop.of_unit(unit.id)
        data = watch.time("c", partial(generate, pop, days, profiles))
        for repetition in range(repeat):
            gc.collect()
            if profiler is not None:
                profiler.enable()
            _evaluate_unit(run, repetition, data, profiles, days)
            if profiler is not None:
                profiler.disable()
        run.agent_days += len(profiles) * days
        del data
    return run


def _evaluate_unit(
    run: BatchRun, repetition: int, data: Dataset, profiles: Sequence[Profile], days: int
) -> None:
    """Build each agent's inputs and evaluate it over the unit's local days; only the first
    repetition's results are kept (they are the same every time)."""
    if not profiles:
        return
    unit = profiles[0].unit
    classifier = Classifier(unit.settings, CODES)
    end_date = BASE_DATE + timedelta(days=days)
    window = Window(first_instant(unit.zone, BASE_DATE), first_instant(unit.zone, end_date))
    clock = time.perf_counter
    for profile in profiles:
        agent_id = profile.agent.id
        events = data.events[agent_id]
        started = clock()
        inputs = agent_inputs(data.schedules[agent_id], events, ())
        built = clock()
        result = evaluate_agent(agent_id, inputs, classifier, unit, window)
        done = clock()
        run.inputs_seconds[repetition] += built - started
        run.evaluate_seconds[repetition] += done - built
        if repetition == 0:
            run.totals.add(result.metrics)
            run.events += len(events)
            run.segments += len(result.segments)
            run.exceptions += len(result.exceptions)


# ---- d: live state per agent -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryRun:
    label: str
    agents: int
    now: Instant
    recent_agents: int  # agents with an event in the hour before `now`
    full_bytes: int
    compacted_bytes: int
    peak_bytes: int
    full_top: list[tuple[Allocation, int]]
    compacted_top: list[tuple[Allocation, int]]


Allocation = tuple[str, int, str | None]
"""(file, line) in Adhere or the benchmark, and the library file:line that did the allocating
for it (a namedtuple's generated ``__new__`` shows up as ``<string>:1``), if different."""

_FRAMES = 2  # enough to see past namedtuple and uuid internals to the caller (1 more costs ~30 %)


def memory_run(n_agents: int, seed: int, watch: Stopwatch, *, busiest: bool) -> MemoryRun:
    """Bytes still allocated, as tracemalloc sees them, once one day has been fed (to its end,
    or only up to the instant when most agents are on shift) and every reference but the
    engine's has been dropped; then again after `compact(now - 1 hour)`.

    Tracing starts before generation so that objects the engine keeps from its inputs (event
    id strings, Agent and Activity objects) are counted; everything the benchmark itself holds
    is released before measuring, so what remains is what the engine keeps alive.
    """
    gc.collect()
    tracemalloc.start(_FRAMES)
    baseline = tracemalloc.get_traced_memory()[0]
    engine, recent = watch.time("d", lambda: _fed_engine(n_agents, seed, busiest=busiest))
    gc.collect()
    full = tracemalloc.get_traced_memory()[0] - baseline
    full_top = _top_allocations(tracemalloc.take_snapshot())
    now = engine.now()
    assert now is not None  # the feed ticked the clock
    engine.compact(now - HOUR)
    gc.collect()
    compacted = tracemalloc.get_traced_memory()[0] - baseline
    compacted_top = _top_allocations(tracemalloc.take_snapshot())
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    del engine
    label = "busiest instant" if busiest else "end of the day"
    return MemoryRun(label, n_agents, now, recent, full, compacted, peak, full_top, compacted_top)


def _fed_engine(n_agents: int, seed: int, *, busiest: bool) -> tuple[AdherenceEngine, int]:
    """Generate one day and feed it in time order, to its end or to the busiest instant; only
    the engine (and a count) survive this function."""
    pop = population(n_agents, seed)
    data = generate(pop, 1)
    deliveries = in_time_order(data.events.values())
    now = _busiest_instant(data) if busiest else deliveries[-1].at + TICK
    engine = build_engine(pop, data)
    feed(engine, [d for d in deliveries if d.at < now])
    engine.advance_to(now)
    recent = sum(
        1 for events in data.events.values() if any(now - HOUR < e.time <= now for e in events)
    )
    return engine, recent


def _busiest_instant(data: Dataset) -> Instant:
    """The instant at which the most agents are inside their scheduled shift."""
    edges = sorted(
        edge
        for activities in data.schedules.values()
        if activities
        for edge in ((activities[0].start, 1), (activities[-1].end, -1))
    )
    best, on_shift, at = 0, 0, edges[0][0]
    for instant, step in edges:
        on_shift += step
        if on_shift > best:
            best, at = on_shift, instant
    return at


def _top_allocations(
    snapshot: tracemalloc.Snapshot, limit: int = 8
) -> list[tuple[Allocation, int]]:
    """The source lines that allocated most of what is alive, to say what the bytes are.
    Source text is looked up later, after tracing stops, so that it is not counted."""
    sizes: dict[Allocation, int] = {}
    for stat in snapshot.statistics("traceback"):
        key = _allocation(stat.traceback)
        sizes[key] = sizes.get(key, 0) + stat.size
    return sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:limit]


def _allocation(traceback: tracemalloc.Traceback) -> Allocation:
    innermost = traceback[-1]
    for frame in reversed(traceback):
        if _ours(frame.filename):
            via = None if frame == innermost else f"{_short(innermost.filename)}:{innermost.lineno}"
            return (frame.filename, frame.lineno, via)
    return (innermost.filename, innermost.lineno, None)


def _ours(filename: str) -> bool:
    return "/src/adhere/" in filename or "/bench/" in filename


def _short(filename: str) -> str:
    for marker in ("/src/adhere/", "/bench/", "/lib/python"):
        if marker in filename:
            return filename[filename.index(marker) + 1 :]
    return filename


def _describe(allocation: Allocation) -> str:
    filename, lineno, via = allocation
    code = linecache.getline(filename, lineno).strip()
    where = f"{_short(filename)}:{lineno}"
    return f"{where}  {code[:64]}" + (f"  [via {via}]" if via else "")


# ---- report ------------------------------------------------------------------------------


def verdict(value: float, target: float, *, higher_is_better: bool) -> str:
    """'met', or how far off: the ratio that would have to be gained."""
    ratio = target / value if higher_is_better else value / target
    if ratio <= 1:
        return "met"
    return f"MISSED by {ratio:.2f}x" if ratio < 10 else f"MISSED by {ratio:.1f}x"


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {_cpu_model()}, {os.cpu_count()} CPUs "
        f"(os.cpu_count), {platform.python_implementation()} {platform.python_version()}"
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def revision() -> str:
    """The commit measured, and whether src/ differs from it: figures are only comparable
    between runs of the same code."""
    repo = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], check=False, cwd=repo, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else "?"

    package = Path(adhere.__file__).resolve().parent
    if not package.is_relative_to(repo / "src"):
        return f"adhere imported from {package}, not from this repository's src/"
    dirty = git("status", "--porcelain", "--", "src")
    commit = git("log", "-1", "--format=%h %s")
    return commit + (" (src/ has uncommitted changes)" if dirty else "")


def print_header(args: argparse.Namespace, pop: Population, code: str) -> None:
    print("Adhere engine benchmark")
    print(f"  machine : {machine()}")
    print(f"  code    : {code}")
    print(f"  command : python {shlex.join(sys.argv)}")
    print(
        f"  workload: {len(pop.profiles):,} agents in {len(pop.units)} management units "
        f"(one per time zone), seed {args.seed}, days from {BASE_DATE.isoformat()}"
    )
    print(flush=True)


def print_live(label: str, run: FeedRun, agent_days: int) -> None:
    print(
        f"{label}: {run.events:,} events ({run.events / agent_days:.1f} per agent-day) and "
        f"{run.advance_calls:,} advance_to calls (one per simulated second, included) "
        f"in {run.seconds:.2f} s; advance_to took {run.advance_seconds:.2f} s of it; "
        f"{run.changes:,} adherence changes reported, {run.corrections:,} of them corrections",
        flush=True,
    )


def print_batch(run: BatchRun, days: int) -> None:
    totals, median = run.totals, run.median
    runs = ", ".join(f"{seconds:.2f}" for seconds in run.all_seconds)
    print(
        f"c: {run.agent_days:,} agent-days ({days} local days per agent), {run.events:,} events "
        f"in {run.seconds:.2f} s (median of runs: {runs} s) = agent_inputs "
        f"{run.inputs_seconds[median]:.2f} s + evaluate_agent "
        f"{run.evaluate_seconds[median]:.2f} s; {run.segments:,} segments, "
        f"{run.exceptions:,} exceptions; fleet adherence {totals.adherence_percent or 0:.1f} %, "
        f"conformance {totals.conformance_percent or 0:.1f} % (realism check)",
        flush=True,
    )


def print_memory(run: MemoryRun) -> None:
    per_agent = run.full_bytes / run.agents
    print(
        f"d ({run.label}, now = {format_instant(run.now)}): tracemalloc, {run.agents:,} agents "
        f"fed one day in time order: {run.full_bytes / 1e6:.1f} MB live ({per_agent:,.0f} "
        f"B/agent), peak {run.peak_bytes / 1e6:.0f} MB during generation + feed; after "
        f"compact(now - 1 h): {run.compacted_bytes / 1e6:.1f} MB "
        f"({run.compacted_bytes / run.agents:,.0f} B/agent); {run.recent_agents:,} agents "
        f"({100 * run.recent_agents / run.agents:.0f} %) had events in that last hour"
    )
    for title, top in (("uncompacted", run.full_top), ("compacted", run.compacted_top)):
        print(f"   largest live allocations, {title} (bytes per agent, allocating line):")
        for allocation, size in top:
            print(f"     {size / run.agents:9,.0f}  {_describe(allocation)}")
    print(flush=True)


MEMORY_INCLUDED = (
    "d measures every block allocated since tracing started (before generation) and still "
    "alive once only the engine is referenced: its per-agent slots and AgentInputs (the held "
    "events, in whatever representation the engine uses), the record of seen event ids with "
    "the id strings, Agent and Activity objects, cached states, the timer heap, units and the "
    "classifier memo. Not included: objects created before tracing (interpreter, modules, the "
    "generator's constants such as the ManagementUnits and ActivityCodes, memo tables filled "
    "at import), and allocator slack (process RSS is higher)."
)


def print_table(rows: list[tuple[str, str, str, str, str]]) -> None:
    header = ("part", "measure", "figure", "target", "result")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")


def live_row(part: str, measure: str, run: FeedRun) -> tuple[str, str, str, str, str]:
    rate = run.events_per_second
    target = TARGET_EVENTS_PER_SECOND
    return (
        part,
        measure,
        f"{rate:,.0f} events/s",
        f">= {target:,} events/s",
        verdict(rate, target, higher_is_better=True),
    )


def batch_row(run: BatchRun) -> tuple[str, str, str, str, str]:
    target = TARGET_BATCH_SECONDS * run.agent_days / TARGET_BATCH_AGENT_DAYS
    scaled = "" if run.agent_days == TARGET_BATCH_AGENT_DAYS else " (scaled from 5 s/70,000)"
    return (
        "c",
        f"batch evaluation, {run.agent_days:,} agent-days",
        f"{run.seconds:.2f} s ({run.agent_days / run.seconds:,.0f} agent-days/s)",
        f"<= {target:.2f} s{scaled}",
        verdict(run.seconds, target, higher_is_better=False),
    )


def memory_rows(runs: Sequence[MemoryRun]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for run in runs:
        measured = [("compact(now-1h)", run.compacted_bytes)]
        if run.label == "end of the day":
            measured.insert(0, ("no compaction", run.full_bytes))
        for how, total in measured:
            per_agent = total / run.agents
            rows.append(
                (
                    "d",
                    f"live state per agent, 1 day, {run.label}, {how}",
                    f"{per_agent:,.0f} B/agent",
                    f"<= {TARGET_BYTES_PER_AGENT:,} B/agent",
                    verdict(per_agent, TARGET_BYTES_PER_AGENT, higher_is_better=False),
                )
            )
    return rows


# ---- main --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=10_000, help="agents (default 10,000)")
    parser.add_argument("--days", type=int, default=7, help="local days for batch c (7)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated parts to run (a,b,c,d)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of a, b and c; the median is reported (1)"
    )
    parser.add_argument(
        "--profile",
        choices=("in-order", "late", "batch"),
        help="run one part under cProfile instead, and print its top functions",
    )
    return parser.parse_args(argv)


def median_run(
    label: str, pop: Population, data: Dataset, deliveries: Sequence[Delivery], repeat: int
) -> FeedRun:
    """The median of `repeat` runs, each on a fresh engine (the machine is shared and noisy)."""
    runs = sorted(
        (live_run(pop, data, deliveries) for _ in range(repeat)),
        key=lambda run: run.events_per_second,
    )
    median = runs[repeat // 2]
    print_live(label, median, len(pop.profiles))
    if repeat > 1:
        rates = ", ".join(f"{run.events_per_second:,.0f}" for run in runs)
        print(f"{label}: median of {repeat} runs: {rates} events/s", flush=True)
    return median


def run_live(
    pop: Population, parts: set[str], watch: Stopwatch, repeat: int
) -> list[FeedRun | None]:
    """Parts a and b share one generated day; each run feeds a fresh engine."""
    if not parts & {"a", "b"}:
        return [None, None]
    data = watch.time("a+b", lambda: generate(pop, 1))
    in_order = late_run = None
    if "a" in parts:
        deliveries = watch.time("a+b", lambda: in_time_order(data.events.values()))
        in_order = median_run("a", pop, data, deliveries, repeat)
        del deliveries
    if "b" in parts:
        late = watch.time("a+b", lambda: with_late_events(data.events.values(), pop.seed))
        shape = lateness(late)
        print(
            f"b: {shape.late:,} of {shape.total:,} events ({100 * shape.late / shape.total:.2f} %) "
            f"delivered late, each after a later event of its agent; lateness median "
            f"{shape.median_seconds:.0f} s, max {shape.max_seconds:.0f} s"
        )
        late_run = median_run("b", pop, data, late, repeat)
    return [in_order, late_run]


def run_all(args: argparse.Namespace, code: str) -> None:
    parts = set(args.parts.split(","))
    watch = Stopwatch()
    pop = watch.time("population", lambda: population(args.agents, args.seed))
    print_header(args, pop, code)
    in_order, late = run_live(pop, parts, watch, args.repeat)
    batch = batch_run(pop, args.days, watch, args.repeat) if "c" in parts else None
    if batch is not None:
        print_batch(batch, args.days)
    memory = []
    if "d" in parts:
        for busiest in (False, True):
            memory.append(memory_run(args.agents, args.seed, watch, busiest=busiest))
            print_memory(memory[-1])
        print(MEMORY_INCLUDED)
    print("generation, excluded from every figure: " + _generation(watch))
    print()
    rows = []
    if in_order is not None:
        rows.append(live_row("a", "incremental, events in time order", in_order))
    if late is not None:
        rows.append(live_row("b", "incremental, 5 % of events late", late))
    if batch is not None:
        rows.append(batch_row(batch))
    rows += memory_rows(memory)
    print_table(rows)


def _generation(watch: Stopwatch) -> str:
    labels = {
        "population": "population",
        "a+b": "a+b (1 day + orderings)",
        "c": "c (batch days)",
        "d": "d (2 x (1 day + feed), under tracemalloc)",
    }
    return ", ".join(f"{labels[k]} {v:.1f} s" for k, v in watch.seconds.items())


def run_profile(args: argparse.Namespace, code: str) -> None:
    """One part under cProfile; shares are of the profiled run (cProfile inflates call costs,
    so read them as proportions, not as absolute times)."""
    pop = population(args.agents, args.seed)
    profiler = cProfile.Profile()
    if args.profile == "batch":
        batch_run(pop, args.days, Stopwatch(), profiler=profiler)  # generation not profiled
        title = f"batch, {args.agents:,} agents x {args.days} days"
    else:
        data = generate(pop, 1)
        if args.profile == "in-order":
            deliveries = in_time_order(data.events.values())
        else:
            deliveries = with_late_events(data.events.values(), pop.seed)
        engine = build_engine(pop, data)
        gc.collect()
        profiler.runcall(feed, engine, deliveries)
        title = f"{args.profile}, {args.agents:,} agents x 1 day"
    print(f"code: {code}")
    print_profile(pstats.Stats(profiler), title)


def print_profile(stats: pstats.Stats, title: str, limit: int = 15) -> None:
    """Top functions by own time, with their share of the run and their cumulative share."""
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values())
    rows = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:limit]
    print(f"cProfile of {title}: {total:.2f} s own time in total")
    by_file: dict[str, float] = {}
    for (filename, _, _), entry in entries.items():
        name = _short(filename).rsplit("/", 1)[-1] if filename != "~" else "builtins"
        by_file[name] = by_file.get(name, 0.0) + entry[2]
    shares = sorted(by_file.items(), key=lambda item: item[1], reverse=True)[:8]
    print("  own time by file: " + ", ".join(f"{n} {100 * t / total:.0f} %" for n, t in shares))
    print(f"  {'own %':>6} {'cum %':>6} {'calls':>12}  function")
    for (filename, line, name), (_, calls, own, cumulative, _) in rows:
        where = f"{_short(filename)}:{line}({name})" if line else name
        print(f"  {100 * own / total:6.1f} {100 * cumulative / total:6.1f} {calls:12,}  {where}")


def remember_sources() -> None:
    """Read the source of every imported Adhere and benchmark module now, so that allocation
    sites printed at the end show the code that ran, even if the files change meanwhile."""
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if filename and _ours(filename):
            linecache.getlines(filename)


def main(argv: Sequence[str] | None = None) -> None:
    remember_sources()
    code = revision()  # as early as possible: the files may change while this runs
    args = parse_args(argv)
    if args.profile:
        run_profile(args, code)
    else:
        run_all(args, code)


if __name__ == "__main__":
    main()

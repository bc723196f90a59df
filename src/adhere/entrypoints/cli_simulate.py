"""`adhere simulate`: a living contact center, driven through the public API.

Also a library: `run_simulation(options, stop)` (or `simulate_async` inside a running loop)
is what `make demo` and the benchmarks call.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from adhere.adapters.adhere_client import AdhereClient, ApiRefused, ApiUnavailable
from adhere.adapters.simulation_sinks import ApiSink, JsonlSink
from adhere.adapters.token_manager import (
    InsufficientScope,
    ScopeNotGranted,
    TokenError,
    TokenRequestFailed,
)
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MICROS_PER_SECOND, Instant, format_instant, parse_instant
from adhere.domain.simulation import MAX_UNITS, Center, build_center
from adhere.entrypoints.cli_options import fail
from adhere.service import simulation
from adhere.service.simulation import Pacing, StopSignal

DEFAULT_URL = "http://127.0.0.1:8000"
MAX_AGENTS = 100_000
MAX_SPEED = 10_000.0
SETUP_SCOPE = "schedule:agent:write"
EVENTS_SCOPE = "events:write"


@dataclass(frozen=True, slots=True)
class SimulationOptions:
    """What `adhere simulate` takes; a bad value raises `InvalidInput` naming its option."""

    url: str = DEFAULT_URL
    client_id: str | None = None
    client_secret: str | None = None
    agents: int = 300
    units: int = 3
    seed: int | None = None  # None: a random one, printed
    speed: float = 1.0
    start: Instant | None = None  # None: now
    duration: Instant | None = None  # microseconds; None: until the simulated day ends
    out: Path | None = None  # write JSON Lines instead of posting
    setup_only: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.agents <= MAX_AGENTS:
            raise InvalidInput(f"must be between 1 and {MAX_AGENTS:,}", "--agents")
        if not 1 <= self.units <= MAX_UNITS:
            raise InvalidInput(f"must be between 1 and {MAX_UNITS}", "--units")
        if self.seed is not None and self.seed < 0:
            raise InvalidInput("must not be negative", "--seed")
        if not (math.isfinite(self.speed) and 0 < self.speed <= MAX_SPEED):
            raise InvalidInput(f"must be more than 0 and at most {MAX_SPEED:,.0f}", "--speed")
        if self.duration is not None and self.duration <= 0:
            raise InvalidInput("must be longer than 0", "--duration")
        if self.out is None and not re.match(r"https?://[^/\s]+", self.url):
            raise InvalidInput(f"must be an http:// or https:// URL, not {self.url!r}", "--url")


@dataclass(frozen=True, slots=True)
class SimulationOutcome:
    seed: int
    center: Center
    progress: simulation.Progress | None  # None: set up only


class SimulationFailed(Exception):
    """The simulation could not go on; the message says why, and what to do about it."""


def run_simulation(
    options: SimulationOptions,
    stop: StopSignal | None = None,
    console: Console | None = None,
) -> SimulationOutcome:
    """Run a simulation to its end, or until `stop` is set (a `threading.Event` set from
    another thread, say); in a thread of its own, it brings its own event loop."""
    return asyncio.run(simulate_async(options, stop, console))


async def simulate_async(
    options: SimulationOptions,
    stop: StopSignal | None = None,
    console: Console | None = None,
    *,
    handle_signals: bool = False,
) -> SimulationOutcome:
    """Build the center, set it up in the sink and release its events. `handle_signals`:
    SIGINT and SIGTERM stop it cleanly (from the main thread only)."""
    console = console or Console(stderr=True)
    own_stop = asyncio.Event()  # what Ctrl-C sets
    stopping = own_stop if stop is None else _AnyOf(own_stop, stop)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**6)
    now = simulation.SystemClock().now()
    start = (
        options.start if options.start is not None else now // MICROS_PER_SECOND * MICROS_PER_SECOND
    )
    if options.out is None and start > now:
        raise InvalidInput("must not be in the future when posting to a server", "--start")
    center = build_center(options.agents, options.units, seed, start)
    sink = _sink(options, stopping, None if options.quiet else _Troubles(console))
    if not options.quiet:
        _introduce(console, options, center)
    with _signals(handle_signals, own_stop):
        try:
            progress = await _run(options, center, sink, stopping, console, now)
        except (ApiRefused, ApiUnavailable, TokenError) as error:
            raise SimulationFailed(_explained(error, options)) from None
        finally:
            await sink.aclose()
    if not options.quiet and progress is not None:
        console.print(_summary(progress, options), highlight=False, soft_wrap=True)
    return SimulationOutcome(seed, center, progress)


def _sink(
    options: SimulationOptions, stop: StopSignal, on_trouble: Callable[[str], None] | None
) -> ApiSink | JsonlSink:
    if options.out is not None:
        try:
            return JsonlSink(options.out)
        except OSError as error:
            raise InvalidInput(f"cannot write {options.out}: {error.strerror}", "--out") from None
    if not (options.client_id and options.client_secret):
        raise InvalidInput(
            "and --client-secret (or ADHERE_CLIENT_ID and ADHERE_CLIENT_SECRET) are needed to "
            f"post to {options.url}: a client with the scopes {SETUP_SCOPE} and {EVENTS_SCOPE}"
            " (adhere clients create); or write a file with --out",
            "--client-id",
        )
    scopes = [SETUP_SCOPE] if options.setup_only else [SETUP_SCOPE, EVENTS_SCOPE]
    client = AdhereClient(
        options.url,
        options.client_id,
        options.client_secret,
        scopes,
        giving_up=stop.is_set,
        on_trouble=on_trouble,
    )
    return ApiSink(client)


class _AnyOf:
    def __init__(self, *signals: StopSignal) -> None:
        self._signals = signals

    def is_set(self) -> bool:
        return any(one.is_set() for one in self._signals)


class _Troubles:
    """Says what the retries are about (the server not up yet, say), once until it changes."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._last: str | None = None

    def __call__(self, why: str) -> None:
        if why != self._last:
            self._last = why
            self._console.print(f"{why}; retrying", highlight=False, soft_wrap=True)


async def _run(
    options: SimulationOptions,
    center: Center,
    sink: ApiSink | JsonlSink,
    stop: StopSignal,
    console: Console,
    launched: Instant,
) -> simulation.Progress | None:
    shown = not options.quiet and console.is_terminal
    pacing = None if options.out is not None else Pacing(center.anchor, options.speed, launched)
    end = None if options.duration is None else center.anchor + options.duration
    with _setup_bar(console, shown) as on_setup:
        await sink.set_up(center, on_setup)
    if options.setup_only or stop.is_set():
        return None
    with _live_line(console, shown, options) as on_progress:
        return await simulation.simulate(
            center.events(), sink, pacing=pacing, end=end, stop=stop, on_progress=on_progress
        )


@contextmanager
def _setup_bar(console: Console, shown: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not shown:
        yield None
        return
    columns = (TextColumn("setting up the center"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("setup", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def _live_line(
    console: Console, shown: bool, options: SimulationOptions
) -> Iterator[Callable[[simulation.Progress], None] | None]:
    """One line, rewritten as events go: sent, rate, simulated clock (on a terminal only)."""
    if not shown:
        yield None
        return
    with Live(Text(""), console=console, refresh_per_second=4, transient=True) as live:
        yield lambda progress: live.update(Text(_line(progress, options)))


@contextmanager
def _signals(wanted: bool, stop: asyncio.Event) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) sets `stop`: what is due is sent, then the run ends. A second
    Ctrl-C interrupts at once."""
    if not wanted or threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()

    def first(number: signal.Signals) -> None:
        stop.set()
        loop.remove_signal_handler(number)

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, first, number)
    try:
        yield
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


def _introduce(console: Console, options: SimulationOptions, center: Center) -> None:
    units = ", ".join(unit.name.removesuffix(" contact center") for unit in center.units)
    missed = sum(agent.misses_shift for agent in center.agents)
    target = f"writing {options.out}" if options.out else f"posting to {options.url}"
    pace = "" if options.out else f" at {options.speed:g}× from {format_instant(center.anchor)}"
    console.print(
        f"Simulating {len(center.agents):,} agents in {len(center.units)} management units "
        f"({units}), {len(center.teams)} teams; {missed} will miss their shift. "
        f"Seed {center.seed} (repeat with --seed {center.seed}); {target}{pace}.",
        highlight=False,
        soft_wrap=True,
    )


def _line(progress: simulation.Progress, options: SimulationOptions) -> str:
    line = f"{progress.sent:,} events sent · {progress.rate:,.0f}/s"
    if progress.clock is not None:
        line += f" · simulated clock {format_instant(progress.clock)[11:19]}Z"
        if options.speed != 1:
            line += f" ({options.speed:g}×)"
    if progress.rejected:
        line += f" · {progress.rejected:,} rejected ({progress.rejection})"
    return line


def _summary(progress: simulation.Progress, options: SimulationOptions) -> str:
    how = "stopped" if progress.stopped else "done"
    where = f"written to {options.out}" if options.out else f"accepted {progress.accepted:,}"
    text = f"{how}: {progress.sent:,} events sent ({where}"
    if options.out is None:
        text += f", {progress.duplicate:,} duplicates, {progress.rejected:,} rejected"
    text += ")"
    if progress.rejection:
        text += f"; first rejection: {progress.rejection}"
    if progress.clock is not None:
        text += f"; simulated clock at {format_instant(progress.clock)}"
    return text


def _explained(error: Exception, options: SimulationOptions) -> str:
    """The error, and for a scope trouble which scopes the simulator's client needs."""
    scope_trouble = (
        isinstance(error, (InsufficientScope, ScopeNotGranted))
        or (isinstance(error, TokenRequestFailed) and error.error == "invalid_scope")
        or (isinstance(error, ApiRefused) and error.status == 403)
    )
    if not scope_trouble:
        return str(error)
    return (
        f"{error}. The simulator's client needs the scopes {SETUP_SCOPE} and {EVENTS_SCOPE}: "
        f'adhere clients set-scopes {options.client_id} --scopes "{SETUP_SCOPE} {EVENTS_SCOPE}"'
    )


_DURATION = re.compile(
    r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?"
)


def parse_duration(text: str) -> Instant:
    """``8h``, ``90m``, ``1h30m``, ``45s``: microseconds."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise InvalidInput(f"{text!r} is not a duration like 8h, 90m, 1h30m or 45s", "--duration")
    hours, minutes, seconds = (float(match[unit] or 0) for unit in "hms")
    return round((hours * 3600 + minutes * 60 + seconds) * MICROS_PER_SECOND)


def simulate(
    url: Annotated[str, typer.Option(help="The Adhere server to drive.")] = DEFAULT_URL,
    client_id: Annotated[
        str | None,
        typer.Option(
            envvar="ADHERE_CLIENT_ID",
            help=f"An OAuth client with the scopes {SETUP_SCOPE} and {EVENTS_SCOPE}.",
            show_default=False,
        ),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(envvar="ADHERE_CLIENT_SECRET", help="Its secret.", show_default=False),
    ] = None,
    agents: Annotated[int, typer.Option(help="Agents in the center.")] = 300,
    units: Annotated[
        int, typer.Option(help=f"Management units, each in its own time zone (1–{MAX_UNITS}).")
    ] = 3,
    seed: Annotated[
        int | None,
        typer.Option(help="Make the center and its day repeatable. Default: random, printed."),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            help="Simulated time runs this many times faster from --start, until it catches up "
            "with now; then at real time."
        ),
    ] = 1.0,
    start: Annotated[
        str | None,
        typer.Option(
            help="When the simulation starts (RFC 3339; shifts are planned around it). "
            "Default: now.",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            help="Simulated time to run, e.g. 8h, 90m. Default: until the day's last logout.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the events to this JSON Lines file (and the setup to FILE.setup.json) "
            "instead of posting them: the whole day at once, no server needed.",
            show_default=False,
        ),
    ] = None,
    setup_only: Annotated[
        bool, typer.Option("--setup-only", help="Create the center, then exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing but errors.")] = False,
) -> None:
    """Simulate a contact center: units in several time zones, teams, today's schedules, and
    agents logging in, taking breaks, going on queue (late, early, or not at all)."""
    try:
        options = SimulationOptions(
            url,
            client_id,
            client_secret,
            agents,
            units,
            seed,
            speed,
            None if start is None else _start(start),
            None if duration is None else parse_duration(duration),
            out,
            setup_only,
            quiet,
        )
        asyncio.run(simulate_async(options, handle_signals=True))
    except InvalidInput as error:
        fail(f"{error.field} {error.message}" if error.field else error.message)
    except SimulationFailed as error:
        typer.echo(f"adhere: {error}", err=True)
        raise typer.Exit(code=1) from None


def _start(text: str) -> Instant:
    try:
        return parse_instant(text)
    except InvalidInput as error:
        raise InvalidInput(error.message, "--start") from None

"""Release a simulated contact center's events into a sink, in time order, paced like life.

Live (a server): simulated time runs `speed` times faster than the wall clock from `start`,
but never ahead of it (the server refuses events from the future; once the simulated clock
catches up with now, it goes on at real time). What happened before `start` is sent at once,
condensed (domain/simulation.py `condensed`), so that agents mid-shift are in their right
state from the first second. Events due together go as one batch, at most one batch every
~100 ms (and at most 1,000 events a request).

To a file (a benchmark's input): every event of the day, at once, with its planned time.

A stop signal (Ctrl-C) ends either after what is already due has been sent.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from adhere.adapters.adhere_client import BatchOutcome
from adhere.domain.agent_state import AgentEvent
from adhere.domain.instants import MICROS_PER_SECOND, Instant
from adhere.domain.simulation import condensed

BATCH_LIMIT = 1_000
TICK_SECONDS = 0.1
"""The shortest time between two batches: events due meanwhile travel together."""
LONGEST_NAP_SECONDS = 0.25
"""The longest wait between two looks at the clock: how soon a stop is noticed."""
RATE_WINDOW_SECONDS = 5.0


class StopSignal(Protocol):
    """A `threading.Event` or an `asyncio.Event`: only ever asked whether it is set."""

    def is_set(self) -> bool: ...


class Clock(Protocol):
    def now(self) -> Instant:
        """The wall clock (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> Instant:
        return time.time_ns() // 1_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class EventSink(Protocol):
    async def send(self, events: Sequence[AgentEvent]) -> BatchOutcome: ...


@dataclass(frozen=True, slots=True)
class Pacing:
    """Live pacing: simulated time runs from `start`, `speed` times faster than the wall
    clock, from the wall instant `began` (default: when the events begin to flow). A caller
    that sets things up first gives the instant it was launched: time spent setting up is then
    caught up, and at speed 1 from now the simulated clock is the wall clock."""

    start: Instant
    speed: float = 1.0
    began: Instant | None = None

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError("the speed must be more than 0")


@dataclass(frozen=True, slots=True)
class _Pace:
    """`Pacing` from the wall instant the paced run `began`."""

    pacing: Pacing
    began: Instant

    def simulated(self, wall: Instant) -> Instant:
        """The simulated clock at wall instant `wall`: never ahead of it."""
        return min(self.pacing.start + round((wall - self.began) * self.pacing.speed), wall)

    def wall(self, simulated: Instant) -> Instant:
        """The wall instant at which the simulated clock reaches `simulated`."""
        return max(
            self.began + round((simulated - self.pacing.start) / self.pacing.speed), simulated
        )


@dataclass(frozen=True, slots=True)
class Progress:
    sent: int  # events handed to the sink
    accepted: int
    duplicate: int
    rejected: int
    rejection: str | None  # the first rejected event's field and reason
    clock: Instant | None  # the simulated clock, when paced
    rate: float  # events per second of wall time, lately
    done: bool  # the plan (or the duration) is over
    stopped: bool  # asked to stop before that


@dataclass
class _Tally:
    clock: Callable[[], Instant]
    on_progress: Callable[[Progress], None] | None
    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejection: str | None = None
    simulated: Instant | None = None
    samples: collections.deque[tuple[Instant, int]] = field(default_factory=collections.deque)

    def count(self, events: int, outcome: BatchOutcome) -> None:
        self.sent += events
        self.accepted += outcome.accepted
        self.duplicate += outcome.duplicate
        self.rejected += outcome.rejected
        self.rejection = self.rejection or outcome.rejection
        self.report()

    def report(self, done: bool = False, stopped: bool = False) -> Progress:
        now = self.clock()
        self.samples.append((now, self.sent))
        while now - self.samples[0][0] > RATE_WINDOW_SECONDS * MICROS_PER_SECOND:
            self.samples.popleft()
        first_at, first_sent = self.samples[0]
        span = (now - first_at) / MICROS_PER_SECOND
        progress = Progress(
            self.sent,
            self.accepted,
            self.duplicate,
            self.rejected,
            self.rejection,
            self.simulated,
            (self.sent - first_sent) / span if span > 0 else 0.0,
            done,
            stopped,
        )
        if self.on_progress is not None:
            self.on_progress(progress)
        return progress


class _Stream:
    """The plan's events in time order, up to an end, read ahead by one."""

    def __init__(self, events: Iterable[AgentEvent], end: Instant | None) -> None:
        self._events = iter(events)
        self._end = end
        self.next = self._pull()

    def _pull(self) -> AgentEvent | None:
        event = next(self._events, None)
        if event is None or (self._end is not None and event.time >= self._end):
            return None
        return event

    def until(self, instant: Instant | None) -> Iterator[AgentEvent]:
        """The events at or before `instant` (every one left if None), as they are read."""
        while self.next is not None and (instant is None or self.next.time <= instant):
            event, self.next = self.next, self._pull()
            yield event


async def simulate(
    events: Iterable[AgentEvent],
    sink: EventSink,
    *,
    pacing: Pacing | None,
    end: Instant | None = None,
    stop: StopSignal,
    clock: Clock | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Send `events` (in time order, those before `end`) to `sink`: paced live, or all at
    once without `pacing`. Returns the final tally; a sink's error propagates."""
    clock = clock or SystemClock()
    tally = _Tally(clock.now, on_progress)
    stream = _Stream(events, end)
    if pacing is None:
        everything = stream.until(None)
    else:
        everything = iter(condensed(stream.until(pacing.start - 1)))
    for batch in _batches(everything):
        if stop.is_set():
            return tally.report(stopped=True)
        tally.count(len(batch), await sink.send(batch))
    if pacing is None:
        return tally.report(done=True)
    began = clock.now() if pacing.began is None else pacing.began
    return await _paced(stream, sink, _Pace(pacing, began), tally, stop, clock)


async def _paced(
    stream: _Stream, sink: EventSink, pace: _Pace, tally: _Tally, stop: StopSignal, clock: Clock
) -> Progress:
    while True:
        tally.simulated = pace.simulated(clock.now())
        for batch in _batches(stream.until(tally.simulated)):
            tally.count(len(batch), await sink.send(batch))
        if stream.next is None:
            return tally.report(done=True)
        if stop.is_set():
            return tally.report(stopped=True)
        tally.report()
        due = (pace.wall(stream.next.time) - clock.now()) / MICROS_PER_SECOND
        await clock.sleep(min(max(due, TICK_SECONDS), LONGEST_NAP_SECONDS))


def _batches(events: Iterator[AgentEvent]) -> Iterator[list[AgentEvent]]:
    while batch := [event for _, event in zip(range(BATCH_LIMIT), events, strict=False)]:
        yield batch

"""Exceptions and metrics of a timeline (§5 of the adherence rules)."""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from adhere.domain.adherence import Adherence
from adhere.domain.categories import AdherenceState, Category, Impact
from adhere.domain.instants import Instant
from adhere.domain.local_days import LocalDay
from adhere.domain.settings import AdherenceSettings
from adhere.domain.timeline import ChangePoint, pieces

_OUT = AdherenceState.OUT_OF_ADHERENCE
_SCHEDULED_FOR_ADHERENCE = (
    AdherenceState.IN_ADHERENCE,
    AdherenceState.OUT_OF_ADHERENCE,
    AdherenceState.EXPLAINED,
)
_NOT_CONFORMANCE = (AdherenceState.IGNORED, AdherenceState.UNKNOWN)
_IMPACTS = (Impact.POSITIVE, Impact.NEGATIVE, Impact.NEUTRAL)


@dataclass(frozen=True, slots=True)
class AdherenceException:
    start: Instant
    end: Instant
    impact: Impact
    severe: bool

    @property
    def duration(self) -> int:
        return self.end - self.start


def out_of_adherence_runs(
    points: Sequence[ChangePoint], end: Instant
) -> list[tuple[Instant, Instant]]:
    """Maximal intervals in `OutOfAdherence`, whatever the categories do inside them."""
    runs: list[tuple[Instant, Instant]] = []
    run_start: Instant | None = None
    for point in points:
        if point.at >= end:
            break
        out = point.adherence.adherence_state is _OUT
        if out and run_start is None:
            run_start = point.at
        elif not out and run_start is not None:
            runs.append((run_start, point.at))
            run_start = None
    if run_start is not None and end > run_start:
        runs.append((run_start, end))
    return runs


def exceptions(
    points: Sequence[ChangePoint],
    end: Instant,
    settings: AdherenceSettings,
    window_start: Instant,
    window_end: Instant,
) -> list[AdherenceException]:
    """Runs long enough to be exceptions that overlap the window, clipped to it.

    Length and severity are judged on the whole run, not the clipped part.
    """
    threshold, severe = settings.exception_threshold_micros, settings.severe_threshold_micros
    found: list[AdherenceException] = []
    for run_start, run_end in out_of_adherence_runs(points, end):
        length = run_end - run_start
        start, stop = max(run_start, window_start), min(run_end, window_end)
        if length < threshold or stop <= start:
            continue
        impacts = {piece.point.adherence.impact for piece in pieces(points, end, start, stop)}
        found.append(AdherenceException(start, stop, _worst(impacts), length >= severe))
    return found


def worse(a: Impact, b: Impact) -> Impact:
    """The impact of a run: Negative if any part is, else Positive if any is (§5)."""
    return a if _RANK[a] >= _RANK[b] else b


def _worst(impacts: set[Impact]) -> Impact:
    return functools.reduce(worse, impacts, Impact.NEUTRAL)


_RANK = {Impact.NEUTRAL: 0, Impact.UNKNOWN: 0, Impact.POSITIVE: 1, Impact.NEGATIVE: 2}


@dataclass(slots=True)
class Metrics:
    """Seconds are held as integer microseconds, so sums over agents and days are exact."""

    state: dict[AdherenceState, int] = field(
        default_factory=lambda: dict.fromkeys(AdherenceState, 0)
    )
    exception: int = 0
    conformance_schedule: int = 0
    conformance_actual: int = 0
    impact: dict[Impact, int] = field(default_factory=lambda: dict.fromkeys(_IMPACTS, 0))

    @property
    def adherence_schedule(self) -> int:
        return sum(self.state[state] for state in _SCHEDULED_FOR_ADHERENCE)

    @property
    def adherence_percent(self) -> float | None:
        denominator = self.adherence_schedule
        if denominator == 0:
            return None
        return max(0.0, 100 * (denominator - self.exception) / denominator)

    @property
    def conformance_percent(self) -> float | None:
        if self.conformance_schedule == 0:
            return None
        return 100 * self.conformance_actual / self.conformance_schedule

    def add(self, other: Metrics) -> None:
        for state, micros in other.state.items():
            self.state[state] += micros
        for impact, micros in other.impact.items():
            self.impact[impact] += micros
        self.exception += other.exception
        self.conformance_schedule += other.conformance_schedule
        self.conformance_actual += other.conformance_actual


def daily_metrics(
    points: Sequence[ChangePoint],
    end: Instant,
    found: Sequence[AdherenceException],
    days: Sequence[LocalDay],
) -> list[Metrics]:
    """Metrics of each of `days`, which tile a window; `found` are that window's exceptions.

    One pass over the timeline: a piece spanning midnight is split between its days.
    """
    result = [Metrics() for _ in days]
    if not days:
        return result
    day_ends = [day.end for day in days]
    for piece in pieces(points, end, days[0].start, days[-1].end):
        adherence, conforming = piece.point.adherence, piece.point.conforming
        for index, start, stop in _split(day_ends, piece.start, piece.end):
            _count(result[index], adherence, conforming, stop - start)
    for exception in found:
        for index, start, stop in _split(day_ends, exception.start, exception.end):
            result[index].exception += stop - start
    return result


def _split(
    day_ends: Sequence[Instant], start: Instant, stop: Instant
) -> Iterator[tuple[int, Instant, Instant]]:
    """``[start, stop)`` cut at day ends: (day index, start, stop) for each part."""
    index = bisect_right(day_ends, start)
    while start < stop:
        cut = min(stop, day_ends[index])
        yield index, start, cut
        start, index = cut, index + 1


def _count(metrics: Metrics, adherence: Adherence, conforming: bool, length: int) -> None:
    state = adherence.adherence_state
    metrics.state[state] += length
    if state is _OUT:
        metrics.impact[adherence.impact] += length
    if state not in _NOT_CONFORMANCE:
        if adherence.scheduled_category is Category.ON_QUEUE_WORK:
            metrics.conformance_schedule += length
        if conforming:
            metrics.conformance_actual += length

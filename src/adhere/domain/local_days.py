"""Local days of a management unit: cut at local midnight, so DST days last 23 h or 25 h."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from adhere.domain.instants import MICROS_PER_SECOND, Instant, from_datetime, to_datetime


class LocalDay(NamedTuple):
    date: date
    start: Instant
    end: Instant


@lru_cache(maxsize=1024)
def local_days(zone: ZoneInfo, start: Instant, end: Instant) -> tuple[LocalDay, ...]:
    """The local days overlapping ``[start, end)``, each clipped to it.

    Cached: every agent of a management unit asks the same question for one window.
    """
    return tuple(_local_days(zone, start, end))


def _local_days(zone: ZoneInfo, start: Instant, end: Instant) -> list[LocalDay]:
    if end <= start:
        return []
    day = to_datetime(start).astimezone(zone).date()
    last = to_datetime(end - 1).astimezone(zone).date()
    days: list[LocalDay] = []
    while day <= last:
        day_start = max(first_instant(zone, day), start)
        day_end = min(first_instant(zone, day + timedelta(days=1)), end)
        if day_end > day_start:
            days.append(LocalDay(day, day_start, day_end))
        day += timedelta(days=1)
    return days


def first_instant(zone: ZoneInfo, day: date) -> Instant:
    """The first instant of `day` in `zone`: local midnight, or where DST skips or repeats
    midnight, the first instant of that date that exists."""
    midnight = datetime.combine(day, time(), tzinfo=zone)
    candidates = [from_datetime(midnight.replace(fold=fold)) for fold in (0, 1)]
    existing = [c for c in candidates if _local(zone, c) == midnight.replace(tzinfo=None)]
    if existing:
        return min(existing)
    # Midnight falls in a gap: the day starts when the gap ends. Transitions fall on whole
    # seconds, so a bisection over seconds finds it exactly.
    low, high = sorted(c // MICROS_PER_SECOND for c in candidates)
    while low < high:
        middle = (low + high) // 2
        if _local(zone, middle * MICROS_PER_SECOND).date() >= day:
            high = middle
        else:
            low = middle + 1
    return low * MICROS_PER_SECOND


def _local(zone: ZoneInfo, instant: Instant) -> datetime:
    return to_datetime(instant).astimezone(zone).replace(tzinfo=None)

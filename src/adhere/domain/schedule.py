"""What an agent should be doing: activity codes and non-overlapping scheduled activities."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adhere.domain.categories import Category
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant, format_instant


@dataclass(frozen=True, slots=True)
class ActivityCode:
    id: str
    name: str
    category: Category
    secondary_presence_id: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True, order=True)
class Activity:
    """A scheduled activity covering the half-open interval ``[start, end)``."""

    start: Instant
    end: Instant
    activity_code_id: str

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(
                f"activity starting {format_instant(self.start)} must end after it starts"
            )


@dataclass(frozen=True, slots=True)
class ScheduleReplacement:
    """New activities for an agent inside ``[start, end)``, replacing what was there."""

    agent_id: str
    start: Instant
    end: Instant
    activities: Sequence[Activity]


def validated_schedule(agent_id: str, activities: Iterable[Activity]) -> list[Activity]:
    """The activities in order of start; overlapping ones are rejected, naming both."""
    ordered = sorted(activities)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise InvalidInput(
                f"agent {agent_id!r}: activity starting {format_instant(after.start)} overlaps "
                f"activity starting {format_instant(before.start)}"
            )
    return ordered


def replaced_range(
    agent_id: str,
    current: Sequence[Activity],
    start: Instant,
    end: Instant,
    activities: Iterable[Activity],
) -> list[Activity]:
    """`current` with its activities inside ``[start, end)`` replaced by `activities`.

    Activities straddling the range edge are cut at the edge, as a schedule editor does.
    """
    if end < start:
        raise InvalidInput("the range must not end before it starts", "end")
    new = list(activities)
    for activity in new:
        if activity.start < start or activity.end > end:
            raise InvalidInput(
                f"agent {agent_id!r}: activity starting {format_instant(activity.start)} "
                f"lies outside the replaced range"
            )
    kept: list[Activity] = []
    for activity in current:
        if activity.start < start:
            kept.append(_clipped(activity, activity.start, min(activity.end, start)))
        if activity.end > end:
            kept.append(_clipped(activity, max(activity.start, end), activity.end))
    return validated_schedule(agent_id, [*kept, *new])


def _clipped(activity: Activity, start: Instant, end: Instant) -> Activity:
    return Activity(start, end, activity.activity_code_id)

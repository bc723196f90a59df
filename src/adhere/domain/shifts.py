"""Shifts: where an agent's scheduled working time begins (for `shift.start.missed`).

A shift is a maximal run of touching activities of working categories, every category but
`TimeOff`; it starts where such an activity begins and no working activity ends. Activities
are an agent's schedule: sorted and non-overlapping.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from operator import attrgetter

from adhere.domain.categories import Category
from adhere.domain.instants import Instant
from adhere.domain.schedule import Activity

CategoryOf = Callable[[str], Category]


def is_working(category: Category) -> bool:
    return category is not Category.TIME_OFF


def next_shift_start(
    activities: Sequence[Activity], category_of: CategoryOf, after: Instant
) -> Instant | None:
    """The first shift start strictly after `after`, if any."""
    for index in range(bisect_right(activities, after, key=_start), len(activities)):
        if _starts_shift(activities, index, category_of):
            return activities[index].start
    return None


def shift_start_at(
    activities: Sequence[Activity], category_of: CategoryOf, instant: Instant
) -> Instant | None:
    """The start of the shift `instant` lies in, if it lies in one."""
    index = bisect_right(activities, instant, key=_start) - 1
    if index < 0 or activities[index].end <= instant:
        return None
    if not is_working(category_of(activities[index].activity_code_id)):
        return None
    while not _starts_shift(activities, index, category_of):
        index -= 1
    return activities[index].start


def _starts_shift(activities: Sequence[Activity], index: int, category_of: CategoryOf) -> bool:
    activity = activities[index]
    if not is_working(category_of(activity.activity_code_id)):
        return False
    if index == 0:
        return True
    before = activities[index - 1]
    return before.end != activity.start or not is_working(category_of(before.activity_code_id))


_start = attrgetter("start")

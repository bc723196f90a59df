"""Where shifts start (domain/shifts.py): touching working activities make one shift; time off
and gaps separate them."""

from __future__ import annotations

from adhere.domain.categories import Category
from adhere.domain.schedule import Activity
from adhere.domain.shifts import next_shift_start, shift_start_at

CATEGORIES = {"oq": Category.ON_QUEUE_WORK, "brk": Category.BREAK, "off": Category.TIME_OFF}
SCHEDULE = [
    Activity(100, 200, "oq"),
    Activity(200, 250, "brk"),  # touches: the same shift
    Activity(250, 300, "oq"),
    Activity(400, 500, "oq"),  # after a gap: a new shift
    Activity(500, 600, "off"),  # time off is no working time
    Activity(600, 700, "oq"),  # after time off: a new shift
]


def category(code: str) -> Category:
    return CATEGORIES[code]


def test_shift_starts_are_found_after_an_instant() -> None:
    starts = []
    after = -1
    while (found := next_shift_start(SCHEDULE, category, after)) is not None:
        starts.append(found)
        after = found
    assert starts == [100, 400, 600]
    assert next_shift_start(SCHEDULE, category, 100) == 400  # strictly after
    assert next_shift_start(SCHEDULE, category, 99) == 100
    assert next_shift_start([], category, 0) is None


def test_the_shift_an_instant_lies_in() -> None:
    assert [shift_start_at(SCHEDULE, category, t) for t in (99, 100, 220, 299, 300)] == [
        None,
        100,
        100,
        100,
        None,
    ]
    assert shift_start_at(SCHEDULE, category, 450) == 400
    assert shift_start_at(SCHEDULE, category, 550) is None  # time off
    assert shift_start_at(SCHEDULE, category, 650) == 600

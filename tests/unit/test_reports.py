"""The pure parts of reports: dates and ranges, windows, mending exceptions, grouping, bins,
CSV cells and file names."""

from __future__ import annotations

from datetime import date

import pytest

from adhere.adapters.report_format import csv_filename, safe_cell
from adhere.domain.categories import AdherenceState, Impact
from adhere.domain.errors import InvalidInput
from adhere.domain.evaluation import AgentResult, DayResult
from adhere.domain.local_days import LocalDay
from adhere.domain.metrics import AdherenceException, Metrics
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.domain.reports import (
    MAX_REPORT_DAYS,
    AgentHistory,
    DateRange,
    adherence_bins,
    build_report,
    parse_date,
)

H = 3_600_000_000  # an hour in microseconds
UNIT = ManagementUnit("u", "Unit", "UTC")
TEAMS = [Team("t2", "Second", "u"), Team("t1", "First", "u")]


def test_dates_are_yyyy_mm_dd_only() -> None:
    assert parse_date("2026-03-08", "from") == date(2026, 3, 8)
    for text in ("20260308", "2026-W10-7", "2026-03-08T00:00", "2026-02-29", " 2026-03-08", ""):
        with pytest.raises(InvalidInput) as raised:
            parse_date(text, "from")
        assert raised.value.field == "from"


def test_a_range_is_ordered_and_bounded() -> None:
    assert DateRange(date(2026, 1, 1), date(2026, 1, 1)).days == 1
    with pytest.raises(InvalidInput, match="before from") as backwards:
        DateRange(date(2026, 1, 2), date(2026, 1, 1))
    assert backwards.value.field == "to"
    first = date(2026, 1, 1)
    assert DateRange(first, date(2026, 4, 2)).days == MAX_REPORT_DAYS
    with pytest.raises(InvalidInput, match="at most 92 days"):
        DateRange(first, date(2026, 4, 3))


def test_chunks_tile_the_range() -> None:
    chunks = DateRange(date(2026, 1, 1), date(2026, 3, 9)).chunks(30)
    assert [(c.first, c.last) for c in chunks] == [
        (date(2026, 1, 1), date(2026, 1, 30)),
        (date(2026, 1, 31), date(2026, 3, 1)),
        (date(2026, 3, 2), date(2026, 3, 9)),
    ]
    assert DateRange(date(2026, 1, 1), date(2026, 1, 30)).chunks(30) == [
        DateRange(date(2026, 1, 1), date(2026, 1, 30))
    ]


def _day(index: int) -> LocalDay:
    return LocalDay(date(2026, 1, 1 + index), index * 24 * H, (index + 1) * 24 * H)


def _metrics(scheduled: int, exception: int) -> Metrics:
    metrics = Metrics()
    metrics.state[AdherenceState.IN_ADHERENCE] = scheduled - exception
    metrics.state[AdherenceState.OUT_OF_ADHERENCE] = exception
    metrics.exception = exception
    return metrics


def _result(days: range, exceptions: list[AdherenceException]) -> AgentResult:
    day_results = [DayResult(_day(i), _metrics(8 * H, 0)) for i in days]
    return AgentResult("a", [], exceptions, Metrics(), day_results)


def test_a_run_cut_by_two_windows_is_one_exception_again() -> None:
    history = AgentHistory(Agent("a", "A", "u"))
    early = AdherenceException(2 * H, 3 * H, Impact.NEUTRAL, True)
    tail = AdherenceException(47 * H, 48 * H, Impact.POSITIVE, True)
    head = AdherenceException(48 * H, 49 * H, Impact.NEGATIVE, True)
    history.add(_result(range(2), [early, tail]))
    history.add(_result(range(2, 3), [head]))
    assert history.exceptions == [early, AdherenceException(47 * H, 49 * H, Impact.NEGATIVE, True)]
    assert [history.exception_count(_day(i)) for i in range(3)] == [1, 1, 1]
    assert len(history.days) == 3


def test_separate_runs_stay_separate() -> None:
    history = AgentHistory(Agent("a", "A", "u"))
    first = AdherenceException(47 * H, 47 * H + 1, Impact.NEUTRAL, False)
    second = AdherenceException(48 * H, 49 * H, Impact.NEUTRAL, False)
    history.add(_result(range(2), [first]))
    history.add(_result(range(2, 3), [second]))
    assert history.exceptions == [first, second]


def test_groups_add_seconds_and_teams_keep_the_units_order() -> None:
    agents = [
        Agent("a", "A", "u", "t1"),
        Agent("b", "B", "u", "t1"),
        Agent("c", "C", "u", None),
        Agent("d", "D", "u", "t2"),
    ]
    schedule = {"a": (8 * H, H), "b": (2 * H, H), "c": (H, 0), "d": (4 * H, 0)}
    histories = []
    for agent in agents:
        history = AgentHistory(agent)
        history.days.append((_day(0), _metrics(*schedule[agent.id])))
        histories.append(history)
    histories[0].exceptions.append(AdherenceException(9 * H, 10 * H, Impact.NEGATIVE, True))
    report = build_report(
        UNIT, None, DateRange(date(2026, 1, 1), date(2026, 1, 1)), 90, TEAMS, [_day(0)], histories
    )
    assert [(t.team_id, t.agents) for t in report.team_days] == [("t2", 1), ("t1", 2), (None, 1)]
    first = report.team_days[1]
    assert first.metrics.adherence_percent == pytest.approx(80.0)  # 1 - 2h / 10h; mean is 68.75
    assert first.exception_count == 1
    assert report.totals.adherence_schedule == 15 * H
    assert report.day_totals[0].metrics.exception == 2 * H
    assert [w.agent.id for w in report.worst_exceptions] == ["a"]
    assert report.team_name("t1") == "First"
    assert report.team_name(None) is None


def test_adherence_bins_of_ten_points() -> None:
    bins = adherence_bins([0.0, 9.99, 10.0, 55.5, 99.9, 100.0, None])
    assert bins == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert sum(adherence_bins([])) == 0


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+33", "'+33"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Ana", "Ana"),
        ("a=b", "a=b"),
        (12.5, 12.5),
        (None, None),
    ],
)
def test_csv_cells_are_never_formulas(value: object, shown: object) -> None:
    assert safe_cell(value) == shown


def test_csv_file_names_are_safe_in_a_header() -> None:
    rendered = {
        "management_unit": {"id": 'a"b c'},
        "team": {"id": "t/é"},
        "from": "2026-01-01",
        "to": "2026-01-02",
    }
    assert csv_filename(rendered) == "adherence-a_b_c-t__-2026-01-01-2026-01-02.csv"
    assert csv_filename({**rendered, "team": None}).startswith("adherence-a_b_c-2026")

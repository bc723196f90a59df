"""§5 local days: days of the management unit's time zone overlapping the window, each clipped
to it, cut at the first instant of each local date (DST days last 23 h or 25 h).

Expected day boundaries are written out as UTC instants, worked out from the tz database:
- Europe/Paris: CET (+01) / CEST (+02); 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00.
- America/Sao_Paulo: 2018-11-04 00:00 (-03) jumps to 01:00 (-02), so midnight does not exist.
- America/Havana: 2025-11-02 01:00 (-04) falls back to 00:00 (-05), so midnight happens twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adhere.service.evaluation import evaluate_document

STATES = ("InAdherence", "OutOfAdherence", "Unscheduled", "Ignored", "Explained", "Unknown")


def scenario(
    time_zone: str,
    start: str,
    end: str,
    *,
    activities: list[dict] | None = None,
    events: list[dict] | None = None,
) -> dict:
    return {
        "format": "adhere-scenario/1",
        "management_unit": {"id": "mu", "time_zone": time_zone},
        "activity_codes": [{"id": "oq", "category": "OnQueueWork"}],
        "agents": [{"id": "a1"}],
        "schedules": [{"agent_id": "a1", "activities": activities or []}],
        "events": events or [],
        "window": {"start": start, "end": end},
    }


def days_of(document: dict) -> list[tuple[str, str, str]]:
    days = evaluate_document(document)["agents"][0]["days"]
    return [(day["date"], day["start"], day["end"]) for day in days]


def day_metrics(document: dict) -> list[dict[str, Any]]:
    return [day["metrics"] for day in evaluate_document(document)["agents"][0]["days"]]


# ---- the tz database agrees with the assumptions of these tests --------------------------


@pytest.mark.parametrize(
    ("zone", "local", "utc"),
    [
        ("Europe/Paris", datetime(2026, 3, 29, 0, 0), "2026-03-28T23:00:00+00:00"),
        ("Europe/Paris", datetime(2026, 3, 30, 0, 0), "2026-03-29T22:00:00+00:00"),
        ("Europe/Paris", datetime(2026, 10, 25, 0, 0), "2026-10-24T22:00:00+00:00"),
        ("Europe/Paris", datetime(2026, 10, 26, 0, 0), "2026-10-25T23:00:00+00:00"),
        ("America/Sao_Paulo", datetime(2018, 11, 4, 1, 0), "2018-11-04T03:00:00+00:00"),
        ("America/Havana", datetime(2025, 11, 2, 0, 0), "2025-11-02T04:00:00+00:00"),
        ("America/Havana", datetime(2025, 3, 9, 1, 0), "2025-03-09T05:00:00+00:00"),
        ("Pacific/Apia", datetime(2011, 12, 31, 0, 0), "2011-12-30T10:00:00+00:00"),
        ("Pacific/Apia", datetime(2011, 12, 29, 0, 0), "2011-12-29T10:00:00+00:00"),
    ],
)
def test_tz_database_assumption(zone: str, local: datetime, utc: str) -> None:
    assert local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).isoformat() == utc


def test_tz_database_assumption_sao_paulo_midnight_is_skipped() -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    just_before = datetime(2018, 11, 4, 2, 59, 59, tzinfo=UTC).astimezone(zone)
    assert just_before.replace(tzinfo=None) == datetime(2018, 11, 3, 23, 59, 59)
    at = datetime(2018, 11, 4, 3, 0, tzinfo=UTC).astimezone(zone)
    assert at.replace(tzinfo=None) == datetime(2018, 11, 4, 1, 0)


def test_tz_database_assumption_havana_midnight_repeats() -> None:
    zone = ZoneInfo("America/Havana")
    first = datetime(2025, 11, 2, 4, 0, tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    second = datetime(2025, 11, 2, 5, 0, tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    before = datetime(2025, 11, 2, 3, 59, 59, tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    assert first == second == datetime(2025, 11, 2, 0, 0)
    assert before == datetime(2025, 11, 1, 23, 59, 59)


# ---- Europe/Paris ------------------------------------------------------------------------


def test_paris_spring_forward_day_lasts_23_hours() -> None:
    document = scenario("Europe/Paris", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")
    assert days_of(document) == [("2026-03-29", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")]
    (metrics,) = day_metrics(document)
    assert sum(metrics["state_seconds"].values()) == 23 * 3600


def test_paris_fall_back_day_lasts_25_hours() -> None:
    document = scenario("Europe/Paris", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")
    assert days_of(document) == [("2026-10-25", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")]
    (metrics,) = day_metrics(document)
    assert metrics["state_seconds"]["Unscheduled"] == 25 * 3600


def test_paris_days_around_spring_forward_are_clipped_to_the_window() -> None:
    document = scenario("Europe/Paris", "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z")
    assert days_of(document) == [
        ("2026-03-28", "2026-03-28T12:00:00Z", "2026-03-28T23:00:00Z"),
        ("2026-03-29", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
        ("2026-03-30", "2026-03-29T22:00:00Z", "2026-03-30T12:00:00Z"),
    ]
    lengths = [sum(m["state_seconds"].values()) for m in day_metrics(document)]
    assert lengths == [11 * 3600, 23 * 3600, 14 * 3600]


def test_paris_days_around_fall_back() -> None:
    document = scenario("Europe/Paris", "2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z")
    assert days_of(document) == [
        ("2026-10-24", "2026-10-24T00:00:00Z", "2026-10-24T22:00:00Z"),
        ("2026-10-25", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
        ("2026-10-26", "2026-10-25T23:00:00Z", "2026-10-26T23:00:00Z"),
        ("2026-10-27", "2026-10-26T23:00:00Z", "2026-10-27T00:00:00Z"),
    ]
    lengths = [sum(m["state_seconds"].values()) for m in day_metrics(document)]
    assert lengths == [22 * 3600, 25 * 3600, 24 * 3600, 1 * 3600]


def test_window_inside_one_local_day_gives_that_day_clipped() -> None:
    # 23:30Z on 2026-06-01 is 01:30 on 2026-06-02 in Paris (CEST).
    document = scenario("Europe/Paris", "2026-06-01T23:30:00Z", "2026-06-02T01:00:00Z")
    assert days_of(document) == [("2026-06-02", "2026-06-01T23:30:00Z", "2026-06-02T01:00:00Z")]


def test_window_ending_at_local_midnight_does_not_include_the_next_day() -> None:
    document = scenario("Europe/Paris", "2026-06-01T12:00:00Z", "2026-06-01T22:00:00Z")
    assert days_of(document) == [("2026-06-01", "2026-06-01T12:00:00Z", "2026-06-01T22:00:00Z")]


def test_window_starting_at_local_midnight_starts_that_day() -> None:
    document = scenario("Europe/Paris", "2026-06-01T22:00:00Z", "2026-06-02T02:00:00Z")
    assert days_of(document) == [("2026-06-02", "2026-06-01T22:00:00Z", "2026-06-02T02:00:00Z")]


def test_window_instants_with_offsets_give_the_same_days() -> None:
    document = scenario("Europe/Paris", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00")
    assert days_of(document) == [("2026-03-29", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")]


# ---- America/Sao_Paulo: midnight skipped -------------------------------------------------


def test_sao_paulo_day_without_midnight_starts_at_one_o_clock() -> None:
    document = scenario("America/Sao_Paulo", "2018-11-03T03:00:00Z", "2018-11-06T02:00:00Z")
    assert days_of(document) == [
        ("2018-11-03", "2018-11-03T03:00:00Z", "2018-11-04T03:00:00Z"),
        ("2018-11-04", "2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"),
        ("2018-11-05", "2018-11-05T02:00:00Z", "2018-11-06T02:00:00Z"),
    ]
    lengths = [sum(m["state_seconds"].values()) for m in day_metrics(document)]
    assert lengths == [24 * 3600, 23 * 3600, 24 * 3600]


# ---- America/Havana: midnight repeated ---------------------------------------------------


def test_havana_day_with_repeated_midnight_starts_at_the_first_one() -> None:
    document = scenario("America/Havana", "2025-11-01T04:00:00Z", "2025-11-04T05:00:00Z")
    assert days_of(document) == [
        ("2025-11-01", "2025-11-01T04:00:00Z", "2025-11-02T04:00:00Z"),
        ("2025-11-02", "2025-11-02T04:00:00Z", "2025-11-03T05:00:00Z"),
        ("2025-11-03", "2025-11-03T05:00:00Z", "2025-11-04T05:00:00Z"),
    ]
    lengths = [sum(m["state_seconds"].values()) for m in day_metrics(document)]
    assert lengths == [24 * 3600, 25 * 3600, 24 * 3600]


def test_havana_window_inside_the_repeated_hour_belongs_to_the_new_day() -> None:
    # 04:30Z and 05:30Z are both 00:30 local on 2025-11-02.
    document = scenario("America/Havana", "2025-11-02T04:30:00Z", "2025-11-02T05:30:00Z")
    assert days_of(document) == [("2025-11-02", "2025-11-02T04:30:00Z", "2025-11-02T05:30:00Z")]


def test_havana_day_without_midnight_starts_at_one_o_clock() -> None:
    # 2025-03-09 00:00 (-05) jumps to 01:00 (-04) at 05:00Z.
    document = scenario("America/Havana", "2025-03-08T05:00:00Z", "2025-03-10T05:00:00Z")
    assert days_of(document) == [
        ("2025-03-08", "2025-03-08T05:00:00Z", "2025-03-09T05:00:00Z"),
        ("2025-03-09", "2025-03-09T05:00:00Z", "2025-03-10T04:00:00Z"),
        ("2025-03-10", "2025-03-10T04:00:00Z", "2025-03-10T05:00:00Z"),
    ]


# ---- Pacific/Apia: a whole date skipped ---------------------------------------------------


def test_apia_date_that_does_not_exist_gives_no_day() -> None:
    # Samoa went from 2011-12-29 23:59:59 (-10) to 2011-12-31 00:00 (+14) at 10:00Z on the 30th.
    document = scenario("Pacific/Apia", "2011-12-29T10:00:00Z", "2011-12-31T10:00:00Z")
    assert days_of(document) == [
        ("2011-12-29", "2011-12-29T10:00:00Z", "2011-12-30T10:00:00Z"),
        ("2011-12-31", "2011-12-30T10:00:00Z", "2011-12-31T10:00:00Z"),
    ]


# ---- empty window, UTC -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "instant"),
    [
        ("Europe/Paris", "2026-03-28T23:00:00Z"),
        ("Europe/Paris", "2026-06-02T09:00:00Z"),
        ("UTC", "2026-06-02T00:00:00Z"),
    ],
)
def test_empty_window_gives_no_days(zone: str, instant: str) -> None:
    assert days_of(scenario(zone, instant, instant)) == []


def test_utc_days_are_calendar_days() -> None:
    document = scenario("UTC", "2026-06-01T18:00:00Z", "2026-06-03T06:00:00Z")
    assert days_of(document) == [
        ("2026-06-01", "2026-06-01T18:00:00Z", "2026-06-02T00:00:00Z"),
        ("2026-06-02", "2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z"),
        ("2026-06-03", "2026-06-03T00:00:00Z", "2026-06-03T06:00:00Z"),
    ]


# ---- metrics per day ---------------------------------------------------------------------


def test_day_exception_seconds_are_the_exception_seconds_inside_it() -> None:
    # Paris; scheduled on queue 22:30Z-23:30Z on 2026-03-28, never logged in: one run of
    # 3600 s across local midnight (23:00Z), half on each local day.
    document = scenario(
        "Europe/Paris",
        "2026-03-28T22:00:00Z",
        "2026-03-29T00:00:00Z",
        activities=[
            {"start": "2026-03-28T22:30:00Z", "length_minutes": 60, "activity_code_id": "oq"}
        ],
    )
    assert days_of(document) == [
        ("2026-03-28", "2026-03-28T22:00:00Z", "2026-03-28T23:00:00Z"),
        ("2026-03-29", "2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z"),
    ]
    first, second = day_metrics(document)
    for metrics in (first, second):
        assert metrics["exception_seconds"] == 1800
        assert metrics["adherence_schedule_seconds"] == 1800
        assert metrics["adherence_percent"] == 0
        assert metrics["state_seconds"] == {
            state: {"OutOfAdherence": 1800, "Unscheduled": 1800}.get(state, 0) for state in STATES
        }
        assert metrics["impact_seconds"] == {"Positive": 0, "Negative": 1800, "Neutral": 0}
    whole = evaluate_document(document)["agents"][0]["metrics"]
    assert whole["exception_seconds"] == 3600


def test_short_parts_of_a_long_run_count_as_exception_seconds_in_each_day() -> None:
    # Run 22:59:30Z-23:00:30Z (60 s) straddles Paris midnight: 30 s on each day, each part
    # an exception because the whole run reaches the threshold.
    document = scenario(
        "Europe/Paris",
        "2026-03-28T22:00:00Z",
        "2026-03-29T00:00:00Z",
        activities=[
            {"start": "2026-03-28T22:59:30Z", "length_minutes": 60, "activity_code_id": "oq"}
        ],
        events=[
            {
                "id": "e1",
                "agent_id": "a1",
                "time": "2026-03-28T23:00:30Z",
                "kind": "login",
                "system_presence": "OnQueue",
            }
        ],
    )
    first, second = day_metrics(document)
    assert first["exception_seconds"] == 30
    assert second["exception_seconds"] == 30
    assert first["adherence_percent"] == 0
    # Scheduled on queue on the second day: 23:00:00Z-23:59:30Z = 3570 s.
    assert second["adherence_schedule_seconds"] == 3570
    assert second["adherence_percent"] == pytest.approx(100 * (1 - 30 / 3570))
    (exception,) = evaluate_document(document)["agents"][0]["exceptions"]
    assert exception["duration_seconds"] == 60
    assert exception["start"] == "2026-03-28T22:59:30Z"
    assert exception["end"] == "2026-03-28T23:00:30Z"

"""GET /api/v1/reports/adherence and the report use case: the historical API's numbers per
agent and local day, groups from summed seconds, CSV, validation, visibility."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adhere.adapters.report_format import CSV_COLUMNS
from adhere.adapters.scenario_format import parse_scenario
from adhere.domain.instants import parse_instant
from adhere.domain.reports import DateRange
from adhere.service.auth import Visibility
from adhere.service.reports import NoneVisible, ReportRequest, adherence_report
from adhere.service.scenario_import import import_scenario
from tests.integration.conftest import Api, Caller, iso
from tests.integration.people import logged_in, person
from tests.integration.report_center import DAYS, NEW_YORK, UNIT, center

URL = "/api/v1/reports/adherence"
MARCH = {"from": "2026-03-07", "to": "2026-03-09"}


@pytest.fixture
def loaded(api: Api) -> Api:
    import_scenario(api.container.context, parse_scenario(center()))
    return api


def _report(admin: Caller, **params: Any) -> dict[str, Any]:
    response = admin.get(URL, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    result: dict[str, Any] = response.json()
    return result


def _historical(admin: Caller, start: str, end: str) -> dict[str, Any]:
    response = admin.post(
        "/api/v1/adherence/historical",
        json={"management_unit_id": UNIT, "start": start, "end": end, "include_exceptions": True},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _summed(rows: list[dict[str, Any]], key: str) -> float:
    return sum(row["metrics"][key] for row in rows)


def test_each_agent_day_has_the_historical_apis_numbers(loaded: Api, admin: Caller) -> None:
    report = _report(admin, management_unit_id=UNIT, **MARCH)
    assert [day["date"] for day in report["days"]] == ["2026-03-07", "2026-03-08", "2026-03-09"]
    assert len(report["agent_days"]) == 3 * 4
    for day in report["days"]:
        historical = _historical(admin, day["start"], day["end"])
        expected = {agent["agent_id"]: agent["days"] for agent in historical["agents"]}
        rows = [row for row in report["agent_days"] if row["date"] == day["date"]]
        assert {row["agent_id"] for row in rows} == set(expected)
        for row in rows:
            (historical_day,) = expected[row["agent_id"]]
            assert historical_day["date"] == day["date"]
            assert row["metrics"] == historical_day["metrics"]
        assert day["metrics"] == historical["totals"]["metrics"]
    # The DST day lasts 23 hours, in every agent's seconds.
    dst = [row for row in report["agent_days"] if row["date"] == "2026-03-08"]
    assert {sum(row["metrics"]["state_seconds"].values()) for row in dst} == {23 * 3600}
    # Over the range: the historical API's window of the three days.
    whole = _historical(admin, report["days"][0]["start"], report["days"][-1]["end"])
    assert {a["agent_id"]: a["metrics"] for a in whole["agents"]} == {
        a["agent_id"]: a["metrics"] for a in report["agents"]
    }
    assert report["totals"]["metrics"] == whole["totals"]["metrics"]
    exceptions = sorted(
        (e["duration_seconds"], a["agent_id"]) for a in whole["agents"] for e in a["exceptions"]
    )
    assert report["totals"]["exception_count"] == len(exceptions) == 4 * 3
    assert [(e["duration_seconds"], e["agent_id"]) for e in report["worst_exceptions"]] == sorted(
        exceptions, key=lambda item: -item[0]
    )[:10]


def test_teams_and_days_add_seconds_not_percentages(loaded: Api, admin: Caller) -> None:
    report = _report(admin, management_unit_id=UNIT, **MARCH)
    assert report["target_percent"] == 90
    first = [row for row in report["agent_days"] if row["date"] == "2026-03-07"]
    blue = [row for row in first if row["team_id"] == "t-blue"]
    teams = [row for row in report["team_days"] if row["date"] == "2026-03-07"]
    assert [(t["team_id"], t["team_name"], t["agents"]) for t in teams] == [
        ("t-blue", "Blue", 2),
        ("t-green", "Green", 1),
        (None, None, 1),
    ]
    team = teams[0]["metrics"]
    schedule, exception = (
        _summed(blue, "adherence_schedule_seconds"),
        _summed(blue, "exception_seconds"),
    )
    assert team["adherence_schedule_seconds"] == schedule == (8 + 4) * 3600
    assert team["exception_seconds"] == exception == (15 + 20) * 60
    assert team["adherence_percent"] == pytest.approx(100 * (1 - exception / schedule))
    mean = sum(row["metrics"]["adherence_percent"] for row in blue) / len(blue)
    assert abs(team["adherence_percent"] - mean) > 0.5  # not an average of percentages
    assert team["conformance_schedule_seconds"] == _summed(blue, "conformance_schedule_seconds")
    assert teams[0]["exception_count"] == 2
    day = report["days"][0]
    assert day["agents"] == 4
    assert day["metrics"]["exception_seconds"] == _summed(first, "exception_seconds")
    # dee's run 23:30–00:30 counts on both days, and once over the range.
    dee = {row["date"]: row for row in report["agent_days"] if row["agent_id"] == "dee"}
    assert [dee[d]["exception_count"] for d in sorted(dee)] == [1, 2, 2]
    assert dee["2026-03-07"]["metrics"]["exception_seconds"] == 30 * 60
    (dee_total,) = [row for row in report["agents"] if row["agent_id"] == "dee"]
    assert dee_total["exception_count"] == 3
    assert dee_total["team_id"] is None


def test_a_team_report_and_the_target(loaded: Api, admin: Caller) -> None:
    report = _report(admin, team_id="t-blue", target_percent=75.5, **MARCH)
    assert report["team"] == {"id": "t-blue", "name": "Blue"}
    assert report["management_unit"]["id"] == UNIT
    assert report["target_percent"] == 75.5
    assert {row["agent_id"] for row in report["agents"]} == {"ana", "ben"}
    settings = {"time_zone": "America/New_York", "settings": {"adherence_target_percent": 85}}
    assert admin.put(f"/api/v1/management-units/{UNIT}", json=settings).status_code == 200
    assert _report(admin, team_id="t-blue", **MARCH)["target_percent"] == 85


def test_a_long_range_is_evaluated_in_windows_and_mends_runs_across_them(
    loaded: Api, admin: Caller
) -> None:
    """2026-01-01 to 2026-03-09 is cut at midnight after 2026-01-30: dee's run across it is one
    exception, as the historical API sees it in one window."""
    report = _report(admin, management_unit_id=UNIT, **{"from": "2026-01-01", "to": "2026-03-09"})
    assert len(report["days"]) == 68
    assert len(report["agent_days"]) == 68 * 4
    historical = _historical(admin, report["days"][29]["start"], report["days"][30]["end"])
    (dee,) = [a for a in historical["agents"] if a["agent_id"] == "dee"]
    (run,) = dee["exceptions"]
    assert run["duration_seconds"] == 3600
    reported = [e for e in report["worst_exceptions"] if e["agent_id"] == "dee"]
    assert {k: reported[0][k] for k in run} == run
    assert len(reported) == 4  # one per night, never two halves
    for day in report["days"][28:32]:
        expected = {
            a["agent_id"]: a["days"][0]["metrics"]
            for a in _historical(admin, day["start"], day["end"])["agents"]
        }
        rows = [r for r in report["agent_days"] if r["date"] == day["date"]]
        assert {r["agent_id"]: r["metrics"] for r in rows} == expected


def test_progress_is_reported_window_by_window(loaded: Api) -> None:
    heard: list[tuple[int, int]] = []
    request = ReportRequest(
        DateRange(DAYS[0] - timedelta(days=29), DAYS[-1]), management_unit_id=UNIT
    )
    report = adherence_report(
        loaded.container.context, request, progress=lambda done, total: heard.append((done, total))
    )
    windows = 3  # 68 days in windows of at most 30
    assert heard[0] == (0, windows * 4)
    assert heard[-1] == (windows * 4, windows * 4)
    assert [done for done, _ in heard] == list(range(windows * 4 + 1))
    assert len(report.days) == 68


def test_only_the_agents_the_caller_sees(loaded: Api) -> None:
    ctx = loaded.container.context
    request = ReportRequest(DateRange(DAYS[1], DAYS[3]), management_unit_id=UNIT)
    green = adherence_report(ctx, request, sees=Visibility(team_ids=frozenset({"t-green"})).sees)
    assert [row.agent.id for row in green.agents] == ["cy"]
    assert {row.team_id for row in green.team_days} == {"t-green"}
    with pytest.raises(NoneVisible, match="nyc"):
        adherence_report(ctx, request, sees=Visibility(agent_id="someone-else").sees)


def test_csv_equals_the_json(loaded: Api, admin: Caller) -> None:
    report = _report(admin, management_unit_id=UNIT, **MARCH)
    response = admin.get(URL, params={"management_unit_id": UNIT, "format": "csv", **MARCH})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="adherence-nyc-2026-03-07-2026-03-09.csv"'
    )
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert response.text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert len(lines) == len(report["agent_days"]) == 12
    for line, row in zip(lines, report["agent_days"], strict=True):
        metrics = row["metrics"]
        assert [line[k] for k in ("date", "agent_id", "agent_name")] == [
            row["date"],
            row["agent_id"],
            row["agent_name"],
        ]
        assert line["team_id"] == (row["team_id"] or "")
        for key in ("adherence_percent", "conformance_percent", "exception_seconds"):
            assert float(line[key]) == metrics[key]
        assert float(line["adherence_schedule_seconds"]) == metrics["adherence_schedule_seconds"]
        assert float(line["out_of_adherence_seconds"]) == metrics["state_seconds"]["OutOfAdherence"]
        assert float(line["negative_impact_seconds"]) == metrics["impact_seconds"]["Negative"]
        assert int(line["exception_count"]) == row["exception_count"]
        assert (line["day_start"], line["day_end"]) == (row["start"], row["end"])
    # Accept: text/csv asks for the same, and a team's file is named after it.
    by_accept = admin.get(
        URL, params={"team_id": "t-green", **MARCH}, headers={"Accept": "text/csv"}
    )
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert (
        'filename="adherence-nyc-t-green-2026-03-07-2026-03-09.csv"'
        in by_accept.headers["content-disposition"]
    )
    assert [line["agent_id"] for line in csv.DictReader(io.StringIO(by_accept.text))] == ["cy"] * 3
    refused_csv = admin.get(
        URL,
        params={"team_id": "t-green", **MARCH},
        headers={"Accept": "text/csv;q=0, application/json"},
    )
    assert refused_csv.headers["content-type"].startswith("application/json")


def test_csv_cells_cannot_run_as_formulas(api: Api, admin: Caller) -> None:
    names = {"ana": '=HYPERLINK("http://evil")', "ben": "+1", "cy": "-2", "dee": "@SUM(A1)"}
    import_scenario(api.container.context, parse_scenario(center(names)))
    response = admin.get(URL, params={"management_unit_id": UNIT, "format": "csv", **MARCH})
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert {line["agent_name"] for line in lines} == {"'" + name for name in names.values()}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"management_unit_id": UNIT, "from": "2026-03-09", "to": "2026-03-07"}, "to"),
        ({"management_unit_id": UNIT, "from": "2026-02-30", "to": "2026-03-07"}, "from"),
        ({"management_unit_id": UNIT, "from": "2026/03/01", "to": "2026-03-07"}, "from"),
        ({"management_unit_id": UNIT, "from": "2026-03-01", "to": "tomorrow"}, "to"),
        ({"management_unit_id": UNIT, "from": "2025-11-30", "to": "2026-03-02"}, "to"),
        ({"management_unit_id": UNIT, "to": "2026-03-02"}, "from"),
        ({"management_unit_id": UNIT, "from": "0001-01-01", "to": "0001-01-02"}, "from"),
        ({"management_unit_id": UNIT, "team_id": "t-blue", **MARCH}, "team_id"),
        (MARCH, "management_unit_id"),
        ({"management_unit_id": "", **MARCH}, "management_unit_id"),
        ({"management_unit_id": UNIT, "target_percent": 101, **MARCH}, "target_percent"),
        ({"management_unit_id": UNIT, "target_percent": "nan", **MARCH}, "target_percent"),
        ({"management_unit_id": UNIT, "format": "xlsx", **MARCH}, "format"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    loaded: Api, admin: Caller, params: dict[str, Any], field: str
) -> None:
    response = admin.get(URL, params=params)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "request.invalid"
    assert problem["errors"][0]["field"] == field


def test_today_counts_up_to_now_and_not_beyond(loaded: Api, admin: Caller) -> None:
    """eve is scheduled from two hours ago for four hours, and logged in an hour ago: an hour
    of exception, and only the two hours up to now are scheduled time so far."""
    moment = datetime.now(UTC).replace(microsecond=0)
    assert admin.put("/api/v1/agents/eve", json={"management_unit_id": UNIT}).status_code == 201
    start, end = iso(moment - timedelta(hours=2)), iso(moment + timedelta(hours=2))
    activity = {"start": start, "end": end, "activity_code_id": "oq"}
    body = {"start": start, "end": end, "activities": [activity]}
    assert admin.put("/api/v1/agents/eve/schedule", json=body).status_code == 200
    login = {"id": "eve-in", "agent_id": "eve", "time": iso(moment - timedelta(hours=1))}
    login |= {"kind": "login", "system_presence": "OnQueue"}
    assert admin.post("/api/v1/events", json=login).status_code == 202
    today = datetime.now(NEW_YORK).date()
    params = {"management_unit_id": UNIT, "from": (today - timedelta(days=1)).isoformat()}
    report = _report(admin, **params, to=today.isoformat())
    last_day = report["days"][-1]
    assert last_day["date"] == today.isoformat()
    assert moment.timestamp() <= parse_instant(last_day["end"]) / 1e6 <= time.time()
    (eve,) = [row for row in report["agents"] if row["agent_id"] == "eve"]
    assert 7200 <= eve["metrics"]["adherence_schedule_seconds"] < 7200 + 60
    assert eve["metrics"]["exception_seconds"] == 3600
    (run,) = [e for e in report["worst_exceptions"] if e["agent_id"] == "eve"]
    assert (run["start"], run["end"]) == (start, login["time"])
    # The historical API over the same instants gives the same numbers.
    historical = _historical(admin, report["days"][0]["start"], last_day["end"])
    (expected,) = [a for a in historical["agents"] if a["agent_id"] == "eve"]
    assert expected["metrics"] == eve["metrics"]
    tomorrow = admin.get(URL, params={**params, "to": (today + timedelta(days=1)).isoformat()})
    assert tomorrow.status_code == 422
    assert tomorrow.json()["errors"][0]["field"] == "to"
    assert "today" in tomorrow.json()["detail"]


def test_unknown_unit_or_team_is_not_found(loaded: Api, admin: Caller) -> None:
    unit = admin.get(URL, params={"management_unit_id": "ghost", **MARCH})
    assert (unit.status_code, unit.json()["code"]) == (404, "management_unit.not_found")
    team = admin.get(URL, params={"team_id": "ghost", **MARCH})
    assert (team.status_code, team.json()["code"]) == (404, "team.not_found")


def test_the_route_needs_adherence_read(loaded: Api) -> None:
    headers = loaded.headers("schedule:agent:read")
    response = loaded.client.get(URL, params={"management_unit_id": UNIT, **MARCH}, headers=headers)
    assert response.status_code == 403
    assert response.json()["missing_scopes"] == ["adherence:read"]
    assert loaded.client.get(URL, params={"management_unit_id": UNIT, **MARCH}).status_code == 401


def test_people_see_only_their_agents(loaded: Api) -> None:
    person(loaded, "greta", "supervisor", team_ids=["t-green"])
    supervisor = logged_in(loaded, "greta")
    report = supervisor.get(URL, params={"management_unit_id": UNIT, **MARCH})
    assert report.status_code == 200, report.text
    assert [row["agent_id"] for row in report.json()["agents"]] == ["cy"]
    person(loaded, "ana", "agent", agent_id="ana")
    agent = logged_in(loaded, "ana")
    own = agent.get(URL, params={"management_unit_id": UNIT, "format": "csv", **MARCH})
    assert {line["agent_id"] for line in csv.DictReader(io.StringIO(own.text))} == {"ana"}
    refused = agent.get(URL, params={"team_id": "t-green", **MARCH})
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.forbidden_agent"
    assert "t-green" in refused.json()["detail"]


def test_the_page_can_leave_out_the_agent_days(loaded: Api, admin: Caller) -> None:
    report = _report(admin, management_unit_id=UNIT, include_agent_days="false", **MARCH)
    assert "agent_days" not in report
    assert [row["agent_id"] for row in report["agents"]] == ["ana", "ben", "cy", "dee"]


def test_the_reports_page_and_its_files_are_served(api: Api) -> None:
    page = api.client.get("/reports")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for label in ("Management unit", "Team", "From", "To", "Target %", "Download CSV"):
        assert f">{label}<" in page.text
    assert '<script type="module" src="/static/reports.js">' in page.text
    script = api.client.get("/static/reports.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/api/v1/reports/adherence" in script.text
    style = api.client.get("/static/reports.css")
    assert (style.status_code, style.headers["content-type"]) == (200, "text/css; charset=utf-8")

"""The board, the agent day and reports in a real browser (Debian's Chromium via Playwright)
against a real `adhere serve`: what a supervisor and an agent see, live.

Screenshots of the board and the agent day land in `test-artifacts/`.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import artifact, browser
from tests.e2e.service_process import (
    ADHERE,
    RunningServer,
    api_client,
    create_client,
    fetch_token,
    start_server,
)

__all__ = ["browser"]  # the fixture, imported for pytest

UNIT_ZONE = ZoneInfo("America/New_York")
PASSWORD = "correct horse battery staple"
IN_ADHERENCE = re.compile(r"^\s*in\s*adherence", re.IGNORECASE)
OUT_OF_ADHERENCE = re.compile(r"^\s*out\s*of\s*adherence", re.IGNORECASE)


@dataclass
class Center:
    server: RunningServer
    admin: httpx.Client
    shift_start: datetime

    @property
    def url(self) -> str:
        return self.server.base_url


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _create_user(database_url: str, username: str, *options: str) -> None:
    result = subprocess.run(
        [ADHERE, "users", "create", username, *options, "--password-stdin", "--db", database_url],
        input=PASSWORD,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    """One unit in New York, two teams, four agents: ana on queue, ben on a break he should
    not be on, cleo not logged in though scheduled, dan unscheduled."""
    workdir = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{workdir / 'adhere.db'}"
    client = create_client(database_url, "browser-tests")
    server = start_server(database_url, workdir)
    admin = api_client(server.base_url, fetch_token(server.base_url, client))
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    center = Center(server, admin, start)
    try:
        _populate(admin)
        for agent in ("ana", "ben", "cleo"):
            response = admin.put(
                f"/api/v1/agents/{agent}/schedule",
                json={
                    "start": _iso(start),
                    "end": _iso(start + timedelta(hours=8)),
                    "activities": [
                        {"start": _iso(start), "length_minutes": 480, "activity_code_id": "oq"}
                    ],
                },
            )
            assert response.status_code == 200, response.text
        _post(admin, "ana-1", "ana", start + timedelta(minutes=1), "login", "OnQueue")
        _post(admin, "ben-1", "ben", start + timedelta(minutes=2), "login", "OnQueue")
        _post(admin, "ben-2", "ben", start + timedelta(minutes=30), "presence", "Break")
        _create_user(database_url, "sam", "--role", "supervisor", "--name", "Sam Supervisor")
        _create_user(database_url, "ana", "--role", "agent", "--agent", "ana", "--name", "Ana")
        _create_user(database_url, "ben", "--role", "agent", "--agent", "ben", "--name", "Ben")
        yield center
    finally:
        admin.close()
        center.server.stop()


def _populate(admin: httpx.Client) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/management-units/nyc", {"name": "New York", "time_zone": "America/New_York"}),
        ("/api/v1/management-units/nyc/activity-codes/oq", {"category": "OnQueueWork"}),
        ("/api/v1/management-units/nyc/activity-codes/brk", {"category": "Break"}),
        ("/api/v1/teams/blue", {"name": "Blue", "management_unit_id": "nyc"}),
        ("/api/v1/teams/green", {"name": "Green", "management_unit_id": "nyc"}),
    ]
    calls += [
        (
            f"/api/v1/agents/{agent}",
            {"name": name, "management_unit_id": "nyc", "team_id": team},
        )
        for agent, name, team in (
            ("ana", "Ana Alvarez", "blue"),
            ("ben", "Ben Brown", "blue"),
            ("cleo", "Cleo Chen", "green"),
            ("dan", "Dan Dorsey", "green"),
        )
    ]
    for path, body in calls:
        response = admin.put(path, json=body)
        assert response.status_code in {200, 201}, f"{path}: {response.text}"


def _post(
    admin: httpx.Client, event_id: str, agent: str, at: datetime, kind: str, presence: str
) -> None:
    body = {
        "id": event_id,
        "agent_id": agent,
        "time": _iso(at),
        "kind": kind,
        "system_presence": presence,
    }
    response = admin.post("/api/v1/events", json=body)
    assert response.status_code == 202, response.text


def _log_in(page: Page, center: Center, username: str, path: str = "/") -> None:
    page.goto(center.url + path)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    expect(page).to_have_url(re.compile(re.escape(center.url + path) + r"$"))


def _row(page: Page, agent: str) -> Any:
    return page.locator(f'[data-agent-id="{agent}"]')


def _cell(page: Page, agent: str, field: str) -> Any:
    return _row(page, agent).locator(f'[data-field="{field}"]')


@pytest.fixture
def supervisor_page(browser: Browser, center: Center) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(page, center, "sam")
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def test_the_board_lists_every_agent_with_state_in_colour_and_text(
    supervisor_page: Page, center: Center
) -> None:
    page = supervisor_page
    for agent, name in (("ana", "Ana Alvarez"), ("ben", "Ben Brown"), ("cleo", "Cleo Chen")):
        expect(_cell(page, agent, "agent_name")).to_contain_text(name)
    expect(_row(page, "dan")).to_have_count(1)
    expect(_cell(page, "ana", "adherence_state")).to_have_text(IN_ADHERENCE)
    expect(_cell(page, "ben", "adherence_state")).to_have_text(OUT_OF_ADHERENCE)
    expect(_cell(page, "cleo", "adherence_state")).to_have_text(OUT_OF_ADHERENCE)
    expect(_cell(page, "ana", "team")).to_contain_text("Blue")
    # Colour carries the state, and so does the text: the two chips differ in colour.
    colours = {
        agent: _cell(page, agent, "adherence_state")
        .locator("*")
        .first.evaluate("e => getComputedStyle(e).backgroundColor")
        for agent in ("ana", "ben")
    }
    assert colours["ana"] != colours["ben"], colours
    # Time in state ticks in the browser.
    before = _cell(page, "ben", "time_in_state").inner_text()
    page.wait_for_timeout(2100)
    assert _cell(page, "ben", "time_in_state").inner_text() != before
    page.screenshot(path=artifact("board.png"), full_page=True)


def test_an_event_posted_through_the_api_changes_the_row_without_a_reload(
    supervisor_page: Page, center: Center
) -> None:
    page = supervisor_page
    expect(_cell(page, "cleo", "adherence_state")).to_have_text(OUT_OF_ADHERENCE)
    page.evaluate("window.__notReloaded = true")
    posted = time.monotonic()
    _post(center.admin, "cleo-1", "cleo", datetime.now(UTC), "login", "OnQueue")
    expect(_cell(page, "cleo", "adherence_state")).to_have_text(IN_ADHERENCE, timeout=2000)
    elapsed = time.monotonic() - posted
    assert elapsed < 2, elapsed
    assert page.evaluate("window.__notReloaded") is True


def test_filters_and_only_out_of_adherence(supervisor_page: Page, center: Center) -> None:
    page = supervisor_page
    expect(_row(page, "ana")).to_have_count(1)
    page.get_by_label("Team").select_option(label="Green")
    expect(_row(page, "ana")).to_have_count(0)
    expect(_row(page, "ben")).to_have_count(0)
    expect(_row(page, "dan")).to_have_count(1)
    page.get_by_label("Team").select_option(index=0)  # every team
    page.get_by_label("Only out of adherence").check()
    expect(_row(page, "ben")).to_have_count(1)
    expect(_row(page, "ana")).to_have_count(0)
    expect(_row(page, "dan")).to_have_count(0)
    page.get_by_label("Only out of adherence").uncheck()
    page.get_by_label("Search by name").fill("brow")
    expect(_row(page, "ben")).to_have_count(1)
    expect(_row(page, "ana")).to_have_count(0)


def test_an_agent_sees_only_themself_and_is_refused_the_rest(
    browser: Browser, center: Center
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        _log_in(page, center, "ana")
        expect(_row(page, "ana")).to_have_count(1)
        expect(_row(page, "ben")).to_have_count(0)
        own = page.request.get(center.url + "/api/v1/agents/ana/adherence")
        assert own.status == 200, own.text()
        for path in ("/api/v1/agents/ben/adherence", "/api/v1/agents/ben/schedule"):
            refused = page.request.get(center.url + path)
            assert refused.status == 403, (path, refused.text())
            assert refused.json()["code"] == "auth.forbidden_agent"
    finally:
        context.close()


def test_the_agent_day_shows_three_bands_and_the_exceptions(
    supervisor_page: Page, center: Center
) -> None:
    page = supervisor_page
    page.goto(center.url + "/agents/ben/day")
    timeline = page.locator("svg").filter(has_text="Schedule").first
    for band in ("Schedule", "Actual", "Adherence"):
        expect(timeline).to_contain_text(band)
    assert timeline.locator("rect").count() >= 3
    expect(page.get_by_role("table").filter(has_text="Impact")).to_contain_text(
        re.compile("negative", re.IGNORECASE)
    )
    page.screenshot(path=artifact("agent-day.png"), full_page=True)


def test_a_csv_report_downloads_with_the_historical_apis_numbers(
    supervisor_page: Page, center: Center
) -> None:
    page = supervisor_page
    page.goto(center.url + "/reports")
    today = datetime.now(UNIT_ZONE).date().isoformat()
    page.get_by_label("From").fill(today)
    page.get_by_label("To").fill(today)
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("csv", re.IGNORECASE)).click()
    text = download_info.value.path().read_text(encoding="utf-8")
    rows = {
        row["agent_id"]: row for row in csv.DictReader(io.StringIO(text)) if row["date"] == today
    }
    assert set(rows) >= {"ana", "ben", "cleo"}
    # Today is reported up to the moment of the report: ask the historical API for that span.
    historical = center.admin.post(
        "/api/v1/adherence/historical",
        json={
            "agent_ids": ["ana", "ben", "cleo"],
            "start": rows["ana"]["day_start"],
            "end": rows["ana"]["day_end"],
        },
    )
    assert historical.status_code == 200, historical.text
    expected = {agent["agent_id"]: agent["metrics"] for agent in historical.json()["agents"]}
    for agent in ("ana", "ben", "cleo"):
        for figure in ("adherence_percent", "conformance_percent"):
            assert float(rows[agent][figure]) == pytest.approx(expected[agent][figure], abs=0.01)


def test_every_control_is_labelled(supervisor_page: Page, center: Center) -> None:
    unlabelled_script = """() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(e => e.type !== 'hidden')
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby') && !e.textContent.trim())
        .map(e => e.outerHTML.slice(0, 120))"""
    page = supervisor_page
    for path in ("/", "/agents/ben/day", "/reports"):
        page.goto(center.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate(unlabelled_script) == [], path


def test_an_agent_explains_an_exception_and_a_supervisor_approves_it(
    browser: Browser, center: Center
) -> None:
    agent = browser.new_context().new_page()
    _log_in(agent, center, "ben")
    agent.goto(center.url + "/agents/ben/day")
    agent.get_by_role("button", name="Explain").first.click()
    agent.get_by_label("Why were you out of adherence?").fill("A customer call ran over")
    agent.get_by_role("button", name="Submit explanation").click()
    expect(agent.get_by_text("Explanation submitted.")).to_be_visible()
    assert not agent.get_by_role("button", name=re.compile("^Approve")).count()
    agent.context.close()

    supervisor = browser.new_context().new_page()
    _log_in(supervisor, center, "sam")
    supervisor.goto(center.url + "/agents/ben/day")
    supervisor.get_by_role("button", name=re.compile("^Approve")).first.click()
    expect(supervisor.get_by_text("Explanation approved.")).to_be_visible()
    supervisor.context.close()

    stored = center.admin.get("/api/v1/explanations", params={"agent_id": "ben"}).json()
    assert [e["status"] for e in stored["items"]] == ["Approved"]
    assert stored["items"][0]["notes"] == "A customer call ran over"


def test_the_board_recovers_by_itself_when_the_server_restarts(
    browser: Browser, center: Center
) -> None:
    """The stream drops; the board says so, reconnects, and shows what changed meanwhile."""
    page = browser.new_context().new_page()
    _log_in(page, center, "sam")
    status = page.locator("#connection")
    expect(status).to_have_text("Live")
    expect(_cell(page, "dan", "actual")).to_contain_text("Offline")
    port = center.server.port
    center.server.stop()
    expect(status).to_have_text(re.compile("Reconnecting"), timeout=5000)
    # The same database and port, so the tests after this one go on with it.
    center.server = start_server(
        center.server.database_url, center.server.log_path.parent, port=port
    )
    page.evaluate("window.__notReloaded = true")
    _post(center.admin, "dan-1", "dan", datetime.now(UTC), "login", "OnQueue")
    expect(status).to_have_text("Live", timeout=10_000)
    expect(_cell(page, "dan", "actual")).to_contain_text("On queue", timeout=5000)
    assert page.evaluate("window.__notReloaded") is True
    page.context.close()

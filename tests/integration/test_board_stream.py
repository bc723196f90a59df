"""The live board's event stream, from a real HTTP server over a socket: the snapshot, changes
within a second of an event, resuming with Last-Event-ID, filters, scopes, and shutdown."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adhere.bootstrap import Container, build
from adhere.config import Settings
from adhere.entrypoints.api.app import create_app
from adhere.service.auth import KNOWN_SCOPES
from tests.e2e.service_process import ADHERE
from tests.http_server import serving
from tests.integration.board_client import STREAM, EventStream

RESUME_FIELDS = ("adherence_state", "actual_category", "system_presence", "since")
PASSWORD = "correct horse battery staple"


@dataclass
class Board:
    container: Container
    base_url: str
    token: str
    admin: httpx.Client
    database_url: str
    stopped: bool = False

    def stream(self, **kw: Any) -> EventStream:
        return EventStream(self.base_url, {"Authorization": f"Bearer {self.token}"}, **kw)

    def post(self, event_id: str, agent: str, presence: str, kind: str = "presence") -> None:
        body = {
            "id": event_id,
            "agent_id": agent,
            "time": _iso(datetime.now(UTC)),
            "kind": kind,
            "system_presence": presence,
        }
        response = self.admin.post("/api/v1/events", json=body)
        assert response.status_code == 202, response.text

    def user_stream(self, username: str, *options: str, **kw: Any) -> EventStream:
        """The stream of a person logged in to the board, with their session cookie."""
        command = [ADHERE, "users", "create", username, *options, "--password-stdin"]
        created = subprocess.run(
            [*command, "--db", self.database_url],
            input=PASSWORD,
            capture_output=True,
            text=True,
            check=False,
        )
        assert created.returncode == 0, created.stderr
        login = {"username": username, "password": PASSWORD}
        response = httpx.post(f"{self.base_url}/api/v1/session", json=login)
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"].split(";")[0]
        return EventStream(self.base_url, {"Cookie": cookie}, **kw)

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.container.stop()


@pytest.fixture
def board(database_url: str) -> Iterator[Board]:
    """The service on a real socket, with a unit in New York, two teams and three agents on
    an eight-hour on-queue shift that began an hour ago, and a London unit with one agent."""
    container = build(
        Settings(database_url=database_url, clock_interval_seconds=0.05, stream_recheck_seconds=0.5)
    )
    container.start()  # the test server runs no lifespan: the container is started here
    board: Board | None = None
    try:
        with serving(create_app(container)) as base_url:
            record, secret = container.auth.create_client("board", list(KNOWN_SCOPES))
            token = httpx.post(
                f"{base_url}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(record.id, secret),
            ).json()["access_token"]
            with httpx.Client(
                base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as admin:
                board = Board(container, base_url, token, admin, database_url)
                _populate(admin)
                yield board
                board.stop()  # before the server: it waits for open streams to end
    finally:
        if board is None or not board.stopped:
            container.stop()


def _populate(admin: httpx.Client) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/management-units/nyc", {"name": "New York", "time_zone": "America/New_York"}),
        ("/api/v1/management-units/nyc/activity-codes/oq", {"category": "OnQueueWork"}),
        ("/api/v1/management-units/lon", {"name": "London", "time_zone": "Europe/London"}),
        ("/api/v1/teams/blue", {"name": "Blue", "management_unit_id": "nyc"}),
        ("/api/v1/teams/green", {"name": "Green", "management_unit_id": "nyc"}),
        ("/api/v1/agents/ana", {"name": "Ana", "management_unit_id": "nyc", "team_id": "blue"}),
        ("/api/v1/agents/ben", {"name": "Ben", "management_unit_id": "nyc", "team_id": "blue"}),
        ("/api/v1/agents/cleo", {"name": "Cleo", "management_unit_id": "nyc", "team_id": "green"}),
        ("/api/v1/agents/lou", {"name": "Lou", "management_unit_id": "lon"}),
    ]
    for path, body in calls:
        response = admin.put(path, json=body)
        assert response.status_code in {200, 201}, response.text
    for agent in ("ana", "ben", "cleo"):
        shift = {
            "start": _iso(start),
            "end": _iso(start + timedelta(hours=8)),
            "activities": [{"start": _iso(start), "length_minutes": 480, "activity_code_id": "oq"}],
        }
        response = admin.put(f"/api/v1/agents/{agent}/schedule", json=shift)
        assert response.status_code == 200, response.text


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _settled(board: Board, agents: set[str]) -> dict[str, dict[str, Any]]:
    """A fresh snapshot once it holds `agents` (the publisher runs every 50 ms)."""
    deadline = time.monotonic() + 5
    while True:
        with board.stream() as stream:
            snapshot = stream.next()
        if agents <= set(snapshot.rows) or time.monotonic() > deadline:
            return snapshot.rows
        time.sleep(0.05)


def test_the_first_event_is_a_snapshot_of_every_row(board: Board) -> None:
    rows = _settled(board, {"ana", "ben", "cleo", "lou"})
    with board.stream() as stream:
        snapshot = stream.next()
        assert stream.status == 200
        assert stream.headers is not None
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-store"
    assert snapshot.kind == "snapshot"
    assert snapshot.retry == 1000
    assert snapshot.id is not None
    assert snapshot.id.startswith(board.container.board.epoch + "-")  # type: ignore[union-attr]
    assert set(snapshot.rows) == set(rows) == {"ana", "ben", "cleo", "lou"}
    for agent, row in snapshot.rows.items():
        realtime = board.admin.get(f"/api/v1/agents/{agent}/adherence").json()
        for field in ("agent_name", "team_id", "management_unit_id", *RESUME_FIELDS, "impact"):
            assert row[field] == realtime[field], (agent, field)
        assert row["severe_after_seconds"] == 300
    assert snapshot.rows["ana"]["adherence_state"] == "OutOfAdherence"  # not logged in


def test_a_posted_event_reaches_the_stream_within_a_second(board: Board) -> None:
    _settled(board, {"ana"})
    with board.stream() as stream:
        assert stream.next().kind == "snapshot"
        for number, (presence, state) in enumerate(
            [("OnQueue", "InAdherence"), ("Break", "OutOfAdherence"), ("OnQueue", "InAdherence")]
        ):
            posted = time.monotonic()
            board.post(
                f"ana-{number}", "ana", presence, kind="login" if number == 0 else "presence"
            )
            event = stream.next_with("ana", adherence_state=state)
            assert event.kind == "rows"
            assert set(event.rows) == {"ana"}
            assert event.received - posted < 1, event.received - posted


def test_resuming_with_last_event_id_replays_the_missed_rows(board: Board) -> None:
    _settled(board, {"ana", "ben", "cleo", "lou"})
    with board.stream() as stream:
        snapshot = stream.next()
    client = dict(snapshot.rows)
    # Away, the board misses three changes to two agents.
    board.post("ana-1", "ana", "OnQueue", kind="login")
    board.post("ana-2", "ana", "Break")
    board.post("ben-1", "ben", "OnQueue", kind="login")
    fresh = _settled(board, set())
    deadline = time.monotonic() + 5
    while (
        fresh["ana"]["actual_category"] != "Break" or fresh["ben"]["system_presence"] != "OnQueue"
    ):
        assert time.monotonic() < deadline, "the changes were never published"
        fresh = _settled(board, set())
    with board.stream(last_event_id=snapshot.id) as stream:
        missed = stream.next()
    assert missed.kind == "rows"
    assert set(missed.rows) == {"ana", "ben"}  # each once, with its latest row
    assert missed.rows["ana"]["actual_category"] == "Break"
    assert missed.id != snapshot.id
    client.update(missed.rows)
    assert client == fresh  # nothing lost: the same rows as a client that starts afresh
    # The query parameter resumes too (a browser reopening the stream itself uses it).
    with board.stream(params={"last_event_id": snapshot.id}) as stream:
        again = stream.next()
    assert again.kind == "rows"
    assert set(again.rows) == {"ana", "ben"}


def test_an_unknown_or_foreign_event_id_gets_a_snapshot(board: Board) -> None:
    rows = _settled(board, {"ana", "ben", "cleo", "lou"})
    epoch = board.container.board.epoch  # type: ignore[union-attr]
    for last_event_id in ("0123456789ab-1", f"{epoch}-999999", "garbage"):
        with board.stream(last_event_id=last_event_id) as stream:
            event = stream.next()
        assert event.kind == "snapshot", last_event_id
        assert set(event.rows) == set(rows)


def test_unit_and_team_filters_narrow_the_stream(board: Board) -> None:
    _settled(board, {"ana", "ben", "cleo", "lou"})
    with (
        board.stream(params={"team_id": "blue"}) as blue,
        board.stream(params={"management_unit_id": "lon"}) as london,
    ):
        assert set(blue.next().rows) == {"ana", "ben"}
        assert set(london.next().rows) == {"lou"}
        board.post("cleo-1", "cleo", "OnQueue", kind="login")  # green, in New York
        board.post("lou-1", "lou", "OnQueue", kind="login")
        board.post("ben-1", "ben", "OnQueue", kind="login")
        seen = blue.until("ben", system_presence="OnQueue")
        assert {a for event in seen for a in event.rows} == {"ben"}  # never cleo, nor lou
        seen = london.until("lou", system_presence="OnQueue")
        assert {a for event in seen for a in event.rows} == {"lou"}


def test_people_see_only_the_agents_their_role_lets_them(board: Board) -> None:
    _settled(board, {"ana", "ben", "cleo", "lou"})
    with (
        board.user_stream("ana", "--role", "agent", "--agent", "ana") as agent,
        board.user_stream("gil", "--role", "supervisor", "--team", "green") as green,
        board.user_stream("lea", "--role", "supervisor", "--unit", "lon") as london,
        board.user_stream("max", "--role", "supervisor") as everyone,
        board.user_stream(
            "gus", "--role", "supervisor", "--team", "green", params={"team_id": "blue"}
        ) as nobody,
    ):
        assert set(agent.next().rows) == {"ana"}
        assert set(green.next().rows) == {"cleo"}
        assert set(london.next().rows) == {"lou"}
        assert set(everyone.next().rows) == {"ana", "ben", "cleo", "lou"}
        assert nobody.next().rows == {}  # asked for a team they may not see
        board.post("ben-1", "ben", "OnQueue", kind="login")
        board.post("ana-1", "ana", "OnQueue", kind="login")
        seen = agent.until("ana", system_presence="OnQueue")
        assert {a for event in seen for a in event.rows} == {"ana"}  # never ben
        board.post("cleo-1", "cleo", "OnQueue", kind="login")
        seen = green.until("cleo", system_presence="OnQueue")
        assert {a for event in seen for a in event.rows} == {"cleo"}
        seen = everyone.until("cleo", system_presence="OnQueue")
        assert {a for event in seen for a in event.rows} == {"ana", "ben", "cleo"}


def test_a_stream_ends_soon_after_its_user_is_disabled(board: Board) -> None:
    """Opened with a session that then ends: no more rows within `stream_recheck_seconds`."""
    _settled(board, {"ana", "ben", "cleo", "lou"})
    with board.user_stream("max", "--role", "supervisor") as stream:
        assert set(stream.next().rows) == {"ana", "ben", "cleo", "lou"}
        assert not stream.ended.wait(1.2), "a valid session's stream ended"  # rechecks pass
        board.container.users.disable_user(board.container.users.find_user("max").id)
        assert stream.ended.wait(3), "the stream outlived its user's session"
        board.post("ben-9", "ben", "OnQueue", kind="login")
        with pytest.raises(AssertionError, match="the stream ended"):
            stream.next(timeout=1)


def test_filters_name_known_units_and_teams(board: Board) -> None:
    for params, code in (
        ({"team_id": "red"}, "team.not_found"),
        ({"management_unit_id": "paris"}, "management_unit.not_found"),
    ):
        response = board.admin.get(STREAM, params=params)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code


def test_the_stream_needs_adherence_read(board: Board) -> None:
    missing = httpx.get(board.base_url + STREAM)
    assert missing.status_code == 401
    assert missing.json()["code"] == "auth.missing_token"
    record, secret = board.container.auth.create_client("events only", ["events:write"])
    token = httpx.post(
        f"{board.base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(record.id, secret),
    ).json()["access_token"]
    refused = httpx.get(board.base_url + STREAM, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert refused.json()["required_scopes"] == ["adherence:read"]


def test_stopping_the_service_ends_open_streams(board: Board) -> None:
    with board.stream() as first, board.stream() as second:
        assert first.next().kind == "snapshot"
        assert second.next().kind == "snapshot"
        stopping = time.monotonic()
        board.stop()
        assert first.ended.wait(2)
        assert second.ended.wait(2)
        assert time.monotonic() - stopping < 2


def test_a_client_that_goes_away_stops_its_stream(board: Board) -> None:
    feed = board.container.board
    assert feed is not None
    with board.stream() as first, board.stream() as second:
        first.next()
        second.next()
        assert feed.streams == 2
    deadline = time.monotonic() + 2
    while feed.streams:
        assert time.monotonic() < deadline, f"{feed.streams} streams still listen"
        time.sleep(0.02)


def test_the_stream_is_documented_as_server_sent_events(board: Board) -> None:
    operation = board.admin.get("/openapi.json").json()["paths"][STREAM]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
    assert operation["security"] == [{"oauth2": ["adherence:read"]}]
    assert "Last-Event-ID" in {parameter["name"] for parameter in operation["parameters"]}

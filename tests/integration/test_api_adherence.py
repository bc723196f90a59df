"""Real-time and historical adherence, corrections, explanations, the clock, restarts."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adhere.adapters.scenario_format import parse_scenario
from adhere.bootstrap import build
from adhere.config import Settings
from adhere.entrypoints.api.app import create_app
from adhere.service.evaluation import evaluate_document
from adhere.service.scenario_import import import_scenario
from tests.integration.conftest import Api, Caller, iso, minutes, now, setup_unit

EXAMPLES = sorted(Path(__file__).parents[2].joinpath("examples").glob("*[!t].json"))


def _schedule(
    admin: Caller, agent: str, start: str, activities: list[dict[str, Any]], end: str
) -> None:
    body = {"start": start, "end": end, "activities": activities}
    response = admin.put(f"/api/v1/agents/{agent}/schedule", json=body)
    assert response.status_code == 200, response.text


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _historical(admin: Caller, **query: Any) -> dict[str, Any]:
    response = admin.post("/api/v1/adherence/historical", json=query)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_historical_equals_adhere_evaluate(api: Api, admin: Caller, example: Path) -> None:
    document = json.loads(example.read_text())
    import_scenario(api.container.context, parse_scenario(document))
    expected = evaluate_document(document)
    result = _historical(
        admin,
        management_unit_id=document["management_unit"]["id"],
        start=document["window"]["start"],
        end=document["window"]["end"],
        include_segments=True,
        include_exceptions=True,
    )
    by_id = {agent["agent_id"]: agent for agent in result["agents"]}
    assert [by_id[a["agent_id"]] for a in expected["agents"]] == expected["agents"]
    assert result["totals"] == expected["totals"]


def test_historical_leaves_out_what_is_not_asked(api: Api, admin: Caller) -> None:
    setup_unit(admin)
    result = _historical(
        admin, agent_ids=["lee"], start="2026-06-02T00:00:00Z", end="2026-06-03T00:00:00Z"
    )
    assert set(result["agents"][0]) == {"agent_id", "metrics", "days"}


def test_historical_query_is_validated(admin: Caller) -> None:
    setup_unit(admin)
    too_long = admin.post(
        "/api/v1/adherence/historical",
        json={"agent_ids": ["lee"], "start": "2026-01-01T00:00:00Z", "end": "2026-02-02T00:00:00Z"},
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "end"
    unknown = admin.post(
        "/api/v1/adherence/historical",
        json={
            "agent_ids": ["ghost"],
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-01-02T00:00:00Z",
        },
    )
    assert unknown.status_code == 422
    assert "ghost" in unknown.json()["detail"]
    both = admin.post(
        "/api/v1/adherence/historical",
        json={
            "agent_ids": ["lee"],
            "team_id": "t",
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-01-02T00:00:00Z",
        },
    )
    assert both.status_code == 422


def test_realtime_rows_and_state_filter(admin: Caller) -> None:
    setup_unit(admin, agents=("lee", "max"))
    start = now() - minutes(30)
    for agent in ("lee", "max"):
        _schedule(
            admin,
            agent,
            iso(start),
            [{"start": iso(start), "length_minutes": 120, "activity_code_id": "oq"}],
            iso(start + minutes(120)),
        )
    login = {
        "id": "l1",
        "agent_id": "lee",
        "time": iso(start),
        "kind": "login",
        "system_presence": "OnQueue",
        "routing_status": "IDLE",
    }
    assert admin.post("/api/v1/events", json=login).status_code == 202
    rows = admin.get("/api/v1/adherence/realtime", params={"management_unit_id": "nyc"}).json()[
        "items"
    ]
    by_id = {row["agent_id"]: row for row in rows}
    assert by_id["lee"]["adherence_state"] == "InAdherence"
    assert by_id["lee"]["scheduled_activity_code_id"] == "oq"
    assert _at(by_id["lee"]["since"]) == start
    max_row = by_id["max"]
    assert (max_row["adherence_state"], max_row["actual_category"]) == ("OutOfAdherence", "Offline")
    assert max_row["out_of_adherence_since"] is not None
    assert 29 * 60 < max_row["out_of_adherence_seconds"] < 31 * 60
    out = admin.get(
        "/api/v1/adherence/realtime",
        params={"management_unit_id": "nyc", "state": "OutOfAdherence"},
    )
    assert [row["agent_id"] for row in out.json()["items"]] == ["max"]
    listed = admin.get(
        "/api/v1/adherence/realtime", params=[("agent_id", "lee"), ("agent_id", "max")]
    )
    assert len(listed.json()["items"]) == 2


def test_realtime_selection_is_validated(admin: Caller) -> None:
    setup_unit(admin)
    assert admin.get("/api/v1/adherence/realtime").status_code == 422
    too_many = admin.get(
        "/api/v1/adherence/realtime", params=[("agent_id", f"a{i}") for i in range(1001)]
    )
    assert too_many.status_code == 422
    assert admin.get("/api/v1/adherence/realtime", params={"team_id": "t0"}).status_code == 404
    missing_unit = admin.get("/api/v1/adherence/realtime", params={"management_unit_id": "x"})
    assert missing_unit.status_code == 404
    assert missing_unit.json()["code"] == "management_unit.not_found"
    unknown = admin.get("/api/v1/adherence/realtime", params={"agent_id": "ghost"})
    assert unknown.status_code == 422
    assert "ghost" in unknown.json()["detail"]


def test_late_event_and_schedule_edit_correct_live_and_history(admin: Caller) -> None:
    setup_unit(admin)
    start = now() - minutes(60)
    _schedule(
        admin,
        "lee",
        iso(start),
        [{"start": iso(start), "length_minutes": 120, "activity_code_id": "oq"}],
        iso(start + minutes(120)),
    )
    on_queue = {
        "id": "on",
        "agent_id": "lee",
        "time": iso(start + minutes(10)),
        "kind": "login",
        "system_presence": "OnQueue",
    }
    assert admin.post("/api/v1/events", json=on_queue).status_code == 202
    window = {
        "agent_ids": ["lee"],
        "start": iso(start),
        "end": iso(start + minutes(50)),
        "include_exceptions": True,
    }
    before = _historical(admin, **window)["agents"][0]["metrics"]["state_seconds"]["OutOfAdherence"]
    assert before == 600
    # A late event: the agent was on queue from the start after all.
    late = {**on_queue, "id": "early", "time": iso(start)}
    assert admin.post("/api/v1/events", json=late).json()["accepted"] == 1
    assert (
        _historical(admin, **window)["agents"][0]["metrics"]["state_seconds"]["OutOfAdherence"] == 0
    )
    # A schedule edit: a break now, while the agent is on queue.
    _schedule(
        admin,
        "lee",
        iso(start + minutes(40)),
        [{"start": iso(start + minutes(40)), "length_minutes": 30, "activity_code_id": "brk"}],
        iso(start + minutes(70)),
    )
    row = admin.get("/api/v1/agents/lee/adherence").json()
    assert (row["scheduled_category"], row["adherence_state"]) == ("Break", "OutOfAdherence")
    assert _at(row["out_of_adherence_since"]) == start + minutes(40)
    assert (
        _historical(admin, **window)["agents"][0]["metrics"]["state_seconds"]["OutOfAdherence"]
        == 600
    )


def test_approved_explanation_explains_live_and_history(admin: Caller) -> None:
    setup_unit(admin)
    start = now() - minutes(20)
    _schedule(
        admin,
        "lee",
        iso(start),
        [{"start": iso(start), "length_minutes": 120, "activity_code_id": "oq"}],
        iso(start + minutes(120)),
    )
    created = admin.post(
        "/api/v1/explanations",
        json={"agent_id": "lee", "start": iso(start), "length_minutes": 60, "notes": "bus"},
    )
    assert created.status_code == 201
    explanation = created.json()
    assert explanation["status"] == "Pending"
    assert admin.get("/api/v1/agents/lee/adherence").json()["adherence_state"] == "OutOfAdherence"
    approved = admin.post(f"/api/v1/explanations/{explanation['id']}/approve", json={})
    assert approved.json()["status"] == "Approved"
    assert admin.get("/api/v1/agents/lee/adherence").json()["adherence_state"] == "Explained"
    window = {"agent_ids": ["lee"], "start": iso(start), "end": iso(start + minutes(10))}
    state = _historical(admin, **window)["agents"][0]["metrics"]["state_seconds"]
    assert (state["Explained"], state["OutOfAdherence"]) == (600, 0)
    denied = admin.post(f"/api/v1/explanations/{explanation['id']}/deny")
    assert denied.json()["status"] == "Denied"
    assert admin.get("/api/v1/agents/lee/adherence").json()["adherence_state"] == "OutOfAdherence"
    listed = admin.get(
        "/api/v1/explanations", params={"agent_id": "lee", "status": "Denied"}
    ).json()
    assert [item["id"] for item in listed["items"]] == [explanation["id"]]
    assert admin.post("/api/v1/explanations/nope/approve").status_code == 404


def test_a_break_starting_reaches_live_state_within_a_second(admin: Caller) -> None:
    setup_unit(admin)
    start = now() - minutes(10)
    brk = now() + minutes(1 / 60)  # one second from now
    _schedule(
        admin,
        "lee",
        iso(start),
        [
            {"start": iso(start), "end": iso(brk), "activity_code_id": "oq"},
            {"start": iso(brk), "length_minutes": 15, "activity_code_id": "brk"},
        ],
        iso(brk + minutes(15)),
    )
    login = {
        "id": "l",
        "agent_id": "lee",
        "time": iso(start),
        "kind": "login",
        "system_presence": "OnQueue",
    }
    admin.post("/api/v1/events", json=login)
    assert admin.get("/api/v1/agents/lee/adherence").json()["scheduled_category"] == "OnQueueWork"
    deadline = brk.timestamp() + 1.0
    while time.time() < deadline + 0.5:
        row = admin.get("/api/v1/agents/lee/adherence").json()
        if row["scheduled_category"] == "Break":
            break
        time.sleep(0.02)
    assert row["scheduled_category"] == "Break"
    assert row["adherence_state"] == "OutOfAdherence"
    assert time.time() <= deadline, f"the break showed {time.time() - brk.timestamp():.2f} s late"


def test_restart_changes_nothing_a_client_sees(api: Api, admin: Caller, database_url: str) -> None:
    setup_unit(admin, agents=("lee", "max"))
    start = now() - minutes(45)
    _schedule(
        admin,
        "lee",
        iso(start),
        [{"start": iso(start), "length_minutes": 120, "activity_code_id": "oq"}],
        iso(start + minutes(120)),
    )
    events = [
        {
            "id": "1",
            "agent_id": "lee",
            "time": iso(start + minutes(5)),
            "kind": "login",
            "system_presence": "OnQueue",
            "queue_ids": ["q-sales", "q-support"],  # stored and read back on restart
        },
        {
            "id": "2",
            "agent_id": "lee",
            "time": iso(start + minutes(20)),
            "kind": "presence",
            "system_presence": "Break",
        },
        {
            "id": "3",
            "agent_id": "lee",
            "time": iso(start + minutes(1)),
            "kind": "login",
            "system_presence": "Available",
        },
    ]
    admin.post("/api/v1/events", json={"events": events})
    window = {
        "management_unit_id": "nyc",
        "start": iso(start),
        "end": iso(now()),
        "include_segments": True,
        "include_exceptions": True,
    }
    live_before = admin.get(
        "/api/v1/adherence/realtime", params={"management_unit_id": "nyc"}
    ).json()
    history_before = _historical(admin, **window)
    restarted = build(Settings(database_url=database_url))
    with TestClient(create_app(restarted)) as client:
        headers = admin.headers
        live_after = client.get(
            "/api/v1/adherence/realtime", params={"management_unit_id": "nyc"}, headers=headers
        ).json()
        history_after = client.post(
            "/api/v1/adherence/historical", json=window, headers=headers
        ).json()
    assert history_after == history_before
    with restarted.context.store.reading() as tx:
        stored = {event.id: event for event in tx.events()}
    assert stored["1"].queue_ids == ("q-sales", "q-support")
    assert stored["2"].queue_ids is None
    for before, after in zip(live_before["items"], live_after["items"], strict=True):
        assert {k: v for k, v in before.items() if k not in {"at", "out_of_adherence_seconds"}} == {
            k: v for k, v in after.items() if k not in {"at", "out_of_adherence_seconds"}
        }

"""Event ingestion: per-event outcomes, idempotence, limits, and nothing stored from a reject."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from adhere.adapters import schema
from tests.integration.conftest import Api, Caller, iso, minutes, now, setup_unit


def _login(
    event_id: str, agent: str = "lee", at: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "agent_id": agent,
        "time": at or iso(now() - minutes(1)),
        "kind": "login",
        "system_presence": "OnQueue",
        "routing_status": "IDLE",
        **extra,
    }


def _stored(api: Api) -> int:
    with api.container.database.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(schema.events)).scalar_one())


def test_one_event_is_accepted_and_applied(api: Api, admin: Caller) -> None:
    setup_unit(admin)
    response = admin.post("/api/v1/events", json=_login("e1"))
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert _stored(api) == 1
    row = admin.get("/api/v1/agents/lee/adherence").json()
    assert (row["system_presence"], row["routing_status"]) == ("OnQueue", "IDLE")


def test_a_batch_reports_each_event_and_bad_ones_do_not_sink_good_ones(
    api: Api, admin: Caller
) -> None:
    setup_unit(admin)
    batch = [
        _login("ok-1"),
        _login("bad-presence", system_presence="Sleeping"),
        _login("no-offset", at="2026-06-02T13:00:00"),
        _login("ghost", agent="nobody"),
        _login("future", at=iso(now() + minutes(6))),
        _login("ancient", at=iso(now() - minutes(8 * 24 * 60))),
        {"id": "wrong-type", "agent_id": "lee", "time": 12, "kind": "login"},
        _login("ok-1"),  # the same id again in the batch: first arrival wins
    ]
    response = admin.post("/api/v1/events", json={"events": batch})
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (1, 1, 6)
    outcome = {(r["index"], r["id"]): (r["outcome"], r.get("field")) for r in body["results"]}
    assert outcome[(0, "ok-1")] == ("accepted", None)
    assert outcome[(1, "bad-presence")] == ("rejected", "system_presence")
    assert outcome[(2, "no-offset")] == ("rejected", "time")
    assert outcome[(3, "ghost")] == ("rejected", "agent_id")
    assert outcome[(4, "future")] == ("rejected", "time")
    assert outcome[(5, "ancient")] == ("rejected", "time")
    assert outcome[(6, "wrong-type")] == ("rejected", "time")
    assert outcome[(7, "ok-1")] == ("duplicate", None)
    reasons = {r["id"]: r.get("reason") for r in body["results"]}
    assert "future" in reasons["future"]
    assert "lateness limit" in reasons["ancient"]
    assert "unknown agent 'nobody'" in reasons["ghost"]
    assert _stored(api) == 1


def test_resubmitting_a_batch_is_idempotent(api: Api, admin: Caller) -> None:
    setup_unit(admin, agents=("lee", "max"))
    batch = {"events": [_login("a"), _login("a", agent="max")]}  # same id, two agents
    assert admin.post("/api/v1/events", json=batch).json()["accepted"] == 2
    again = admin.post("/api/v1/events", json=batch)
    assert again.status_code == 202
    assert again.json()["duplicate"] == 2
    assert _stored(api) == 2


def test_a_single_rejected_event_is_a_problem(api: Api, admin: Caller) -> None:
    setup_unit(admin)
    response = admin.post("/api/v1/events", json=_login("x", system_presence="Sleeping"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "events[0].system_presence"
    assert _stored(api) == 0


def test_oversized_batch_is_413(api: Api, admin: Caller) -> None:
    setup_unit(admin)
    batch = [_login(f"e{i}") for i in range(10_001)]
    response = admin.post("/api/v1/events", json={"events": batch})
    assert response.status_code == 413
    assert response.json()["code"] == "events.batch_too_large"
    assert _stored(api) == 0


def test_malformed_json_is_400(api: Api, admin: Caller) -> None:
    response = admin.post(
        "/api/v1/events", content=b'{"id": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"


def test_body_of_the_wrong_shape_is_422(admin: Caller) -> None:
    assert admin.post("/api/v1/events", json=[1, 2]).status_code == 422
    response = admin.post("/api/v1/events", json={"events": "many"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events"

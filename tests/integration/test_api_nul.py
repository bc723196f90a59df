"""Text with NUL (U+0000) is refused with the field named, on both databases alike
(PostgreSQL cannot store it; it was a 500 there)."""

from __future__ import annotations

import json

from tests.integration.conftest import Caller, iso, now, setup_unit


def test_a_nul_in_a_body_field_is_a_422_naming_it(admin: Caller) -> None:
    response = admin.put("/api/v1/agents/lee", json={"management_unit_id": "nyc\x00"})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["management_unit_id"]
    assert "U+0000" in response.json()["errors"][0]["message"]


def test_a_nul_in_one_event_of_a_batch_names_that_event(admin: Caller) -> None:
    setup_unit(admin)
    events = [
        {"id": "ok", "agent_id": "lee", "time": iso(now()), "kind": "login"},
        {"id": "bad\x00", "agent_id": "lee", "time": iso(now()), "kind": "logout"},
    ]
    response = admin.post("/api/v1/events", json={"events": events})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events[1].id"


def test_a_nul_in_the_path_or_the_query_is_refused(admin: Caller) -> None:
    assert admin.get("/api/v1/agents/lee%00").status_code == 422
    response = admin.get("/api/v1/explanations?agent_id=lee%00")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "agent_id"


def test_the_text_backslash_u0000_is_not_a_nul(admin: Caller) -> None:
    setup_unit(admin)
    body = json.dumps({"management_unit_id": "nyc", "name": "Lee \\u0000 literally"})
    assert "\\\\u0000" in body
    response = admin.put(
        "/api/v1/agents/lee", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Lee \\u0000 literally"

"""The users API: admins create, list and disable the people who log in to the board."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api, Caller, setup_unit
from tests.integration.people import Browser, logged_in, person


def test_an_admin_creates_a_user_with_a_generated_password(api: Api, admin: Caller) -> None:
    created = admin.post("/api/v1/users", json={"username": "sue", "role": "supervisor"})
    assert created.status_code == 201, created.text
    body = created.json()
    password = body.pop("password")
    assert len(password) >= 24
    assert created.headers["cache-control"] == "no-store"
    assert created.headers["location"] == f"/api/v1/users/{body['id']}"
    assert body | {"created": "?"} == {
        "id": body["id"],
        "username": "sue",
        "display_name": "sue",
        "role": "supervisor",
        "agent_id": None,
        "unit_ids": [],
        "team_ids": [],
        "disabled": False,
        "created": "?",
    }
    listed = admin.get("/api/v1/users").json()["items"]
    assert listed == [body]
    assert "password" not in listed[0]
    assert Browser(api).log_in("sue", password).status_code == 200


def test_a_given_password_is_not_returned(admin: Caller) -> None:
    setup_unit(admin, agents=("lee",))
    created = admin.post(
        "/api/v1/users",
        json={
            "username": "lee",
            "display_name": "Lee Adama",
            "role": "agent",
            "agent_id": "lee",
            "password": "twelve chars",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["password"] is None
    assert created.json()["agent_id"] == "lee"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"role": "agent", "password": "eleven char"}, "password"),
        ({"role": "boss"}, "role"),
        ({"role": "agent"}, "agent_id"),
        ({"role": "agent", "agent_id": "nobody"}, "agent_id"),
        ({"role": "admin", "agent_id": "lee"}, "agent_id"),
        ({"role": "supervisor", "unit_ids": ["nowhere"]}, "unit_ids"),
        ({"role": "supervisor", "team_ids": ["nobody"]}, "team_ids"),
        ({"role": "agent", "agent_id": "lee", "team_ids": ["t1"]}, "team_ids"),
        ({"role": "admin", "username": "has space"}, "username"),
    ],
)
def test_bad_users_are_refused_naming_the_field(
    admin: Caller, fields: dict[str, Any], field: str
) -> None:
    setup_unit(admin, agents=("lee",))
    assert admin.put("/api/v1/teams/t1", json={"management_unit_id": "nyc"}).status_code == 201
    refused = admin.post("/api/v1/users", json={"username": "x", **fields})
    assert refused.status_code == 422, refused.text
    assert [error["field"] for error in refused.json()["errors"]] == [field]
    assert admin.get("/api/v1/users").json()["items"] == []


def test_usernames_are_unique_whatever_their_case(admin: Caller) -> None:
    assert admin.post("/api/v1/users", json={"username": "Sue", "role": "admin"}).status_code == 201
    taken = admin.post("/api/v1/users", json={"username": "sUE", "role": "admin"})
    assert taken.status_code == 409
    assert taken.json()["code"] == "user.username_taken"
    assert taken.json()["errors"][0]["field"] == "username"


def test_disabling_a_user(api: Api, admin: Caller) -> None:
    user = person(api, "sue", "supervisor")
    disabled = admin.post(f"/api/v1/users/{user.id}/disable")
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    assert admin.get("/api/v1/users").json()["items"][0]["disabled"] is True
    assert Browser(api).log_in("sue").status_code == 401
    missing = admin.post("/api/v1/users/us_nobody/disable")
    assert missing.status_code == 404
    assert missing.json()["code"] == "user.not_found"


def test_managing_users_needs_the_admin_scope(api: Api) -> None:
    token = api.headers("adherence:read")
    refused = api.client.post(
        "/api/v1/users", json={"username": "x", "role": "admin"}, headers=token
    )
    assert refused.status_code == 403
    assert refused.json()["missing_scopes"] == ["admin"]
    person(api, "dana", "admin")
    browser = logged_in(api, "dana")  # an admin user manages users from the browser
    created = browser.send("POST", "/api/v1/users", json={"username": "sue", "role": "supervisor"})
    assert created.status_code == 201, created.text

"""Browser sessions: log in, the cookie, who am I, log out, expiry, CSRF, and role scopes."""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import select

from adhere.adapters.schema import user_sessions
from adhere.service.auth import KNOWN_SCOPES
from adhere.service.users import ROLE_SCOPES
from tests.integration.conftest import Api, Caller, setup_unit
from tests.integration.people import PASSWORD, Browser, logged_in, person


def _cookie(set_cookie: str) -> tuple[str, dict[str, str]]:
    """The session cookie's value and its attributes (lower-case names; flags are "true")."""
    first, *parts = (part.strip() for part in set_cookie.split(";"))
    name, _, value = first.partition("=")
    assert name == "adhere_session"
    attributes = {}
    for part in parts:
        key, _, setting = part.partition("=")
        attributes[key.lower()] = setting or "true"
    return value, attributes


def test_log_in_sets_a_secure_cookie_and_returns_the_session(api: Api) -> None:
    user = person(api, "Dana", "admin", display_name="Dana Scully")
    response = Browser(api).log_in("dana")  # names ignore case
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == {
        "id": user.id,
        "username": "Dana",
        "display_name": "Dana Scully",
        "role": "admin",
        "agent_id": None,
        "unit_ids": [],
        "team_ids": [],
    }
    assert body["scopes"] == list(KNOWN_SCOPES)
    assert len(body["csrf_token"]) >= 43
    assert response.headers["cache-control"] == "no-store"
    token, attributes = _cookie(response.headers["set-cookie"])
    assert len(token) >= 43  # 256 random bits, URL-safe base64
    assert attributes["httponly"] == "true"
    assert attributes["secure"] == "true"
    assert attributes["samesite"].lower() == "strict"
    assert attributes["path"] == "/"
    assert attributes["max-age"] == str(12 * 3600)
    with api.container.database.connect() as connection:
        stored = connection.execute(select(user_sessions.c.token_hash)).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]  # the token itself is not kept


def test_the_session_answers_who_am_i_until_logging_out(api: Api) -> None:
    person(api, "dana", "supervisor")
    browser = logged_in(api, "dana")
    session = browser.get("/api/v1/session")
    assert session.status_code == 200
    assert session.json()["user"]["username"] == "dana"
    assert session.json()["scopes"] == list(ROLE_SCOPES["supervisor"])
    assert session.json()["csrf_token"] == browser.csrf
    token = browser.client.cookies["adhere_session"]

    refused = browser.send("DELETE", "/api/v1/session", csrf=False)
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.csrf"
    assert browser.get("/api/v1/session").status_code == 200  # still logged in

    logged_out = browser.send("DELETE", "/api/v1/session")
    assert logged_out.status_code == 204
    _, attributes = _cookie(logged_out.headers["set-cookie"])
    assert attributes["max-age"] == "0"
    assert browser.get("/api/v1/session").status_code == 401
    browser.set_cookie(token)  # a copy kept
    after = browser.get("/api/v1/session")
    assert after.status_code == 401
    assert after.json()["code"] == "auth.invalid_session"


def test_without_a_session_who_am_i_is_401(api: Api) -> None:
    missing = Browser(api).get("/api/v1/session")
    assert missing.status_code == 401
    assert missing.json()["code"] == "auth.no_session"
    forged = Browser(api)
    forged.set_cookie("x" * 43)
    refused = forged.get("/api/v1/session")
    assert refused.status_code == 401
    assert refused.json()["code"] == "auth.invalid_session"
    routed = forged.get("/api/v1/agents")
    assert routed.status_code == 401
    assert routed.json()["code"] == "auth.invalid_session"


def test_wrong_password_unknown_and_disabled_users_get_the_same_401(api: Api) -> None:
    person(api, "dana", "admin")
    gone = person(api, "fox", "admin")
    api.container.users.disable_user(gone.id)
    answers = [
        Browser(api).log_in("dana", "not the password"),
        Browser(api).log_in("nobody", PASSWORD),
        Browser(api).log_in("fox", PASSWORD),
    ]
    for answer in answers:
        assert answer.status_code == 401
        assert "set-cookie" not in answer.headers
    bodies = [answer.json() for answer in answers]
    assert bodies[0]["code"] == "auth.invalid_credentials"
    assert bodies[0] == bodies[1] == bodies[2]


def test_repeated_failed_logins_must_wait_before_trying_again(api: Api) -> None:
    """Five free failures; then even the right password waits, told how long (Retry-After)."""
    person(api, "dana", "admin")
    browser = Browser(api)
    for _ in range(5):
        assert browser.log_in("dana", "not the password").status_code == 401
    refused = browser.log_in("dana")
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "auth.too_many_attempts"
    assert refused.headers["retry-after"] == "1"
    assert "set-cookie" not in refused.headers
    time.sleep(1.05)
    assert browser.log_in("dana").status_code == 200


def test_disabling_a_user_ends_their_session_at_once(api: Api, admin: Caller) -> None:
    user = person(api, "dana", "supervisor")
    browser = logged_in(api, "dana")
    assert browser.get("/api/v1/agents").status_code == 200
    disabled = admin.post(f"/api/v1/users/{user.id}/disable")
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    after = browser.get("/api/v1/agents")
    assert after.status_code == 401
    assert after.json()["code"] == "auth.invalid_session"


@pytest.mark.parametrize("api_settings", [{"session_lifetime_hours": 2 / 3600}])
def test_a_session_expires(api: Api) -> None:
    person(api, "dana", "supervisor")
    browser = Browser(api)
    response = browser.log_in("dana")
    assert _cookie(response.headers["set-cookie"])[1]["max-age"] == "2"
    assert browser.get("/api/v1/agents").status_code == 200
    time.sleep(2.2)
    # The browser would drop the cookie at Max-Age; the server refuses it even if it did not.
    browser.set_cookie(response.cookies["adhere_session"])
    expired = browser.get("/api/v1/agents")
    assert expired.status_code == 401
    assert expired.json()["code"] == "auth.invalid_session"
    assert "expired" in expired.json()["detail"]


def test_state_changing_calls_on_a_cookie_need_the_csrf_token(api: Api) -> None:
    person(api, "dana", "admin")
    browser = logged_in(api, "dana")
    unit = {"time_zone": "America/New_York"}
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        refused = browser.client.put("/api/v1/management-units/nyc", json=unit, headers=headers)
        assert refused.status_code == 403
        problem = refused.json()
        assert problem["code"] == "auth.csrf"
        assert "X-CSRF-Token" in problem["detail"]
        assert problem["header"] == "X-CSRF-Token"
    assert browser.get("/api/v1/management-units/nyc").status_code == 404  # nothing written
    accepted = browser.send("PUT", "/api/v1/management-units/nyc", json=unit)
    assert accepted.status_code == 201, accepted.text
    assert browser.get("/api/v1/management-units/nyc").status_code == 200  # reads need none


def test_bearer_tokens_need_no_csrf_token_and_win_over_a_cookie(api: Api, admin: Caller) -> None:
    person(api, "dana", "admin")
    browser = logged_in(api, "dana")  # a valid cookie, sent along, without its CSRF token
    answer = browser.client.put(
        "/api/v1/management-units/lon",
        json={"time_zone": "Europe/London"},
        headers=admin.headers,
    )
    assert answer.status_code == 201, answer.text
    assert (
        browser.client.put(
            "/api/v1/management-units/lon", json={"time_zone": "Europe/London"}
        ).json()["code"]
        == "auth.csrf"
    )


def test_login_refuses_other_origins_and_anything_but_json(api: Api) -> None:
    person(api, "dana", "admin")
    credentials = {"username": "dana", "password": PASSWORD}
    client = Browser(api).client
    for origin in ("https://evil.example", "null", "https://testserver.evil.example"):
        refused = client.post("/api/v1/session", json=credentials, headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert refused.json()["code"] == "auth.csrf"
        assert "set-cookie" not in refused.headers
    form = client.post("/api/v1/session", data=credentials)
    assert form.status_code == 415
    assert form.json()["code"] == "request.media_type"
    plain = client.post(
        "/api/v1/session",
        content=b'{"username": "dana", "password": "correct horse battery"}',
        headers={"Content-Type": "text/plain"},
    )
    assert plain.status_code == 415
    same = client.post(
        "/api/v1/session", json=credentials, headers={"Origin": "https://testserver"}
    )
    assert same.status_code == 200


def test_roles_map_to_scopes(api: Api, admin: Caller) -> None:
    setup_unit(admin)
    person(api, "sue", "supervisor")
    person(api, "lee", "agent", agent_id="lee")
    person(api, "dana", "admin")
    supervisor = logged_in(api, "sue")
    refused = supervisor.get("/api/v1/webhooks")
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "auth.insufficient_scope"
    assert problem["missing_scopes"] == ["webhooks:manage"]
    assert problem["granted_scopes"] == list(ROLE_SCOPES["supervisor"])
    assert "'webhooks:manage'" in problem["detail"]
    agent = logged_in(api, "lee")
    assert agent.get("/api/v1/users").json()["missing_scopes"] == ["admin"]
    assert agent.get("/api/v1/session").json()["scopes"] == list(ROLE_SCOPES["agent"])
    administrator = logged_in(api, "dana")
    assert administrator.get("/api/v1/webhooks").status_code == 200
    assert administrator.get("/api/v1/users").status_code == 200

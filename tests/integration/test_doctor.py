"""`adhere doctor token`: claims, acceptance and the routes a token may call, from the API's
own OpenAPI document."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from adhere.adapters.database import connect, upgrade
from adhere.config import Settings
from adhere.entrypoints.cli import app as cli
from adhere.service.auth import KNOWN_SCOPES, AuthService

runner = CliRunner()


@pytest.fixture
def auth(database_url: str) -> Iterator[AuthService]:
    engine = connect(database_url)
    upgrade(engine)
    yield AuthService(engine, Settings(database_url=database_url))
    engine.dispose()


def token(auth: AuthService, *scopes: str) -> tuple[str, str]:
    client, secret = auth.create_client("doctor", list(scopes))
    issued: str = auth.issue_token(client.id, secret, None)["access_token"]
    return client.id, issued


def doctor(database_url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["doctor", "token", *args, "--db", database_url])
    return result.exit_code, result.output


def test_a_token_missing_scopes_is_told_which_routes_need_which(
    auth: AuthService, database_url: str
) -> None:
    client_id, events_only = token(auth, "events:write")
    status, output = doctor(database_url, events_only, "--json")
    assert status == 1
    report = json.loads(output)
    assert report["accepted"] is True
    assert report["claims"]["client_id"] == client_id
    assert report["allowed"] == [
        {"method": "POST", "path": "/api/v1/events", "scope": "events:write"}
    ]
    denied = {(d["method"], d["path"]): d["scope"] for d in report["denied"]}
    assert denied[("POST", "/api/v1/explanations")] == "schedule:agent:write"
    assert denied[("GET", "/api/v1/agents/{agent_id}/adherence")] == "adherence:read"
    assert report["missing_scopes"] == sorted(set(denied.values()))
    assert {"admin", "adherence:read", "schedule:agent:write", "webhooks:manage"} <= set(
        report["missing_scopes"]
    )

    status, text = doctor(database_url, events_only)
    assert "POST   /api/v1/explanations  needs schedule:agent:write" in text
    assert "to call them all, grant:" in text


def test_a_refused_token_says_why_and_still_shows_its_claims(
    auth: AuthService, database_url: str
) -> None:
    client_id, old = token(auth, "events:write")
    auth.set_scopes(client_id, ["events:write", "adherence:read"])
    status, output = doctor(database_url, old, "--json")
    report = json.loads(output)
    assert status == 1
    assert report["accepted"] is False
    assert "scopes or secret changed" in report["refused_because"]
    assert report["allowed"] == []
    assert report["claims"]["scope"] == "events:write"


def test_an_expired_token_is_reported_as_expired(auth: AuthService, database_url: str) -> None:
    client, secret = auth.create_client("doctor", ["admin"])
    engine = connect(database_url)
    past = AuthService(engine, Settings(database_url=database_url), now=lambda: time.time() - 3600)
    expired = past.issue_token(client.id, secret, None)["access_token"]
    engine.dispose()
    report = json.loads(doctor(database_url, expired, "--json")[1])
    assert "expired" in report["refused_because"]


def test_a_token_with_every_scope_may_call_everything(auth: AuthService, database_url: str) -> None:
    _, everything = token(auth, *KNOWN_SCOPES)
    status, output = doctor(database_url, everything, "--json")
    assert status == 0
    assert json.loads(output)["denied"] == []


def test_what_is_not_a_jwt_is_refused_naming_the_token(database_url: str) -> None:
    status, output = doctor(database_url, "not-a-token")
    assert status == 2
    assert "the token is not a JWT" in output

"""A stock OAuth 2 client library (Authlib's httpx client) against a running `adhere serve`:
client credentials with client_secret_basic and client_secret_post, then real API calls;
scope errors as the library and RFC 6750 expect them. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from tests.conftest import fresh_postgres_database
from tests.e2e.service_process import (
    ClientCredentials,
    RunningServer,
    create_client,
    fetch_token,
    running_server,
)

PROBLEM_JSON = "application/problem+json"
SCHEDULE_SCOPES = ("schedule:agent:read", "schedule:agent:write")
CLIENT_SCOPES = ("events:write", "adherence:read", *SCHEDULE_SCOPES)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One server per database kind for the module (each test uses its own ids)."""
    workdir = tmp_path_factory.mktemp(f"oauth-{request.param}")
    if request.param == "sqlite":
        with running_server(f"sqlite:///{workdir / 'adhere.db'}", workdir) as started:
            yield started
        return
    with fresh_postgres_database() as url, running_server(url, workdir) as started:
        yield started


@pytest.fixture(scope="module")
def credentials(server: RunningServer) -> ClientCredentials:
    """A client allowed everything but admin."""
    return create_client(server.database_url, "e2e-oauth", CLIENT_SCOPES)


@pytest.fixture(scope="module")
def metadata(server: RunningServer) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _oauth_client(
    credentials: ClientCredentials,
    method: str,
    scope: str | None = None,
    sent: list[httpx.Request] | None = None,
) -> OAuth2Client:
    """Authlib's client; `sent` collects the requests it makes, as they go on the wire."""
    return OAuth2Client(
        client_id=credentials.id,
        client_secret=credentials.secret,
        token_endpoint_auth_method=method,
        scope=scope,
        timeout=10,
        event_hooks={"request": [] if sent is None else [sent.append]},
    )


def _client_authentication(request: httpx.Request, credentials: ClientCredentials) -> str:
    """How a token request authenticated the client: "basic", "post", or "none"."""
    form = parse_qs(request.content.decode())
    if request.headers.get("authorization", "").startswith("Basic "):
        return "basic" if "client_secret" not in form else "both"
    if form.get("client_id") == [credentials.id] and form.get("client_secret") == [
        credentials.secret
    ]:
        return "post"
    return "none"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_token_from_the_library_calls_the_api(
    server: RunningServer, credentials: ClientCredentials, metadata: dict[str, Any], method: str
):
    assert method in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["token_endpoint"] == f"{server.base_url}/oauth/token"
    unit_id, agent_id, event_id = _unique("mu"), _unique("agent"), _unique("ev")

    sent: list[httpx.Request] = []
    with _oauth_client(credentials, method, sent=sent) as client:
        token = client.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
        (token_request,) = sent
        assert _client_authentication(token_request, credentials) == method.removeprefix(
            "client_secret_"
        )
        assert token["token_type"].lower() == "bearer"
        assert set(token["scope"].split()) == set(CLIENT_SCOPES)
        assert 0 < token["expires_in"] <= 600

        api = f"{server.base_url}/api/v1"
        created = client.put(f"{api}/management-units/{unit_id}", json={"time_zone": "UTC"})
        assert created.status_code == 201, created.text
        fetched = client.get(f"{api}/management-units/{unit_id}")
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["id"] == unit_id
        assert fetched.json()["time_zone"] == "UTC"
        assert fetched.json() == created.json()

        agent = client.put(f"{api}/agents/{agent_id}", json={"management_unit_id": unit_id})
        assert agent.status_code == 201, agent.text
        event = {
            "id": event_id,
            "agent_id": agent_id,
            "time": _now(),
            "kind": "login",
            "system_presence": "OnQueue",
            "routing_status": "IDLE",
        }
        submitted = client.post(f"{api}/events", json=event)
        assert submitted.status_code == 202, submitted.text
        assert submitted.json()["accepted"] == 1
        assert submitted.json()["results"][0]["outcome"] == "accepted"

        live = client.get(f"{api}/agents/{agent_id}/adherence")
        assert live.status_code == 200, live.text
        assert live.json()["system_presence"] == "OnQueue"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_scope_the_client_lacks_is_invalid_scope(
    server: RunningServer, credentials: ClientCredentials, method: str
):
    with (
        _oauth_client(credentials, method, scope="events:write admin") as client,
        pytest.raises(OAuthError) as raised,
    ):
        client.fetch_token(f"{server.base_url}/oauth/token", grant_type="client_credentials")
    assert raised.value.error == "invalid_scope"
    assert "admin" in (raised.value.description or "")
    assert "events:write" not in (raised.value.description or "")


def test_a_token_without_events_write_gets_403_naming_it(
    server: RunningServer, credentials: ClientCredentials
):
    with _oauth_client(credentials, "client_secret_basic", scope="adherence:read") as client:
        token = client.fetch_token(
            f"{server.base_url}/oauth/token", grant_type="client_credentials"
        )
        assert token["scope"] == "adherence:read"
        event = {"id": "e1", "agent_id": "nobody", "time": _now(), "kind": "login"}
        response = client.post(f"{server.base_url}/api/v1/events", json=event)

    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="events:write"' in challenge
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == 403
    assert problem["code"] == "auth.insufficient_scope"
    assert problem["required_scopes"] == ["events:write"]
    assert problem["missing_scopes"] == ["events:write"]
    assert problem["granted_scopes"] == ["adherence:read"]
    assert "events:write" in problem["detail"]


def test_the_same_token_still_works_where_its_scope_suffices(
    server: RunningServer, credentials: ClientCredentials
):
    """The 403 above is about the scope, not the token: adherence:read routes accept it."""
    token = fetch_token(server.base_url, credentials, ["adherence:read"])
    headers = {"Authorization": f"Bearer {token}"}
    allowed = httpx.get(f"{server.base_url}/api/v1/jobs/no-such-job", headers=headers)
    assert allowed.status_code == 404, allowed.text
    assert allowed.json()["code"] == "job.not_found"
    refused = httpx.get(f"{server.base_url}/api/v1/management-units", headers=headers)
    assert refused.status_code == 403
    assert 'scope="schedule:agent:read"' in refused.headers["WWW-Authenticate"]

"""Every protected route, as the OpenAPI document lists it: no token, an expired token, a
revoked token and a token without the route's scope are each refused exactly as RFC 6750 and
architecture.md say."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adhere.bootstrap import build
from adhere.config import Settings
from adhere.entrypoints.api.app import create_app
from adhere.service.auth import KNOWN_SCOPES, AuthService
from tests.conftest import fresh_postgres_database

ALL = KNOWN_SCOPES


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('security') / 'adhere.db'}"
        yield from _serve(url)
        return
    with fresh_postgres_database() as url:
        yield from _serve(url)


def _serve(url: str) -> Any:
    container = build(Settings(database_url=url))
    with TestClient(create_app(container)) as client:
        yield client, container


def _operations(client: TestClient) -> list[tuple[str, str, str]]:
    """(method, path with parameters filled, required scope) of every secured operation."""
    found = []
    for path, item in client.get("/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            for requirement in operation.get("security", []):
                if "oauth2" in requirement:  # bearer tokens (the /oauth/* routes take clients)
                    (scope,) = requirement["oauth2"]
                    found.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path), scope))
    return found


def test_every_api_route_declares_exactly_one_scope(service: Any) -> None:
    client, _ = service
    paths = client.get("/openapi.json").json()["paths"]
    for path, item in paths.items():
        if not path.startswith("/api/") or path == "/api/v1/session":  # logging in needs none
            continue
        for method, operation in item.items():
            scopes = [
                s for requirement in operation.get("security", []) for s in requirement.values()
            ]
            assert len(scopes) == 1, f"{method} {path}: {scopes}"
            assert len(scopes[0]) == 1, f"{method} {path}: {scopes}"


def _token(container: Any, scopes: tuple[str, ...], now: float | None = None) -> str:
    auth = (
        container.auth
        if now is None
        else AuthService(container.database, container.settings, now=lambda: now)
    )
    record, secret = container.auth.create_client("matrix", list(scopes))
    response: dict[str, Any] = auth.issue_token(record.id, secret, None)
    return str(response["access_token"])


def test_routes_refuse_missing_expired_revoked_and_insufficient_tokens(service: Any) -> None:
    client, container = service
    operations = _operations(client)
    assert len(operations) >= 20
    expired = _token(container, ALL, now=time.time() - 3600)
    revoked = _token(container, ALL)
    container.auth.revoke_token(revoked)
    lacking = {s: _token(container, tuple(o for o in ALL if o != s)) for s in ALL}
    for method, path, scope in operations:
        where = f"{method} {path}"
        response = client.request(method, path)
        assert response.status_code == 401, where
        assert response.headers["www-authenticate"].startswith("Bearer"), where
        assert "error=" not in response.headers["www-authenticate"], where
        assert response.headers["content-type"] == "application/problem+json", where
        for token in (expired, revoked):
            response = client.request(method, path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, where
            assert 'error="invalid_token"' in response.headers["www-authenticate"], where
            assert response.json()["code"] == "auth.invalid_token", where
        others = tuple(s for s in ALL if s != scope)
        response = client.request(
            method, path, headers={"Authorization": f"Bearer {lacking[scope]}"}
        )
        assert response.status_code == 403, where
        header = response.headers["www-authenticate"]
        assert 'error="insufficient_scope"' in header, where
        assert f'scope="{scope}"' in header, where
        problem = response.json()
        assert problem["required_scopes"] == [scope], where
        assert sorted(problem["granted_scopes"]) == sorted(others), where
        assert scope in problem["detail"], where

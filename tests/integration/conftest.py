"""The service in-process (FastAPI's TestClient) on a real database, with a token factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from adhere.bootstrap import Container, build
from adhere.config import Settings
from adhere.entrypoints.api.app import create_app
from adhere.service.auth import KNOWN_SCOPES
from tests.http_server import serving
from tests.integration.action_documents import PLATFORM_CLIENTS
from tests.stand_ins.platform import Platform

ALL_SCOPES = KNOWN_SCOPES


@dataclass
class Api:
    client: TestClient
    container: Container

    def token(self, *scopes: str) -> str:
        record, secret = self.container.auth.create_client("test", list(scopes))
        response = self.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(record.id, secret)
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def headers(self, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*(scopes or ALL_SCOPES))}"}


@pytest.fixture
def api_settings() -> dict[str, Any]:
    """Settings beyond the defaults for the `api` fixture; a module overrides this to add some."""
    return {}


@pytest.fixture
def api(database_url: str, api_settings: dict[str, Any]) -> Iterator[Api]:
    settings = Settings(database_url=database_url, clock_interval_seconds=0.05, **api_settings)
    container = build(settings)
    with TestClient(create_app(container)) as client:
        yield Api(client, container)


class Caller:
    """An API client with every scope: the tests' WFM administrator."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.headers = api.headers()

    def __getattr__(self, method: str) -> Any:
        call = getattr(self.api.client, method)
        return lambda url, **kw: call(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)


@pytest.fixture
def admin(api: Api) -> Caller:
    return Caller(api)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def setup_unit(admin: Caller, unit: str = "nyc", agents: tuple[str, ...] = ("lee",)) -> None:
    """A unit in New York with on-queue and break codes, and its agents."""
    assert admin.put(
        f"/api/v1/management-units/{unit}", json={"time_zone": "America/New_York"}
    ).status_code in {200, 201}
    for code, category in (("oq", "OnQueueWork"), ("brk", "Break")):
        response = admin.put(
            f"/api/v1/management-units/{unit}/activity-codes/{code}", json={"category": category}
        )
        assert response.status_code in {200, 201}, response.text
    for agent in agents:
        response = admin.put(f"/api/v1/agents/{agent}", json={"management_unit_id": unit})
        assert response.status_code in {200, 201}, response.text


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform() -> Platform:
    """The OAuth-protected platform stand-in, with a `reader` and a `writer` client."""
    return Platform(clients=dict(PLATFORM_CLIENTS))


@pytest.fixture
def platform_url(platform: Platform) -> Iterator[str]:
    with serving(platform.app()) as base:
        yield base


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


class Clock:
    """A clock the test moves by hand: `now` in microseconds, from `CLOCK_START`."""

    def __init__(self) -> None:
        self.now = CLOCK_START

    def __call__(self) -> int:
        return self.now


CLOCK_START = 1_780_000_000_000_000

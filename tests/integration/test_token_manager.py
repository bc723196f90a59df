"""The outbound token manager against a real HTTP stand-in of an OAuth-protected platform."""

from __future__ import annotations

import asyncio
import itertools
import math
import time

import httpx
import pytest

from adhere.adapters.token_manager import (
    ClientCredentials,
    InsufficientScope,
    ScopeNotGranted,
    TokenManager,
    TokenRequestFailed,
)
from tests.stand_ins.platform import Platform

pytestmark = pytest.mark.anyio

READ, WRITE = "presence:read", "presence:write"


@pytest.fixture
def base(platform_url: str) -> str:
    return platform_url


def credentials(base: str, client: str, *scopes: str, **options: str) -> ClientCredentials:
    return ClientCredentials(f"{base}/oauth/token", client, f"{client}-secret", scopes, **options)


async def read_presence(
    manager: TokenManager,
    http: httpx.AsyncClient,
    base: str,
    creds: ClientCredentials,
    slots: asyncio.Semaphore | None = None,
) -> httpx.Response:
    async def request(token: str) -> httpx.Response:
        return await http.get(
            f"{base}/api/v2/users/u1/presence", headers={"Authorization": f"Bearer {token}"}
        )

    return await manager.send(creds, request, slots)


async def test_a_token_is_fetched_once_and_reused(
    platform: Platform, base: str, http: httpx.AsyncClient
) -> None:
    manager = TokenManager(http)
    creds = credentials(base, "reader", READ)
    first = await read_presence(manager, http, base, creds)
    second = await read_presence(manager, http, base, creds)
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(platform.token_requests) == 1
    assert platform.api_calls == 2


async def test_concurrent_callers_share_one_token_request(
    platform: Platform, base: str, http: httpx.AsyncClient
) -> None:
    manager = TokenManager(http)
    creds = credentials(base, "reader", READ)
    tokens = await asyncio.gather(*(manager.token(creds) for _ in range(200)))
    assert len({token.value for token in tokens}) == 1
    assert len(platform.token_requests) == 1


async def test_each_scope_set_and_audience_has_its_own_token(
    platform: Platform, base: str, http: httpx.AsyncClient
) -> None:
    manager = TokenManager(http)
    await manager.token(credentials(base, "writer", READ))
    await manager.token(credentials(base, "writer", READ, WRITE))
    await manager.token(credentials(base, "writer", WRITE, READ))  # the same set
    await manager.token(credentials(base, "writer", READ, audience="https://other"))
    assert len(platform.token_requests) == 3


async def test_a_scope_the_endpoint_does_not_grant_fails_at_once_naming_it(
    platform: Platform, base: str, http: httpx.AsyncClient
) -> None:
    manager = TokenManager(http)
    with pytest.raises(
        ScopeNotGranted, match=r"'reader' was not granted the scope\(s\) presence:write"
    ):
        await manager.token(credentials(base, "reader", READ, WRITE))
    assert platform.api_calls == 0
    with pytest.raises(ScopeNotGranted):  # nothing cached: asked again, refused again
        await manager.token(credentials(base, "reader", READ, WRITE))
    assert len(platform.token_requests) == 2


async def test_insufficient_scope_is_not_retried_and_names_the_scope(
    platform: Platform, base: str, http: httpx.AsyncClient
) -> None:
    manager = TokenManager(http)
    creds = credentials(base, "reader", READ)

    async def write(token: str) -> httpx.Response:
        return await http.patch(
            f"{base}/api/v2/users/u1/presence",
            json={"presence": "On Queue"},
            headers={"Authorization": f"Bearer {token}"},
        )

    with pytest.raises(InsufficientScope, match="it requires the scope presence:write") as raised:
        await manager.send(creds, write)
    assert raised.value.scope == WRITE
    assert platform.api_calls == 1
    assert len(platform.token_requests) == 1


async def test_an_invalid_token_is_replaced_and_the_call_retried_once(
    platform: Platform, base: str, http: httpx.AsyncClient
) -> None:
    manager = TokenManager(http)
    creds = credentials(base, "reader", READ)
    await read_presence(manager, http, base, creds)
    platform.revoke_all()  # the platform forgets every token it issued
    answer = await read_presence(manager, http, base, creds)
    assert answer.status_code == 200
    assert len(platform.token_requests) == 2
    assert platform.api_calls == 3  # the first call, the refused one, the retry


async def test_a_refused_client_gets_the_token_endpoints_error(
    base: str, http: httpx.AsyncClient
) -> None:
    manager = TokenManager(http)
    wrong = ClientCredentials(f"{base}/oauth/token", "reader", "not-the-secret", (READ,))
    with pytest.raises(TokenRequestFailed, match=r"answered 401 \(invalid_client\)"):
        await manager.token(wrong)


async def test_client_secret_post_authenticates_in_the_form(
    platform: Platform, base: str, http: httpx.AsyncClient
) -> None:
    manager = TokenManager(http)
    creds = credentials(base, "reader", READ, auth_method="client_secret_post")
    assert (await read_presence(manager, http, base, creds)).status_code == 200


async def test_the_token_is_refreshed_ahead_of_expiry_without_making_callers_wait(
    platform: Platform, base: str, http: httpx.AsyncClient
) -> None:
    now = [0.0]
    manager = TokenManager(http, clock=lambda: now[0])
    platform.token_lifetime = 100.0  # refresh ahead when 10 s remain (10 % < 60 s)
    creds = credentials(base, "reader", READ)
    first = await manager.token(creds)
    now[0] = 89.0
    assert await manager.token(creds) is first
    assert len(platform.token_requests) == 1
    now[0] = 91.0  # inside the refresh window: the old token is still handed out
    assert await manager.token(creds) is first
    await asyncio.sleep(0.3)  # the background refresh lands
    assert len(platform.token_requests) == 2
    assert (await manager.token(creds)).value != first.value


async def test_a_thousand_concurrent_executions_fetch_one_token_per_expiry_window(
    platform: Platform, base: str
) -> None:
    platform.token_lifetime = 2.0  # refreshed ahead at 1.8 s
    duration = 7.0
    failures: list[str] = []
    calls = 0
    connections = 50
    slots = asyncio.Semaphore(connections)
    async with httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=connections)
    ) as http:
        manager = TokenManager(http)
        creds = credentials(base, "reader", READ)
        stop = time.monotonic() + duration

        async def execution() -> None:
            nonlocal calls
            while time.monotonic() < stop:
                try:
                    answer = await read_presence(manager, http, base, creds, slots)
                except Exception as error:  # every failure is counted, whatever its kind
                    failures.append(repr(error))
                    continue
                calls += 1
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code}")

        started = time.monotonic()
        await asyncio.gather(*(execution() for _ in range(1000)))
        elapsed = time.monotonic() - started
    assert failures == []
    assert calls >= 1000
    requests = platform.token_requests
    windows = elapsed / platform.token_lifetime
    assert len(requests) <= math.ceil(windows) + 1, (len(requests), windows)
    gaps = [later - earlier for earlier, later in itertools.pairwise(requests)]
    assert all(gap >= 1.5 for gap in gaps), gaps  # never two fetches for one window

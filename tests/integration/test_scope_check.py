"""The scope check asked before an action is saved, against a real platform stand-in that
publishes its OpenAPI document and grants scopes per client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adhere.adapters.token_manager import ClientCredentials, TokenManager
from adhere.domain.data_actions import DataAction, parse_action
from adhere.service.scope_check import check_action_scopes, route_requirement
from tests.stand_ins.platform import OPENAPI

pytestmark = pytest.mark.anyio
READ, WRITE = "presence:read", "presence:write"


@pytest.fixture
def base(platform_url: str) -> str:
    return platform_url


def set_presence(url: str, method: str = "PATCH") -> DataAction:
    document: dict[str, Any] = {
        "name": "Set presence",
        "config": {
            "request": {
                "requestUrlTemplate": url,
                "requestType": method,
                "headers": {},
                "requestTemplate": '{"presence": "${input.presence}"}',
            },
            "response": {"translationMap": {}, "successTemplate": "${rawResult}"},
        },
        "contract": {
            "input": {"inputSchema": {"type": "object", "properties": {}}},
            "output": {"successSchema": {"type": "object", "properties": {}}},
        },
    }
    return parse_action(document)


def client(base: str, name: str, *scopes: str) -> ClientCredentials:
    return ClientCredentials(f"{base}/oauth/token", name, f"{name}-secret", scopes)


def test_a_route_is_found_by_method_and_templated_path() -> None:
    found = route_requirement(OPENAPI, "PATCH", "/api/v2/users/x/presence")
    assert found == ("PATCH /api/v2/users/{userId}/presence", frozenset({WRITE}))
    assert route_requirement(OPENAPI, "GET", "/api/v2/users/x/presence/extra") is None
    assert route_requirement(OPENAPI, "DELETE", "/api/v2/users/x/presence") is None


async def test_a_credential_that_does_not_ask_for_the_scope_is_refused_naming_it(
    base: str, http: httpx.AsyncClient
) -> None:
    action = set_presence(f"{base}/api/v2/users/${{input.userId}}/presence")
    verdict = await check_action_scopes(
        action, client(base, "writer", READ), "cred_1", http, TokenManager(http)
    )
    assert verdict.refused
    assert verdict.missing == frozenset({WRITE})
    assert verdict.route == "PATCH /api/v2/users/{userId}/presence"
    assert "presence:write" in verdict.explanation()
    assert "cred_1" in verdict.explanation()


async def test_a_client_the_platform_will_not_grant_the_scope_is_refused(
    base: str, http: httpx.AsyncClient
) -> None:
    action = set_presence(f"{base}/api/v2/users/${{input.userId}}/presence")
    verdict = await check_action_scopes(
        action, client(base, "reader", READ, WRITE), "cred_2", http, TokenManager(http)
    )
    assert verdict.missing == frozenset({WRITE})
    assert "'reader'" in verdict.explanation()


async def test_a_client_holding_the_scope_passes(base: str, http: httpx.AsyncClient) -> None:
    action = set_presence(f"{base}/api/v2/users/${{input.userId}}/presence")
    verdict = await check_action_scopes(
        action, client(base, "writer", WRITE), "cred_3", http, TokenManager(http)
    )
    assert verdict.checked
    assert not verdict.refused
    assert verdict.held == frozenset({WRITE})


async def test_what_cannot_be_checked_is_said_and_not_refused(
    base: str, http: httpx.AsyncClient
) -> None:
    tokens = TokenManager(http)
    templated_host = set_presence("${input.baseUrl}/api/v2/users/x/presence")
    unknown_route = set_presence(f"{base}/api/v2/queues/x", "GET")
    nowhere = set_presence("http://127.0.0.1:9/api/v2/users/x/presence")
    for action, note in [
        (templated_host, "templated"),
        (unknown_route, "is not in"),
        (nowhere, "no OpenAPI document"),
    ]:
        verdict = await check_action_scopes(action, None, None, http, tokens)
        assert not verdict.checked
        assert not verdict.refused
        assert note in (verdict.note or "")


async def test_a_token_endpoint_that_cannot_answer_leaves_it_unchecked_not_refused(
    base: str, http: httpx.AsyncClient
) -> None:
    action = set_presence(f"{base}/api/v2/users/${{input.userId}}/presence")
    unreachable = ClientCredentials("http://127.0.0.1:9/oauth/token", "writer", "s", (WRITE,))
    verdict = await check_action_scopes(action, unreachable, "cred_4", http, TokenManager(http))
    assert not verdict.checked
    assert not verdict.refused
    assert (verdict.note or "").startswith("no token to check with: ")

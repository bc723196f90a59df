"""A stand-in for a contact-center platform's API, protected by OAuth 2 client credentials.

It speaks RFC 6749 at its token endpoint (Basic or form client authentication, `scope` in the
answer, RFC 6749 §5.2 errors) and RFC 6750 at its routes (401 `invalid_token`, 403
`insufficient_scope` naming the scope in `WWW-Authenticate`). It counts every token request and
API call, so tests can say how often a client fetched tokens. It publishes an OpenAPI 3
document at `/openapi.json` whose security requirements name each route's scope, as Genesys
Cloud's does, and can tell a hook when a presence was set (the platform's notification of the
change, which the mission test posts back to Adhere).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Platform:
    clients: dict[str, tuple[str, frozenset[str]]]  # client id -> (secret, scopes it may have)
    token_lifetime: float = 3600.0
    token_requests: list[float] = field(default_factory=list)  # monotonic times
    api_calls: int = 0
    presence: dict[str, str] = field(default_factory=dict)
    on_presence_set: Callable[[str, str], Awaitable[None]] | None = None  # (user id, presence)
    _tokens: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/openapi.json", self._openapi, methods=["GET"]),
                Route("/api/v2/users/{user_id}/presence", self._get_presence, methods=["GET"]),
                Route("/api/v2/users/{user_id}/presence", self._set_presence, methods=["PATCH"]),
            ]
        )

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    async def _token(self, request: Request) -> Response:
        with self._lock:
            self.token_requests.append(time.monotonic())
        form = await request.form()
        client_id, secret = _basic(request) or (form.get("client_id"), form.get("client_secret"))
        known = self.clients.get(str(client_id))
        if known is None or not secrets.compare_digest(known[0], str(secret)):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        asked = frozenset(str(form.get("scope") or "").split())
        granted = asked & known[1] if asked else known[1]
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (time.monotonic() + self.token_lifetime, granted)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "scope": " ".join(sorted(granted)),
            }
        )

    async def _get_presence(self, request: Request) -> Response:
        refused = self._authorise(request, "presence:read")
        if refused is not None:
            return refused
        user_id = request.path_params["user_id"]
        return JSONResponse({"id": user_id, "presence": self.presence.get(user_id, "Offline")})

    async def _set_presence(self, request: Request) -> Response:
        refused = self._authorise(request, "presence:write")
        if refused is not None:
            return refused
        user_id = request.path_params["user_id"]
        body = await request.json()
        self.presence[user_id] = str(body["presence"])
        if self.on_presence_set is not None:
            await self.on_presence_set(user_id, self.presence[user_id])
        return JSONResponse({"id": user_id, "presence": self.presence[user_id]})

    async def _openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)

    def _authorise(self, request: Request, scope: str) -> Response | None:
        with self._lock:
            self.api_calls += 1
            header = request.headers.get("authorization", "")
            found = self._tokens.get(header.removeprefix("Bearer ")) if header else None
        if found is None or found[0] <= time.monotonic():
            return Response(
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if scope not in found[1]:
            return Response(
                status_code=403,
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        return None


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    return client_id, secret


def _operation(summary: str, scope: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [{"name": "userId", "in": "path", "required": True}],
        "security": [{"PureCloud OAuth": [scope]}],
        "responses": {"200": {"description": "the user's presence"}},
    }


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.1",
    "info": {"title": "Platform stand-in", "version": "2"},
    "components": {
        "securitySchemes": {
            "PureCloud OAuth": {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "/oauth/token",
                        "scopes": {
                            "presence:read": "read presences",
                            "presence:write": "set presences",
                        },
                    }
                },
            }
        }
    },
    "paths": {
        "/api/v2/users/{userId}/presence": {
            "get": _operation("Get a user's presence", "presence:read"),
            "patch": _operation("Set a user's presence", "presence:write"),
        }
    },
}

"""The scope doctor: what a token is, whether it is accepted, and which routes it may call.

The answer to "401 Invalid token" and "403 insufficient scope" before anything fails: the
token's own claims (read even when it is refused), the reason it is refused if it is, and each
route with the scope it needs, so the missing grant is named.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adhere.domain.errors import InvalidInput
from adhere.service.auth import AuthService, InvalidToken


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    scope: str


@dataclass(frozen=True, slots=True)
class TokenReport:
    claims: dict[str, Any]
    refused_because: str | None  # None: the service accepts the token
    scopes: frozenset[str]
    allowed: tuple[Operation, ...]
    denied: tuple[Operation, ...]

    @property
    def missing_scopes(self) -> tuple[str, ...]:
        """What to grant the client so that every route's scope is in the token (sorted)."""
        return tuple(sorted({o.scope for o in self.denied if o.scope not in self.scopes}))


def examine_token(auth: AuthService, token: str, operations: Sequence[Operation]) -> TokenReport:
    """Report on `token`; `InvalidInput` if it is not even a JWT."""
    claims = unverified_claims(token)
    try:
        auth.verify(token)
        refused = None
    except InvalidToken as error:
        refused = str(error)
    scope = claims.get("scope")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    allowed = tuple(o for o in operations if refused is None and o.scope in scopes)
    denied = tuple(o for o in operations if o not in allowed)
    return TokenReport(claims, refused, scopes, allowed, denied)


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWT, read without checking anything (for diagnosis only)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise InvalidInput("is not a JWT (three dot-separated parts)", "token")
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        raise InvalidInput("is not a JWT: its payload is not base64url JSON", "token") from None
    if not isinstance(payload, dict):
        raise InvalidInput("is not a JWT: its payload is not a JSON object", "token")
    return payload

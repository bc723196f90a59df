"""Bearer-token authentication for routes: each route declares the scope it needs, in code and
in the OpenAPI document, and every refusal says exactly why (RFC 6750 semantics).

Use as a parameter default::

    @router.post("/api/v1/events")
    def submit(..., principal: Principal = requires("events:write")) -> ...:
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes

from adhere.entrypoints.api.problems import Problem
from adhere.service.auth import KNOWN_SCOPES, AuthService, InvalidToken, Principal

__all__ = ["SCOPE_DESCRIPTIONS", "Principal", "requires"]

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "events:write": "submit agent state events",
    "adherence:read": "read real-time and historical adherence, exceptions, reports",
    "schedule:agent:read": "read schedules, activity codes, MU settings",
    "schedule:agent:write": (
        "write schedules, activity codes, MU settings, and adherence records "
        "(explanations, approvals)"
    ),
    "rules:manage": "create/edit workflow rules",
    "actions:manage": "define data actions and credentials",
    "actions:execute": "run data actions",
    "webhooks:manage": "manage webhook subscriptions, replay deliveries",
    "admin": "manage OAuth clients and users",
}
assert tuple(SCOPE_DESCRIPTIONS) == KNOWN_SCOPES

_REALM = 'Bearer realm="adhere"'

_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes=SCOPE_DESCRIPTIONS
        )
    ),
    scheme_name="oauth2",
    description="OAuth 2 client credentials; access tokens are RFC 9068 JWTs.",
    auto_error=False,
)


def requires(scope: str) -> Any:
    """A route parameter default that authenticates the caller and demands `scope`.

    FastAPI puts ``oauth2: [scope]`` in the route's OpenAPI security requirement.
    """
    if scope not in SCOPE_DESCRIPTIONS:
        raise ValueError(f"unknown scope {scope!r}")
    return Security(_authenticate, scopes=[scope])


def _authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: str | None = Depends(_scheme),
) -> Principal:
    """Synchronous on purpose: verification reads the database, so it runs in the threadpool."""
    token = _bearer(authorization)
    if token is None:
        raise Problem(
            401,
            "auth.missing_token",
            "this route needs an access token: send Authorization: Bearer <token>",
            title="Missing access token",
            headers={"WWW-Authenticate": _REALM},
        )
    auth: AuthService = request.app.state.container.auth
    try:
        principal = auth.verify(token)
    except InvalidToken as error:
        description = str(error)
        raise Problem(
            401,
            "auth.invalid_token",
            description,
            title="Invalid access token",
            headers={
                "WWW-Authenticate": f'{_REALM}, error="invalid_token", '
                f'error_description="{_header_safe(description)}"'
            },
        ) from None
    required = list(dict.fromkeys(security_scopes.scopes))
    missing = [scope for scope in required if not principal.has(scope)]
    if missing:
        raise _insufficient_scope(required, missing, principal)
    return principal


def also_requires(principal: Principal, scope: str) -> None:
    """Demand a second scope for what this request would do (a rule that runs data actions
    needs `actions:execute` besides the route's `rules:manage`): a 403 naming it."""
    if not principal.has(scope):
        raise _insufficient_scope([scope], [scope], principal)


def _insufficient_scope(required: list[str], missing: list[str], principal: Principal) -> Problem:
    granted = [scope for scope in KNOWN_SCOPES if principal.has(scope)]
    needs = "scope" if len(missing) == 1 else "scopes"
    has = f"the token has {_quoted(granted)}" if granted else "the token has no scopes"
    return Problem(
        403,
        "auth.insufficient_scope",
        f"this route needs {needs} {_quoted(missing)}; {has}",
        title="Insufficient scope",
        headers={
            "WWW-Authenticate": f'{_REALM}, error="insufficient_scope", '
            f'scope="{" ".join(required)}"'
        },
        required_scopes=required,
        missing_scopes=missing,
        granted_scopes=granted,
    )


def _bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; any other scheme counts as none."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _quoted(scopes: Iterable[str]) -> str:
    return ", ".join(f"'{scope}'" for scope in scopes)


def _header_safe(text: str) -> str:
    """RFC 6750 §3: error_description may not hold a double quote, a backslash, or non-ASCII."""
    return re.sub(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]", "'", text)

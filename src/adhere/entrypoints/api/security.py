"""Authentication for routes: each route declares the scope it needs, in code and in the
OpenAPI document, and every refusal says exactly why (RFC 6750 semantics).

A caller is an OAuth client with a bearer token, or a person with a browser session cookie
(whose role gives the scopes). A cookie is sent by the browser on its own, so a state-changing
call made with it must also carry the session's CSRF token in `X-CSRF-Token`: a page on
another site cannot read it. Besides scopes, a principal may see only some agents
(`Visibility`): `require_sees` and friends refuse the rest.

Use as a parameter default::

    @router.post("/api/v1/events")
    def submit(..., principal: Principal = requires("events:write")) -> ...:
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes

from adhere.domain.organisation import Agent
from adhere.entrypoints.api.problems import Problem
from adhere.service.auth import KNOWN_SCOPES, AuthService, InvalidToken, Principal, Visibility
from adhere.service.context import ServiceContext
from adhere.service.organisation import require_agent
from adhere.service.users import InvalidSession, SessionRecord, UserService, principal_of

__all__ = [
    "CSRF_HEADER",
    "SCOPE_DESCRIPTIONS",
    "SESSION_COOKIE",
    "Principal",
    "forbid_role",
    "require_csrf",
    "require_everyone",
    "require_sees",
    "require_sees_id",
    "requires",
    "session_of",
    "visible_agent_ids",
    "visible_only",
]

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
SESSION_COOKIE = "adhere_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

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
    """Synchronous on purpose: verification reads the database, so it runs in the threadpool.

    A bearer token wins over a session cookie sent alongside it."""
    token = _bearer(authorization)
    if token is not None:
        principal = _token_principal(request, token)
    elif SESSION_COOKIE in request.cookies:
        principal = principal_of(require_csrf(request, session_of(request)))
    else:
        raise Problem(
            401,
            "auth.missing_token",
            "this route needs an access token: send Authorization: Bearer <token>",
            title="Missing access token",
            headers={"WWW-Authenticate": _REALM},
        )
    required = list(dict.fromkeys(security_scopes.scopes))
    missing = [scope for scope in required if not principal.has(scope)]
    if missing:
        raise _insufficient_scope(required, missing, principal)
    return principal


def still_authorised(request: Request, scope: str) -> bool:
    """Whether the token or session that opened a long-lived response (the live stream) still
    holds `scope` now: it may have expired, been revoked, or its user disabled since."""
    try:
        _authenticate(request, SecurityScopes([scope]), request.headers.get("authorization"))
    except Problem:
        return False
    return True


def _token_principal(request: Request, token: str) -> Principal:
    auth: AuthService = request.app.state.container.auth
    try:
        return auth.verify(token)
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


def session_of(request: Request) -> SessionRecord:
    """The live browser session of the request's cookie, else a 401 saying why."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Problem(
            401,
            "auth.no_session",
            "not logged in: log in with POST /api/v1/session",
            title="Not logged in",
            headers={"WWW-Authenticate": _REALM},
        )
    users: UserService = request.app.state.container.users
    try:
        return users.session(token)
    except InvalidSession as error:
        raise Problem(
            401,
            "auth.invalid_session",
            str(error),
            title="Session ended",
            headers={"WWW-Authenticate": _REALM},
        ) from None


def require_csrf(request: Request, session: SessionRecord) -> SessionRecord:
    """A state-changing call on a session must echo its CSRF token (synchronizer token)."""
    if request.method.upper() in _SAFE_METHODS:
        return session
    sent = request.headers.get(CSRF_HEADER, "")
    if not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise Problem(
            403,
            "auth.csrf",
            f"a {request.method.upper()} made with a session cookie needs header {CSRF_HEADER} "
            "holding the session's csrf_token (from GET /api/v1/session)",
            title="Missing or wrong CSRF token",
            header=CSRF_HEADER,
        )
    return session


def require_sees(principal: Principal, agent: Agent) -> None:
    """A 403 naming the agent unless the principal may see their data."""
    if not principal.visibility.sees(agent):
        raise Problem(
            403,
            "auth.forbidden_agent",
            f"you may not see agent {agent.id!r}: {_sees_whom(principal.visibility)}",
            title="Agent not visible",
            agent_id=agent.id,
        )


def require_sees_id(principal: Principal, ctx: ServiceContext, agent_id: str) -> None:
    """`require_sees` for an agent known by id (a 404 if there is none); looked up only
    when the principal does not see everyone."""
    if principal.visibility.everyone:
        return
    with ctx.store.reading() as tx:
        agent = require_agent(tx, agent_id)
    require_sees(principal, agent)


def visible_agent_ids(principal: Principal, ctx: ServiceContext) -> frozenset[str] | None:
    """The ids of the agents the principal sees; None: everyone's, no need to filter."""
    visibility = principal.visibility
    if visibility.everyone:
        return None
    if visibility.agent_id is not None:
        return frozenset({visibility.agent_id})
    with ctx.store.reading() as tx:
        return frozenset(agent.id for agent in tx.agents() if visibility.sees(agent))


_Item = TypeVar("_Item")


def visible_only(
    principal: Principal,
    found: Sequence[_Item],
    agent_of: Callable[[_Item], Agent],
    selection: str,
) -> list[_Item]:
    """What a unit or team `selection` found, narrowed to the agents the principal sees;
    a 403 when it found some and the principal sees none of them."""
    visible = [item for item in found if principal.visibility.sees(agent_of(item))]
    if found and not visible:
        raise Problem(
            403,
            "auth.forbidden_agent",
            f"you may see none of the agents of {selection}: {_sees_whom(principal.visibility)}",
            title="Agent not visible",
        )
    return visible


def require_everyone(principal: Principal) -> None:
    """A 403 unless the principal sees every agent: for changes that reach beyond one."""
    if not principal.visibility.everyone:
        raise Problem(
            403,
            "auth.limited_visibility",
            f"this call concerns every agent, and {_sees_whom(principal.visibility)}",
            title="Limited to some agents",
        )


def forbid_role(principal: Principal, role: str, action: str) -> None:
    """A 403 when a user of `role` asks for `action` (e.g. an agent approving their own)."""
    if principal.role == role:
        raise Problem(
            403,
            "auth.forbidden_role",
            f"users with role {role!r} may not {action}",
            title="Not allowed for this role",
            role=role,
        )


def _sees_whom(visibility: Visibility) -> str:
    if visibility.agent_id is not None:
        return f"you see only agent {visibility.agent_id!r}"
    limits = [
        f"{what} {_quoted(sorted(ids))}"
        for what, ids in (("management units", visibility.unit_ids), ("teams", visibility.team_ids))
        if ids is not None
    ]
    return "you see only the agents of " + " and of ".join(limits)


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

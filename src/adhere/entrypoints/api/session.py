"""Routes: the browser's session — log in, who am I, log out.

The session lives in an `HttpOnly; SameSite=Strict; Secure` cookie that scripts cannot read.
`Secure` holds on plain http://127.0.0.1 and http://localhost too: browsers count loopback
as a secure context. Logging in has no session to hold a CSRF token yet, so it is guarded
otherwise: only JSON is accepted (a cross-site form cannot send it without a CORS preflight,
which this service never grants), and an `Origin` naming another host is refused.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from adhere.domain.instants import format_instant
from adhere.entrypoints.api.problems import Problem
from adhere.entrypoints.api.security import (
    SESSION_COOKIE,
    require_csrf,
    session_of,
)
from adhere.entrypoints.api.users import UserSummary, render_summary, users
from adhere.service.users import (
    MAX_PASSWORD_LENGTH,
    ROLE_SCOPES,
    InvalidCredentials,
    SessionRecord,
    TooManyAttempts,
)

router = APIRouter(prefix="/api/v1", tags=["session"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_COOKIE: dict[str, Any] = {"path": "/", "secure": True, "httponly": True, "samesite": "strict"}


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class SessionOut(BaseModel):
    user: UserSummary
    scopes: list[str]
    csrf_token: str = Field(
        description="Send it as header X-CSRF-Token on every POST, PUT, PATCH and DELETE."
    )
    expires: str


def _same_origin_json(request: Request) -> None:
    """Refuse what a page on another site could make a browser send."""
    origin = request.headers.get("origin")
    host = request.headers.get("host", "").lower()
    if origin is not None and urlsplit(origin).netloc.lower() != host:
        raise Problem(
            403,
            "auth.csrf",
            f"a login from origin {origin!r} is refused: log in from this service's own pages",
            title="Cross-origin login refused",
            header="Origin",
        )
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Problem(415, "request.media_type", "send the credentials as application/json")


@router.post(
    "/session",
    response_model=SessionOut,
    dependencies=[Depends(_same_origin_json)],
    responses={
        401: {"description": "Wrong username or password, or a disabled user"},
        403: {"description": "Another site's origin"},
        429: {"description": "Too many failed logins for this username or address: wait"},
        415: {"description": "Not JSON"},
    },
)
def log_in(body: LoginIn, request: Request) -> JSONResponse:
    """Log in: sets the session cookie and returns the session, with its CSRF token."""
    service = users(request)
    try:
        source = request.client.host if request.client else "unknown"
        token, session = service.log_in(body.username, body.password, source)
    except InvalidCredentials as error:
        raise Problem(401, "auth.invalid_credentials", str(error), title="Login refused") from None
    except TooManyAttempts as error:
        raise Problem(
            429,
            "auth.too_many_attempts",
            str(error),
            title="Too many failed logins",
            headers={"Retry-After": str(math.ceil(error.retry_after_seconds))},
        ) from None
    replaced = request.cookies.get(SESSION_COOKIE)
    if replaced:
        service.log_out(replaced)  # one session per login: the old cookie opens nothing now
    response = JSONResponse(_render(session), headers=_NO_STORE)
    max_age = max(1, round(service.lifetime_seconds))
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, **_COOKIE)
    return response


@router.get("/session", response_model=SessionOut)
def who_am_i(request: Request, response: Response) -> dict[str, Any]:
    """The logged-in user, their scopes and the CSRF token; 401 when not logged in."""
    response.headers.update(_NO_STORE)
    return _render(session_of(request))


@router.delete("/session", status_code=204, response_class=Response)
def log_out(request: Request) -> Response:
    """Log out: the session ends on the server and the cookie is cleared."""
    require_csrf(request, session_of(request))
    users(request).log_out(request.cookies[SESSION_COOKIE])
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, **_COOKIE)
    return response


def _render(session: SessionRecord) -> dict[str, Any]:
    return {
        "user": render_summary(session.user),
        "scopes": list(ROLE_SCOPES[session.user.role]),
        "csrf_token": session.csrf_token,
        "expires": format_instant(session.expires_us),
    }

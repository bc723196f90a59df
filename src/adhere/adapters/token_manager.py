"""Outbound OAuth 2 client credentials: tokens cached, refreshed ahead, never fetched twice at once.

One cache entry per (token URL, client id, scopes, audience). A token is refreshed when
``min(60 s, 10 % of its lifetime)`` remains: the first caller in that window starts the one
refresh and, while the token is still valid, everyone goes on using it. Once it has expired,
callers wait for the refresh in flight rather than start their own.

Scope trouble is named, never retried: a token response that grants fewer scopes than asked
fails at once with the missing ones (instead of a 401 or 403 later), and a 403
``insufficient_scope`` from the API raises with the scope it wants. A 401 ``invalid_token``
drops the cached token and retries once with a new one.

One manager serves one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

REFRESH_AHEAD_MAX_SECONDS = 60.0
REFRESH_AHEAD_FRACTION = 0.10
LIFETIME_WHEN_UNSTATED = 300.0
"""A token response without ``expires_in`` (RFC 6749 makes it optional) lives this long here."""


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    extra_params: Mapping[str, str] = field(default_factory=dict)
    auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"

    @property
    def cache_key(self) -> tuple[str, str, frozenset[str], str | None]:
        return (self.token_url, self.client_id, frozenset(self.scopes), self.audience)


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str = field(repr=False)
    obtained_at: float  # the manager's clock (monotonic seconds)
    lifetime: float
    granted_scopes: frozenset[str]

    @property
    def expires_at(self) -> float:
        return self.obtained_at + self.lifetime

    @property
    def refresh_at(self) -> float:
        return self.expires_at - min(
            REFRESH_AHEAD_MAX_SECONDS, REFRESH_AHEAD_FRACTION * self.lifetime
        )


class TokenError(Exception):
    """Getting or using a token failed; the message says why in the user's terms."""


class TokenRequestFailed(TokenError):
    def __init__(self, token_url: str, status: int, error: str | None, description: str | None):
        detail = f"{error}: {description}" if error and description else error or description
        super().__init__(
            f"the token endpoint {token_url} answered {status}" + (f" ({detail})" if detail else "")
        )
        self.status = status
        self.error = error


class ScopeNotGranted(TokenError):
    """The token endpoint granted fewer scopes than were asked for."""

    def __init__(self, client_id: str, missing: frozenset[str]):
        names = ", ".join(sorted(missing))
        super().__init__(
            f"client {client_id!r} was not granted the scope(s) {names}; grant them to the client "
            "at the identity provider"
        )
        self.missing = missing


class InsufficientScope(TokenError):
    """The API refused the token for lacking a scope (403): retrying cannot help."""

    def __init__(self, url: str, client_id: str, scope: str | None):
        wanted = f"the scope {scope}" if scope else "a scope it did not name"
        super().__init__(f"{url} refused client {client_id!r}'s token: it requires {wanted}")
        self.scope = scope


class TokenManager:
    def __init__(
        self, http: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._http = http
        self._clock = clock
        self._tokens: dict[tuple[str, str, frozenset[str], str | None], AccessToken] = {}
        self._refreshing: dict[
            tuple[str, str, frozenset[str], str | None], asyncio.Task[AccessToken]
        ] = {}

    async def token(self, credentials: ClientCredentials, fresh: bool = False) -> AccessToken:
        """A valid token for `credentials`, from the cache when it can be. A token in its last
        stretch (past `refresh_at`) is used while its successor is fetched, unless `fresh`:
        a retry after a 401 waits for the successor, since it already met a slow path."""
        key = credentials.cache_key
        cached = self._tokens.get(key)
        now = self._clock()
        if cached is not None and now < cached.refresh_at:
            return cached
        refresh = self._refreshing.get(key)
        if refresh is None:
            refresh = asyncio.ensure_future(self._fetch(credentials))
            self._refreshing[key] = refresh
            refresh.add_done_callback(lambda done: self._settle(key, done))
        if not fresh and cached is not None and now < cached.expires_at:
            return cached  # still good: the refresh runs on behind it
        return await asyncio.shield(refresh)

    async def fresh_token(self, credentials: ClientCredentials) -> AccessToken:
        """A token fetched now, whatever is cached: what the token endpoint grants at this
        moment (a check before saving must not trust a grant since withdrawn)."""
        self._tokens.pop(credentials.cache_key, None)
        return await self.token(credentials)

    def invalidate(self, credentials: ClientCredentials, token: AccessToken) -> None:
        """Forget `token` (the API called it invalid), unless a newer one replaced it already."""
        key = credentials.cache_key
        if self._tokens.get(key) is token:
            del self._tokens[key]

    async def send(
        self,
        credentials: ClientCredentials,
        request: Callable[[str], Awaitable[httpx.Response]],
        slots: asyncio.Semaphore | None = None,
    ) -> httpx.Response:
        """Call `request` with a bearer token. A 401 gets one retry with a new token; a 403
        insufficient_scope raises `InsufficientScope` naming the scope.

        `slots` bounds the requests in flight to the target. A slot is taken before the token
        and kept for the retry, so that no token waits in a queue (of connections, or of the
        target's work) while it expires: a refresh ahead of expiry only helps a token used
        at once.
        """
        async with slots if slots is not None else contextlib.nullcontext():
            token = await self.token(credentials)
            response = await request(token.value)
            if response.status_code == 401:
                self.invalidate(credentials, token)
                response = await request((await self.token(credentials, fresh=True)).value)
        if response.status_code == 403:
            about_scope, scope = _scope_refusal(response)
            if about_scope:
                raise InsufficientScope(str(response.request.url), credentials.client_id, scope)
        return response

    # ---- internals -------------------------------------------------------------------------

    def _settle(
        self, key: tuple[str, str, frozenset[str], str | None], done: asyncio.Task[AccessToken]
    ) -> None:
        self._refreshing.pop(key, None)
        if done.cancelled():
            return
        error = done.exception()  # retrieved here so that a background failure is not "lost"
        if error is None:
            self._tokens[key] = done.result()

    async def _fetch(self, credentials: ClientCredentials) -> AccessToken:
        form = {"grant_type": "client_credentials", **credentials.extra_params}
        if credentials.scopes:
            form["scope"] = " ".join(credentials.scopes)
        if credentials.audience is not None:
            form["audience"] = credentials.audience
        auth = httpx.Auth()  # none: the client authenticates in the form
        if credentials.auth_method == "client_secret_post":
            form["client_id"] = credentials.client_id
            form["client_secret"] = credentials.client_secret
        else:
            auth = httpx.BasicAuth(credentials.client_id, credentials.client_secret)
        started = self._clock()
        try:
            response = await self._http.post(
                credentials.token_url, data=form, auth=auth, headers={"Accept": "application/json"}
            )
        except httpx.HTTPError as error:
            raise TokenError(
                f"the token endpoint {credentials.token_url} is unreachable: {error}"
            ) from error
        body = _json_object(response)
        if response.status_code != 200:
            raise TokenRequestFailed(
                credentials.token_url,
                response.status_code,
                _text(body.get("error")),
                _text(body.get("error_description")),
            )
        return _access_token(credentials, body, started)


def _access_token(
    credentials: ClientCredentials, body: dict[str, Any], obtained_at: float
) -> AccessToken:
    value = body.get("access_token")
    if not isinstance(value, str) or not value:
        raise TokenError(
            f"the token endpoint {credentials.token_url} answered without an access_token"
        )
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError(
            f"the token endpoint {credentials.token_url} issued a {token_type!r} token; "
            "only Bearer is supported"
        )
    expires_in = body.get("expires_in")
    if expires_in is None:
        lifetime = LIFETIME_WHEN_UNSTATED
    elif (
        isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0
    ):
        lifetime = float(expires_in)
    else:
        raise TokenError(
            f"the token endpoint {credentials.token_url} sent expires_in={expires_in!r}"
        )
    requested = frozenset(credentials.scopes)
    scope = body.get("scope")
    granted = requested if scope is None else frozenset(str(scope).split())  # RFC 6749 §5.1
    missing = requested - granted
    if missing:
        raise ScopeNotGranted(credentials.client_id, missing)
    return AccessToken(value, obtained_at, lifetime, granted)


_AUTH_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)')
_GENESYS_SCOPE_MESSAGE = re.compile(r"not authorized to use scope (\S+)", re.IGNORECASE)


def _scope_refusal(response: httpx.Response) -> tuple[bool, str | None]:
    """Whether a 403 is about a missing scope (not a permission or a division), and which."""
    challenge = response.headers.get("www-authenticate", "")
    params = {name.lower(): value.strip('"') for name, value in _AUTH_PARAM.findall(challenge)}
    if params.get("error") == "insufficient_scope":  # RFC 6750 §3.1
        return True, params.get("scope") or None
    body = _json_object(response)
    if body.get("code") == "app.not.authorized.for.scope":  # Genesys Cloud's shape
        found = _GENESYS_SCOPE_MESSAGE.search(_text(body.get("message")) or "")
        return True, found.group(1) if found else None
    return False, None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None

"""The HTTP side of data actions: one attempt at an action's request, and OAuth tokens for it.

`ActionTransport` holds one `httpx.AsyncClient` and one `TokenManager`; both belong to the
event loop they were made in (the automation loop, adapters/loop_thread.py). An attempt either
answers (any status: what to make of it is the caller's business) or raises `AttemptFailed`
saying what went wrong in the user's terms, with the status if there was one, and whether
retrying cannot help (`permanent`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from adhere.adapters.retry_after import retry_after_seconds
from adhere.adapters.token_manager import (
    AccessToken,
    ClientCredentials,
    InsufficientScope,
    ScopeNotGranted,
    TokenError,
    TokenManager,
    TokenRequestFailed,
)

MAX_RESPONSE_BYTES = 1_000_000
"""A larger answer fails the attempt, for good: a data action maps a few values, not files."""


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    text: str = field(repr=False)
    retry_after: float | None = None


class AttemptFailed(Exception):
    """One attempt failed. `step` is ``authenticate`` (getting a token) or ``send``."""

    def __init__(
        self,
        message: str,
        *,
        step: str = "send",
        status: int | None = None,
        permanent: bool = False,
        retry_after: float | None = None,
        scope: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.step = step
        self.status = status
        self.permanent = permanent
        self.retry_after = retry_after
        self.scope = scope


class ActionTransport:
    def __init__(self) -> None:
        self.http = httpx.AsyncClient(follow_redirects=False, timeout=60.0)
        self.tokens = TokenManager(self.http)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def token(self, credentials: ClientCredentials) -> AccessToken:
        """A token for `credentials`, from the cache when it can be."""
        try:
            return await self.tokens.token(credentials)
        except TokenError as error:
            raise _token_failure(error) from None

    async def send(
        self, request: OutboundRequest, oauth: ClientCredentials | None = None
    ) -> Answer:
        """One attempt: with a bearer token when `oauth` is given (a 401 gets one more try
        with a new token; a 403 insufficient_scope fails naming the scope)."""

        async def call(token: str | None) -> httpx.Response:
            headers = dict(request.headers)
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            outgoing = self.http.build_request(
                request.method,
                request.url,
                headers=headers,
                content=request.body,
                timeout=httpx.Timeout(request.timeout_seconds),
            )
            return await _limited(self.http, outgoing)

        try:
            response = await (call(None) if oauth is None else self.tokens.send(oauth, call))
        except InsufficientScope as error:
            raise AttemptFailed(str(error), status=403, permanent=True, scope=error.scope) from None
        except TokenError as error:
            raise _token_failure(error) from None
        except httpx.TimeoutException:
            raise AttemptFailed(
                f"{request.url} did not answer within {request.timeout_seconds:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise AttemptFailed(
                f"{request.url} could not be reached: {type(error).__name__}: {error}"
            ) from None
        except (UnicodeError, ValueError) as error:  # a header httpx cannot send (not ASCII)
            raise AttemptFailed(f"the request cannot be sent: {error}", permanent=True) from None
        return Answer(response.status_code, response.text, retry_after_seconds(response))


async def _limited(http: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """The response with its body read, refusing one larger than `MAX_RESPONSE_BYTES`."""
    response = await http.send(request, stream=True)
    try:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():  # decoded: the limit is on what we keep
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise AttemptFailed(
                    f"{request.url} answered more than {MAX_RESPONSE_BYTES:,} bytes",
                    status=response.status_code,
                    permanent=True,
                )
            chunks.append(chunk)
    finally:
        await response.aclose()
    headers = httpx.Headers(
        [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
        ]
    )
    return httpx.Response(
        response.status_code, headers=headers, content=b"".join(chunks), request=request
    )


def _token_failure(error: TokenError) -> AttemptFailed:
    if isinstance(error, ScopeNotGranted):
        return AttemptFailed(str(error), step="authenticate", permanent=True)
    if isinstance(error, TokenRequestFailed):
        return AttemptFailed(str(error), step="authenticate", status=error.status)
    unreachable = isinstance(error.__cause__, httpx.HTTPError)
    return AttemptFailed(str(error), step="authenticate", permanent=not unreachable)

"""An async client for Adhere's own API, authenticated with OAuth 2 client credentials.

What `adhere simulate` uses to drive a server the way an integration would: a token from
``/oauth/token`` (cached and refreshed ahead of expiry by `TokenManager`), JSON requests, and
answers read as the API documents them.

Trouble that waiting can cure is retried with exponential backoff: the server unreachable
(not started yet, restarting), a 5xx, a 429 (after its ``Retry-After`` if longer). Trouble it
cannot cure raises at once, in the user's terms: a refused request (`ApiRefused`, with the
problem's detail and fields), a missing scope (`TokenError`, naming it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from adhere.adapters.retry_after import retry_after_seconds
from adhere.adapters.token_manager import (
    ClientCredentials,
    TokenError,
    TokenManager,
    TokenRequestFailed,
)

FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0
_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


class ApiRefused(Exception):
    """The API refused a request for a reason retrying cannot cure (a 4xx problem)."""

    def __init__(self, method: str, path: str, status: int, problem: dict[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("error_description") or "no detail"
        code = problem.get("code") or problem.get("error")
        fields = "; ".join(
            f"{error.get('field')}: {error.get('message')}"
            for error in problem.get("errors") or ()
            if isinstance(error, dict)
        )
        super().__init__(
            f"{method} {path} was refused with {status}"
            + (f" ({code})" if code else "")
            + f": {detail}"
            + (f" [{fields}]" if fields else "")
        )
        self.status = status
        self.code = code if isinstance(code, str) else None


class ApiUnavailable(Exception):
    """Retries were abandoned (asked to stop) while the API could not be reached or failed."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What became of a batch of events: counts, and the first rejection's field and reason."""

    accepted: int
    duplicate: int = 0
    rejected: int = 0
    rejection: str | None = None


class AdhereClient:
    """One client, one event loop (the token cache belongs to the loop it was made in)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str],
        *,
        giving_up: Callable[[], bool] = lambda: False,
        on_trouble: Callable[[str], None] | None = None,
        timeout: float = 60.0,
    ) -> None:
        """`giving_up`: asked before each retry, whether to stop trying (and raise
        `ApiUnavailable`); `on_trouble` is told what went wrong before each retry."""
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._tokens = TokenManager(self._http)
        self._credentials = ClientCredentials(
            f"{self.base_url}/oauth/token", client_id, client_secret, tuple(scopes)
        )
        self._giving_up = giving_up
        self._on_trouble = on_trouble

    @property
    def client_id(self) -> str:
        return self._credentials.client_id

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, body: Any) -> Any:
        """Send `body` as JSON; the answer's JSON. Retries what waiting can cure."""
        content = orjson.dumps(body)
        delay = FIRST_BACKOFF_SECONDS
        while True:
            answer = await self._attempt(method, path, content)
            if not isinstance(answer, _Trouble):
                return answer
            if self._giving_up():
                raise ApiUnavailable(f"{method} {path} abandoned: {answer.why}")
            if self._on_trouble is not None:
                self._on_trouble(answer.why)
            await asyncio.sleep(max(delay, min(answer.wait or 0.0, MAX_BACKOFF_SECONDS)))
            delay = min(2 * delay, MAX_BACKOFF_SECONDS)

    async def post_events(self, bodies: Sequence[dict[str, Any]]) -> BatchOutcome:
        """POST a batch of events (API bodies); what the server made of them."""
        answer = await self.request("POST", "/api/v1/events", {"events": list(bodies)})
        rejected = [r for r in answer.get("results", ()) if r.get("outcome") == "rejected"]
        first = rejected[0] if rejected else None
        return BatchOutcome(
            answer.get("accepted", 0),
            answer.get("duplicate", 0),
            answer.get("rejected", 0),
            None if first is None else f"{first.get('field')}: {first.get('reason')}",
        )

    async def _attempt(self, method: str, path: str, content: bytes) -> Any:
        """The answer's JSON, or the `_Trouble` that may pass."""

        async def send(token: str) -> httpx.Response:
            headers = {**_JSON, "Authorization": f"Bearer {token}"}
            return await self._http.request(method, path, content=content, headers=headers)

        try:
            response = await self._tokens.send(self._credentials, send)
        except httpx.TransportError as error:
            return _Trouble(f"{self.base_url} is unreachable ({type(error).__name__}: {error})")
        except TokenError as error:
            if _curable(error):
                return _Trouble(str(error))
            raise
        status = response.status_code
        if status == 429 or status >= 500:
            return _Trouble(f"{method} {path} answered {status}", retry_after_seconds(response))
        body = _json(response)
        if status >= 400:
            raise ApiRefused(method, path, status, body)
        return body


@dataclass(frozen=True, slots=True)
class _Trouble:
    why: str
    wait: float | None = None  # seconds the server asked for (Retry-After)


def _curable(error: TokenError) -> bool:
    """Whether the token endpoint's trouble may pass: unreachable, or answering 5xx or 429."""
    if isinstance(error, TokenRequestFailed):
        return error.status == 429 or error.status >= 500
    return isinstance(error.__cause__, httpx.TransportError)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:500] or "an empty answer"}

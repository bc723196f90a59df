"""Delivering webhooks: where a URL may point, how a message is signed, one HTTP attempt.

Signatures follow the Standard Webhooks spec (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256>`), made with the `standardwebhooks` package, so any
receiver using it (or Svix's libraries) verifies them as they are.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from adhere.adapters.retry_after import retry_after_seconds
from adhere.domain.errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL_LENGTH = 2000
_ERROR_TEXT_LIMIT = 500


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def checked_url(url: object) -> str:
    """An http(s) URL with a host, as given (its addresses are checked separately)."""
    if not isinstance(url, str) or not url:
        raise InvalidInput("must be an http or https URL", "url")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"must be at most {MAX_URL_LENGTH} characters", "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not an http or https URL with a host", "url")
    if parts.username or parts.password:
        raise InvalidInput("must not carry credentials; the signature authenticates", "url")
    return url


def refuse_private_targets(url: str, allowed: Sequence[Network]) -> None:
    """Refuse a URL whose host resolves to a private, loopback, link-local or otherwise
    non-public address, unless that address is in `allowed` (server-side request forgery)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise InvalidInput(f"the host {host!r} does not resolve: {error.strerror}", "url") from None
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global and not any(ip in network for network in allowed):
            raise InvalidInput(
                f"{host!r} resolves to {ip}, a private, loopback or link-local address; "
                "allow its network in the webhook_allowed_networks setting to use it",
                "url",
            )


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one delivery attempt got: a status, or an error before any status."""

    status: int | None
    error: str | None
    retry_after_seconds: float | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signed_headers(secret: str, message_id: str, at: datetime, payload: str) -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, at, payload)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "Adhere-Webhooks/1",
    }


async def attempt(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    message_id: str,
    payload: str,
    allowed: Sequence[Network],
) -> Attempt:
    """One signed POST; its outcome, never an exception (a refused target is an error too)."""
    try:  # at every attempt: what a name resolves to can change
        await asyncio.to_thread(refuse_private_targets, url, allowed)
    except InvalidInput as error:
        return Attempt(None, error.message, None)
    headers = signed_headers(secret, message_id, datetime.now(UTC), payload)
    try:
        response = await http.post(url, content=payload.encode(), headers=headers)
    except httpx.HTTPError as failure:
        return Attempt(None, f"{type(failure).__name__}: {failure}"[:_ERROR_TEXT_LIMIT], None)
    said = None if response.is_success else response.text[:_ERROR_TEXT_LIMIT] or None
    return Attempt(response.status_code, said, retry_after_seconds(response))

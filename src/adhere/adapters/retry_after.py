"""The `Retry-After` header of an HTTP answer, read as webhooks and data actions both need it."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import httpx


def retry_after_seconds(response: httpx.Response) -> float | None:
    """RFC 9110 §10.2.3: seconds, or an HTTP date (from now); None if absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

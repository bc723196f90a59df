"""Instants: integer microseconds since the Unix epoch, UTC.

Integers keep every computation exact (no float drift when durations are summed) and make
comparisons cheap on the hot path. Text is RFC 3339 with a mandatory offset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from adhere.domain.errors import InvalidInput

Instant = int
MICROS_PER_SECOND = 1_000_000
MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND
MAX_DURATION_MINUTES = 366 * 24 * 60
"""The longest activity, explanation or threshold accepted: a leap year."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
)


def parse_instant(text: object) -> Instant:
    """Parse an RFC 3339 instant; one without an offset is ambiguous and rejected."""
    if type(text) is str and text[-1:] == "Z":
        # A feed stamps many events within the same second: parse its date and time once.
        second = _UTC_SECONDS.get(text[:19])
        if second is not None:
            micros = _MILLISECONDS.get(text[19:-1])
            if micros is not None:
                return second + micros
    instant = _parse_instant(text)
    if type(text) is str and len(text) >= 20 and text[19] in ".Z" and text[-1] == "Z":
        if len(_UTC_SECONDS) >= _UTC_SECONDS_KEPT:
            _UTC_SECONDS.clear()
        _UTC_SECONDS[text[:19]] = instant // MICROS_PER_SECOND * MICROS_PER_SECOND
    return instant


_UTC_SECONDS: dict[str, Instant] = {}  # "2026-03-29T08:00:00" -> its instant, for ...Z texts
_UTC_SECONDS_KEPT = 4096
_MILLISECONDS = {"": 0} | {f".{ms:03d}": ms * 1000 for ms in range(1000)}


def _parse_instant(text: object) -> Instant:
    if not isinstance(text, str):
        raise InvalidInput(f"expected an RFC 3339 instant string, got {text!r}")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidInput(f"{text!r} is not an RFC 3339 instant (e.g. 2026-03-29T08:00:00Z)")
    if match["offset"] is None:
        raise InvalidInput(f"{text!r} has no UTC offset; add Z or ±hh:mm")
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError as error:
        raise InvalidInput(f"{text!r} is not a valid instant: {error}") from None
    if not _EARLIEST <= moment < _LATEST:
        raise InvalidInput(f"{text!r} is outside the years 1900 to 8999")
    return from_datetime(moment)


def from_datetime(moment: datetime) -> Instant:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def to_datetime(instant: Instant) -> datetime:
    return _EPOCH + timedelta(microseconds=instant)


def format_instant(instant: Instant) -> str:
    """RFC 3339 in UTC with ``Z``; fractional seconds only when there are some."""
    moment = to_datetime(instant)
    if moment.microsecond:
        fraction = f"{moment.microsecond:06d}".rstrip("0")
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(micros: int) -> float:
    return micros / MICROS_PER_SECOND

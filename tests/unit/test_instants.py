"""RFC 3339 parsing: the per-second cache answers exactly what a full parse answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adhere.domain.errors import InvalidInput
from adhere.domain.instants import format_instant, parse_instant

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(8999, 12, 31)),
    st.sampled_from(["", ".{ms:03d}", ".{us:06d}", ".{tenth}"]),
)
def test_a_second_parse_from_the_cache_equals_the_first(moment: datetime, fraction: str) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction.format(
        ms=moment.microsecond // 1000, us=moment.microsecond, tenth=moment.microsecond // 100_000
    )
    text += "Z"
    expected = (moment.replace(tzinfo=UTC, microsecond=0) - EPOCH) // timedelta(microseconds=1)
    expected += round(float("0" + text[19:-1]) * 1_000_000) if text[19:-1] else 0
    assert parse_instant(text) == expected
    assert parse_instant(text) == expected  # now from the cache
    assert parse_instant(format_instant(expected)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-29T08:00:00.Z",
        "2026-03-29T08:00:00.abcZ",
        "2026-03-29T08:00:00.-12Z",
        "2026-03-29T08:00:00.١٢٣Z",
        "2026-03-29T08:00:00+01Z",
        "2026-03-29T08:00:00ZZ",
    ],
)
def test_a_cached_second_does_not_let_a_malformed_rest_through(text: str) -> None:
    assert (
        parse_instant("2026-03-29T08:00:00.250Z") == parse_instant("2026-03-29T08:00:00Z") + 250_000
    )
    with pytest.raises(InvalidInput):
        parse_instant(text)

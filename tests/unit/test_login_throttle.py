"""Slowing down password guessing: free failures, then doubling waits, per key."""

from __future__ import annotations

import pytest

from adhere.domain import login_throttle
from adhere.domain.login_throttle import (
    FORGET_AFTER_SECONDS,
    FREE_FAILURES,
    FREE_FAILURES_PER_ADDRESS,
    MAX_WAIT_SECONDS,
    LoginThrottle,
)

USER, ADDRESS = "user:sue", "from:10.0.0.7"


def fail(throttle: LoginThrottle, times: int, now: float = 0.0) -> None:
    for _ in range(times):
        throttle.failed([USER, ADDRESS], now)


def test_a_few_failures_cost_nothing_then_each_one_doubles_the_wait() -> None:
    throttle = LoginThrottle()
    fail(throttle, FREE_FAILURES - 1)
    assert throttle.wait_seconds([USER], 0.0) == 0
    fail(throttle, 1)
    assert throttle.wait_seconds([USER], 0.0) == 1.0
    assert throttle.wait_seconds([USER], 0.4) == 0.6
    assert throttle.wait_seconds([USER], 1.0) == 0
    fail(throttle, 1, now=1.0)
    assert throttle.wait_seconds([USER], 1.0) == 2.0
    fail(throttle, 3, now=3.0)
    assert throttle.wait_seconds([USER], 3.0) == 16.0


def test_the_wait_has_a_ceiling() -> None:
    throttle = LoginThrottle()
    fail(throttle, FREE_FAILURES + 40)
    assert throttle.wait_seconds([USER], 0.0) == MAX_WAIT_SECONDS


def test_an_address_shared_by_many_is_allowed_more_failures() -> None:
    throttle = LoginThrottle()
    fail(throttle, FREE_FAILURES)
    assert throttle.wait_seconds([USER], 0.0) == 1.0
    assert throttle.wait_seconds(["user:lee", ADDRESS], 0.0) == 0  # others from there: free
    fail(throttle, FREE_FAILURES_PER_ADDRESS - FREE_FAILURES + 2)
    assert throttle.wait_seconds(["user:lee", ADDRESS], 0.0) == 4.0  # the address's wait
    assert throttle.wait_seconds(["user:lee", "from:10.0.0.8"], 0.0) == 0


def test_the_right_password_clears_the_username_not_the_address() -> None:
    throttle = LoginThrottle()
    fail(throttle, FREE_FAILURES_PER_ADDRESS)
    throttle.succeeded(USER)
    assert throttle.wait_seconds([USER], 0.0) == 0
    assert throttle.wait_seconds([ADDRESS], 0.0) == 1.0


def test_failures_long_past_are_forgotten() -> None:
    throttle = LoginThrottle()
    fail(throttle, FREE_FAILURES + 3)
    later = FORGET_AFTER_SECONDS + 1
    fail(throttle, 1, now=later)
    assert throttle.wait_seconds([USER], later) == 0  # one failure, afresh


def test_memory_is_bounded_by_forgetting_the_oldest_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(login_throttle, "MAX_KEYS", 3)
    throttle = LoginThrottle()
    for index in range(FREE_FAILURES):
        throttle.failed(["user:first"], float(index))
    assert throttle.wait_seconds(["user:first"], 4.0) == 1.0
    for name in ("a", "b", "c"):
        throttle.failed([f"user:{name}"], 4.0)
    assert throttle.wait_seconds(["user:first"], 4.0) == 0  # dropped: the oldest key

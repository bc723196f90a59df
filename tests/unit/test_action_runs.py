"""The pure parts of running data actions: waits between attempts (full jitter, Retry-After),
credential documents, and contracts naming the field that breaks them."""

from __future__ import annotations

import random
from typing import Any

import pytest

from adhere.domain.action_credentials import CredentialKind, parse_credential
from adhere.domain.action_executions import (
    StepStatus,
    TraceStep,
    checked_input,
    checked_output,
    trace_outcome,
)
from adhere.domain.data_actions import RetryStrategy, parse_action, retry_wait
from adhere.domain.errors import InvalidInput
from tests.unit.test_data_actions import EXPORTED

STRATEGY = RetryStrategy(initial_interval=1, backoff_coefficient=2, maximum_interval=10)


def test_waits_are_drawn_uniformly_up_to_the_capped_exponential() -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return high / 2

    waits = [retry_wait(STRATEGY, n, uniform=uniform) for n in range(1, 7)]
    assert drawn == [(0, 1), (0, 2), (0, 4), (0, 8), (0, 10), (0, 10)]
    assert waits == [0.5, 1, 2, 4, 5, 5]


def test_full_jitter_spreads_waits_over_the_whole_range() -> None:
    rng = random.Random(7)
    waits = [retry_wait(STRATEGY, 3, uniform=rng.uniform) for _ in range(2000)]
    assert 0 <= min(waits) < 0.1
    assert 3.9 < max(waits) <= 4
    assert 1.8 < sum(waits) / len(waits) < 2.2  # the mean of U(0, 4)
    rng = random.Random(7)
    again = [retry_wait(STRATEGY, 3, uniform=rng.uniform) for _ in range(2000)]
    assert again == waits  # the injected random decides everything


def test_retry_after_asking_for_longer_is_honoured_up_to_the_maximum_interval() -> None:
    def least(low: float, _high: float) -> float:
        return low

    assert retry_wait(STRATEGY, 1, retry_after=3, uniform=least) == 3
    assert retry_wait(STRATEGY, 1, retry_after=3600, uniform=least) == 10
    assert retry_wait(STRATEGY, 4, retry_after=0.5, uniform=lambda _l, h: h) == 8  # shorter
    with pytest.raises(ValueError, match="after a failed attempt"):
        retry_wait(STRATEGY, 0)


def test_credentials_split_public_details_from_secret_values() -> None:
    oauth = parse_credential(
        {
            "name": "Genesys",
            "kind": "oauth_client_credentials",
            "token_url": "https://login.mypurecloud.com/oauth/token",
            "client_id": "c",
            "client_secret": "s",
            "scopes": "users presence users",
            "audience": "https://api",
            "auth_method": "post",
            "base_url": "https://api.mypurecloud.com",
        }
    )
    assert oauth.kind is CredentialKind.OAUTH_CLIENT_CREDENTIALS
    assert oauth.secret == {"client_secret": "s"}
    assert oauth.details["scopes"] == ["users", "presence"]
    assert oauth.details["auth_method"] == "client_secret_post"
    assert "s" not in oauth.details.values()
    user = parse_credential({"name": "k", "kind": "user_defined", "fields": {"apiKey": "v"}})
    assert (user.details, user.secret) == ({"fields": ["apiKey"]}, {"apiKey": "v"})
    basic = parse_credential({"name": "b", "kind": "basic", "username": "u", "password": "p"})
    assert (basic.details, basic.secret) == ({"username": "u"}, {"password": "p"})


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "credential"),
        ({"kind": "basic"}, "name"),
        ({"name": "x", "kind": "oauth_client_credentials", "token_url": "/token"}, "token_url"),
        (
            {
                "name": "x",
                "kind": "oauth_client_credentials",
                "token_url": "https://t/token",
                "client_id": "c",
                "client_secret": "s",
                "extra_params": {"grant_type": "password"},
            },
            "extra_params.grant_type",
        ),
        (
            {
                "name": "x",
                "kind": "oauth_client_credentials",
                "token_url": "https://t/token",
                "client_id": "c",
                "client_secret": "s",
                "scopes": ["a", 1],
            },
            "scopes[1]",
        ),
        ({"name": "x", "kind": "user_defined", "fields": {}}, "fields"),
        ({"name": "x", "kind": "user_defined", "fields": {"k": ""}}, "fields.k"),
    ],
)
def test_a_wrong_credential_field_is_named(document: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_credential(document)
    assert raised.value.field == field


def test_input_and_output_are_checked_against_the_contract_naming_the_field() -> None:
    action = parse_action(EXPORTED)
    assert checked_input(action, {"userId": "u"}) == {"userId": "u"}
    for given, field, words in [
        ({}, "input.userId", "is required"),
        ({"userId": 7}, "input.userId", "is not of type 'string'"),
        ([], "input", "must be an object"),
    ]:
        with pytest.raises(InvalidInput) as raised:
            checked_input(action, given)
        assert (raised.value.field, words in raised.value.message) == (field, True)
    checked_output(action, {"state": "InAdherence"})
    with pytest.raises(InvalidInput) as raised:
        checked_output(action, {"state": 1})
    assert raised.value.field == "output.state"


def test_a_trace_gives_the_output_or_the_failing_step() -> None:
    ok = [
        TraceStep("send", StepStatus.SUCCEEDED, {"status": 200}),
        TraceStep("render_success", StepStatus.SUCCEEDED, {"a": 1}),
    ]
    assert trace_outcome(ok) == ({"a": 1}, None)
    failed = TraceStep("translate", StepStatus.FAILED, None, "found nothing", "x.y")
    assert trace_outcome([ok[0], failed]) == (None, failed)
    assert failed.described == "translate: x.y: found nothing"

"""Running data actions over real HTTP: an OAuth-protected platform stand-in, and a flaky API
that fails as told. Retries, timeouts, Retry-After, scopes, the trace and the execution log,
on both databases."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from adhere.adapters.loop_thread import LoopThread
from adhere.adapters.sealing import Sealer
from adhere.bootstrap import command_context
from adhere.domain.action_executions import ActionExecution, Outcome, StepStatus, TraceStep
from adhere.service import data_actions
from adhere.service.action_runner import ActionRunner
from adhere.service.context import ServiceContext
from adhere.service.organisation import NotFound
from tests.http_server import serving
from tests.integration.action_documents import (
    TEST_KEY,
    fast_retries,
    flaky_action,
    oauth_credential,
    set_presence_action,
)
from tests.stand_ins.flaky import Flaky
from tests.stand_ins.platform import Platform

T = TypeVar("T")


class Waits:
    """The runner's sleeper: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
def flaky_url(flaky: Flaky) -> Iterator[str]:
    with serving(flaky.app()) as base:
        yield base


@pytest.fixture
def ctx(database_url: str) -> Iterator[ServiceContext]:
    context = command_context(database_url)
    yield context
    context.store.engine.dispose()


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(TEST_KEY)


@pytest.fixture
def automation() -> Iterator[LoopThread]:
    loop = LoopThread("test-automation")
    loop.start()
    yield loop
    loop.stop()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def jitter() -> list[Callable[[float, float], float]]:
    """The runner's random draw: the largest wait, unless a test says otherwise."""
    return [lambda _low, high: high]


@pytest.fixture
def runner(
    ctx: ServiceContext,
    sealer: Sealer,
    automation: LoopThread,
    waits: Waits,
    jitter: list[Callable[[float, float], float]],
) -> Iterator[ActionRunner]:
    def uniform(low: float, high: float) -> float:
        return jitter[0](low, high)  # what the test put there, when the runner draws

    made = ActionRunner(ctx.store, sealer, sleep=waits, uniform=uniform)
    yield made
    automation.submit(made.close()).result(5)


def run(automation: LoopThread, work: Coroutine[Any, Any, T]) -> T:
    return automation.submit(work).result(30)


def execute(
    automation: LoopThread, runner: ActionRunner, action_id: str, given: dict[str, Any]
) -> ActionExecution:
    return run(automation, runner.execute(action_id, given, "test"))


def statuses(execution: ActionExecution) -> list[int | None]:
    return [attempt.status for attempt in execution.attempts]


def step(trace: list[TraceStep], name: str) -> TraceStep:
    return next(s for s in trace if s.name == name)


def save(ctx: ServiceContext, document: dict[str, Any]) -> str:
    return data_actions.save_action(ctx, document).id


# ---- OAuth: the platform stand-in ------------------------------------------------------------


def test_an_oauth_action_sets_a_presence_and_is_logged(
    ctx: ServiceContext,
    sealer: Sealer,
    automation: LoopThread,
    runner: ActionRunner,
    platform: Platform,
    platform_url: str,
) -> None:
    credential = data_actions.create_credential(
        ctx, sealer, oauth_credential(platform_url, scopes=["presence:write"])
    )
    action_id = save(ctx, set_presence_action(credential.id))
    given = {"userId": "lee", "presence": "Break"}
    first = execute(automation, runner, action_id, given)
    assert first.outcome is Outcome.SUCCEEDED, first.error
    assert first.output == {"presence": "Break", "userId": "lee"}
    assert platform.presence == {"lee": "Break"}
    assert statuses(first) == [200]
    second = execute(automation, runner, action_id, {"userId": "kim", "presence": "Away"})
    assert second.succeeded
    assert len(platform.token_requests) == 1  # the token was cached
    logged = data_actions.list_executions(ctx, action_id)
    assert [e.id for e in logged] == [second.id, first.id]  # newest first
    assert logged[1] == first
    assert logged[1].source == "test"
    assert logged[1].input == given


def test_an_expired_token_is_refreshed_once_and_the_call_succeeds(
    ctx: ServiceContext,
    sealer: Sealer,
    automation: LoopThread,
    runner: ActionRunner,
    platform: Platform,
    platform_url: str,
) -> None:
    credential = data_actions.create_credential(ctx, sealer, oauth_credential(platform_url))
    action_id = save(ctx, set_presence_action(credential.id))
    assert execute(automation, runner, action_id, {"userId": "a", "presence": "Away"}).succeeded
    platform.revoke_all()  # the cached token is now refused with 401 invalid_token
    again = execute(automation, runner, action_id, {"userId": "a", "presence": "Break"})
    assert again.succeeded, again.error
    assert statuses(again) == [200]  # the 401 retry with a new token is inside one attempt
    assert len(platform.token_requests) == 2


def test_a_missing_scope_fails_at_once_naming_it(
    ctx: ServiceContext,
    sealer: Sealer,
    automation: LoopThread,
    runner: ActionRunner,
    platform: Platform,
    platform_url: str,
    waits: Waits,
) -> None:
    reader = data_actions.create_credential(
        ctx, sealer, oauth_credential(platform_url, "reader", scopes=[])
    )
    action_id = save(ctx, set_presence_action(reader.id))
    failed = execute(automation, runner, action_id, {"userId": "lee", "presence": "Break"})
    assert failed.outcome is Outcome.FAILED
    assert failed.failed_step == "send"
    assert "requires the scope presence:write" in (failed.error or "")
    assert "not retried" in (failed.error or "")
    assert statuses(failed) == [403]
    assert waits.seconds == []
    assert platform.presence == {}
    trace = run(automation, runner.test(action_id, {"userId": "lee", "presence": "Break"}))
    assert step(trace, "authenticate").status is StepStatus.SUCCEEDED
    assert step(trace, "authenticate").result["granted_scopes"] == ["presence:read"]
    assert step(trace, "send").status is StepStatus.FAILED
    assert step(trace, "send").field == "credentialId"
    assert "presence:write" in (step(trace, "send").error or "")


def test_a_scope_the_token_endpoint_does_not_grant_fails_authentication(
    ctx: ServiceContext,
    sealer: Sealer,
    automation: LoopThread,
    runner: ActionRunner,
    platform_url: str,
) -> None:
    asking = oauth_credential(platform_url, "reader", scopes=["presence:write"])
    credential = data_actions.create_credential(ctx, sealer, asking)
    action_id = save(ctx, set_presence_action(credential.id))
    failed = execute(automation, runner, action_id, {"userId": "lee", "presence": "Break"})
    assert failed.failed_step == "authenticate"
    assert "was not granted the scope(s) presence:write" in (failed.error or "")
    assert len(failed.attempts) == 1


# ---- retries: the flaky stand-in -------------------------------------------------------------


def test_503s_are_retried_with_growing_waits_until_the_call_succeeds(
    ctx: ServiceContext,
    automation: LoopThread,
    runner: ActionRunner,
    flaky: Flaky,
    flaky_url: str,
    waits: Waits,
) -> None:
    strategy = {"initial_interval": 0.5, "backoff_coefficient": 2, "maximum_attempts": 5}
    action_id = save(ctx, flaky_action(f"{flaky_url}/flaky/a?failures=2", retryStrategy=strategy))
    done = execute(automation, runner, action_id, {})
    assert done.succeeded, done.error
    assert statuses(done) == [503, 503, 200]
    assert [a.number for a in done.attempts] == [1, 2, 3]
    assert "503" in (done.attempts[0].error or "")
    assert done.attempts[2].error is None
    assert all(a.duration_ms >= 0 for a in done.attempts)
    assert waits.seconds == [0.5, 1.0]  # uniform(0, cap) drew the cap: 0.5·2⁰, 0.5·2¹
    assert flaky.count("a") == 3
    assert done.output["call"] == 3


def test_retries_stop_at_maximum_attempts_and_the_log_keeps_each(
    ctx: ServiceContext,
    automation: LoopThread,
    runner: ActionRunner,
    flaky: Flaky,
    flaky_url: str,
    waits: Waits,
) -> None:
    strategy = {"initial_interval": 1, "maximum_interval": 1.5, "maximum_attempts": 3}
    action_id = save(ctx, flaky_action(f"{flaky_url}/flaky/b?failures=10", retryStrategy=strategy))
    failed = execute(automation, runner, action_id, {})
    assert failed.outcome is Outcome.FAILED
    assert "gave up after 3 attempts" in (failed.error or "")
    assert flaky.count("b") == 3
    assert waits.seconds == [1, 1.5]  # capped at maximum_interval
    (logged,) = data_actions.list_executions(ctx, action_id)
    assert [(a.number, a.status) for a in logged.attempts] == [(1, 503), (2, 503), (3, 503)]
    assert logged.output is None
    assert logged.failed_step == "send"


def test_a_400_is_not_retried(
    ctx: ServiceContext,
    automation: LoopThread,
    runner: ActionRunner,
    flaky: Flaky,
    flaky_url: str,
    waits: Waits,
) -> None:
    action_id = save(ctx, flaky_action(f"{flaky_url}/flaky/c?failures=5&status=400"))
    failed = execute(automation, runner, action_id, {})
    assert statuses(failed) == [400]
    assert "answered 400" in (failed.error or "")
    assert "call 1 fails with 400" in (failed.error or "")  # what the API said
    assert "(not retried)" in (failed.error or "")
    assert (flaky.count("c"), waits.seconds) == (1, [])


def test_a_status_listed_as_non_retryable_is_not_retried(
    ctx: ServiceContext, automation: LoopThread, runner: ActionRunner, flaky: Flaky, flaky_url: str
) -> None:
    strategy = fast_retries(non_retryable_status_codes=[503])
    action_id = save(ctx, flaky_action(f"{flaky_url}/flaky/d?failures=5", retryStrategy=strategy))
    assert statuses(execute(automation, runner, action_id, {})) == [503]
    assert flaky.count("d") == 1


@pytest.mark.parametrize(("retry_after", "wait"), [("2", 2.0), ("60", 5.0)])
def test_retry_after_is_honoured_up_to_the_maximum_interval(
    ctx: ServiceContext,
    automation: LoopThread,
    runner: ActionRunner,
    flaky_url: str,
    waits: Waits,
    jitter: list[Callable[[float, float], float]],
    retry_after: str,
    wait: float,
) -> None:
    jitter[0] = lambda low, _high: low  # the draw alone would not wait at all
    strategy = {"initial_interval": 1, "maximum_interval": 5}
    url = f"{flaky_url}/flaky/e{retry_after}?failures=1&status=429&retry_after={retry_after}"
    done = execute(automation, runner, save(ctx, flaky_action(url, retryStrategy=strategy)), {})
    assert statuses(done) == [429, 200]
    assert waits.seconds == [wait]


def test_a_timeout_is_retried(
    ctx: ServiceContext,
    automation: LoopThread,
    runner: ActionRunner,
    flaky: Flaky,
    flaky_url: str,
) -> None:
    url = f"{flaky_url}/flaky/slow?failures=1&delay=1.6"
    action_id = save(ctx, flaky_action(url, timeoutSeconds=1, retryStrategy=fast_retries()))
    done = execute(automation, runner, action_id, {})
    assert done.succeeded, done.error
    assert statuses(done) == [None, 200]
    assert "did not answer within 1 s" in (done.attempts[0].error or "")
    assert 950 <= done.attempts[0].duration_ms < 1500
    assert flaky.count("slow") == 2


def test_an_unreachable_api_is_retried_then_fails(
    ctx: ServiceContext, automation: LoopThread, runner: ActionRunner
) -> None:
    strategy = fast_retries(maximum_attempts=2)
    action_id = save(ctx, flaky_action("http://127.0.0.1:9/nothing", retryStrategy=strategy))
    failed = execute(automation, runner, action_id, {})
    assert statuses(failed) == [None, None]
    assert "could not be reached" in (failed.error or "")


# ---- the trace -------------------------------------------------------------------------------


def test_a_test_reports_every_step_in_order(
    ctx: ServiceContext, automation: LoopThread, runner: ActionRunner, flaky_url: str
) -> None:
    action_id = save(ctx, flaky_action(f"{flaky_url}/flaky/t", method="POST"))
    trace = run(automation, runner.test(action_id, {"note": "hi"}))
    assert [(s.name, s.status) for s in trace] == [
        (name, StepStatus.SUCCEEDED)
        for name in (
            "resolve_input",
            "render_url",
            "render_body",
            "authenticate",
            "send",
            "translate",
            "render_success",
            "validate_output",
        )
    ]
    assert step(trace, "render_url").result == f"{flaky_url}/flaky/t"
    assert step(trace, "render_body").result["body"] == '{"note": "hi"}'  # $input.rawRequest
    assert step(trace, "authenticate").result == {"kind": "none"}
    assert step(trace, "send").result["status"] == 200
    assert step(trace, "translate").result == {"call": 1, "authorization": None}
    assert step(trace, "render_success").result["body"] == '{"note": "hi"}'
    assert data_actions.list_executions(ctx, action_id) == []  # a test is not logged


def test_a_failing_step_is_named_with_its_error_and_the_rest_do_not_run(
    ctx: ServiceContext, automation: LoopThread, runner: ActionRunner, flaky: Flaky, flaky_url: str
) -> None:
    action_id = save(ctx, set_presence_action(None))
    trace = run(automation, runner.test(action_id, {"userId": "lee", "presence": "Nap"}))
    resolve = step(trace, "resolve_input")
    assert resolve.status is StepStatus.FAILED
    assert resolve.field == "input.presence"
    assert "'Nap' is not one of" in (resolve.error or "")
    assert {s.status for s in trace[1:]} == {StepStatus.NOT_RUN}
    missing = run(automation, runner.test(action_id, {"presence": "Away"}))
    assert (step(missing, "resolve_input").field, step(missing, "resolve_input").error) == (
        "input.userId",
        "is required",
    )

    broken = flaky_action(f"{flaky_url}/flaky/u")
    broken["config"]["response"]["translationMap"]["owner"] = "$.owner.name"
    action_id = save(ctx, broken)
    trace = run(automation, runner.test(action_id, {}))
    translate = step(trace, "translate")
    assert translate.status is StepStatus.FAILED
    assert translate.field == "config.response.translationMap.owner"
    assert "found nothing at $.owner.name" in (translate.error or "")
    assert step(trace, "send").status is StepStatus.SUCCEEDED
    assert [s.status for s in trace[-2:]] == [StepStatus.NOT_RUN, StepStatus.NOT_RUN]
    executed = execute(automation, runner, action_id, {})
    assert executed.failed_step == "translate"
    assert executed.error is not None
    assert executed.error.startswith("translate: config.response.translationMap.owner: found")


def test_a_relative_url_needs_a_base_url(
    ctx: ServiceContext, automation: LoopThread, runner: ActionRunner
) -> None:
    action_id = save(ctx, set_presence_action(None))
    trace = run(automation, runner.test(action_id, {"userId": "lee", "presence": "Away"}))
    render_url = step(trace, "render_url")
    assert render_url.field == "config.request.requestUrlTemplate"
    assert "relative URL '/api/v2/users/lee/presence'" in (render_url.error or "")


def test_output_the_contract_refuses_fails_validation(
    ctx: ServiceContext, automation: LoopThread, runner: ActionRunner, flaky_url: str
) -> None:
    document = flaky_action(f"{flaky_url}/flaky/v")
    document["contract"]["output"]["successSchema"] = {
        "type": "object",
        "properties": {"call": {"type": "string"}},
    }
    trace = run(automation, runner.test(save(ctx, document), {}))
    validate = step(trace, "validate_output")
    assert (validate.status, validate.field) == (StepStatus.FAILED, "output.call")


# ---- Basic and user-defined credentials ------------------------------------------------------


def test_basic_credentials_send_an_authorization_header(
    ctx: ServiceContext,
    sealer: Sealer,
    automation: LoopThread,
    runner: ActionRunner,
    flaky_url: str,
) -> None:
    basic = {"name": "b", "kind": "basic", "username": "lee", "password": "pa55"}
    credential = data_actions.create_credential(ctx, sealer, basic)
    action_id = save(ctx, flaky_action(f"{flaky_url}/flaky/basic", credential_id=credential.id))
    done = execute(automation, runner, action_id, {})
    assert done.output["authorization"] == "Basic bGVlOnBhNTU="  # lee:pa55
    trace = run(automation, runner.test(action_id, {}))
    assert step(trace, "authenticate").result["username"] == "lee"
    assert "pa55" not in repr(trace)
    for shown in ("authenticate", "send"):  # nor the header that carries it; what the API
        assert "bGVlOnBhNTU=" not in repr(step(trace, shown))  # echoes back is its output


def test_user_defined_fields_are_used_in_templates_and_kept_out_of_traces(
    ctx: ServiceContext,
    sealer: Sealer,
    automation: LoopThread,
    runner: ActionRunner,
    flaky_url: str,
) -> None:
    fields = {"name": "key", "kind": "user_defined", "fields": {"apiKey": "k-123-secret"}}
    credential = data_actions.create_credential(ctx, sealer, fields)
    document = flaky_action(
        f"{flaky_url}/flaky/ud?key=${{credentials.apiKey}}",
        method="POST",
        credential_id=credential.id,
        headers={"X-Api-Key": "${credentials.apiKey}"},
    )
    action_id = save(ctx, document)
    done = execute(automation, runner, action_id, {})
    assert done.succeeded, done.error
    assert done.output["api_key"] == "k-123-secret"
    trace = run(automation, runner.test(action_id, {}))
    assert step(trace, "render_body").result["headers"]["X-Api-Key"] == "[secret]"
    assert step(trace, "render_url").result.endswith("?key=[secret]")
    assert step(trace, "send").result["body"]["api_key"] == "[secret]"
    # The output is the API's answer, as it is (this one echoes the key).
    assert "k-123-secret" not in repr([s for s in trace if s.name != "render_success"])


def test_an_unknown_action_is_not_found(automation: LoopThread, runner: ActionRunner) -> None:
    with pytest.raises(NotFound):
        execute(automation, runner, "act_nope", {})


def test_a_header_that_cannot_be_sent_fails_once_with_the_reason(
    ctx: ServiceContext, automation: LoopThread, runner: ActionRunner, flaky_url: str
) -> None:
    action = flaky_action(f"{flaky_url}/flaky/basic", headers={"X-Name": "${input.name}"})
    action_id = save(ctx, action)
    failed = execute(automation, runner, action_id, {"name": "Jos\u00e9"})
    assert failed.outcome is Outcome.FAILED
    assert failed.failed_step == "send"
    assert "the request cannot be sent" in (failed.error or "")
    assert len(failed.attempts) == 1  # not retried: it can never be sent

"""Running data actions: input to output through the steps of `domain.action_executions.STEPS`.

`ActionRunner` lives in one event loop (the automation loop, `Container.automation`): its HTTP
client and OAuth token cache belong to that loop. `execute` runs an action and writes the
execution to the log; `test` runs it the same way and reports every step instead.

Sending is retried per the action's retry strategy: a timeout, a connection failure, a 5xx,
408, 425 or 429 is tried again after a wait drawn with full jitter (`retry_wait`), honouring a
``Retry-After`` up to `maximum_interval`; any other 4xx, a status listed as non-retryable, or a
403 for a missing OAuth scope fails at once. Each attempt is bounded by ``timeoutSeconds``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from adhere.adapters.action_http import ActionTransport, AttemptFailed, OutboundRequest
from adhere.adapters.action_templates import render, translate
from adhere.adapters.sealing import Sealer, SecretKeyError
from adhere.adapters.store import SqlStore
from adhere.adapters.token_manager import ClientCredentials
from adhere.domain.action_credentials import Credential, CredentialKind
from adhere.domain.action_executions import (
    STEPS,
    ActionExecution,
    Attempt,
    Outcome,
    StepStatus,
    TraceStep,
    checked_input,
    checked_output,
    trace_outcome,
)
from adhere.domain.data_actions import SavedAction, retry_wait
from adhere.domain.errors import InvalidInput
from adhere.service.context import wall_clock
from adhere.service.organisation import NotFound

T = TypeVar("T")
_log = logging.getLogger("adhere.actions")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ERROR_BODY_LIMIT = 500
_TRACE_BODY_LIMIT = 10_000
_REDACTED = "[secret]"


@dataclass(frozen=True, slots=True)
class _Plan:
    saved: SavedAction
    credential: Credential | None
    sealed_secret: str | None


class _Stop(Exception):
    """A step failed: the ones after it do not run."""


@dataclass
class _Run:
    """One run's trace, attempts and the secrets to keep out of both."""

    steps: list[TraceStep] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def redact(self, text: str) -> str:
        for value in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(value, _REDACTED)
        return text

    def succeeded(self, name: str, result: Any = None) -> None:
        self.steps.append(TraceStep(name, StepStatus.SUCCEEDED, result))

    def failed(self, name: str, error: str, where: str | None = None, result: Any = None) -> _Stop:
        self.steps.append(TraceStep(name, StepStatus.FAILED, result, self.redact(error), where))
        return _Stop()

    def step(self, name: str, work: Callable[[], T], shown: Callable[[T], Any] = lambda v: v) -> T:
        try:
            value = work()
        except InvalidInput as error:
            raise self.failed(name, error.message, error.field) from None
        except SecretKeyError as error:
            raise self.failed(name, str(error), "credentialId") from None
        except Exception as error:  # a template or schema the checks let through: say so
            _log.exception("step %s of a data action failed unexpectedly", name)
            unexpected = f"failed unexpectedly: {type(error).__name__}: {error}"
            raise self.failed(name, unexpected) from None
        self.succeeded(name, shown(value))
        return value

    def finished(self) -> list[TraceStep]:
        done = {step.name for step in self.steps}
        return self.steps + [TraceStep(n, StepStatus.NOT_RUN) for n in STEPS if n not in done]


@dataclass(frozen=True, slots=True)
class _Authentication:
    headers: Mapping[str, str]
    oauth: ClientCredentials | None
    summary: dict[str, Any]
    secrets: tuple[str, ...] = ()  # what it sends that a trace must not show (header, token)


class ActionRunner:
    """Runs data actions in one event loop. Create it anywhere; use it in one loop only."""

    def __init__(
        self,
        store: SqlStore,
        sealer: Sealer,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.sleep = sleep  # injectable: tests record waits instead of waiting
        self.uniform = uniform
        self._transport: ActionTransport | None = None  # made in the loop, on first use

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.aclose()

    async def execute(
        self, action_id: str, input: Mapping[str, Any], source: str
    ) -> ActionExecution:
        """Run the action and log the execution (whatever its outcome); `source` says who
        asked: ``api``, ``cli``, ``rule:<rule id>``. An unknown action raises `NotFound`."""
        started = wall_clock()
        plan = await asyncio.to_thread(self._plan, action_id)
        run = await self._run(plan, input)
        output, failure = trace_outcome(run.steps)
        execution = ActionExecution(
            id=f"ax_{secrets.token_urlsafe(12)}",
            action_id=action_id,
            source=source,
            started=started,
            finished=max(started, wall_clock()),
            outcome=Outcome.FAILED if failure else Outcome.SUCCEEDED,
            attempts=tuple(run.attempts),
            input=dict(input) if isinstance(input, Mapping) else {},
            output=output,
            error=None if failure is None else failure.described,
            failed_step=None if failure is None else failure.name,
        )
        await asyncio.to_thread(self._record, execution)
        return execution

    async def test(self, action_id: str, input: Mapping[str, Any]) -> list[TraceStep]:
        """Run the action without logging it: every step's result or error, in order; the
        steps after a failure are `not_run`."""
        plan = await asyncio.to_thread(self._plan, action_id)
        return (await self._run(plan, input)).finished()

    # ---- the steps -------------------------------------------------------------------------

    async def _run(self, plan: _Plan, given: object) -> _Run:
        run = _Run()
        action = plan.saved.action
        secret: dict[str, str] | None = None

        def unsealed() -> dict[str, str]:
            nonlocal secret
            if secret is None:
                assert plan.credential is not None
                assert plan.sealed_secret is not None
                owner = f"credential {plan.credential.id!r}"
                secret = self.sealer.unseal(plan.sealed_secret, owner)
                run.secrets.extend(v for v in secret.values() if v)
            return secret

        try:
            value = run.step("resolve_input", lambda: checked_input(action, given))
            context: dict[str, Any] = {"input": _template_input(value)}

            def url() -> str:
                credential = plan.credential
                if credential is not None and credential.kind is CredentialKind.USER_DEFINED:
                    context["credentials"] = unsealed()  # $credentials.<name> in templates
                return _url(plan, context)

            address = run.step("render_url", url, run.redact)
            headers, body = run.step(
                "render_body",
                lambda: _request_parts(plan, context),
                lambda parts: {
                    "headers": {k: run.redact(v) for k, v in parts[0].items()},
                    "body": None if parts[1] is None else run.redact(parts[1]),
                },
            )
            request = OutboundRequest(
                action.method,
                address,
                headers,
                None if body is None else body.encode(),
                float(action.timeout_seconds),
            )
            text = await self._send(run, plan, request, unsealed)
            values = run.step(
                "translate",
                lambda: translate(text, action.translation_map, action.translation_map_defaults),
                lambda found: {name: json.loads(literal) for name, literal in found.items()},
            )
            output = run.step("render_success", lambda: _success(plan, values, text))
            run.step("validate_output", lambda: checked_output(action, output))
        except _Stop:
            pass
        return run

    async def _send(
        self,
        run: _Run,
        plan: _Plan,
        request: OutboundRequest,
        unsealed: Callable[[], dict[str, str]],
    ) -> str:
        """The authenticate and send steps, attempted per the retry strategy: the answer's
        text, or `_Stop` once an attempt fails for good."""
        strategy = plan.saved.action.retry
        transport = await self.transport()
        summary: dict[str, Any] | None = None
        failure: AttemptFailed | None = None
        for number in range(1, strategy.maximum_attempts + 1):
            began = time.monotonic()
            authenticated = False
            try:
                async with asyncio.timeout(request.timeout_seconds):
                    try:
                        auth = await self._authenticate(plan, transport, unsealed)
                    except SecretKeyError as error:
                        raise run.failed("authenticate", str(error), "credentialId") from None
                    summary, authenticated = auth.summary, True
                    run.secrets.extend(auth.secrets)
                    answer = await transport.send(_with_headers(request, auth.headers), auth.oauth)
            except AttemptFailed as error:
                failure = error
            except TimeoutError:  # the whole attempt, token request included, took too long
                limit = f"{request.timeout_seconds:g} s"
                failure = (
                    AttemptFailed(f"{request.url} did not answer within {limit}")
                    if authenticated
                    else AttemptFailed(f"no token within {limit}", step="authenticate")
                )
            else:
                if 200 <= answer.status < 300:
                    run.attempts.append(Attempt(number, answer.status, _since(began)))
                    run.succeeded("authenticate", summary)
                    run.succeeded(
                        "send",
                        {
                            "status": answer.status,
                            "attempts": [a.as_json() for a in run.attempts],
                            "body": _shown_body(run.redact(answer.text)),
                        },
                    )
                    return answer.text
                failure = AttemptFailed(
                    f"{request.url} answered {answer.status}"
                    + (f": {answer.text[:_ERROR_BODY_LIMIT]}" if answer.text.strip() else ""),
                    status=answer.status,
                    permanent=300 <= answer.status < 400,  # redirects are not followed
                    retry_after=answer.retry_after,
                )
            run.attempts.append(
                Attempt(number, failure.status, _since(began), run.redact(failure.message))
            )
            retryable = not failure.permanent and strategy.retryable(failure.status)
            if not retryable or number == strategy.maximum_attempts:
                break
            await self.sleep(retry_wait(strategy, number, failure.retry_after, self.uniform))
        assert failure is not None
        raise _failed(run, failure, summary, exhausted=retryable)

    async def _authenticate(
        self, plan: _Plan, transport: ActionTransport, unsealed: Callable[[], dict[str, str]]
    ) -> _Authentication:
        credential = plan.credential
        if credential is None:
            return _Authentication({}, None, {"kind": "none"})
        details = credential.details
        summary: dict[str, Any] = {"kind": credential.kind.value, "credential_id": credential.id}
        if credential.kind is CredentialKind.USER_DEFINED:
            summary["fields"] = list(details.get("fields", ()))
            return _Authentication({}, None, summary)
        secret = unsealed()
        if credential.kind is CredentialKind.BASIC:
            pair = f"{details['username']}:{secret['password']}".encode()
            header = "Basic " + base64.b64encode(pair).decode("ascii")
            summary["username"] = details["username"]
            return _Authentication({"Authorization": header}, None, summary, (header,))
        oauth = oauth_client(details, secret)
        token = await transport.token(oauth)
        summary.update(
            token_url=oauth.token_url,
            client_id=oauth.client_id,
            granted_scopes=sorted(token.granted_scopes),
            token_lifetime_seconds=token.lifetime,
        )
        return _Authentication({}, oauth, summary, (token.value,))

    async def transport(self) -> ActionTransport:
        """The HTTP client and token cache of this runner's loop (for other outbound work
        there, e.g. fetching a target's OpenAPI document with the same tokens)."""
        if self._transport is None:
            self._transport = ActionTransport()
        return self._transport

    # ---- the store -------------------------------------------------------------------------

    def _plan(self, action_id: str) -> _Plan:
        with self.store.reading() as tx:
            saved = tx.actions.action(action_id)
            if saved is None:
                raise NotFound("action", action_id)
            credential_id = saved.action.credential_id
            if credential_id is None:
                return _Plan(saved, None, None)
            credential = tx.actions.credential(credential_id)
            sealed = tx.actions.sealed_secret(credential_id)
        if credential is None or sealed is None:  # the foreign key forbids it
            raise NotFound("credential", credential_id)
        return _Plan(saved, credential, sealed)

    def _record(self, execution: ActionExecution) -> None:
        with self.store.transaction() as tx:
            tx.actions.add_execution(execution)


def run_in_own_loop(
    store: SqlStore, sealer: Sealer, work: Callable[[ActionRunner], Awaitable[T]]
) -> T:
    """Run `work` with a runner of its own, in an event loop of its own: a command's way
    (the server runs actions in its automation loop)."""

    async def main() -> T:
        runner = ActionRunner(store, sealer)
        try:
            return await work(runner)
        finally:
            await runner.close()

    return asyncio.run(main())


def oauth_client(details: Mapping[str, Any], secret: Mapping[str, str]) -> ClientCredentials:
    """The token manager's view of an OAuth 2 client-credentials credential."""
    return ClientCredentials(
        token_url=details["token_url"],
        client_id=details["client_id"],
        client_secret=secret["client_secret"],
        scopes=tuple(details.get("scopes", ())),
        audience=details.get("audience"),
        extra_params=dict(details.get("extra_params", {})),
        auth_method=details.get("auth_method", "client_secret_basic"),
    )


def _failed(
    run: _Run, failure: AttemptFailed, summary: dict[str, Any] | None, exhausted: bool
) -> _Stop:
    count = len(run.attempts)
    if exhausted:
        why = f"gave up after {count} attempts"
    elif failure.status == 403 and failure.permanent:
        why = "not retried: the credential lacks a scope"
    elif count == 1:
        why = "not retried"
    else:
        why = f"not retried after {count} attempts"
    message = f"{failure.message} ({why})"
    attempts = {"attempts": [a.as_json() for a in run.attempts]}
    if failure.step == "authenticate":
        return run.failed("authenticate", message, "credentialId", attempts)
    run.succeeded("authenticate", summary)
    where = "credentialId" if failure.scope is not None else None
    return run.failed("send", message, where, attempts)


def _template_input(value: Mapping[str, Any]) -> dict[str, Any]:
    """The input as templates see it: ``$input.rawRequest`` is the whole input as JSON (as in
    Genesys Cloud), unless the input has its own."""
    return {"rawRequest": json.dumps(value), **value}


def absolute_url(url: str, credential: Credential | None) -> str | None:
    """`url`, or a relative one (as Genesys Cloud exports them) on the credential's
    `base_url`; None if it is relative and there is no base."""
    if urlsplit(url).scheme:
        return url
    base = None if credential is None else credential.base_url
    return None if base is None else base.rstrip("/") + "/" + url.lstrip("/")


def _url(plan: _Plan, context: Mapping[str, Any]) -> str:
    where = "config.request.requestUrlTemplate"
    url = render(plan.saved.action.url_template, context, where).strip()
    absolute = absolute_url(url, plan.credential)
    if absolute is None:
        raise InvalidInput(
            f"renders the relative URL {url!r}: make it absolute, or give the action a "
            "credential with a base_url",
            where,
        )
    url, parts = absolute, urlsplit(absolute)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput(f"renders {url!r}, not an http:// or https:// URL", where)
    return url


def _request_parts(plan: _Plan, context: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    action = plan.saved.action
    headers = {
        name: render(value, context, f"config.request.headers.{name}").strip()
        for name, value in action.headers.items()
    }
    body = render(action.request_template, context, "config.request.requestTemplate")
    if action.method not in BODY_METHODS:
        return headers, None
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return headers, body


def _success(plan: _Plan, values: Mapping[str, str], text: str) -> Any:
    where = "config.response.successTemplate"
    raw = text if text.strip() else "{}"
    rendered = render(plan.saved.action.success_template, {"rawResult": raw, **values}, where)
    try:
        return json.loads(rendered)
    except ValueError as error:
        raise InvalidInput(f"did not render JSON ({error}): {rendered[:200]!r}", where) from None


def _with_headers(request: OutboundRequest, extra: Mapping[str, str]) -> OutboundRequest:
    if not extra:
        return request
    headers = {k: v for k, v in request.headers.items() if k.lower() not in {"authorization"}}
    return OutboundRequest(
        request.method,
        request.url,
        {**headers, **extra},
        request.body,
        request.timeout_seconds,
    )


def _shown_body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text[:_TRACE_BODY_LIMIT]


def _since(began: float) -> float:
    return round((time.monotonic() - began) * 1000, 1)

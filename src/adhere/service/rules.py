"""Use cases: workflow rules (create, change, enable, delete), their history and a dry run.

A rule is checked before it is saved: its topic and criteria (domain/rules.py), that every
data action and webhook it names exists, and, through `verify`, that the identity each action
runs as holds the scopes its target requires (service/scope_check.py): a rule that could
only fail later is refused now, saying why.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from adhere.adapters.store import StoreTransaction
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MICROS_PER_SECOND, Instant, format_instant
from adhere.domain.rules import (
    Decision,
    Rule,
    RuleExecution,
    RuleSpec,
    RunDataAction,
    SendToWebhook,
    decide,
    parse_rule,
)
from adhere.domain.topics import EVENT_TOPICS
from adhere.service.context import ServiceContext
from adhere.service.organisation import NotFound
from adhere.service.webhooks import event_messages

Verify = Callable[[RuleSpec], None]  # raises InvalidInput when an action would lack a scope

DRY_RUN_HOURS = 24
_DRY_RUN_MESSAGES = 200_000


def create_rule(ctx: ServiceContext, raw: object, verify: Verify | None = None) -> Rule:
    spec = parse_rule(raw)
    if verify is not None:
        verify(spec)
    now = ctx.clock()
    rule = Rule(f"rule_{secrets.token_urlsafe(12)}", spec, now, now)
    with ctx.store.transaction() as tx:
        _check_references(tx, spec)
        tx.rules.add_rule(rule)
    return rule


def replace_rule(
    ctx: ServiceContext, rule_id: str, raw: object, verify: Verify | None = None
) -> Rule:
    """A new definition for the rule; its running timers are dropped (they armed under the
    old criteria)."""
    spec = parse_rule(raw)
    if verify is not None:
        verify(spec)
    with ctx.store.transaction() as tx:
        rule = _require(tx, rule_id)
        _check_references(tx, spec)
        updated = Rule(rule.id, spec, rule.created, ctx.clock())
        tx.rules.replace_rule(updated)
        tx.rules.disarm_all(rule_id)
    return updated


def set_enabled(ctx: ServiceContext, rule_id: str, enabled: bool) -> Rule:
    """Disabling stops the rule and drops its timers; enabling starts it from now on."""
    with ctx.store.transaction() as tx:
        rule = _require(tx, rule_id)
        updated = Rule(rule.id, replace(rule.spec, enabled=enabled), rule.created, ctx.clock())
        tx.rules.replace_rule(updated)
        if not enabled:
            tx.rules.disarm_all(rule_id)
    return updated


def delete_rule(ctx: ServiceContext, rule_id: str) -> None:
    """The rule and its timers go; its execution history stays."""
    with ctx.store.transaction() as tx:
        if not tx.rules.delete_rule(rule_id):
            raise NotFound("rule", rule_id)


def get_rule(ctx: ServiceContext, rule_id: str) -> Rule:
    with ctx.store.reading() as tx:
        return _require(tx, rule_id)


def list_rules(ctx: ServiceContext) -> list[Rule]:
    with ctx.store.reading() as tx:
        return tx.rules.rules()


def list_executions(ctx: ServiceContext, rule_id: str, limit: int = 100) -> list[RuleExecution]:
    """The rule's firings, newest first (kept after the rule is deleted)."""
    with ctx.store.reading() as tx:
        executions = tx.rules.executions(rule_id, limit)
        if not executions:
            _require(tx, rule_id)
        return executions


@dataclass(frozen=True, slots=True)
class DryRunFiring:
    subject: str
    at: Instant
    message: dict[str, Any]
    actions: tuple[dict[str, Any], ...]  # what each action would be given, or why it can't


@dataclass(frozen=True, slots=True)
class DryRun:
    since: Instant
    until: Instant
    messages: int  # on the rule's topic in the window
    firings: tuple[DryRunFiring, ...]


def dry_run(ctx: ServiceContext, raw: object) -> DryRun:
    """What the rule would have done over the last day: which messages on its topic it
    would have fired on (timers simulated), and the input each action would have been given.
    Nothing runs and nothing is stored.

    For the agent topics the messages are rebuilt from the events accepted that day, whether
    or not anyone listened then; for the others they are those the outbox recorded, which
    holds every message of a topic once any rule or webhook listens to it."""
    spec = parse_rule(raw)
    until = ctx.clock()
    since = until - DRY_RUN_HOURS * 3600 * MICROS_PER_SECOND
    with ctx.store.reading() as tx:
        if spec.topic in EVENT_TOPICS:
            received = tx.events_received(since, until, _DRY_RUN_MESSAGES)
            messages = event_messages(tx, received, spec.topic, ctx.live)
        else:
            stored = tx.rules.messages_since(since, spec.topic, _DRY_RUN_MESSAGES)
            messages = [(item.created, orjson.loads(item.payload)) for item in stored]
    firings: list[DryRunFiring] = []
    armed: dict[str, tuple[Instant, dict[str, Any]]] = {}

    def fire_due(before: Instant) -> None:
        for subject, (due, message) in sorted(armed.items(), key=lambda item: item[1][0]):
            if due <= before:
                del armed[subject]
                firings.append(_firing(spec, subject, due, message))

    for created, message in messages:
        fire_due(created)
        try:
            decision = decide(spec, message)
            subject = spec.subject(message)
        except Exception as error:  # a JSONPath that parses but cannot run (a bad regex)
            raise InvalidInput(f"cannot be evaluated: {error}", "criteria") from None
        if decision is Decision.FIRE:
            firings.append(_firing(spec, subject, created, message))
        elif decision is Decision.ARM and subject not in armed:
            assert spec.for_micros is not None
            armed[subject] = (created + spec.for_micros, message)
        elif decision is Decision.DISARM:
            armed.pop(subject, None)
    fire_due(until)
    return DryRun(since, until, len(messages), tuple(firings))


def execution_json(execution: RuleExecution) -> dict[str, Any]:
    return {
        "id": execution.seq,
        "rule_id": execution.rule_id,
        "message_id": execution.message_id,
        "topic": execution.topic,
        "subject": execution.subject,
        "fired_at": format_instant(execution.fired),
        "status": execution.status.value,
        "actions": list(execution.results),
        "finished_at": None if execution.finished is None else format_instant(execution.finished),
        "message": orjson.loads(execution.payload),
    }


def _firing(spec: RuleSpec, subject: str, at: Instant, message: Mapping[str, Any]) -> DryRunFiring:
    return DryRunFiring(subject, at, dict(message), tuple(_would_do(spec, message)))


def _would_do(spec: RuleSpec, message: Mapping[str, Any]) -> list[dict[str, Any]]:
    done: list[dict[str, Any]] = []
    for action in spec.actions:
        if isinstance(action, SendToWebhook):
            done.append(action.as_json())
            continue
        try:
            done.append({**action.as_json(), "input": action.input_for(message)})
        except InvalidInput as error:
            done.append({**action.as_json(), "error": str(error)})
    return done


def _check_references(tx: StoreTransaction, spec: RuleSpec) -> None:
    for index, action in enumerate(spec.actions):
        if isinstance(action, SendToWebhook) and tx.webhooks.endpoint(action.endpoint_id) is None:
            raise InvalidInput(
                f"no webhook {action.endpoint_id!r}", f"actions[{index}].endpoint_id"
            )
        if isinstance(action, RunDataAction) and tx.actions.action(action.action_id) is None:
            where = f"actions[{index}].action_id"
            raise InvalidInput(f"no data action {action.action_id!r}", where)


def _require(tx: StoreTransaction, rule_id: str) -> Rule:
    found = tx.rules.rule(rule_id)
    if found is None:
        raise NotFound("rule", rule_id)
    return found

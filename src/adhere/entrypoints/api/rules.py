"""Routes: workflow rules, their execution history and dry runs (scope `rules:manage`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from adhere.domain.instants import format_instant
from adhere.domain.rules import DEFAULT_SUBJECT, MAX_FOR_SECONDS, Rule, rule_json
from adhere.entrypoints.api.deps import container, context, path_id
from adhere.entrypoints.api.security import Principal, also_requires, requires
from adhere.service import rules
from adhere.service.context import ServiceContext

router = APIRouter(prefix="/api/v1", tags=["rules"])
_MANAGE = "rules:manage"


class RuleIn(BaseModel):
    """A rule. Unknown fields are refused: a misspelt one would silently change its meaning."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    topic: str = Field(description="The topic it listens to (GET /api/v1/topics)")
    criteria: list[dict[str, Any]] | None = Field(
        default=None,
        description="Conditions that must all hold: {path (JSONPath into the message), "
        "operator (Equal, NotEqual, In, NotIn, GreaterThan, GreaterThanOrEqual, LessThan, "
        "LessThanOrEqual, Exists, Contains), value}",
    )
    for_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_FOR_SECONDS,
        description="Fire only when the criteria have held this long for the subject",
    )
    subject_path: str = Field(
        default=DEFAULT_SUBJECT, description="Whom a 'for N seconds' timer is for"
    )
    actions: list[dict[str, Any]] = Field(
        min_length=1,
        description='{"type": "data_action", "action_id", "input": {name: JSONPath | '
        '{"value": literal}}} or {"type": "webhook", "endpoint_id"}; run in order',
    )
    enabled: bool = True


class RuleChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


def _raw(body: RuleIn) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


@router.post("/rules", status_code=201)
def create(
    body: RuleIn,
    request: Request,
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Save a rule. A rule that runs data actions also needs `actions:execute`; it is refused,
    naming the scope, if an action's credential lacks one its target route requires."""
    _may_run(principal, body)
    service = container(request)
    created = rules.create_rule(ctx, _raw(body), service.verify_rule)
    service.rules_changed()
    return _rule(created)


@router.get("/rules")
def list_all(
    ctx: ServiceContext = Depends(context), _: Principal = requires(_MANAGE)
) -> dict[str, Any]:
    return {"items": [_rule(rule) for rule in rules.list_rules(ctx)]}


@router.get("/rules/{rule_id}")
def get(
    rule_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    return _rule(rules.get_rule(ctx, rule_id))


@router.put("/rules/{rule_id}")
def replace(
    body: RuleIn,
    request: Request,
    rule_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """A new definition; timers armed under the old one are dropped."""
    _may_run(principal, body)
    service = container(request)
    replaced = rules.replace_rule(ctx, rule_id, _raw(body), service.verify_rule)
    service.rules_changed()
    return _rule(replaced)


@router.patch("/rules/{rule_id}")
def enable(
    body: RuleChangeIn,
    request: Request,
    rule_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Enable or disable; a disabled rule acts on nothing and keeps no timers."""
    changed = rules.set_enabled(ctx, rule_id, body.enabled)
    container(request).rules_changed()
    return _rule(changed)


@router.delete("/rules/{rule_id}", status_code=204, response_class=Response)
def remove(
    rule_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> Response:
    """The rule and its timers go; its execution history stays readable."""
    rules.delete_rule(ctx, rule_id)
    return Response(status_code=204)


@router.get("/rules/{rule_id}/executions")
def executions(
    rule_id: str = path_id(),
    limit: int = Query(default=100, ge=1, le=1000),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """The rule's firings, newest first: the message, and what each action did."""
    found = rules.list_executions(ctx, rule_id, limit)
    return {"items": [rules.execution_json(execution) for execution in found]}


@router.post("/rules/dry-run")
def dry_run(
    body: RuleIn,
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """What this rule (saved or not) would have done over the last day; nothing runs."""
    result = rules.dry_run(ctx, _raw(body))
    return {
        "since": format_instant(result.since),
        "until": format_instant(result.until),
        "messages": result.messages,
        "firings": [
            {
                "subject": firing.subject,
                "at": format_instant(firing.at),
                "message": firing.message,
                "actions": list(firing.actions),
            }
            for firing in result.firings
        ],
    }


def _may_run(principal: Principal, body: RuleIn) -> None:
    """Saving a rule that runs data actions is running them later, with inputs of its
    choosing: the caller must be allowed to run actions."""
    if any(action.get("type") == "data_action" for action in body.actions):
        also_requires(principal, "actions:execute")


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        **rule_json(rule.spec),
        "created": format_instant(rule.created),
        "updated": format_instant(rule.updated),
    }

"""`adhere rules …`: workflow rules from a shell (a running server acts on what is saved)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from adhere.bootstrap import secret_sealer
from adhere.config import Settings
from adhere.domain.instants import format_instant
from adhere.domain.rules import Rule, RuleSpec, rule_json
from adhere.entrypoints.cli_options import DatabaseOption, command_service, read_json
from adhere.service import rules
from adhere.service.action_scopes import own_loop_guard
from adhere.service.context import ServiceContext

rules_app = typer.Typer(help="Manage workflow rules.", no_args_is_help=True)

_Id = Annotated[str, typer.Argument(help="The rule id (rule_…).", show_default=False)]
_File = Annotated[
    str,
    typer.Argument(help="The rule as JSON: a file, or - for standard input.", show_default=False),
]
_Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@rules_app.command("create")
def create(source: _File, db: DatabaseOption = None) -> None:
    """Save a rule (refused, naming the scope, if an action's credential lacks one)."""
    with command_service(db) as (ctx, settings):
        rule = rules.create_rule(ctx, read_json(source), _check(ctx, settings))
    typer.echo(f"rule id: {rule.id}")


@rules_app.command("replace")
def replace(rule_id: _Id, source: _File, db: DatabaseOption = None) -> None:
    """Give a rule a new definition (its running timers are dropped)."""
    with command_service(db) as (ctx, settings):
        rules.replace_rule(ctx, rule_id, read_json(source), _check(ctx, settings))
    typer.echo(f"replaced {rule_id}")


@rules_app.command("list")
def list_all(as_json: _Json = False, db: DatabaseOption = None) -> None:
    """Every rule: id, state, topic, name."""
    with command_service(db) as (ctx, _):
        found = rules.list_rules(ctx)
    if as_json:
        typer.echo(json.dumps([_rule(rule) for rule in found], indent=2))
        return
    for rule in found:
        state = "enabled " if rule.spec.enabled else "disabled"
        wait = f" for {rule.spec.for_seconds}s" if rule.spec.for_seconds else ""
        typer.echo(f"{rule.id}  {state}  {rule.spec.topic}{wait}  {rule.spec.name}")
    if not found:
        typer.echo("(no rules)")


@rules_app.command("show")
def show(rule_id: _Id, db: DatabaseOption = None) -> None:
    """A rule's definition, as JSON that `create` accepts."""
    with command_service(db) as (ctx, _):
        typer.echo(json.dumps(_rule(rules.get_rule(ctx, rule_id)), indent=2))


@rules_app.command("enable")
def enable(rule_id: _Id, db: DatabaseOption = None) -> None:
    """Start acting on messages from now on."""
    with command_service(db) as (ctx, _):
        rules.set_enabled(ctx, rule_id, True)
    typer.echo(f"{rule_id} enabled")


@rules_app.command("disable")
def disable(rule_id: _Id, db: DatabaseOption = None) -> None:
    """Stop acting; running timers are dropped."""
    with command_service(db) as (ctx, _):
        rules.set_enabled(ctx, rule_id, False)
    typer.echo(f"{rule_id} disabled")


@rules_app.command("delete")
def delete(rule_id: _Id, db: DatabaseOption = None) -> None:
    """Delete a rule; its execution history stays."""
    with command_service(db) as (ctx, _):
        rules.delete_rule(ctx, rule_id)
    typer.echo(f"deleted {rule_id}")


@rules_app.command("executions")
def executions(
    rule_id: _Id,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    as_json: _Json = False,
    db: DatabaseOption = None,
) -> None:
    """A rule's firings: when, for whom, and what each action did."""
    with command_service(db) as (ctx, _):
        found = rules.list_executions(ctx, rule_id, limit)
    if as_json:
        typer.echo(json.dumps([rules.execution_json(e) for e in found], indent=2))
        return
    for execution in found:
        outcomes = ", ".join(
            f"{result.get('type', 'action')}: {result.get('outcome')}"
            + (f" ({result['error']})" if result.get("error") else "")
            for result in execution.results
        )
        typer.echo(
            f"{execution.seq}  {format_instant(execution.fired)}  {execution.status.value:9}  "
            f"{execution.subject or '-'}  {outcomes}"
        )
    if not found:
        typer.echo("(no executions)")


@rules_app.command("dry-run")
def dry_run(source: _File, as_json: _Json = False, db: DatabaseOption = None) -> None:
    """What a rule would have done over the last day; nothing runs."""
    with command_service(db) as (ctx, _):
        result = rules.dry_run(ctx, read_json(source))
    firings = [
        {"subject": f.subject, "at": format_instant(f.at), "actions": list(f.actions)}
        for f in result.firings
    ]
    if as_json:
        typer.echo(json.dumps({"messages": result.messages, "firings": firings}, indent=2))
        return
    typer.echo(
        f"{result.messages} messages since {format_instant(result.since)}: {len(firings)} firings"
    )
    for firing in firings:
        typer.echo(f"{firing['at']}  {firing['subject'] or '-'}  {json.dumps(firing['actions'])}")


def _check(ctx: ServiceContext, settings: Settings) -> Callable[[RuleSpec], None]:
    """The scope check of a rule's data actions, in this command's own event loop."""
    return own_loop_guard(ctx, secret_sealer(settings)).check_rule


def _rule(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, **rule_json(rule.spec)}

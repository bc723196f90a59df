"""`adhere doctor …`: say why a call is refused before it is made."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from adhere.bootstrap import build, secret_sealer
from adhere.config import load_settings
from adhere.domain.errors import InvalidInput
from adhere.entrypoints.api.app import create_app
from adhere.entrypoints.cli_options import DatabaseOption, command_service, fail
from adhere.service import data_actions
from adhere.service.action_scopes import own_loop_guard
from adhere.service.doctor import Operation, TokenReport, examine_token
from adhere.service.scope_check import ScopeVerdict

doctor_app = typer.Typer(help="Diagnose tokens and scopes.", no_args_is_help=True)


@doctor_app.command("token")
def token_command(
    token: Annotated[str, typer.Argument(help="An access token issued by this Adhere.")],
    db: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Decode a token: its client, scopes and expiry, whether it is accepted, and which API
    routes it may and may not call (exit status 1 if it may not call them all)."""
    try:
        container = build(load_settings(database_url=db))
    except (InvalidInput, ValidationError) as error:
        fail(str(error))
    try:
        operations = api_operations(create_app(container).openapi())
        report = examine_token(container.auth, token, operations)
    except InvalidInput as error:
        fail(f"the {error.field or 'token'} {error.message}")
    finally:
        container.database.dispose()
    typer.echo(json.dumps(_as_json(report), indent=2) if as_json else _as_text(report))
    if report.denied:
        raise typer.Exit(code=1)


@doctor_app.command("action")
def action_command(
    action_id: Annotated[str, typer.Argument(help="A saved data action's id (act_…).")],
    db: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Compare the scopes the action's credential holds with those its target route requires
    (from the target's OpenAPI document), and say what to grant. Exit status 1 if a scope is
    missing, 3 if the target publishes nothing to check against."""
    with command_service(db) as (ctx, settings):
        saved = data_actions.get_action(ctx, action_id)
        verdict = own_loop_guard(ctx, secret_sealer(settings)).verdict(saved.action)
    if as_json:
        typer.echo(json.dumps({"action_id": action_id, **verdict.as_json()}, indent=2))
    else:
        typer.echo(_verdict_text(saved.action.name, verdict))
    if verdict.refused:
        raise typer.Exit(code=1)
    if not verdict.checked:
        raise typer.Exit(code=3)


def _verdict_text(name: str, verdict: ScopeVerdict) -> str:
    lines = [f"action:   {name}"]
    if verdict.route:
        lines.append(f"route:    {verdict.route}  ({verdict.document_url})")
        lines.append(f"requires: {' '.join(sorted(verdict.required)) or '(no scope)'}")
    if verdict.held is not None:
        lines.append(f"granted:  {' '.join(sorted(verdict.held)) or '(none)'}")
    if verdict.refused:
        lines.append(f"MISSING:  {' '.join(sorted(verdict.missing))}: {verdict.note}")
        lines.append(f"fix:      {verdict.advice}")
    elif verdict.checked:
        lines.append("verdict:  the credential holds every scope the route requires")
    else:
        lines.append(f"verdict:  not checked: {verdict.note}")
    return "\n".join(lines)


def api_operations(document: dict[str, Any]) -> list[Operation]:
    """(method, path, scope) of every route that takes a bearer token, from the OpenAPI."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for requirement in operation.get("security", []):
                for scope in requirement.get("oauth2", []):
                    found.append(Operation(method.upper(), path, scope))
    return found


def _as_json(report: TokenReport) -> dict[str, Any]:
    return {
        "claims": report.claims,
        "accepted": report.refused_because is None,
        "refused_because": report.refused_because,
        "scopes": sorted(report.scopes),
        "missing_scopes": list(report.missing_scopes),
        "allowed": [_operation(o) for o in report.allowed],
        "denied": [_operation(o) for o in report.denied],
    }


def _operation(operation: Operation) -> dict[str, str]:
    return {"method": operation.method, "path": operation.path, "scope": operation.scope}


def _as_text(report: TokenReport) -> str:
    claims = report.claims
    lines = [
        f"client:   {claims.get('client_id', '?')}",
        f"scopes:   {' '.join(sorted(report.scopes)) or '(none)'}",
        f"issued:   {_when(claims.get('iat'))}",
        f"expires:  {_when(claims.get('exp'))}",
        f"issuer:   {claims.get('iss', '?')}",
    ]
    if report.refused_because is None:
        lines.append("accepted: yes")
    else:
        lines.append(f"accepted: NO: {report.refused_because} (every call answers 401)")
    lines.append("")
    lines.append(f"may call ({len(report.allowed)}):")
    lines += [f"  {o.method:6} {o.path}" for o in report.allowed] or ["  (nothing)"]
    lines.append(f"may not call ({len(report.denied)}):")
    lines += [f"  {o.method:6} {o.path}  needs {o.scope}" for o in report.denied] or ["  (nothing)"]
    if report.missing_scopes:
        lines.append("")
        lines.append(f"to call them all, grant: {' '.join(report.missing_scopes)}")
        lines.append(
            f"  adhere clients set-scopes {claims.get('client_id', 'CLIENT')} --scopes "
            f'"{" ".join(sorted(report.scopes | set(report.missing_scopes)))}"'
        )
    return "\n".join(lines)


def _when(seconds: object) -> str:
    if not isinstance(seconds, (int, float)):
        return "?"
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")

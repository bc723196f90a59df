"""`adhere credentials …` and `adhere actions …`: data actions and their credentials, from a shell.

Each command works on the database directly, sealing and opening secrets with the same key as
the server (``ADHERE_SECRET_KEY`` or ``secret_key_file``). Secrets are read from a hidden
prompt or, with ``--secret-stdin``, from standard input: never from an argument, which would
stay in the shell's history. ``execute`` and ``test`` run the action from this process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Column, Table

from adhere.adapters.sealing import Sealer
from adhere.bootstrap import secret_sealer
from adhere.domain.action_credentials import Credential, CredentialKind
from adhere.domain.action_executions import ActionExecution, StepStatus
from adhere.entrypoints.cli_options import (
    DatabaseOption,
    command_service,
    fail,
    parse_json,
    read_json,
)
from adhere.service import data_actions
from adhere.service.action_runner import ActionRunner, run_in_own_loop
from adhere.service.action_scopes import own_loop_guard
from adhere.service.context import ServiceContext
from adhere.service.data_actions import CredentialInUse

T = TypeVar("T")

credentials_app = typer.Typer(
    help="Manage the credentials data actions authenticate with.", no_args_is_help=True
)
actions_app = typer.Typer(
    help="Import, run, test and inspect data actions (Genesys Cloud export JSON).",
    no_args_is_help=True,
)

_CredentialId = Annotated[str, typer.Argument(help="The credential id (cr_…).", show_default=False)]
_ActionId = Annotated[str, typer.Argument(help="The action id (act_…).", show_default=False)]
_Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
_Input = Annotated[
    str,
    typer.Option(
        "--input", help="The action's input: a JSON object, or - to read it from standard input."
    ),
]


# ---- credentials -----------------------------------------------------------------------------


@credentials_app.command("create")
def create_credential(
    name: Annotated[str, typer.Option("--name", help="What the credential is for.")],
    kind: Annotated[
        CredentialKind,
        typer.Option("--kind", help="basic, user_defined or oauth_client_credentials."),
    ],
    username: Annotated[str | None, typer.Option(help="basic: the username.")] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            help="user_defined: a field name (repeat for each); its value is prompted for.",
        ),
    ] = None,
    token_url: Annotated[
        str | None, typer.Option(help="oauth_client_credentials: the token endpoint.")
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="oauth_client_credentials.")] = None,
    scopes: Annotated[
        str | None, typer.Option(help="oauth_client_credentials: space-separated scopes.")
    ] = None,
    audience: Annotated[str | None, typer.Option(help="oauth_client_credentials.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", help="oauth_client_credentials: KEY=VALUE for the token request (repeat)."
        ),
    ] = None,
    auth_method: Annotated[
        str | None,
        typer.Option(help="oauth_client_credentials: basic (default) or post."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Where relative action URLs (/api/v2/…) go.")
    ] = None,
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin",
            help="Read the secret from standard input instead of a prompt: the password or "
            'client secret, or for user_defined a JSON object {"field": "value", …}.',
        ),
    ] = False,
    as_json: _Json = False,
    db: DatabaseOption = None,
) -> None:
    """Store a credential; its secret is sealed and will not be shown again."""
    document: dict[str, Any] = {"name": name, "kind": kind.value, "base_url": base_url}
    if kind is CredentialKind.BASIC:
        document["username"] = username
        document["password"] = _secret("password", secret_stdin)
    elif kind is CredentialKind.USER_DEFINED:
        document["fields"] = _fields(field or [], secret_stdin)
    else:
        document.update(
            token_url=token_url,
            client_id=client_id,
            scopes=scopes,
            audience=audience,
            extra_params=_params(param or []),
            auth_method=auth_method,
            client_secret=_secret("client secret", secret_stdin),
        )
    with _service(db) as (ctx, sealer):
        credential = data_actions.create_credential(ctx, sealer, document)
    if as_json:
        _print_json(data_actions.credential_view(credential))
        return
    typer.echo(f"credential id: {credential.id}")
    typer.echo(f"kind:          {credential.kind.value}")
    typer.echo(f"details:       {' '.join(_details(credential))}")


@credentials_app.command("list")
def list_credentials(as_json: _Json = False, db: DatabaseOption = None) -> None:
    """The credentials, with what is not secret."""
    with _service(db) as (ctx, _):
        found = data_actions.list_credentials(ctx)
    if as_json:
        _print_json({"items": [data_actions.credential_view(c) for c in found]})
        return
    table = Table(
        Column("id", no_wrap=True),  # copied into other commands: never broken
        Column("name", overflow="fold", min_width=8),
        Column("kind", overflow="fold", min_width=10),
        Column("details", overflow="fold", min_width=16),  # one a line
    )
    for credential in found:
        table.add_row(
            credential.id, credential.name, credential.kind.value, "\n".join(_details(credential))
        )
    _print_table(table, found, "(no credentials)")


@credentials_app.command("delete")
def delete_credential(credential_id: _CredentialId, db: DatabaseOption = None) -> None:
    """Delete a credential no action uses."""
    with _service(db) as (ctx, _):
        data_actions.delete_credential(ctx, credential_id)
    typer.echo(f"deleted {credential_id}")


# ---- actions ---------------------------------------------------------------------------------


@actions_app.command("import")
def import_action(
    file: Annotated[
        str, typer.Argument(help="The action's export JSON file, or - for standard input.")
    ],
    as_json: _Json = False,
    db: DatabaseOption = None,
) -> None:
    """Import an action exported from Genesys Cloud (or by `adhere actions export`)."""
    document = read_json(file, file)
    with _service(db) as (ctx, sealer):
        saved = data_actions.save_action(
            ctx, document, verify=own_loop_guard(ctx, sealer).check_action
        )
    if as_json:
        _print_json(data_actions.exported(saved))
        return
    typer.echo(f"action id: {saved.id}")
    typer.echo(f"name:      {saved.action.name}")


@actions_app.command("list")
def list_actions(as_json: _Json = False, db: DatabaseOption = None) -> None:
    """The actions."""
    with _service(db) as (ctx, _):
        found = data_actions.list_actions(ctx)
    if as_json:
        _print_json({"items": [data_actions.summary_view(saved) for saved in found]})
        return
    table = Table(
        Column("id", no_wrap=True),
        Column("name", overflow="fold"),
        Column("category", overflow="fold"),
        Column("request", overflow="fold"),
        Column("credential", no_wrap=True),
    )
    for saved in found:
        action = saved.action
        table.add_row(
            saved.id,
            action.name,
            saved.category,
            f"{action.method} {action.url_template}",
            action.credential_id or "-",
        )
    _print_table(table, found, "(no actions)")


@actions_app.command("export")
def export_action(action_id: _ActionId, db: DatabaseOption = None) -> None:
    """Print an action's export JSON (which `adhere actions import` reads back)."""
    with _service(db) as (ctx, _):
        saved = data_actions.get_action(ctx, action_id)
    _print_json(data_actions.exported(saved))


@actions_app.command("delete")
def delete_action(action_id: _ActionId, db: DatabaseOption = None) -> None:
    """Delete an action (its executions stay in the log)."""
    with _service(db) as (ctx, _):
        data_actions.delete_action(ctx, action_id)
    typer.echo(f"deleted {action_id}")


@actions_app.command("execute")
def execute_action(
    action_id: _ActionId, given: _Input = "{}", as_json: _Json = False, db: DatabaseOption = None
) -> None:
    """Run an action and log it. Exit status 0 when it succeeded, 1 when it failed."""
    value = read_json(given, "--input") if given == "-" else parse_json(given, "--input")
    with _service(db) as (ctx, sealer):
        data_actions.check_input(ctx, action_id, value)
        execution = _run(ctx, sealer, lambda runner: runner.execute(action_id, value, "cli"))
    if as_json:
        _print_json(data_actions.execution_view(execution))
    else:
        _print_execution(execution)
    if not execution.succeeded:
        raise typer.Exit(code=1)


@actions_app.command("test")
def trace_action(
    action_id: _ActionId, given: _Input = "{}", as_json: _Json = False, db: DatabaseOption = None
) -> None:
    """Run an action without logging it, showing every step. Exit status 1 if a step failed."""
    value = read_json(given, "--input") if given == "-" else parse_json(given, "--input")
    with _service(db) as (ctx, sealer):
        steps = _run(ctx, sealer, lambda runner: runner.test(action_id, value))
    view = data_actions.trace_view(steps)
    if as_json:
        _print_json(view)
    else:
        table = Table(
            Column("step", no_wrap=True),
            Column("status", no_wrap=True),
            Column("result or error", overflow="fold"),
        )
        for step in steps:
            if step.status is StepStatus.FAILED:
                shown = f"{step.field}: {step.error}" if step.field else str(step.error)
            elif step.status is StepStatus.NOT_RUN:
                shown = ""
            else:
                shown = _compact(step.result)
            table.add_row(step.name, step.status.value, shown)
        Console().print(table)
        typer.echo(
            f"output: {_compact(view['output'])}" if view["success"] else f"failed: {view['error']}"
        )
    if not view["success"]:
        raise typer.Exit(code=1)


@actions_app.command("executions")
def list_executions(
    action_id: _ActionId,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: _Json = False,
    db: DatabaseOption = None,
) -> None:
    """An action's latest executions: outcome, attempts, output or error."""
    with _service(db) as (ctx, _):
        found = data_actions.list_executions(ctx, action_id, limit)
    if as_json:
        _print_json({"items": [data_actions.execution_view(e) for e in found]})
        return
    for execution in found:  # a block each: outputs and errors are too long for a table
        view = data_actions.execution_view(execution)
        typer.echo(
            f"{execution.id}  {view['started']}  {execution.source}  "
            f"{execution.outcome.value}  attempts: {_attempts(execution)}"
        )
        if execution.succeeded:
            typer.echo(f"    output: {_compact(execution.output)}")
        else:
            typer.echo(f"    error:  {execution.error}")
    if not found:
        typer.echo("(no executions)")


# ---- helpers ---------------------------------------------------------------------------------


@contextmanager
def _service(db: str | None) -> Iterator[tuple[ServiceContext, Sealer]]:
    """The use cases and the sealing key; a refused input exits with status 2, saying why."""
    with command_service(db) as (ctx, settings):
        try:
            yield ctx, secret_sealer(settings)
        except CredentialInUse as error:
            fail(str(error))


def _run(ctx: ServiceContext, sealer: Sealer, work: Callable[[ActionRunner], Awaitable[T]]) -> T:
    """Run `work` with a runner in an event loop of this process."""
    return run_in_own_loop(ctx.store, sealer, work)


def _secret(what: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.read().rstrip("\r\n")
    value: str = typer.prompt(f"{what.capitalize()}", hide_input=True)
    return value


def _fields(names: list[str], from_stdin: bool) -> dict[str, str]:
    if from_stdin:
        value = parse_json(sys.stdin.read(), "standard input")
        if not isinstance(value, dict):
            fail('standard input must be a JSON object of the fields: {"name": "value", …}')
        return value
    if not names:
        fail("give each field's name with --field NAME (its value is prompted for)")
    return {name: _secret(f"value of {name}", False) for name in names}


def _params(items: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--param {item!r} is not KEY=VALUE")
        found[key] = value
    return found


def _details(credential: Credential) -> list[str]:
    details = credential.details
    parts = [f"base_url={details['base_url']}"] if details.get("base_url") else []
    if credential.kind is CredentialKind.BASIC:
        parts.insert(0, f"username={details['username']}")
    elif credential.kind is CredentialKind.USER_DEFINED:
        parts.insert(0, f"fields={','.join(details['fields'])}")
    else:
        parts[:0] = [
            f"token_url={details['token_url']}",
            f"client_id={details['client_id']}",
            f"scopes={' '.join(details['scopes']) or '(as the client has)'}",
            *([f"audience={details['audience']}"] if details.get("audience") else []),
            f"auth_method={details['auth_method']}",
        ]
    return parts


def _attempts(execution: ActionExecution) -> str:
    shown = (f"{a.status or 'no answer'} ({a.duration_ms:.0f} ms)" for a in execution.attempts)
    return ", ".join(shown) or "-"


def _print_execution(execution: ActionExecution) -> None:
    typer.echo(f"execution id: {execution.id}")
    typer.echo(f"outcome:      {execution.outcome.value}")
    typer.echo(f"attempts:     {_attempts(execution)}")
    if execution.succeeded:
        typer.echo(f"output:       {_compact(execution.output)}")
    else:
        typer.echo(f"error:        {execution.error}")


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _print_table(table: Table, rows: list[Any], empty: str) -> None:
    if rows:
        Console().print(table)
    else:
        typer.echo(empty)

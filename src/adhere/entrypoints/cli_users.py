"""`adhere users …`: the people who log in to the board.

Each command works on the database directly, so it also works while the server runs: the
server reads users and sessions on every request, so a disabled user is logged out at once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from adhere.domain.errors import InvalidInput
from adhere.entrypoints.api.users import render_user
from adhere.entrypoints.cli_options import DatabaseOption, command_service, fail
from adhere.service.users import ROLES, UsernameTaken, UserNotFound, UserRecord, UserService

users_app = typer.Typer(
    help="People who log in to the board: create, list, disable.", no_args_is_help=True
)

_OPTION_OF_FIELD = {  # the service names fields as the API does; say the option instead
    "username": "USERNAME",
    "display_name": "--name",
    "role": "--role",
    "unit_ids": "--unit",
    "team_ids": "--team",
    "agent_id": "--agent",
    "password": "--password-stdin",
}
_PASSWORD_WARNING = "Hand the password over now: it will not be shown again."


@users_app.command("create")
def create_user(
    username: Annotated[str, typer.Argument(help="What they log in with.", show_default=False)],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Their name as shown (default: USERNAME).")
    ] = None,
    unit: Annotated[
        list[str] | None,
        typer.Option("--unit", help="A supervisor sees only these management units' agents."),
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option("--team", help="A supervisor sees only these teams' agents."),
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="An agent user's own agent id (required).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from standard input; else one is generated and shown once.",
        ),
    ] = False,
    db: DatabaseOption = None,
) -> None:
    """Create a user; prints a generated password (once) unless --password-stdin."""
    password = sys.stdin.read().rstrip("\r\n") if password_stdin else None
    with _users(db) as users:
        user, generated = users.create_user(
            username,
            role,
            display_name=name,
            unit_ids=unit or (),
            team_ids=team or (),
            agent_id=agent,
            password=password,
        )
    typer.echo(f"user id:  {user.id}")
    typer.echo(f"username: {user.username}")
    typer.echo(f"role:     {user.role}")
    if generated is not None:
        typer.echo(f"password: {generated}")
        typer.echo(_PASSWORD_WARNING, err=True)


@users_app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: DatabaseOption = None,
) -> None:
    """List the users (never their passwords)."""
    with _users(db) as users:
        found = users.list_users()
    if as_json:
        typer.echo(json.dumps([render_user(user) for user in found], indent=2))
        return
    table = Table(
        Column("id", no_wrap=True),  # copied into other commands: never broken
        Column("username", overflow="fold"),
        Column("name", overflow="fold"),
        Column("role", no_wrap=True),
        Column("sees", overflow="fold"),  # one limit a line
        Column("status", no_wrap=True),
    )
    for user in found:
        table.add_row(
            user.id,
            user.username,
            user.display_name,
            user.role,
            _sees(user),
            "disabled" if user.disabled else "active",
        )
    Console().print(table)


@users_app.command("disable")
def disable_user(
    user: Annotated[str, typer.Argument(help="The username or user id.", show_default=False)],
    db: DatabaseOption = None,
) -> None:
    """Disable a user for good; their browser sessions end at once."""
    with _users(db) as users:
        disabled = users.disable_user(users.find_user(user).id)
    typer.echo(f"{disabled.username} ({disabled.id}) is disabled; their sessions have ended.")


@contextmanager
def _users(db: str | None) -> Iterator[UserService]:
    """The user service on a migrated database; a refused input exits 2, naming the option."""
    with command_service(db) as (ctx, settings):
        try:
            yield UserService(ctx.store, settings)
        except InvalidInput as error:
            option = _OPTION_OF_FIELD.get(error.field or "", error.field or "input")
            fail(f"invalid {option}: {error.message}")
        except (UsernameTaken, UserNotFound) as error:
            fail(str(error))


def _sees(user: UserRecord) -> str:
    """Whose data the user sees, one limit a line."""
    if user.role == "agent":
        return f"agent {user.agent_id}"
    limits = [f"unit {unit}" for unit in user.unit_ids] + [f"team {team}" for team in user.team_ids]
    return "\n".join(limits) or "everyone"

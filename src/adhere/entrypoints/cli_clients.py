"""`adhere clients …` and `adhere keys …`: manage OAuth clients and token signing keys.

Each command works on the database directly (migrating it first), so it also works while the
server runs: the server reads client state and revocations on every request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Column, Table
from sqlalchemy.exc import SQLAlchemyError

from adhere.adapters.database import connect, upgrade
from adhere.config import load_settings
from adhere.domain.errors import InvalidInput
from adhere.entrypoints.cli_options import DatabaseOption, fail
from adhere.service.auth import KNOWN_SCOPES, AuthService, ClientNotFound, ClientRevoked

clients_app = typer.Typer(help="Manage OAuth clients (client credentials).", no_args_is_help=True)
keys_app = typer.Typer(help="Manage the keys that sign access tokens.", no_args_is_help=True)

_Scopes = Annotated[
    str,
    typer.Option(
        "--scopes",
        help=f"Space-separated scopes, from: {' '.join(KNOWN_SCOPES)}.",
        show_default=False,
    ),
]
_ClientId = Annotated[str, typer.Argument(help="The client id (cl_…).", show_default=False)]
_SECRET_WARNING = "Store the secret now: it will not be shown again."
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@clients_app.command("create")
def create_client(
    name: Annotated[str, typer.Option("--name", help="What the client is for.")],
    scopes: _Scopes,
    db: DatabaseOption = None,
) -> None:
    """Create a client; prints its id and secret (once)."""
    with _auth(db) as auth:
        client, secret = auth.create_client(name, _scope_list(scopes))
    typer.echo(f"client id:     {client.id}")
    typer.echo(f"client secret: {secret}")
    typer.echo(f"scopes:        {' '.join(client.scopes) or '(none)'}")
    typer.echo(_SECRET_WARNING, err=True)


@clients_app.command("list")
def list_clients(db: DatabaseOption = None) -> None:
    """List the clients (never their secrets)."""
    with _auth(db) as auth:
        clients = auth.list_clients()
    table = Table(
        Column("id", no_wrap=True),  # copied into other commands: never broken
        Column("name", overflow="fold", min_width=8),
        Column("scopes", overflow="fold"),  # one a line
        Column("status", min_width=7),
        Column("created (UTC)", no_wrap=True),
    )
    for client in clients:
        table.add_row(
            client.id,
            client.name,
            "\n".join(client.scopes),
            "revoked" if client.revoked else "active",
            _when(client.created_us),
        )
    Console().print(table)


@clients_app.command("set-scopes")
def set_scopes(client_id: _ClientId, scopes: _Scopes, db: DatabaseOption = None) -> None:
    """Replace a client's scopes; its tokens issued before stop working."""
    with _auth(db) as auth:
        client = auth.set_scopes(client_id, _scope_list(scopes))
    typer.echo(f"{client.id} now has scopes: {' '.join(client.scopes) or '(none)'}")
    typer.echo("Tokens issued before this change no longer work.")


@clients_app.command("rotate-secret")
def rotate_secret(client_id: _ClientId, db: DatabaseOption = None) -> None:
    """Give a client a new secret; the old secret and its tokens stop working."""
    with _auth(db) as auth:
        secret = auth.rotate_secret(client_id)
    typer.echo(f"client id:     {client_id}")
    typer.echo(f"client secret: {secret}")
    typer.echo(_SECRET_WARNING, err=True)


@clients_app.command("revoke")
def revoke_client(client_id: _ClientId, db: DatabaseOption = None) -> None:
    """Revoke a client for good, and every token it holds."""
    with _auth(db) as auth:
        client = auth.revoke_client(client_id)
    typer.echo(f"{client.id} is revoked; its tokens no longer work.")


@keys_app.command("rotate")
def rotate_key(db: DatabaseOption = None) -> None:
    """Sign new tokens with a new key; tokens signed with the old one work until they expire."""
    with _auth(db) as auth:
        kid = auth.rotate_signing_key()
    typer.echo(f"new signing key: {kid}")


@contextmanager
def _auth(database_url: str | None) -> Iterator[AuthService]:
    """The auth service on a migrated database; any expected failure becomes exit code 2."""
    try:
        settings = load_settings(database_url=database_url)
        engine = connect(settings.database_url)
    except (InvalidInput, ValidationError) as error:
        fail(str(error))
    try:
        upgrade(engine)
        yield AuthService(engine, settings)
    except (ClientNotFound, ClientRevoked) as error:
        fail(str(error.args[0]))
    except InvalidInput as error:
        fail(f"invalid {error.field or 'input'}: {error.message}")
    except SQLAlchemyError as error:
        fail(f"database error: {error.__class__.__name__}: {error.args[0] if error.args else ''}")
    finally:
        engine.dispose()


def _scope_list(text: str) -> list[str]:
    """Scopes as typed: separated by spaces or commas."""
    return [scope for scope in re.split(r"[\s,]+", text) if scope]


def _when(microseconds: int) -> str:
    return (_EPOCH + timedelta(microseconds=microseconds)).strftime("%Y-%m-%d %H:%M")

"""What every `adhere` command shares: the database option and how a command fails."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from adhere.adapters.sealing import SecretKeyError
from adhere.bootstrap import command_context
from adhere.config import Settings, load_settings
from adhere.domain.errors import InvalidInput
from adhere.service.context import ServiceContext
from adhere.service.organisation import NotFound

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL. Default: ADHERE_DATABASE_URL, adhere.toml, or sqlite:///./adhere.db.",
        show_default=False,
    ),
]


def fail(message: str) -> NoReturn:
    """Report on standard error and exit with status 2: the command's input was refused."""
    typer.echo(f"adhere: {message}", err=True)
    raise typer.Exit(code=2)


def read_json(source: str, what: str | None = None) -> Any:
    """The JSON document in a file, or on standard input for ``-``; else exit 2, saying why."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        fail(f"cannot read {source}: {error.strerror or error}")
    return parse_json(text, "standard input" if source == "-" else what or source)


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"{what} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}")
    except ValueError as error:  # e.g. an integer too long to convert
        fail(f"{what} is not valid JSON: {error}")


@contextmanager
def command_service(db: str | None) -> Iterator[tuple[ServiceContext, Settings]]:
    """The use cases on a migrated database, and the settings; a refused input or a missing
    resource exits with status 2, saying which."""
    try:
        settings = load_settings(database_url=db)
    except (InvalidInput, ValidationError) as error:
        fail(str(error))
    ctx = command_context(settings.database_url)
    try:
        yield ctx, settings
    except InvalidInput as error:
        fail(f"invalid {error.field or 'input'}: {error.message}")
    except (NotFound, SecretKeyError) as error:
        fail(str(error))
    finally:
        ctx.store.engine.dispose()

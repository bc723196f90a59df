"""What every `adhere` command shares: the database option and how a command fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

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
    except NotFound as error:
        fail(str(error))
    finally:
        ctx.store.engine.dispose()

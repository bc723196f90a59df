"""What every `adhere` command shares: the database option and how a command fails."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

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

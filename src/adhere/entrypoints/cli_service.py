"""`adhere serve`, `adhere db upgrade`, `adhere import scenario|schedules`."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adhere.adapters.database import connect, upgrade
from adhere.adapters.scenario_format import parse_scenario
from adhere.adapters.schedule_files import parse_csv_schedules, parse_json_schedules
from adhere.bootstrap import build, command_context
from adhere.config import Settings, load_settings
from adhere.domain.errors import InvalidInput
from adhere.entrypoints.api.app import create_app
from adhere.entrypoints.cli_options import DatabaseOption, fail
from adhere.service.scenario_import import import_scenario
from adhere.service.schedules import replace_schedules

db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)
import_app = typer.Typer(help="Import data into the database.", no_args_is_help=True)

_Config = Annotated[
    Path | None,
    typer.Option("--config", help="A TOML settings file (default: ./adhere.toml if present)."),
]


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    db: DatabaseOption = None,
    config: _Config = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the adherence service (API and OAuth server); migrates the database first."""
    settings = _settings(config, database_url=db, host=host, port=port)
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        container = build(settings)
    except InvalidInput as error:
        fail(str(error))
    if not container.auth.list_clients():
        typer.echo(
            "No OAuth client exists yet. Create the first admin client with:\n"
            f"  adhere clients create --name admin --scopes admin --db {settings.database_url}\n"
            "then give other clients only the scopes they need "
            "(e.g. --scopes 'events:write adherence:read').",
            err=True,
        )
    typer.echo(f"Adhere listening on http://{settings.host}:{settings.port}", err=True)
    uvicorn.run(
        create_app(container),
        host=settings.host,
        port=settings.port,
        log_level=log_level.lower(),
        timeout_graceful_shutdown=5,
    )


@db_app.command("upgrade")
def db_upgrade(db: DatabaseOption = None, config: _Config = None) -> None:
    """Apply every database migration not yet applied."""
    settings = _settings(config, database_url=db)
    try:
        upgrade(connect(settings.database_url))
    except InvalidInput as error:
        fail(str(error))
    typer.echo(f"database at {settings.database_url} is up to date")


@import_app.command("scenario")
def import_scenario_command(
    file: Annotated[Path, typer.Argument(help="An adhere-scenario/1 JSON file.")],
    db: DatabaseOption = None,
    config: _Config = None,
) -> None:
    """Load a scenario's unit, codes, teams, agents, schedules, explanations and events.

    This imports history: the lateness and future limits on events do not apply, and the
    scenario's window is ignored. A running server picks the data up within a second.
    """
    scenario = _parsed(file, parse_scenario)
    ctx = command_context(_settings(config, database_url=db).database_url)
    with _progress() as progress:
        task = progress.add_task("events", total=len(scenario.events))
        try:
            summary = import_scenario(
                ctx, scenario, progress=lambda n: progress.update(task, completed=n)
            )
        except InvalidInput as error:
            fail(f"{file}: {error}")
    typer.echo(
        f"imported {summary.agents} agents, {summary.activities} activities, "
        f"{summary.explanations} explanations, {summary.events_accepted} events "
        f"({summary.events_duplicate} already stored)"
    )


@import_app.command("schedules")
def import_schedules_command(
    file: Annotated[
        Path, typer.Argument(help='JSON ({"schedules": [...]}) or CSV (by the .csv suffix).')
    ],
    db: DatabaseOption = None,
    config: _Config = None,
) -> None:
    """Replace agents' schedules from a file, all or nothing.

    CSV: a header row, then ``agent_id,start,end,activity_code_id`` (or ``length_minutes``
    instead of ``end``); each agent's schedule is replaced from its earliest start to its
    latest end. JSON: ``{"schedules": [{agent_id, start, end, activities: [...]}]}``.
    """
    if file.suffix.lower() == ".csv":
        replacements = _read(file, parse_csv_schedules)
    else:
        replacements = _parsed(file, parse_json_schedules)
    ctx = command_context(_settings(config, database_url=db).database_url)
    with _progress() as progress:
        task = progress.add_task("schedules", total=len(replacements))
        try:
            activities = replace_schedules(
                ctx, replacements, progress=lambda n: progress.update(task, completed=n)
            )
        except InvalidInput as error:
            fail(f"{file}: {error} (nothing was imported)")
    typer.echo(f"replaced {len(replacements)} schedules with {activities} activities")


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        fail(f"invalid setting {field}: {first['msg']}")
    except (OSError, ValueError) as error:
        fail(f"cannot read settings: {error}")


def _read(file: Path, parse: Any) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {file}: {error}")
    try:
        return parse(text)
    except InvalidInput as error:
        fail(f"{file}: {error}")


def _parsed(file: Path, parse: Any) -> Any:
    def from_text(text: str) -> Any:
        try:
            document = json.loads(text)
        except ValueError as error:
            raise InvalidInput(f"not valid JSON: {error}") from None
        return parse(document)

    return _read(file, from_text)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    )

"""`adhere report`: adherence and conformance per agent, team and day, without a server."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from adhere.adapters.report_chart import write_png
from adhere.adapters.report_format import render_report, report_csv
from adhere.domain.categories import AdherenceState
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MICROS_PER_SECOND
from adhere.domain.metrics import Metrics
from adhere.domain.reports import DateRange, Report, parse_date
from adhere.entrypoints.cli_options import DatabaseOption, command_service, fail
from adhere.service.context import ServiceContext
from adhere.service.live import LiveAdherence
from adhere.service.organisation import NotFound
from adhere.service.replay import rebuild
from adhere.service.reports import ReportRequest, adherence_report


class ReportFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    PNG = "png"


_OPTIONS = {
    "from": "--from",
    "to": "--to",
    "management_unit_id": "--mu",
    "team_id": "--team",
    "target_percent": "--target",
}


def report(
    first: Annotated[
        str, typer.Option("--from", help="First local date, YYYY-MM-DD.", show_default=False)
    ],
    last: Annotated[
        str, typer.Option("--to", help="Last local date (included).", show_default=False)
    ],
    mu: Annotated[str | None, typer.Option("--mu", help="A management unit's id.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="A team's id.")] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="table, csv, json, or png (needs --out).")
    ] = ReportFormat.TABLE,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write to this file instead of standard output."),
    ] = None,
    target: Annotated[
        float | None,
        typer.Option("--target", help="Target %. Default: the unit's setting.", show_default=False),
    ] = None,
    db: DatabaseOption = None,
) -> None:
    """Adherence and conformance per agent, team and local day, for up to 92 days of one
    management unit (--mu) or team (--team): the numbers the historical API gives."""
    if output_format is ReportFormat.PNG and out is None:
        fail("--format png writes an image: give --out FILE.png")
    try:
        request = ReportRequest(
            DateRange(parse_date(first, "from"), parse_date(last, "to")),
            management_unit_id=mu,
            team_id=team,
            target_percent=target,
        )
    except InvalidInput as error:
        _refused(error)
    with command_service(db) as (ctx, _), _progress() as bar:
        reading = bar.add_task("Reading stored events", total=None)
        live_ctx = _with_live_engine(ctx)
        bar.remove_task(reading)
        evaluating = bar.add_task("Evaluating", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(evaluating, completed=done, total=total)

        try:
            found = adherence_report(live_ctx, request, progress=tick)
        except InvalidInput as error:
            _refused(error)
        except NotFound as error:
            fail(f"{'--team' if team is not None else '--mu'}: {error}")
    if out is None:
        _write(found, output_format, sys.stdout)
    elif output_format is ReportFormat.PNG:
        try:
            write_png(found, out)
        except OSError as error:
            _unwritable(out, error)
        typer.echo(f"wrote {out}", err=True)
    else:
        with _opened(out) as file:
            _write(found, output_format, file)


def _refused(error: InvalidInput) -> NoReturn:
    option = _OPTIONS.get(error.field or "", error.field or "input")
    fail(f"{option}: {error.message}")


@contextmanager
def _progress() -> Iterator[Progress]:
    """A progress bar on standard error, shown on a terminal only, gone when done."""
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        yield bar


def _with_live_engine(ctx: ServiceContext) -> ServiceContext:
    """The context with a live engine rebuilt from the store, as a starting server builds it:
    reports are computed from the engine's copy of each agent's inputs."""
    live = LiveAdherence()
    with live.lock:
        rebuild(live, ctx.store, ctx.clock())
    return replace(ctx, live=live)


@contextmanager
def _opened(path: Path) -> Iterator[TextIO]:
    try:
        file = path.open("w", encoding="utf-8", newline="")
    except OSError as error:
        _unwritable(path, error)
    with file:
        yield file


def _unwritable(path: Path, error: OSError) -> NoReturn:
    fail(f"--out: cannot write {path}: {error.strerror or error}")


def _write(found: Report, output_format: ReportFormat, file: TextIO) -> None:
    if output_format is ReportFormat.JSON:
        file.write(json.dumps(render_report(found), indent=2) + "\n")
    elif output_format is ReportFormat.CSV:
        file.write(report_csv(render_report(found)))
    else:
        _print_tables(found, Console(file=file))


def _print_tables(found: Report, console: Console) -> None:
    if not console.is_terminal:
        console.width = max(console.width, 120)
    subject = found.unit.name + ("" if found.team is None else f" / {found.team.name}")
    console.print(
        f"[bold]{escape(subject)}[/bold]  {found.dates.first.isoformat()} to "
        f"{found.dates.last.isoformat()} ({found.unit.time_zone})  "
        f"target {found.target_percent:g} %"
    )
    agents = _table("Agents", "Agent", "Team")
    for row in found.agents:
        agents.add_row(
            escape(row.agent.name),
            escape(found.team_name(row.agent.team_id) or "-"),
            *_cells(found, row.metrics),
            str(row.exception_count),
        )
    agents.add_section()
    agents.add_row("All agents", "", *_cells(found, found.totals), str(found.exception_count))
    console.print(agents)
    teams = _table("Teams by day", "Date", "Team")
    for team_day in found.team_days:
        teams.add_row(
            team_day.day.date.isoformat(),
            escape(found.team_name(team_day.team_id) or "(no team)"),
            *_cells(found, team_day.metrics),
            str(team_day.exception_count),
        )
    console.print(teams)
    days = _table("Days", "Date", "Agents")
    for day in found.day_totals:
        days.add_row(
            day.day.date.isoformat(),
            str(day.agents),
            *_cells(found, day.metrics),
            str(day.exception_count),
        )
    console.print(days)


def _table(title: str, *first: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in first:
        table.add_column(name)
    for name in ("Adherence", "Conformance", "Scheduled", "Out of adherence", "Exceptions"):
        table.add_column(name, justify="right")
    return table


def _cells(found: Report, metrics: Metrics) -> tuple[str, str, str, str]:
    """Adherence (red below the target), conformance, scheduled and out-of-adherence time."""
    adherence = metrics.adherence_percent
    shown = _percent(adherence)
    if adherence is not None and adherence < found.target_percent:
        shown = f"[red]{shown}[/red]"
    out = metrics.state[AdherenceState.OUT_OF_ADHERENCE]
    return (
        shown,
        _percent(metrics.conformance_percent),
        _clock(metrics.adherence_schedule),
        _clock(out),
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


def _clock(micros: int) -> str:
    """Whole seconds as h:mm:ss."""
    hours, rest = divmod(round(micros / MICROS_PER_SECOND), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"

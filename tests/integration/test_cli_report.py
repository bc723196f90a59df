"""`adhere report` on a real database: table, CSV, JSON and PNG, with `adhere evaluate`'s
numbers, and refusals that name the option."""

from __future__ import annotations

import csv
import io
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adhere.adapters.report_format import CSV_COLUMNS
from adhere.adapters.scenario_format import parse_scenario
from adhere.bootstrap import command_context
from adhere.entrypoints.cli import app as cli
from adhere.service.evaluation import evaluate_document
from adhere.service.scenario_import import import_scenario
from tests.integration.report_center import UNIT, center

MARCH = ("--from", "2026-03-07", "--to", "2026-03-09")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def db(database_url: str) -> str:
    ctx = command_context(database_url)
    try:
        import_scenario(ctx, parse_scenario(center()))
    finally:
        ctx.store.engine.dispose()
    return database_url


def adhere(db: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["report", *args, "--db", db], env=env)


def test_json_has_adhere_evaluates_numbers(db: str) -> None:
    result = adhere(db, "--mu", UNIT, *MARCH, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    scenario = center()
    scenario["window"] = {"start": report["days"][0]["start"], "end": report["days"][-1]["end"]}
    expected = evaluate_document(scenario)
    by_agent = {agent["agent_id"]: agent for agent in expected["agents"]}
    for row in report["agent_days"]:
        (day,) = [d for d in by_agent[row["agent_id"]]["days"] if d["date"] == row["date"]]
        assert row["metrics"] == day["metrics"]
    assert report["totals"]["metrics"] == expected["totals"]["metrics"]


def test_table_shows_agents_teams_and_days(db: str) -> None:
    result = adhere(db, "--team", "t-blue", *MARCH, "--target", "95")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("New York / Blue", "target 95 %", "Agents", "Teams by day", "Days", "Ana", "Ben"):
        assert text in out
    assert "Cy" not in out
    # ana: 8 h scheduled a day, 15 minutes out of adherence: 96.9 %, 24 h and 45 min over 3 days.
    (ana,) = [line for line in out.splitlines() if "Ana" in line]
    assert "96.9 %" in ana
    assert "24:00:00" in ana
    assert "0:45:00" in ana


def test_csv_to_stdout_and_json_to_a_file(db: str, tmp_path: Path) -> None:
    result = adhere(db, "--mu", UNIT, *MARCH, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + 3 * 4
    out = tmp_path / "report.json"
    written = adhere(db, "--mu", UNIT, *MARCH, "--format", "json", "--out", str(out))
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    report = json.loads(out.read_text())
    lines = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [float(line["exception_seconds"]) for line in lines] == [
        row["metrics"]["exception_seconds"] for row in report["agent_days"]
    ]


def test_png_is_a_chart_image(db: str, tmp_path: Path) -> None:
    out = tmp_path / "report.png"
    result = adhere(db, "--mu", UNIT, *MARCH, "--format", "png", "--out", str(out))
    assert result.exit_code == 0, result.output
    image = out.read_bytes()
    assert image.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", image[16:24])  # the IHDR chunk
    assert (width, height) == (1000, 750)
    assert 20_000 < len(image) < 2_000_000


def test_a_long_range_with_a_progress_bar(db: str) -> None:
    """On a terminal (forced here) the progress bar runs on standard error."""
    result = adhere(
        db,
        "--mu",
        UNIT,
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-09",
        "--format",
        "csv",
        env={"FORCE_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 + 68 * 4
    assert "Evaluating" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--mu", UNIT, *MARCH, "--format", "png"), "--out"),
        (("--mu", UNIT, "--from", "2026-3-7", "--to", "2026-03-09"), "--from: expected a date"),
        (("--mu", UNIT, "--from", "2026-03-09", "--to", "2026-03-07"), "--to: must not be before"),
        (("--mu", UNIT, "--from", "2025-11-30", "--to", "2026-03-02"), "--to: the range may"),
        (("--mu", UNIT, "--team", "t-blue", *MARCH), "--team: give exactly one"),
        (MARCH, "--mu: give exactly one"),
        (("--mu", UNIT, *MARCH, "--target", "120"), "--target: must be a number from 0 to 100"),
        (("--mu", "ghost", *MARCH), "--mu: no management unit 'ghost'"),
        (("--team", "ghost", *MARCH), "--team: no team 'ghost'"),
        (("--mu", UNIT, *MARCH, "--format", "xlsx"), "--format"),
    ],
)
def test_bad_input_names_the_option(db: str, args: tuple[str, ...], message: str) -> None:
    result = adhere(db, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_date_after_today_is_refused(db: str) -> None:
    result = adhere(db, "--mu", UNIT, "--from", "2026-03-01", "--to", "2026-05-01")
    assert result.exit_code == 0, result.stderr
    future = adhere(db, "--mu", UNIT, "--from", "2099-01-01", "--to", "2099-01-02")
    assert future.exit_code == 2
    assert "--to: must not be after today" in future.stderr


def test_names_are_printed_as_they_are(db: str) -> None:
    ctx = command_context(db)
    try:
        import_scenario(ctx, parse_scenario(center({"ana": "[bold]Ana[/bold]", "ben": "[/x]"})))
    finally:
        ctx.store.engine.dispose()
    result = adhere(db, "--team", "t-blue", *MARCH)
    assert result.exit_code == 0, result.output
    assert "[bold]Ana[/bold]" in result.stdout
    assert "[/x]" in result.stdout


def test_an_unwritable_out_file_is_refused(db: str, tmp_path: Path) -> None:
    for output_format, name in (("png", "x.png"), ("csv", "x.csv")):
        out = tmp_path / "missing" / name
        result = adhere(db, "--mu", UNIT, *MARCH, "--format", output_format, "--out", str(out))
        assert result.exit_code == 2
        assert f"--out: cannot write {out}" in result.stderr

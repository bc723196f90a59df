"""Operating the service: migrations, jobs, settings changes, and writes from the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from typer.testing import CliRunner

from adhere.adapters import schema
from adhere.entrypoints.cli import app as cli
from tests.integration.conftest import Api, Caller, iso, minutes, now, setup_unit

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_migrations_create_exactly_the_tables_the_code_uses(api: Api) -> None:
    with api.container.database.connect() as connection:
        dialect = connection.dialect.name

        def applies(_object: object, name: str | None, *_: object) -> bool:
            return dialect == "postgresql" or name not in schema.POSTGRESQL_ONLY

        context = MigrationContext.configure(connection, opts={"include_object": applies})
        differences = compare_metadata(context, schema.metadata)
    assert differences == []


def test_a_large_historical_query_runs_as_a_job(api: Api, admin: Caller) -> None:
    document = json.loads((EXAMPLES / "normal-day.json").read_text())
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "import",
            "scenario",
            str(EXAMPLES / "normal-day.json"),
            "--db",
            api.container.settings.database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    query = {
        "management_unit_id": document["management_unit"]["id"],
        "start": document["window"]["start"],
        "end": document["window"]["end"],
        "include_exceptions": True,
    }
    _wait_for_agents(admin, document["management_unit"]["id"], len(document["agents"]))
    direct = admin.post("/api/v1/adherence/historical", json=query)
    assert direct.status_code == 200
    api.container.settings.historical_job_threshold_events = 0
    queued = admin.post("/api/v1/adherence/historical", json=query)
    assert queued.status_code == 202
    job_url = queued.headers["location"]
    assert queued.json()["status"] in {"running", "succeeded"}
    deadline = time.monotonic() + 10
    while (job := admin.get(job_url).json())["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job["status"] == "succeeded"
    assert job["result"] == direct.json()
    assert admin.get("/api/v1/jobs/nope").status_code == 404
    # Another client (with the same scope) is not told the job exists.
    other = api.client.get(job_url, headers=api.headers("adherence:read"))
    assert other.status_code == 404, other.text


def test_new_settings_re_evaluate_history(admin: Caller) -> None:
    setup_unit(admin)
    start = now() - minutes(60)
    body = {
        "start": iso(start),
        "end": iso(start + minutes(60)),
        "activities": [{"start": iso(start), "length_minutes": 60, "activity_code_id": "oq"}],
    }
    admin.put("/api/v1/agents/lee/schedule", json=body)
    login = {
        "id": "1",
        "agent_id": "lee",
        "time": iso(start + minutes(1.5)),
        "kind": "login",
        "system_presence": "OnQueue",
    }
    admin.post("/api/v1/events", json=login)
    query = {
        "agent_ids": ["lee"],
        "start": iso(start),
        "end": iso(start + minutes(30)),
        "include_exceptions": True,
    }
    assert (
        len(
            admin.post("/api/v1/adherence/historical", json=query).json()["agents"][0]["exceptions"]
        )
        == 1
    )
    unit = {
        "time_zone": "America/New_York",
        "settings": {"adherence_exception_threshold_seconds": 120},
    }
    assert admin.put("/api/v1/management-units/nyc", json=unit).status_code == 200
    assert (
        admin.post("/api/v1/adherence/historical", json=query).json()["agents"][0]["exceptions"]
        == []
    )


def test_cli_imports_reach_a_running_server(api: Api, admin: Caller, tmp_path: Path) -> None:
    setup_unit(admin)
    start = now().replace(microsecond=0) - minutes(30)
    csv = tmp_path / "schedules.csv"
    csv.write_text(f"agent_id,start,length_minutes,activity_code_id\nlee,{iso(start)},120,oq\n")
    result = CliRunner().invoke(
        cli, ["import", "schedules", str(csv), "--db", api.container.settings.database_url]
    )
    assert result.exit_code == 0, result.output
    assert "replaced 1 schedules with 1 activities" in result.output
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = admin.get("/api/v1/agents/lee/adherence").json()
        if row["scheduled_category"] == "OnQueueWork":
            break
        time.sleep(0.05)
    assert row["scheduled_category"] == "OnQueueWork"
    assert row["adherence_state"] == "OutOfAdherence"


def test_cli_import_errors_exit_2_and_import_nothing(
    api: Api, admin: Caller, tmp_path: Path
) -> None:
    setup_unit(admin)
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "agent_id,start,end,activity_code_id\nlee,2026-06-02T13:00:00Z,2026-06-02T15:00:00Z,oq\nlee,2026-06-02T14:00:00Z,2026-06-02T14:15:00Z,brk\n"
    )
    result = CliRunner().invoke(
        cli, ["import", "schedules", str(csv), "--db", api.container.settings.database_url]
    )
    assert result.exit_code == 2
    assert "overlaps" in result.output
    assert "nothing was imported" in result.output
    assert admin.get("/api/v1/agents/lee/schedule").json()["activities"] == []


def _wait_for_agents(admin: Caller, unit: str, count: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if (
            len(
                admin.get("/api/v1/adherence/realtime", params={"management_unit_id": unit})
                .json()
                .get("items", [])
            )
            == count
        ):
            return
        time.sleep(0.05)
    raise AssertionError("the server did not pick up the import")

"""The `adhere` command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from adhere.domain.errors import InvalidInput
from adhere.entrypoints.cli_actions import actions_app, credentials_app
from adhere.entrypoints.cli_clients import clients_app, keys_app
from adhere.entrypoints.cli_doctor import doctor_app
from adhere.entrypoints.cli_options import fail, read_json
from adhere.entrypoints.cli_report import report
from adhere.entrypoints.cli_rules import rules_app
from adhere.entrypoints.cli_service import db_app, import_app, serve
from adhere.entrypoints.cli_simulate import simulate
from adhere.entrypoints.cli_users import users_app
from adhere.entrypoints.cli_webhooks import webhooks_app
from adhere.service.evaluation import evaluate_document

app = typer.Typer(
    help="Adhere: real-time schedule adherence for contact centers.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Adhere: real-time schedule adherence for contact centers."""


@app.command("evaluate")
def evaluate_command(
    file: Annotated[
        str, typer.Argument(help="An adhere-scenario/1 JSON file, or - for standard input.")
    ],
    indent: Annotated[int | None, typer.Option(help="Indent the output JSON.")] = 2,
) -> None:
    """Compute adherence for a scenario and print the adhere-result/1 document."""
    document = read_json(file, file)
    try:
        result = evaluate_document(document)
    except InvalidInput as error:
        fail(f"invalid scenario: {error}")
    sys.stdout.write(json.dumps(result, indent=indent) + "\n")


app.command("serve")(serve)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
app.add_typer(doctor_app, name="doctor")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(credentials_app, name="credentials")
app.add_typer(actions_app, name="actions")
app.add_typer(rules_app, name="rules")
app.add_typer(users_app, name="users")
app.command("report")(report)
app.command("simulate")(simulate)


def main() -> None:
    app()

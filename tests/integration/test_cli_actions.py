"""`adhere credentials …` and `adhere actions …` on a real database, running actions against
real HTTP stand-ins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from adhere.adapters import schema
from adhere.adapters.database import connect
from adhere.entrypoints.cli import app as cli
from tests.http_server import serving
from tests.integration.action_documents import (
    TEST_KEY,
    fast_retries,
    flaky_action,
    set_presence_action,
)
from tests.stand_ins.flaky import Flaky
from tests.stand_ins.platform import Platform

runner = CliRunner()
KEY = {"ADHERE_SECRET_KEY": TEST_KEY}


def adhere(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(cli, [*args, "--db", database_url], input=stdin, env=KEY)
    return result.exit_code, result.output


def as_json(database_url: str, *args: str, stdin: str | None = None) -> Any:
    status, output = adhere(database_url, *args, "--json", stdin=stdin)
    assert status in {0, 1}, output
    return json.loads(output)


def oauth(database_url: str, base: str, client: str = "writer") -> str:
    created = as_json(
        database_url,
        "credentials",
        "create",
        "--name",
        "platform",
        "--kind",
        "oauth_client_credentials",
        "--token-url",
        f"{base}/oauth/token",
        "--client-id",
        client,
        "--base-url",
        base,
        "--secret-stdin",
        stdin=f"{client}-secret\n",
    )
    credential_id: str = created["id"]
    return credential_id


def import_file(database_url: str, tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / f"action-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(document))
    status, output = adhere(database_url, "actions", "import", str(path))
    assert status == 0, output
    return output.split("action id:")[1].split()[0]


def test_credentials_are_created_listed_and_deleted_without_showing_secrets(
    database_url: str, platform_url: str
) -> None:
    oauth_id = oauth(database_url, platform_url)
    status, output = adhere(
        database_url,
        "credentials",
        "create",
        "--name",
        "basic one",
        "--kind",
        "basic",
        "--username",
        "lee",
        stdin="prompted-pass\n",  # the hidden prompt
    )
    assert status == 0, output
    assert "prompted-pass" not in output
    basic_id = output.split("credential id:")[1].split()[0]
    status, output = adhere(
        database_url,
        "credentials",
        "create",
        "--name",
        "keys",
        "--kind",
        "user_defined",
        "--secret-stdin",
        stdin='{"apiKey": "k-from-stdin"}',
    )
    assert status == 0, output
    listed = as_json(database_url, "credentials", "list")["items"]
    assert [item["id"] for item in listed][:2] == [oauth_id, basic_id]
    assert listed[2]["details"] == {"fields": ["apiKey"]}
    status, table = adhere(database_url, "credentials", "list")
    assert status == 0
    assert basic_id in table
    assert "username=lee" in table
    for text in (table, json.dumps(listed)):
        for secret in ("writer-secret", "prompted-pass", "k-from-stdin"):
            assert secret not in text
    engine = connect(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(schema.action_credentials)).all()
    engine.dispose()
    assert "prompted-pass" not in repr(rows)
    assert adhere(database_url, "credentials", "delete", basic_id) == (0, f"deleted {basic_id}\n")
    status, output = adhere(database_url, "credentials", "delete", basic_id)
    assert (status, f"no credential '{basic_id}'" in output) == (2, True)


def test_bad_credentials_are_refused_naming_the_field(database_url: str) -> None:
    status, output = adhere(
        database_url,
        "credentials",
        "create",
        "--name",
        "x",
        "--kind",
        "oauth_client_credentials",
        "--client-id",
        "c",
        "--secret-stdin",
        stdin="s",
    )
    assert status == 2
    assert "invalid token_url: is required" in output
    status, output = adhere(
        database_url, "credentials", "create", "--name", "x", "--kind", "user_defined"
    )
    assert status == 2
    assert "--field NAME" in output


def test_actions_are_imported_exported_run_tested_and_logged(
    database_url: str, tmp_path: Path, platform: Platform, platform_url: str
) -> None:
    credential_id = oauth(database_url, platform_url)
    action_id = import_file(database_url, tmp_path, set_presence_action(credential_id))
    status, output = adhere(database_url, "actions", "export", action_id)  # JSON always
    assert status == 0, output
    exported = json.loads(output)
    assert exported["id"] == action_id
    assert exported["credentialId"] == credential_id
    again = import_file(database_url, tmp_path, exported)
    assert again != action_id
    status, table = adhere(database_url, "actions", "list")
    assert status == 0
    assert action_id in table
    assert again in table

    status, output = adhere(
        database_url,
        "actions",
        "execute",
        action_id,
        "--input",
        '{"userId": "lee", "presence": "Break"}',
    )
    assert status == 0, output
    assert "outcome:      succeeded" in output
    assert 'output:       {"presence": "Break", "userId": "lee"}' in output
    assert platform.presence == {"lee": "Break"}

    away = '{"userId": "kim", "presence": "Away"}'
    status, output = adhere(database_url, "actions", "test", action_id, "--input", away)
    assert status == 0, output
    for name in ("resolve_input", "render_url", "authenticate", "send", "validate_output"):
        assert name in output
    trace = as_json(
        database_url,
        "actions",
        "test",
        action_id,
        "--input",
        "-",
        stdin='{"userId": "kim", "presence": "Nap"}',
    )
    assert trace["success"] is False
    assert trace["steps"][0]["field"] == "input.presence"

    log = as_json(database_url, "actions", "executions", action_id)["items"]
    assert [(e["source"], e["outcome"]) for e in log] == [("cli", "succeeded")]
    status, table = adhere(database_url, "actions", "executions", action_id)
    assert f"{log[0]['id']}  {log[0]['started']}  cli  succeeded  attempts: 200 (" in table
    assert '    output: {"presence": "Break", "userId": "lee"}' in table

    status, output = adhere(database_url, "credentials", "delete", credential_id)
    assert status == 2
    assert "is used by actions" in output
    assert action_id in output
    assert again in output
    assert adhere(database_url, "actions", "delete", again)[0] == 0
    assert adhere(database_url, "actions", "delete", action_id)[0] == 0
    assert adhere(database_url, "actions", "export", action_id)[0] == 2


def test_a_failed_execution_exits_1_and_bad_input_exits_2(
    database_url: str, tmp_path: Path
) -> None:
    flaky = Flaky()
    with serving(flaky.app()) as base:
        url = f"{base}/flaky/x?failures=9&status=400"
        action_id = import_file(
            database_url, tmp_path, flaky_action(url, retryStrategy=fast_retries())
        )
        status, output = adhere(database_url, "actions", "execute", action_id)
        assert status == 1, output
        assert "outcome:      failed" in output
        assert "answered 400" in output
        assert flaky.count("x") == 1
    presence = import_file(database_url, tmp_path, set_presence_action(None))
    status, output = adhere(database_url, "actions", "execute", presence, "--input", "{}")
    assert status == 2
    assert "invalid input.userId: is required" in output
    status, output = adhere(database_url, "actions", "execute", presence, "--input", "{nope")
    assert (status, "--input is not valid JSON" in output) == (2, True)
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "config": {"request": {}}}')
    status, output = adhere(database_url, "actions", "import", str(broken))
    assert status == 2
    assert "invalid contract: must be an object" in output
    assert adhere(database_url, "actions", "execute", "act_nope")[0] == 2

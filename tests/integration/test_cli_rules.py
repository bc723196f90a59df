"""`adhere rules …` and `adhere doctor action` on a real database (and a real platform stand-in)."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from adhere.bootstrap import command_context, secret_sealer
from adhere.config import Settings
from adhere.entrypoints.cli import app as cli
from adhere.service import data_actions, webhooks
from adhere.service.webhooks import WebhookPolicy
from tests.integration.action_documents import (
    READ,
    TEST_KEY,
    WRITE,
    oauth_credential,
    set_presence_action,
)

runner = CliRunner()
KEY = {"ADHERE_SECRET_KEY": TEST_KEY}


def adhere(database_url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, [*args, "--db", database_url], env=KEY)
    return result.exit_code, result.output


def rule_file(tmp_path: Path, endpoint_id: str, **fields: Any) -> str:
    path = tmp_path / "rule.json"
    definition = {
        "name": "Tell the roster system about logins",
        "topic": "agent.login",
        "actions": [{"type": "webhook", "endpoint_id": endpoint_id}],
        **fields,
    }
    path.write_text(json.dumps(definition))
    return str(path)


def endpoint(database_url: str) -> str:
    ctx = command_context(database_url)
    try:
        found, _ = webhooks.create_endpoint(
            ctx,
            WebhookPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),)),
            "http://127.0.0.1:9/hook",
            ["agent.login"],
        )
    finally:
        ctx.store.engine.dispose()
    return found.id


def test_a_rule_is_created_listed_disabled_and_deleted(database_url: str, tmp_path: Path) -> None:
    status, output = adhere(
        database_url, "rules", "create", rule_file(tmp_path, endpoint(database_url))
    )
    assert status == 0, output
    found = re.search(r"rule id: (\S+)", output)
    assert found is not None
    rule_id = found.group(1)
    status, listing = adhere(database_url, "rules", "list")
    assert f"{rule_id}  enabled   agent.login  Tell the roster system about logins" in listing
    shown = json.loads(adhere(database_url, "rules", "show", rule_id)[1])
    assert shown["topic"] == "agent.login"
    assert adhere(database_url, "rules", "disable", rule_id)[0] == 0
    assert "disabled" in adhere(database_url, "rules", "list")[1]
    assert adhere(database_url, "rules", "enable", rule_id)[0] == 0
    assert "(no executions)" in adhere(database_url, "rules", "executions", rule_id)[1]
    assert adhere(database_url, "rules", "delete", rule_id)[0] == 0
    assert "(no rules)" in adhere(database_url, "rules", "list")[1]


def test_a_wrong_rule_exits_2_naming_the_field(database_url: str, tmp_path: Path) -> None:
    path = rule_file(tmp_path, endpoint(database_url), for_seconds=-5)
    status, output = adhere(database_url, "rules", "create", path)
    assert status == 2
    assert "invalid for_seconds" in output
    status, output = adhere(database_url, "rules", "create", str(tmp_path / "nowhere.json"))
    assert status == 2
    assert "cannot read" in output
    status, output = adhere(database_url, "rules", "show", "rule_nope")
    assert status == 2
    assert "no rule 'rule_nope'" in output


def test_a_dry_run_prints_what_would_have_fired(database_url: str, tmp_path: Path) -> None:
    path = rule_file(tmp_path, endpoint(database_url))
    status, output = adhere(database_url, "rules", "dry-run", path, "--json")
    assert status == 0, output
    assert json.loads(output) == {"messages": 0, "firings": []}


def saved_action(database_url: str, credential: dict[str, Any]) -> str:
    """Saved without the scope check, as an action may have been before its grant changed."""
    ctx = command_context(database_url)
    settings = Settings(database_url=database_url, secret_key=TEST_KEY)
    try:
        made = data_actions.create_credential(ctx, secret_sealer(settings), credential)
        return data_actions.save_action(ctx, set_presence_action(made.id)).id
    finally:
        ctx.store.engine.dispose()


def test_doctor_action_says_which_scope_to_grant(database_url: str, platform_url: str) -> None:
    lacking = saved_action(database_url, oauth_credential(platform_url, "writer", scopes=[READ]))
    status, output = adhere(database_url, "doctor", "action", lacking)
    assert status == 1, output
    assert "route:    PATCH /api/v2/users/{userId}/presence" in output
    assert "MISSING:  presence:write" in output
    assert "does not ask for them" in output
    holding = saved_action(database_url, oauth_credential(platform_url, "writer"))
    status, output = adhere(database_url, "doctor", "action", holding, "--json")
    assert status == 0, output
    verdict = json.loads(output)
    assert (verdict["checked"], verdict["missing"], verdict["held"]) == (True, [], [WRITE])
    not_granted = saved_action(
        database_url, oauth_credential(platform_url, "reader", scopes=[WRITE])
    )
    status, output = adhere(database_url, "doctor", "action", not_granted)
    assert status == 1
    assert "the token endpoint did not grant them to client 'reader'" in output
    assert adhere(database_url, "doctor", "action", "act_nope")[0] == 2

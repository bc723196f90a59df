"""`adhere webhooks …` on a real database: subscribe, list, disable, dead letters, replay."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from adhere.bootstrap import command_context
from adhere.domain.webhooks import DeliveryStatus
from adhere.entrypoints.cli import app as cli
from adhere.service import webhooks

LOOPBACK = {"ADHERE_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]'}
runner = CliRunner()


def adhere(database_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(cli, ["webhooks", *args, "--db", database_url], env=env)
    return result.exit_code, result.output


def create(database_url: str) -> str:
    status, output = adhere(
        database_url,
        "create",
        "--url",
        "http://127.0.0.1:9/hook",
        "--topics",
        "agent.login agent.logout",
        env=LOOPBACK,
    )
    assert status == 0, output
    assert re.search(r"secret:\s+whsec_", output)
    found = re.search(r"webhook id: (\S+)", output)
    assert found is not None
    return found.group(1)


def test_subscriptions_are_made_listed_disabled_and_deleted(database_url: str) -> None:
    webhook_id = create(database_url)
    status, listing = adhere(database_url, "list")
    assert status == 0
    assert f"{webhook_id}  http://127.0.0.1:9/hook  agent.login agent.logout  enabled" in listing
    assert "whsec_" not in listing
    assert adhere(database_url, "disable", webhook_id)[0] == 0
    assert "DISABLED (disabled by a user)" in adhere(database_url, "list")[1]
    assert adhere(database_url, "enable", webhook_id)[0] == 0
    assert adhere(database_url, "delete", webhook_id)[0] == 0
    assert "(no webhooks)" in adhere(database_url, "list")[1]
    status, output = adhere(database_url, "delete", webhook_id)
    assert status == 2
    assert f"no webhook '{webhook_id}'" in output


def test_bad_subscriptions_are_refused_naming_what_is_wrong(database_url: str) -> None:
    status, output = adhere(
        database_url, "create", "--url", "http://127.0.0.1:9/x", "--topics", "agent.login"
    )
    assert status == 2
    assert "invalid url" in output
    assert "webhook_allowed_networks" in output
    status, output = adhere(
        database_url,
        "create",
        "--url",
        "http://127.0.0.1/x",
        "--topics",
        "agent.nap",
        env=LOOPBACK,
    )
    assert status == 2
    assert "invalid topics[0]: unknown topic 'agent.nap'" in output


def test_dead_letters_are_listed_and_replayed(database_url: str) -> None:
    webhook_id = create(database_url)
    ctx = command_context(database_url)
    message = {"type": "agent.login", "timestamp": "2026-06-01T00:00:00Z", "data": {}}
    with ctx.store.transaction() as tx:
        webhooks.publish(tx, message, [webhook_id], 1_780_000_000_000_000)
    (delivery,) = webhooks.list_deliveries(ctx, webhook_id)
    status, output = adhere(database_url, "replay", webhook_id, "--delivery", str(delivery.seq))
    assert status == 2
    assert "still pending" in output
    with ctx.store.transaction() as tx:
        tx.webhooks.record_attempt(
            delivery.seq, DeliveryStatus.DEAD, 8, None, 500, "HTTP 500", 1_780_000_100_000_000
        )
    status, output = adhere(database_url, "deliveries", webhook_id, "--status", "dead")
    assert status == 0
    assert f"{delivery.seq}  dead       agent.login  {delivery.message_id}  attempts 8" in output
    assert adhere(database_url, "deliveries", webhook_id, "--status", "lost")[0] == 2
    status, output = adhere(database_url, "replay", webhook_id, "--delivery", str(delivery.seq))
    assert status == 0, output
    assert webhooks.list_deliveries(ctx, webhook_id)[0].status is DeliveryStatus.PENDING
    status, output = adhere(database_url, "replay", webhook_id, "--since", "2026-01-01T00:00:00Z")
    assert (status, output.strip()) == (0, "0 deliveries will be sent again")  # it is pending
    assert adhere(database_url, "replay", webhook_id)[0] == 2
    ctx.store.engine.dispose()


def test_a_filter_is_given_as_json_and_listed(database_url: str) -> None:
    criteria = '[{"path": "$.data.team_id", "operator": "Equal", "value": "blue"}]'
    status, output = adhere(
        database_url,
        "create",
        "--url",
        "http://127.0.0.1:9/hook",
        "--topics",
        "adherence.changed",
        "--filter",
        criteria,
        env=LOOPBACK,
    )
    assert status == 0, output
    status, listing = adhere(database_url, "list")
    assert status == 0
    assert 'filter [{"path":"$.data.team_id","operator":"Equal","value":"blue"}]' in listing
    ctx = command_context(database_url)
    (endpoint,) = webhooks.list_endpoints(ctx)
    ctx.store.engine.dispose()
    assert endpoint.filter is not None
    assert endpoint.filter.matches({"data": {"team_id": "blue"}})
    assert not endpoint.filter.matches({"data": {"team_id": "red"}})
    for bad, words in (
        ("[{", "invalid filter: is not JSON"),
        ('[{"path": "$.a", "operator": "Near", "value": 1}]', "invalid filter[0].operator"),
    ):
        status, output = adhere(
            database_url,
            "create",
            "--url",
            "http://127.0.0.1:9/hook",
            "--topics",
            "agent.login",
            "--filter",
            bad,
            env=LOOPBACK,
        )
        assert status == 2
        assert words in output

"""`adhere webhooks …`: the webhook subscriptions, their dead letters and replays, from a shell.

Each command works on the database directly; a running server delivers what it finds there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import orjson
import typer

from adhere.adapters.scenario_format import located
from adhere.bootstrap import webhook_policy
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import format_instant, parse_instant
from adhere.domain.topics import TOPICS
from adhere.domain.webhooks import DeliveryStatus
from adhere.entrypoints.cli_options import DatabaseOption, command_service, fail
from adhere.service import webhooks
from adhere.service.context import ServiceContext
from adhere.service.webhooks import WebhookPolicy

webhooks_app = typer.Typer(help="Manage webhook subscriptions.", no_args_is_help=True)

_Id = Annotated[str, typer.Argument(help="The webhook id (ep_…).", show_default=False)]


@webhooks_app.command("create")
def create(
    url: Annotated[str, typer.Option("--url", help="Where to POST the messages.")],
    topics: Annotated[
        str, typer.Option("--topics", help=f"Space-separated, from: {' '.join(TOPICS)}.")
    ],
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    filter_json: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help="Deliver only messages matching these criteria (JSON), e.g. "
            '\'[{"path": "$.data.team_id", "operator": "Equal", "value": "blue"}]\'.',
        ),
    ] = None,
    db: DatabaseOption = None,
) -> None:
    """Subscribe a URL to topics; prints its id and signing secret (once)."""
    with _service(db) as (ctx, policy):
        criteria = None if filter_json is None else _json(filter_json, "filter")
        endpoint, secret = webhooks.create_endpoint(
            ctx, policy, url, topics.split(), description, criteria
        )
    typer.echo(f"webhook id: {endpoint.id}")
    typer.echo(f"secret:     {secret}")
    typer.echo("Store the secret now: it will not be shown again.", err=True)


@webhooks_app.command("list")
def list_all(db: DatabaseOption = None) -> None:
    """The subscriptions (never their secrets)."""
    with _service(db) as (ctx, _):
        found = webhooks.list_endpoints(ctx)
    for endpoint in found:
        state = "enabled" if endpoint.enabled else f"DISABLED ({endpoint.disabled_reason})"
        typer.echo(f"{endpoint.id}  {endpoint.url}  {' '.join(endpoint.topics)}  {state}")
        if endpoint.filter is not None:
            typer.echo(f"    filter {orjson.dumps(endpoint.filter.as_json()).decode()}")
    if not found:
        typer.echo("(no webhooks)")


@webhooks_app.command("enable")
def enable(webhook_id: _Id, db: DatabaseOption = None) -> None:
    """Enable a webhook again (its failure count starts over)."""
    _set_enabled(webhook_id, True, db)


@webhooks_app.command("disable")
def disable(webhook_id: _Id, db: DatabaseOption = None) -> None:
    """Stop delivering to a webhook; its messages wait until it is enabled."""
    _set_enabled(webhook_id, False, db)


@webhooks_app.command("delete")
def delete(webhook_id: _Id, db: DatabaseOption = None) -> None:
    """Delete a subscription and its deliveries."""
    with _service(db) as (ctx, _):
        webhooks.delete_endpoint(ctx, webhook_id)
    typer.echo(f"deleted {webhook_id}")


@webhooks_app.command("deliveries")
def deliveries(
    webhook_id: _Id,
    status: Annotated[
        str | None, typer.Option(help="pending, delivered or dead (the dead letters).")
    ] = None,
    db: DatabaseOption = None,
) -> None:
    """A webhook's deliveries, oldest first."""
    with _service(db) as (ctx, _):
        wanted = _status(status)
        found = webhooks.list_deliveries(ctx, webhook_id, wanted)
    for item in found:
        typer.echo(
            f"{item.seq}  {item.status.value:9}  {item.topic}  {item.message_id}  "
            f"attempts {item.attempts}  last {item.last_status or '-'}  "
            f"{format_instant(item.message_created)}"
        )
    if not found:
        typer.echo("(no deliveries)")


@webhooks_app.command("replay")
def replay(
    webhook_id: _Id,
    delivery: Annotated[int | None, typer.Option(help="One delivery's id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Everything published since this RFC 3339 instant.")
    ] = None,
    db: DatabaseOption = None,
) -> None:
    """Send again one delivery, or everything since an instant (not what is pending)."""
    if (delivery is None) == (since is None):
        fail("give either --delivery ID or --since INSTANT")
    with _service(db) as (ctx, _):
        if delivery is not None:
            webhooks.replay_delivery(ctx, webhook_id, delivery)
            typer.echo(f"delivery {delivery} will be sent again")
        else:
            assert since is not None
            count = webhooks.replay_since(
                ctx, webhook_id, located("since", lambda: parse_instant(since))
            )
            typer.echo(f"{count} deliveries will be sent again")


def _set_enabled(webhook_id: str, enabled: bool, db: str | None) -> None:
    with _service(db) as (ctx, policy):
        change = webhooks.EndpointChange(enabled=enabled, fields=frozenset({"enabled"}))
        webhooks.update_endpoint(ctx, policy, webhook_id, change)
    typer.echo(f"{webhook_id} {'enabled' if enabled else 'disabled'}")


def _json(text: str, field: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"is not JSON: {error}", field) from None


def _status(text: str | None) -> DeliveryStatus | None:
    if text is None:
        return None
    try:
        return DeliveryStatus(text)
    except ValueError:
        raise InvalidInput("must be pending, delivered or dead", "status") from None


@contextmanager
def _service(db: str | None) -> Iterator[tuple[ServiceContext, WebhookPolicy]]:
    with command_service(db) as (ctx, settings):
        yield ctx, webhook_policy(settings)

"""Use cases: webhook subscriptions, publishing messages to them, dead letters and replays.

Publishing happens inside the transaction that made the change, so a message is in the outbox
exactly when the change is committed; the dispatcher (`webhook_dispatch`) delivers it later,
at least once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import orjson

from adhere.adapters.store import StoreTransaction
from adhere.adapters.webhooks import Network, checked_url, new_secret, refuse_private_targets
from adhere.domain.agent_state import AgentEvent
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant, format_instant
from adhere.domain.topics import event_message, event_topics
from adhere.domain.webhooks import Delivery, DeliveryStatus, Endpoint, checked_topics
from adhere.service.context import ServiceContext
from adhere.service.organisation import NotFound


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """How deliveries are made (from the settings)."""

    allowed_networks: tuple[Network, ...] = ()
    timeout_seconds: float = 10.0
    concurrency_per_endpoint: int = 4
    disable_after_micros: int = 5 * 86_400 * 1_000_000


@dataclass(frozen=True, slots=True)
class EndpointChange:
    url: str | None = None
    topics: object = None
    description: str | None = None
    enabled: bool | None = None
    fields: frozenset[str] = field(default_factory=frozenset)  # which were given


def create_endpoint(
    ctx: ServiceContext,
    policy: WebhookPolicy,
    url: str,
    topics: object,
    description: str | None = None,
) -> tuple[Endpoint, str]:
    """A new subscription and its signing secret (returned here only, never listed)."""
    target, wanted = checked_url(url), checked_topics(topics)
    refuse_private_targets(target, policy.allowed_networks)
    now = ctx.clock()
    endpoint = Endpoint(
        f"ep_{secrets.token_urlsafe(12)}",
        target,
        wanted,
        description,
        True,
        None,
        None,
        now,
        now,
    )
    secret = new_secret()
    with ctx.store.transaction() as tx:
        tx.webhooks.add_endpoint(endpoint, secret)
    return endpoint, secret


def list_endpoints(ctx: ServiceContext) -> list[Endpoint]:
    with ctx.store.reading() as tx:
        return tx.webhooks.endpoints()


def get_endpoint(ctx: ServiceContext, endpoint_id: str) -> Endpoint:
    with ctx.store.reading() as tx:
        return _require(tx, endpoint_id)


def update_endpoint(
    ctx: ServiceContext, policy: WebhookPolicy, endpoint_id: str, change: EndpointChange
) -> Endpoint:
    """Change the URL, topics, description or enabled flag; enabling again forgets failures."""
    url = None
    if "url" in change.fields:
        url = checked_url(change.url)
        refuse_private_targets(url, policy.allowed_networks)
    topics = checked_topics(change.topics) if "topics" in change.fields else None
    with ctx.store.transaction() as tx:
        endpoint = _require(tx, endpoint_id)
        updated = replace(
            endpoint,
            url=url or endpoint.url,
            topics=topics or endpoint.topics,
            description=(
                change.description if "description" in change.fields else endpoint.description
            ),
            updated=ctx.clock(),
        )
        if change.enabled is True and not endpoint.enabled:
            updated = replace(updated, enabled=True, disabled_reason=None, failing_since=None)
        elif change.enabled is False:
            updated = replace(updated, enabled=False, disabled_reason="disabled by a user")
        tx.webhooks.update_endpoint(updated)
    return updated


def delete_endpoint(ctx: ServiceContext, endpoint_id: str) -> None:
    with ctx.store.transaction() as tx:
        if not tx.webhooks.delete_endpoint(endpoint_id):
            raise NotFound("webhook", endpoint_id)


def list_deliveries(
    ctx: ServiceContext,
    endpoint_id: str,
    status: DeliveryStatus | None = None,
    since: Instant | None = None,
) -> list[Delivery]:
    with ctx.store.reading() as tx:
        _require(tx, endpoint_id)
        return tx.webhooks.deliveries(endpoint_id, status, since)


def replay_delivery(ctx: ServiceContext, endpoint_id: str, seq: int) -> Delivery:
    """Send one delivery again (a dead letter, or one delivered before), now."""
    with ctx.store.transaction() as tx:
        _require(tx, endpoint_id)
        found = tx.webhooks.delivery(endpoint_id, seq)
        if found is None:
            raise NotFound("delivery", str(seq))
        if found.status is DeliveryStatus.PENDING:
            raise InvalidInput("is still pending: it will be attempted anyway", "delivery")
        tx.webhooks.requeue([seq], ctx.clock())
        replayed = tx.webhooks.delivery(endpoint_id, seq)
    assert replayed is not None
    return replayed


def replay_since(ctx: ServiceContext, endpoint_id: str, since: Instant) -> int:
    """Send again every message published to the endpoint since `since` that is not pending."""
    with ctx.store.transaction() as tx:
        _require(tx, endpoint_id)
        again = [
            delivery.seq
            for delivery in tx.webhooks.deliveries(endpoint_id, since=since, limit=1_000_000)
            if delivery.status is not DeliveryStatus.PENDING
        ]
        tx.webhooks.requeue(again, ctx.clock())
    return len(again)


def publish_events(tx: StoreTransaction, events: Sequence[AgentEvent], now: Instant) -> int:
    """Put accepted events' messages in the outbox for the endpoints subscribed to them."""
    subscribers: dict[str, list[str]] = {}
    for endpoint in tx.webhooks.endpoints():
        if endpoint.enabled:
            for topic in endpoint.topics:
                subscribers.setdefault(topic, []).append(endpoint.id)
    if not subscribers:
        return 0
    published = 0
    for event in events:
        for topic in event_topics(event):
            endpoint_ids = subscribers.get(topic)
            if endpoint_ids:
                publish(tx, event_message(event, topic, now), endpoint_ids, now)
                published += 1
    return published


def publish(
    tx: StoreTransaction, message: dict[str, object], endpoint_ids: Sequence[str], now: Instant
) -> None:
    """One message (``{type, timestamp, data}``) into the outbox, due now for each endpoint."""
    topic = str(message["type"])
    payload = orjson.dumps(message).decode()
    tx.webhooks.publish(f"msg_{secrets.token_urlsafe(16)}", topic, now, payload, endpoint_ids)


def endpoint_disabled_message(endpoint: Endpoint, reason: str, now: Instant) -> dict[str, object]:
    return {
        "type": "webhook.endpoint.disabled",
        "timestamp": format_instant(now),
        "data": {"endpoint_id": endpoint.id, "url": endpoint.url, "reason": reason},
    }


def _require(tx: StoreTransaction, endpoint_id: str) -> Endpoint:
    found = tx.webhooks.endpoint(endpoint_id)
    if found is None:
        raise NotFound("webhook", endpoint_id)
    return found

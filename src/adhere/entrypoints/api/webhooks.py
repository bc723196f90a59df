"""Routes: the topics, webhook subscriptions, their deliveries, dead letters and replays."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from adhere.domain.instants import format_instant
from adhere.domain.topics import TOPICS
from adhere.domain.webhooks import Delivery, DeliveryStatus, Endpoint
from adhere.entrypoints.api import models
from adhere.entrypoints.api.deps import container, context, instant, path_id
from adhere.entrypoints.api.security import Principal, requires
from adhere.service import webhooks
from adhere.service.context import ServiceContext

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
_MANAGE = "webhooks:manage"


@router.get("/topics", response_model=models.TopicList)
def topics(_: Principal = requires(_MANAGE)) -> dict[str, Any]:
    """Every topic Adhere publishes, with the JSON schema of its messages' `data`."""
    return {
        "items": [
            {"name": t.name, "description": t.description, "data_schema": t.data_schema}
            for t in TOPICS.values()
        ]
    }


@router.post("/webhooks", status_code=201, response_model=models.WebhookCreated)
def create(
    body: models.WebhookIn,
    request: Request,
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Subscribe a URL to topics. The answer carries the signing secret, shown only once."""
    policy = container(request).webhooks
    endpoint, secret = webhooks.create_endpoint(
        ctx, policy, body.url, body.topics, body.description, body.filter
    )
    return {**_endpoint(endpoint), "secret": secret}


@router.get("/webhooks", response_model=models.WebhookList)
def list_all(
    ctx: ServiceContext = Depends(context), _: Principal = requires(_MANAGE)
) -> dict[str, Any]:
    return {"items": [_endpoint(e) for e in webhooks.list_endpoints(ctx)]}


@router.get("/webhooks/{webhook_id}", response_model=models.Webhook)
def get(
    webhook_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    return _endpoint(webhooks.get_endpoint(ctx, webhook_id))


@router.patch("/webhooks/{webhook_id}", response_model=models.Webhook)
def change(
    body: models.WebhookChangeIn,
    request: Request,
    webhook_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Change the URL, topics, filter or description; `enabled: true` re-enables a disabled
    one."""
    given = body.model_fields_set
    update = webhooks.EndpointChange(
        body.url, body.topics, body.description, body.enabled, body.filter, frozenset(given)
    )
    policy = container(request).webhooks
    return _endpoint(webhooks.update_endpoint(ctx, policy, webhook_id, update))


@router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response)
def remove(
    webhook_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> Response:
    """The subscription and its deliveries, pending or not, are gone."""
    webhooks.delete_endpoint(ctx, webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=models.DeliveryList)
def deliveries(
    webhook_id: str = path_id(),
    status: Literal["pending", "delivered", "dead"] | None = Query(
        default=None, description="`dead`: the dead letters"
    ),
    since: str | None = Query(default=None, description="Messages published since then"),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    found = webhooks.list_deliveries(
        ctx,
        webhook_id,
        None if status is None else DeliveryStatus(status),
        None if since is None else instant(since, "since"),
    )
    return {"items": [_delivery(d) for d in found]}


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", response_model=models.Delivery
)
def replay_one(
    delivery_id: int,
    webhook_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Send a dead letter (or a delivered message) again, now, with the same `webhook-id`."""
    return _delivery(webhooks.replay_delivery(ctx, webhook_id, delivery_id))


@router.post("/webhooks/{webhook_id}/replay", response_model=models.ReplayResult)
def replay_since(
    body: models.ReplayIn,
    webhook_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Send again everything published to this endpoint since `since` that is not pending."""
    count = webhooks.replay_since(ctx, webhook_id, instant(body.since, "since"))
    return {"replayed": count}


def _endpoint(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "topics": list(endpoint.topics),
        "filter": None if endpoint.filter is None else endpoint.filter.as_json(),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": (
            None if endpoint.failing_since is None else format_instant(endpoint.failing_since)
        ),
        "created": format_instant(endpoint.created),
        "updated": format_instant(endpoint.updated),
    }


def _delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.seq,
        "message_id": delivery.message_id,
        "topic": delivery.topic,
        "message_created": format_instant(delivery.message_created),
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt": (
            None if delivery.next_attempt is None else format_instant(delivery.next_attempt)
        ),
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "updated": format_instant(delivery.updated),
        "payload": orjson.loads(delivery.payload),
    }

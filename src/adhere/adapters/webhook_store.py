"""Webhook endpoints, the message outbox and deliveries, read and written inside a transaction.

A message and its deliveries are written in the transaction that produced them (an ingest,
say), so a delivery exists exactly when the change it announces was committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, delete, insert, select, update

from adhere.adapters import schema
from adhere.domain.criteria import Criteria, parse_criteria
from adhere.domain.instants import Instant
from adhere.domain.webhooks import Delivery, DeliveryStatus, Endpoint

_PENDING = DeliveryStatus.PENDING.value


class WebhookRecords:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # ---- endpoints -----------------------------------------------------------------------

    def add_endpoint(self, endpoint: Endpoint, secret: str) -> None:
        self.connection.execute(
            insert(schema.webhook_endpoints).values(secret=secret, **_endpoint_values(endpoint))
        )

    def update_endpoint(self, endpoint: Endpoint) -> None:
        table = schema.webhook_endpoints
        values = _endpoint_values(endpoint)
        del values["id"], values["created_us"]
        self.connection.execute(update(table).where(table.c.id == endpoint.id).values(**values))

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        table = schema.webhook_endpoints
        row = self.connection.execute(select(table).where(table.c.id == endpoint_id)).first()
        return None if row is None else _endpoint(row)

    def secret(self, endpoint_id: str) -> str | None:
        table = schema.webhook_endpoints
        query = select(table.c.secret).where(table.c.id == endpoint_id)
        found: str | None = self.connection.execute(query).scalar()
        return found

    def endpoints(self) -> list[Endpoint]:
        table = schema.webhook_endpoints
        rows = self.connection.execute(select(table).order_by(table.c.created_us, table.c.id))
        return [_endpoint(row) for row in rows]

    def delete_endpoint(self, endpoint_id: str) -> bool:
        deliveries = schema.webhook_deliveries
        self.connection.execute(delete(deliveries).where(deliveries.c.endpoint_id == endpoint_id))
        table = schema.webhook_endpoints
        return self.connection.execute(delete(table).where(table.c.id == endpoint_id)).rowcount > 0

    # ---- the outbox ----------------------------------------------------------------------

    def publish(
        self,
        message_id: str,
        topic: str,
        created: Instant,
        payload: str,
        endpoint_ids: Sequence[str],
    ) -> int:
        """Store a message and one pending delivery per endpoint, due now; returns its seq.

        With no endpoint the message is stored alone (a workflow rule reads it)."""
        seq: int = self.connection.execute(
            insert(schema.webhook_messages)
            .values(id=message_id, topic=topic, created_us=created, payload=payload)
            .returning(schema.webhook_messages.c.seq)
        ).scalar_one()
        if not endpoint_ids:
            return seq
        self.connection.execute(
            insert(schema.webhook_deliveries),
            [_pending(endpoint_id, seq, created) for endpoint_id in endpoint_ids],
        )
        return seq

    def add_delivery(self, endpoint_id: str, message_seq: int, due: Instant) -> int:
        """One more pending delivery of a stored message (a workflow rule's webhook action)."""
        seq: int = self.connection.execute(
            insert(schema.webhook_deliveries)
            .values(**_pending(endpoint_id, message_seq, due))
            .returning(schema.webhook_deliveries.c.seq)
        ).scalar_one()
        return seq

    def due(self, now: Instant, per_endpoint: int) -> list[Delivery]:
        """Pending deliveries whose time has come, of enabled endpoints: the oldest
        `per_endpoint` of each, so that an endpoint with a long backlog starves no other."""
        deliveries = schema.webhook_deliveries
        endpoints = schema.webhook_endpoints
        due = and_(deliveries.c.status == _PENDING, deliveries.c.next_attempt_us <= now)
        waiting = self.connection.execute(
            select(deliveries.c.endpoint_id)
            .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
            .where(due, endpoints.c.enabled.is_(True))
            .distinct()
        ).scalars()
        found: list[Delivery] = []
        for endpoint_id in list(waiting):
            query = (
                _deliveries_query()
                .where(due, deliveries.c.endpoint_id == endpoint_id)
                .order_by(deliveries.c.next_attempt_us, deliveries.c.seq)
                .limit(per_endpoint)
            )
            found += [_delivery(row) for row in self.connection.execute(query)]
        return found

    def record_attempt(
        self,
        seq: int,
        status: DeliveryStatus,
        attempts: int,
        next_attempt: Instant | None,
        last_status: int | None,
        last_error: str | None,
        now: Instant,
    ) -> None:
        table = schema.webhook_deliveries
        self.connection.execute(
            update(table)
            .where(table.c.seq == seq)
            .values(
                status=status.value,
                attempts=attempts,
                next_attempt_us=next_attempt,
                last_status=last_status,
                last_error=last_error,
                updated_us=now,
            )
        )

    def deliveries(
        self,
        endpoint_id: str,
        status: DeliveryStatus | None = None,
        since: Instant | None = None,
        limit: int = 1000,
    ) -> list[Delivery]:
        deliveries = schema.webhook_deliveries
        messages = schema.webhook_messages
        query = _deliveries_query().where(deliveries.c.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(deliveries.c.status == status.value)
        if since is not None:
            query = query.where(messages.c.created_us >= since)
        query = query.order_by(deliveries.c.seq).limit(limit)
        return [_delivery(row) for row in self.connection.execute(query)]

    def delivery(self, endpoint_id: str, seq: int) -> Delivery | None:
        deliveries = schema.webhook_deliveries
        query = _deliveries_query().where(
            and_(deliveries.c.endpoint_id == endpoint_id, deliveries.c.seq == seq)
        )
        row = self.connection.execute(query).first()
        return None if row is None else _delivery(row)

    def requeue(self, seqs: Sequence[int], now: Instant) -> None:
        """Make deliveries pending again, due now, with a fresh set of attempts."""
        table = schema.webhook_deliveries
        for offset in range(0, len(seqs), 500):
            chunk = list(seqs[offset : offset + 500])
            self.connection.execute(
                update(table)
                .where(table.c.seq.in_(chunk))
                .values(status=_PENDING, attempts=0, next_attempt_us=now, updated_us=now)
            )


def _pending(endpoint_id: str, message_seq: int, due: Instant) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint_id,
        "message_seq": message_seq,
        "status": _PENDING,
        "attempts": 0,
        "next_attempt_us": due,
        "updated_us": due,
    }


def _endpoint_values(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "topics": list(endpoint.topics),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since_us": endpoint.failing_since,
        "created_us": endpoint.created,
        "updated_us": endpoint.updated,
        "filter": None if endpoint.filter is None else endpoint.filter.as_json(),
    }


def _endpoint(row: Row[Any]) -> Endpoint:
    return Endpoint(
        row.id,
        row.url,
        tuple(row.topics),
        row.description,
        row.enabled,
        row.disabled_reason,
        row.failing_since_us,
        row.created_us,
        row.updated_us,
        None if row.filter is None else _criteria(orjson.dumps(row.filter).decode()),
    )


@lru_cache(maxsize=1024)
def _criteria(raw: str) -> Criteria:
    """A stored filter, compiled once (endpoints are read in every publishing transaction)."""
    return parse_criteria(orjson.loads(raw), "filter")


def _deliveries_query() -> Any:
    deliveries = schema.webhook_deliveries
    messages = schema.webhook_messages
    return select(
        deliveries,
        messages.c.id.label("message_id"),
        messages.c.topic,
        messages.c.created_us.label("message_created_us"),
        messages.c.payload,
    ).join(messages, messages.c.seq == deliveries.c.message_seq)


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        row.seq,
        row.endpoint_id,
        row.message_id,
        row.topic,
        row.message_created_us,
        row.payload,
        DeliveryStatus(row.status),
        row.attempts,
        row.next_attempt_us,
        row.last_status,
        row.last_error,
        row.updated_us,
    )

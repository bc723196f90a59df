"""Webhook endpoints and their deliveries: what a subscription is and where a delivery stands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from adhere.domain.criteria import Criteria
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant
from adhere.domain.topics import TOPICS


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    url: str
    topics: tuple[str, ...]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: Instant | None
    created: Instant
    updated: Instant
    filter: Criteria | None = None  # only messages it matches are delivered; None: all

    def wants(self, topic: str) -> bool:
        return self.enabled and topic in self.topics

    def accepts(self, message: Mapping[str, Any]) -> bool:
        """Whether a message on one of its topics passes its filter."""
        return self.filter is None or self.filter.matches(message)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # out of attempts, or its endpoint is gone (410): replayable


@dataclass(frozen=True, slots=True)
class Delivery:
    seq: int
    endpoint_id: str
    message_id: str
    topic: str
    message_created: Instant
    payload: str
    status: DeliveryStatus
    attempts: int
    next_attempt: Instant | None
    last_status: int | None
    last_error: str | None
    updated: Instant


def checked_topics(topics: object) -> tuple[str, ...]:
    """Known topic names, each once, in the order given."""
    if not isinstance(topics, list) or not topics:
        raise InvalidInput("must list at least one topic (GET /api/v1/topics)", "topics")
    found: list[str] = []
    for index, topic in enumerate(topics):
        if topic not in TOPICS:
            known = ", ".join(TOPICS)
            raise InvalidInput(f"unknown topic {topic!r}; known: {known}", f"topics[{index}]")
        if topic not in found:
            found.append(topic)
    return tuple(found)

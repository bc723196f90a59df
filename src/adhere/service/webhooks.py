"""Use cases: webhook subscriptions, publishing messages to them, dead letters and replays.

Publishing happens inside the transaction that made the change, so a message is in the outbox
exactly when the change is committed; the dispatcher (`webhook_dispatch`) delivers it later,
at least once. Every message the service publishes (agent events, `schedule.changed`, the
announcer's topics, `webhook.endpoint.disabled`) goes through `publish_message`, with the
`Interest` read in that transaction: who wants it decides whether it is stored at all.
"""

from __future__ import annotations

import bisect
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from adhere.adapters.store import StoreTransaction
from adhere.adapters.webhooks import Network, checked_url, new_secret, refuse_private_targets
from adhere.domain.agent_state import AgentEvent
from adhere.domain.categories import Category
from adhere.domain.criteria import Criteria, parse_criteria
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant
from adhere.domain.organisation import Agent
from adhere.domain.schedule import ScheduleReplacement
from adhere.domain.topics import (
    EVENT_TOPICS,
    Scheduled,
    event_message,
    event_topics,
    schedule_changed,
)
from adhere.domain.topics import message as topic_message
from adhere.domain.webhooks import Delivery, DeliveryStatus, Endpoint, checked_topics
from adhere.service.context import ServiceContext
from adhere.service.live import LiveAdherence
from adhere.service.organisation import NotFound, require_agent

_log = logging.getLogger("adhere.webhooks")


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
    filter: object = None  # criteria as JSON (domain/criteria.py); null removes the filter
    fields: frozenset[str] = field(default_factory=frozenset)  # which were given


def create_endpoint(
    ctx: ServiceContext,
    policy: WebhookPolicy,
    url: str,
    topics: object,
    description: str | None = None,
    filter_json: object = None,
) -> tuple[Endpoint, str]:
    """A new subscription and its signing secret (returned here only, never listed).

    `filter_json`, criteria (domain/criteria.py), lets through only the messages it matches."""
    target, wanted = checked_url(url), checked_topics(topics)
    criteria = _filter(filter_json)
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
        criteria,
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
    """Change the URL, topics, filter, description or enabled flag; enabling again forgets
    failures."""
    url = None
    if "url" in change.fields:
        url = checked_url(change.url)
        refuse_private_targets(url, policy.allowed_networks)
    topics = checked_topics(change.topics) if "topics" in change.fields else None
    criteria = _filter(change.filter) if "filter" in change.fields else None
    with ctx.store.transaction() as tx:
        endpoint = _require(tx, endpoint_id)
        updated = replace(
            endpoint,
            url=url or endpoint.url,
            topics=topics or endpoint.topics,
            description=(
                change.description if "description" in change.fields else endpoint.description
            ),
            filter=criteria if "filter" in change.fields else endpoint.filter,
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


@dataclass(frozen=True, slots=True)
class Interest:
    """Who wants the messages of each topic, as of one transaction: the enabled endpoints
    subscribed to it (each with its filter), and workflow rules."""

    endpoints: Mapping[str, tuple[Endpoint, ...]] = field(default_factory=dict)
    rule_topics: frozenset[str] = frozenset()  # topics enabled workflow rules listen to

    def wants(self, topic: str) -> bool:
        return topic in self.endpoints or topic in self.rule_topics

    def wants_any(self, topics: Iterable[str]) -> bool:
        return any(self.wants(topic) for topic in topics)

    def recipients(self, message: Mapping[str, Any]) -> list[str]:
        """The endpoints subscribed to the message's topic whose filter lets it through."""
        found = self.endpoints.get(str(message["type"]), ())
        return [endpoint.id for endpoint in found if _accepts(endpoint, message)]


NO_INTEREST = Interest()


def interest(tx: StoreTransaction) -> Interest:
    """Who wants what, read in the transaction that publishes (two queries)."""
    by_topic: dict[str, list[Endpoint]] = {}
    for endpoint in tx.webhooks.endpoints():
        if endpoint.enabled:
            for topic in endpoint.topics:
                by_topic.setdefault(topic, []).append(endpoint)
    rule_topics = tx.rules.enabled_topics()
    if not by_topic and not rule_topics:
        return NO_INTEREST
    return Interest({topic: tuple(found) for topic, found in by_topic.items()}, rule_topics)


def publish_message(
    tx: StoreTransaction, wanted: Interest, message: dict[str, Any], now: Instant
) -> bool:
    """Publish one message (``{type, timestamp, data}``), the way every message is published:
    one pending delivery, due now, for each endpoint that wants it (`Interest.recipients`);
    stored without deliveries if only a workflow rule wants it; not at all if nobody does.
    Returns whether it was stored."""
    endpoint_ids = wanted.recipients(message)
    if not endpoint_ids and message["type"] not in wanted.rule_topics:
        return False
    publish(tx, message, endpoint_ids, now)
    return True


def publish_events(
    tx: StoreTransaction,
    events: Sequence[AgentEvent],
    now: Instant,
    live: LiveAdherence | None = None,
) -> int:
    """Publish accepted events' messages, in the transaction that stores them.

    What each agent was scheduled for at the event's time is looked up only for events
    someone wants: in `live` (a server) under its lock, briefly, else in the store."""
    wanted = interest(tx)
    if not wanted.wants_any(EVENT_TOPICS):
        return 0
    chosen = [
        (event, topic) for event in events for topic in event_topics(event) if wanted.wants(topic)
    ]
    if not chosen:
        return 0
    scheduled = _scheduled(tx, live, [event for event, _ in chosen])
    published = 0
    for event, topic in chosen:
        found = scheduled[event.agent_id, event.time]
        published += publish_message(tx, wanted, event_message(event, topic, now, found), now)
    return published


def publish_schedule_changes(
    tx: StoreTransaction, changes: Sequence[tuple[Agent, ScheduleReplacement]], now: Instant
) -> int:
    """`schedule.changed` for each replacement, in the transaction that stores them."""
    wanted = interest(tx)
    if not wanted.wants("schedule.changed"):
        return 0
    return sum(
        publish_message(
            tx,
            wanted,
            schedule_changed(agent, item.start, item.end, len(item.activities), now),
            now,
        )
        for agent, item in changes
    )


def publish(
    tx: StoreTransaction, message: dict[str, object], endpoint_ids: Sequence[str], now: Instant
) -> None:
    """Store one message with a pending delivery, due now, for exactly these endpoints (none:
    stored for workflow rules alone). The service publishes through `publish_message`."""
    topic = str(message["type"])
    payload = orjson.dumps(message).decode()
    tx.webhooks.publish(f"msg_{secrets.token_urlsafe(16)}", topic, now, payload, endpoint_ids)


def event_messages(
    tx: StoreTransaction,
    received: Sequence[tuple[AgentEvent, Instant]],
    topic: str,
    live: LiveAdherence | None = None,
) -> list[tuple[Instant, dict[str, Any]]]:
    """The messages on `topic` that these events, accepted when given, were (or would have
    been) published as: what a rule's dry run replays."""
    chosen = [(event, at) for event, at in received if topic in event_topics(event)]
    scheduled = _scheduled(tx, live, [event for event, _ in chosen])
    return [
        (at, event_message(event, topic, at, scheduled[event.agent_id, event.time]))
        for event, at in chosen
    ]


def _scheduled(
    tx: StoreTransaction, live: LiveAdherence | None, events: Sequence[AgentEvent]
) -> dict[tuple[str, Instant], Scheduled]:
    """What each event's agent was scheduled for at the event's time."""
    found: dict[tuple[str, Instant], Scheduled] = {}
    missing: list[AgentEvent] = []
    if live is not None:
        with live.lock:
            engine = live.engine
            for event in events:
                if engine.has_agent(event.agent_id):
                    agent = engine.agent(event.agent_id)
                    category, code = engine.scheduled_at(event.agent_id, event.time)
                    found[event.agent_id, event.time] = Scheduled(
                        agent.management_unit_id, agent.team_id, category, code
                    )
                else:  # stored a moment ago, not yet applied to the engine
                    missing.append(event)
    else:
        missing = list(events)
    by_agent: dict[str, list[AgentEvent]] = {}
    for event in missing:
        by_agent.setdefault(event.agent_id, []).append(event)
    categories: dict[str, dict[str, Category]] = {}
    for agent_id, agent_events in by_agent.items():  # one query for each agent's schedule
        agent = require_agent(tx, agent_id)
        unit_id = agent.management_unit_id
        if unit_id not in categories:
            categories[unit_id] = {c.id: c.category for c in tx.activity_codes(unit_id)}
        times = [event.time for event in agent_events]
        activities = tx.activities(agent_id, min(times), max(times) + 1)  # by start
        starts = [activity.start for activity in activities]
        for time in times:
            index = bisect.bisect_right(starts, time) - 1
            covering = activities[index] if index >= 0 else None
            code = None if covering is None or covering.end <= time else covering.activity_code_id
            category = Category.UNSCHEDULED if code is None else categories[unit_id][code]
            found[agent_id, time] = Scheduled(unit_id, agent.team_id, category, code)
    return found


def endpoint_disabled_message(endpoint: Endpoint, reason: str, now: Instant) -> dict[str, Any]:
    data = {"endpoint_id": endpoint.id, "url": endpoint.url, "reason": reason}
    return topic_message("webhook.endpoint.disabled", now, data)


def _accepts(endpoint: Endpoint, message: Mapping[str, Any]) -> bool:
    """Whether the endpoint's filter lets the message through; a filter that fails on it (a
    JSONPath filter expression with a bad regular expression, say) does not, and never
    fails the write that publishes."""
    try:
        return endpoint.accepts(message)
    except Exception:
        topic = message["type"]
        _log.warning("the filter of webhook %s failed on a %s message", endpoint.id, topic)
        return False


def _filter(raw: object) -> Criteria | None:
    """A subscription's filter from its JSON; null, or no condition, is no filter."""
    criteria = parse_criteria(raw, "filter")
    return criteria if criteria.conditions else None


def _require(tx: StoreTransaction, endpoint_id: str) -> Endpoint:
    found = tx.webhooks.endpoint(endpoint_id)
    if found is None:
        raise NotFound("webhook", endpoint_id)
    return found

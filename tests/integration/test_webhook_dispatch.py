"""The webhook dispatcher on a real database and real HTTP receivers, with a hand-moved clock:
retries on schedule, Retry-After, dead letters and replay, disabling, isolation of slow ones."""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from adhere.adapters.database import connect, upgrade
from adhere.adapters.store import SqlStore
from adhere.domain.instants import MICROS_PER_SECOND
from adhere.domain.retries import WAITS_SECONDS
from adhere.domain.webhooks import DeliveryStatus
from adhere.service import webhooks
from adhere.service.context import ServiceContext
from adhere.service.webhook_dispatch import Dispatcher
from adhere.service.webhooks import WebhookPolicy
from tests.http_server import serving
from tests.integration.conftest import CLOCK_START as START
from tests.integration.conftest import Clock
from tests.stand_ins.receiver import Receiver

pytestmark = pytest.mark.anyio
SECOND = MICROS_PER_SECOND


@dataclass
class World:
    ctx: ServiceContext
    clock: Clock
    policy: WebhookPolicy
    dispatcher: Dispatcher

    def subscribe(self, receiver: Receiver, url: str, *topics: str) -> str:
        endpoint, secret = webhooks.create_endpoint(self.ctx, self.policy, url, list(topics))
        receiver.secret = secret
        return endpoint.id

    def publish(self, endpoint_id: str, event_id: str = "e1") -> None:
        message = {
            "type": "agent.login",
            "timestamp": "2026-06-01T00:00:00Z",
            "data": {"agent_id": "lee", "event_id": event_id},
        }
        with self.ctx.store.transaction() as tx:
            webhooks.publish(tx, message, [endpoint_id], self.clock.now)

    def deliveries(self, endpoint_id: str) -> list[webhooks.Delivery]:
        return webhooks.list_deliveries(self.ctx, endpoint_id)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    engine = connect(database_url)
    upgrade(engine)
    clock = Clock()
    policy = WebhookPolicy(
        allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),),
        timeout_seconds=1.0,
        concurrency_per_endpoint=2,
    )
    ctx = ServiceContext(SqlStore(engine, "test"), clock=clock)
    yield World(ctx, clock, policy, Dispatcher(ctx.store, policy, clock, random.Random(7)))
    engine.dispose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=1.0) as client:
        yield client


def hosted(receiver: Receiver) -> Iterator[str]:
    with serving(receiver.app()) as base:
        yield f"{base}/hook"


@pytest.fixture
def first() -> Receiver:
    return Receiver()


@pytest.fixture
def first_url(first: Receiver) -> Iterator[str]:
    yield from hosted(first)


@pytest.fixture
def second() -> Receiver:
    return Receiver()


@pytest.fixture
def second_url(second: Receiver) -> Iterator[str]:
    yield from hosted(second)


async def test_a_failing_delivery_follows_the_schedule_then_is_a_dead_letter_to_replay(
    world: World, first: Receiver, first_url: str, http: httpx.AsyncClient
) -> None:
    first.answer = lambda _n: (500, {})
    endpoint_id = world.subscribe(first, first_url, "agent.login")
    world.publish(endpoint_id)
    waits = []
    for attempt in range(1, len(WAITS_SECONDS) + 2):
        assert await world.dispatcher.deliver_due(http) == 1
        (delivery,) = world.deliveries(endpoint_id)
        assert delivery.attempts == attempt
        assert delivery.last_status == 500
        if delivery.next_attempt is None:
            break
        waits.append((delivery.next_attempt - world.clock.now) / SECOND)
        assert await world.dispatcher.deliver_due(http) == 0  # not due yet
        world.clock.now = delivery.next_attempt
    assert delivery.status is DeliveryStatus.DEAD
    assert len(waits) == len(WAITS_SECONDS)
    for wait, scheduled in zip(waits, WAITS_SECONDS, strict=True):
        assert 0.8 * scheduled <= wait <= 1.2 * scheduled, (wait, scheduled)
    assert len(set(waits)) == len(waits)  # jittered
    dead = webhooks.list_deliveries(world.ctx, endpoint_id, DeliveryStatus.DEAD)
    assert [d.seq for d in dead] == [delivery.seq]

    first.answer = lambda _n: (204, {})
    replayed = webhooks.replay_delivery(world.ctx, endpoint_id, delivery.seq)
    assert (replayed.status, replayed.attempts) == (DeliveryStatus.PENDING, 0)
    assert await world.dispatcher.deliver_due(http) == 1
    assert world.deliveries(endpoint_id)[0].status is DeliveryStatus.DELIVERED
    assert first.ids() == [delivery.message_id]  # the same webhook-id as every attempt


async def test_retry_after_is_honoured_up_to_twice_the_scheduled_wait(
    world: World, first: Receiver, first_url: str, http: httpx.AsyncClient
) -> None:
    asked = {"value": "7"}
    first.answer = lambda _n: (503, {"Retry-After": asked["value"]})
    endpoint_id = world.subscribe(first, first_url, "agent.login")
    world.publish(endpoint_id)
    await world.dispatcher.deliver_due(http)
    (delivery,) = world.deliveries(endpoint_id)
    assert delivery.next_attempt == world.clock.now + 7 * SECOND  # longer than 5 s ± 20 %
    world.clock.now = delivery.next_attempt
    asked["value"] = "3600"
    await world.dispatcher.deliver_due(http)
    (delivery,) = world.deliveries(endpoint_id)
    assert delivery.next_attempt == world.clock.now + 2 * WAITS_SECONDS[1] * SECOND


async def test_410_disables_the_endpoint_and_tells_the_subscribers_of_that(
    world: World,
    first: Receiver,
    first_url: str,
    second: Receiver,
    second_url: str,
    http: httpx.AsyncClient,
) -> None:
    first.answer = lambda _n: (410, {})
    gone = world.subscribe(first, first_url, "agent.login")
    watcher = world.subscribe(second, second_url, "webhook.endpoint.disabled")
    world.publish(gone)
    await world.dispatcher.deliver_due(http)
    endpoint = webhooks.get_endpoint(world.ctx, gone)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "the endpoint answered 410 Gone"
    assert world.deliveries(gone)[0].status is DeliveryStatus.DEAD
    await world.dispatcher.deliver_due(http)
    assert [r.payload["data"]["endpoint_id"] for r in second.received] == [gone]
    assert world.deliveries(watcher)[0].status is DeliveryStatus.DELIVERED
    world.publish(gone, "e2")  # a disabled endpoint's deliveries wait: nothing is sent
    assert await world.dispatcher.deliver_due(http) == 0
    assert first.requests == 1


async def test_an_endpoint_failing_for_five_days_is_disabled_and_success_resets_the_count(
    world: World, first: Receiver, first_url: str, http: httpx.AsyncClient
) -> None:
    outcome = {"status": 500}
    first.answer = lambda _n: (outcome["status"], {})
    endpoint_id = world.subscribe(first, first_url, "agent.login")
    day = 86_400 * SECOND

    async def deliver_one(event_id: str) -> None:
        world.publish(endpoint_id, event_id)
        await world.dispatcher.deliver_due(http)

    await deliver_one("d0")
    failing_since = webhooks.get_endpoint(world.ctx, endpoint_id).failing_since
    assert failing_since == START
    world.clock.now = START + 3 * day
    outcome["status"] = 200
    await deliver_one("d3")
    assert webhooks.get_endpoint(world.ctx, endpoint_id).failing_since is None
    outcome["status"] = 500
    world.clock.now = START + 4 * day
    await deliver_one("d4")  # failing again since day 4
    world.clock.now = START + 8 * day
    await deliver_one("d8")
    assert webhooks.get_endpoint(world.ctx, endpoint_id).enabled
    world.clock.now = START + 9 * day
    await deliver_one("d9")
    endpoint = webhooks.get_endpoint(world.ctx, endpoint_id)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "every delivery failed for 5 days"


async def test_a_slow_endpoint_delays_no_other(
    world: World,
    first: Receiver,
    first_url: str,
    second: Receiver,
    second_url: str,
    http: httpx.AsyncClient,
) -> None:
    first.delay_seconds = 3.0  # beyond the 1 s timeout
    slow = world.subscribe(first, first_url, "agent.login")
    fast = world.subscribe(second, second_url, "agent.login")
    for number in range(6):
        world.publish(slow, f"s{number}")
    world.publish(fast, "f0")
    started = time.monotonic()
    attempted = await world.dispatcher.deliver_due(http)
    assert attempted == 3  # two at a time for the slow one (its limit), and the fast one
    assert second.received[0].at - started < 0.5
    slow_ones = [d for d in world.deliveries(slow) if d.attempts == 1]
    assert len(slow_ones) == 2
    assert all("Timeout" in (d.last_error or "") for d in slow_ones)
    assert world.deliveries(fast)[0].status is DeliveryStatus.DELIVERED


async def test_replay_since_sends_again_what_was_published_since_then(
    world: World, first: Receiver, first_url: str, http: httpx.AsyncClient
) -> None:
    endpoint_id = world.subscribe(first, first_url, "agent.login")
    world.publish(endpoint_id, "old")
    world.clock.now += 60 * SECOND
    world.publish(endpoint_id, "new")
    await world.dispatcher.deliver_due(http)
    assert sorted(r.payload["data"]["event_id"] for r in first.received) == ["new", "old"]
    assert webhooks.replay_since(world.ctx, endpoint_id, START + 30 * SECOND) == 1
    await world.dispatcher.deliver_due(http)
    assert [r.payload["data"]["event_id"] for r in first.received][-1] == "new"
    assert len(first.received) == 3

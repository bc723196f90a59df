"""The workflow rule worker on real databases with a hand-moved clock: matching, timers that
survive a restart, executions that run after a crash, webhook actions, history, dry runs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from adhere.adapters.database import connect, upgrade
from adhere.adapters.rule_store import StoredMessage
from adhere.adapters.store import SqlStore
from adhere.domain.instants import MICROS_PER_SECOND
from adhere.domain.rules import ExecutionStatus
from adhere.service import data_actions, rules, webhooks
from adhere.service.context import ServiceContext
from adhere.service.rule_worker import RuleWorker, _without_gaps
from adhere.service.webhooks import WebhookPolicy
from tests.integration.action_documents import set_presence_action
from tests.integration.conftest import CLOCK_START as START
from tests.integration.conftest import Clock

pytestmark = pytest.mark.anyio
SECOND = MICROS_PER_SECOND


@dataclass(frozen=True)
class Result:
    id: str
    succeeded: bool
    error: str | None


@dataclass
class RecordingActions:
    """Stands in for the data action runner (tested on its own against real HTTP)."""

    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    raising: bool = False  # as a bug in the runner would

    async def execute(self, action_id: str, input: dict[str, Any], source: str) -> Result:
        self.calls.append((action_id, input, source))
        if self.raising:
            raise RuntimeError("the runner broke")
        if action_id in self.failing:
            return Result(f"x{len(self.calls)}", False, "HTTP 500 after 3 attempts")
        return Result(f"x{len(self.calls)}", True, None)


@dataclass
class World:
    ctx: ServiceContext
    clock: Clock
    actions: RecordingActions
    action_id: str  # a saved data action, which the rules name (RecordingActions runs it)

    def worker(self) -> RuleWorker:
        """A worker as a (re)started server has: nothing in memory."""
        return RuleWorker(self.ctx.store, self.actions, self.clock)

    def publish(self, topic: str, **data: Any) -> None:
        message = {"type": topic, "timestamp": "2026-06-01T00:00:00Z", "data": data}
        with self.ctx.store.transaction() as tx:
            webhooks.publish(tx, message, [], self.clock.now)

    def rule(self, **fields: Any) -> str:
        definition = {
            "name": "r",
            "topic": "agent.login",
            "actions": [
                {
                    "type": "data_action",
                    "action_id": self.action_id,
                    "input": {"who": "$.data.agent_id"},
                }
            ],
            **fields,
        }
        return rules.create_rule(self.ctx, definition).id


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    engine = connect(database_url)
    upgrade(engine)
    clock = Clock()
    ctx = ServiceContext(SqlStore(engine, "test"), clock=clock)
    saved = data_actions.save_action(ctx, set_presence_action(None))
    yield World(ctx, clock, RecordingActions(), saved.id)
    engine.dispose()


async def test_a_matching_message_fires_the_rule_once_and_is_recorded(world: World) -> None:
    world.publish("agent.login", agent_id="before-any-worker")
    worker = world.worker()
    assert await worker.run_once() == 0  # no rule yet: nothing acts on it
    rule_id = world.rule(
        criteria=[{"path": "$.data.team", "operator": "In", "value": ["blue", "green"]}]
    )
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="ann", team="blue")
    world.publish("agent.login", agent_id="bob", team="red")
    world.publish("agent.logout", agent_id="cal", team="blue")
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0  # read once, run once
    assert world.actions.calls == [(world.action_id, {"who": "ann"}, f"rule:{rule_id}")]
    [execution] = rules.list_executions(world.ctx, rule_id)
    assert execution.status is ExecutionStatus.SUCCEEDED
    assert execution.subject == "ann"
    assert execution.results[0]["outcome"] == "succeeded"
    assert execution.results[0]["execution_id"] == "x1"


async def test_for_seconds_fires_only_if_the_condition_held_that_long(world: World) -> None:
    worker = world.worker()
    await worker.run_once()
    rule_id = world.rule(
        topic="adherence.changed",
        criteria=[{"path": "$.data.current.adherence_state", "operator": "Equal", "value": "Out"}],
        for_seconds=600,
    )
    world.clock.now += SECOND
    world.publish("adherence.changed", agent_id="ann", current={"adherence_state": "Out"})
    world.publish("adherence.changed", agent_id="bob", current={"adherence_state": "Out"})
    await worker.run_once()
    world.clock.now += 300 * SECOND
    world.publish("adherence.changed", agent_id="bob", current={"adherence_state": "In"})
    world.publish("adherence.changed", agent_id="ann", current={"adherence_state": "Out"})
    assert await worker.run_once() == 0
    world.clock.now += 299 * SECOND
    restarted = world.worker()  # timers live in the database, not in the worker
    assert await restarted.run_once() == 0
    world.clock.now += SECOND
    assert await restarted.run_once() == 1
    assert world.actions.calls == [(world.action_id, {"who": "ann"}, f"rule:{rule_id}")]
    [execution] = rules.list_executions(world.ctx, rule_id)
    assert execution.fired == START + 601 * SECOND  # when the condition had held 600 s


async def test_an_execution_interrupted_by_a_crash_runs_after_the_restart(world: World) -> None:
    await world.worker().run_once()
    rule_id = world.rule()
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="ann")
    crashed = world.worker()
    assert crashed.match_messages() is False  # fired and recorded as pending, then "crash"
    [pending] = rules.list_executions(world.ctx, rule_id)
    assert pending.status is ExecutionStatus.PENDING
    assert await world.worker().run_once() == 1
    [done] = rules.list_executions(world.ctx, rule_id)
    assert done.status is ExecutionStatus.SUCCEEDED
    assert world.actions.calls == [(world.action_id, {"who": "ann"}, f"rule:{rule_id}")]


async def test_a_failed_action_stops_the_rest_and_is_recorded(world: World) -> None:
    await world.worker().run_once()
    world.actions.failing.add(world.action_id)
    endpoint, _ = webhooks.create_endpoint(
        world.ctx,
        WebhookPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),)),
        "http://127.0.0.1:9/hook",
        ["agent.login"],
    )
    rule_id = world.rule(
        actions=[
            {
                "type": "data_action",
                "action_id": world.action_id,
                "input": {"who": "$.data.agent_id"},
            },
            {"type": "webhook", "endpoint_id": endpoint.id},
        ]
    )
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="ann")
    world.publish("agent.login")  # no agent_id: the input cannot be built
    await world.worker().run_once()
    executions = rules.list_executions(world.ctx, rule_id)
    assert [e.status for e in executions] == [ExecutionStatus.FAILED, ExecutionStatus.FAILED]
    no_input, failed = executions  # newest first
    assert no_input.results[0]["error"] == "input.who: $.data.agent_id finds nothing in the message"
    assert [r["outcome"] for r in failed.results] == ["failed"]
    assert failed.results[0]["error"] == "HTTP 500 after 3 attempts"
    assert webhooks.list_deliveries(world.ctx, endpoint.id) == []  # the webhook never ran


async def test_a_webhook_action_queues_the_message_for_that_endpoint(world: World) -> None:
    await world.worker().run_once()
    endpoint, _ = webhooks.create_endpoint(
        world.ctx,
        WebhookPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),)),
        "http://127.0.0.1:9/hook",
        ["webhook.endpoint.disabled"],  # not subscribed to agent.login itself
    )
    world.rule(actions=[{"type": "webhook", "endpoint_id": endpoint.id}])
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="ann")
    await world.worker().run_once()
    [delivery] = webhooks.list_deliveries(world.ctx, endpoint.id)
    assert delivery.topic == "agent.login"
    assert '"agent_id":"ann"' in delivery.payload


async def test_disabled_and_deleted_rules_do_nothing_but_keep_history(world: World) -> None:
    worker = world.worker()
    await worker.run_once()
    rule_id = world.rule()
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="ann")
    await worker.run_once()
    rules.set_enabled(world.ctx, rule_id, False)
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="bob")
    await worker.run_once()
    rules.set_enabled(world.ctx, rule_id, True)
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="cal")
    await worker.run_once()
    assert [call[1]["who"] for call in world.actions.calls] == ["ann", "cal"]
    rules.delete_rule(world.ctx, rule_id)
    assert len(rules.list_executions(world.ctx, rule_id)) == 2


async def test_a_dry_run_shows_what_the_last_day_would_have_fired(world: World) -> None:
    for agent_id, state in [("ann", "Out"), ("bob", "Out"), ("bob", "In")]:
        world.publish("adherence.changed", agent_id=agent_id, current={"adherence_state": state})
        world.clock.now += 60 * SECOND
    definition = {
        "name": "out 2 minutes",
        "topic": "adherence.changed",
        "criteria": [
            {"path": "$.data.current.adherence_state", "operator": "Equal", "value": "Out"}
        ],
        "for_seconds": 120,
        "actions": [
            {
                "type": "data_action",
                "action_id": world.action_id,
                "input": {"who": "$.data.agent_id"},
            }
        ],
    }
    result = rules.dry_run(world.ctx, definition)
    assert result.messages == 3
    [firing] = result.firings
    assert (firing.subject, firing.at) == ("ann", START + 120 * SECOND)
    assert firing.actions[0]["input"] == {"who": "ann"}
    assert world.actions.calls == []  # nothing ran


def test_messages_are_not_read_past_a_gap_a_transaction_may_still_fill() -> None:
    def message(seq: int) -> StoredMessage:
        return StoredMessage(seq, f"m{seq}", "agent.login", START, "{}")

    after_a_gap = [message(12), message(13), message(15)]
    assert _without_gaps(10, after_a_gap, grace_over=False) == []
    assert [m.seq for m in _without_gaps(10, after_a_gap, grace_over=True)] == [12, 13]
    assert [m.seq for m in _without_gaps(11, after_a_gap, grace_over=False)] == [12, 13]


async def test_criteria_that_fail_at_run_time_stop_only_their_own_rule(world: World) -> None:
    worker = world.worker()
    await worker.run_once()
    broken = world.rule(criteria=[{"path": '$[?(@ =~ "(")]', "operator": "Exists"}])
    broken_subject = world.rule(subject_path='$[?(@ =~ "(")]', for_seconds=5)
    working = world.rule()
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="ann")
    assert await worker.run_once() == 1
    assert rules.list_executions(world.ctx, broken) == []
    assert rules.list_executions(world.ctx, broken_subject) == []
    assert [e.subject for e in rules.list_executions(world.ctx, working)] == ["ann"]


async def test_an_action_that_raises_fails_its_execution_once_and_is_not_repeated(
    world: World,
) -> None:
    worker = world.worker()
    await worker.run_once()
    world.actions.raising = True
    rule_id = world.rule()
    world.clock.now += SECOND
    world.publish("agent.login", agent_id="ann")
    await worker.run_once()
    await worker.run_once()
    [execution] = rules.list_executions(world.ctx, rule_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.results[0]["error"] == "RuntimeError: the runner broke"
    assert len(world.actions.calls) == 1

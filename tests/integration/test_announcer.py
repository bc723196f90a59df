"""The announcer on a real database with a hand-moved clock: adherence changes, exceptions,
missed shift starts and queue membership published as messages, recovered after a crash, and
nothing published (nor recorded) while nobody listens."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import orjson
import pytest
from sqlalchemy import func, select

from adhere.adapters import schema
from adhere.adapters.database import connect, upgrade
from adhere.adapters.store import SqlStore
from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import Category, Presence
from adhere.domain.instants import MICROS_PER_MINUTE, MICROS_PER_SECOND, Instant, parse_instant
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.domain.schedule import Activity, ActivityCode, ScheduleReplacement
from adhere.domain.settings import AdherenceSettings
from adhere.domain.topics import TOPICS
from adhere.service import announcer as announcer_module
from adhere.service import organisation, webhooks
from adhere.service.announcer import Announcer
from adhere.service.context import Limits, ServiceContext
from adhere.service.ingestion import ingest_parsed
from adhere.service.live import LiveAdherence
from adhere.service.replay import rebuild
from adhere.service.schedules import replace_schedules

SECOND = MICROS_PER_SECOND
MINUTE = MICROS_PER_MINUTE
NINE = parse_instant("2026-06-01T09:00:00Z")
POLICY = webhooks.WebhookPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
EXCEPTIONS = (
    "adherence.exception.started",
    "adherence.exception.severe",
    "adherence.exception.ended",
)


class Clock:
    def __init__(self) -> None:
        self.now = NINE - 60 * MINUTE

    def __call__(self) -> int:
        return self.now


def at(minutes: float) -> Instant:
    """`minutes` after nine o'clock."""
    return NINE + round(minutes * MINUTE)


@dataclass
class World:
    database_url: str
    clock: Clock
    ctx: ServiceContext
    announcer: Announcer

    def announce(self, minutes: float) -> list[dict[str, Any]]:
        """Move the clock to `minutes` after nine and announce; the messages published."""
        before = self.message_count()
        self.clock.now = at(minutes)
        self.announcer.announce_once(self.clock.now)
        return self.messages()[before:]

    def message_count(self) -> int:
        with self.ctx.store.reading() as tx:
            found: int = tx.connection.execute(
                select(func.count()).select_from(schema.webhook_messages)
            ).scalar_one()
        return found

    def messages(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Every message stored, oldest first, each checked against its topic's schema."""
        with self.ctx.store.reading() as tx:
            rows = tx.connection.execute(
                select(schema.webhook_messages.c.payload).order_by(schema.webhook_messages.c.seq)
            ).scalars()
            found = [orjson.loads(row) for row in rows]
        for message in found:
            jsonschema.validate(message["data"], TOPICS[message["type"]].data_schema)
        return [m for m in found if topic is None or m["type"] == topic]

    def subscribe(self, *topics: str, filter_json: object = None) -> str:
        endpoint, _ = webhooks.create_endpoint(
            self.ctx, POLICY, "http://127.0.0.1:9/hook", list(topics), None, filter_json
        )
        return endpoint.id

    def delivered_to(self, endpoint_id: str) -> list[dict[str, Any]]:
        deliveries = webhooks.list_deliveries(self.ctx, endpoint_id)
        return [orjson.loads(delivery.payload) for delivery in deliveries]

    def event(self, event_id: str, minutes: float, kind: EventKind, **fields: Any) -> None:
        event = AgentEvent(event_id, fields.pop("agent", "lee"), at(minutes), kind, **fields)
        results = ingest_parsed(self.ctx, [event])
        assert [r.outcome.value for r in results] == ["accepted"], results

    def login(self, event_id: str, minutes: float, **fields: Any) -> None:
        self.event(event_id, minutes, EventKind.LOGIN, system_presence=Presence.ON_QUEUE, **fields)

    def logout(self, event_id: str, minutes: float, **fields: Any) -> None:
        self.event(event_id, minutes, EventKind.LOGOUT, **fields)

    def schedule(self, *spans: tuple[float, float, str], agent: str = "lee") -> None:
        activities = [Activity(at(a), at(b), code) for a, b, code in spans]
        replace_schedules(
            self.ctx, [ScheduleReplacement(agent, at(-60 * 6), at(60 * 18), activities)]
        )

    def restart(self) -> World:
        """A new process on the same database: what was not announced is lost from memory."""
        return open_world(self.database_url, self.clock)


def open_world(database_url: str, clock: Clock) -> World:
    database = connect(database_url)
    upgrade(database)
    store = SqlStore(database, "test")
    live = LiveAdherence()
    ctx = ServiceContext(store, live, Limits(None, None), clock=clock)
    with live.lock:
        rebuild(live, store, clock.now)
    return World(database_url, clock, ctx, Announcer(ctx, 5 * MINUTE))


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    clock = Clock()
    opened = open_world(database_url, clock)
    ctx = opened.ctx
    settings = AdherenceSettings(
        adherence_exception_threshold_seconds=60, severe_alert_threshold_minutes=5
    )
    organisation.put_management_unit(ctx, ManagementUnit("mu", "Unit", "UTC", settings))
    for code, category in (("oq", Category.ON_QUEUE_WORK), ("brk", Category.BREAK)):
        organisation.put_activity_code(ctx, "mu", ActivityCode(code, code, category))
    organisation.put_team(ctx, Team("blue", "Blue", "mu"))
    organisation.put_agent(ctx, Agent("lee", "Lee", "mu", "blue"))
    organisation.put_agent(ctx, Agent("kim", "Kim", "mu"))
    yield opened
    ctx.store.engine.dispose()


def adherence(message: dict[str, Any], which: str) -> tuple[str, str, str]:
    found = message["data"][which]
    return found["scheduled_category"], found["actual_category"], found["adherence_state"]


def test_a_late_login_is_announced_as_adherence_changes(world: World) -> None:
    world.schedule((0, 480, "oq"))
    world.subscribe("adherence.changed")
    assert world.announce(-30) == []  # from now on; the state before is taken as known
    changes = world.announce(0.5)  # the shift began: Offline while on-queue work is due
    assert [adherence(m, "previous") for m in changes] == [
        ("Unscheduled", "Offline", "Unscheduled")
    ]
    assert [adherence(m, "current") for m in changes] == [
        ("OnQueueWork", "Offline", "OutOfAdherence")
    ]
    world.login("in", 3)
    changes = world.announce(3.1)
    assert len(changes) == 1
    data = changes[0]["data"]
    assert data["at"] == "2026-06-01T09:03:00Z"
    assert data["until"] is None
    assert (data["agent_id"], data["management_unit_id"], data["team_id"]) == ("lee", "mu", "blue")
    assert adherence(changes[0], "current") == ("OnQueueWork", "OnQueueWork", "InAdherence")
    assert data["current"]["impact"] == "Neutral"
    assert (data["correction"], data["recovered"]) == (False, False)
    assert world.announce(4) == []


def test_a_correction_is_announced_as_one(world: World) -> None:
    world.schedule((0, 480, "oq"))
    world.subscribe("adherence.changed")
    world.announce(-30)
    world.login("in", 2)
    world.event("brk", 8, EventKind.PRESENCE, system_presence=Presence.BREAK)
    world.announce(10)
    world.logout("out", 5)  # late: the agent was logged out from 9:05 to the break
    (change,) = world.announce(10.1)
    data = change["data"]
    assert (data["correction"], data["recovered"]) == (True, False)
    assert (data["at"], data["until"]) == ("2026-06-01T09:05:00Z", "2026-06-01T09:08:00Z")
    assert adherence(change, "previous") == ("OnQueueWork", "OnQueueWork", "InAdherence")
    assert adherence(change, "current") == ("OnQueueWork", "Offline", "OutOfAdherence")


def test_an_exception_starts_becomes_severe_and_ends(world: World) -> None:
    world.schedule((0, 480, "oq"))
    world.subscribe(*EXCEPTIONS)
    world.announce(-30)
    assert world.announce(0.5) == []  # out of adherence for 30 s: not an exception yet
    (started,) = world.announce(1)
    assert started["type"] == "adherence.exception.started"
    assert started["data"]["start"] == "2026-06-01T09:00:00Z"
    assert started["data"]["impact"] == "Negative"
    assert started["data"]["threshold_seconds"] == 60
    assert world.announce(4.9) == []
    (severe,) = world.announce(5)
    assert severe["type"] == "adherence.exception.severe"
    assert severe["data"]["threshold_minutes"] == 5
    world.login("in", 7)
    (ended,) = world.announce(7.05)
    assert ended["type"] == "adherence.exception.ended"
    data = ended["data"]
    assert (data["start"], data["end"]) == ("2026-06-01T09:00:00Z", "2026-06-01T09:07:00Z")
    assert data["duration_seconds"] == 420
    assert (data["severe"], data["impact"], data["correction"]) == (True, "Negative", False)
    # A run shorter than the threshold is no exception.
    world.event("brb", 20, EventKind.PRESENCE, system_presence=Presence.AVAILABLE)
    world.announce(20.5)
    world.event("back", 20.75, EventKind.PRESENCE, system_presence=Presence.ON_QUEUE)
    assert world.announce(30) == []


def test_a_run_seen_only_once_it_ended_is_announced_whole(world: World) -> None:
    world.schedule((0, 480, "oq"))
    world.subscribe(*EXCEPTIONS)
    world.announce(-30)
    world.login("in", 2)  # the announcer looks only after the login: a 2-minute run
    assert [m["type"] for m in world.announce(6)] == [
        "adherence.exception.started",
        "adherence.exception.ended",
    ]
    assert world.messages()[-1]["data"]["severe"] is False


def test_thresholds_come_from_the_agents_management_unit(world: World) -> None:
    strict = AdherenceSettings(
        adherence_exception_threshold_seconds=0, severe_alert_threshold_minutes=1
    )
    organisation.put_management_unit(world.ctx, ManagementUnit("mu", "Unit", "UTC", strict))
    world.schedule((0, 480, "oq"))
    world.subscribe(*EXCEPTIONS)
    world.announce(-30)
    assert [m["type"] for m in world.announce(0)] == ["adherence.exception.started"]
    assert [m["type"] for m in world.announce(1)] == ["adherence.exception.severe"]


def test_a_missed_shift_start_is_announced_once_per_shift(world: World) -> None:
    world.schedule((0, 240, "oq"), (240, 480, "brk"), (600, 660, "oq"))
    world.schedule((0, 240, "oq"), agent="kim")
    world.subscribe("shift.start.missed")
    world.announce(-30)
    world.login("kim-in", 2, agent="kim")  # in time
    assert world.announce(4.9) == []
    (missed,) = world.announce(5)
    data = missed["data"]
    assert (data["agent_id"], data["shift_start"]) == ("lee", "2026-06-01T09:00:00Z")
    assert (data["after_minutes"], data["scheduled_category"]) == (5, "OnQueueWork")
    assert data["scheduled_activity_code_id"] == "oq"
    assert world.announce(30) == []  # once: the break that touches the shift starts none
    assert world.announce(300) == []
    assert [m["data"]["shift_start"] for m in world.announce(605)] == ["2026-06-01T19:00:00Z"]
    assert world.restart().announce(610) == []  # nor again after a restart


def test_a_schedule_edit_moves_the_shift_start_waited_for(world: World) -> None:
    world.schedule((0, 240, "oq"))
    world.subscribe("shift.start.missed")
    world.announce(-30)
    world.schedule((60, 240, "oq"))  # the shift now begins at ten
    assert world.announce(30) == []
    assert [m["data"]["shift_start"] for m in world.announce(65)] == ["2026-06-01T10:00:00Z"]


def test_queue_membership_changes_are_announced(world: World) -> None:
    world.subscribe("routing.queue.member.status")
    world.announce(-30)
    world.login("in", 1, queue_ids=("sales", "support"))
    (joined,) = world.announce(1.1)
    data = joined["data"]
    assert (data["event_id"], data["time"]) == ("in", "2026-06-01T09:01:00Z")
    assert (data["queue_ids"], data["joined"], data["left"]) == (
        ["sales", "support"],
        ["sales", "support"],
        [],
    )
    world.event("p", 2, EventKind.PRESENCE, system_presence=Presence.BREAK)  # no queue ids
    world.event("q", 3, EventKind.STATE, queue_ids=("support", "sales"))  # the same queues
    assert world.announce(3.1) == []
    world.event("r", 4, EventKind.STATE, queue_ids=("support", "billing"))
    (moved,) = world.announce(4.1)
    assert (moved["data"]["joined"], moved["data"]["left"]) == (["billing"], ["sales"])
    world.event("late", 3.5, EventKind.STATE, queue_ids=("vip",))  # older than the latest
    assert world.announce(5) == []


def test_schedule_changed_is_published_in_the_schedules_transaction(world: World) -> None:
    world.subscribe("schedule.changed")
    world.schedule((0, 240, "oq"), (240, 300, "brk"))  # no announcer involved
    (changed,) = world.messages()
    data = changed["data"]
    assert (data["agent_id"], data["management_unit_id"], data["team_id"]) == ("lee", "mu", "blue")
    assert (data["start"], data["end"]) == ("2026-06-01T03:00:00Z", "2026-06-02T03:00:00Z")
    assert data["activity_count"] == 2
    good = ScheduleReplacement("kim", at(0), at(60), [Activity(at(0), at(60), "oq")])
    bad = ScheduleReplacement("lee", at(0), at(60), [Activity(at(0), at(60), "nope")])
    with pytest.raises(Exception, match="nope"):
        replace_schedules(world.ctx, [good, bad])
    assert len(world.messages()) == 1  # the failed batch published nothing


def test_what_was_never_announced_is_recovered_after_a_crash(world: World) -> None:
    world.schedule((0, 480, "oq"))
    world.subscribe("adherence.changed", *EXCEPTIONS, "routing.queue.member.status")
    world.announce(-30)
    world.announce(2)  # the shift began: out of adherence, an exception
    before = world.messages()
    assert [m["type"] for m in before] == ["adherence.changed", "adherence.exception.started"]
    # Committed, applied to the engine, but the process dies before announcing them.
    world.login("in", 3, queue_ids=("sales",))
    world.event("brk", 4, EventKind.PRESENCE, system_presence=Presence.BREAK)
    world.clock.now = at(6)
    restarted = world.restart()
    recovered = restarted.announce(6)
    assert {m["data"]["recovered"] for m in recovered} == {True}
    assert [m["type"] for m in recovered] == [
        "adherence.changed",
        "adherence.exception.ended",  # the run that was announced
        "adherence.exception.started",  # the run since the break, an exception at 9:05
        "routing.queue.member.status",
    ]
    changed, ended, started, queues = (m["data"] for m in recovered)
    assert adherence({"data": changed}, "previous") == ("OnQueueWork", "Offline", "OutOfAdherence")
    assert adherence({"data": changed}, "current") == ("OnQueueWork", "Break", "OutOfAdherence")
    assert changed["at"] == "2026-06-01T09:04:00Z"
    assert (ended["start"], ended["end"]) == ("2026-06-01T09:00:00Z", "2026-06-01T09:03:00Z")
    assert (ended["duration_seconds"], ended["severe"]) == (180, False)
    assert started["start"] == "2026-06-01T09:04:00Z"
    assert (queues["event_id"], queues["joined"], queues["left"]) == (None, ["sales"], [])
    assert restarted.announce(6.5) == []
    assert world.messages()[: len(before)] == before  # nothing announced twice
    restarted.login("in-again", 7)
    live = restarted.announce(7.5)
    assert [(m["type"], m["data"]["recovered"]) for m in live] == [
        ("adherence.changed", False),
        ("adherence.exception.ended", False),
    ]
    assert restarted.restart().announce(8) == []  # what was announced is stored with it


def test_a_crash_with_an_open_exception_recovers_its_severity(world: World) -> None:
    world.schedule((0, 480, "oq"))
    world.subscribe(*EXCEPTIONS)
    world.announce(-30)
    assert [m["type"] for m in world.announce(1)] == ["adherence.exception.started"]
    world.clock.now = at(8)  # down from 9:01 to 9:08
    restarted = world.restart()
    (severe,) = restarted.announce(8)
    assert severe["type"] == "adherence.exception.severe"
    assert severe["data"]["recovered"] is True
    restarted.login("in", 9)
    (ended,) = restarted.announce(9.1)
    assert ended["data"]["start"] == "2026-06-01T09:00:00Z"
    assert (ended["data"]["severe"], ended["data"]["recovered"]) == (True, False)


def test_a_rebuild_of_the_live_state_is_compared_with_what_was_announced(world: World) -> None:
    world.schedule((0, 480, "oq"))
    world.subscribe("adherence.changed")
    world.announce(-30)
    world.announce(1)
    world.login("api", 2)  # applied live: announced as it happened, after the rebuild too
    # A write by another process (the CLI) reaches the engine only through a rebuild.
    cli = ServiceContext(world.ctx.store, None, Limits(None, None), clock=world.clock)
    ingest_parsed(cli, [AgentEvent("cli", "lee", at(3), EventKind.LOGOUT)])
    live = world.ctx.live
    assert live is not None
    with world.ctx.exclusive():
        rebuild(live, world.ctx.store, at(4))
    messages = world.announce(4)
    assert [(m["data"]["at"], m["data"]["recovered"]) for m in messages] == [
        ("2026-06-01T09:02:00Z", False),
        ("2026-06-01T09:03:00Z", True),
    ]
    assert adherence(messages[-1], "previous") == ("OnQueueWork", "OnQueueWork", "InAdherence")
    assert adherence(messages[-1], "current") == ("OnQueueWork", "Offline", "OutOfAdherence")
    assert world.announce(5) == []


def test_nothing_is_recorded_while_nobody_listens(world: World) -> None:
    live = world.ctx.live
    assert live is not None
    world.schedule((0, 480, "oq"))
    world.announce(0)
    assert not world.announcer.tracking
    assert not live.announcing
    endpoint_id = world.subscribe("adherence.changed")
    world.announce(1)
    assert world.announcer.tracking
    assert live.announcing
    with world.ctx.store.reading() as tx:
        assert tx.announcements.tracking_since() == at(1)
        assert set(tx.announcements.agents()) == {"lee"}  # kim has nothing to remember
    webhooks.delete_endpoint(world.ctx, endpoint_id)
    world.announce(2)
    assert not world.announcer.tracking
    assert not live.announcing
    with world.ctx.store.reading() as tx:
        assert tx.announcements.tracking_since() is None
        assert tx.announcements.agents() == {}


def test_filters_choose_the_messages_each_endpoint_gets(world: World) -> None:
    world.schedule((0, 480, "oq"))
    everything = world.subscribe("adherence.changed")
    out = world.subscribe(
        "adherence.changed",
        filter_json=[
            {
                "path": "$.data.current.adherence_state",
                "operator": "Equal",
                "value": "OutOfAdherence",
            }
        ],
    )
    world.announce(-30)
    world.announce(1)
    world.login("in", 2)
    world.announce(3)
    assert len(world.delivered_to(everything)) == 2
    assert [adherence(m, "current")[2] for m in world.delivered_to(out)] == ["OutOfAdherence"]


def test_agent_messages_say_what_was_scheduled_at_the_events_time(world: World) -> None:
    world.schedule((0, 240, "oq"))
    on_queue = [{"path": "$.data.scheduled_category", "operator": "Equal", "value": "OnQueueWork"}]
    endpoint_id = world.subscribe("agent.login", "agent.logout", filter_json=on_queue)
    every = world.subscribe("agent.login", "agent.logout")
    world.login("early", -10)  # unscheduled then
    world.logout("out", -5)
    world.login("in", 1)
    cli = ServiceContext(world.ctx.store, None, Limits(None, None), clock=world.clock)
    ingest_parsed(cli, [AgentEvent("cli-out", "lee", at(2), EventKind.LOGOUT)])  # the store
    assert [m["data"]["event_id"] for m in world.delivered_to(endpoint_id)] == ["in", "cli-out"]
    scheduled = [
        (m["data"]["scheduled_category"], m["data"]["scheduled_activity_code_id"])
        for m in world.delivered_to(every)
    ]
    assert scheduled == [
        ("Unscheduled", None),
        ("Unscheduled", None),
        ("OnQueueWork", "oq"),
        ("OnQueueWork", "oq"),
    ]
    data = world.delivered_to(every)[0]["data"]
    assert (data["management_unit_id"], data["team_id"]) == ("mu", "blue")
    world.messages()  # every one valid


def test_a_message_only_a_workflow_rule_wants_is_stored_without_deliveries(world: World) -> None:
    message = {"type": "adherence.changed", "timestamp": "2026-06-01T09:00:00Z", "data": {}}
    wanted = webhooks.Interest(rule_topics=frozenset({"adherence.changed"}))
    with world.ctx.store.transaction() as tx:
        assert webhooks.publish_message(tx, wanted, message, at(0))
        assert not webhooks.publish_message(tx, webhooks.Interest(), message, at(0))
    with world.ctx.store.reading() as tx:
        count = select(func.count()).select_from(schema.webhook_deliveries)
        assert tx.connection.execute(count).scalar_one() == 0
        messages = select(schema.webhook_messages.c.topic)
        assert list(tx.connection.execute(messages).scalars()) == ["adherence.changed"]


def test_a_round_that_fails_to_commit_is_made_good_by_the_next(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.schedule((0, 480, "oq"))
    world.subscribe("adherence.changed")
    world.announce(-30)
    world.login("in", 1)

    def broken(*_args: object) -> bool:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(announcer_module, "publish_message", broken)
    with pytest.raises(RuntimeError):
        world.announce(2)
    monkeypatch.undo()
    world.logout("out", 3)
    (message,) = world.announce(4)  # what the lost round and this one knew, compared
    assert adherence(message, "previous") == ("Unscheduled", "Offline", "Unscheduled")
    assert adherence(message, "current") == ("OnQueueWork", "Offline", "OutOfAdherence")
    assert (message["data"]["at"], message["data"]["recovered"]) == ("2026-06-01T09:03:00Z", True)
    assert world.announce(5) == []


def test_a_filter_that_fails_on_a_message_never_fails_the_write(world: World) -> None:
    broken = [{"path": '$.data.queue_ids[?(@ =~ "(")]', "operator": "Exists", "value": True}]
    endpoint_id = world.subscribe("agent.login", filter_json=broken)
    every = world.subscribe("agent.login")
    world.login("in", 1, queue_ids=("sales",))  # accepted, although the filter raises on it
    assert world.delivered_to(endpoint_id) == []
    assert [m["data"]["event_id"] for m in world.delivered_to(every)] == ["in"]

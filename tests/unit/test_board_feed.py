"""The board's change feed: which agents each input touches, the ring of published rows,
resuming from an event id, snapshots, filtering, and waking the streams."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time

import pytest

from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import Category, Presence
from adhere.domain.engine import AdherenceEngine
from adhere.domain.explanations import Explanation, ExplanationStatus
from adhere.domain.instants import Instant, parse_instant
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.domain.schedule import Activity, ActivityCode
from adhere.domain.settings import AdherenceSettings
from adhere.service.auth import Visibility
from adhere.service.board_feed import Batch, BoardFeed
from adhere.service.live import LiveAdherence, LiveRow

CODES = [
    ActivityCode("oq", "On queue", Category.ON_QUEUE_WORK),
    ActivityCode("brk", "Break", Category.BREAK),
]
UNIT = ManagementUnit("mu", "Paris", "Europe/Paris")
OTHER_UNIT = ManagementUnit("lon", "London", "Europe/London")
AGENTS = [
    Agent("ana", "Ana", "mu", "blue"),
    Agent("ben", "Ben", "mu", "green"),
    Agent("cy", "Cy", "lon"),
]
EVERYONE = Visibility().sees


def at(clock: str) -> Instant:
    return parse_instant(f"2026-06-02T{clock}Z")


def encode(row: LiveRow, horizon: Instant | None, unit: ManagementUnit, now: Instant) -> str:
    """Enough of a row to tell its versions apart, and the arguments the feed passes."""
    return json.dumps(
        {
            "agent_id": row.agent.id,
            "state": row.adherence.adherence_state.value,
            "actual": row.adherence.actual_category.value,
            "horizon": horizon,
            "unit": unit.id,
            "severe_after": unit.settings.severe_alert_threshold_minutes * 60,
        }
    )


class Clock:
    now = at("09:30:00")

    def __call__(self) -> Instant:
        return self.now


@pytest.fixture
def live() -> LiveAdherence:
    live = LiveAdherence()
    with live.lock:
        live.configure_unit(UNIT, CODES)
        live.configure_unit(OTHER_UNIT, CODES)
        for agent in AGENTS:
            live.add_agent(agent)
        live.replace_schedule(
            "ana", at("09:00:00"), at("11:00:00"), [Activity(at("09:00:00"), at("11:00:00"), "oq")]
        )
    return live


@pytest.fixture
def feed(live: LiveAdherence) -> BoardFeed:
    feed = BoardFeed(live, Clock(), encode)
    feed.publish()  # every agent, as the service does when it starts
    return feed


def ingest(live: LiveAdherence, event_id: str, agent: str, clock: str, presence: Presence) -> None:
    kind = EventKind.LOGIN if event_id.endswith("login") else EventKind.PRESENCE
    with live.lock:
        live.ingest([AgentEvent(event_id, agent, at(clock), kind, system_presence=presence)])


def texts(batch: Batch) -> dict[str, str]:
    return {json.loads(text)["agent_id"]: text for text in batch.rows}


def rows(batch: Batch) -> dict[str, dict[str, object]]:
    decoded = [json.loads(text) for text in batch.rows]
    by_agent = {row["agent_id"]: row for row in decoded}
    assert len(by_agent) == len(decoded), "an agent appears twice in one batch"
    return by_agent


# ---- what the engine's inputs touch -------------------------------------------------------


def test_every_input_touches_the_agents_whose_row_it_may_change(live: LiveAdherence) -> None:
    with live.lock:
        assert live.take_touched() == {"ana", "ben", "cy"}  # added, configured, scheduled
        assert live.take_touched() == set()
        # An event touches its agent even when adherence does not change (presence shows).
        live.ingest([AgentEvent("e1", "ben", at("08:00:00"), EventKind.LOGIN)])
        assert live.take_touched() == {"ben"}
        live.replace_schedule("cy", at("12:00:00"), at("13:00:00"), [])
        assert live.take_touched() == {"cy"}
        live.put_explanation(
            Explanation("x1", "ana", at("09:00:00"), 5, status=ExplanationStatus.APPROVED)
        )
        assert live.take_touched() == {"ana"}
        live.add_agent(Agent("dee", "Dee", "lon"))
        assert live.take_touched() == {"dee"}
        # A unit's settings reach each of its agents' rows (the severe threshold).
        nine = AdherenceSettings(severe_alert_threshold_minutes=9)
        live.configure_unit(ManagementUnit("lon", "London", "Europe/London", nine), CODES)
        assert live.take_touched() == {"cy", "dee"}
        # The clock: ana's shift starts while she is logged in, but not on queue.
        live.ingest([AgentEvent("e2", "ana", at("08:30:00"), EventKind.LOGIN)])
        live.take_touched()
        live.catch_up(at("09:00:01"))
        assert live.take_touched() == {"ana"}
        engine = AdherenceEngine()
        engine.configure_unit(UNIT, CODES)
        engine.add_agent(AGENTS[0])
        live.replace_engine(engine)
        assert live.take_touched() == {"ana"}


# ---- publishing and reading ------------------------------------------------------------


def test_a_snapshot_holds_each_agents_latest_row_and_names_the_position(feed: BoardFeed) -> None:
    batch = feed.start(None, EVERYONE)
    assert batch.snapshot
    assert set(rows(batch)) == {"ana", "ben", "cy"}
    assert rows(batch)["ana"]["unit"] == "mu"
    assert rows(batch)["ana"]["severe_after"] == 300
    assert batch.event_id == f"{feed.epoch}-{batch.seq}"
    assert batch.seq == 3


def test_many_touched_agents_are_published_each_once(live: LiveAdherence) -> None:
    with live.lock:
        for number in range(1234):  # several of the publisher's chunks
            live.add_agent(Agent(f"a{number}", f"Agent {number}", "mu"))
    feed = BoardFeed(live, Clock(), encode)
    assert feed.publish() == 1234 + 3
    assert len(rows(feed.start(None, EVERYONE))) == 1234 + 3
    assert feed.publish() == 0


def test_publishing_renders_only_the_touched_agents(feed: BoardFeed, live: LiveAdherence) -> None:
    assert feed.publish() == 0  # nothing touched since
    ingest(live, "a-login", "ana", "09:10:00", Presence.ON_QUEUE)
    assert feed.publish() == 1
    batch = feed.since(3, EVERYONE)
    assert batch is not None
    assert not batch.snapshot
    assert rows(batch) == {
        "ana": {
            "agent_id": "ana",
            "state": "InAdherence",
            "actual": "OnQueueWork",
            "horizon": at("09:10:00"),
            "unit": "mu",
            "severe_after": 300,
        }
    }
    assert feed.since(batch.seq, EVERYONE) is None  # nothing newer


def test_resuming_sends_each_changed_agent_once_with_its_latest_row(
    feed: BoardFeed, live: LiveAdherence
) -> None:
    seen = feed.start(None, EVERYONE)
    ingest(live, "a-login", "ana", "09:10:00", Presence.ON_QUEUE)
    feed.publish()
    ingest(live, "a-break", "ana", "09:20:00", Presence.BREAK)
    ingest(live, "b-login", "ben", "09:21:00", Presence.ON_QUEUE)
    feed.publish()
    resumed = feed.start(seen.event_id, EVERYONE)
    assert not resumed.snapshot
    changed = rows(resumed)
    assert set(changed) == {"ana", "ben"}
    assert changed["ana"]["actual"] == "Break"
    assert changed["ana"]["state"] == "OutOfAdherence"
    assert resumed.seq == seen.seq + 3
    # Resuming where one is: nothing to send, still a batch (the stream's first event).
    again = feed.start(resumed.event_id, EVERYONE)
    assert (again.snapshot, again.rows, again.seq) == (False, [], resumed.seq)


def test_a_resumed_client_ends_with_the_rows_of_a_fresh_one(
    feed: BoardFeed, live: LiveAdherence
) -> None:
    """Clients drop out at random moments of a random day and resume with their last id."""
    chance = random.Random(20260602)
    presences = [Presence.ON_QUEUE, Presence.BREAK, Presence.AWAY, Presence.OFFLINE]
    clients: list[tuple[dict[str, str], str]] = []
    clock = at("09:00:00")
    for step in range(200):
        clock += 7_000_000
        agent = chance.choice(AGENTS).id
        event = AgentEvent(
            f"e{step}", agent, clock, EventKind.PRESENCE, system_presence=chance.choice(presences)
        )
        with live.lock:
            live.ingest([event])
        if chance.random() < 0.4:
            feed.publish()
        if chance.random() < 0.1:  # a client connects (fresh) and will drop out now
            batch = feed.start(None, EVERYONE)
            clients.append((texts(batch), batch.event_id))
    feed.publish()
    fresh = feed.start(None, EVERYONE)
    expected = texts(fresh)
    assert len(clients) > 5
    for state, last_id in clients:
        resumed = feed.start(last_id, EVERYONE)
        assert not resumed.snapshot
        state.update(texts(resumed))
        assert state == expected


def test_a_position_the_ring_no_longer_holds_gets_a_snapshot(live: LiveAdherence) -> None:
    feed = BoardFeed(live, Clock(), encode, capacity=4)
    feed.publish()  # 3 rows: 1..3
    first = feed.start(None, EVERYONE)
    ingest(live, "a-login", "ana", "09:10:00", Presence.ON_QUEUE)
    ingest(live, "b-login", "ben", "09:10:00", Presence.ON_QUEUE)
    feed.publish()  # 4, 5: the ring holds 2..5, and every row after position 1
    assert not feed.start(feed.event_id(1), EVERYONE).snapshot
    ingest(live, "c-login", "cy", "09:10:00", Presence.ON_QUEUE)
    feed.publish()  # 6: the ring holds 3..6, row 2 is lost
    assert feed.start(feed.event_id(1), EVERYONE).snapshot
    behind = feed.since(first.seq - 2, EVERYONE)
    assert behind is not None
    assert behind.snapshot
    assert set(rows(behind)) == {"ana", "ben", "cy"}
    assert not feed.start(feed.event_id(2), EVERYONE).snapshot


@pytest.mark.parametrize(
    "last_event_id",
    ["", "garbage", "0123456789ab-1", "-1", "{epoch}-99", "{epoch}-x", "{epoch}-²", "{epoch}"],
)
def test_an_id_from_another_process_or_unknown_here_gets_a_snapshot(
    feed: BoardFeed, last_event_id: str
) -> None:
    batch = feed.start(last_event_id.format(epoch=feed.epoch), EVERYONE)
    assert batch.snapshot
    assert set(rows(batch)) == {"ana", "ben", "cy"}


def test_each_process_start_has_its_own_epoch(live: LiveAdherence) -> None:
    assert BoardFeed(live, Clock(), encode).epoch != BoardFeed(live, Clock(), encode).epoch


def test_streams_get_only_the_agents_they_may_and_want_to_see(
    feed: BoardFeed, live: LiveAdherence
) -> None:
    team = Visibility(team_ids=frozenset({"blue"})).sees
    unit = Visibility(unit_ids=frozenset({"mu"})).sees
    own = Visibility(agent_id="ben").sees
    assert set(rows(feed.start(None, team))) == {"ana"}
    assert set(rows(feed.start(None, unit))) == {"ana", "ben"}
    assert set(rows(feed.start(None, own))) == {"ben"}
    seen = feed.start(None, own)
    ingest(live, "a-login", "ana", "09:10:00", Presence.ON_QUEUE)
    feed.publish()
    hidden = feed.since(seen.seq, own)
    assert hidden is not None
    assert hidden.rows == []  # the position still moves on
    assert hidden.seq == seen.seq + 1
    assert set(rows(feed.start(seen.event_id, team))) == {"ana"}


def test_an_agent_who_moves_out_of_a_streams_view_is_removed_from_it(
    feed: BoardFeed, live: LiveAdherence
) -> None:
    blue = Visibility(team_ids=frozenset({"blue"})).sees
    green = Visibility(team_ids=frozenset({"green"})).sees
    seen = feed.start(None, blue)
    assert set(rows(seen)) == {"ana"}
    with live.lock:
        live.add_agent(Agent("ana", "Ana", "mu", "green"))  # ana moves to team green
    feed.publish()
    ingest(live, "a-login", "ana", "09:10:00", Presence.ON_QUEUE)  # and changes again
    feed.publish()
    for batch in (feed.since(seen.seq, blue), feed.start(seen.event_id, blue)):
        assert batch is not None
        assert rows(batch) == {"ana": {"agent_id": "ana", "removed": True}}
    assert rows(feed.start(None, green))["ana"]["actual"] == "OnQueueWork"
    assert "ana" not in rows(feed.start(None, blue))  # a fresh stream never hears of her


# ---- waking the streams, and stopping -----------------------------------------------------


def test_publishing_wakes_a_waiting_stream_from_another_thread(
    feed: BoardFeed, live: LiveAdherence
) -> None:
    async def wait_for_rows() -> Batch | None:
        listener = feed.listen()
        try:
            start = feed.start(None, EVERYONE)
            ingest(live, "a-login", "ana", "09:10:00", Presence.ON_QUEUE)
            threading.Timer(0.05, feed.publish).start()
            await asyncio.wait_for(listener.wait(), 2)
            return feed.since(start.seq, EVERYONE)
        finally:
            feed.forget(listener)

    batch = asyncio.run(wait_for_rows())
    assert batch is not None
    assert set(rows(batch)) == {"ana"}


def test_closing_the_feed_wakes_every_stream(feed: BoardFeed) -> None:
    async def wait_for_close() -> bool:
        listeners = [feed.listen(), feed.listen()]
        threading.Timer(0.05, feed.close).start()
        await asyncio.wait_for(asyncio.gather(*(listener.wait() for listener in listeners)), 2)
        return feed.closed

    assert not feed.closed
    assert asyncio.run(wait_for_close())


def test_the_publisher_publishes_while_a_stream_listens_until_told_to_stop(
    feed: BoardFeed, live: LiveAdherence
) -> None:
    stopping = threading.Event()
    publisher = threading.Thread(target=feed.run, args=(stopping,))
    publisher.start()

    async def listening() -> None:
        listener = feed.listen()
        seen = feed.start(None, EVERYONE)
        ingest(live, "b-login", "ben", "09:10:00", Presence.ON_QUEUE)
        await asyncio.wait_for(listener.wait(), 2)  # woken by the publisher's thread
        assert feed.since(seen.seq, EVERYONE) is not None
        feed.forget(listener)

    try:
        asyncio.run(listening())
    finally:
        stopping.set()
        publisher.join(1)
    assert not publisher.is_alive()


def test_while_no_stream_listens_rows_wait_for_the_next_stream(
    feed: BoardFeed, live: LiveAdherence
) -> None:
    """Rendering costs ingestion: with nobody watching, the publisher leaves the touched
    agents in the live state, and the next stream publishes them before its first batch."""
    stopping = threading.Event()
    publisher = threading.Thread(target=feed.run, args=(stopping,))
    publisher.start()
    try:
        before = feed.start(None, EVERYONE)
        ingest(live, "b-login", "ben", "09:10:00", Presence.ON_QUEUE)
        time.sleep(feed.interval_seconds * 6)
        assert feed.since(before.seq, EVERYONE) is None  # not rendered
    finally:
        stopping.set()
        publisher.join(1)
    assert feed.publish() == 1  # what a new stream does first
    assert rows(feed.start(before.event_id, EVERYONE))["ben"]["actual"] == "OnQueueWork"

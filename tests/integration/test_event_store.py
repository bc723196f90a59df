"""The event log decides duplicates by (agent, event id), across processes and rollbacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adhere.adapters.database import connect, upgrade
from adhere.adapters.store import SqlStore
from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import Presence, Routing
from adhere.domain.organisation import Agent, ManagementUnit

NOW = 1_780_000_000_000_000


def event(event_id: str, agent_id: str = "a1", offset: int = 0) -> AgentEvent:
    return AgentEvent(event_id, agent_id, NOW + offset, EventKind.LOGIN)


def two_processes(database_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two stores on one database, each with its own engine, as two processes have."""
    first, second = connect(database_url), connect(database_url)
    upgrade(first)
    try:
        yield SqlStore(first, "one"), SqlStore(second, "two")
    finally:
        first.dispose()
        second.dispose()


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    pairs = two_processes(database_url)
    one, two = next(pairs)
    with one.transaction() as tx:
        tx.put_management_unit(ManagementUnit("mu", "Unit", "UTC"))
        for agent_id in ("a1", "a2"):
            tx.put_agent(Agent(agent_id, agent_id, "mu", None, {}))
    yield one, two
    pairs.close()


def stored_ids(store: SqlStore) -> list[tuple[str, str]]:
    with store.reading() as tx:
        return sorted((e.agent_id, e.id) for e in tx.events())


def test_an_id_stored_by_another_process_is_a_duplicate(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    one, two = stores
    with two.transaction() as tx:  # `two` has seen the log before `one` writes
        assert tx.add_events([event("e0")], NOW) == {("a1", "e0")}
    with one.transaction() as tx:
        assert tx.add_events([event("e1"), event("e1", "a2")], NOW) == {("a1", "e1"), ("a2", "e1")}
    with two.transaction() as tx:
        assert tx.add_events([event("e1"), event("e2")], NOW) == {("a1", "e2")}
    with one.transaction() as tx:
        assert tx.add_events([event("e2"), event("e0")], NOW) == set()
    assert stored_ids(one) == [("a1", "e0"), ("a1", "e1"), ("a1", "e2"), ("a2", "e1")]


def test_events_of_a_rolled_back_transaction_are_not_remembered(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    one, _ = stores

    def failing_write() -> None:
        with one.transaction() as tx:
            assert tx.add_events([event("e1")], NOW) == {("a1", "e1")}
            raise RuntimeError("the write fails after the insert")

    with pytest.raises(RuntimeError):
        failing_write()
    assert stored_ids(one) == []
    with one.transaction() as tx:
        assert tx.add_events([event("e1")], NOW) == {("a1", "e1")}
    assert stored_ids(one) == [("a1", "e1")]


def test_one_transaction_adding_twice_stores_each_id_once(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    one, two = stores
    with one.transaction() as tx:
        assert tx.add_events([event("e1"), event("e1", offset=5)], NOW) == {("a1", "e1")}
        assert tx.add_events([event("e1"), event("e2")], NOW) == {("a1", "e2")}
    with two.transaction() as tx:
        assert tx.add_events([event("e1"), event("e2"), event("e3")], NOW) == {("a1", "e3")}
    assert stored_ids(two) == [("a1", "e1"), ("a1", "e2"), ("a1", "e3")]


def test_every_field_of_an_event_reads_back_as_stored(stores: tuple[SqlStore, SqlStore]) -> None:
    one, _ = stores
    full = AgentEvent(
        "e-ü",
        "a2",
        NOW + 123_456,
        EventKind.PRESENCE,
        Presence.BUSY,
        "meeting-7",
        Routing.INTERACTING,
        ("queue-1", "queue-2"),
    )
    sparse = AgentEvent("e2", "a1", -86_400_000_000, EventKind.LOGOUT)
    with one.transaction() as tx:
        tx.add_events([full, sparse], NOW)
    with one.reading() as tx:
        assert list(tx.events()) == [sparse, full]

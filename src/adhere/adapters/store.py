"""Storage of the adherence inputs (SQLAlchemy Core): what the engine is rebuilt from.

A `StoreTransaction` is one database transaction; nothing in it is visible, or acknowledged,
until `SqlStore.transaction` commits it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Row, and_, delete, insert, select, text
from sqlalchemy import update as sql_update

from adhere.adapters import schema
from adhere.adapters.action_store import ActionRecords
from adhere.adapters.announcement_store import AnnouncementRecords
from adhere.adapters.database import READ_ONLY
from adhere.adapters.event_keys import EventKey, StoredEventKeys
from adhere.adapters.rule_store import RuleRecords
from adhere.adapters.scenario_format import parse_settings, render_settings
from adhere.adapters.webhook_store import WebhookRecords
from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import Category, Presence, Routing
from adhere.domain.explanations import Explanation, ExplanationStatus, ExplanationType
from adhere.domain.instants import Instant
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.domain.schedule import Activity, ActivityCode

_CHUNK = 500  # rows per IN (...) lookup: well under every database's parameter limit


@dataclass(frozen=True, slots=True)
class StoredExplanation:
    explanation: Explanation
    notes: str | None
    created_us: Instant
    updated_us: Instant


class SqlStore:
    def __init__(self, engine: Engine, writer: str) -> None:
        self.engine = engine
        self.writer = writer  # recorded with each change, so a process can tell its own
        self._event_keys = StoredEventKeys() if engine.dialect.name == "sqlite" else None

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        with self.engine.begin() as connection:
            tx = StoreTransaction(connection, self.writer, self._event_keys)
            yield tx
        tx.committed()

    @contextmanager
    def reading(self) -> Iterator[StoreTransaction]:
        """A transaction that only reads: on SQLite it takes no lock, so it never waits."""
        with (
            self.engine.connect().execution_options(**READ_ONLY) as connection,
            connection.begin(),
        ):
            yield StoreTransaction(connection, self.writer, None)

    def announced_changes(self) -> list[int]:
        """The changes other processes announced (`record_change`) and nobody handled yet."""
        with self.engine.connect().execution_options(**READ_ONLY) as connection:
            seqs = list(connection.execute(select(schema.changes.c.seq)).scalars())
            connection.rollback()
        return seqs

    def forget_changes(self, seqs: Sequence[int]) -> None:
        with self.transaction() as tx:
            for offset in range(0, len(seqs), _CHUNK):
                chunk = seqs[offset : offset + _CHUNK]
                tx.connection.execute(delete(schema.changes).where(schema.changes.c.seq.in_(chunk)))


class StoreTransaction:
    def __init__(
        self, connection: Connection, writer: str, event_keys: StoredEventKeys | None
    ) -> None:
        self.connection = connection
        self.writer = writer
        self._event_keys = event_keys
        self._added: set[EventKey] = set()  # events stored by this transaction (SQLite)
        self._top: int | None = None  # the largest seq in `events`, once known (SQLite)

    @property
    def webhooks(self) -> WebhookRecords:
        return WebhookRecords(self.connection)

    @property
    def announcements(self) -> AnnouncementRecords:
        return AnnouncementRecords(self.connection)

    @property
    def actions(self) -> ActionRecords:
        return ActionRecords(self.connection)

    @property
    def rules(self) -> RuleRecords:
        return RuleRecords(self.connection)

    def committed(self) -> None:
        """Called by the store once this transaction has committed."""
        if self._added and self._event_keys is not None and self._top is not None:
            self._event_keys.committed(self._added, self._top)

    def record_change(self, what: str) -> None:
        """Tell a server on this database that its live state is stale (see `bootstrap`)."""
        self.connection.execute(
            insert(schema.changes).values(
                writer=self.writer, what=what, at_us=int(time.time() * 1_000_000)
            )
        )

    # ---- organisation --------------------------------------------------------------------

    def put_management_unit(self, unit: ManagementUnit) -> None:
        values = {
            "name": unit.name,
            "time_zone": unit.time_zone,
            "settings": render_settings(unit.settings),
        }
        self._upsert(schema.management_units, {"id": unit.id}, values)

    def management_units(self) -> list[ManagementUnit]:
        rows = self._all(select(schema.management_units).order_by(schema.management_units.c.id))
        return [_management_unit(row) for row in rows]

    def management_unit(self, unit_id: str) -> ManagementUnit | None:
        table = schema.management_units
        row = self.connection.execute(select(table).where(table.c.id == unit_id)).first()
        return None if row is None else _management_unit(row)

    def put_team(self, team: Team) -> None:
        values = {"name": team.name, "management_unit_id": team.management_unit_id}
        self._upsert(schema.teams, {"id": team.id}, values)

    def teams(self, unit_id: str | None = None) -> list[Team]:
        table = schema.teams
        query = select(table).order_by(table.c.id)
        if unit_id is not None:
            query = query.where(table.c.management_unit_id == unit_id)
        return [Team(row.id, row.name, row.management_unit_id) for row in self._all(query)]

    def team(self, team_id: str) -> Team | None:
        table = schema.teams
        row = self.connection.execute(select(table).where(table.c.id == team_id)).first()
        return None if row is None else Team(row.id, row.name, row.management_unit_id)

    def put_agent(self, agent: Agent) -> None:
        values = {
            "name": agent.name,
            "management_unit_id": agent.management_unit_id,
            "team_id": agent.team_id,
            "external_ids": dict(agent.external_ids),
        }
        self._upsert(schema.agents, {"id": agent.id}, values)

    def agents(self, unit_id: str | None = None, team_id: str | None = None) -> list[Agent]:
        table = schema.agents
        query = select(table).order_by(table.c.id)
        if unit_id is not None:
            query = query.where(table.c.management_unit_id == unit_id)
        if team_id is not None:
            query = query.where(table.c.team_id == team_id)
        return [_agent(row) for row in self._all(query)]

    def existing_agent_ids(self, agent_ids: Iterable[str]) -> set[str]:
        table = schema.agents
        ids = sorted(agent_ids)
        found: set[str] = set()
        for offset in range(0, len(ids), _CHUNK):
            query = select(table.c.id).where(table.c.id.in_(ids[offset : offset + _CHUNK]))
            found.update(self.connection.execute(query).scalars())
        return found

    def agent(self, agent_id: str) -> Agent | None:
        table = schema.agents
        row = self.connection.execute(select(table).where(table.c.id == agent_id)).first()
        return None if row is None else _agent(row)

    def put_activity_code(self, unit_id: str, code: ActivityCode) -> None:
        values = {
            "name": code.name,
            "category": code.category.value,
            "secondary_presence_id": code.secondary_presence_id,
            "active": code.active,
        }
        self._upsert(schema.activity_codes, {"management_unit_id": unit_id, "id": code.id}, values)

    def activity_codes(self, unit_id: str) -> list[ActivityCode]:
        table = schema.activity_codes
        query = select(table).where(table.c.management_unit_id == unit_id).order_by(table.c.id)
        return [
            ActivityCode(
                row.id, row.name, Category(row.category), row.secondary_presence_id, row.active
            )
            for row in self._all(query)
        ]

    # ---- schedules -----------------------------------------------------------------------

    def activities(
        self, agent_id: str, start: Instant | None = None, end: Instant | None = None
    ) -> list[Activity]:
        """The agent's activities overlapping ``[start, end)`` (all of them by default)."""
        table = schema.schedule_activities
        query = select(table).where(table.c.agent_id == agent_id).order_by(table.c.start_us)
        if start is not None:
            query = query.where(table.c.end_us > start)
        if end is not None:
            query = query.where(table.c.start_us < end)
        return [_activity(row) for row in self._all(query)]

    def all_activities(self) -> Iterator[tuple[str, Activity]]:
        table = schema.schedule_activities
        query = select(table).order_by(table.c.agent_id, table.c.start_us)
        for row in self.connection.execute(query):
            yield row.agent_id, _activity(row)

    def replace_activities(
        self, agent_id: str, overlapping: Sequence[Activity], result: Sequence[Activity]
    ) -> None:
        """Replace the stored `overlapping` activities by `result` (their replacement)."""
        table = schema.schedule_activities
        if overlapping:
            low = min(a.start for a in overlapping)
            high = max(a.end for a in overlapping)
            self.connection.execute(
                delete(table).where(
                    and_(
                        table.c.agent_id == agent_id, table.c.end_us > low, table.c.start_us < high
                    )
                )
            )
        if result:
            self.connection.execute(
                insert(table),
                [
                    {
                        "agent_id": agent_id,
                        "start_us": a.start,
                        "end_us": a.end,
                        "activity_code_id": a.activity_code_id,
                    }
                    for a in result
                ],
            )

    # ---- events --------------------------------------------------------------------------

    def add_events(self, new: Sequence[AgentEvent], received_us: Instant) -> set[tuple[str, str]]:
        """Store the events whose (agent, id) is new; returns the pairs actually stored.

        What is stored decides what is a duplicate (on PostgreSQL its unique key, on SQLite
        the stored keys brought up to date inside the write lock), so no other process can
        make an event count twice.
        """
        if not new:
            return set()
        if self.connection.dialect.name == "postgresql":
            return self._add_events_postgresql(new, received_us)
        return self._add_events_sqlite(new, received_us)

    def _add_events_sqlite(
        self, new: Sequence[AgentEvent], received_us: Instant
    ) -> set[tuple[str, str]]:
        """Duplicates are decided by the stored keys in memory (adapters/event_keys.py). The
        rows go to SQLite as one JSON array that it unpacks itself: binding nine parameters a
        row held the GIL for most of the insert, the JSON is read while it is released."""
        keys = self._event_keys
        assert keys is not None
        if self._top is None:  # the first events of this transaction
            self._top = keys.refresh(self.connection)
        fresh, stored = keys.new(new, self._added)
        if not fresh:
            return stored
        rows = orjson.dumps(
            [
                (
                    e.agent_id,
                    e.id,
                    e.time,
                    e.kind,
                    e.system_presence,
                    e.secondary_presence_id,
                    e.routing_status,
                    None if e.queue_ids is None else json.dumps(e.queue_ids),
                )
                for e in fresh
            ]
        )
        self.connection.exec_driver_sql(_SQLITE_EVENTS_INSERT, (received_us, rows))
        self._added |= stored
        self._top = self.connection.exec_driver_sql("SELECT max(seq) FROM events").scalar()
        return stored

    def _add_events_postgresql(
        self, new: Sequence[AgentEvent], received_us: Instant
    ) -> set[tuple[str, str]]:
        """One statement over arrays: a multi-row VALUES of 9,000 parameters is 2-3x slower."""
        columns: dict[str, Any] = {
            "agent_id": [e.agent_id for e in new],
            "event_id": [e.id for e in new],
            "time_us": [e.time for e in new],
            "kind": [e.kind.value for e in new],
            "system_presence": [e.system_presence for e in new],
            "secondary_presence_id": [e.secondary_presence_id for e in new],
            "routing_status": [e.routing_status for e in new],
            "queue_ids": [None if e.queue_ids is None else json.dumps(e.queue_ids) for e in new],
            "received_us": received_us,
        }
        found = self.connection.execute(_POSTGRESQL_EVENTS_INSERT, columns)
        return {(row.agent_id, row.event_id) for row in found}

    def events(self) -> Iterator[AgentEvent]:
        """Stored events in (time, arrival) order: replaying them in this order is exact."""
        table = schema.events
        query = select(table).order_by(table.c.time_us, table.c.seq)
        for row in self.connection.execution_options(yield_per=10_000).execute(query):
            yield _event(row)

    def events_received(
        self, since: Instant, until: Instant, limit: int
    ) -> list[tuple[AgentEvent, Instant]]:
        """Events accepted in [since, until], in arrival order, with when each was accepted
        (a scan: for a rule's dry run, not for anything frequent)."""
        table = schema.events
        query = (
            select(table)
            .where(and_(table.c.received_us >= since, table.c.received_us <= until))
            .order_by(table.c.seq)
            .limit(limit)
        )
        return [(_event(row), row.received_us) for row in self._all(query)]

    # ---- explanations --------------------------------------------------------------------

    def put_explanation(self, explanation: Explanation, notes: str | None, now: Instant) -> None:
        table = schema.explanations
        values = {
            "agent_id": explanation.agent_id,
            "start_us": explanation.start,
            "length_minutes": explanation.length_minutes,
            "type": explanation.type.value,
            "status": explanation.status.value,
            "notes": notes,
            "updated_us": now,
        }
        exists = self.connection.execute(
            select(table.c.id).where(table.c.id == explanation.id)
        ).first()
        if exists is None:
            self.connection.execute(
                insert(table).values(id=explanation.id, created_us=now, **values)
            )
        else:
            self.connection.execute(
                sql_update(table).where(table.c.id == explanation.id).values(**values)
            )

    def explanation(self, explanation_id: str) -> StoredExplanation | None:
        table = schema.explanations
        row = self.connection.execute(select(table).where(table.c.id == explanation_id)).first()
        return None if row is None else _stored_explanation(row)

    def explanations(
        self,
        agent_ids: Sequence[str] | None = None,
        status: ExplanationStatus | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
    ) -> list[StoredExplanation]:
        table = schema.explanations
        query = select(table).order_by(table.c.start_us, table.c.id)
        if agent_ids is not None:
            query = query.where(table.c.agent_id.in_(list(agent_ids)))
        if status is not None:
            query = query.where(table.c.status == status.value)
        if end is not None:
            query = query.where(table.c.start_us < end)
        found = [_stored_explanation(row) for row in self._all(query)]
        if start is not None:
            found = [item for item in found if item.explanation.end > start]
        return found

    # ---- helpers -------------------------------------------------------------------------

    def _all(self, query: Any) -> list[Row[Any]]:
        return list(self.connection.execute(query))

    def _upsert(self, table: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
        condition = and_(*(table.c[name] == value for name, value in key.items()))
        updated = self.connection.execute(sql_update(table).where(condition).values(**values))
        if updated.rowcount == 0:
            self.connection.execute(insert(table).values(**key, **values))


_EVENT_COLUMNS = (
    "agent_id, event_id, time_us, kind, system_presence, secondary_presence_id, "
    "routing_status, queue_ids, received_us"
)
_SQLITE_EVENTS_INSERT = f"""
    INSERT INTO events ({_EVENT_COLUMNS})
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
           value ->> 6, value ->> 7, ?
    FROM json_each(?)
"""

_POSTGRESQL_EVENTS_INSERT = text(
    """
    INSERT INTO events (agent_id, event_id, time_us, kind, system_presence,
                        secondary_presence_id, routing_status, queue_ids, received_us)
    SELECT a, e, t, k, p, s, r, q::json, :received_us
    FROM unnest(CAST(:agent_id AS text[]), CAST(:event_id AS text[]),
                CAST(:time_us AS bigint[]), CAST(:kind AS text[]),
                CAST(:system_presence AS text[]), CAST(:secondary_presence_id AS text[]),
                CAST(:routing_status AS text[]), CAST(:queue_ids AS text[]))
         AS u(a, e, t, k, p, s, r, q)
    ON CONFLICT DO NOTHING
    RETURNING agent_id, event_id
    """
)


def _management_unit(row: Row[Any]) -> ManagementUnit:
    return ManagementUnit(row.id, row.name, row.time_zone, parse_settings(row.settings))


def _agent(row: Row[Any]) -> Agent:
    return Agent(row.id, row.name, row.management_unit_id, row.team_id, row.external_ids or {})


def _activity(row: Row[Any]) -> Activity:
    return Activity(row.start_us, row.end_us, row.activity_code_id)


def _event(row: Row[Any]) -> AgentEvent:
    return AgentEvent(
        id=row.event_id,
        agent_id=row.agent_id,
        time=row.time_us,
        kind=EventKind(row.kind),
        system_presence=None if row.system_presence is None else Presence(row.system_presence),
        secondary_presence_id=row.secondary_presence_id,
        routing_status=None if row.routing_status is None else Routing(row.routing_status),
        queue_ids=None if row.queue_ids is None else tuple(row.queue_ids),
    )


def _stored_explanation(row: Row[Any]) -> StoredExplanation:
    return StoredExplanation(
        Explanation(
            row.id,
            row.agent_id,
            row.start_us,
            row.length_minutes,
            ExplanationStatus(row.status),
            ExplanationType(row.type),
        ),
        row.notes,
        row.created_us,
        row.updated_us,
    )

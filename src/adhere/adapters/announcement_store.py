"""What the announcer has published per agent (service/announcer.py), read and written inside
the transaction that publishes the messages, so the two never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from adhere.adapters import schema
from adhere.domain.adherence import Adherence
from adhere.domain.announcements import Announced
from adhere.domain.categories import AdherenceState, Category, Impact
from adhere.domain.instants import Instant

_CHUNK = 500
_TRACKING = "tracking"


class AnnouncementRecords:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def tracking_since(self) -> Instant | None:
        """Since when `announced_agents` is kept up to date; None: it is not."""
        table = schema.announcer_state
        query = select(table.c.tracking_since_us).where(table.c.name == _TRACKING)
        found: Instant | None = self.connection.execute(query).scalar()
        return found

    def start_tracking(self, now: Instant) -> None:
        """From now on the agents' states are kept up to date (a missing one is the state of
        an agent nothing was announced about)."""
        self.connection.execute(delete(schema.announcer_state))
        self.connection.execute(
            insert(schema.announcer_state).values(name=_TRACKING, tracking_since_us=now)
        )

    def stop_tracking(self) -> None:
        """Nobody listens: forget what was announced (it would go stale)."""
        self.connection.execute(delete(schema.announcer_state))
        self.connection.execute(delete(schema.announced_agents))

    def agents(self) -> dict[str, Announced]:
        rows = self.connection.execute(select(schema.announced_agents))
        return {row.agent_id: _announced(row) for row in rows}

    def put(self, states: Mapping[str, Announced], now: Instant) -> None:
        """Write these agents' states (replacing what was stored for them)."""
        table = schema.announced_agents
        ids = list(states)
        for offset in range(0, len(ids), _CHUNK):
            chunk = ids[offset : offset + _CHUNK]
            self.connection.execute(delete(table).where(table.c.agent_id.in_(chunk)))
            self.connection.execute(
                insert(table), [_values(agent_id, states[agent_id], now) for agent_id in chunk]
            )


def _values(agent_id: str, state: Announced, now: Instant) -> dict[str, Any]:
    exception = state.run_start if state.exception else None
    return {
        "agent_id": agent_id,
        "adherence": [
            state.adherence.scheduled_category.value,
            state.adherence.scheduled_activity_code_id,
            state.adherence.actual_category.value,
            state.adherence.adherence_state.value,
            state.adherence.impact.value,
        ],
        "exception_start_us": exception,
        "exception_impact": None if exception is None else state.run_impact.value,
        "exception_severe": exception is not None and state.severe,
        "shift_missed_us": state.shift_missed,
        "queue_ids": list(state.queue_ids) if state.queue_ids else None,
        "updated_us": now,
    }


def _announced(row: Any) -> Announced:
    scheduled, code, actual, adherence_state, impact = row.adherence
    started = row.exception_start_us
    return Announced(
        adherence=Adherence(
            Category(scheduled),
            code,
            Category(actual),
            AdherenceState(adherence_state),
            Impact(impact),
        ),
        run_start=started,
        run_impact=Impact.NEUTRAL if started is None else Impact(row.exception_impact),
        exception=started is not None,
        severe=started is not None and bool(row.exception_severe),
        shift_missed=row.shift_missed_us,
        queue_ids=tuple(row.queue_ids or ()),
    )

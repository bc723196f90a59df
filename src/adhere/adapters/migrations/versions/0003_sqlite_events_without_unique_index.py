"""SQLite: drop the unique (agent_id, event_id) index of events; duplicates are found in memory.

Events arrive in time order across thousands of agents, so each insert wrote a different page
of that index, and each commit wrote all those pages again: ten times the cost of the append
(docs/benchmarks.md). adapters/event_keys.py decides duplicates instead, exactly, because SQLite
has one writer at a time. PostgreSQL, whose writers are concurrent, keeps the constraint.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_CONSTRAINT = "uq_events_agent_id_event_id"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("events", recreate="always") as batch:
        batch.drop_constraint(_CONSTRAINT, type_="unique")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("events", recreate="always") as batch:
        batch.create_unique_constraint(_CONSTRAINT, ["agent_id", "event_id"])

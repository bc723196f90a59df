"""Drop the (agent_id, time_us) index of events: every insert paid for it, no query used it.

Replay reads events in time order; with 1,000-event batches spread over ~1,000 agents, this
index alone cost a third of the insert time on SQLite (docs/benchmarks.md).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_agent_id_time_us", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_agent_id_time_us", "events", ["agent_id", "time_us"])

"""What adherence has been announced per agent (derived topics), and webhook filters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "announced_agents",
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("adherence", sa.JSON(), nullable=False),
        sa.Column("exception_start_us", sa.BigInteger(), nullable=True),
        sa.Column("exception_impact", sa.String(length=20), nullable=True),
        sa.Column("exception_severe", sa.Boolean(), nullable=False),
        sa.Column("shift_missed_us", sa.BigInteger(), nullable=True),
        sa.Column("queue_ids", sa.JSON(), nullable=True),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_announced_agents")),
    )
    op.create_table(
        "announcer_state",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("tracking_since_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_announcer_state")),
    )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filter", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("filter")
    op.drop_table("announcer_state")
    op.drop_table("announced_agents")

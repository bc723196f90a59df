"""Workflow rules, their timers and executions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "workflow_rules",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_rules")),
    )
    op.create_table(
        "rule_progress",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("message_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rule_progress")),
    )
    # Rules read the outbox from here on: no rule can exist yet, so none misses a message.
    op.execute(
        "INSERT INTO rule_progress (name, message_seq) "
        "SELECT 'rules', COALESCE(MAX(seq), 0) FROM webhook_messages"
    )
    op.create_table(
        "rule_timers",
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("due_us", sa.BigInteger(), nullable=False),
        sa.Column("message_seq", _SERIAL, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_seq"],
            ["webhook_messages.seq"],
            name=op.f("fk_rule_timers_message_seq_webhook_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["workflow_rules.id"], name=op.f("fk_rule_timers_rule_id_workflow_rules")
        ),
        sa.PrimaryKeyConstraint("rule_id", "subject", name=op.f("pk_rule_timers")),
    )
    op.create_index(op.f("ix_rule_timers_due_us"), "rule_timers", ["due_us"], unique=False)
    op.create_table(
        "rule_executions",
        sa.Column("seq", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("message_seq", _SERIAL, nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("fired_us", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_seq"],
            ["webhook_messages.seq"],
            name=op.f("fk_rule_executions_message_seq_webhook_messages"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_rule_executions")),
    )
    op.create_index(
        op.f("ix_rule_executions_rule_id_fired_us"),
        "rule_executions",
        ["rule_id", "fired_us"],
        unique=False,
    )
    op.create_index(op.f("ix_rule_executions_status"), "rule_executions", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("rule_executions")
    op.drop_table("rule_timers")
    op.drop_table("rule_progress")
    op.drop_table("workflow_rules")

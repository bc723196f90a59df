"""Users (people who log in to the board) and their browser sessions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 15:40:00
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Placeholder: the users helper fills this in."""


def downgrade() -> None:
    """Placeholder."""

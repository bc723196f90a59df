"""Placeholder: `adhere report`, filled in by its owner."""

from __future__ import annotations


def report() -> None:
    """Adherence and conformance per agent, team and day (placeholder)."""

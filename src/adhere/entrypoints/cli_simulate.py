"""Placeholder: `adhere simulate`, filled in by its owner."""

from __future__ import annotations


def simulate() -> None:
    """Simulate a contact center (placeholder)."""

"""Placeholder: `adhere users`, filled in by its owner."""

from __future__ import annotations

import typer

users_app = typer.Typer(help="People who log in to the board: create, list, disable.")

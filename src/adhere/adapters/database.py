"""Connecting to the database: SQLite (embedded default) or PostgreSQL, and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adhere.domain.errors import InvalidInput

_MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x0ADE7E  # any constant, the same in every Adhere process


def connect(url: str) -> Engine:
    """An engine for `url`. SQLite runs in WAL mode with full fsync: a commit survives a crash."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"not a database URL: {url!r}", "database_url") from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_size=10, max_overflow=10, pool_pre_ping=True)
    raise InvalidInput(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://",
        "database_url",
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (BEGIN IMMEDIATE below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.close()


READ_ONLY: dict[str, Any] = {"adhere_read_only": True}
"""Execution options of a connection that only reads (see `_sqlite_begin`)."""


def _sqlite_begin(connection: Any) -> None:
    # A write transaction takes the write lock at its start, so writers queue instead of
    # failing when a snapshot they read went stale. A read (WAL) needs no lock at all.
    if connection.get_execution_options().get("adhere_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes migrating a fresh database at once would race; SQLite's
            # BEGIN IMMEDIATE already serialises them.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

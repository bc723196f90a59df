"""The database tables. Instants are integer microseconds since the epoch (UTC), as in the
domain, so what is stored is exactly what was computed on."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite's rowid is 64-bit only when declared INTEGER PRIMARY KEY.
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")
_ID = String(128)

management_units = Table(
    "management_units",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("settings", JSON, nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("management_unit_id", _ID, ForeignKey("management_units.id"), nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("management_unit_id", _ID, ForeignKey("management_units.id"), nullable=False),
    Column("team_id", _ID, ForeignKey("teams.id"), nullable=True),
    Column("external_ids", JSON, nullable=False),
)

activity_codes = Table(
    "activity_codes",
    metadata,
    Column("management_unit_id", _ID, ForeignKey("management_units.id"), primary_key=True),
    Column("id", _ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("category", String(40), nullable=False),
    Column("secondary_presence_id", _ID, nullable=True),
    Column("active", Boolean, nullable=False),
)

schedule_activities = Table(
    "schedule_activities",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("agent_id", _ID, ForeignKey("agents.id"), nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("activity_code_id", _ID, nullable=False),
    Index(None, "agent_id", "start_us"),
)

events = Table(
    "events",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("agent_id", _ID, ForeignKey("agents.id"), nullable=False),
    Column("event_id", _ID, nullable=False),
    Column("time_us", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("system_presence", String(40), nullable=True),
    Column("secondary_presence_id", _ID, nullable=True),
    Column("routing_status", String(40), nullable=True),
    Column("queue_ids", JSON(none_as_null=True), nullable=True),
    Column("received_us", BigInteger, nullable=False),
    # SQLite finds duplicates in memory instead: see adapters/event_keys.py.
    UniqueConstraint("agent_id", "event_id").ddl_if(dialect="postgresql"),
)

POSTGRESQL_ONLY = frozenset({"uq_events_agent_id_event_id"})
"""Constraints made on PostgreSQL only (`ddl_if` above, migration 0003)."""

explanations = Table(
    "explanations",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("agent_id", _ID, ForeignKey("agents.id"), nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("length_minutes", JSON, nullable=False),  # a float, kept exactly as given
    Column("type", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("notes", Text, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Index(None, "agent_id", "start_us"),
)

changes = Table(
    "changes",
    metadata,
    # One row per committed write, so a server notices writes made by another process.
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("writer", String(64), nullable=False),
    Column("what", String(64), nullable=False),
    Column("at_us", BigInteger, nullable=False),
)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    # Bumped when scopes or secret change: tokens carry it, older ones stop working.
    Column("generation", Integer, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_jwk", JSON, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    # The newest active key signs; retired keys still verify until their tokens expire.
    Column("retired_us", BigInteger, nullable=True),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_us", BigInteger, nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("topics", JSON, nullable=False),  # a list of topic names
    Column("description", String(500), nullable=True),
    Column("secret", String(200), nullable=False),  # "whsec_" + base64, signs every delivery
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("failing_since_us", BigInteger, nullable=True),  # first failure of the current run
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("filter", JSON(none_as_null=True), nullable=True),  # criteria; null: every message
)

webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),  # webhook-id: stable across retries
    Column("topic", String(100), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),  # the exact JSON text that is signed and sent
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("endpoint_id", _ID, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("message_seq", _SERIAL, ForeignKey("webhook_messages.seq"), nullable=False),
    Column("status", String(20), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_us", BigInteger, nullable=True),  # when pending
    Column("last_status", Integer, nullable=True),  # the endpoint's last HTTP status
    Column("last_error", Text, nullable=True),
    Column("updated_us", BigInteger, nullable=False),
    Index("ix_webhook_deliveries_status_next_attempt_us", "status", "next_attempt_us"),
    Index("ix_webhook_deliveries_endpoint_id_status", "endpoint_id", "status"),
)

announced_agents = Table(  # what the announcer has published per agent (service/announcer.py)
    "announced_agents",
    metadata,
    Column("agent_id", _ID, primary_key=True),
    Column("adherence", JSON, nullable=False),  # the five fields of domain.adherence.Adherence
    Column("exception_start_us", BigInteger, nullable=True),  # the open exception announced
    Column("exception_impact", String(20), nullable=True),
    Column("exception_severe", Boolean, nullable=False),
    Column("shift_missed_us", BigInteger, nullable=True),  # the last shift start announced missed
    Column("queue_ids", JSON(none_as_null=True), nullable=True),  # the membership announced
    Column("updated_us", BigInteger, nullable=False),
)

announcer_state = Table(  # one row while the announcer keeps `announced_agents` up to date
    "announcer_state",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("tracking_since_us", BigInteger, nullable=False),
)

workflow_rules = Table(
    "workflow_rules",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("topic", String(100), nullable=False),
    Column("definition", JSON, nullable=False),  # domain.rules.rule_json
    Column("enabled", Boolean, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

rule_progress = Table(  # one row: the last outbox message the rules have read
    "rule_progress",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("message_seq", BigInteger, nullable=False),
)

rule_timers = Table(  # "for N seconds": armed by a match, fired or disarmed later
    "rule_timers",
    metadata,
    Column("rule_id", _ID, ForeignKey("workflow_rules.id"), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("due_us", BigInteger, nullable=False),
    Column("message_seq", _SERIAL, ForeignKey("webhook_messages.seq"), nullable=False),
    Index("ix_rule_timers_due_us", "due_us"),
)

rule_executions = Table(
    "rule_executions",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("rule_id", _ID, nullable=False),  # kept after the rule is deleted: history
    Column("message_seq", _SERIAL, ForeignKey("webhook_messages.seq"), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("fired_us", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),  # pending, succeeded, failed
    Column("results", JSON, nullable=True),  # one entry per action
    Column("finished_us", BigInteger, nullable=True),
    Index("ix_rule_executions_rule_id_fired_us", "rule_id", "fired_us"),
    Index("ix_rule_executions_status", "status"),
)

action_credentials = Table(
    "action_credentials",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),  # basic, user_defined, oauth_client_credentials
    Column("details", JSON, nullable=False),  # public: token_url, client_id, scopes, username…
    Column("sealed_secret", Text, nullable=False),  # Fernet token of the secret values
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

data_actions = Table(
    "data_actions",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("category", String(200), nullable=False),
    Column("definition", JSON, nullable=False),  # Genesys Cloud export JSON + Adhere's fields
    Column("credential_id", _ID, ForeignKey("action_credentials.id"), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

action_executions = Table(
    "action_executions",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("action_id", _ID, nullable=False),  # kept after the action is deleted: history
    Column("source", String(200), nullable=False),  # "api", "cli", "rule:<rule id>"
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=False),
    Column("outcome", String(20), nullable=False),  # succeeded, failed
    Column("attempts", JSON, nullable=False),  # [{number, status, duration_ms, error}]
    Column("input", JSON, nullable=False),
    Column("output", JSON(none_as_null=True), nullable=True),
    Column("error", Text, nullable=True),
    Column("failed_step", String(40), nullable=True),
    Index(None, "action_id", "started_us"),
)

users = Table(  # people who log in to the board (service/users.py)
    "users",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("username", String(100), nullable=False),  # as typed
    Column("username_key", String(100), nullable=False, unique=True),  # lower case: unique
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),  # argon2id
    Column("role", String(20), nullable=False),  # admin, supervisor, agent
    Column("unit_ids", JSON, nullable=False),  # a supervisor's units; [] with no teams: all
    Column("team_ids", JSON, nullable=False),  # a supervisor's teams
    Column("agent_id", _ID, ForeignKey("agents.id"), nullable=True),  # an agent user's own
    Column("disabled", Boolean, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

user_sessions = Table(  # browser sessions: the cookie's token is kept only as a hash
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie, hex
    Column("user_id", _ID, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),  # echoed in X-CSRF-Token
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Index(None, "user_id"),
    Index(None, "expires_us"),
)

__all__ = [
    "action_credentials",
    "action_executions",
    "activity_codes",
    "agents",
    "announced_agents",
    "announcer_state",
    "changes",
    "data_actions",
    "events",
    "explanations",
    "management_units",
    "metadata",
    "oauth_clients",
    "revoked_tokens",
    "rule_executions",
    "rule_progress",
    "rule_timers",
    "schedule_activities",
    "signing_keys",
    "teams",
    "user_sessions",
    "users",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_messages",
    "workflow_rules",
]

"""Workflow rules, their timers, executions and reading progress, inside a transaction.

Rules read the outbox (`webhook_messages`): every message a rule's topic wants is stored there
by the transaction that produced it, and `rule_progress` records how far the rules have read,
moved in the same transaction that arms timers and records executions, so a message is acted
on once, even across a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, select, update

from adhere.adapters import schema
from adhere.domain.instants import Instant
from adhere.domain.rules import ExecutionStatus, Rule, RuleExecution, parse_rule, rule_json

_PROGRESS = "rules"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    id: str
    topic: str
    created: Instant
    payload: str


@dataclass(frozen=True, slots=True)
class Timer:
    rule_id: str
    subject: str
    due: Instant
    message_seq: int


class RuleRecords:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # ---- rules ---------------------------------------------------------------------------

    def add_rule(self, rule: Rule) -> None:
        self.connection.execute(
            insert(schema.workflow_rules).values(
                id=rule.id, created_us=rule.created, **_rule_values(rule)
            )
        )

    def replace_rule(self, rule: Rule) -> None:
        """A new definition (or enabled flag) for the stored rule with this id."""
        table = schema.workflow_rules
        self.connection.execute(
            update(table).where(table.c.id == rule.id).values(**_rule_values(rule))
        )

    def rule(self, rule_id: str) -> Rule | None:
        table = schema.workflow_rules
        row = self.connection.execute(select(table).where(table.c.id == rule_id)).first()
        return None if row is None else _rule(row)

    def rules(self, enabled_only: bool = False) -> list[Rule]:
        table = schema.workflow_rules
        query = select(table).order_by(table.c.created_us, table.c.id)
        if enabled_only:
            query = query.where(table.c.enabled.is_(True))
        return [_rule(row) for row in self.connection.execute(query)]

    def enabled_topics(self) -> frozenset[str]:
        table = schema.workflow_rules
        query = select(table.c.topic).where(table.c.enabled.is_(True)).distinct()
        return frozenset(self.connection.execute(query).scalars())

    def delete_rule(self, rule_id: str) -> bool:
        self.disarm_all(rule_id)
        table = schema.workflow_rules
        return self.connection.execute(delete(table).where(table.c.id == rule_id)).rowcount > 0

    # ---- reading the outbox --------------------------------------------------------------

    def progress(self) -> int:
        """The last outbox message the rules have read (migration 0007 starts it)."""
        table = schema.rule_progress
        query = select(table.c.message_seq).where(table.c.name == _PROGRESS)
        found: int = self.connection.execute(query).scalar_one()
        return found

    def set_progress(self, message_seq: int) -> None:
        table = schema.rule_progress
        self.connection.execute(
            update(table).where(table.c.name == _PROGRESS).values(message_seq=message_seq)
        )

    def last_message_seq(self) -> int:
        found = self.connection.execute(select(func.max(schema.webhook_messages.c.seq))).scalar()
        return int(found or 0)

    def messages_after(
        self, seq: int, limit: int, topics: Sequence[str] | None = None
    ) -> list[StoredMessage]:
        table = schema.webhook_messages
        query = select(table).where(table.c.seq > seq)
        if topics is not None:
            query = query.where(table.c.topic.in_(list(topics)))
        query = query.order_by(table.c.seq).limit(limit)
        return [_message(row) for row in self.connection.execute(query)]

    def messages_since(self, since: Instant, topic: str, limit: int) -> list[StoredMessage]:
        table = schema.webhook_messages
        query = (
            select(table)
            .where(and_(table.c.created_us >= since, table.c.topic == topic))
            .order_by(table.c.seq)
            .limit(limit)
        )
        return [_message(row) for row in self.connection.execute(query)]

    def message(self, seq: int) -> StoredMessage | None:
        table = schema.webhook_messages
        row = self.connection.execute(select(table).where(table.c.seq == seq)).first()
        return None if row is None else _message(row)

    # ---- timers --------------------------------------------------------------------------

    def arm(self, timer: Timer) -> bool:
        """Start the timer unless one already runs for the rule and subject (it keeps its
        earlier due time: the condition has held since then)."""
        table = schema.rule_timers
        running = self.connection.execute(
            select(table.c.due_us).where(
                and_(table.c.rule_id == timer.rule_id, table.c.subject == timer.subject)
            )
        ).first()
        if running is not None:
            return False
        self.connection.execute(
            insert(table).values(
                rule_id=timer.rule_id,
                subject=timer.subject,
                due_us=timer.due,
                message_seq=timer.message_seq,
            )
        )
        return True

    def disarm(self, rule_id: str, subject: str) -> bool:
        table = schema.rule_timers
        return (
            self.connection.execute(
                delete(table).where(and_(table.c.rule_id == rule_id, table.c.subject == subject))
            ).rowcount
            > 0
        )

    def disarm_all(self, rule_id: str) -> None:
        table = schema.rule_timers
        self.connection.execute(delete(table).where(table.c.rule_id == rule_id))

    def due_timers(self, now: Instant, limit: int) -> list[Timer]:
        table = schema.rule_timers
        query = select(table).where(table.c.due_us <= now).order_by(table.c.due_us).limit(limit)
        return [
            Timer(row.rule_id, row.subject, row.due_us, row.message_seq)
            for row in self.connection.execute(query)
        ]

    def timers(self, rule_id: str) -> list[Timer]:
        table = schema.rule_timers
        query = select(table).where(table.c.rule_id == rule_id).order_by(table.c.due_us)
        return [
            Timer(row.rule_id, row.subject, row.due_us, row.message_seq)
            for row in self.connection.execute(query)
        ]

    # ---- executions ----------------------------------------------------------------------

    def add_execution(self, rule_id: str, message_seq: int, subject: str, fired: Instant) -> int:
        seq: int = self.connection.execute(
            insert(schema.rule_executions)
            .values(
                rule_id=rule_id,
                message_seq=message_seq,
                subject=subject,
                fired_us=fired,
                status=ExecutionStatus.PENDING.value,
            )
            .returning(schema.rule_executions.c.seq)
        ).scalar_one()
        return seq

    def finish_execution(
        self,
        seq: int,
        status: ExecutionStatus,
        results: Sequence[dict[str, Any]],
        finished: Instant,
    ) -> None:
        table = schema.rule_executions
        self.connection.execute(
            update(table)
            .where(table.c.seq == seq)
            .values(status=status.value, results=list(results), finished_us=finished)
        )

    def pending_executions(self, limit: int) -> list[RuleExecution]:
        table = schema.rule_executions
        query = (
            _executions_query()
            .where(table.c.status == ExecutionStatus.PENDING.value)
            .order_by(table.c.seq)
            .limit(limit)
        )
        return [_execution(row) for row in self.connection.execute(query)]

    def executions(self, rule_id: str, limit: int) -> list[RuleExecution]:
        table = schema.rule_executions
        query = (
            _executions_query()
            .where(table.c.rule_id == rule_id)
            .order_by(table.c.seq.desc())
            .limit(limit)
        )
        return [_execution(row) for row in self.connection.execute(query)]


def _rule_values(rule: Rule) -> dict[str, Any]:
    return {
        "topic": rule.spec.topic,
        "definition": rule_json(rule.spec),
        "enabled": rule.spec.enabled,
        "updated_us": rule.updated,
    }


def _rule(row: Row[Any]) -> Rule:
    return Rule(row.id, parse_rule(row.definition), row.created_us, row.updated_us)


def _message(row: Row[Any]) -> StoredMessage:
    return StoredMessage(row.seq, row.id, row.topic, row.created_us, row.payload)


def _executions_query() -> Any:
    executions = schema.rule_executions
    messages = schema.webhook_messages
    return select(
        executions,
        messages.c.id.label("message_id"),
        messages.c.topic,
        messages.c.payload,
    ).join(messages, messages.c.seq == executions.c.message_seq)


def _execution(row: Row[Any]) -> RuleExecution:
    return RuleExecution(
        row.seq,
        row.rule_id,
        row.message_seq,
        row.message_id,
        row.topic,
        row.payload,
        row.subject,
        row.fired_us,
        ExecutionStatus(row.status),
        tuple(row.results or ()),
        row.finished_us,
    )

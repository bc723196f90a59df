"""Data actions, their credentials and their executions, read and written inside a transaction.

An action is stored as its Genesys Cloud export JSON (`render_action`), read back with
`parse_action`. A credential's secret values are stored sealed (adapters/sealing.py): this
module never sees them in the clear.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from adhere.adapters import schema
from adhere.domain.action_credentials import Credential, CredentialKind
from adhere.domain.action_executions import ActionExecution, Attempt, Outcome
from adhere.domain.data_actions import SavedAction, parse_action, render_action


class ActionRecords:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # ---- credentials ---------------------------------------------------------------------

    def add_credential(self, credential: Credential, sealed_secret: str) -> None:
        self.connection.execute(
            insert(schema.action_credentials).values(
                id=credential.id,
                name=credential.name,
                kind=credential.kind.value,
                details=dict(credential.details),
                sealed_secret=sealed_secret,
                created_us=credential.created,
                updated_us=credential.updated,
            )
        )

    def credential(self, credential_id: str) -> Credential | None:
        table = schema.action_credentials
        row = self.connection.execute(select(table).where(table.c.id == credential_id)).first()
        return None if row is None else _credential(row)

    def sealed_secret(self, credential_id: str) -> str | None:
        table = schema.action_credentials
        query = select(table.c.sealed_secret).where(table.c.id == credential_id)
        found: str | None = self.connection.execute(query).scalar()
        return found

    def credentials(self) -> list[Credential]:
        table = schema.action_credentials
        rows = self.connection.execute(select(table).order_by(table.c.created_us, table.c.id))
        return [_credential(row) for row in rows]

    def delete_credential(self, credential_id: str) -> bool:
        table = schema.action_credentials
        return (
            self.connection.execute(delete(table).where(table.c.id == credential_id)).rowcount > 0
        )

    def actions_using(self, credential_id: str) -> list[tuple[str, str]]:
        """(id, name) of each action authenticating with the credential."""
        table = schema.data_actions
        query = (
            select(table.c.id, table.c.name)
            .where(table.c.credential_id == credential_id)
            .order_by(table.c.id)
        )
        return [(row.id, row.name) for row in self.connection.execute(query)]

    # ---- actions -------------------------------------------------------------------------

    def add_action(self, saved: SavedAction) -> None:
        self.connection.execute(
            insert(schema.data_actions).values(
                id=saved.id, created_us=saved.created, **_action_values(saved)
            )
        )

    def replace_action(self, saved: SavedAction) -> None:
        """A new definition for the stored action with this id (its creation time stays)."""
        table = schema.data_actions
        self.connection.execute(
            update(table).where(table.c.id == saved.id).values(**_action_values(saved))
        )

    def action(self, action_id: str) -> SavedAction | None:
        table = schema.data_actions
        row = self.connection.execute(select(table).where(table.c.id == action_id)).first()
        return None if row is None else _action(row)

    def actions(self) -> list[SavedAction]:
        table = schema.data_actions
        rows = self.connection.execute(select(table).order_by(table.c.created_us, table.c.id))
        return [_action(row) for row in rows]

    def delete_action(self, action_id: str) -> bool:
        """The action is gone; its executions stay, as history."""
        table = schema.data_actions
        return self.connection.execute(delete(table).where(table.c.id == action_id)).rowcount > 0

    # ---- executions ----------------------------------------------------------------------

    def add_execution(self, execution: ActionExecution) -> None:
        self.connection.execute(
            insert(schema.action_executions).values(
                id=execution.id,
                action_id=execution.action_id,
                source=execution.source,
                started_us=execution.started,
                finished_us=execution.finished,
                outcome=execution.outcome.value,
                attempts=[attempt.as_json() for attempt in execution.attempts],
                input=dict(execution.input),
                output=execution.output,
                error=execution.error,
                failed_step=execution.failed_step,
            )
        )

    def executions(self, action_id: str, limit: int = 100) -> list[ActionExecution]:
        """The action's latest executions, newest first."""
        table = schema.action_executions
        query = (
            select(table)
            .where(table.c.action_id == action_id)
            .order_by(table.c.started_us.desc(), table.c.id.desc())
            .limit(limit)
        )
        return [_execution(row) for row in self.connection.execute(query)]

    def execution(self, execution_id: str) -> ActionExecution | None:
        table = schema.action_executions
        row = self.connection.execute(select(table).where(table.c.id == execution_id)).first()
        return None if row is None else _execution(row)


def _credential(row: Row[Any]) -> Credential:
    return Credential(
        row.id, row.name, CredentialKind(row.kind), row.details, row.created_us, row.updated_us
    )


def _action(row: Row[Any]) -> SavedAction:
    return SavedAction(
        row.id, row.category, parse_action(row.definition), row.created_us, row.updated_us
    )


def _execution(row: Row[Any]) -> ActionExecution:
    return ActionExecution(
        id=row.id,
        action_id=row.action_id,
        source=row.source,
        started=row.started_us,
        finished=row.finished_us,
        outcome=Outcome(row.outcome),
        attempts=tuple(Attempt.from_json(item) for item in row.attempts),
        input=row.input,
        output=row.output,
        error=row.error,
        failed_step=row.failed_step,
    )


def _action_values(saved: SavedAction) -> dict[str, Any]:
    return {
        "name": saved.action.name,
        "category": saved.category,
        "definition": render_action(saved.action),
        "credential_id": saved.action.credential_id,
        "updated_us": saved.updated,
    }

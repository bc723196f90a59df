"""Storage of users and their browser sessions (SQLAlchemy Core).

Every method is one short transaction, so a server and a CLI in another process see each
other's changes at once: `adhere users disable` ends a session on the server's next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from adhere.adapters.database import READ_ONLY
from adhere.adapters.schema import user_sessions, users


@dataclass(frozen=True)
class UserRecord:
    """A user as stored, without the password hash."""

    id: str
    username: str
    display_name: str
    role: str
    unit_ids: tuple[str, ...]
    team_ids: tuple[str, ...]
    agent_id: str | None
    disabled: bool
    created_us: int


@dataclass(frozen=True)
class SessionRecord:
    """A live browser session and whose it is."""

    user: UserRecord
    csrf_token: str
    expires_us: int


class UsernameTaken(Exception):
    def __init__(self, username: str) -> None:
        super().__init__(f"a user named {username!r} already exists (names ignore case)")
        self.username = username


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert_user(self, user: UserRecord, password_hash: str) -> None:
        """Store a new user; `UsernameTaken` if the name is in use, whatever its case."""
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(users).values(
                        id=user.id,
                        username=user.username,
                        username_key=username_key(user.username),
                        display_name=user.display_name,
                        password_hash=password_hash,
                        role=user.role,
                        unit_ids=list(user.unit_ids),
                        team_ids=list(user.team_ids),
                        agent_id=user.agent_id,
                        disabled=user.disabled,
                        created_us=user.created_us,
                        updated_us=user.created_us,
                    )
                )
        except IntegrityError:
            if self.user_with_password_hash(user.username) is None:
                raise  # not the name: another constraint, a bug to see
            raise UsernameTaken(user.username) from None

    def users(self) -> list[UserRecord]:
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            rows = connection.execute(select(users).order_by(users.c.username_key)).all()
        return [_user(row) for row in rows]

    def user(self, user_id: str) -> UserRecord | None:
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            row = connection.execute(select(users).where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def user_with_password_hash(self, username: str) -> tuple[UserRecord, str] | None:
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            row = connection.execute(
                select(users).where(users.c.username_key == username_key(username))
            ).first()
        return (_user(row), str(row.password_hash)) if row else None

    def disable_user(self, user_id: str, updated_us: int) -> UserRecord | None:
        """Disable the user and end every session of theirs, in one transaction."""
        with self._engine.begin() as connection:
            connection.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(disabled=True, updated_us=updated_us)
            )
            connection.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id))
            row = connection.execute(select(users).where(users.c.id == user_id)).first()
        return _user(row) if row else None

    # --- sessions ------------------------------------------------------------------------

    def add_session(
        self,
        token_hash: str,
        user_id: str,
        csrf_token: str,
        created_us: int,
        expires_us: int,
    ) -> None:
        """Store a session, forgetting those already expired (so the table stays small)."""
        with self._engine.begin() as connection:
            connection.execute(
                delete(user_sessions).where(user_sessions.c.expires_us <= created_us)
            )
            connection.execute(
                insert(user_sessions).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    csrf_token=csrf_token,
                    created_us=created_us,
                    expires_us=expires_us,
                )
            )

    def session(self, token_hash: str) -> SessionRecord | None:
        """The session and its user: one primary-key lookup and a join, for every request."""
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            row = connection.execute(
                select(users, user_sessions.c.csrf_token, user_sessions.c.expires_us)
                .join(user_sessions, user_sessions.c.user_id == users.c.id)
                .where(user_sessions.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        return SessionRecord(_user(row), str(row.csrf_token), int(row.expires_us))

    def end_session(self, token_hash: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(user_sessions).where(user_sessions.c.token_hash == token_hash)
            )


def username_key(username: str) -> str:
    """What makes two usernames the same: their case does not."""
    return username.casefold()


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        id=str(row.id),
        username=str(row.username),
        display_name=str(row.display_name),
        role=str(row.role),
        unit_ids=tuple(str(unit) for unit in row.unit_ids),
        team_ids=tuple(str(team) for team in row.team_ids),
        agent_id=None if row.agent_id is None else str(row.agent_id),
        disabled=bool(row.disabled),
        created_us=int(row.created_us),
    )

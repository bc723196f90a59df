"""Use cases: people who log in to the board, their roles, and their browser sessions.

A role is a fixed set of API scopes plus whose data the user may see (`Visibility`): an
admin sees everyone, a supervisor everyone or only some management units or teams, an agent
only their own agent. Passwords are argon2id hashes; a session's cookie token is kept only as
a SHA-256 hash, so a copy of the database opens no browser session.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from adhere.adapters.store import SqlStore
from adhere.adapters.user_store import SessionRecord, UsernameTaken, UserRecord, UserStore
from adhere.config import Settings
from adhere.domain.errors import InvalidInput
from adhere.domain.login_throttle import LoginThrottle
from adhere.service.auth import EVERYONE, KNOWN_SCOPES, Principal, Visibility

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "ROLE_SCOPES",
    "InvalidCredentials",
    "InvalidSession",
    "SessionRecord",
    "UserNotFound",
    "UserRecord",
    "UserService",
    "UsernameTaken",
    "principal_of",
    "visibility_of",
]

ROLES: tuple[str, ...] = ("admin", "supervisor", "agent")
_PEOPLE_SCOPES = ("adherence:read", "schedule:agent:read", "schedule:agent:write")
ROLE_SCOPES: Mapping[str, tuple[str, ...]] = {
    "admin": KNOWN_SCOPES,
    "supervisor": _PEOPLE_SCOPES,
    "agent": _PEOPLE_SCOPES,  # narrowed by visibility to their own agent, and never approve
}
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything; a bound keeps a login cheap to refuse
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
_MAX_DISPLAY_NAME = 200
_US = 1_000_000


class UserNotFound(LookupError):
    def __init__(self, user: str) -> None:
        super().__init__(f"no user {user!r}")
        self.user = user


class InvalidCredentials(Exception):
    """A login refused: unknown user, wrong password or disabled user, never saying which."""

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class TooManyAttempts(Exception):
    """Too many failed logins for this username or from this address: wait, then retry."""

    def __init__(self, retry_after_seconds: float) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"too many failed logins: try again in {math.ceil(retry_after_seconds)} s")


class InvalidSession(Exception):
    """A session cookie that opens nothing; the message says why, for the person."""


class UserService:
    def __init__(
        self, store: SqlStore, settings: Settings, now: Callable[[], float] = time.time
    ) -> None:
        self._organisation = store
        self._store = UserStore(store.engine)
        self._lifetime_us = round(settings.session_lifetime_hours * 3600 * _US)
        self._now = now
        self._hasher = PasswordHasher()
        self._dummy_hash: str | None = None
        self._throttle = LoginThrottle()
        self._throttle_lock = threading.Lock()

    @property
    def lifetime_seconds(self) -> float:
        """How long a session lasts: the cookie's Max-Age."""
        return self._lifetime_us / _US

    # --- users ---------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        role: str,
        *,
        display_name: str | None = None,
        unit_ids: Iterable[str] = (),
        team_ids: Iterable[str] = (),
        agent_id: str | None = None,
        password: str | None = None,
    ) -> tuple[UserRecord, str | None]:
        """A new user, and the password generated for them when none was given (the only
        time it is seen: only its hash is kept)."""
        username = _valid_username(username)
        user = UserRecord(
            id="us_" + secrets.token_urlsafe(12),
            username=username,
            display_name=_valid_display_name(display_name, username),
            role=_valid_role(role),
            unit_ids=tuple(dict.fromkeys(unit_ids)),
            team_ids=tuple(dict.fromkeys(team_ids)),
            agent_id=agent_id,
            disabled=False,
            created_us=self._now_us(),
        )
        self._check_references(user)
        generated = None
        if password is None:
            password = generated = secrets.token_urlsafe(18)  # 24 characters, 144 bits
        self._store.insert_user(user, self._hasher.hash(_valid_password(password)))
        return user, generated

    def list_users(self) -> list[UserRecord]:
        return self._store.users()

    def find_user(self, user: str) -> UserRecord:
        """The user with this id, else with this username (any case)."""
        found = self._store.user(user)
        if found is None:
            by_name = self._store.user_with_password_hash(user)
            found = None if by_name is None else by_name[0]
        if found is None:
            raise UserNotFound(user)
        return found

    def disable_user(self, user_id: str) -> UserRecord:
        """Disable a user for good; their sessions end at once (idempotent)."""
        user = self._store.disable_user(user_id, self._now_us())
        if user is None:
            raise UserNotFound(user_id)
        return user

    # --- sessions ------------------------------------------------------------------------

    def log_in(
        self, username: str, password: str, source: str = "unknown"
    ) -> tuple[str, SessionRecord]:
        """A new session's cookie token and the session, else `InvalidCredentials`, or
        `TooManyAttempts` after repeated failures for this username or from `source` (the
        client's address): each costs the server a password hash, and a guesser a try.

        An unknown user costs a hash verification too, so timing tells no names apart.
        """
        keys = (f"user:{username.strip().lower()}", f"from:{source}")
        with self._throttle_lock:
            wait = self._throttle.wait_seconds(keys, self._now())
        if wait > 0:
            raise TooManyAttempts(wait)
        found = self._store.user_with_password_hash(username)
        if found is None:
            self._verify(self._unused_hash(), password)
        if found is None or not self._verify(found[1], password) or found[0].disabled:
            with self._throttle_lock:
                self._throttle.failed(keys, self._now())
            raise InvalidCredentials()
        user = found[0]
        with self._throttle_lock:
            self._throttle.succeeded(keys[0])
        token = secrets.token_urlsafe(32)  # 256 bits
        now_us = self._now_us()
        session = SessionRecord(user, secrets.token_urlsafe(32), now_us + self._lifetime_us)
        self._store.add_session(
            _token_hash(token), user.id, session.csrf_token, now_us, session.expires_us
        )
        return token, session

    def session(self, token: str) -> SessionRecord:
        """The live session this cookie token opens, else `InvalidSession` saying why."""
        session = self._store.session(_token_hash(token))
        if session is None or session.user.disabled:
            raise InvalidSession("the session has ended: log in again")
        if session.expires_us <= self._now_us():
            raise InvalidSession(f"the session expired at {_rfc3339(session.expires_us)}")
        return session

    def log_out(self, token: str) -> None:
        self._store.end_session(_token_hash(token))

    # --- helpers -------------------------------------------------------------------------

    def _check_references(self, user: UserRecord) -> None:
        """The role's fields are the role's alone, and what they name exists."""
        if user.role != "supervisor":
            for field, given in (("unit_ids", user.unit_ids), ("team_ids", user.team_ids)):
                if given:
                    raise InvalidInput("only a supervisor is limited to units or teams", field)
        if user.role == "agent" and user.agent_id is None:
            raise InvalidInput("a user with role agent needs the agent id they are", "agent_id")
        if user.role != "agent" and user.agent_id is not None:
            raise InvalidInput("only a user with role agent has an agent id", "agent_id")
        with self._organisation.reading() as tx:
            for unit_id in user.unit_ids:
                if tx.management_unit(unit_id) is None:
                    raise InvalidInput(f"unknown management unit {unit_id!r}", "unit_ids")
            for team_id in user.team_ids:
                if tx.team(team_id) is None:
                    raise InvalidInput(f"unknown team {team_id!r}", "team_ids")
            if user.agent_id is not None and tx.agent(user.agent_id) is None:
                raise InvalidInput(f"unknown agent {user.agent_id!r}", "agent_id")

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _unused_hash(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(18))
        return self._dummy_hash

    def _now_us(self) -> int:
        return int(self._now() * _US)


def visibility_of(user: UserRecord) -> Visibility:
    if user.role == "agent":
        return Visibility(agent_id=user.agent_id)
    if user.role == "supervisor" and (user.unit_ids or user.team_ids):
        return Visibility(
            unit_ids=frozenset(user.unit_ids) if user.unit_ids else None,
            team_ids=frozenset(user.team_ids) if user.team_ids else None,
        )
    return EVERYONE


def principal_of(session: SessionRecord) -> Principal:
    """What a browser session may do: its user's role's scopes, on whom they see."""
    user = session.user
    return Principal(
        client_id=f"user:{user.id}",
        scopes=frozenset(ROLE_SCOPES[user.role]),
        jti=f"session:{user.id}",
        expires_at=session.expires_us // _US,
        visibility=visibility_of(user),
        user_id=user.id,
        role=user.role,
    )


def _token_hash(token: str) -> str:
    """A 256-bit random token needs no slow hash: SHA-256 cannot be walked back to it."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _valid_username(username: str) -> str:
    username = username.strip()
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            "1 to 100 letters, digits and . _ @ -, starting with a letter or digit", "username"
        )
    return username


def _valid_display_name(display_name: str | None, username: str) -> str:
    name = (display_name or "").strip() or username
    if len(name) > _MAX_DISPLAY_NAME:
        raise InvalidInput(f"at most {_MAX_DISPLAY_NAME} characters", "display_name")
    return name


def _valid_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}", "role")
    return role


def _valid_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"at least {MIN_PASSWORD_LENGTH} characters", "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"at most {MAX_PASSWORD_LENGTH} characters", "password")
    return password


def _rfc3339(microseconds: int) -> str:
    return datetime.fromtimestamp(microseconds // _US, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

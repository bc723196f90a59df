"""Storage of OAuth clients, signing keys and revoked tokens (SQLAlchemy Core).

Every method is one short transaction, so a server and a CLI in another process see each
other's changes at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from adhere.adapters.database import READ_ONLY
from adhere.adapters.schema import oauth_clients, revoked_tokens, signing_keys


@dataclass(frozen=True)
class ClientRecord:
    """An OAuth client as stored, without its secret hash."""

    id: str
    name: str
    scopes: tuple[str, ...]
    generation: int
    revoked: bool
    created_us: int
    updated_us: int


@dataclass(frozen=True)
class TokenStatus:
    """What a token check needs from the database: the client's state and the token's."""

    generation: int
    client_revoked: bool
    token_revoked: bool


@dataclass(frozen=True)
class SigningKeyRecord:
    kid: str
    private_jwk: dict[str, Any]
    created_us: int
    retired_us: int | None


class AuthStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- clients -------------------------------------------------------------------------

    def insert_client(self, client: ClientRecord, secret_hash: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                insert(oauth_clients).values(
                    id=client.id,
                    name=client.name,
                    secret_hash=secret_hash,
                    scopes=list(client.scopes),
                    generation=client.generation,
                    revoked=client.revoked,
                    created_us=client.created_us,
                    updated_us=client.updated_us,
                )
            )

    def client(self, client_id: str) -> ClientRecord | None:
        found = self.client_with_secret_hash(client_id)
        return found[0] if found else None

    def client_with_secret_hash(self, client_id: str) -> tuple[ClientRecord, str] | None:
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            row = connection.execute(
                select(oauth_clients).where(oauth_clients.c.id == client_id)
            ).first()
        return (_client(row), str(row.secret_hash)) if row else None

    def clients(self) -> list[ClientRecord]:
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            rows = connection.execute(
                select(oauth_clients).order_by(oauth_clients.c.created_us, oauth_clients.c.id)
            ).all()
        return [_client(row) for row in rows]

    def change_client(
        self,
        client_id: str,
        updated_us: int,
        *,
        scopes: Sequence[str] | None = None,
        secret_hash: str | None = None,
        revoke: bool = False,
    ) -> ClientRecord | None:
        """Apply the changes; a new scope set or secret bumps the generation (atomically)."""
        values: dict[str, Any] = {"updated_us": updated_us}
        if scopes is not None:
            values["scopes"] = list(scopes)
        if secret_hash is not None:
            values["secret_hash"] = secret_hash
        if scopes is not None or secret_hash is not None:
            values["generation"] = oauth_clients.c.generation + 1
        if revoke:
            values["revoked"] = True
        with self._engine.begin() as connection:
            connection.execute(
                update(oauth_clients).where(oauth_clients.c.id == client_id).values(**values)
            )
            row = connection.execute(
                select(oauth_clients).where(oauth_clients.c.id == client_id)
            ).first()
        return _client(row) if row else None

    def token_status(self, client_id: str, jti: str) -> TokenStatus | None:
        """Two primary-key lookups: cheap enough for every request. None: no such client."""
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            client = connection.execute(
                select(oauth_clients.c.generation, oauth_clients.c.revoked).where(
                    oauth_clients.c.id == client_id
                )
            ).first()
            if client is None:
                return None
            revoked = connection.execute(
                select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti)
            ).first()
        return TokenStatus(int(client.generation), bool(client.revoked), revoked is not None)

    # --- revoked tokens ------------------------------------------------------------------

    def revoke_token(self, jti: str, expires_us: int, prune_before_us: int) -> None:
        """Remember `jti` until it expires; forget revocations of tokens already expired."""
        with self._engine.begin() as connection:
            connection.execute(
                delete(revoked_tokens).where(revoked_tokens.c.expires_us < prune_before_us)
            )
            known = connection.execute(
                select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti)
            ).first()
            if known is None:
                try:
                    with connection.begin_nested():
                        connection.execute(
                            insert(revoked_tokens).values(jti=jti, expires_us=expires_us)
                        )
                except IntegrityError:  # revoked concurrently: already done
                    pass

    # --- signing keys --------------------------------------------------------------------

    def signing_keys(self) -> list[SigningKeyRecord]:
        """Every key not yet pruned, newest first."""
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            rows = connection.execute(
                select(signing_keys).order_by(signing_keys.c.created_us.desc(), signing_keys.c.kid)
            ).all()
        return [_signing_key(row) for row in rows]

    def active_signing_key(self) -> SigningKeyRecord | None:
        """The newest key not retired: the one that signs."""
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            row = connection.execute(
                select(signing_keys)
                .where(signing_keys.c.retired_us.is_(None))
                .order_by(signing_keys.c.created_us.desc(), signing_keys.c.kid)
                .limit(1)
            ).first()
        return _signing_key(row) if row else None

    def add_signing_key(
        self, key: SigningKeyRecord, *, retire_others: bool, prune_retired_before_us: int | None
    ) -> None:
        """Insert `key`; optionally retire the others and drop keys retired long ago."""
        with self._engine.begin() as connection:
            if prune_retired_before_us is not None:
                connection.execute(
                    delete(signing_keys).where(
                        signing_keys.c.retired_us.is_not(None),
                        signing_keys.c.retired_us < prune_retired_before_us,
                    )
                )
            if retire_others:
                connection.execute(
                    update(signing_keys)
                    .where(signing_keys.c.retired_us.is_(None))
                    .values(retired_us=key.created_us)
                )
            connection.execute(
                insert(signing_keys).values(
                    kid=key.kid,
                    private_jwk=key.private_jwk,
                    created_us=key.created_us,
                    retired_us=key.retired_us,
                )
            )


def _client(row: Row[Any]) -> ClientRecord:
    return ClientRecord(
        id=str(row.id),
        name=str(row.name),
        scopes=tuple(str(scope) for scope in row.scopes),
        generation=int(row.generation),
        revoked=bool(row.revoked),
        created_us=int(row.created_us),
        updated_us=int(row.updated_us),
    )


def _signing_key(row: Row[Any]) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=str(row.kid),
        private_jwk=dict(row.private_jwk),
        created_us=int(row.created_us),
        retired_us=None if row.retired_us is None else int(row.retired_us),
    )

"""OAuth 2 use cases: clients, access tokens (RFC 9068 JWTs), signing keys.

A token is a signed JWT, so verifying it needs no database for the signature: the public keys
are cached in memory. What another process (the CLI) may change at any time — a client's
generation or revocation, a token's revocation — is read on every verification, by primary key.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey, import_key
from joserfc.jws import extract_compact
from sqlalchemy import Engine

from adhere.adapters.auth_store import AuthStore, ClientRecord, SigningKeyRecord
from adhere.config import Settings
from adhere.domain.errors import InvalidInput
from adhere.domain.organisation import Agent

__all__ = [
    "AUDIENCE",
    "EVERYONE",
    "KNOWN_SCOPES",
    "AuthService",
    "ClientNotFound",
    "ClientRecord",
    "ClientRevoked",
    "InvalidClient",
    "InvalidScope",
    "InvalidToken",
    "Principal",
    "TokenNotOwned",
    "Visibility",
]

KNOWN_SCOPES: tuple[str, ...] = (
    "events:write",
    "adherence:read",
    "schedule:agent:read",
    "schedule:agent:write",
    "rules:manage",
    "actions:manage",
    "actions:execute",
    "webhooks:manage",
    "admin",
)
AUDIENCE = "adhere"
ALGORITHM = "RS256"  # the one RFC 9068 requires every resource server to support
TOKEN_TYPE = "at+jwt"
GENERATION_CLAIM = "adhere_generation"
_MAX_NAME_LENGTH = 200
_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Visibility:
    """Whose data a principal may see. OAuth clients and admins see everyone; a supervisor may
    be limited to some management units or teams; an agent user sees only their own agent."""

    unit_ids: frozenset[str] | None = None  # None: not limited by unit
    team_ids: frozenset[str] | None = None  # None: not limited by team
    agent_id: str | None = None  # set: only this agent

    @property
    def everyone(self) -> bool:
        return self.unit_ids is None and self.team_ids is None and self.agent_id is None

    def sees(self, agent: Agent) -> bool:
        if self.agent_id is not None:
            return agent.id == self.agent_id
        if self.everyone:
            return True
        return (self.unit_ids is not None and agent.management_unit_id in self.unit_ids) or (
            self.team_ids is not None and agent.team_id in self.team_ids
        )


EVERYONE = Visibility()


@dataclass(frozen=True)
class Principal:
    """Who a verified access token (or a browser session) speaks for, and what it may do."""

    client_id: str  # the OAuth client, or "user:<user id>" for a browser session
    scopes: frozenset[str]
    jti: str
    expires_at: int  # seconds since the epoch, the token's (or session's) expiry
    visibility: Visibility = EVERYONE
    user_id: str | None = None  # set for a browser session
    role: str | None = None  # the user's role: admin, supervisor or agent

    def has(self, scope: str) -> bool:
        return scope in self.scopes


class InvalidClient(Exception):
    """Client authentication failed: unknown client, wrong secret, or a revoked client."""


class InvalidScope(Exception):
    """The token request asked for scopes the client is not allowed."""

    def __init__(self, not_allowed: Iterable[str]) -> None:
        self.not_allowed = tuple(not_allowed)
        names = ", ".join(f"'{scope}'" for scope in self.not_allowed)
        super().__init__(f"the client is not allowed scope(s) {names}")


class InvalidToken(Exception):
    """An access token that cannot be accepted; the message says why, for the caller."""


class ClientNotFound(LookupError):
    def __init__(self, client_id: str) -> None:
        super().__init__(f"no client {client_id!r}")
        self.client_id = client_id


class ClientRevoked(Exception):
    """A change was asked of a revoked client; revocation is final."""

    def __init__(self, client_id: str) -> None:
        super().__init__(f"client {client_id!r} is revoked")
        self.client_id = client_id


class TokenNotOwned(Exception):
    """RFC 7009: a client may revoke only the tokens issued to it."""


class AuthService:
    def __init__(
        self, database: Engine, settings: Settings, now: Callable[[], float] = time.time
    ) -> None:
        self._store = AuthStore(database)
        self._settings = settings
        self._now = now
        self._hasher = PasswordHasher()
        self._dummy_hash: str | None = None
        self._public_keys: dict[str, RSAKey] = {}
        self._private_keys: dict[str, RSAKey] = {}
        self._keys_lock = threading.Lock()
        self._creating_key = threading.Lock()

    @property
    def issuer(self) -> str:
        return self._settings.token_issuer

    @property
    def token_lifetime_seconds(self) -> int:
        return self._settings.token_lifetime_seconds

    # --- clients -------------------------------------------------------------------------

    def create_client(self, name: str, scopes: Iterable[str]) -> tuple[ClientRecord, str]:
        """A new client and its secret: the only time the secret is seen, only its hash is kept."""
        now_us = self._now_us()
        client = ClientRecord(
            id="cl_" + secrets.token_urlsafe(16),
            name=_valid_name(name),
            scopes=_known_scopes(scopes),
            generation=1,
            revoked=False,
            created_us=now_us,
            updated_us=now_us,
        )
        secret = _new_secret()
        self._store.insert_client(client, self._hasher.hash(secret))
        return client, secret

    def list_clients(self) -> list[ClientRecord]:
        return self._store.clients()

    def get_client(self, client_id: str) -> ClientRecord:
        client = self._store.client(client_id)
        if client is None:
            raise ClientNotFound(client_id)
        return client

    def set_scopes(self, client_id: str, scopes: Iterable[str]) -> ClientRecord:
        """Replace the client's scopes; tokens issued before stop working (unless unchanged)."""
        valid = _known_scopes(scopes)
        client = self.get_client(client_id)
        if client.revoked:
            raise ClientRevoked(client_id)
        if client.scopes == valid:
            return client
        return self._changed(client_id, scopes=valid)

    def rotate_secret(self, client_id: str) -> str:
        """A new secret for the client; the old one and tokens issued before stop working."""
        self._require_active(client_id)
        secret = _new_secret()
        self._changed(client_id, secret_hash=self._hasher.hash(secret))
        return secret

    def revoke_client(self, client_id: str) -> ClientRecord:
        """Revoke the client for good, and with it every token it holds (idempotent)."""
        client = self.get_client(client_id)
        if client.revoked:
            return client
        return self._changed(client_id, revoke=True)

    def authenticate_client(self, client_id: str, client_secret: str) -> ClientRecord:
        """The client these credentials prove, else `InvalidClient` (not saying which failed)."""
        found = self._store.client_with_secret_hash(client_id)
        if found is None:
            self._verify_secret(self._unused_hash(), client_secret)  # same cost: no timing oracle
            raise InvalidClient("unknown client or wrong secret")
        client, secret_hash = found
        if not self._verify_secret(secret_hash, client_secret):
            raise InvalidClient("unknown client or wrong secret")
        if client.revoked:
            raise InvalidClient("the client is revoked")
        return client

    # --- tokens --------------------------------------------------------------------------

    def issue_token(
        self, client_id: str, client_secret: str, requested_scopes: list[str] | None
    ) -> dict[str, Any]:
        """RFC 6749 §4.4 client credentials: a token with the requested ∩ allowed scopes.

        No `requested_scopes` means all the client's scopes; asking for one the client is not
        allowed raises `InvalidScope` naming it (rather than silently narrowing the token).
        """
        client = self.authenticate_client(client_id, client_secret)
        granted = _granted_scopes(client.scopes, requested_scopes)
        return self.token_for(client, granted)

    def token_for(self, client: ClientRecord, scopes: tuple[str, ...]) -> dict[str, Any]:
        """The token response for an already authenticated client."""
        issued_at = int(self._now())
        lifetime = self._settings.token_lifetime_seconds
        claims = {
            "iss": self.issuer,
            "sub": client.id,
            "client_id": client.id,
            "aud": AUDIENCE,
            "iat": issued_at,
            "exp": issued_at + lifetime,
            "jti": secrets.token_urlsafe(24),
            "scope": " ".join(scopes),
            GENERATION_CLAIM: client.generation,
        }
        kid, key = self._signing_key()
        header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": kid}
        return {
            "access_token": jwt.encode(header, claims, key, algorithms=[ALGORITHM]),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": " ".join(scopes),
        }

    def verify(self, token: str) -> Principal:
        """The principal of a valid token, or `InvalidToken` saying why not."""
        claims = self._valid_claims(token)
        return Principal(
            client_id=claims["client_id"],
            scopes=frozenset(claims["scope"].split()),
            jti=claims["jti"],
            expires_at=claims["exp"],
        )

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662: the token's claims with ``active: true``, or just ``active: false``."""
        try:
            claims = self._valid_claims(token)
        except InvalidToken:
            return {"active": False}
        return {
            "active": True,
            "scope": claims["scope"],
            "client_id": claims["client_id"],
            "token_type": "Bearer",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "sub": claims["sub"],
            "aud": claims["aud"],
            "iss": claims["iss"],
            "jti": claims["jti"],
        }

    def revoke_token(self, token: str, by_client: str | None = None) -> None:
        """RFC 7009: forget nothing about unknown or expired tokens, refuse others' tokens."""
        try:
            claims = self._signed_claims(token)
        except InvalidToken:
            return  # not ours, malformed or expired: nothing can use it anyway
        if by_client is not None and claims["client_id"] != by_client:
            raise TokenNotOwned("the token was issued to another client")
        self._store.revoke_token(claims["jti"], claims["exp"] * _US, self._now_us())

    # --- signing keys --------------------------------------------------------------------

    def rotate_signing_key(self) -> str:
        """A new signing key; the old ones retire but verify until their tokens expire.

        Keys retired longer than a token lifetime ago can sign nothing still valid: pruned.
        """
        now_us = self._now_us()
        key = _new_signing_key(now_us)
        prune_before = now_us - self._settings.token_lifetime_seconds * _US
        self._store.add_signing_key(key, retire_others=True, prune_retired_before_us=prune_before)
        return key.kid

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set: every key whose tokens may still be valid."""
        self._signing_key()  # the first key exists from the first look
        keys = self._store.signing_keys()
        with self._keys_lock:
            self._remember(keys)
        return {"keys": [_public_jwk(key) for key in keys]}

    # --- helpers -------------------------------------------------------------------------

    def _signing_key(self) -> tuple[str, RSAKey]:
        """The newest active key, created on first use. Read each time: another process may
        rotate it, and issuing tokens is rare next to verifying them."""
        record = self._store.active_signing_key()
        if record is None:
            with self._creating_key:  # one first key per process, not one per concurrent request
                record = self._store.active_signing_key()
                if record is None:
                    record = _new_signing_key(self._now_us())
                    self._store.add_signing_key(
                        record, retire_others=False, prune_retired_before_us=None
                    )
        with self._keys_lock:
            key = self._private_keys.get(record.kid)
            if key is None:
                key = _rsa_key(record.private_jwk)
                self._private_keys[record.kid] = key
                self._public_keys[record.kid] = _rsa_key(_public_jwk(record))
        return record.kid, key

    def _public_key(self, kid: str) -> RSAKey | None:
        """The cached key; an unknown kid reloads the keys (another process may have rotated)."""
        with self._keys_lock:
            key = self._public_keys.get(kid)
            if key is None:
                self._remember(self._store.signing_keys())
                key = self._public_keys.get(kid)
        return key

    def _remember(self, keys: list[SigningKeyRecord]) -> None:
        """Cache exactly these keys (pruned ones go), parsing only those not cached yet."""
        known = self._public_keys
        self._public_keys = {
            key.kid: known.get(key.kid) or _rsa_key(_public_jwk(key)) for key in keys
        }

    def _signed_claims(self, token: str) -> dict[str, Any]:
        """Claims of a token we signed, of the right type, unexpired (no database lookups)."""
        try:
            header = extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, TypeError):
            raise InvalidToken("the token is not a JWT") from None
        if str(header.get("typ", "")).lower() not in {TOKEN_TYPE, "application/" + TOKEN_TYPE}:
            raise InvalidToken("the token is not an access token (typ must be at+jwt)")
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"the token is not signed with {ALGORITHM}")
        kid = header.get("kid")
        key = self._public_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("the token is signed with an unknown key")
        try:
            claims = dict(jwt.decode(token, key, algorithms=[ALGORITHM]).claims)
        except (JoseError, ValueError, TypeError):
            raise InvalidToken("the token's signature is not valid") from None
        _check_claims(claims, self.issuer)
        if claims["exp"] <= self._now():
            raise InvalidToken(f"the token expired at {_rfc3339(claims['exp'])}")
        return claims

    def _valid_claims(self, token: str) -> dict[str, Any]:
        claims = self._signed_claims(token)
        status = self._store.token_status(claims["client_id"], claims["jti"])
        if status is None:
            raise InvalidToken("the token's client no longer exists")
        if status.client_revoked:
            raise InvalidToken("the token's client has been revoked")
        if status.generation != claims[GENERATION_CLAIM]:
            raise InvalidToken("the client's scopes or secret changed after the token was issued")
        if status.token_revoked:
            raise InvalidToken("the token has been revoked")
        return claims

    def _require_active(self, client_id: str) -> None:
        if self.get_client(client_id).revoked:
            raise ClientRevoked(client_id)

    def _changed(self, client_id: str, **changes: Any) -> ClientRecord:
        client = self._store.change_client(client_id, self._now_us(), **changes)
        if client is None:
            raise ClientNotFound(client_id)
        return client

    def _verify_secret(self, secret_hash: str, secret: str) -> bool:
        try:
            return self._hasher.verify(secret_hash, secret)
        except (VerificationError, InvalidHashError):
            return False

    def _unused_hash(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(_new_secret())
        return self._dummy_hash

    def _now_us(self) -> int:
        return int(self._now() * _US)


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a client needs a name", "name")
    if len(name) > _MAX_NAME_LENGTH:
        raise InvalidInput(f"at most {_MAX_NAME_LENGTH} characters", "name")
    return name


def _known_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes in canonical order, once each; an unknown name is refused, with the list."""
    wanted = set(scopes)
    unknown = sorted(wanted.difference(KNOWN_SCOPES))
    if unknown:
        raise InvalidInput(
            f"unknown scope(s) {', '.join(map(repr, unknown))}; "
            f"known scopes: {', '.join(KNOWN_SCOPES)}",
            "scopes",
        )
    return tuple(scope for scope in KNOWN_SCOPES if scope in wanted)


def _granted_scopes(allowed: tuple[str, ...], requested: list[str] | None) -> tuple[str, ...]:
    if requested is None:
        return allowed
    not_allowed = [scope for scope in dict.fromkeys(requested) if scope not in allowed]
    if not_allowed:
        raise InvalidScope(not_allowed)
    return tuple(scope for scope in allowed if scope in requested)


def _check_claims(claims: Mapping[str, Any], issuer: str) -> None:
    """The claims every token we issue carries, with their types: anything else is not ours."""
    for name, kind in (
        ("iss", str),
        ("sub", str),
        ("client_id", str),
        ("jti", str),
        ("scope", str),
        ("iat", int),
        ("exp", int),
        (GENERATION_CLAIM, int),
    ):
        if not isinstance(claims.get(name), kind) or isinstance(claims.get(name), bool):
            raise InvalidToken(f"the token has no valid {name!r} claim")
    if claims["iss"] != issuer:
        raise InvalidToken("the token was issued by another server")
    audience = claims.get("aud")
    if audience != AUDIENCE and not (isinstance(audience, list) and AUDIENCE in audience):
        raise InvalidToken(f"the token is not meant for {AUDIENCE!r}")


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _new_signing_key(created_us: int) -> SigningKeyRecord:
    key = RSAKey.generate_key(2048, private=True)
    return SigningKeyRecord(
        kid=key.thumbprint(),  # RFC 7638: 43 characters, stable for the key
        private_jwk=dict(key.as_dict(private=True)),
        created_us=created_us,
        retired_us=None,
    )


def _public_jwk(key: SigningKeyRecord) -> dict[str, Any]:
    public = _rsa_key(key.private_jwk).as_dict(private=False)
    return {**public, "kid": key.kid, "alg": ALGORITHM, "use": "sig"}


def _rsa_key(jwk: Mapping[str, Any]) -> RSAKey:
    key = import_key(dict(jwk), "RSA")
    assert isinstance(key, RSAKey)
    return key


def _rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

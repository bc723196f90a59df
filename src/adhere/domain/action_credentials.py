"""Credentials that data actions authenticate with: what is public, and what is secret.

Three kinds, as Genesys Cloud's web services integration has them:

- ``basic``: a username (public) and a password (secret), sent as ``Authorization: Basic``;
- ``user_defined``: named fields, all secret, that templates use as ``$credentials.<name>``;
- ``oauth_client_credentials``: a token URL, client id, scopes, audience, extra token request
  parameters and how the client authenticates (public), and the client secret (secret).

Any kind may carry a ``base_url``: an action's relative URL (``/api/v2/…``, as Genesys Cloud
exports them) is resolved against it. The secret part is sealed at rest and never shown again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant

MAX_NAME = 200
MAX_TEXT = 2000
MAX_FIELDS = 50
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_AUTH_METHODS = {
    "basic": "client_secret_basic",
    "post": "client_secret_post",
    "client_secret_basic": "client_secret_basic",
    "client_secret_post": "client_secret_post",
}


class CredentialKind(StrEnum):
    BASIC = "basic"
    USER_DEFINED = "user_defined"
    OAUTH_CLIENT_CREDENTIALS = "oauth_client_credentials"


# Which fields of a credential document each kind takes (besides name, kind and base_url).
_PUBLIC_FIELDS: dict[CredentialKind, frozenset[str]] = {
    CredentialKind.BASIC: frozenset({"username"}),
    CredentialKind.USER_DEFINED: frozenset(),
    CredentialKind.OAUTH_CLIENT_CREDENTIALS: frozenset(
        {"token_url", "client_id", "scopes", "audience", "extra_params", "auth_method"}
    ),
}
_SECRET_FIELDS: dict[CredentialKind, frozenset[str]] = {
    CredentialKind.BASIC: frozenset({"password"}),
    CredentialKind.USER_DEFINED: frozenset({"fields"}),
    CredentialKind.OAUTH_CLIENT_CREDENTIALS: frozenset({"client_secret"}),
}


@dataclass(frozen=True, slots=True)
class Credential:
    """A stored credential without its secret: what may be listed and shown."""

    id: str
    name: str
    kind: CredentialKind
    details: Mapping[str, Any]  # public, by kind (see `parse_credential`)
    created: Instant
    updated: Instant

    @property
    def base_url(self) -> str | None:
        found = self.details.get("base_url")
        return found if isinstance(found, str) else None


@dataclass(frozen=True, slots=True)
class NewCredential:
    """A credential as given by a user: its public details and its secret values apart."""

    name: str
    kind: CredentialKind
    details: dict[str, Any]
    secret: dict[str, str]


def parse_credential(document: object) -> NewCredential:
    """Read a credential document (flat: ``{"name", "kind", …fields of the kind}``), naming
    the first wrong field."""
    if not isinstance(document, Mapping):
        raise InvalidInput("must be an object", "credential")
    name = _text(document.get("name"), "name", MAX_NAME)
    try:
        kind = CredentialKind(str(document.get("kind")))
    except ValueError:
        kinds = ", ".join(kind.value for kind in CredentialKind)
        raise InvalidInput(f"must be one of {kinds}", "kind") from None
    allowed = {"name", "kind", "base_url"} | _PUBLIC_FIELDS[kind] | _SECRET_FIELDS[kind]
    for key, value in document.items():
        if key not in allowed and value is not None:
            raise InvalidInput(f"is not a field of a {kind.value} credential", str(key))
    details: dict[str, Any] = {}
    if document.get("base_url") is not None:
        details["base_url"] = _url(document.get("base_url"), "base_url")
    secret: dict[str, str]
    if kind is CredentialKind.BASIC:
        details["username"] = _text(document.get("username"), "username", MAX_TEXT)
        secret = {"password": _text(document.get("password"), "password", MAX_TEXT)}
    elif kind is CredentialKind.USER_DEFINED:
        secret = _fields(document.get("fields"))
        details["fields"] = sorted(secret)
    else:
        details["token_url"] = _url(document.get("token_url"), "token_url")
        details["client_id"] = _text(document.get("client_id"), "client_id", MAX_TEXT)
        details["scopes"] = _scopes(document.get("scopes"))
        audience = document.get("audience")
        details["audience"] = None if audience is None else _text(audience, "audience", MAX_TEXT)
        details["extra_params"] = _params(document.get("extra_params"))
        method = document.get("auth_method", "client_secret_basic")
        if method is None:
            method = "client_secret_basic"
        if method not in _AUTH_METHODS:
            raise InvalidInput(
                "must be basic (client_secret_basic) or post (client_secret_post)", "auth_method"
            )
        details["auth_method"] = _AUTH_METHODS[str(method)]
        secret = {"client_secret": _text(document.get("client_secret"), "client_secret", MAX_TEXT)}
    return NewCredential(name, kind, details, secret)


def _text(value: object, where: str, limit: int) -> str:
    if value is None:
        raise InvalidInput("is required", where)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a non-empty string", where)
    if len(value) > limit:
        raise InvalidInput(f"must be at most {limit} characters", where)
    return value


def _url(value: object, where: str) -> str:
    if value is None:
        raise InvalidInput("is required: an absolute http:// or https:// URL", where)
    text = _text(value, where, MAX_TEXT)
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput("must be an absolute http:// or https:// URL", where)
    return text


def _scopes(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        raise InvalidInput("must be a list of scopes (or one space-separated string)", "scopes")
    found: list[str] = []
    for index, scope in enumerate(value):
        if not isinstance(scope, str) or not scope or any(c.isspace() for c in scope):
            raise InvalidInput("must be a scope name without spaces", f"scopes[{index}]")
        if scope not in found:
            found.append(scope)
    return found


def _params(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("must be an object of text parameters", "extra_params")
    reserved = {"grant_type", "client_id", "client_secret", "scope", "audience"}
    for key, text in value.items():
        if key in reserved:
            raise InvalidInput(f"{key} is set by Adhere (or its own field)", f"extra_params.{key}")
        if not isinstance(text, str):
            raise InvalidInput("must be a string", f"extra_params.{key}")
    return dict(value)


def _fields(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise InvalidInput(
            'must be an object of named values, e.g. {"apiKey": "…"}; templates use them as '
            "$credentials.<name>",
            "fields",
        )
    if len(value) > MAX_FIELDS:
        raise InvalidInput(f"must have at most {MAX_FIELDS} fields", "fields")
    for key, text in value.items():
        if not isinstance(key, str) or not _FIELD_NAME.fullmatch(key):
            raise InvalidInput(
                "must be a name of letters, digits and _ (a template reference)", f"fields.{key}"
            )
        if not isinstance(text, str) or not text:
            raise InvalidInput("must be a non-empty string", f"fields.{key}")
    return dict(value)

"""Does an action's identity hold the scopes its target route requires? Asked before saving.

The target's requirement comes from the OpenAPI document its server publishes
(``{origin}/openapi.json``: Adhere's own API, the platform stand-ins, many others): the
operation matching the action's method and URL template, and the OAuth 2 scopes of its
security requirement. What the identity holds comes from the credential: the scopes it asks
for, then what the token endpoint actually grants. A scope missing on either side is a
definite answer, named; a target with no document, or a route it does not list, cannot be
checked, and the verdict says so rather than guessing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from adhere.adapters.token_manager import (
    ClientCredentials,
    ScopeNotGranted,
    TokenError,
    TokenManager,
    TokenRequestFailed,
)
from adhere.domain.data_actions import DataAction

_TEMPLATE_REFERENCE = re.compile(r"\$!?\{[^}]*\}|\$!?[A-Za-z_][\w.]*(?:\([^)]*\))?")
_PATH_PARAMETER = re.compile(r"\\\{[^}]*\\\}")
_DOCUMENT_TIMEOUT_SECONDS = 5.0
_TOKEN_TIMEOUT_SECONDS = 10.0  # the two together stay within the caller's limit (30 s)


@dataclass(frozen=True, slots=True)
class ScopeVerdict:
    checked: bool  # False: nothing says what the route requires (see `note`)
    route: str | None = None  # "PATCH /api/v2/users/{userId}/presence"
    document_url: str | None = None
    required: frozenset[str] = frozenset()
    held: frozenset[str] | None = None  # granted by the token endpoint, when asked
    missing: frozenset[str] = frozenset()
    note: str | None = None  # why it could not be checked, or how it was decided
    advice: str | None = None  # what to grant, and where

    @property
    def refused(self) -> bool:
        return bool(self.missing)

    def explanation(self) -> str:
        if not self.missing:
            return self.note or "the credential holds every scope the route requires"
        names = ", ".join(sorted(self.missing))
        return f"{self.route} requires the scope(s) {names}: {self.note}. {self.advice}"

    def as_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "route": self.route,
            "document_url": self.document_url,
            "required": sorted(self.required),
            "held": None if self.held is None else sorted(self.held),
            "missing": sorted(self.missing),
            "note": self.note,
            "advice": self.advice,
        }


async def check_action_scopes(
    action: DataAction,
    credentials: ClientCredentials | None,
    credential_label: str | None,
    http: httpx.AsyncClient,
    tokens: TokenManager,
) -> ScopeVerdict:
    """The verdict for `action` run with `credentials` (None: not an OAuth credential)."""
    target = _concrete_url(action.url_template)
    if target is None:
        return ScopeVerdict(False, note="the URL's scheme and host are templated: not checked")
    origin, path = target
    document_url = f"{origin}/openapi.json"
    document = await _document(http, document_url)
    if document is None:
        return ScopeVerdict(
            False, document_url=document_url, note=f"no OpenAPI document at {document_url}"
        )
    found = route_requirement(document, action.method, path)
    if found is None:
        return ScopeVerdict(
            False,
            document_url=document_url,
            note=f"{action.method} {path} is not in {document_url}",
        )
    route, required = found
    checked = ScopeVerdict(True, route, document_url, required)
    if not required:
        return replace(checked, note="the route requires no scope")
    label = credential_label or "(none)"
    if credentials is None:
        return replace(
            checked,
            missing=required,
            note=f"credential {label} is not an OAuth 2 client credential",
            advice="Use an OAuth 2 client-credentials credential holding them.",
        )
    asked = frozenset(credentials.scopes)
    if asked and not required <= asked:  # asking for none takes what the client is given
        return replace(
            checked,
            missing=required - asked,
            note=f"credential {label} does not ask for them",
            advice=f"Add them to the credential's scopes, and grant them to client "
            f"{credentials.client_id!r} at {credentials.token_url}.",
        )
    return await _granted(checked, credentials, tokens)


def route_requirement(
    document: Mapping[str, Any], method: str, path: str
) -> tuple[str, frozenset[str]] | None:
    """The operation of an OpenAPI document serving `method` `path`, and the OAuth 2 scopes
    it requires (the fewest among alternative requirements), or None if it lists none."""
    prefix = _server_path(document)
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return None
    for template, operations in paths.items():
        if not isinstance(operations, dict):
            continue
        operation = operations.get(method.lower())
        if not isinstance(operation, dict) or not _route_pattern(prefix + template).match(path):
            continue
        requirements = operation.get("security", document.get("security", []))
        return f"{method.upper()} {prefix}{template}", _oauth_scopes(document, requirements)
    return None


async def _granted(
    checked: ScopeVerdict, credentials: ClientCredentials, tokens: TokenManager
) -> ScopeVerdict:
    client = repr(credentials.client_id)
    grant = f"Grant client {client} the scope(s) at {credentials.token_url}"
    try:
        token = await asyncio.wait_for(tokens.fresh_token(credentials), _TOKEN_TIMEOUT_SECONDS)
    except ScopeNotGranted as error:
        return replace(
            checked,
            missing=checked.required & error.missing,
            note=f"the token endpoint did not grant them to client {client}",
            advice=grant + _adhere_hint(credentials, error.missing),
        )
    except TokenRequestFailed as error:
        if error.error == "invalid_scope":
            return replace(
                checked,
                missing=checked.required,
                note=f"the token endpoint refused to grant them to client {client} ({error})",
                advice=grant + _adhere_hint(credentials, checked.required),
            )
        return replace(checked, checked=False, note=f"the token endpoint refused: {error}")
    except (TokenError, TimeoutError) as error:
        reason = str(error) or f"no answer within {_TOKEN_TIMEOUT_SECONDS:g} s"
        return replace(checked, checked=False, note=f"no token to check with: {reason}")
    held = token.granted_scopes or frozenset(credentials.scopes)  # RFC 6749 §5.1
    if not held:
        note = "the token endpoint did not say which scopes it granted"
        return replace(checked, checked=False, note=note)
    missing = checked.required - held
    return replace(
        checked,
        held=held,
        missing=missing,
        note=f"client {client} was not granted them" if missing else "granted",
        advice=grant + _adhere_hint(credentials, missing) if missing else None,
    )


def _adhere_hint(credentials: ClientCredentials, missing: frozenset[str]) -> str:
    if not credentials.token_url.endswith("/oauth/token"):
        return "."
    return (
        f" (an Adhere client: `adhere clients set-scopes {credentials.client_id} "
        f'"<its scopes> {" ".join(sorted(missing))}"`).'
    )


def _concrete_url(template: str) -> tuple[str, str] | None:
    """The origin and path of a URL template, each placeholder standing for one segment."""
    parts = urlsplit(_TEMPLATE_REFERENCE.sub("x", template))
    if "$" in template.split("//", 1)[-1].split("/", 1)[0] or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}", parts.path or "/"


async def _document(http: httpx.AsyncClient, url: str) -> Mapping[str, Any] | None:
    try:
        response = await http.get(url, timeout=_DOCUMENT_TIMEOUT_SECONDS)
        document = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return document if isinstance(document, dict) and "paths" in document else None


def _server_path(document: Mapping[str, Any]) -> str:
    servers = document.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        return urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
    return ""


def _route_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + _PATH_PARAMETER.sub("[^/]+", re.escape(template)) + "/?$")


def _oauth_scopes(document: Mapping[str, Any], requirements: object) -> frozenset[str]:
    components = document.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    oauth = {
        name
        for name, scheme in (schemes.items() if isinstance(schemes, dict) else ())
        if isinstance(scheme, dict) and scheme.get("type") == "oauth2"
    }
    alternatives: list[frozenset[str]] = []
    if isinstance(requirements, Sequence):
        for requirement in requirements:
            if isinstance(requirement, dict):
                alternatives.append(
                    frozenset(
                        scope
                        for name, scopes in requirement.items()
                        if name in oauth and isinstance(scopes, list)
                        for scope in scopes
                        if isinstance(scope, str)
                    )
                )
    return min(alternatives, key=len) if alternatives else frozenset()

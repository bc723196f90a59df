"""Data action documents (Genesys Cloud export JSON) and credentials the data action tests use."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet

TEST_KEY = Fernet.generate_key().decode()
"""The sealing key of the tests (ADHERE_SECRET_KEY), so that none writes ./adhere.key."""

READ, WRITE = "presence:read", "presence:write"
PLATFORM_CLIENTS = {
    "reader": ("reader-secret", frozenset({READ})),
    "writer": ("writer-secret", frozenset({READ, WRITE})),
}


def oauth_credential(base: str, client: str = "writer", **extra: Any) -> dict[str, Any]:
    return {
        "name": f"platform {client}",
        "kind": "oauth_client_credentials",
        "base_url": base,
        "token_url": f"{base}/oauth/token",
        "client_id": client,
        "client_secret": f"{client}-secret",
        "scopes": [WRITE],  # what PATCH presence requires: saving the action checks it
        **extra,
    }


def set_presence_action(credential_id: str | None, **config: Any) -> dict[str, Any]:
    """PATCH the platform stand-in's presence of a user (a relative URL, as Genesys exports)."""
    return {
        "name": "Set presence",
        "integrationType": "purecloud-data-actions",
        "actionType": "custom",
        "category": "Platform",
        **({"credentialId": credential_id} if credential_id else {}),
        "config": {
            "request": {
                "requestUrlTemplate": "/api/v2/users/${input.userId}/presence",
                "requestType": "PATCH",
                "headers": {},
                "requestTemplate": '{"presence": "$esc.jsonString(${input.presence})"}',
            },
            "response": {
                "translationMap": {"presence": "$.presence", "user": "$.id"},
                "translationMapDefaults": {},
                "successTemplate": '{"presence": ${presence}, "userId": ${user}}',
            },
            **config,
        },
        "contract": {
            "input": {
                "inputSchema": {
                    "type": "object",
                    "required": ["userId", "presence"],
                    "properties": {
                        "userId": {"type": "string"},
                        "presence": {"type": "string", "enum": ["Available", "Away", "Break"]},
                    },
                }
            },
            "output": {
                "successSchema": {
                    "type": "object",
                    "required": ["presence"],
                    "properties": {"presence": {"type": "string"}},
                }
            },
        },
        "secure": False,
    }


def flaky_action(
    url: str,
    method: str = "GET",
    credential_id: str | None = None,
    headers: dict[str, str] | None = None,
    **config: Any,
) -> dict[str, Any]:
    """An action calling the flaky stand-in (an absolute URL), its answer as the output."""
    return {
        "name": "Flaky call",
        **({"credentialId": credential_id} if credential_id else {}),
        "config": {
            "request": {
                "requestUrlTemplate": url,
                "requestType": method,
                "headers": headers or {},
                "requestTemplate": "${input.rawRequest}",
            },
            "response": {
                "translationMap": {"call": "$.call", "authorization": "$.authorization"},
                "translationMapDefaults": {"authorization": "null"},
                "successTemplate": "${rawResult}",
            },
            **config,
        },
        "contract": {
            "input": {"inputSchema": {"type": "object"}},
            "output": {"successSchema": {"type": "object", "required": ["call"]}},
        },
    }


def fast_retries(**fields: Any) -> dict[str, Any]:
    """A retry strategy whose waits are short, for tests that really wait."""
    return {"initial_interval": 0.01, "maximum_interval": 0.05, **fields}

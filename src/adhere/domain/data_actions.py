"""Data actions: templated HTTP calls with a contract, in Genesys Cloud's export format.

An action is what Genesys Cloud's "Export" produces and "Import" takes (`name`, `config.request`
with `requestUrlTemplate`, `requestType`, `headers`, `requestTemplate`; `config.response` with
`translationMap`, `translationMapDefaults`, `successTemplate`; `contract.input.inputSchema`,
`contract.output.successSchema`), plus what Adhere adds: `config.timeoutSeconds` (1–60, as in
Genesys), `config.retryStrategy` and the credential to authenticate with. Reading one names the
first wrong field by its path (``config.request.requestType``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError

from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
DEFAULT_REQUEST_TEMPLATE = "${input.rawRequest}"
DEFAULT_SUCCESS_TEMPLATE = "${rawResult}"
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class RetryStrategy:
    """Temporal's retry policy fields, waits drawn with full jitter: U(0, the capped wait)."""

    initial_interval: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval: float = 30.0
    maximum_attempts: int = 5  # 1: no retry
    non_retryable_status_codes: frozenset[int] = frozenset()

    def retryable(self, status: int | None) -> bool:
        """A failure without a status (a timeout, a refused connection) or a 5xx is retried;
        a 4xx only if 408, 425 or 429; never one listed as non-retryable."""
        if status is None:
            return True
        if status in self.non_retryable_status_codes:
            return False
        return status >= 500 or status in RETRYABLE_CLIENT_ERRORS

    def cap(self, attempt: int) -> float:
        """The longest wait after failed attempt number `attempt` (1-based)."""
        wait = self.initial_interval * self.backoff_coefficient ** (attempt - 1)
        return float(min(self.maximum_interval, wait))


def retry_wait(
    strategy: RetryStrategy,
    failed_attempts: int,
    retry_after: float | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait after `failed_attempts` failed attempts (1-based) before the next one.

    Full jitter: uniform(0, min(maximum_interval, initial_interval · coefficient^(n−1))), so
    that clients failing together do not come back together. A ``Retry-After`` asking for
    longer is honoured, up to `maximum_interval`.
    """
    if failed_attempts < 1:
        raise ValueError("a wait comes only after a failed attempt")
    wait = uniform(0.0, strategy.cap(failed_attempts))
    if retry_after is not None and retry_after > wait:
        wait = min(retry_after, strategy.maximum_interval)
    return float(wait)


@dataclass(frozen=True, slots=True)
class DataAction:
    name: str
    url_template: str
    method: str
    headers: Mapping[str, str]
    request_template: str
    translation_map: Mapping[str, str]
    translation_map_defaults: Mapping[str, str]
    success_template: str
    input_schema: Mapping[str, Any]
    success_schema: Mapping[str, Any]
    timeout_seconds: int = 15
    retry: RetryStrategy = field(default_factory=RetryStrategy)
    credential_id: str | None = None


@dataclass(frozen=True, slots=True)
class SavedAction:
    """An action as stored: its id, the category it is filed under, and when it changed."""

    id: str
    category: str
    action: DataAction
    created: Instant
    updated: Instant


def parse_action(document: object) -> DataAction:
    """An action from Genesys Cloud's export JSON (with Adhere's optional additions)."""
    root = _object(document, "")
    config = _object(root.get("config"), "config")
    request = _object(config.get("request"), "config.request")
    response = _object(config.get("response", {}), "config.response")
    contract = _object(root.get("contract"), "contract")
    method = _text(request.get("requestType"), "config.request.requestType")
    if method.upper() not in METHODS:
        raise InvalidInput(f"must be one of {', '.join(METHODS)}", "config.request.requestType")
    timeout = config.get("timeoutSeconds", 15)
    if type(timeout) is not int or not 1 <= timeout <= 60:
        raise InvalidInput(
            "must be a whole number of seconds from 1 to 60", "config.timeoutSeconds"
        )
    credential = root.get("credentialId")
    if credential is not None and (not isinstance(credential, str) or not credential):
        raise InvalidInput("must be a credential id", "credentialId")
    return DataAction(
        name=_text(root.get("name"), "name"),
        url_template=_text(request.get("requestUrlTemplate"), "config.request.requestUrlTemplate"),
        method=method.upper(),
        headers=_strings(request.get("headers", {}), "config.request.headers"),
        request_template=_template(
            request.get("requestTemplate", DEFAULT_REQUEST_TEMPLATE),
            "config.request.requestTemplate",
        ),
        translation_map=_strings(
            response.get("translationMap", {}), "config.response.translationMap"
        ),
        translation_map_defaults=_strings(
            response.get("translationMapDefaults", {}), "config.response.translationMapDefaults"
        ),
        success_template=_template(
            response.get("successTemplate", DEFAULT_SUCCESS_TEMPLATE),
            "config.response.successTemplate",
        ),
        input_schema=_schema(
            _object(contract.get("input"), "contract.input").get("inputSchema"),
            "contract.input.inputSchema",
        ),
        success_schema=_schema(
            _object(contract.get("output"), "contract.output").get("successSchema"),
            "contract.output.successSchema",
        ),
        timeout_seconds=timeout,
        retry=_retry(config.get("retryStrategy", "exponential_backoff")),
        credential_id=credential,
    )


def render_action(action: DataAction) -> dict[str, Any]:
    """The action in Genesys Cloud's export format: `parse_action` reads it back equal."""
    retry = action.retry
    return {
        "name": action.name,
        "integrationType": "custom-rest-actions",
        "actionType": "custom",
        "config": {
            "request": {
                "requestUrlTemplate": action.url_template,
                "requestType": action.method,
                "headers": dict(action.headers),
                "requestTemplate": action.request_template,
            },
            "response": {
                "translationMap": dict(action.translation_map),
                "translationMapDefaults": dict(action.translation_map_defaults),
                "successTemplate": action.success_template,
            },
            "timeoutSeconds": action.timeout_seconds,
            "retryStrategy": {
                "initial_interval": retry.initial_interval,
                "backoff_coefficient": retry.backoff_coefficient,
                "maximum_interval": retry.maximum_interval,
                "maximum_attempts": retry.maximum_attempts,
                "non_retryable_status_codes": sorted(retry.non_retryable_status_codes),
            },
        },
        "contract": {
            "input": {"inputSchema": dict(action.input_schema)},
            "output": {"successSchema": dict(action.success_schema)},
        },
        **({"credentialId": action.credential_id} if action.credential_id else {}),
        "secure": False,
    }


def _retry(value: object) -> RetryStrategy:
    where = "config.retryStrategy"
    if value == "exponential_backoff":
        return RetryStrategy()
    item = _object(value, where)
    defaults = RetryStrategy()
    unknown = set(item) - {
        "initial_interval",
        "backoff_coefficient",
        "maximum_interval",
        "maximum_attempts",
        "non_retryable_status_codes",
    }
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}", where)
    initial = _number(
        item.get("initial_interval", defaults.initial_interval), f"{where}.initial_interval", 0.001
    )
    coefficient = _number(
        item.get("backoff_coefficient", defaults.backoff_coefficient),
        f"{where}.backoff_coefficient",
        1.0,
    )
    maximum = _number(
        item.get("maximum_interval", defaults.maximum_interval),
        f"{where}.maximum_interval",
        initial,
    )
    attempts = item.get("maximum_attempts", defaults.maximum_attempts)
    if type(attempts) is not int or not 1 <= attempts <= 100:
        raise InvalidInput("must be a whole number from 1 to 100", f"{where}.maximum_attempts")
    codes = item.get("non_retryable_status_codes", [])
    if not isinstance(codes, list) or any(type(c) is not int or not 100 <= c <= 599 for c in codes):
        raise InvalidInput(
            "must be a list of HTTP status codes", f"{where}.non_retryable_status_codes"
        )
    return RetryStrategy(initial, coefficient, maximum, attempts, frozenset(codes))


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("must be an object", where or "action")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a non-empty string", where)
    return value


def _template(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("must be a Velocity template (a string)", where)
    return value


def _strings(value: object, where: str) -> dict[str, str]:
    item = _object(value, where)
    for key, text in item.items():
        if not isinstance(text, str):
            raise InvalidInput("must be a string", f"{where}.{key}")
    return dict(item)


def _number(value: object, where: str, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise InvalidInput(f"must be a number of at least {minimum:g}", where)
    return float(value)


def _schema(value: object, where: str) -> dict[str, Any]:
    schema = _object(value, where)
    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as error:
        path = "".join(f".{part}" for part in error.path)
        raise InvalidInput(f"is not a valid JSON Schema: {error.message}", where + path) from None
    return schema

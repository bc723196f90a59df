"""Running a data action: its steps, each HTTP attempt, and the record an execution leaves.

An execution goes through `STEPS` in order. A test reports every step (its result, or its
error; steps after a failure are `not_run`); an execution keeps the outcome, each attempt's
HTTP status and duration, and the output or the error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from adhere.domain.data_actions import DataAction
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant

STEPS: tuple[str, ...] = (
    "resolve_input",  # the input against the contract's input schema
    "render_url",  # requestUrlTemplate, resolved against the credential's base_url
    "render_body",  # requestTemplate and the headers
    "authenticate",  # a token (OAuth), a Basic header, or nothing
    "send",  # the HTTP call, retried per the retry strategy
    "translate",  # translationMap (JSONPath) with translationMapDefaults
    "render_success",  # successTemplate, which must give JSON
    "validate_output",  # the output against the contract's success schema
)


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StepStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOT_RUN = "not_run"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt: its status (None: no answer, e.g. a timeout), how long it took, and
    what went wrong, if anything."""

    number: int
    status: int | None
    duration_ms: float
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Attempt:
        return cls(item["number"], item["status"], item["duration_ms"], item.get("error"))


@dataclass(frozen=True, slots=True)
class TraceStep:
    name: str
    status: StepStatus
    result: Any = None
    error: str | None = None
    field: str | None = None  # where the error is, e.g. ``input.userId``

    @property
    def described(self) -> str:
        """``step: field: error`` (or ``step: error``), the way an execution records it."""
        where = f"{self.field}: " if self.field else ""
        return f"{self.name}: {where}{self.error}"


@dataclass(frozen=True, slots=True)
class ActionExecution:
    id: str
    action_id: str
    source: str  # "api", "cli", "rule:<rule id>"
    started: Instant
    finished: Instant
    outcome: Outcome
    attempts: tuple[Attempt, ...]
    input: Mapping[str, Any]
    output: Any = None
    error: str | None = None
    failed_step: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.SUCCEEDED


def trace_outcome(steps: list[TraceStep]) -> tuple[Any, TraceStep | None]:
    """The output of a complete trace, or the step that failed."""
    for step in steps:
        if step.status is StepStatus.FAILED:
            return None, step
    rendered = next((s for s in steps if s.name == "render_success"), None)
    return (None if rendered is None else rendered.result), None


def checked_input(action: DataAction, value: object) -> dict[str, Any]:
    """The input, if it is an object its contract's input schema accepts; else an error
    naming the first wrong field (``input.userId``)."""
    if not isinstance(value, Mapping):
        raise InvalidInput("must be an object", "input")
    _conform(value, action.input_schema, "input", "contract.input.inputSchema")
    return dict(value)


def checked_output(action: DataAction, value: object) -> None:
    """The output must be what the contract's success schema describes."""
    _conform(value, action.success_schema, "output", "contract.output.successSchema")


_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _conform(value: object, schema: Mapping[str, Any], root: str, schema_field: str) -> None:
    errors: Iterator[ValidationError] = Draft7Validator(schema).iter_errors(value)
    try:
        first = next(errors, None)  # in the schema's order: `required` names its first missing
    except Exception as error:  # e.g. a $ref to a remote schema, which is never fetched
        raise InvalidInput(f"cannot be applied: {error}", schema_field) from None
    if first is None:
        return
    path = list(first.absolute_path)
    message = first.message
    required = _REQUIRED.match(message) if first.validator == "required" else None
    if required is not None:
        path.append(required.group(1))
        message = "is required"
    where = root + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    raise InvalidInput(message, where)

"""Workflow rules: when a message on a topic matches, do something, now or after N seconds.

A rule listens to one topic and matches messages with criteria (domain/criteria.py). Without
``for_seconds`` a match fires the rule. With it, a match arms a timer for the message's subject
(by default the agent, ``$.data.agent_id``) and the rule fires only if no later message on the
topic for that subject stops matching before the time is up: "out of adherence for 10 minutes"
is ``adherence.changed`` where ``adherence_state`` is ``OutOfAdherence``, for 600 seconds.

Actions run in order: run a data action with an input built from the message, or send the
message to a webhook subscription.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Any

from adhere.domain.criteria import Criteria, compile_path, parse_criteria
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MICROS_PER_SECOND, Instant
from adhere.domain.topics import TOPICS

DEFAULT_SUBJECT = "$.data.agent_id"
MAX_FOR_SECONDS = 7 * 86_400


@dataclass(frozen=True, slots=True)
class FromMessage:
    """An action input taken from the message by JSONPath."""

    path: str
    _finder: Any

    def value(self, message: Mapping[str, Any]) -> tuple[bool, Any]:
        found = self._finder.find(message)
        return (True, found[0].value) if found else (False, None)


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


InputSource = FromMessage | Literal


@dataclass(frozen=True, slots=True)
class RunDataAction:
    action_id: str
    input: tuple[tuple[str, InputSource], ...]

    def input_for(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """The action's input for this message; a path that finds nothing is an error."""
        built: dict[str, Any] = {}
        for name, source in self.input:
            if isinstance(source, Literal):
                built[name] = source.value
                continue
            found, value = source.value(message)
            if not found:
                raise InvalidInput(f"{source.path} finds nothing in the message", f"input.{name}")
            built[name] = value
        return built

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "data_action",
            "action_id": self.action_id,
            "input": {
                name: source.path if isinstance(source, FromMessage) else {"value": source.value}
                for name, source in self.input
            },
        }


@dataclass(frozen=True, slots=True)
class SendToWebhook:
    endpoint_id: str

    def as_json(self) -> dict[str, Any]:
        return {"type": "webhook", "endpoint_id": self.endpoint_id}


RuleAction = RunDataAction | SendToWebhook


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What a user says a rule is (everything but its identity and times)."""

    name: str
    topic: str
    criteria: Criteria
    for_seconds: int | None
    subject_path: str
    actions: tuple[RuleAction, ...]
    enabled: bool

    @property
    def for_micros(self) -> int | None:
        return None if self.for_seconds is None else self.for_seconds * MICROS_PER_SECOND

    def subject(self, message: Mapping[str, Any]) -> str:
        """Whom a timer is for: the first value at `subject_path`, or "" if none."""
        found = _finder(self.subject_path).find(message)
        return "" if not found else str(found[0].value)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    spec: RuleSpec
    created: Instant
    updated: Instant


class Decision(Enum):
    FIRE = "fire"  # run the actions now
    ARM = "arm"  # start a timer for the subject, unless one runs
    DISARM = "disarm"  # the subject stopped matching: cancel its timer
    IGNORE = "ignore"


def decide(spec: RuleSpec, message: Mapping[str, Any]) -> Decision:
    """What a message on the rule's topic does to it."""
    if message.get("type") != spec.topic:
        return Decision.IGNORE
    matched = spec.criteria.matches(message)
    if spec.for_seconds is None:
        return Decision.FIRE if matched else Decision.IGNORE
    return Decision.ARM if matched else Decision.DISARM


def parse_rule(raw: object) -> RuleSpec:
    """A rule from its JSON; every wrong field is named (``actions[0].input.userId``)."""
    if not isinstance(raw, dict):
        raise InvalidInput("a rule is a JSON object", "rule")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise InvalidInput(f"is not a rule field; fields are {sorted(_FIELDS)}", min(unknown))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("must be a non-empty string of at most 200 characters", "name")
    topic = raw.get("topic")
    if topic not in TOPICS:
        raise InvalidInput(f"must be one of {', '.join(TOPICS)}", "topic")
    for_seconds = raw.get("for_seconds")
    if for_seconds is not None and (
        isinstance(for_seconds, bool)
        or not isinstance(for_seconds, int)
        or not 1 <= for_seconds <= MAX_FOR_SECONDS
    ):
        raise InvalidInput(
            f"must be a whole number of seconds, 1 to {MAX_FOR_SECONDS}", "for_seconds"
        )
    subject = raw.get("subject_path", DEFAULT_SUBJECT)
    compile_path(subject, "subject_path")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput("must be true or false", "enabled")
    actions = raw.get("actions")
    if not isinstance(actions, list) or not actions:
        raise InvalidInput("must list at least one action", "actions")
    return RuleSpec(
        name.strip(),
        topic,
        parse_criteria(raw.get("criteria"), "criteria"),
        for_seconds,
        subject,
        tuple(_action(item, f"actions[{index}]") for index, item in enumerate(actions)),
        enabled,
    )


def rule_json(spec: RuleSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "topic": spec.topic,
        "criteria": spec.criteria.as_json(),
        "for_seconds": spec.for_seconds,
        "subject_path": spec.subject_path,
        "actions": [action.as_json() for action in spec.actions],
        "enabled": spec.enabled,
    }


_finder = lru_cache(maxsize=1024)(lambda path: compile_path(path, "subject_path"))
_FIELDS = {"name", "topic", "criteria", "for_seconds", "subject_path", "actions", "enabled"}


def _action(raw: object, field: str) -> RuleAction:
    if not isinstance(raw, dict):
        raise InvalidInput("must be an object with a type: data_action or webhook", field)
    kind = raw.get("type")
    if kind == "webhook":
        _only(raw, {"type", "endpoint_id"}, field)
        return SendToWebhook(_identifier(raw.get("endpoint_id"), f"{field}.endpoint_id"))
    if kind == "data_action":
        _only(raw, {"type", "action_id", "input"}, field)
        action_id = _identifier(raw.get("action_id"), f"{field}.action_id")
        mapping = raw.get("input", {})
        if not isinstance(mapping, dict):
            raise InvalidInput(
                'maps each input name to a JSONPath into the message or {"value": literal}',
                f"{field}.input",
            )
        return RunDataAction(
            action_id,
            tuple(
                (name, _source(value, f"{field}.input.{name}")) for name, value in mapping.items()
            ),
        )
    raise InvalidInput("must be data_action or webhook", f"{field}.type")


def _source(raw: object, field: str) -> InputSource:
    if isinstance(raw, str):
        return FromMessage(raw, compile_path(raw, field))
    if isinstance(raw, dict) and set(raw) == {"value"}:
        return Literal(raw["value"])
    raise InvalidInput('must be a JSONPath ("$.data.agent_id") or {"value": literal}', field)


def _identifier(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 128:
        raise InvalidInput("must be an id (1 to 128 characters)", field)
    return value


def _only(raw: dict[str, Any], allowed: set[str], field: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise InvalidInput("is not a field of this action", f"{field}.{min(unknown)}")


class ExecutionStatus(StrEnum):
    PENDING = "pending"  # fired; its actions have not all run yet (they run after a restart)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RuleExecution:
    """One firing of a rule: the message that fired it and what each action did."""

    seq: int
    rule_id: str
    message_seq: int
    message_id: str
    topic: str
    payload: str  # the message, as stored
    subject: str
    fired: Instant
    status: ExecutionStatus
    results: tuple[dict[str, Any], ...]
    finished: Instant | None

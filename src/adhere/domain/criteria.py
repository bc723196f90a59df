"""Criteria on a message's JSON: what a workflow rule matches and a webhook filter lets through.

Criteria are a list of conditions that must all hold, each a JSONPath into the message
(``{type, timestamp, data}``), an operator and a value::

    [{"path": "$.data.adherence_state", "operator": "Equal", "value": "OutOfAdherence"},
     {"path": "$.data.agent_id", "operator": "In", "value": ["a-1", "a-2"]}]

A path may find several values (``$.data.queue_ids[*]``): a positive operator holds when one of
them satisfies it, a negative one (`NotEqual`, `NotIn`) when none of them breaks it. A path that
finds nothing satisfies only `NotEqual`, `NotIn` and ``Exists: false``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jsonpath_ng.ext.parser import parse as parse_path

from adhere.domain.errors import InvalidInput


class Operator(StrEnum):
    EQUAL = "Equal"
    NOT_EQUAL = "NotEqual"
    IN = "In"
    NOT_IN = "NotIn"
    GREATER_THAN = "GreaterThan"
    GREATER_THAN_OR_EQUAL = "GreaterThanOrEqual"
    LESS_THAN = "LessThan"
    LESS_THAN_OR_EQUAL = "LessThanOrEqual"
    EXISTS = "Exists"
    CONTAINS = "Contains"


@dataclass(frozen=True, slots=True)
class Condition:
    path: str
    operator: Operator
    value: Any
    _finder: Any  # the compiled JSONPath

    def holds(self, message: Mapping[str, Any]) -> bool:
        found = [match.value for match in self._finder.find(message)]
        return _HOLDS[self.operator](found, self.value)

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "operator": self.operator.value, "value": self.value}


@dataclass(frozen=True, slots=True)
class Criteria:
    conditions: tuple[Condition, ...] = ()

    def matches(self, message: Mapping[str, Any]) -> bool:
        return all(condition.holds(message) for condition in self.conditions)

    def as_json(self) -> list[dict[str, Any]]:
        return [condition.as_json() for condition in self.conditions]


MATCH_ALL = Criteria()


def parse_criteria(raw: object, field: str) -> Criteria:
    """Criteria from their JSON (a list of conditions, or null for none); errors name the
    offending place, e.g. ``criteria[1].operator``."""
    if raw is None:
        return MATCH_ALL
    if not isinstance(raw, list):
        raise InvalidInput("must be a list of conditions {path, operator, value}", field)
    return Criteria(tuple(_condition(item, f"{field}[{index}]") for index, item in enumerate(raw)))


def _condition(raw: object, field: str) -> Condition:
    if not isinstance(raw, dict):
        raise InvalidInput("must be an object {path, operator, value}", field)
    unknown = set(raw) - {"path", "operator", "value"}
    if unknown:
        raise InvalidInput("is not a condition field", f"{field}.{sorted(unknown)[0]}")
    path = raw.get("path")
    finder = compile_path(path, f"{field}.path")
    try:
        chosen = Operator(str(raw.get("operator")))
    except ValueError:
        names = ", ".join(item.value for item in Operator)
        raise InvalidInput(f"must be one of {names}", f"{field}.operator") from None
    value = raw.get("value", True if chosen is Operator.EXISTS else None)
    _check_value(chosen, value, "value" in raw, f"{field}.value")
    assert isinstance(path, str)
    return Condition(path, chosen, value, finder)


def compile_path(path: object, field: str) -> Any:
    """A JSONPath compiled once, or an error naming `field`."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise InvalidInput("must be a JSONPath starting with $, e.g. $.data.agent_id", field)
    try:
        return parse_path(path)
    except Exception as error:  # jsonpath_ng raises bare Exceptions as well as its own
        raise InvalidInput(f"is not a valid JSONPath: {error}", field) from None


def _check_value(chosen: Operator, value: object, given: bool, field: str) -> None:
    if chosen in (Operator.IN, Operator.NOT_IN):
        if not isinstance(value, list):
            raise InvalidInput(f"{chosen.value} needs a list of values", field)
    elif chosen is Operator.EXISTS:
        if not isinstance(value, bool):
            raise InvalidInput("Exists takes true or false", field)
    elif chosen in _ORDERINGS:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidInput(f"{chosen.value} compares with a number or a string", field)
    elif not given:
        raise InvalidInput(f"{chosen.value} needs a value", field)


def _any(test: Callable[[Any, Any], bool]) -> Callable[[Sequence[Any], Any], bool]:
    return lambda found, value: any(_safely(test, item, value) for item in found)


def _none(test: Callable[[Any, Any], bool]) -> Callable[[Sequence[Any], Any], bool]:
    return lambda found, value: not any(_safely(test, item, value) for item in found)


def _safely(test: Callable[[Any, Any], bool], item: Any, value: Any) -> bool:
    """A comparison between kinds that do not compare (a number with a string) is false."""
    if test in _ORDERING_TESTS and _kind(item) != _kind(value):
        return False
    try:
        return test(item, value)
    except TypeError:
        return False


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _equal(item: Any, value: Any) -> bool:
    return _kind(item) == _kind(value) and bool(item == value)


def _is_in(item: Any, values: Any) -> bool:
    return any(_equal(item, value) for value in values)


def _contains(item: Any, value: Any) -> bool:
    if isinstance(item, str):
        return isinstance(value, str) and value in item
    if isinstance(item, list):
        return any(_equal(element, value) for element in item)
    return False


_ORDERING_TESTS: tuple[Callable[[Any, Any], bool], ...] = (
    operator.gt,
    operator.ge,
    operator.lt,
    operator.le,
)
_ORDERINGS = {
    Operator.GREATER_THAN,
    Operator.GREATER_THAN_OR_EQUAL,
    Operator.LESS_THAN,
    Operator.LESS_THAN_OR_EQUAL,
}
_HOLDS: dict[Operator, Callable[[Sequence[Any], Any], bool]] = {
    Operator.EQUAL: _any(_equal),
    Operator.NOT_EQUAL: _none(_equal),
    Operator.IN: _any(_is_in),
    Operator.NOT_IN: _none(_is_in),
    Operator.GREATER_THAN: _any(operator.gt),
    Operator.GREATER_THAN_OR_EQUAL: _any(operator.ge),
    Operator.LESS_THAN: _any(operator.lt),
    Operator.LESS_THAN_OR_EQUAL: _any(operator.le),
    Operator.EXISTS: lambda found, value: bool(found) is value,
    Operator.CONTAINS: _any(_contains),
}

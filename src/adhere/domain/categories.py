"""The vocabulary of adherence: categories, states, impacts, presences, routing statuses.

Names follow Genesys Cloud. Presences, routing statuses and categories given by users are
matched case-insensitively with spaces, ``_`` and ``-`` ignored (``On Queue`` is ``OnQueue``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

from adhere.domain.errors import InvalidInput


class Category(StrEnum):
    """An activity category, or one of the two pseudo-categories of the timeline."""

    ON_QUEUE_WORK = "OnQueueWork"
    BREAK = "Break"
    MEAL = "Meal"
    MEETING = "Meeting"
    OFF_QUEUE_WORK = "OffQueueWork"
    TIME_OFF = "TimeOff"
    TRAINING = "Training"
    UNAVAILABLE = "Unavailable"
    UNSCHEDULED = "Unscheduled"  # scheduled category where no activity is scheduled
    OFFLINE = "Offline"  # actual category of a logged-out agent


ACTIVITY_CATEGORIES: tuple[Category, ...] = tuple(Category)[:8]
NON_ON_QUEUE_WORKING: frozenset[Category] = frozenset(
    {
        Category.BREAK,
        Category.MEAL,
        Category.MEETING,
        Category.TRAINING,
        Category.OFF_QUEUE_WORK,
        Category.UNAVAILABLE,
    }
)


class AdherenceState(StrEnum):
    IN_ADHERENCE = "InAdherence"
    OUT_OF_ADHERENCE = "OutOfAdherence"
    UNSCHEDULED = "Unscheduled"
    IGNORED = "Ignored"
    EXPLAINED = "Explained"
    UNKNOWN = "Unknown"


class Impact(StrEnum):
    POSITIVE = "Positive"
    NEGATIVE = "Negative"
    NEUTRAL = "Neutral"
    UNKNOWN = "Unknown"


class Presence(StrEnum):
    """A system presence."""

    AVAILABLE = "Available"
    AWAY = "Away"
    BUSY = "Busy"
    OFFLINE = "Offline"
    IDLE = "Idle"
    ON_QUEUE = "OnQueue"
    MEAL = "Meal"
    TRAINING = "Training"
    MEETING = "Meeting"
    BREAK = "Break"


class Routing(StrEnum):
    """A routing status."""

    OFF_QUEUE = "OFF_QUEUE"
    IDLE = "IDLE"
    INTERACTING = "INTERACTING"
    NOT_RESPONDING = "NOT_RESPONDING"
    COMMUNICATING = "COMMUNICATING"


_E = TypeVar("_E", bound=StrEnum)
_IGNORED_CHARACTERS = re.compile(r"[\s_\-]")


def _folded(name: str) -> str:
    return _IGNORED_CHARACTERS.sub("", name).casefold()


def _by_folded_name(members: tuple[_E, ...]) -> dict[str, _E]:
    return {_folded(member.value): member for member in members}


_PRESENCES = _by_folded_name(tuple(Presence))
_ROUTINGS = _by_folded_name(tuple(Routing))
_ACTIVITY_CATEGORIES = _by_folded_name(ACTIVITY_CATEGORIES)


def _lookup(table: dict[str, _E], value: object, what: str) -> _E:
    if isinstance(value, str):
        found = table.get(_folded(value))
        if found is not None:
            return found
    accepted = ", ".join(member.value for member in table.values())
    raise InvalidInput(f"unknown {what} {value!r}; accepted: {accepted}")


def parse_presence(value: object) -> Presence:
    return _lookup(_PRESENCES, value, "system presence")


def parse_routing(value: object) -> Routing:
    return _lookup(_ROUTINGS, value, "routing status")


def parse_activity_category(value: object) -> Category:
    """One of the 8 activity categories (not ``Unscheduled`` nor ``Offline``)."""
    return _lookup(_ACTIVITY_CATEGORIES, value, "activity category")

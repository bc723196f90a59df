"""Adherence settings of a management unit, with the defaults of the adherence rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil
from types import MappingProxyType

from adhere.domain.categories import Category, Presence
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MAX_DURATION_MINUTES, MICROS_PER_MINUTE, MICROS_PER_SECOND

DEFAULT_PRESENCE_CATEGORIES: Mapping[Presence, Category] = MappingProxyType(
    {
        Presence.AVAILABLE: Category.OFF_QUEUE_WORK,
        Presence.BUSY: Category.OFF_QUEUE_WORK,
        Presence.AWAY: Category.UNAVAILABLE,
        Presence.IDLE: Category.UNAVAILABLE,
        Presence.BREAK: Category.BREAK,
        Presence.MEAL: Category.MEAL,
        Presence.MEETING: Category.MEETING,
        Presence.TRAINING: Category.TRAINING,
    }
)
DEFAULT_OFFLINE_ADHERENT = frozenset({Category.TIME_OFF, Category.MEAL, Category.BREAK})


@dataclass(frozen=True, slots=True)
class AdherenceSettings:
    adherence_exception_threshold_seconds: float = 60
    severe_alert_threshold_minutes: float = 5
    adherence_target_percent: float = 90
    non_on_queue_activities_equivalent: bool = False
    ignored_activity_categories: frozenset[Category] = frozenset()
    ignored_activity_code_ids: frozenset[str] = frozenset()
    working_outside_shift_is_exception: bool = False
    offline_adherent_categories: frozenset[Category] = DEFAULT_OFFLINE_ADHERENT
    presence_categories: Mapping[Presence, Category] = field(
        default_factory=lambda: DEFAULT_PRESENCE_CATEGORIES
    )

    def __post_init__(self) -> None:
        _require_between(
            self.adherence_exception_threshold_seconds,
            MAX_DURATION_MINUTES * 60,
            "adherence_exception_threshold_seconds",
        )
        _require_between(
            self.severe_alert_threshold_minutes,
            MAX_DURATION_MINUTES,
            "severe_alert_threshold_minutes",
        )
        _require_between(self.adherence_target_percent, 100, "adherence_target_percent")
        # A partial table is merged over the defaults, so every presence has a category.
        merged = {**DEFAULT_PRESENCE_CATEGORIES, **self.presence_categories}
        object.__setattr__(self, "presence_categories", MappingProxyType(merged))

    # Run lengths are whole microseconds, so "length >= threshold" is exactly
    # "length >= ceil(threshold)" with the threshold's exact value (no float rounding).

    @property
    def exception_threshold_micros(self) -> int:
        return ceil(Fraction(self.adherence_exception_threshold_seconds) * MICROS_PER_SECOND)

    @property
    def severe_threshold_micros(self) -> int:
        return ceil(Fraction(self.severe_alert_threshold_minutes) * MICROS_PER_MINUTE)


def _require_between(value: float, upper: float, field: str) -> None:
    if not 0 <= value <= upper:  # also refuses NaN
        raise InvalidInput(f"must be a number from 0 to {upper}", field)

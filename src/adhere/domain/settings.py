"""Adherence settings of a management unit, with the defaults of the adherence rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from adhere.domain.categories import Category, Presence
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MICROS_PER_SECOND

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
        if self.adherence_exception_threshold_seconds < 0:
            raise InvalidInput("must be >= 0", "adherence_exception_threshold_seconds")
        if self.severe_alert_threshold_minutes < 0:
            raise InvalidInput("must be >= 0", "severe_alert_threshold_minutes")
        if not 0 <= self.adherence_target_percent <= 100:
            raise InvalidInput("must be between 0 and 100", "adherence_target_percent")
        # A partial table is merged over the defaults, so every presence has a category.
        merged = {**DEFAULT_PRESENCE_CATEGORIES, **self.presence_categories}
        object.__setattr__(self, "presence_categories", MappingProxyType(merged))

    @property
    def exception_threshold_micros(self) -> int:
        return round(self.adherence_exception_threshold_seconds * MICROS_PER_SECOND)

    @property
    def severe_threshold_micros(self) -> int:
        return round(self.severe_alert_threshold_minutes * 60 * MICROS_PER_SECOND)

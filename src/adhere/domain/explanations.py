"""Explanations: an agent's reason for time out of adherence, approved or denied by a supervisor."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MAX_DURATION_MINUTES, MICROS_PER_MINUTE, Instant


class ExplanationStatus(StrEnum):
    PENDING = "Pending"
    APPROVED = "Approved"
    DENIED = "Denied"


class ExplanationType(StrEnum):
    LATE = "Late"


@dataclass(frozen=True, slots=True)
class Explanation:
    """Covers ``[start, start + length_minutes)``; only an approved one changes adherence."""

    id: str
    agent_id: str
    start: Instant
    length_minutes: float
    status: ExplanationStatus = ExplanationStatus.PENDING
    type: ExplanationType = ExplanationType.LATE

    def __post_init__(self) -> None:
        if not 0 < self.length_minutes <= MAX_DURATION_MINUTES:  # also refuses NaN
            raise InvalidInput(
                f"must be greater than 0 and at most {MAX_DURATION_MINUTES}", "length_minutes"
            )

    @property
    def end(self) -> Instant:
        return self.start + round(self.length_minutes * MICROS_PER_MINUTE)


def approved_intervals(explanations: Iterable[Explanation]) -> list[tuple[Instant, Instant]]:
    """The instants covered by approved explanations, as ordered disjoint intervals."""
    spans = sorted((e.start, e.end) for e in explanations if e.status is ExplanationStatus.APPROVED)
    merged: list[tuple[Instant, Instant]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged

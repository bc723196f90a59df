"""Adherence at an instant: actual category (§3), adherence state and impact (§4).

The rules are plain functions, one per decision, so that each numbered rule can be read and
tested on its own. `Classifier` binds them to one management unit and memoises them: the
number of distinct inputs is small, and the engine asks the same question millions of times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from adhere.domain.agent_state import MEMO_LIMIT, AgentState
from adhere.domain.categories import (
    NON_ON_QUEUE_WORKING,
    AdherenceState,
    Category,
    Impact,
    Presence,
    Routing,
)
from adhere.domain.errors import InvalidInput
from adhere.domain.schedule import ActivityCode
from adhere.domain.settings import AdherenceSettings

_WORKING_ROUTINGS = frozenset({Routing.IDLE, Routing.INTERACTING, Routing.COMMUNICATING})


class Adherence(NamedTuple):
    """Everything a segment of the timeline holds constant."""

    scheduled_category: Category
    scheduled_activity_code_id: str | None
    actual_category: Category
    adherence_state: AdherenceState
    impact: Impact


def secondary_presence_categories(codes: Sequence[ActivityCode]) -> dict[str, Category]:
    """Secondary presence id → category, from codes that are not on-queue; first listed wins."""
    table: dict[str, Category] = {}
    for code in codes:
        if code.secondary_presence_id is not None and code.category is not Category.ON_QUEUE_WORK:
            table.setdefault(code.secondary_presence_id, code.category)
    return table


def actual_category(
    state: AgentState,
    settings: AdherenceSettings,
    secondary_categories: Mapping[str, Category],
) -> Category:
    """§3: what the agent is actually doing; first matching rule wins."""
    if state.presence is Presence.OFFLINE:
        return Category.OFFLINE
    if state.presence is Presence.ON_QUEUE or state.routing in _WORKING_ROUTINGS:
        return Category.ON_QUEUE_WORK
    if state.secondary_presence_id is not None:
        by_secondary = secondary_categories.get(state.secondary_presence_id)
        if by_secondary is not None:
            return by_secondary
    return settings.presence_categories[state.presence]


def adherence_state(
    scheduled: Category,
    scheduled_code_id: str | None,
    actual: Category,
    *,
    unknown: bool,
    explained: bool,
    settings: AdherenceSettings,
) -> AdherenceState:
    """§4: the adherence state; first matching rule wins."""
    if unknown:
        return AdherenceState.UNKNOWN
    if (
        scheduled_code_id in settings.ignored_activity_code_ids
        or scheduled in settings.ignored_activity_categories
    ):
        return AdherenceState.IGNORED
    state = _compared_state(scheduled, actual, settings)
    if explained and state is AdherenceState.OUT_OF_ADHERENCE:
        return AdherenceState.EXPLAINED
    return state


def _compared_state(
    scheduled: Category, actual: Category, settings: AdherenceSettings
) -> AdherenceState:
    """Rules 4 to 7 of §4: schedule against reality."""
    if scheduled is Category.UNSCHEDULED:
        if settings.working_outside_shift_is_exception and actual is Category.ON_QUEUE_WORK:
            return AdherenceState.OUT_OF_ADHERENCE
        return AdherenceState.UNSCHEDULED
    if scheduled is Category.ON_QUEUE_WORK:
        in_adherence = actual is Category.ON_QUEUE_WORK
    elif actual is Category.OFFLINE:
        in_adherence = scheduled in settings.offline_adherent_categories
    else:
        in_adherence = actual is scheduled or (
            settings.non_on_queue_activities_equivalent
            and scheduled in NON_ON_QUEUE_WORKING
            and actual in NON_ON_QUEUE_WORKING
        )
    return AdherenceState.IN_ADHERENCE if in_adherence else AdherenceState.OUT_OF_ADHERENCE


def impact(state: AdherenceState, scheduled: Category, actual: Category) -> Impact:
    """§4: whether a deviation helps (Positive) or hurts (Negative) service."""
    if state is AdherenceState.UNKNOWN:
        return Impact.UNKNOWN
    if state is AdherenceState.OUT_OF_ADHERENCE:
        if actual is Category.ON_QUEUE_WORK:
            return Impact.POSITIVE
        if scheduled is Category.ON_QUEUE_WORK:
            return Impact.NEGATIVE
    return Impact.NEUTRAL


class Classified(NamedTuple):
    adherence: Adherence
    conforming: bool
    """Actual on-queue work with a routing status other than NOT_RESPONDING (conformance)."""


class Classifier:
    """The rules of §3 and §4 for one management unit's settings and activity codes."""

    def __init__(self, settings: AdherenceSettings, codes: Sequence[ActivityCode]) -> None:
        self.settings = settings
        self._codes = {code.id: code for code in codes}
        self._secondary = secondary_presence_categories(codes)
        self._memo: dict[tuple[str | None, AgentState, bool], Classified] = {}
        for code_id in settings.ignored_activity_code_ids:
            self.require_code(code_id)

    def require_code(self, code_id: str) -> ActivityCode:
        code = self._codes.get(code_id)
        if code is None:
            raise InvalidInput(f"unknown activity code {code_id!r}")
        return code

    def classify(self, code_id: str | None, state: AgentState, explained: bool) -> Classified:
        key = (code_id, state, explained)
        found = self._memo.get(key)
        if found is None:
            found = self._classify(code_id, state, explained)
            if len(self._memo) < MEMO_LIMIT:  # secondary ids come from outside: stay bounded
                self._memo[key] = found
        return found

    def _classify(self, code_id: str | None, state: AgentState, explained: bool) -> Classified:
        scheduled = Category.UNSCHEDULED if code_id is None else self.require_code(code_id).category
        actual = actual_category(state, self.settings, self._secondary)
        adherence = adherence_state(
            scheduled,
            code_id,
            actual,
            unknown=state.unknown,
            explained=explained,
            settings=self.settings,
        )
        return Classified(
            Adherence(scheduled, code_id, actual, adherence, impact(adherence, scheduled, actual)),
            actual is Category.ON_QUEUE_WORK and state.routing is not Routing.NOT_RESPONDING,
        )


UNSCHEDULED_OFFLINE = Adherence(
    Category.UNSCHEDULED,
    None,
    Category.OFFLINE,
    AdherenceState.UNSCHEDULED,
    Impact.NEUTRAL,
)
"""The adherence of an agent with no schedule that nobody has heard from, whatever the settings."""

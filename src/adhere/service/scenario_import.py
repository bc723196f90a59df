"""Use case: load an ``adhere-scenario/1`` document into the store, through the same use
cases as the API. It imports history, so the lateness and future limits do not apply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from adhere.domain.scenario import Scenario
from adhere.domain.schedule import ScheduleReplacement
from adhere.service.context import Limits, ServiceContext
from adhere.service.explanations import create_explanation
from adhere.service.ingestion import Outcome, ingest_parsed
from adhere.service.organisation import put_activity_code, put_agent, put_management_unit, put_team
from adhere.service.schedules import replace_schedules

_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class ImportSummary:
    agents: int
    activities: int
    events_accepted: int
    events_duplicate: int
    explanations: int


def import_scenario(
    ctx: ServiceContext,
    scenario: Scenario,
    progress: Callable[[int], None] = lambda _events: None,
) -> ImportSummary:
    """Import everything but the window; `progress` hears how many events were stored so far."""
    unit = scenario.management_unit
    put_management_unit(ctx, unit)
    for code in scenario.activity_codes:
        put_activity_code(ctx, unit.id, code)
    for team in scenario.teams:
        put_team(ctx, team)
    for agent in scenario.agents:
        put_agent(ctx, agent)
    replacements = [
        ScheduleReplacement(
            agent_id,
            min(a.start for a in activities),
            max(a.end for a in activities),
            activities,
        )
        for agent_id, activities in scenario.schedules.items()
        if activities
    ]
    activities = replace_schedules(ctx, replacements) if replacements else 0
    for explanation in scenario.explanations:
        create_explanation(
            ctx,
            explanation.agent_id,
            explanation.start,
            explanation.length_minutes,
            explanation.type,
            explanation_id=explanation.id,
            status=explanation.status,
        )
    history = replace(ctx, limits=Limits(lateness_micros=None, future_micros=None))
    accepted = duplicate = 0
    events = scenario.events
    for offset in range(0, len(events), _BATCH):
        for result in ingest_parsed(history, events[offset : offset + _BATCH]):
            accepted += result.outcome is Outcome.ACCEPTED
            duplicate += result.outcome is Outcome.DUPLICATE
        progress(accepted + duplicate)
    return ImportSummary(
        len(scenario.agents), activities, accepted, duplicate, len(scenario.explanations)
    )

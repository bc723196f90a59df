"""A scenario: everything needed to compute adherence for one management unit, validated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adhere.domain.adherence import Classifier
from adhere.domain.agent_state import AgentEvent
from adhere.domain.errors import InvalidInput
from adhere.domain.explanations import Explanation
from adhere.domain.instants import Instant, format_instant
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.domain.schedule import Activity, ActivityCode, validated_schedule


@dataclass(frozen=True, slots=True)
class Window:
    start: Instant
    end: Instant

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput("the window ends before it starts", "end")


@dataclass(frozen=True, slots=True)
class Scenario:
    """Events are in arrival order; `schedules` maps agent ids to their activities."""

    management_unit: ManagementUnit
    activity_codes: Sequence[ActivityCode]
    agents: Sequence[Agent]
    schedules: Mapping[str, Sequence[Activity]]
    events: Sequence[AgentEvent]
    explanations: Sequence[Explanation]
    window: Window
    teams: Sequence[Team] = ()

    def __post_init__(self) -> None:
        _unique("activity_codes", [code.id for code in self.activity_codes])
        _unique("agents", [agent.id for agent in self.agents])
        _unique("teams", [team.id for team in self.teams])
        _unique("explanations", [explanation.id for explanation in self.explanations])
        try:
            classifier = self.classifier()
        except InvalidInput as error:
            raise error.at("management_unit.settings.ignored_activity_code_ids") from None
        agent_ids = {agent.id for agent in self.agents}
        team_ids = {team.id for team in self.teams}
        for index, agent in enumerate(self.agents):
            if agent.team_id is not None and agent.team_id not in team_ids:
                raise InvalidInput(f"unknown team {agent.team_id!r}", f"agents[{index}].team_id")
        for agent_id, activities in self.schedules.items():
            _require_agent(agent_ids, agent_id, f"schedules (agent {agent_id!r})")
            for activity in activities:
                try:
                    classifier.require_code(activity.activity_code_id)
                except InvalidInput as error:
                    raise InvalidInput(
                        f"agent {agent_id!r}: activity starting {format_instant(activity.start)}: "
                        f"{error.message}",
                        "schedules",
                    ) from None
            validated_schedule(agent_id, activities)
        for index, event in enumerate(self.events):
            _require_agent(agent_ids, event.agent_id, f"events[{index}] (id {event.id!r})")
        for index, explanation in enumerate(self.explanations):
            _require_agent(
                agent_ids, explanation.agent_id, f"explanations[{index}] (id {explanation.id!r})"
            )

    def classifier(self) -> Classifier:
        return Classifier(self.management_unit.settings, self.activity_codes)


def _unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            raise InvalidInput(f"duplicate id {item!r}", f"{what}[{index}].id")
        seen.add(item)


def _require_agent(agent_ids: set[str], agent_id: str, where: str) -> None:
    if agent_id not in agent_ids:
        raise InvalidInput(f"agent {agent_id!r} is not listed in agents", where)

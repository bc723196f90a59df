"""Use cases: management units, teams, agents and activity codes (create or replace)."""

from __future__ import annotations

from adhere.adapters.store import StoreTransaction
from adhere.domain.adherence import Classifier
from adhere.domain.errors import InvalidInput
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.domain.schedule import ActivityCode
from adhere.service.context import ServiceContext


class NotFound(LookupError):
    """A referenced resource does not exist; `what` names its kind (``agent``)."""

    def __init__(self, what: str, identifier: str) -> None:
        super().__init__(f"no {what.replace('_', ' ')} {identifier!r}")
        self.what = what
        self.identifier = identifier


def put_management_unit(ctx: ServiceContext, unit: ManagementUnit) -> bool:
    """Create or replace a unit; new settings re-evaluate its agents' past. True if created."""
    with ctx.write("management_unit") as write:
        tx = write.tx
        created = tx.management_unit(unit.id) is None
        codes = tx.activity_codes(unit.id)
        _checked_classifier(unit, codes)
        tx.put_management_unit(unit)
        write.then(lambda live: live.configure_unit(unit, codes))
    return created


def put_activity_code(ctx: ServiceContext, unit_id: str, code: ActivityCode) -> bool:
    """Create or replace an activity code; a changed category re-evaluates the past."""
    with ctx.write("activity_code") as write:
        tx = write.tx
        unit = require_unit(tx, unit_id)
        codes = tx.activity_codes(unit_id)
        created = all(existing.id != code.id for existing in codes)
        codes = [existing for existing in codes if existing.id != code.id] + [code]
        _checked_classifier(unit, codes)
        tx.put_activity_code(unit_id, code)
        write.then(lambda live: live.configure_unit(unit, codes))
    return created


def put_team(ctx: ServiceContext, team: Team) -> bool:
    with ctx.write("team") as write:
        tx = write.tx
        require_unit(tx, team.management_unit_id, "management_unit_id")
        existing = tx.team(team.id)
        if existing is not None and existing.management_unit_id != team.management_unit_id:
            raise InvalidInput(
                f"team {team.id!r} belongs to {existing.management_unit_id!r}; "
                "moving teams between management units is not supported",
                "management_unit_id",
            )
        tx.put_team(team)
    return existing is None


def put_agent(ctx: ServiceContext, agent: Agent) -> bool:
    with ctx.write("agent") as write:
        existing = check_agent(write.tx, agent)
        write.tx.put_agent(agent)
        write.then(lambda live: live.add_agent(agent))
    return existing is None


def check_agent(tx: StoreTransaction, agent: Agent) -> Agent | None:
    """The stored agent of that id, after checking that `agent` may replace it."""
    require_unit(tx, agent.management_unit_id, "management_unit_id")
    if agent.team_id is not None:
        team = tx.team(agent.team_id)
        if team is None:
            raise InvalidInput(f"unknown team {agent.team_id!r}", "team_id")
        if team.management_unit_id != agent.management_unit_id:
            raise InvalidInput(
                f"team {agent.team_id!r} belongs to management unit "
                f"{team.management_unit_id!r}, not {agent.management_unit_id!r}",
                "team_id",
            )
    existing = tx.agent(agent.id)
    if existing is not None and existing.management_unit_id != agent.management_unit_id:
        raise InvalidInput(
            f"agent {agent.id!r} belongs to {existing.management_unit_id!r}; "
            "moving agents between management units is not supported",
            "management_unit_id",
        )
    return existing


def require_unit(tx: StoreTransaction, unit_id: str, field: str | None = None) -> ManagementUnit:
    unit = tx.management_unit(unit_id)
    if unit is None:
        if field is not None:
            raise InvalidInput(f"unknown management unit {unit_id!r}", field)
        raise NotFound("management_unit", unit_id)
    return unit


def require_agent(tx: StoreTransaction, agent_id: str) -> Agent:
    agent = tx.agent(agent_id)
    if agent is None:
        raise NotFound("agent", agent_id)
    return agent


def _checked_classifier(unit: ManagementUnit, codes: list[ActivityCode]) -> Classifier:
    try:
        return Classifier(unit.settings, codes)
    except InvalidInput as error:
        raise error.at("settings") from None

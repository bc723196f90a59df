"""Use case: an adherence report over local dates, from the evaluation the historical API runs.

Each agent is evaluated with `evaluate_agent` on the same inputs as ``POST
/api/v1/adherence/historical``, so a report's day of an agent has exactly the metrics the
historical API gives for that local day. A long range is evaluated window after window (of at
most `CHUNK_DAYS` local days: a window the historical API accepts, even with a 25-hour day in
it) from one copy of each agent's inputs, reporting progress as it goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from adhere.adapters.store import StoreTransaction
from adhere.domain.engine import AgentSnapshot
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant, to_datetime
from adhere.domain.local_days import LocalDay, first_instant, local_days
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.domain.reports import AgentHistory, DateRange, Report, build_report
from adhere.domain.scenario import Window
from adhere.service.context import ServiceContext
from adhere.service.history import MAX_WINDOW_DAYS, evaluate_snapshot
from adhere.service.organisation import NotFound

CHUNK_DAYS = MAX_WINDOW_DAYS - 1
Progress = Callable[[int, int], None]
"""Called with (agent windows evaluated, agent windows in all) as the evaluation goes."""


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """Exactly one of `management_unit_id` and `team_id` selects the agents; the target
    defaults to the unit's `adherence_target_percent`."""

    dates: DateRange
    management_unit_id: str | None = None
    team_id: str | None = None
    target_percent: float | None = None

    def __post_init__(self) -> None:
        if (self.management_unit_id is None) == (self.team_id is None):
            raise InvalidInput(
                "give exactly one of management_unit_id and team_id",
                "team_id" if self.team_id is not None else "management_unit_id",
            )
        if self.target_percent is not None and not 0 <= self.target_percent <= 100:
            raise InvalidInput("must be a number from 0 to 100", "target_percent")


class NoneVisible(Exception):
    """The selection has agents, and the caller may see none of them."""

    def __init__(self, what: str, identifier: str) -> None:
        super().__init__(f"you may not see any agent of {what.replace('_', ' ')} {identifier!r}")


def _everyone(_agent: Agent) -> bool:
    return True


def adherence_report(
    ctx: ServiceContext,
    request: ReportRequest,
    *,
    sees: Callable[[Agent], bool] = _everyone,
    progress: Progress | None = None,
) -> Report:
    """The report of the agents `sees` lets the caller see. Today counts up to now; a later
    date is refused."""
    with ctx.store.reading() as tx:
        unit, team, agents = _selection(tx, request)
        teams = tx.teams(unit.id)
    now = ctx.clock()
    today = to_datetime(now).astimezone(unit.zone).date()
    if request.dates.last > today:
        raise InvalidInput(
            f"must not be after today ({today.isoformat()} in {unit.time_zone})", "to"
        )
    visible = [agent for agent in agents if sees(agent)]
    if agents and not visible:
        raise NoneVisible(*_selected(request))
    found = _snapshots(ctx, visible)
    windows = [_window(unit, chunk, now) for chunk in request.dates.chunks(CHUNK_DAYS)]
    histories = [AgentHistory(snapshot.agent) for snapshot in found]
    days: list[LocalDay] = []
    total, done = len(windows) * len(found), 0
    if progress is not None:
        progress(done, total)
    for window in windows:
        days += local_days(unit.zone, window.start, window.end)
        for history, snapshot in zip(histories, found, strict=True):
            history.add(evaluate_snapshot(snapshot, window))
            done += 1
            if progress is not None:
                progress(done, total)
    target = unit.settings.adherence_target_percent
    if request.target_percent is not None:
        target = request.target_percent
    return build_report(unit, team, request.dates, target, teams, days, histories)


def _selection(
    tx: StoreTransaction, request: ReportRequest
) -> tuple[ManagementUnit, Team | None, list[Agent]]:
    if request.team_id is not None:
        team = tx.team(request.team_id)
        if team is None:
            raise NotFound("team", request.team_id)
        unit = tx.management_unit(team.management_unit_id)
        assert unit is not None, "a team belongs to a stored unit"
        return unit, team, tx.agents(team_id=team.id)
    assert request.management_unit_id is not None
    unit = tx.management_unit(request.management_unit_id)
    if unit is None:
        raise NotFound("management_unit", request.management_unit_id)
    return unit, None, tx.agents(unit_id=unit.id)


def _selected(request: ReportRequest) -> tuple[str, str]:
    if request.team_id is not None:
        return "team", request.team_id
    assert request.management_unit_id is not None
    return "management_unit", request.management_unit_id


def _snapshots(ctx: ServiceContext, agents: list[Agent]) -> list[AgentSnapshot]:
    """Copies of the agents' inputs, taken once (briefly holding the engine) for every window.
    An agent stored a moment ago may not be in the engine yet: it is left out."""
    live = ctx.live
    assert live is not None, "reports are computed from a live engine"
    with live.lock:
        engine = live.engine
        return [engine.snapshot(a.id) for a in agents if engine.has_agent(a.id)]


def _window(unit: ManagementUnit, dates: DateRange, now: Instant) -> Window:
    """The local dates' instants, ending at `now` if today is among them."""
    zone = unit.zone
    start = first_instant(zone, dates.first)
    end = first_instant(zone, dates.last + timedelta(days=1))
    return Window(start, max(start, min(end, now)))

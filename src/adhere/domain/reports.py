"""Adherence reports: agents' local days, grouped by team and by day, and the worst exceptions.

A group adds seconds, never percentages (§5 of the adherence rules): a team's adherence is
computed from the summed seconds of its agents. An exception that crosses midnight counts in
each day it touches, and once in its agent's range.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from adhere.domain.errors import InvalidInput
from adhere.domain.evaluation import AgentResult
from adhere.domain.local_days import LocalDay
from adhere.domain.metrics import AdherenceException, Metrics, worse
from adhere.domain.organisation import Agent, ManagementUnit, Team

MAX_REPORT_DAYS = 92
WORST_EXCEPTIONS = 10
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# Days before this cannot hold events (timestamps are after 1970), and the first years of the
# calendar have no UTC instant in zones east of Greenwich.
EARLIEST_DATE = date(1970, 1, 2)


def parse_date(text: str, field: str) -> date:
    """A calendar date written ``YYYY-MM-DD`` (nothing else: no week dates, no times)."""
    if not _ISO_DATE.fullmatch(text):
        raise InvalidInput(f"expected a date as YYYY-MM-DD, got {text[:40]!r}", field)
    try:
        found = date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(f"not a date: {error}", field) from None
    if found < EARLIEST_DATE:
        raise InvalidInput(f"must not be before {EARLIEST_DATE.isoformat()}", field)
    return found


@dataclass(frozen=True, slots=True)
class DateRange:
    """Local dates `first` to `last`, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput(f"must not be before from ({self.first.isoformat()})", "to")
        if self.days > MAX_REPORT_DAYS:
            raise InvalidInput(
                f"the range may span at most {MAX_REPORT_DAYS} days (it spans {self.days})", "to"
            )

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def chunks(self, size: int) -> list[DateRange]:
        """Consecutive ranges of at most `size` days that tile this one."""
        found: list[DateRange] = []
        first = self.first
        while first <= self.last:
            last = min(first + timedelta(days=size - 1), self.last)
            found.append(DateRange(first, last))
            first = last + timedelta(days=1)
        return found


@dataclass(slots=True)
class AgentHistory:
    """One agent's local days and exceptions, gathered window after window."""

    agent: Agent
    days: list[tuple[LocalDay, Metrics]] = field(default_factory=list)
    exceptions: list[AdherenceException] = field(default_factory=list)

    def add(self, result: AgentResult) -> None:
        """Append the result of the window that follows the ones added before.

        A run that crosses the windows' boundary was clipped in each: its two parts are one
        exception again (they touch; two distinct runs never do).
        """
        self.days.extend((day.day, day.metrics) for day in result.days)
        for exception in result.exceptions:
            previous = self.exceptions[-1] if self.exceptions else None
            if previous is not None and previous.end == exception.start:
                self.exceptions[-1] = AdherenceException(
                    previous.start,
                    exception.end,
                    worse(previous.impact, exception.impact),
                    previous.severe,
                )
            else:
                self.exceptions.append(exception)

    def exception_count(self, day: LocalDay) -> int:
        return sum(1 for e in self.exceptions if e.start < day.end and e.end > day.start)


@dataclass(frozen=True, slots=True)
class AgentDay:
    day: LocalDay
    agent: Agent
    metrics: Metrics
    exception_count: int


@dataclass(frozen=True, slots=True)
class AgentTotal:
    agent: Agent
    metrics: Metrics
    exception_count: int


@dataclass(frozen=True, slots=True)
class TeamDay:
    day: LocalDay
    team_id: str | None  # None: the agents without a team
    agents: int
    metrics: Metrics
    exception_count: int


@dataclass(frozen=True, slots=True)
class DayTotal:
    day: LocalDay
    agents: int
    metrics: Metrics
    exception_count: int


@dataclass(frozen=True, slots=True)
class WorstException:
    agent: Agent
    exception: AdherenceException


@dataclass(frozen=True, slots=True)
class Report:
    unit: ManagementUnit
    team: Team | None  # the selected team, if a team was selected
    dates: DateRange
    target_percent: float
    teams: Mapping[str, Team]  # every team of the unit, for names
    days: list[LocalDay]
    agent_days: list[AgentDay]  # by day, then agent
    agents: list[AgentTotal]
    team_days: list[TeamDay]  # by day, then team (no team last)
    day_totals: list[DayTotal]
    totals: Metrics
    exception_count: int
    worst_exceptions: list[WorstException]

    def team_name(self, team_id: str | None) -> str | None:
        team = None if team_id is None else self.teams.get(team_id)
        return None if team is None else team.name


def build_report(
    unit: ManagementUnit,
    team: Team | None,
    dates: DateRange,
    target_percent: float,
    teams: Sequence[Team],
    days: Sequence[LocalDay],
    histories: Sequence[AgentHistory],
) -> Report:
    """Group the agents' days; each history holds exactly `days`."""
    agent_days: list[AgentDay] = []
    team_days: list[TeamDay] = []
    day_totals: list[DayTotal] = []
    team_ids = _team_order(teams, {history.agent.team_id for history in histories})
    for index, day in enumerate(days):
        of_day = [
            AgentDay(day, h.agent, h.days[index][1], h.exception_count(day)) for h in histories
        ]
        agent_days += of_day
        by_team: dict[str | None, list[AgentDay]] = {team_id: [] for team_id in team_ids}
        for row in of_day:
            by_team[row.agent.team_id].append(row)
        for team_id, rows in by_team.items():
            team_days.append(TeamDay(day, team_id, len(rows), *_grouped(rows)))
        day_totals.append(DayTotal(day, len(of_day), *_grouped(of_day)))
    agents = [
        AgentTotal(history.agent, _sum(m for _, m in history.days), len(history.exceptions))
        for history in histories
    ]
    worst = sorted(
        (WorstException(h.agent, e) for h in histories for e in h.exceptions),
        key=lambda w: (-w.exception.duration, w.exception.start, w.agent.id),
    )
    return Report(
        unit=unit,
        team=team,
        dates=dates,
        target_percent=target_percent,
        teams={t.id: t for t in teams},
        days=list(days),
        agent_days=agent_days,
        agents=agents,
        team_days=team_days,
        day_totals=day_totals,
        totals=_sum(a.metrics for a in agents),
        exception_count=sum(a.exception_count for a in agents),
        worst_exceptions=worst[:WORST_EXCEPTIONS],
    )


def adherence_bins(percents: Iterable[float | None], width: int = 10) -> list[int]:
    """How many values fall in each `width`-point bin of 0–100; the last bin holds 100.
    Values without a percentage (nothing scheduled) are left out."""
    bins = [0] * (100 // width)
    for percent in percents:
        if percent is not None:
            bins[min(int(percent // width), len(bins) - 1)] += 1
    return bins


def _team_order(teams: Sequence[Team], present: set[str | None]) -> list[str | None]:
    """The unit's teams in their order, then any other, then no team."""
    listed = [team.id for team in teams if team.id in present]
    others = sorted(t for t in present if t is not None and t not in listed)
    return [*listed, *others, *([None] if None in present else [])]


def _grouped(rows: Sequence[AgentDay]) -> tuple[Metrics, int]:
    return _sum(row.metrics for row in rows), sum(row.exception_count for row in rows)


def _sum(metrics: Iterable[Metrics]) -> Metrics:
    total = Metrics()
    for item in metrics:
        total.add(item)
    return total

"""The JSON body of an adherence report, as the OpenAPI document describes it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from adhere.entrypoints.api.models import ExceptionOut, Instant, Metrics


class _Counted(BaseModel):
    exception_count: int = Field(description="Exceptions touching the row's days.")
    metrics: Metrics


class _AgentNames(BaseModel):
    agent_id: str
    agent_name: str
    team_id: str | None
    team_name: str | None


class ReportUnit(BaseModel):
    id: str
    name: str
    time_zone: str


class ReportTeam(BaseModel):
    id: str
    name: str


class ReportDay(_Counted):
    date: str
    start: Instant
    end: Instant = Field(description="Today's day ends when the report was made.")
    agents: int


class ReportTeamDay(ReportDay):
    team_id: str | None = Field(description="null: the agents without a team")
    team_name: str | None


class ReportAgent(_AgentNames, _Counted):
    """One agent over the whole range."""


class ReportAgentDay(_AgentNames, _Counted):
    date: str
    start: Instant
    end: Instant = Field(description="Today's day ends when the report was made.")


class ReportException(_AgentNames, ExceptionOut):
    """One of the range's longest exceptions, with whose it is."""


class AdherenceReport(BaseModel):
    management_unit: ReportUnit
    team: ReportTeam | None
    from_: str = Field(alias="from")
    to: str
    target_percent: float
    totals: _Counted
    days: list[ReportDay]
    team_days: list[ReportTeamDay]
    agents: list[ReportAgent]
    agent_days: list[ReportAgentDay] | None = Field(
        default=None, description="Absent with include_agent_days=false."
    )
    worst_exceptions: list[ReportException] = Field(max_length=10)

"""An adherence report as JSON, and as CSV: one row per agent per local day.

Metrics are rendered by `render_metrics`, as the historical API renders them: seconds and
percentages unrounded (a percentage is the full double, ``93.33333333333333``), null when
undefined. The CSV writes each number exactly as the JSON does (Python's shortest repr, so
``float(cell)`` equals the JSON number) and null as an empty cell.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from adhere.adapters.scenario_format import render_exception, render_metrics
from adhere.domain.categories import AdherenceState, Impact
from adhere.domain.instants import format_instant
from adhere.domain.local_days import LocalDay
from adhere.domain.metrics import Metrics
from adhere.domain.organisation import Agent
from adhere.domain.reports import Report

Json = dict[str, Any]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_IDENTITY = ("date", "agent_id", "agent_name", "team_id", "team_name")
_METRICS = (
    "adherence_percent",
    "conformance_percent",
    "adherence_schedule_seconds",
    "exception_seconds",
    "conformance_schedule_seconds",
    "conformance_actual_seconds",
)
_STATES = {f"{_snake(state.value)}_seconds": state.value for state in AdherenceState}
_IMPACTS = {
    f"{_snake(impact.value)}_impact_seconds": impact.value
    for impact in (Impact.POSITIVE, Impact.NEGATIVE, Impact.NEUTRAL)
}
_BOUNDS = {"day_start": "start", "day_end": "end"}  # today's day ends at the report's "now"
CSV_COLUMNS = (*_IDENTITY, *_METRICS, "exception_count", *_STATES, *_IMPACTS, *_BOUNDS)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render_report(report: Report, *, agent_days: bool = True) -> Json:
    """The report; without `agent_days` (its largest part, a row per agent per day) for a
    reader that shows only the groups."""
    team = report.team
    rendered = {
        "management_unit": {
            "id": report.unit.id,
            "name": report.unit.name,
            "time_zone": report.unit.time_zone,
        },
        "team": None if team is None else {"id": team.id, "name": team.name},
        "from": report.dates.first.isoformat(),
        "to": report.dates.last.isoformat(),
        "target_percent": report.target_percent,
        "totals": _counted(report.totals, report.exception_count),
        "days": [
            {**_day(row.day), "agents": row.agents, **_counted(row.metrics, row.exception_count)}
            for row in report.day_totals
        ],
        "team_days": [
            {
                **_day(row.day),
                "team_id": row.team_id,
                "team_name": report.team_name(row.team_id),
                "agents": row.agents,
                **_counted(row.metrics, row.exception_count),
            }
            for row in report.team_days
        ],
        "agents": [
            {**_agent(report, row.agent), **_counted(row.metrics, row.exception_count)}
            for row in report.agents
        ],
        "agent_days": [
            {
                **_day(row.day),
                **_agent(report, row.agent),
                **_counted(row.metrics, row.exception_count),
            }
            for row in report.agent_days
        ],
        "worst_exceptions": [
            {**_agent(report, worst.agent), **render_exception(worst.exception)}
            for worst in report.worst_exceptions
        ],
    }
    if not agent_days:
        del rendered["agent_days"]
    return rendered


def report_csv(rendered: Json) -> str:
    """The rendered report's `agent_days`, one CSV row each, with a header line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rendered["agent_days"]:
        metrics = row["metrics"]
        writer.writerow(
            [
                *(safe_cell(row[name]) for name in _IDENTITY),
                *(metrics[name] for name in _METRICS),
                row["exception_count"],
                *(metrics["state_seconds"][state] for state in _STATES.values()),
                *(metrics["impact_seconds"][impact] for impact in _IMPACTS.values()),
                *(row[key] for key in _BOUNDS.values()),
            ]
        )
    return out.getvalue()


def csv_filename(rendered: Json) -> str:
    """``adherence-<unit>[-<team>]-<from>-<to>.csv``, with only characters safe in a header."""
    team = rendered["team"]
    parts = [rendered["management_unit"]["id"], *([team["id"]] if team else [])]
    stem = "-".join(["adherence", *parts, rendered["from"], rendered["to"]])
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) + ".csv"


def safe_cell(value: object) -> object:
    """Text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
    return first) is prefixed with a quote, so that it is shown as text (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _counted(metrics: Metrics, exception_count: int) -> Json:
    return {"exception_count": exception_count, "metrics": render_metrics(metrics)}


def _day(day: LocalDay) -> Json:
    return {
        "date": day.date.isoformat(),
        "start": format_instant(day.start),
        "end": format_instant(day.end),
    }


def _agent(report: Report, agent: Agent) -> Json:
    return {
        "agent_id": agent.id,
        "agent_name": agent.name,
        "team_id": agent.team_id,
        "team_name": report.team_name(agent.team_id),
    }

"""Schedule files for bulk import: JSON (``{"schedules": [...]}``) and CSV.

CSV has a header row and one activity per line: ``agent_id,start,end,activity_code_id``
(``length_minutes`` may replace ``end``). Each agent's activities replace its schedule from
its earliest start to its latest end. Errors name the line and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from adhere.adapters.scenario_format import located, parse_activity
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import parse_instant
from adhere.domain.schedule import Activity, ScheduleReplacement

_REQUIRED_COLUMNS = ("agent_id", "start", "activity_code_id")


def parse_json_schedules(document: object) -> list[ScheduleReplacement]:
    if not isinstance(document, Mapping) or not isinstance(document.get("schedules"), list):
        raise InvalidInput('expected an object with a "schedules" list', "schedules")
    return [
        located(f"schedules[{index}]", lambda item=item: parse_replacement(item))
        for index, item in enumerate(document["schedules"])
    ]


def parse_replacement(item: object, agent_id: str | None = None) -> ScheduleReplacement:
    """``{agent_id, start, end, activities: [...]}``; `agent_id` may come from the URL."""
    if not isinstance(item, Mapping):
        raise InvalidInput("must be an object")
    if agent_id is None:
        agent_id = item.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id:
            raise InvalidInput("is required", "agent_id")
    start = located("start", lambda: parse_instant(item.get("start")))
    end = located("end", lambda: parse_instant(item.get("end")))
    if end < start:
        raise InvalidInput("must not be before start", "end")
    activities = item.get("activities")
    if not isinstance(activities, list):
        raise InvalidInput("must be a list", "activities")
    return ScheduleReplacement(
        agent_id,
        start,
        end,
        [
            located(f"activities[{i}]", lambda a=a: parse_activity(a))
            for i, a in enumerate(activities)
        ],
    )


def parse_csv_schedules(text: str) -> list[ScheduleReplacement]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _csv_replacements(reader)
    except csv.Error as error:  # e.g. a stray carriage return inside a field
        raise InvalidInput(str(error), f"line {reader.line_num}") from None


def _csv_replacements(reader: csv.DictReader[str]) -> list[ScheduleReplacement]:
    columns = set(reader.fieldnames or ())
    missing = [c for c in _REQUIRED_COLUMNS if c not in columns]
    if missing or not columns & {"end", "length_minutes"}:
        wanted = ", ".join(missing + ([] if columns & {"end", "length_minutes"} else ["end"]))
        raise InvalidInput(f"the header row lacks column(s) {wanted}", "line 1")
    by_agent: dict[str, list[Activity]] = {}
    for row in reader:
        where = f"line {reader.line_num}"
        values: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
        if "length_minutes" in values:
            values["length_minutes"] = _number(values["length_minutes"], f"{where}.length_minutes")
        agent_id = values.get("agent_id")
        if not agent_id:
            raise InvalidInput("is required", f"{where}.agent_id")
        by_agent.setdefault(agent_id, []).append(located(where, lambda v=values: parse_activity(v)))
    return [_covering(agent_id, activities) for agent_id, activities in by_agent.items()]


def _number(text: str, field: str) -> float:
    try:
        return float(text)
    except ValueError as error:
        raise InvalidInput(str(error), field) from None


def _covering(agent_id: str, activities: Sequence[Activity]) -> ScheduleReplacement:
    return ScheduleReplacement(
        agent_id, min(a.start for a in activities), max(a.end for a in activities), activities
    )

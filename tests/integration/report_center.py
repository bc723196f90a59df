"""A small contact center with a few days of history, as an adhere-scenario/1 document, for
the report tests (API and CLI).

New York (DST starts on 2026-03-08: a 23-hour day). On each day of `DAYS`:
- ana (team Blue) works 09:00–17:00 on queue with a break 12:00–12:30, and comes back from it
  15 minutes late;
- ben (Blue) works 09:00–13:00 on queue and logs in 20 minutes late (a shorter day than ana's,
  so Blue's adherence from summed seconds differs from the mean of theirs);
- cy (Green) works 10:00–18:00 on queue and leaves at 16:00;
- dee (no team) works 20:00–02:00 on queue and is away 23:30–00:30: one exception that crosses
  midnight. On 2026-01-30 that midnight is also where a report from 2026-01-01 cuts its
  evaluation windows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
DAYS = (date(2026, 1, 30), date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9))
UNIT = "nyc"
AGENTS = ("ana", "ben", "cy", "dee")


def local(day: date, hour: float) -> str:
    """The instant `hour` hours after local midnight of `day` (wall clock), as RFC 3339 UTC."""
    wall = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK) + timedelta(hours=hour)
    return wall.astimezone(UTC).isoformat().replace("+00:00", "Z")


def center(names: dict[str, str] | None = None, days: tuple[date, ...] = DAYS) -> dict[str, Any]:
    """The scenario, on `days`; `names` renames agents (by id)."""
    names = {"ana": "Ana", "ben": "Ben", "cy": "Cy", "dee": "Dee", **(names or {})}
    schedules: dict[str, list[dict[str, Any]]] = {agent: [] for agent in AGENTS}
    events: list[dict[str, Any]] = []

    def work(agent: str, day: date, start: float, end: float, code: str = "oq") -> None:
        schedules[agent].append(
            {"start": local(day, start), "end": local(day, end), "activity_code_id": code}
        )

    def event(agent: str, day: date, hour: float, kind: str, presence: str | None = None) -> None:
        item: dict[str, Any] = {
            "id": f"{agent}-{day.isoformat()}-{hour}-{kind}",
            "agent_id": agent,
            "time": local(day, hour),
            "kind": kind,
        }
        if presence is not None:
            item["system_presence"] = presence
        events.append(item)

    for day in days:
        work("ana", day, 9, 12)
        work("ana", day, 12, 12.5, "brk")
        work("ana", day, 12.5, 17)
        event("ana", day, 9, "login", "OnQueue")
        event("ana", day, 12, "presence", "Break")
        event("ana", day, 12.75, "presence", "OnQueue")
        event("ana", day, 17, "logout")
        work("ben", day, 9, 13)
        event("ben", day, 9 + 20 / 60, "login", "OnQueue")
        event("ben", day, 13, "logout")
        work("cy", day, 10, 18)
        event("cy", day, 10, "login", "OnQueue")
        event("cy", day, 16, "logout")
        work("dee", day, 20, 26)
        event("dee", day, 20, "login", "OnQueue")
        event("dee", day, 23.5, "presence", "Away")
        event("dee", day, 24.5, "presence", "OnQueue")
        event("dee", day, 26, "logout")
    return {
        "format": "adhere-scenario/1",
        "management_unit": {"id": UNIT, "name": "New York", "time_zone": "America/New_York"},
        "teams": [{"id": "t-blue", "name": "Blue"}, {"id": "t-green", "name": "Green"}],
        "activity_codes": [
            {"id": "oq", "name": "On queue", "category": "OnQueueWork"},
            {"id": "brk", "name": "Break", "category": "Break"},
        ],
        "agents": [
            {"id": "ana", "name": names["ana"], "team_id": "t-blue"},
            {"id": "ben", "name": names["ben"], "team_id": "t-blue"},
            {"id": "cy", "name": names["cy"], "team_id": "t-green"},
            {"id": "dee", "name": names["dee"]},
        ],
        "schedules": [
            {"agent_id": agent, "activities": activities} for agent, activities in schedules.items()
        ],
        "events": events,
        "window": {"start": local(days[0], 0), "end": local(days[0], 0)},
    }

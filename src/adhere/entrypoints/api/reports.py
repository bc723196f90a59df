"""Route: the adherence report of a management unit or a team over local dates, JSON or CSV."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from adhere.adapters.report_format import csv_filename, render_report, report_csv
from adhere.domain.reports import DateRange, parse_date
from adhere.entrypoints.api.deps import context
from adhere.entrypoints.api.problems import Problem
from adhere.entrypoints.api.report_models import AdherenceReport
from adhere.entrypoints.api.security import Principal, requires
from adhere.service.context import ServiceContext
from adhere.service.reports import NoneVisible, ReportRequest, adherence_report

router = APIRouter(prefix="/api/v1", tags=["reports"])
_CSV = "text/csv"

_CSV_RESPONSE = {
    "description": "The report as JSON; as CSV (one row per agent per local day, with a "
    "header line) for `format=csv` or `Accept: text/csv`.",
    "content": {_CSV: {"schema": {"type": "string"}}},
}


@router.get("/reports/adherence", response_model=AdherenceReport, responses={200: _CSV_RESPONSE})
def adherence(
    request: Request,
    first: str = Query(alias="from", max_length=40, description="First local date, YYYY-MM-DD."),
    last: str = Query(alias="to", max_length=40, description="Last local date (included)."),
    management_unit_id: str | None = Query(default=None, min_length=1, max_length=128),
    team_id: str | None = Query(default=None, min_length=1, max_length=128),
    target_percent: float | None = Query(
        default=None, description="Default: the unit's adherence_target_percent."
    ),
    include_agent_days: bool = Query(
        default=True, description="JSON only: leave out `agent_days` (a row per agent per day)."
    ),
    format: Literal["json", "csv"] | None = Query(
        default=None, description="Default: CSV if the Accept header asks for text/csv."
    ),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires("adherence:read"),
) -> Response:
    """Adherence and conformance per agent, team and local day of the unit's time zone, for
    up to 92 days up to today (counted up to now), of the agents the caller may
    see: exactly the metrics the historical API gives for those days. Groups add seconds,
    never percentages. Also the target and the 10 longest exceptions. Select with exactly
    one of `management_unit_id` and `team_id`."""
    query = ReportRequest(
        DateRange(parse_date(first, "from"), parse_date(last, "to")),
        management_unit_id=management_unit_id,
        team_id=team_id,
        target_percent=target_percent,
    )
    try:
        report = adherence_report(ctx, query, sees=principal.visibility.sees)
    except NoneVisible as error:
        raise Problem(403, "auth.forbidden_agent", str(error), title="Forbidden agent") from None
    if format == "csv" or (format is None and _accepts_csv(request.headers.get("accept", ""))):
        rendered = render_report(report)
        return Response(
            report_csv(rendered),
            media_type=f"{_CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{csv_filename(rendered)}"'},
        )
    return JSONResponse(render_report(report, agent_days=include_agent_days))


def _accepts_csv(accept: str) -> bool:
    """Whether the Accept header names text/csv (with a quality above 0)."""
    for item in accept.split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        if media.lower() == _CSV and not any(p.replace(" ", "") in _ZERO for p in parameters):
            return True
    return False


_ZERO = {"q=0", "q=0.0", "q=0.00", "q=0.000"}

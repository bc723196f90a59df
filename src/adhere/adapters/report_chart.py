"""An adherence report as a PNG image: the daily trend against the target, and how the agents'
adherence is distributed. matplotlib is imported only when an image is drawn (it is slow to
import), and through its object API with the Agg canvas, so no global backend is changed."""

from __future__ import annotations

from pathlib import Path

from adhere.domain.reports import Report, adherence_bins

_ADHERENCE, _CONFORMANCE, _TARGET = "#1f6feb", "#8250df", "#cf222e"
_DATE_LABELS = 14


def write_png(report: Report, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 (slow import)
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    figure = Figure(figsize=(10, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    trend, spread = figure.subplots(2, 1, height_ratios=(3, 2))
    subject = report.unit.name + ("" if report.team is None else f" · {report.team.name}")
    dates = report.dates
    figure.suptitle(f"Adherence — {subject}, {dates.first.isoformat()} to {dates.last.isoformat()}")

    days = [row.day.date for row in report.day_totals]
    positions = list(range(len(days)))  # one per day, so a day without a value still shows
    adherence = [_or_nan(row.metrics.adherence_percent) for row in report.day_totals]
    conformance = [_or_nan(row.metrics.conformance_percent) for row in report.day_totals]
    trend.plot(positions, adherence, marker="o", lw=2.5, color=_ADHERENCE, label="Adherence %")
    trend.plot(
        positions, conformance, marker="s", ls=":", color=_CONFORMANCE, label="Conformance %"
    )
    trend.axhline(
        report.target_percent,
        color=_TARGET,
        linestyle="--",
        label=f"Target {report.target_percent:g} %",
    )
    highest = max([100.0, *(row.metrics.conformance_percent or 0 for row in report.day_totals)])
    trend.set_ylim(0, highest * 1.05)
    trend.set_ylabel("%")
    trend.set_title("Daily trend")
    trend.legend(loc="lower left")
    trend.grid(alpha=0.3)
    step = -(-len(days) // _DATE_LABELS)  # every day up to that many, then every other…
    trend.set_xticks(positions[::step], [d.strftime("%b %d") for d in days[::step]])
    trend.set_xlim(-0.5, len(days) - 0.5)

    bins = adherence_bins(row.metrics.adherence_percent for row in report.agents)
    labels = [f"{10 * i}–{10 * i + 10}" for i in range(len(bins))]
    bars = spread.bar(labels, bins, color=_ADHERENCE)
    spread.bar_label(bars)
    spread.set_xlabel("Adherence % over the range")
    spread.set_ylabel("Agents")
    spread.yaxis.set_major_locator(MaxNLocator(integer=True))
    spread.set_title("Distribution across agents")
    figure.savefig(path, format="png")


def _or_nan(value: float | None) -> float:
    """A day without a percentage is a gap in the line."""
    return float("nan") if value is None else value

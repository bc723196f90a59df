"""`make demo`: a guided tour of `adhere evaluate` on the shipped examples.

Until the service exists, the demo evaluates each example scenario and shows, per agent, the
figures a supervisor asks for first: adherence, conformance and the exceptions of the day.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adhere.adapters.scenario_format import parse_scenario
from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import Presence
from adhere.domain.engine import AdherenceChange, AdherenceEngine
from adhere.domain.instants import format_instant, parse_instant
from adhere.domain.scenario import Scenario
from adhere.service.evaluation import evaluate_document

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def _replay_live(console: Console, scenario: Scenario) -> None:
    """Feed a day through the real-time engine as a service would, printing each change."""
    engine = AdherenceEngine()
    engine.configure_unit(scenario.management_unit, scenario.activity_codes)
    for agent in scenario.agents:
        engine.add_agent(agent)
        activities = scenario.schedules.get(agent.id, ())
        if activities:
            engine.replace_schedule(
                agent.id, activities[0].start, max(a.end for a in activities), activities
            )
    table = Table(
        title="The real-time engine, fed the same day event by event", title_justify="left"
    )
    for column in ("at (UTC)", "agent", "scheduled", "actual", "adherence", "impact", "how"):
        table.add_column(column)

    def show(changes: list[AdherenceChange], how: str) -> None:
        for change in changes:
            now = change.current
            table.add_row(
                format_instant(change.at)[11:19],
                change.agent_id,
                now.scheduled_category,
                now.actual_category,
                now.adherence_state,
                now.impact,
                "correction" if change.correction else how,
            )

    for event in sorted(scenario.events, key=lambda e: e.time):
        next_tick = engine.next_change_at()
        if next_tick is not None and next_tick < event.time:
            show(engine.advance_to(event.time - 1), "clock")
        show(engine.ingest(event), str(event.kind))
    late = AgentEvent(
        "late-1",
        "ana",
        parse_instant("2026-06-02T12:29:00Z"),
        EventKind.PRESENCE,
        system_presence=Presence.ON_QUEUE,
    )
    show(engine.ingest(late), "late event")
    console.print(table)
    console.print(
        "The last rows come from a presence event that arrived after the fact: the engine "
        "corrected the past and reported what changed."
    )


def main() -> None:
    console = Console(width=max(Console().width, 110))
    scenarios = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".result.json"))
    console.rule("[bold]Adhere demo: adherence computed from schedules and agent events")
    for path in scenarios:
        document = json.loads(path.read_text(encoding="utf-8"))
        result = evaluate_document(document)
        table = Table(title=f"{path.name}: {document.get('description', '')}", title_justify="left")
        for column in ("agent", "adherence", "conformance", "exceptions (start–end UTC, impact)"):
            table.add_column(column)
        for agent in result["agents"]:
            metrics = agent["metrics"]
            table.add_row(
                agent["agent_id"],
                _percent(metrics["adherence_percent"]),
                _percent(metrics["conformance_percent"]),
                "\n".join(
                    f"{e['start'][11:16]}–{e['end'][11:16]} {e['impact']}"
                    + (" [red]severe[/red]" if e["severe"] else "")
                    for e in agent["exceptions"]
                )
                or "none",
            )
        totals = result["totals"]["metrics"]
        table.caption = (
            f"all agents: adherence {_percent(totals['adherence_percent'])}, "
            f"conformance {_percent(totals['conformance_percent'])}"
        )
        console.print(table)
    _replay_live(console, parse_scenario(json.loads((EXAMPLES / "normal-day.json").read_text())))
    console.print(
        "\nTry it yourself: [bold].venv/bin/adhere evaluate examples/normal-day.json[/bold] "
        "prints the full adhere-result/1 document (segments, exceptions, metrics, local days)."
    )


if __name__ == "__main__":
    main()

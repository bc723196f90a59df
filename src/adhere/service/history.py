"""Use case: historical adherence for a window, exactly as `adhere evaluate` computes it.

The inputs are copied from the live engine (which holds everything stored) under its lock,
then evaluated without it, so ingestion never waits for a long query.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adhere.adapters.scenario_format import render_agent, render_metrics
from adhere.domain.engine import AgentSnapshot
from adhere.domain.errors import InvalidInput
from adhere.domain.evaluation import AgentResult, evaluate_agent
from adhere.domain.instants import MICROS_PER_SECOND, Instant
from adhere.domain.metrics import Metrics
from adhere.domain.scenario import Window
from adhere.service.context import ServiceContext
from adhere.service.organisation import NotFound

MAX_WINDOW_DAYS = 31


@dataclass(frozen=True, slots=True)
class HistoricalQuery:
    """Exactly one of `agent_ids`, `management_unit_id` and `team_id` selects the agents."""

    start: Instant
    end: Instant
    agent_ids: Sequence[str] | None = None
    management_unit_id: str | None = None
    team_id: str | None = None
    include_segments: bool = False
    include_exceptions: bool = False

    def __post_init__(self) -> None:
        given = [
            name
            for name in ("agent_ids", "management_unit_id", "team_id")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise InvalidInput(
                "give exactly one of agent_ids, management_unit_id and team_id"
                + (f" (got {', '.join(given)})" if given else ""),
                given[1] if len(given) > 1 else "agent_ids",
            )
        if self.end <= self.start:
            raise InvalidInput("must be after start", "end")
        if self.end - self.start > MAX_WINDOW_DAYS * 86_400 * MICROS_PER_SECOND:
            raise InvalidInput(f"the range may span at most {MAX_WINDOW_DAYS} days", "end")


def snapshots(ctx: ServiceContext, query: HistoricalQuery) -> list[AgentSnapshot]:
    """The inputs of the selected agents, copied (briefly holding the engine)."""
    live = ctx.live
    assert live is not None, "historical queries are answered by a server"
    with ctx.store.reading() as tx:
        if query.agent_ids is not None:
            agent_ids = list(dict.fromkeys(query.agent_ids))
            known = tx.existing_agent_ids(agent_ids)
            missing = [a for a in agent_ids if a not in known]
            if missing:
                raise InvalidInput(
                    f"unknown agent{'s' if len(missing) > 1 else ''} "
                    + ", ".join(repr(a) for a in missing[:10]),
                    "agent_ids",
                )
        elif query.management_unit_id is not None:
            if tx.management_unit(query.management_unit_id) is None:
                raise NotFound("management_unit", query.management_unit_id)
            agent_ids = [agent.id for agent in tx.agents(unit_id=query.management_unit_id)]
        else:
            assert query.team_id is not None
            if tx.team(query.team_id) is None:
                raise NotFound("team", query.team_id)
            agent_ids = [agent.id for agent in tx.agents(team_id=query.team_id)]
    with live.lock:
        return [live.engine.snapshot(agent_id) for agent_id in agent_ids]


def event_count(found: Sequence[AgentSnapshot], query: HistoricalQuery) -> int:
    """Events inside the window: what the cost of evaluating it grows with."""
    return sum(
        bisect_left(s.inputs.times, query.end) - bisect_left(s.inputs.times, query.start)
        for s in found
    )


def evaluate_snapshot(snapshot: AgentSnapshot, window: Window) -> AgentResult:
    """One agent's adhere-result over `window`, from inputs copied off the live engine."""
    return evaluate_agent(
        snapshot.agent.id,
        snapshot.inputs,
        snapshot.classifier,
        snapshot.unit,
        window,
        explanation_ends=snapshot.explanation_ends,
    )


def evaluate_history(found: Sequence[AgentSnapshot], query: HistoricalQuery) -> dict[str, Any]:
    """Per agent: the adhere-result/1 entry (segments and exceptions if asked), and totals."""
    window = Window(query.start, query.end)
    totals = Metrics()
    agents: list[dict[str, Any]] = []
    for snapshot in found:
        result = evaluate_snapshot(snapshot, window)
        totals.add(result.metrics)
        rendered = render_agent(result)
        if not query.include_segments:
            del rendered["segments"]
        if not query.include_exceptions:
            del rendered["exceptions"]
        agents.append(rendered)
    return {"agents": agents, "totals": {"metrics": render_metrics(totals)}}

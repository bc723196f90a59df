"""Batch evaluation: the adherence of every agent of a scenario over its window (§5, §6)."""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from adhere.domain.adherence import Adherence, Classifier
from adhere.domain.agent_state import AgentEvent
from adhere.domain.explanations import Explanation, approved_intervals
from adhere.domain.instants import Instant
from adhere.domain.local_days import LocalDay, local_days
from adhere.domain.metrics import AdherenceException, Metrics, daily_metrics, exceptions
from adhere.domain.organisation import ManagementUnit
from adhere.domain.scenario import Scenario, Window
from adhere.domain.schedule import Activity
from adhere.domain.timeline import AgentInputs, ChangePoint, pieces, sweep


@dataclass(frozen=True, slots=True)
class Segment:
    start: Instant
    end: Instant
    adherence: Adherence


@dataclass(frozen=True, slots=True)
class DayResult:
    day: LocalDay
    metrics: Metrics


@dataclass(frozen=True, slots=True)
class AgentResult:
    agent_id: str
    segments: list[Segment]
    exceptions: list[AdherenceException]
    metrics: Metrics
    days: list[DayResult]


@dataclass(frozen=True, slots=True)
class Evaluation:
    agents: list[AgentResult]
    totals: Metrics = field(default_factory=Metrics)


def evaluate(scenario: Scenario) -> Evaluation:
    """Adherence of every agent of `scenario`, in the order its agents are listed."""
    classifier = scenario.classifier()
    events_by_agent: defaultdict[str, list[AgentEvent]] = defaultdict(list)
    for event in scenario.events:
        events_by_agent[event.agent_id].append(event)
    explanations_by_agent: defaultdict[str, list[Explanation]] = defaultdict(list)
    for explanation in scenario.explanations:
        explanations_by_agent[explanation.agent_id].append(explanation)
    results = [
        evaluate_agent(
            agent.id,
            agent_inputs(
                scenario.schedules.get(agent.id, ()),
                events_by_agent[agent.id],
                explanations_by_agent[agent.id],
            ),
            classifier,
            scenario.management_unit,
            scenario.window,
            explanation_ends=[e.end for e in explanations_by_agent[agent.id]],
        )
        for agent in scenario.agents
    ]
    totals = Metrics()
    for result in results:
        totals.add(result.metrics)
    return Evaluation(results, totals)


def agent_inputs(
    activities: Iterable[Activity],
    events: Iterable[AgentEvent],
    explanations: Iterable[Explanation],
) -> AgentInputs:
    """The inputs of one agent; `events` in arrival order, of which the first of an id wins."""
    seen: set[str] = set()
    accepted: list[AgentEvent] = []
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            accepted.append(event)
    accepted.sort(key=_time)  # stable: ties stay in arrival order
    return AgentInputs(
        array("q", [event.time for event in accepted]),
        [event.effect for event in accepted],
        sorted(activities),
        approved_intervals(explanations),
    )


_time = attrgetter("time")


def evaluate_agent(
    agent_id: str,
    inputs: AgentInputs,
    classifier: Classifier,
    unit: ManagementUnit,
    window: Window,
    *,
    explanation_ends: Sequence[Instant] = (),
) -> AgentResult:
    """One agent's result. Its timeline runs to the latest of the window's end and the ends of
    its inputs, so that a run still open at the window's end is measured whole."""
    span = inputs.boundaries()
    start = min(window.start, span[0]) if span else window.start
    end = max(window.end, span[1] if span else window.end, *explanation_ends)
    points = sweep(inputs, classifier, start, end)
    found = exceptions(points, end, classifier.settings, window.start, window.end)
    days = local_days(unit.zone, window.start, window.end)
    per_day = daily_metrics(points, end, found, days)
    total = Metrics()
    for metrics in per_day:
        total.add(metrics)
    return AgentResult(
        agent_id,
        segments(points, end, window),
        found,
        total,
        [DayResult(day, metrics) for day, metrics in zip(days, per_day, strict=True)],
    )


def segments(points: Sequence[ChangePoint], end: Instant, window: Window) -> list[Segment]:
    """Maximal intervals of constant adherence, clipped to the window."""
    merged: list[Segment] = []
    for piece in pieces(points, end, window.start, window.end):
        adherence = piece.point.adherence
        if merged and merged[-1].adherence == adherence and merged[-1].end == piece.start:
            merged[-1] = Segment(merged[-1].start, piece.end, adherence)
        else:
            merged.append(Segment(piece.start, piece.end, adherence))
    return merged

"""Properties of §2–§5 that must hold for any input, checked on generated scenarios."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adhere.domain.adherence import UNSCHEDULED_OFFLINE, Adherence, Classifier
from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.engine import AdherenceChange, AdherenceEngine
from adhere.domain.evaluation import AgentResult, agent_inputs, evaluate, evaluate_agent
from adhere.domain.explanations import Explanation
from adhere.domain.instants import Instant
from adhere.domain.metrics import Metrics
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.domain.scenario import Scenario, Window
from adhere.domain.schedule import Activity, replaced_range
from adhere.domain.timeline import sweep
from tests.unit.scenario_strategies import (
    CODES,
    HORIZON_MINUTES,
    AgentCase,
    agent_cases,
    events,
    explanations,
    minute,
    schedules,
)
from tests.unit.scenario_strategies import settings as adherence_settings

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WIDE = Window(minute(-120), minute(HORIZON_MINUTES + 120))


def evaluate_case(
    case: AgentCase, window: Window = WIDE, events_in_arrival_order: Sequence[AgentEvent] = ()
) -> AgentResult:
    scenario = Scenario(
        management_unit=case.unit,
        activity_codes=CODES,
        agents=[case.agent],
        schedules={case.agent.id: case.activities},
        events=list(events_in_arrival_order or case.events),
        explanations=case.explanations,
        window=window,
    )
    return evaluate(scenario).agents[0]


def seconds_metrics(metrics: Metrics) -> dict[str, int]:
    flat = {f"state.{k}": v for k, v in metrics.state.items()}
    flat.update({f"impact.{k}": v for k, v in metrics.impact.items()})
    flat.update(
        exception=metrics.exception,
        conformance_schedule=metrics.conformance_schedule,
        conformance_actual=metrics.conformance_actual,
        adherence_schedule=metrics.adherence_schedule,
    )
    return flat


@FAST
@given(agent_cases(), st.randoms(use_true_random=False))
def test_result_is_independent_of_arrival_order_of_events_with_distinct_instants(case, rng):
    distinct = list({event.time: event for event in case.events}.values())
    shuffled = distinct[:]
    rng.shuffle(shuffled)
    assert evaluate_case(case, events_in_arrival_order=distinct) == evaluate_case(
        case, events_in_arrival_order=shuffled
    )


@FAST
@given(agent_cases(), st.data())
def test_duplicates_change_nothing(case, data):
    if not case.events:
        return
    originals = data.draw(st.lists(st.sampled_from(case.events), min_size=1, max_size=5))
    duplicates = [
        dataclasses.replace(event, kind=EventKind.LOGOUT, time=event.time + 1)
        for event in originals
    ]
    with_duplicates = [*case.events, *duplicates]
    assert evaluate_case(case, events_in_arrival_order=with_duplicates) == evaluate_case(case)


@FAST
@given(agent_cases(), st.integers(-200, 900), st.integers(0, 900))
def test_state_seconds_add_up_to_the_window(case, start, length):
    window = Window(minute(start), minute(start + length))
    result = evaluate_case(case, window)
    assert sum(result.metrics.state.values()) == window.end - window.start
    for day in result.days:
        assert sum(day.metrics.state.values()) == day.day.end - day.day.start
    assert sum(d.day.end - d.day.start for d in result.days) == window.end - window.start


@FAST
@given(agent_cases(), st.data())
def test_two_adjacent_windows_sum_to_their_union(case, data):
    # The timeline ends at the latest of the window's end and the inputs' ends (§5), so the
    # union's end must not reach past the inputs, or an open run would be measured longer.
    inputs_end = max(
        [a.end for a in case.activities]
        + [e.time for e in case.events]
        + [x.end for x in case.explanations],
        default=None,
    )
    if inputs_end is None:
        return
    a, b, c = sorted(
        data.draw(st.lists(st.integers(minute(-120), inputs_end), min_size=3, max_size=3))
    )
    first = evaluate_case(case, Window(a, b)).metrics
    second = evaluate_case(case, Window(b, c)).metrics
    union = evaluate_case(case, Window(a, c)).metrics
    first_flat, second_flat = seconds_metrics(first), seconds_metrics(second)
    assert {k: first_flat[k] + second_flat[k] for k in first_flat} == seconds_metrics(union)


# ---- the incremental engine against batch evaluation ------------------------------------


@dataclasses.dataclass(frozen=True)
class _Ingest:
    event: AgentEvent


@dataclasses.dataclass(frozen=True)
class _Edit:
    agent_id: str
    start: Instant
    end: Instant
    activities: tuple[Activity, ...]


@dataclasses.dataclass(frozen=True)
class _Explain:
    explanation: Explanation


@dataclasses.dataclass(frozen=True)
class _Tick:
    now: Instant


@dataclasses.dataclass(frozen=True)
class _Peek:
    """Ask for the next clock-driven change (it verifies timers lazily)."""


@dataclasses.dataclass(frozen=True)
class _Reconfigure:
    unit: ManagementUnit


AGENT_IDS = ("a1", "a2")


@st.composite
def engine_runs(draw: st.DrawFn):
    unit = ManagementUnit("mu", "Paris", "Europe/Paris", draw(adherence_settings))
    operations: list[object] = []
    for agent_id in AGENT_IDS:
        operations += [_Ingest(e) for e in draw(events(agent_id, max_size=15))]
        for _ in range(draw(st.integers(0, 3))):
            lo, hi = sorted(draw(st.lists(st.integers(0, HORIZON_MINUTES), min_size=2, max_size=2)))
            inside = [a for a in draw(schedules()) if a.start >= minute(lo) and a.end <= minute(hi)]
            operations.append(_Edit(agent_id, minute(lo), minute(hi), tuple(inside)))
        for explanation in draw(explanations(agent_id)):
            operations.append(_Explain(explanation))
            if draw(st.booleans()):  # a later decision on the same explanation
                status = draw(st.sampled_from(["Approved", "Denied", "Pending"]))
                operations.append(_Explain(dataclasses.replace(explanation, status=status)))
    # Duplicates of some events, with other content: the first arrival must win.
    ingested = [op.event for op in operations if isinstance(op, _Ingest)]
    for event in draw(st.lists(st.sampled_from(ingested), max_size=3)) if ingested else []:
        operations.append(_Ingest(dataclasses.replace(event, kind=EventKind.LOGOUT)))
    operations += [_Tick(minute(m)) for m in draw(st.lists(st.integers(-60, 800), max_size=6))]
    operations += [_Peek() for _ in range(draw(st.integers(0, 4)))]
    operations += [
        _Reconfigure(ManagementUnit("mu", "Paris", "Europe/Paris", new_settings))
        for new_settings in draw(st.lists(adherence_settings, max_size=2))
    ]
    if draw(st.booleans()):
        return unit, draw(st.permutations(operations))
    # A live feed: events and clock ticks in time order, everything else in between.
    keyed = [(_natural_time(op) or minute(draw(st.integers(-60, 800))), op) for op in operations]
    return unit, [op for _, op in sorted(keyed, key=lambda pair: pair[0])]


def _natural_time(op: object) -> Instant | None:
    match op:
        case _Ingest(event):
            return event.time
        case _Tick(now):
            return now
    return None


def _replay(changes: Sequence[AdherenceChange]) -> list[tuple[Instant, Adherence]]:
    """Belief after applying every change in order: change points, starting unscheduled."""
    points: list[tuple[Instant, Adherence]] = [(-(2**62), UNSCHEDULED_OFFLINE)]
    for change in changes:
        resumed = _value(points, change.until) if change.until is not None else None
        kept = [
            p
            for p in points
            if p[0] < change.at or (change.until is not None and p[0] >= change.until)
        ]
        kept.append((change.at, change.current))
        if change.until is not None and all(p[0] != change.until for p in kept):
            kept.append((change.until, resumed))
        points = sorted(kept, key=lambda p: p[0])
    return points


def _value(points: Sequence[tuple[Instant, Adherence]], instant: Instant) -> Adherence:
    return [value for at, value in points if at <= instant][-1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engine_runs())
def test_engine_fed_any_interleaving_equals_batch_evaluation_of_final_inputs(run):
    unit, operations = run
    engine = AdherenceEngine()
    engine.configure_unit(unit, CODES)
    for agent_id in AGENT_IDS:
        engine.add_agent(Agent(agent_id, agent_id, unit.id))
    changes: list[AdherenceChange] = []
    activities: dict[str, list[Activity]] = {a: [] for a in AGENT_IDS}
    decisions: dict[str, dict[str, Explanation]] = {a: {} for a in AGENT_IDS}
    arrivals: dict[str, list[AgentEvent]] = {a: [] for a in AGENT_IDS}

    def batch(agent_id: str, end: Instant) -> list[tuple[Instant, Adherence]]:
        inputs = agent_inputs(
            activities[agent_id], arrivals[agent_id], decisions[agent_id].values()
        )
        points = sweep(inputs, Classifier(unit.settings, CODES), minute(-300), end)
        return [(p.at, p.adherence) for p in points]

    for op in operations:
        match op:
            case _Ingest(event):
                changes += engine.ingest(event)
                arrivals[event.agent_id].append(event)
            case _Edit(agent_id, start, end, new):
                changes += engine.replace_schedule(agent_id, start, end, new)
                activities[agent_id] = replaced_range(
                    agent_id, activities[agent_id], start, end, new
                )
            case _Explain(explanation):
                changes += engine.put_explanation(explanation)
                decisions[explanation.agent_id][explanation.id] = explanation
            case _Tick(now):
                changes += engine.advance_to(now)
            case _Peek():
                engine.next_change_at()
            case _Reconfigure(new_unit):
                changes += engine.configure_unit(new_unit, CODES)
                unit = new_unit
        # After every input, what was reported up to each horizon is the truth so far.
        for agent_id in AGENT_IDS:
            horizon = engine.horizon(agent_id)
            if horizon is not None:
                truth = _value(batch(agent_id, horizon), horizon)
                believed = _replay([c for c in changes if c.agent_id == agent_id])
                assert _value(believed, horizon) == truth == engine.current(agent_id)

    end = minute(HORIZON_MINUTES * 2 + 200)
    changes += engine.advance_to(end)
    assert engine.next_change_at() is None

    for agent_id in AGENT_IDS:
        expected = batch(agent_id, end)
        believed = _replay([c for c in changes if c.agent_id == agent_id])
        instants = sorted({at for at, _ in expected} | {at for at, _ in believed[1:]} | {end})
        for instant in instants:
            if instant >= minute(-300):
                assert _value(believed, instant) == _value(expected, instant), instant
        assert engine.current(agent_id) == _value(expected, end)
        for at, value in expected:
            assert engine.adherence_at(agent_id, at) == value


@FAST
@given(agent_cases())
def test_evaluate_agent_and_evaluate_agree(case):
    scenario_result = evaluate_case(case)
    direct = evaluate_agent(
        case.agent.id,
        agent_inputs(case.activities, case.events, case.explanations),
        Classifier(case.unit.settings, CODES),
        case.unit,
        WIDE,
        explanation_ends=[x.end for x in case.explanations],
    )
    assert direct == scenario_result

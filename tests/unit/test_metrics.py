"""§5 of the adherence rules: segments, out-of-adherence runs, exceptions and metrics.

Every scenario is built here, every expected number is worked out by hand from the rules.
Instants are on 2026-06-02 UTC unless written in full.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from adhere.service.evaluation import evaluate_document

DAY = "2026-06-02"
STATES = ("InAdherence", "OutOfAdherence", "Unscheduled", "Ignored", "Explained", "Unknown")
_ids = itertools.count(1)

CODES: list[dict[str, Any]] = [
    {"id": "oq", "category": "OnQueueWork"},
    {"id": "brk", "category": "Break", "secondary_presence_id": "sp-brk"},
    {"id": "meal", "category": "Meal"},
    {"id": "mtg", "category": "Meeting"},
    {"id": "trn", "category": "Training"},
]


def t(clock: str) -> str:
    """A clock time on DAY in UTC, or an instant given in full."""
    return clock if "T" in clock else f"{DAY}T{clock}Z"


def act(start: str, end: str, code: str) -> dict:
    return {"start": t(start), "end": t(end), "activity_code_id": code}


def ev(clock: str, kind: str, agent: str = "a1", **fields: Any) -> dict:
    return {"id": f"e{next(_ids)}", "agent_id": agent, "time": t(clock), "kind": kind, **fields}


def on_queue(clock: str, agent: str = "a1", routing: str = "IDLE") -> dict:
    return ev(clock, "presence", agent, system_presence="OnQueue", routing_status=routing)


def presence(clock: str, name: str, agent: str = "a1") -> dict:
    return ev(clock, "presence", agent, system_presence=name)


def explanation(start: str, minutes: float, status: str = "Approved", agent: str = "a1") -> dict:
    return {
        "id": f"x{next(_ids)}",
        "agent_id": agent,
        "start": t(start),
        "length_minutes": minutes,
        "type": "Late",
        "status": status,
    }


def scenario(
    *,
    schedules: dict[str, list[dict]] | None = None,
    events: list[dict] | None = None,
    explanations: list[dict] | None = None,
    window: tuple[str, str] = ("09:00:00", "10:00:00"),
    settings: dict | None = None,
    agents: tuple[str, ...] = ("a1",),
    time_zone: str = "UTC",
) -> dict:
    return {
        "format": "adhere-scenario/1",
        "management_unit": {"id": "mu", "time_zone": time_zone, "settings": settings or {}},
        "activity_codes": CODES,
        "agents": [{"id": agent} for agent in agents],
        "schedules": [
            {"agent_id": agent, "activities": activities}
            for agent, activities in (schedules or {}).items()
        ],
        "events": events or [],
        "explanations": explanations or [],
        "window": {"start": t(window[0]), "end": t(window[1])},
    }


def evaluate(**kwargs: Any) -> dict:
    return evaluate_document(scenario(**kwargs))


def agent(result: dict, agent_id: str = "a1") -> dict:
    (found,) = [a for a in result["agents"] if a["agent_id"] == agent_id]
    return found


def seg(start: str, end: str, *what: str | None) -> dict:
    """A segment: scheduled category, scheduled code, actual category, state, impact."""
    scheduled, code, actual, state, impact = what
    return {
        "start": t(start),
        "end": t(end),
        "scheduled_category": scheduled,
        "scheduled_activity_code_id": code,
        "actual_category": actual,
        "adherence_state": state,
        "impact": impact,
    }


def exc(start: str, end: str, duration: float, impact: str, severe: bool) -> dict:
    return {
        "start": t(start),
        "end": t(end),
        "duration_seconds": pytest.approx(duration, abs=1e-6),
        "impact": impact,
        "severe": severe,
    }


def states(**given: float) -> dict[str, float]:
    return {state: given.get(state, 0) for state in STATES}


# ---- a whole day, every metric -----------------------------------------------------------


def _normal_day() -> dict:
    return evaluate(
        schedules={
            "a1": [
                act("08:00:00", "09:00:00", "oq"),
                act("09:00:00", "09:15:00", "brk"),
                act("09:15:00", "10:00:00", "oq"),
                act("10:00:00", "10:30:00", "trn"),
                act("10:30:00", "11:00:00", "oq"),
            ]
        },
        events=[
            ev("08:00:00", "login", system_presence="OnQueue", routing_status="IDLE"),
            ev("08:20:00", "routing_status", routing_status="NOT_RESPONDING"),
            ev("08:25:00", "routing_status", routing_status="IDLE"),
            presence("08:50:00", "Break"),
            on_queue("09:15:30"),
            ev("09:40:00", "unknown"),
            ev("10:10:00", "state", system_presence="Available", routing_status="OFF_QUEUE"),
            on_queue("10:44:00", routing="INTERACTING"),
            ev("11:30:00", "logout"),
        ],
        explanations=[explanation("10:30:00", 10)],
        settings={"ignored_activity_categories": ["Training"]},
        window=("08:00:00", "12:00:00"),
    )


def test_normal_day_segments_are_maximal() -> None:
    # 08:00-08:50 stays one segment although routing goes NOT_RESPONDING and back.
    assert agent(_normal_day())["segments"] == [
        seg("08:00:00", "08:50:00", "OnQueueWork", "oq", "OnQueueWork", "InAdherence", "Neutral"),
        seg("08:50:00", "09:00:00", "OnQueueWork", "oq", "Break", "OutOfAdherence", "Negative"),
        seg("09:00:00", "09:15:00", "Break", "brk", "Break", "InAdherence", "Neutral"),
        seg("09:15:00", "09:15:30", "OnQueueWork", "oq", "Break", "OutOfAdherence", "Negative"),
        seg("09:15:30", "09:40:00", "OnQueueWork", "oq", "OnQueueWork", "InAdherence", "Neutral"),
        seg("09:40:00", "10:00:00", "OnQueueWork", "oq", "OnQueueWork", "Unknown", "Unknown"),
        seg("10:00:00", "10:10:00", "Training", "trn", "OnQueueWork", "Unknown", "Unknown"),
        seg("10:10:00", "10:30:00", "Training", "trn", "OffQueueWork", "Ignored", "Neutral"),
        seg("10:30:00", "10:40:00", "OnQueueWork", "oq", "OffQueueWork", "Explained", "Neutral"),
        seg(
            "10:40:00", "10:44:00", "OnQueueWork", "oq", "OffQueueWork", "OutOfAdherence",
            "Negative",
        ),
        seg("10:44:00", "11:00:00", "OnQueueWork", "oq", "OnQueueWork", "InAdherence", "Neutral"),
        seg("11:00:00", "11:30:00", "Unscheduled", None, "OnQueueWork", "Unscheduled", "Neutral"),
        seg("11:30:00", "12:00:00", "Unscheduled", None, "Offline", "Unscheduled", "Neutral"),
    ]  # fmt: skip


def test_normal_day_exceptions() -> None:
    # Runs: 08:50-09:00 (600 s, severe), 09:15-09:15:30 (30 s, below threshold),
    # 10:40-10:44 (240 s); the explained 10:30-10:40 is not part of the run.
    assert agent(_normal_day())["exceptions"] == [
        exc("08:50:00", "09:00:00", 600, "Negative", True),
        exc("10:40:00", "10:44:00", 240, "Negative", False),
    ]


NORMAL_DAY_METRICS = {
    "state_seconds": states(
        InAdherence=1200 + 300 + 1500 + 900 + 1470 + 960,
        OutOfAdherence=600 + 30 + 240,
        Unscheduled=3600,
        Ignored=1200,
        Explained=600,
        Unknown=1800,
    ),
    "adherence_schedule_seconds": 6330 + 870 + 600,
    "exception_seconds": 840,
    "adherence_percent": pytest.approx(100 * (1 - 840 / 7800)),
    # Scheduled on queue 3600 + 2700 + 1800, less the 1200 s of it that are Unknown.
    "conformance_schedule_seconds": 6900,
    # On queue and not NOT_RESPONDING: 08:00-08:20, 08:25-08:50, 09:15:30-09:40,
    # 10:44-11:00 and 11:00-11:30 (unscheduled, still counted).
    "conformance_actual_seconds": 1200 + 1500 + 1470 + 960 + 1800,
    "conformance_percent": pytest.approx(100 * 6930 / 6900),
    "impact_seconds": {"Positive": 0, "Negative": 870, "Neutral": 0},
}


def test_normal_day_metrics() -> None:
    assert agent(_normal_day())["metrics"] == NORMAL_DAY_METRICS


def test_normal_day_state_seconds_add_up_to_the_window() -> None:
    assert sum(agent(_normal_day())["metrics"]["state_seconds"].values()) == 4 * 3600


def test_normal_day_has_one_utc_day_and_totals_equal_the_only_agent() -> None:
    result = _normal_day()
    (day,) = agent(result)["days"]
    assert (day["date"], day["start"], day["end"]) == (DAY, t("08:00:00"), t("12:00:00"))
    assert day["metrics"] == NORMAL_DAY_METRICS
    assert result["totals"] == {"metrics": NORMAL_DAY_METRICS}
    assert result["format"] == "adhere-result/1"


def test_positive_and_neutral_impact_seconds() -> None:
    result = evaluate(
        schedules={"a1": [act("09:00:00", "09:10:00", "brk"), act("09:10:00", "09:20:00", "mtg")]},
        events=[on_queue("09:00:00"), presence("09:10:00", "Break"), ev("09:20:00", "logout")],
        window=("09:00:00", "09:30:00"),
    )
    metrics = agent(result)["metrics"]
    assert metrics == {
        "state_seconds": states(OutOfAdherence=1200, Unscheduled=600),
        "adherence_schedule_seconds": 1200,
        "exception_seconds": 1200,
        "adherence_percent": 0,
        "conformance_schedule_seconds": 0,
        "conformance_actual_seconds": 600,
        "conformance_percent": None,
        "impact_seconds": {"Positive": 600, "Negative": 0, "Neutral": 600},
    }
    # One run across the category change, never Negative, so Positive.
    assert agent(result)["exceptions"] == [exc("09:00:00", "09:20:00", 1200, "Positive", True)]


def test_percentages_are_null_when_their_denominator_is_zero() -> None:
    metrics = agent(evaluate(events=[on_queue("09:00:00")]))["metrics"]
    assert metrics["adherence_schedule_seconds"] == 0
    assert metrics["adherence_percent"] is None
    assert metrics["conformance_schedule_seconds"] == 0
    assert metrics["conformance_actual_seconds"] == 3600
    assert metrics["conformance_percent"] is None
    assert metrics["state_seconds"] == states(Unscheduled=3600)


def test_adherence_percent_counts_explained_seconds_in_its_denominator() -> None:
    # 09:00-09:10 Explained, 09:10-09:12 out (exception, 120 s), 09:12-10:00 in adherence.
    result = evaluate(
        schedules={"a1": [act("09:00:00", "10:00:00", "oq")]},
        events=[on_queue("09:12:00")],
        explanations=[explanation("09:00:00", 10)],
    )
    metrics = agent(result)["metrics"]
    assert metrics["state_seconds"] == states(Explained=600, OutOfAdherence=120, InAdherence=2880)
    assert metrics["adherence_schedule_seconds"] == 3600
    assert metrics["exception_seconds"] == 120
    assert metrics["adherence_percent"] == pytest.approx(100 * (1 - 120 / 3600))


def test_conformance_excludes_not_responding_and_unknown_and_ignored_seconds() -> None:
    result = evaluate(
        schedules={"a1": [act("09:00:00", "09:40:00", "oq"), act("09:40:00", "10:00:00", "mtg")]},
        events=[
            on_queue("09:00:00"),
            ev("09:10:00", "routing_status", routing_status="NOT_RESPONDING"),
            ev("09:20:00", "unknown"),
            ev("09:30:00", "routing_status", routing_status="INTERACTING"),
        ],
        settings={"ignored_activity_code_ids": ["mtg"]},
    )
    metrics = agent(result)["metrics"]
    # 09:00-09:30 InAdherence except 09:20-09:30 Unknown; 09:30-09:40 in; 09:40-10:00 ignored.
    assert metrics["state_seconds"] == states(InAdherence=1800, Unknown=600, Ignored=1200)
    assert metrics["conformance_schedule_seconds"] == 1800
    # 09:00-09:10 IDLE and 09:30-09:40 INTERACTING; not 09:10-09:20 (NOT_RESPONDING),
    # 09:20-09:30 (Unknown) nor 09:40-10:00 (Ignored, though on queue).
    assert metrics["conformance_actual_seconds"] == 1200
    assert metrics["conformance_percent"] == pytest.approx(100 * 1200 / 1800)
    # In adherence throughout: NOT_RESPONDING while OnQueue is on queue.
    assert metrics["exception_seconds"] == 0
    assert metrics["adherence_percent"] == 100


def test_totals_are_computed_from_summed_seconds_not_averaged_percentages() -> None:
    result = evaluate(
        agents=("a1", "a2"),
        schedules={
            "a1": [act("09:00:00", "10:00:00", "oq")],
            "a2": [act("09:00:00", "09:10:00", "oq")],
        },
        events=[on_queue("09:00:00", agent="a2"), ev("09:10:00", "logout", agent="a2")],
    )
    assert agent(result, "a1")["metrics"]["adherence_percent"] == 0
    assert agent(result, "a2")["metrics"]["adherence_percent"] == 100
    assert agent(result, "a1")["metrics"]["conformance_percent"] == 0
    assert agent(result, "a2")["metrics"]["conformance_percent"] == 100
    totals = result["totals"]["metrics"]
    assert totals["state_seconds"] == states(OutOfAdherence=3600, InAdherence=600, Unscheduled=3000)
    assert totals["adherence_schedule_seconds"] == 4200
    assert totals["exception_seconds"] == 3600
    assert totals["adherence_percent"] == pytest.approx(100 * (1 - 3600 / 4200))  # not 50
    assert totals["conformance_schedule_seconds"] == 4200
    assert totals["conformance_actual_seconds"] == 600
    assert totals["conformance_percent"] == pytest.approx(100 * 600 / 4200)  # not 50
    assert totals["impact_seconds"] == {"Positive": 0, "Negative": 3600, "Neutral": 0}
    assert set(result["totals"]) == {"metrics"}


def test_agents_appear_in_scenario_order() -> None:
    result = evaluate(agents=("zed", "amy", "mo"))
    assert [a["agent_id"] for a in result["agents"]] == ["zed", "amy", "mo"]


def test_adherence_target_percent_has_no_effect_on_computation() -> None:
    kwargs: dict[str, Any] = {
        "schedules": {"a1": [act("09:00:00", "10:00:00", "oq")]},
        "events": [on_queue("09:30:00")],
    }
    low = evaluate(settings={"adherence_target_percent": 10}, **kwargs)
    high = evaluate(settings={"adherence_target_percent": 99}, **kwargs)
    assert low == high
    assert agent(low)["metrics"]["adherence_percent"] == 50


# ---- segments ----------------------------------------------------------------------------


def test_segments_are_clipped_to_the_window() -> None:
    result = evaluate(schedules={"a1": [act("08:30:00", "09:30:00", "oq")]})
    assert agent(result)["segments"] == [
        seg("09:00:00", "09:30:00", "OnQueueWork", "oq", "Offline", "OutOfAdherence", "Negative"),
        seg("09:30:00", "10:00:00", "Unscheduled", None, "Offline", "Unscheduled", "Neutral"),
    ]


def test_segments_are_clipped_at_the_window_end_too() -> None:
    result = evaluate(
        schedules={"a1": [act("09:30:00", "11:00:00", "oq")]}, events=[on_queue("09:45:00")]
    )
    assert agent(result)["segments"] == [
        seg("09:00:00", "09:30:00", "Unscheduled", None, "Offline", "Unscheduled", "Neutral"),
        seg("09:30:00", "09:45:00", "OnQueueWork", "oq", "Offline", "OutOfAdherence", "Negative"),
        seg("09:45:00", "10:00:00", "OnQueueWork", "oq", "OnQueueWork", "InAdherence", "Neutral"),
    ]


def test_touching_activities_of_same_code_make_one_segment() -> None:
    result = evaluate(
        schedules={"a1": [act("09:00:00", "09:20:00", "oq"), act("09:20:00", "10:00:00", "oq")]},
        events=[on_queue("08:00:00"), on_queue("09:30:00", routing="INTERACTING")],
    )
    assert agent(result)["segments"] == [
        seg("09:00:00", "10:00:00", "OnQueueWork", "oq", "OnQueueWork", "InAdherence", "Neutral")
    ]


def test_events_that_change_nothing_visible_do_not_split_segments() -> None:
    result = evaluate(
        events=[
            presence("09:00:00", "Break"),
            presence("09:10:00", "Break"),
            ev("09:20:00", "state", secondary_presence_id="unmatched"),
        ]
    )
    assert agent(result)["segments"] == [
        seg("09:00:00", "10:00:00", "Unscheduled", None, "Break", "Unscheduled", "Neutral")
    ]


# ---- out-of-adherence runs and exceptions ----------------------------------------------------


def _merged_run(window: tuple[str, str]) -> dict:
    """One run 09:00-09:25: Neutral (Meeting vs OffQueueWork), Positive (Break vs on queue),
    Negative (on queue vs Break)."""
    return agent(
        evaluate(
            schedules={
                "a1": [
                    act("09:00:00", "09:10:00", "mtg"),
                    act("09:10:00", "09:20:00", "brk"),
                    act("09:20:00", "10:00:00", "oq"),
                ]
            },
            events=[
                ev("09:00:00", "login"),
                ev("09:10:00", "presence", system_presence="OnQueue"),
                presence("09:20:00", "Break"),
                on_queue("09:25:00"),
            ],
            window=window,
        )
    )


def test_run_is_merged_across_category_changes() -> None:
    result = _merged_run(("09:00:00", "10:00:00"))
    assert [s["adherence_state"] for s in result["segments"]] == [
        "OutOfAdherence",
        "OutOfAdherence",
        "OutOfAdherence",
        "InAdherence",
    ]
    assert [s["impact"] for s in result["segments"][:3]] == ["Neutral", "Positive", "Negative"]
    assert result["exceptions"] == [exc("09:00:00", "09:25:00", 1500, "Negative", True)]
    assert result["metrics"]["impact_seconds"] == {
        "Positive": 600,
        "Negative": 300,
        "Neutral": 600,
    }


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (("09:00:00", "09:10:00"), exc("09:00:00", "09:10:00", 600, "Neutral", True)),
        (("09:00:00", "09:20:00"), exc("09:00:00", "09:20:00", 1200, "Positive", True)),
        (("09:05:00", "09:15:00"), exc("09:05:00", "09:15:00", 600, "Positive", True)),
        (("09:10:00", "09:30:00"), exc("09:10:00", "09:25:00", 900, "Negative", True)),
        (("09:22:00", "09:30:00"), exc("09:22:00", "09:25:00", 180, "Negative", True)),
        (("09:12:00", "09:13:00"), exc("09:12:00", "09:13:00", 60, "Positive", True)),
    ],
)
def test_exception_impact_is_judged_on_the_clipped_part(
    window: tuple[str, str], expected: dict
) -> None:
    assert _merged_run(window)["exceptions"] == [expected]


def _run_from_nine(login: str, settings: dict | None = None) -> dict:
    """Scheduled on queue from 09:00, offline until `login`: one run 09:00-`login`."""
    return agent(
        evaluate(
            schedules={"a1": [act("09:00:00", "10:00:00", "oq")]},
            events=[on_queue(login)],
            settings=settings,
        )
    )


def test_run_of_exactly_the_threshold_is_an_exception() -> None:
    result = _run_from_nine("09:01:00")
    assert result["exceptions"] == [exc("09:00:00", "09:01:00", 60, "Negative", False)]
    assert result["metrics"]["exception_seconds"] == 60


def test_run_just_below_the_threshold_is_not_an_exception() -> None:
    result = _run_from_nine("09:00:59.999")
    assert result["exceptions"] == []
    assert result["metrics"]["exception_seconds"] == 0
    assert result["metrics"]["state_seconds"]["OutOfAdherence"] == pytest.approx(59.999)
    assert result["metrics"]["adherence_percent"] == 100


def test_run_of_exactly_the_severe_threshold_is_severe() -> None:
    result = _run_from_nine("09:05:00")
    assert result["exceptions"] == [exc("09:00:00", "09:05:00", 300, "Negative", True)]


def test_run_just_below_the_severe_threshold_is_not_severe() -> None:
    result = _run_from_nine("09:04:59.999")
    assert result["exceptions"] == [exc("09:00:00", "09:04:59.999", 299.999, "Negative", False)]
    assert result["metrics"]["exception_seconds"] == pytest.approx(299.999)


def test_exception_threshold_setting() -> None:
    settings = {"adherence_exception_threshold_seconds": 120}
    assert _run_from_nine("09:01:59.999", settings)["exceptions"] == []
    assert _run_from_nine("09:02:00", settings)["exceptions"] == [
        exc("09:00:00", "09:02:00", 120, "Negative", False)
    ]


def test_fractional_exception_threshold_setting() -> None:
    settings = {"adherence_exception_threshold_seconds": 0.5}
    assert _run_from_nine("09:00:00.499", settings)["exceptions"] == []
    assert _run_from_nine("09:00:00.5", settings)["exceptions"] == [
        exc("09:00:00", "09:00:00.5", 0.5, "Negative", False)
    ]


def test_severe_threshold_setting() -> None:
    settings = {"severe_alert_threshold_minutes": 1}
    assert _run_from_nine("09:00:59.999", settings)["exceptions"] == []
    assert _run_from_nine("09:01:00", settings)["exceptions"] == [
        exc("09:00:00", "09:01:00", 60, "Negative", True)
    ]
    settings = {"severe_alert_threshold_minutes": 0.5, "adherence_exception_threshold_seconds": 10}
    assert _run_from_nine("09:00:29.999", settings)["exceptions"] == [
        exc("09:00:00", "09:00:29.999", 29.999, "Negative", False)
    ]
    assert _run_from_nine("09:00:30", settings)["exceptions"] == [
        exc("09:00:00", "09:00:30", 30, "Negative", True)
    ]


def test_run_crossing_the_window_start_is_judged_whole_and_reported_clipped() -> None:
    # Run 08:59:30-09:00:40: 70 s in all, 40 s in the window.
    result = agent(
        evaluate(
            schedules={"a1": [act("08:59:30", "10:00:00", "oq")]},
            events=[on_queue("09:00:40")],
        )
    )
    assert result["exceptions"] == [exc("09:00:00", "09:00:40", 40, "Negative", False)]
    assert result["metrics"]["exception_seconds"] == 40
    assert result["metrics"]["state_seconds"]["OutOfAdherence"] == 40


def test_run_crossing_the_window_end_is_judged_whole_and_reported_clipped() -> None:
    # Run 09:59:30-10:00:45: 75 s in all, 30 s in the window.
    result = agent(
        evaluate(
            schedules={"a1": [act("09:00:00", "11:00:00", "oq")]},
            events=[on_queue("09:00:00"), presence("09:59:30", "Break"), on_queue("10:00:45")],
        )
    )
    assert result["exceptions"] == [exc("09:59:30", "10:00:00", 30, "Negative", False)]
    assert result["metrics"]["exception_seconds"] == 30


def test_severity_is_judged_on_the_whole_run() -> None:
    # Run 08:56-09:01: 300 s in all, 60 s in the window.
    result = agent(
        evaluate(
            schedules={"a1": [act("08:56:00", "10:00:00", "oq")]},
            events=[on_queue("09:01:00")],
        )
    )
    assert result["exceptions"] == [exc("09:00:00", "09:01:00", 60, "Negative", True)]


def test_run_covering_the_whole_window_is_clipped_at_both_ends() -> None:
    result = agent(
        evaluate(
            schedules={"a1": [act("08:00:00", "11:00:00", "oq")]},
            window=("09:00:00", "09:00:10"),
        )
    )
    assert result["exceptions"] == [exc("09:00:00", "09:00:10", 10, "Negative", True)]
    assert result["metrics"]["exception_seconds"] == 10
    assert result["metrics"]["adherence_percent"] == 0


def test_run_ending_at_the_window_start_is_not_reported() -> None:
    result = agent(
        evaluate(
            schedules={"a1": [act("08:50:00", "09:00:00", "oq")]},
            events=[ev("09:30:00", "login")],
        )
    )
    assert result["exceptions"] == []
    assert result["metrics"]["exception_seconds"] == 0


def test_run_starting_at_the_window_end_is_not_reported() -> None:
    result = agent(evaluate(schedules={"a1": [act("10:00:00", "11:00:00", "oq")]}))
    assert result["exceptions"] == []
    assert result["metrics"]["state_seconds"] == states(Unscheduled=3600)


def test_several_exceptions_are_reported_in_order_of_start() -> None:
    result = agent(
        evaluate(
            schedules={"a1": [act("09:00:00", "10:00:00", "oq")]},
            events=[
                on_queue("09:02:00"),
                presence("09:10:00", "Meal"),
                on_queue("09:10:30"),
                presence("09:30:00", "Away"),
                on_queue("09:40:00"),
            ],
        )
    )
    assert result["exceptions"] == [
        exc("09:00:00", "09:02:00", 120, "Negative", False),
        exc("09:30:00", "09:40:00", 600, "Negative", True),
    ]
    assert result["metrics"]["exception_seconds"] == 720
    assert result["metrics"]["state_seconds"] == states(OutOfAdherence=750, InAdherence=2850)
    assert result["metrics"]["adherence_percent"] == pytest.approx(100 * (1 - 720 / 3600))


def test_unknown_and_explained_split_out_of_adherence_runs() -> None:
    # Out 09:00-09:00:40, Unknown 09:00:40-09:01, out 09:01-09:01:40, Explained
    # 09:01:40-09:02:40, out 09:02:40-09:03:20, then in adherence: three runs of 40 s.
    result = agent(
        evaluate(
            schedules={"a1": [act("09:00:00", "10:00:00", "oq")]},
            events=[
                presence("09:00:00", "Break"),
                ev("09:00:40", "unknown"),
                presence("09:01:00", "Break"),
                on_queue("09:03:20"),
            ],
            explanations=[explanation("09:01:40", 1)],
        )
    )
    assert result["exceptions"] == []
    assert result["metrics"]["state_seconds"] == states(
        OutOfAdherence=120, Unknown=20, Explained=60, InAdherence=3400
    )
    assert result["metrics"]["exception_seconds"] == 0


# ---- open runs at the end of the timeline ----------------------------------------------------


_OUTSIDE_SHIFT = {"working_outside_shift_is_exception": True}


def test_open_run_is_measured_to_the_window_end() -> None:
    # On queue while unscheduled from 09:00 on: the run never closes; it lasts to 09:05.
    result = agent(
        evaluate(
            events=[on_queue("09:00:00")], settings=_OUTSIDE_SHIFT, window=("09:00:00", "09:05:00")
        )
    )
    assert result["exceptions"] == [exc("09:00:00", "09:05:00", 300, "Positive", True)]


def test_open_run_is_measured_to_the_last_event_after_the_window() -> None:
    result = agent(
        evaluate(
            events=[on_queue("09:00:00"), ev("09:01:30", "routing_status", routing_status="IDLE")],
            settings=_OUTSIDE_SHIFT,
            window=("09:00:00", "09:00:30"),
        )
    )
    assert result["exceptions"] == [exc("09:00:00", "09:00:30", 30, "Positive", False)]


def test_open_run_without_later_input_ends_at_the_window_end() -> None:
    result = agent(
        evaluate(
            events=[on_queue("09:00:00")],
            settings=_OUTSIDE_SHIFT,
            window=("09:00:00", "09:00:30"),
        )
    )
    assert result["exceptions"] == []
    assert result["metrics"]["state_seconds"]["OutOfAdherence"] == 30


def test_open_run_is_measured_to_the_end_of_a_later_explanation() -> None:
    # A pending explanation changes no adherence, but its end extends the timeline.
    result = agent(
        evaluate(
            events=[on_queue("09:00:00")],
            explanations=[explanation("09:00:00", 2, status="Pending")],
            settings=_OUTSIDE_SHIFT,
            window=("09:00:00", "09:00:30"),
        )
    )
    assert result["exceptions"] == [exc("09:00:00", "09:00:30", 30, "Positive", False)]


def test_open_run_is_measured_to_the_end_of_a_later_activity() -> None:
    # Unscheduled on queue (Positive), scheduled Break on queue (Positive) from 09:00:10 to
    # 09:01:10, then unscheduled on queue again: one run up to 09:01:10 at least = 70 s.
    result = agent(
        evaluate(
            schedules={"a1": [act("09:00:10", "09:01:10", "brk")]},
            events=[on_queue("09:00:00")],
            settings=_OUTSIDE_SHIFT,
            window=("09:00:00", "09:00:05"),
        )
    )
    assert result["exceptions"] == [exc("09:00:00", "09:00:05", 5, "Positive", False)]

"""§3 (actual category) and §4 (adherence state and impact) of the adherence rules.

Each case is a one-minute window in which the agent's state and the schedule are constant; the
single segment evaluate_document reports carries the actual category, state and impact.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from adhere.service.evaluation import evaluate_document

DAY = "2026-06-02"

CODES: list[dict[str, Any]] = [
    {"id": "oq", "category": "OnQueueWork"},
    {"id": "brk", "category": "Break", "secondary_presence_id": "sp-brk"},
    {"id": "meal", "category": "Meal"},
    {"id": "mtg", "category": "Meeting"},
    {"id": "off", "category": "OffQueueWork"},
    {"id": "pto", "category": "TimeOff"},
    {"id": "trn", "category": "Training"},
    {"id": "un", "category": "Unavailable"},
]
CODE_OF = {
    "OnQueueWork": "oq",
    "Break": "brk",
    "Meal": "meal",
    "Meeting": "mtg",
    "OffQueueWork": "off",
    "TimeOff": "pto",
    "Training": "trn",
    "Unavailable": "un",
}
NON_ON_QUEUE_WORKING = ("Break", "Meal", "Meeting", "Training", "OffQueueWork", "Unavailable")

# A presence (with no secondary, routing OFF_QUEUE) that gives each actual category by default.
PRESENCE_FOR = {
    "OnQueueWork": "OnQueue",
    "Break": "Break",
    "Meal": "Meal",
    "Meeting": "Meeting",
    "OffQueueWork": "Available",
    "Training": "Training",
    "Unavailable": "Away",
    "Offline": "Offline",
}


def t(clock: str) -> str:
    return f"{DAY}T{clock}Z"


def judge(
    *,
    presence: str | None = "Offline",
    routing: str | None = None,
    secondary: str | None = None,
    code: str | None = None,
    settings: dict | None = None,
    codes: list[dict] | None = None,
    unknown: bool = False,
    explanation: str | None = None,
) -> dict[str, Any]:
    """The one segment of [09:00, 09:01) for an agent in the given state, scheduled `code`
    (None: unscheduled) over [09:00, 10:00), with an explanation of status `explanation`
    over [09:00, 10:00)."""
    fields = {"system_presence": presence, "routing_status": routing}
    fields["secondary_presence_id"] = secondary
    events: list[dict] = [
        {
            "id": "s",
            "agent_id": "a1",
            "time": t("09:00:00"),
            "kind": "state",
            **{k: v for k, v in fields.items() if v is not None},
        }
    ]
    if unknown:
        events.append({"id": "u", "agent_id": "a1", "time": t("09:00:00"), "kind": "unknown"})
    activities = (
        []
        if code is None
        else [{"start": t("09:00:00"), "length_minutes": 60, "activity_code_id": code}]
    )
    explanations = (
        []
        if explanation is None
        else [
            {
                "id": "x",
                "agent_id": "a1",
                "start": t("09:00:00"),
                "length_minutes": 60,
                "type": "Late",
                "status": explanation,
            }
        ]
    )
    document = {
        "format": "adhere-scenario/1",
        "management_unit": {"id": "mu", "time_zone": "UTC", "settings": settings or {}},
        "activity_codes": CODES if codes is None else codes,
        "agents": [{"id": "a1"}],
        "schedules": [{"agent_id": "a1", "activities": activities}],
        "events": events,
        "explanations": explanations,
        "window": {"start": t("09:00:00"), "end": t("09:01:00")},
    }
    (segment,) = evaluate_document(document)["agents"][0]["segments"]
    assert (segment["start"], segment["end"]) == (t("09:00:00"), t("09:01:00"))
    return segment


def verdict(segment: dict) -> tuple[str, str]:
    return segment["adherence_state"], segment["impact"]


# ==== §3 actual category ===================================================================


# ---- rule 1 ----------------------------------------------------------------------------


@pytest.mark.parametrize("routing", ["OFF_QUEUE", "IDLE", "INTERACTING", "COMMUNICATING"])
def test_rule1_offline_presence_is_offline_whatever_the_routing(routing: str) -> None:
    assert judge(presence="Offline", routing=routing)["actual_category"] == "Offline"


def test_rule1_offline_beats_secondary_presence() -> None:
    assert judge(presence="Offline", secondary="sp-brk")["actual_category"] == "Offline"


# ---- rule 2 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "routing", ["OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"]
)
def test_rule2_on_queue_presence_is_on_queue_work_whatever_the_routing(routing: str) -> None:
    assert judge(presence="OnQueue", routing=routing)["actual_category"] == "OnQueueWork"


def test_rule2_on_queue_not_responding_is_still_in_adherence_to_on_queue() -> None:
    segment = judge(presence="OnQueue", routing="NOT_RESPONDING", code="oq")
    assert segment["actual_category"] == "OnQueueWork"
    assert verdict(segment) == ("InAdherence", "Neutral")


@pytest.mark.parametrize("routing", ["IDLE", "INTERACTING", "COMMUNICATING"])
@pytest.mark.parametrize("presence", ["Available", "Away", "Busy", "Idle", "Meal", "Break"])
def test_rule2_working_routing_under_another_presence_is_on_queue_work(
    presence: str, routing: str
) -> None:
    assert judge(presence=presence, routing=routing)["actual_category"] == "OnQueueWork"


def test_rule2_not_responding_without_on_queue_presence_is_not_on_queue() -> None:
    assert judge(presence="Available", routing="NOT_RESPONDING")["actual_category"] == (
        "OffQueueWork"
    )


def test_rule2_beats_secondary_presence() -> None:
    segment = judge(presence="Away", routing="INTERACTING", secondary="sp-brk")
    assert segment["actual_category"] == "OnQueueWork"
    segment = judge(presence="OnQueue", secondary="sp-brk")
    assert segment["actual_category"] == "OnQueueWork"


# ---- rule 3 ----------------------------------------------------------------------------


def test_rule3_secondary_presence_gives_the_code_category() -> None:
    # By rule 4 Away would be Unavailable; the secondary presence of `brk` makes it Break.
    assert judge(presence="Away", secondary="sp-brk")["actual_category"] == "Break"


def test_rule3_unmatched_secondary_presence_falls_through_to_rule4() -> None:
    assert judge(presence="Away", secondary="sp-nothing")["actual_category"] == "Unavailable"


def test_rule3_first_listed_code_wins_when_several_share_a_secondary_presence() -> None:
    codes = [
        {"id": "oq", "category": "OnQueueWork"},
        {"id": "m", "category": "Meeting", "secondary_presence_id": "sp-x"},
        {"id": "tr", "category": "Training", "secondary_presence_id": "sp-x"},
    ]
    assert judge(presence="Busy", secondary="sp-x", codes=codes)["actual_category"] == "Meeting"
    codes[1], codes[2] = codes[2], codes[1]
    assert judge(presence="Busy", secondary="sp-x", codes=codes)["actual_category"] == "Training"


def test_rule3_skips_on_queue_codes_sharing_the_secondary_presence() -> None:
    codes = [
        {"id": "oq", "category": "OnQueueWork", "secondary_presence_id": "sp-x"},
        {"id": "tr", "category": "Training", "secondary_presence_id": "sp-x"},
    ]
    assert judge(presence="Busy", secondary="sp-x", codes=codes)["actual_category"] == "Training"


def test_rule3_on_queue_code_secondary_presence_does_not_make_on_queue_work() -> None:
    codes = [{"id": "oq", "category": "OnQueueWork", "secondary_presence_id": "sp-q"}]
    segment = judge(presence="Available", secondary="sp-q", codes=codes)
    assert segment["actual_category"] == "OffQueueWork"


# ---- rule 4 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("presence", "category"),
    [
        ("Available", "OffQueueWork"),
        ("Busy", "OffQueueWork"),
        ("Away", "Unavailable"),
        ("Idle", "Unavailable"),
        ("Break", "Break"),
        ("Meal", "Meal"),
        ("Meeting", "Meeting"),
        ("Training", "Training"),
    ],
)
def test_rule4_default_presence_categories(presence: str, category: str) -> None:
    assert judge(presence=presence)["actual_category"] == category


def test_rule4_partial_presence_categories_are_merged_over_the_defaults() -> None:
    settings = {"presence_categories": {"Away": "Break"}}
    assert judge(presence="Away", settings=settings)["actual_category"] == "Break"
    # Presences not in the partial table keep their defaults.
    assert judge(presence="Idle", settings=settings)["actual_category"] == "Unavailable"
    assert judge(presence="Busy", settings=settings)["actual_category"] == "OffQueueWork"
    assert judge(presence="Meal", settings=settings)["actual_category"] == "Meal"


@pytest.mark.parametrize("key", ["AWAY", "away", " a_w-a y"])
def test_rule4_presence_categories_keys_are_matched_like_presence_names(key: str) -> None:
    settings = {"presence_categories": {key: "Training"}}
    assert judge(presence="Away", settings=settings)["actual_category"] == "Training"


def test_rule4_does_not_override_rules_1_to_3() -> None:
    settings = {"presence_categories": {"Away": "Meeting", "Available": "Meeting"}}
    assert judge(presence="Away", secondary="sp-brk", settings=settings)["actual_category"] == (
        "Break"
    )
    assert judge(presence="Available", routing="IDLE", settings=settings)["actual_category"] == (
        "OnQueueWork"
    )


# ==== §4 adherence state and impact ========================================================


# ---- rule 1: unknown -----------------------------------------------------------------------


def test_rule1_unknown_state_is_unknown_with_unknown_impact() -> None:
    segment = judge(presence="Break", code="oq", unknown=True)
    assert segment["actual_category"] == "Break"
    assert verdict(segment) == ("Unknown", "Unknown")


def test_rule1_unknown_beats_ignored_and_explained() -> None:
    settings = {"ignored_activity_code_ids": ["oq"]}
    segment = judge(presence="Break", code="oq", unknown=True, settings=settings)
    assert verdict(segment) == ("Unknown", "Unknown")
    segment = judge(presence="Break", code="oq", unknown=True, explanation="Approved")
    assert verdict(segment) == ("Unknown", "Unknown")


def test_rule1_unknown_while_unscheduled_is_unknown() -> None:
    assert verdict(judge(presence="Available", unknown=True)) == ("Unknown", "Unknown")


# ---- rule 2: ignored ---------------------------------------------------------------------


def test_rule2_ignored_activity_code_id() -> None:
    settings = {"ignored_activity_code_ids": ["mtg"]}
    segment = judge(presence="Offline", code="mtg", settings=settings)
    assert segment["scheduled_activity_code_id"] == "mtg"
    assert verdict(segment) == ("Ignored", "Neutral")
    # Another code of the same category is not ignored.
    codes = [*CODES, {"id": "mtg2", "category": "Meeting"}]
    other = judge(presence="Offline", code="mtg2", settings=settings, codes=codes)
    assert verdict(other) == ("OutOfAdherence", "Neutral")


@pytest.mark.parametrize("category", ["OnQueueWork", "Meeting", "TimeOff"])
def test_rule2_ignored_activity_category(category: str) -> None:
    settings = {"ignored_activity_categories": [category]}
    segment = judge(presence="Training", code=CODE_OF[category], settings=settings)
    assert verdict(segment) == ("Ignored", "Neutral")


def test_rule2_ignored_category_does_not_ignore_other_categories() -> None:
    settings = {"ignored_activity_categories": ["Meeting"]}
    segment = judge(presence="Break", code="oq", settings=settings)
    assert verdict(segment) == ("OutOfAdherence", "Negative")


def test_rule2_ignored_when_it_would_have_been_in_adherence_too() -> None:
    settings = {"ignored_activity_categories": ["OnQueueWork"]}
    assert verdict(judge(presence="OnQueue", code="oq", settings=settings)) == (
        "Ignored",
        "Neutral",
    )


def test_rule2_ignored_beats_approved_explanation() -> None:
    settings = {"ignored_activity_code_ids": ["oq"]}
    segment = judge(presence="Break", code="oq", settings=settings, explanation="Approved")
    assert verdict(segment) == ("Ignored", "Neutral")


# ---- rule 3: explained ---------------------------------------------------------------------


def test_rule3_approved_explanation_turns_out_of_adherence_into_explained() -> None:
    segment = judge(presence="Break", code="oq", explanation="Approved")
    assert segment["actual_category"] == "Break"
    assert verdict(segment) == ("Explained", "Neutral")


@pytest.mark.parametrize("status", ["Pending", "Denied"])
def test_rule3_only_approved_explanations_count(status: str) -> None:
    segment = judge(presence="Break", code="oq", explanation=status)
    assert verdict(segment) == ("OutOfAdherence", "Negative")


def test_rule3_explanation_does_not_change_in_adherence() -> None:
    segment = judge(presence="OnQueue", code="oq", explanation="Approved")
    assert verdict(segment) == ("InAdherence", "Neutral")


def test_rule3_explanation_does_not_change_unscheduled() -> None:
    segment = judge(presence="OnQueue", explanation="Approved")
    assert verdict(segment) == ("Unscheduled", "Neutral")


def test_rule3_explains_working_outside_shift_exception() -> None:
    settings = {"working_outside_shift_is_exception": True}
    segment = judge(presence="OnQueue", settings=settings, explanation="Approved")
    assert verdict(segment) == ("Explained", "Neutral")


def test_rule3_explanation_covers_a_half_open_interval() -> None:
    document = {
        "format": "adhere-scenario/1",
        "management_unit": {"id": "mu", "time_zone": "UTC"},
        "activity_codes": CODES,
        "agents": [{"id": "a1"}],
        "schedules": [
            {
                "agent_id": "a1",
                "activities": [
                    {"start": t("09:00:00"), "length_minutes": 60, "activity_code_id": "oq"}
                ],
            }
        ],
        "events": [],
        "explanations": [
            {
                "id": "x",
                "agent_id": "a1",
                "start": t("09:10:00"),
                "length_minutes": 5,
                "type": "Late",
                "status": "Approved",
            }
        ],
        "window": {"start": t("09:00:00"), "end": t("09:30:00")},
    }
    segments = evaluate_document(document)["agents"][0]["segments"]
    assert [(s["start"], s["end"], s["adherence_state"]) for s in segments] == [
        (t("09:00:00"), t("09:10:00"), "OutOfAdherence"),
        (t("09:10:00"), t("09:15:00"), "Explained"),
        (t("09:15:00"), t("09:30:00"), "OutOfAdherence"),
    ]


# ---- rule 4: unscheduled -------------------------------------------------------------------


@pytest.mark.parametrize("presence", ["OnQueue", "Available", "Break", "Offline"])
def test_rule4_unscheduled_by_default(presence: str) -> None:
    segment = judge(presence=presence)
    assert segment["scheduled_category"] == "Unscheduled"
    assert segment["scheduled_activity_code_id"] is None
    assert verdict(segment) == ("Unscheduled", "Neutral")


def test_rule4_working_outside_shift_is_exception_makes_on_queue_out_of_adherence() -> None:
    settings = {"working_outside_shift_is_exception": True}
    assert verdict(judge(presence="OnQueue", settings=settings)) == ("OutOfAdherence", "Positive")
    # Working on queue by routing under another presence counts as on-queue work too.
    segment = judge(presence="Away", routing="INTERACTING", settings=settings)
    assert verdict(segment) == ("OutOfAdherence", "Positive")


@pytest.mark.parametrize("presence", ["Available", "Break", "Offline", "Away"])
def test_rule4_working_outside_shift_only_concerns_on_queue_work(presence: str) -> None:
    settings = {"working_outside_shift_is_exception": True}
    assert verdict(judge(presence=presence, settings=settings)) == ("Unscheduled", "Neutral")


# ---- rule 5: scheduled on queue ----------------------------------------------------------


def test_rule5_on_queue_work_is_in_adherence_to_on_queue() -> None:
    assert verdict(judge(presence="OnQueue", routing="IDLE", code="oq")) == (
        "InAdherence",
        "Neutral",
    )


@pytest.mark.parametrize("presence", ["Available", "Away", "Break", "Meal", "Offline"])
def test_rule5_anything_else_is_out_of_adherence_with_negative_impact(presence: str) -> None:
    assert verdict(judge(presence=presence, code="oq")) == ("OutOfAdherence", "Negative")


def test_rule5_beats_offline_adherent_categories() -> None:
    settings = {"offline_adherent_categories": ["OnQueueWork", "Break"]}
    assert verdict(judge(presence="Offline", code="oq", settings=settings)) == (
        "OutOfAdherence",
        "Negative",
    )


def test_rule5_beats_non_on_queue_equivalence() -> None:
    settings = {"non_on_queue_activities_equivalent": True}
    assert verdict(judge(presence="Available", code="oq", settings=settings)) == (
        "OutOfAdherence",
        "Negative",
    )


# ---- rule 6: offline -----------------------------------------------------------------------


@pytest.mark.parametrize("category", ["TimeOff", "Meal", "Break"])
def test_rule6_offline_is_in_adherence_for_default_offline_adherent_categories(
    category: str,
) -> None:
    assert verdict(judge(presence="Offline", code=CODE_OF[category])) == (
        "InAdherence",
        "Neutral",
    )


@pytest.mark.parametrize("category", ["Meeting", "Training", "OffQueueWork", "Unavailable"])
def test_rule6_offline_is_out_of_adherence_for_other_categories(category: str) -> None:
    assert verdict(judge(presence="Offline", code=CODE_OF[category])) == (
        "OutOfAdherence",
        "Neutral",
    )


def test_rule6_offline_adherent_categories_setting_replaces_the_default() -> None:
    settings = {"offline_adherent_categories": ["Meeting"]}
    assert verdict(judge(presence="Offline", code="mtg", settings=settings)) == (
        "InAdherence",
        "Neutral",
    )
    assert verdict(judge(presence="Offline", code="brk", settings=settings)) == (
        "OutOfAdherence",
        "Neutral",
    )


def test_rule6_empty_offline_adherent_categories() -> None:
    settings = {"offline_adherent_categories": []}
    assert verdict(judge(presence="Offline", code="pto", settings=settings)) == (
        "OutOfAdherence",
        "Neutral",
    )


def test_rule6_offline_is_not_a_working_category_for_equivalence() -> None:
    settings = {"non_on_queue_activities_equivalent": True}
    assert verdict(judge(presence="Offline", code="mtg", settings=settings)) == (
        "OutOfAdherence",
        "Neutral",
    )


# ---- rule 7: everything else -------------------------------------------------------------


@pytest.mark.parametrize("category", NON_ON_QUEUE_WORKING)
def test_rule7_same_category_is_in_adherence(category: str) -> None:
    segment = judge(presence=PRESENCE_FOR[category], code=CODE_OF[category])
    assert segment["actual_category"] == category
    assert verdict(segment) == ("InAdherence", "Neutral")


def test_rule7_time_off_in_adherence_when_actual_is_time_off() -> None:
    settings = {"presence_categories": {"Away": "TimeOff"}}
    segment = judge(presence="Away", code="pto", settings=settings)
    assert segment["actual_category"] == "TimeOff"
    assert verdict(segment) == ("InAdherence", "Neutral")


_DIFFERENT_PAIRS = [(s, a) for s, a in itertools.product(NON_ON_QUEUE_WORKING, repeat=2) if s != a]


@pytest.mark.parametrize(("scheduled", "actual"), _DIFFERENT_PAIRS)
def test_rule7_different_non_on_queue_categories_are_out_of_adherence_by_default(
    scheduled: str, actual: str
) -> None:
    segment = judge(presence=PRESENCE_FOR[actual], code=CODE_OF[scheduled])
    assert segment["actual_category"] == actual
    assert verdict(segment) == ("OutOfAdherence", "Neutral")


@pytest.mark.parametrize(("scheduled", "actual"), _DIFFERENT_PAIRS)
def test_rule7_non_on_queue_activities_equivalent_satisfies_any_other(
    scheduled: str, actual: str
) -> None:
    settings = {"non_on_queue_activities_equivalent": True}
    segment = judge(presence=PRESENCE_FOR[actual], code=CODE_OF[scheduled], settings=settings)
    assert verdict(segment) == ("InAdherence", "Neutral")


@pytest.mark.parametrize("equivalent", [False, True])
def test_rule7_time_off_is_not_satisfied_by_working_categories(equivalent: bool) -> None:
    settings = {"non_on_queue_activities_equivalent": equivalent}
    assert verdict(judge(presence="Break", code="pto", settings=settings)) == (
        "OutOfAdherence",
        "Neutral",
    )


@pytest.mark.parametrize("equivalent", [False, True])
def test_rule7_time_off_actual_does_not_satisfy_working_categories(equivalent: bool) -> None:
    settings = {
        "non_on_queue_activities_equivalent": equivalent,
        "presence_categories": {"Away": "TimeOff"},
    }
    assert verdict(judge(presence="Away", code="brk", settings=settings)) == (
        "OutOfAdherence",
        "Neutral",
    )


@pytest.mark.parametrize("equivalent", [False, True])
@pytest.mark.parametrize("category", [*NON_ON_QUEUE_WORKING, "TimeOff"])
def test_rule7_on_queue_work_when_not_scheduled_on_queue_is_positive(
    category: str, equivalent: bool
) -> None:
    settings = {"non_on_queue_activities_equivalent": equivalent}
    segment = judge(presence="OnQueue", code=CODE_OF[category], settings=settings)
    assert verdict(segment) == ("OutOfAdherence", "Positive")


# ---- impact --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({"presence": "OnQueue", "code": "brk"}, ("OutOfAdherence", "Positive")),
        ({"presence": "Break", "code": "oq"}, ("OutOfAdherence", "Negative")),
        ({"presence": "Break", "code": "mtg"}, ("OutOfAdherence", "Neutral")),
        ({"presence": "Offline", "code": "trn"}, ("OutOfAdherence", "Neutral")),
        ({"presence": "Break", "code": "oq", "unknown": True}, ("Unknown", "Unknown")),
        ({"presence": "Break", "code": "oq", "explanation": "Approved"}, ("Explained", "Neutral")),
        ({"presence": "OnQueue", "code": "oq"}, ("InAdherence", "Neutral")),
        ({"presence": "OnQueue"}, ("Unscheduled", "Neutral")),
        (
            {"presence": "Break", "code": "oq", "settings": {"ignored_activity_code_ids": ["oq"]}},
            ("Ignored", "Neutral"),
        ),
    ],
)
def test_impact(case: dict, expected: tuple[str, str]) -> None:
    assert verdict(judge(**case)) == expected


def test_segment_reports_scheduled_category_and_code() -> None:
    segment = judge(presence="Break", code="oq")
    assert segment["scheduled_category"] == "OnQueueWork"
    assert segment["scheduled_activity_code_id"] == "oq"
    assert segment["actual_category"] == "Break"

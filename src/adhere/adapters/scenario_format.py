"""The ``adhere-scenario/1`` and ``adhere-result/1`` JSON documents (§6 of the rules).

Parsing locates every error by its path in the document (``events[3].system_presence``), so
a user can find the offending item. Keys the format does not define are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from math import isfinite
from typing import Any, TypeVar

from adhere.domain.agent_state import AgentEvent, EventKind
from adhere.domain.categories import (
    Presence,
    Routing,
    parse_activity_category,
    parse_presence,
    parse_routing,
)
from adhere.domain.errors import InvalidInput
from adhere.domain.evaluation import AgentResult, Evaluation, Segment
from adhere.domain.explanations import Explanation, ExplanationStatus, ExplanationType
from adhere.domain.instants import (
    MAX_DURATION_MINUTES,
    MICROS_PER_MINUTE,
    format_instant,
    parse_instant,
    seconds,
)
from adhere.domain.metrics import AdherenceException, Metrics
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.domain.scenario import Scenario, Window
from adhere.domain.schedule import Activity, ActivityCode
from adhere.domain.settings import AdherenceSettings

SCENARIO_FORMAT = "adhere-scenario/1"
RESULT_FORMAT = "adhere-result/1"

_T = TypeVar("_T")
Json = dict[str, Any]


def parse_scenario(document: object) -> Scenario:
    doc = _object(document, "scenario")
    if doc.get("format") != SCENARIO_FORMAT:
        raise InvalidInput(f"expected {SCENARIO_FORMAT!r}, got {doc.get('format')!r}", "format")
    unit = located("management_unit", lambda: parse_management_unit(doc.get("management_unit")))
    schedules: dict[str, list[Activity]] = {}
    for index, entry in enumerate(_list(_or_none(doc.get("schedules")), "schedules")):
        where = f"schedules[{index}]"
        item = _object(entry, where)
        agent_id = located(where, lambda item=item: _string(item, "agent_id"))
        activities = _list(_or_none(item.get("activities")), f"{where}.activities")
        schedules.setdefault(agent_id, []).extend(
            located(f"{where}.activities[{i}]", lambda a=a: parse_activity(a))
            for i, a in enumerate(activities)
        )
    window = _object(doc.get("window"), "window")
    return located(
        "",
        lambda: Scenario(
            management_unit=unit,
            teams=_items(doc, "teams", lambda t: parse_team(t, unit.id), required=False),
            activity_codes=_items(doc, "activity_codes", parse_activity_code),
            agents=_items(doc, "agents", lambda a: parse_agent(a, unit.id)),
            schedules=schedules,
            events=_items(doc, "events", parse_event),
            explanations=_items(doc, "explanations", parse_explanation, required=False),
            window=located(
                "window",
                lambda: Window(_instant(window, "start"), _instant(window, "end")),
            ),
        ),
    )


def parse_management_unit(value: object) -> ManagementUnit:
    item = _object(value, None)
    settings = _object(_or_empty(item.get("settings")), "settings")
    return ManagementUnit(
        id=_string(item, "id"),
        name=_optional_string(item, "name") or _string(item, "id"),
        time_zone=_string(item, "time_zone"),
        settings=located("settings", lambda: parse_settings(settings)),
    )


def parse_settings(item: Mapping[str, Any]) -> AdherenceSettings:
    """Adherence settings; omitted ones take the defaults of the rules."""
    given: dict[str, Any] = {}
    for name in ("adherence_exception_threshold_seconds", "severe_alert_threshold_minutes"):
        if item.get(name) is not None:
            given[name] = _number(item, name)
    if item.get("adherence_target_percent") is not None:
        given["adherence_target_percent"] = _number(item, "adherence_target_percent")
    for name in ("non_on_queue_activities_equivalent", "working_outside_shift_is_exception"):
        if item.get(name) is not None:
            given[name] = _boolean(item, name)
    for name in ("ignored_activity_categories", "offline_adherent_categories"):
        if item.get(name) is not None:
            given[name] = frozenset(
                located(f"{name}[{i}]", lambda v=v: parse_activity_category(v))
                for i, v in enumerate(_list(item[name], name))
            )
    if item.get("ignored_activity_code_ids") is not None:
        codes = _list(item["ignored_activity_code_ids"], "ignored_activity_code_ids")
        given["ignored_activity_code_ids"] = frozenset(
            located(f"ignored_activity_code_ids[{i}]", lambda v=v: _as_string(v))
            for i, v in enumerate(codes)
        )
    if item.get("presence_categories") is not None:
        table = _object(item["presence_categories"], "presence_categories")
        given["presence_categories"] = {
            located(f"presence_categories.{k}", lambda k=k: parse_presence(k)): located(
                f"presence_categories.{k}", lambda v=v: parse_activity_category(v)
            )
            for k, v in table.items()
        }
    return AdherenceSettings(**given)


def parse_team(value: object, unit_id: str) -> Team:
    item = _object(value, None)
    return Team(_string(item, "id"), _optional_string(item, "name") or _string(item, "id"), unit_id)


def parse_activity_code(value: object) -> ActivityCode:
    item = _object(value, None)
    active = item.get("active")
    return ActivityCode(
        id=_string(item, "id"),
        name=_optional_string(item, "name") or _string(item, "id"),
        category=located("category", lambda: parse_activity_category(item.get("category"))),
        secondary_presence_id=_optional_string(item, "secondary_presence_id"),
        active=True if active is None else _boolean(item, "active"),
    )


def parse_agent(value: object, unit_id: str) -> Agent:
    item = _object(value, None)
    given_unit = _optional_string(item, "management_unit_id")
    if given_unit is not None and given_unit != unit_id:
        raise InvalidInput(
            f"unknown management unit {given_unit!r} (the scenario's is {unit_id!r})",
            "management_unit_id",
        )
    external = _or_empty(item.get("external_ids"))
    return Agent(
        id=_string(item, "id"),
        name=_optional_string(item, "name") or _string(item, "id"),
        management_unit_id=unit_id,
        team_id=_optional_string(item, "team_id"),
        external_ids={
            str(k): located(f"external_ids.{k}", lambda v=v: _as_string(v))
            for k, v in _object(external, "external_ids").items()
        },
    )


def parse_activity(value: object) -> Activity:
    """``{start, length_minutes | end, activity_code_id}``; if both are given they must agree."""
    item = _object(value, None)
    start = _instant(item, "start")
    end = _instant(item, "end") if item.get("end") is not None else None
    if item.get("length_minutes") is not None:
        length = _number(item, "length_minutes")
        if not 0 < length <= MAX_DURATION_MINUTES:
            raise InvalidInput(
                f"must be greater than 0 and at most {MAX_DURATION_MINUTES}", "length_minutes"
            )
        by_length = start + round(length * MICROS_PER_MINUTE)
        if end is not None and end != by_length:
            raise InvalidInput(
                f"end {format_instant(end)} disagrees with length_minutes {length} "
                f"(which ends at {format_instant(by_length)})",
                "end",
            )
        end = by_length
    if end is None:
        raise InvalidInput("either end or length_minutes is required", "end")
    code = _string(item, "activity_code_id")
    return Activity(start, end, code)


def parse_event(value: object) -> AgentEvent:
    """An agent event; a well-formed one takes a short path, a bad one is parsed again
    slowly to say exactly which field is wrong."""
    if type(value) is dict:
        try:
            return _well_formed_event(value)
        except (InvalidInput, KeyError, TypeError, ValueError):
            pass
    return _located_event(value)


_EVENT_KINDS = {kind.value: kind for kind in EventKind}
_PRESENCE_NAMES = {presence.value: presence for presence in Presence}
_ROUTING_NAMES = {routing.value: routing for routing in Routing}


def _well_formed_event(item: dict[str, Any]) -> AgentEvent:
    """The common case, without locating errors: canonical names, no queue ids."""
    event_id, agent_id, time = item["id"], item["agent_id"], item["time"]
    if type(event_id) is not str or type(agent_id) is not str or not event_id or not agent_id:
        raise TypeError
    presence, routing = item.get("system_presence"), item.get("routing_status")
    secondary = item.get("secondary_presence_id")
    if item.get("queue_ids") is not None or (secondary is not None and type(secondary) is not str):
        raise TypeError
    return AgentEvent(
        event_id,
        agent_id,
        parse_instant(time),
        _EVENT_KINDS[item["kind"]],
        None if presence is None else _PRESENCE_NAMES[presence],
        secondary,
        None if routing is None else _ROUTING_NAMES[routing],
    )


def _located_event(value: object) -> AgentEvent:
    item = _object(value, None)
    presence = item.get("system_presence")
    routing = item.get("routing_status")
    queues = item.get("queue_ids")
    return AgentEvent(
        id=_string(item, "id"),
        agent_id=_string(item, "agent_id"),
        time=_instant(item, "time"),
        kind=located("kind", lambda: _enum(EventKind, item.get("kind"), "event kind")),
        system_presence=(
            None
            if presence is None
            else located("system_presence", lambda: parse_presence(presence))
        ),
        secondary_presence_id=_optional_string(item, "secondary_presence_id"),
        routing_status=(
            None if routing is None else located("routing_status", lambda: parse_routing(routing))
        ),
        queue_ids=(
            None
            if queues is None
            else tuple(
                located(f"queue_ids[{i}]", lambda q=q: _as_string(q))
                for i, q in enumerate(_list(queues, "queue_ids"))
            )
        ),
    )


def parse_explanation(value: object) -> Explanation:
    item = _object(value, None)
    status = item.get("status")
    kind = item.get("type")
    return Explanation(
        id=_string(item, "id"),
        agent_id=_string(item, "agent_id"),
        start=_instant(item, "start"),
        length_minutes=_number(item, "length_minutes"),
        status=(
            ExplanationStatus.PENDING
            if status is None
            else located("status", lambda: _enum(ExplanationStatus, status, "status"))
        ),
        type=(
            ExplanationType.LATE
            if kind is None
            else located("type", lambda: _enum(ExplanationType, kind, "explanation type"))
        ),
    )


# ---- rendering --------------------------------------------------------------------------


def render_settings(settings: AdherenceSettings) -> Json:
    """Every setting, defaults included: what `parse_settings` reads back unchanged."""
    return {
        "adherence_exception_threshold_seconds": settings.adherence_exception_threshold_seconds,
        "severe_alert_threshold_minutes": settings.severe_alert_threshold_minutes,
        "adherence_target_percent": settings.adherence_target_percent,
        "non_on_queue_activities_equivalent": settings.non_on_queue_activities_equivalent,
        "ignored_activity_categories": sorted(
            c.value for c in settings.ignored_activity_categories
        ),
        "ignored_activity_code_ids": sorted(settings.ignored_activity_code_ids),
        "working_outside_shift_is_exception": settings.working_outside_shift_is_exception,
        "offline_adherent_categories": sorted(
            c.value for c in settings.offline_adherent_categories
        ),
        "presence_categories": {
            presence.value: category.value
            for presence, category in settings.presence_categories.items()
        },
    }


def render_management_unit(unit: ManagementUnit) -> Json:
    return {
        "id": unit.id,
        "name": unit.name,
        "time_zone": unit.time_zone,
        "settings": render_settings(unit.settings),
    }


def render_activity_code(code: ActivityCode) -> Json:
    return {
        "id": code.id,
        "name": code.name,
        "category": code.category.value,
        "secondary_presence_id": code.secondary_presence_id,
        "active": code.active,
    }


def render_agent_record(agent: Agent) -> Json:
    return {
        "id": agent.id,
        "name": agent.name,
        "management_unit_id": agent.management_unit_id,
        "team_id": agent.team_id,
        "external_ids": dict(agent.external_ids),
    }


def render_activity(activity: Activity) -> Json:
    return {
        "start": format_instant(activity.start),
        "end": format_instant(activity.end),
        "length_minutes": (activity.end - activity.start) / MICROS_PER_MINUTE,
        "activity_code_id": activity.activity_code_id,
    }


def render_explanation(explanation: Explanation) -> Json:
    return {
        "id": explanation.id,
        "agent_id": explanation.agent_id,
        "start": format_instant(explanation.start),
        "end": format_instant(explanation.end),
        "length_minutes": explanation.length_minutes,
        "type": explanation.type.value,
        "status": explanation.status.value,
    }


def render_result(evaluation: Evaluation) -> Json:
    return {
        "format": RESULT_FORMAT,
        "agents": [render_agent(agent) for agent in evaluation.agents],
        "totals": {"metrics": render_metrics(evaluation.totals)},
    }


def render_agent(result: AgentResult) -> Json:
    return {
        "agent_id": result.agent_id,
        "segments": [render_segment(segment) for segment in result.segments],
        "exceptions": [render_exception(exception) for exception in result.exceptions],
        "metrics": render_metrics(result.metrics),
        "days": [
            {
                "date": day.day.date.isoformat(),
                "start": format_instant(day.day.start),
                "end": format_instant(day.day.end),
                "metrics": render_metrics(day.metrics),
            }
            for day in result.days
        ],
    }


def render_segment(segment: Segment) -> Json:
    adherence = segment.adherence
    return {
        "start": format_instant(segment.start),
        "end": format_instant(segment.end),
        "scheduled_category": adherence.scheduled_category.value,
        "scheduled_activity_code_id": adherence.scheduled_activity_code_id,
        "actual_category": adherence.actual_category.value,
        "adherence_state": adherence.adherence_state.value,
        "impact": adherence.impact.value,
    }


def render_exception(exception: AdherenceException) -> Json:
    return {
        "start": format_instant(exception.start),
        "end": format_instant(exception.end),
        "duration_seconds": seconds(exception.duration),
        "impact": exception.impact.value,
        "severe": exception.severe,
    }


def render_metrics(metrics: Metrics) -> Json:
    return {
        "state_seconds": {state.value: seconds(us) for state, us in metrics.state.items()},
        "adherence_schedule_seconds": seconds(metrics.adherence_schedule),
        "exception_seconds": seconds(metrics.exception),
        "adherence_percent": metrics.adherence_percent,
        "conformance_schedule_seconds": seconds(metrics.conformance_schedule),
        "conformance_actual_seconds": seconds(metrics.conformance_actual),
        "conformance_percent": metrics.conformance_percent,
        "impact_seconds": {impact.value: seconds(us) for impact, us in metrics.impact.items()},
    }


# ---- field helpers ----------------------------------------------------------------------


def located(field: str, parse: Callable[[], _T]) -> _T:
    """Run `parse`, locating any InvalidInput it raises under `field`."""
    try:
        return parse()
    except InvalidInput as error:
        raise error.at(field) if field else error from None


def _items(
    doc: Mapping[str, Any],
    key: str,
    parse: Callable[[object], _T],
    required: bool = True,
) -> tuple[_T, ...]:
    value = doc.get(key)
    if value is None:
        if required:
            raise InvalidInput("is required", key)
        return ()
    return tuple(
        located(_item_location(key, index, item), lambda item=item: parse(item))
        for index, item in enumerate(_list(value, key))
    )


def _item_location(key: str, index: int, item: object) -> str:
    if isinstance(item, Mapping) and isinstance(item.get("id"), str):
        return f"{key}[{index}] (id {item['id']!r})"
    return f"{key}[{index}]"


def _object(value: object, field: str | None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"expected an object, got {_kind(value)}", field)
    return value


def _or_empty(value: object) -> object:
    """An absent (or null) object is empty; any other value must be an object."""
    return {} if value is None else value


def _or_none(value: object) -> object:
    """An absent (or null) list is empty; any other value must be a list."""
    return [] if value is None else value


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"expected a list, got {_kind(value)}", field)
    return value


def _required(item: Mapping[str, Any], key: str, parse: Callable[[object], _T]) -> _T:
    if item.get(key) is None:
        raise InvalidInput("is required", key)
    return located(key, lambda: parse(item[key]))


def _string(item: Mapping[str, Any], key: str) -> str:
    return _required(item, key, _as_string)


def _optional_string(item: Mapping[str, Any], key: str) -> str | None:
    return None if item.get(key) is None else _string(item, key)


def _as_string(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"expected a non-empty string, got {_kind(value)}")
    return value


def _number(item: Mapping[str, Any], key: str) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        raise InvalidInput(f"expected a finite number, got {_kind(value)}", key)
    return value


def _finite(value: float) -> bool:
    try:
        return isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


def _boolean(item: Mapping[str, Any], key: str) -> bool:
    value = item.get(key)
    if not isinstance(value, bool):
        raise InvalidInput(f"expected true or false, got {_kind(value)}", key)
    return value


def _instant(item: Mapping[str, Any], key: str) -> int:
    return _required(item, key, parse_instant)


def _enum(enum: type[Any], value: object, what: str) -> Any:
    accepted = [member.value for member in enum]
    if value not in accepted:
        raise InvalidInput(f"unknown {what} {value!r}; accepted: {', '.join(accepted)}")
    return enum(value)


def _kind(value: object) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]

"""Use case: accept agent events, one bad event never sinking the good ones.

Every event of a batch gets an outcome: accepted (stored now), duplicate (its (agent, id) was
stored before, or earlier in the batch: first arrival wins) or rejected (with the field and the
reason). Accepted events are committed before this returns, then applied to the live engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from adhere.adapters.scenario_format import parse_event
from adhere.adapters.store import StoreTransaction
from adhere.domain.agent_state import AgentEvent
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import MICROS_PER_SECOND, Instant, format_instant
from adhere.service.context import ServiceContext
from adhere.service.webhooks import publish_events

_Item = TypeVar("_Item")


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(slots=True)  # not frozen: a thousand a batch, and frozen ones are 5x slower to make
class EventResult:
    index: int
    id: str | None
    agent_id: str | None
    outcome: Outcome
    field: str | None = None
    reason: str | None = None


def ingest_events(ctx: ServiceContext, items: Sequence[object]) -> list[EventResult]:
    """Validate, store and apply a batch of JSON events; see the module docstring."""
    return _ingest(ctx, items, parse_event)


def ingest_parsed(ctx: ServiceContext, events: Sequence[AgentEvent]) -> list[EventResult]:
    """The same for events already parsed (an imported scenario)."""
    return _ingest(ctx, events, lambda event: event)


def _ingest(
    ctx: ServiceContext, items: Sequence[_Item], parse: Callable[[_Item], AgentEvent]
) -> list[EventResult]:
    if len(items) > ctx.limits.max_batch:
        raise InvalidInput(
            f"a batch holds at most {ctx.limits.max_batch} events, this one {len(items)}",
            "events",
        )
    now = ctx.clock()
    results: list[EventResult | None] = [None] * len(items)
    parsed: list[tuple[int, AgentEvent]] = []
    limits = ctx.limits
    earliest = -math.inf if limits.lateness_micros is None else now - limits.lateness_micros
    latest = math.inf if limits.future_micros is None else now + limits.future_micros
    for index, item in enumerate(items):
        try:
            event = parse(item)
        except InvalidInput as error:
            results[index] = _rejected(index, item, error)
            continue
        if earliest <= event.time <= latest:
            parsed.append((index, event))
        else:
            results[index] = _rejected(index, None, _out_of_range(ctx, event.time, now), event)
    _store(ctx, parsed, results, now)
    done = [result for result in results if result is not None]
    assert len(done) == len(items)
    return done


def _store(
    ctx: ServiceContext,
    parsed: list[tuple[int, AgentEvent]],
    results: list[EventResult | None],
    now: Instant,
) -> None:
    with ctx.write("events") as write:
        known = _known_agents(ctx, write.tx, {event.agent_id for _, event in parsed})
        candidates: dict[tuple[str, str], tuple[int, AgentEvent]] = {}
        for index, event in parsed:
            key = (event.agent_id, event.id)
            if event.agent_id not in known:
                error = InvalidInput(f"unknown agent {event.agent_id!r}", "agent_id")
                results[index] = _rejected(index, None, error, event)
            elif key in candidates:  # the same id earlier in this batch: first one wins
                results[index] = _result(index, event, Outcome.DUPLICATE)
            else:
                candidates[key] = (index, event)
        stored = write.tx.add_events([event for _, event in candidates.values()], now)
        accepted: list[AgentEvent] = []
        for key, (index, event) in candidates.items():
            if key in stored:
                accepted.append(event)
                results[index] = EventResult(index, event.id, event.agent_id, _ACCEPTED)
            else:
                results[index] = _result(index, event, Outcome.DUPLICATE)
        if accepted:
            # In this transaction: nothing announced is lost.
            publish_events(write.tx, accepted, now, ctx.live)
            write.then(lambda live: live.ingest(accepted))


def _known_agents(ctx: ServiceContext, tx: StoreTransaction, agent_ids: set[str]) -> set[str]:
    """The stored agents among `agent_ids`. The engine knows nearly all of them without a
    query; one stored a moment ago may not be applied to it yet, so the store settles the rest."""
    if ctx.live is None:
        return tx.existing_agent_ids(agent_ids)
    has_agent = ctx.live.engine.has_agent
    known = {agent_id for agent_id in agent_ids if has_agent(agent_id)}
    if len(known) < len(agent_ids):
        known |= tx.existing_agent_ids(agent_ids - known)
    return known


def _result(index: int, event: AgentEvent, outcome: Outcome) -> EventResult:
    return EventResult(index, event.id, event.agent_id, outcome)


_ACCEPTED = Outcome.ACCEPTED


def _out_of_range(ctx: ServiceContext, time: Instant, now: Instant) -> InvalidInput:
    """Why an event's time is refused: too far in the future, or older than the lateness limit."""
    limits = ctx.limits
    if limits.future_micros is not None and time > now + limits.future_micros:
        return InvalidInput(
            f"{format_instant(time)} is more than {limits.future_micros // MICROS_PER_SECOND} s "
            f"in the future (server time {format_instant(now)})",
            "time",
        )
    assert limits.lateness_micros is not None
    return InvalidInput(
        f"{format_instant(time)} is older than the lateness limit of "
        f"{limits.lateness_micros / (86_400 * MICROS_PER_SECOND):g} days",
        "time",
    )


def _rejected(
    index: int, item: object, error: InvalidInput, event: AgentEvent | None = None
) -> EventResult:
    identifier: str | None
    agent_id: str | None
    if event is not None:
        identifier, agent_id = event.id, event.agent_id
    else:
        identifier, agent_id = _text(item, "id"), _text(item, "agent_id")
    return EventResult(
        index, identifier, agent_id, Outcome.REJECTED, error.field or "event", error.message
    )


def _text(item: object, key: str) -> str | None:
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str) else None

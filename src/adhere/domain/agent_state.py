"""Agent state events and how they fold into the state of an agent (rules §2)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Final, NamedTuple

from adhere.domain.categories import Presence, Routing
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant


class EventKind(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    PRESENCE = "presence"
    ROUTING_STATUS = "routing_status"
    STATE = "state"
    UNKNOWN = "unknown"


class AgentState(NamedTuple):
    presence: Presence
    routing: Routing
    secondary_presence_id: str | None
    unknown: bool


LOGGED_OUT: Final = AgentState(Presence.OFFLINE, Routing.OFF_QUEUE, None, False)
"""The state of an agent nobody has heard from."""


class Keep(Enum):
    """Marks a field an event leaves as it was."""

    KEEP = "KEEP"


KEEP: Final = Keep.KEEP


class Effect(NamedTuple):
    """What an event does to each field of the state: a new value, or KEEP."""

    presence: Presence | Keep
    routing: Routing | Keep
    secondary_presence_id: str | Keep | None
    unknown: bool


@dataclass(frozen=True, slots=True)
class AgentEvent:
    id: str
    agent_id: str
    time: Instant
    kind: EventKind
    system_presence: Presence | None = None
    secondary_presence_id: str | None = None
    routing_status: Routing | None = None
    queue_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind is EventKind.PRESENCE and self.system_presence is None:
            raise InvalidInput("is required for a presence event", "system_presence")
        if self.kind is EventKind.ROUTING_STATUS and self.routing_status is None:
            raise InvalidInput("is required for a routing_status event", "routing_status")

    @property
    def effect(self) -> Effect:
        key = (self.kind, self.system_presence, self.routing_status, self.secondary_presence_id)
        found = _EFFECTS.get(key)
        if found is None:
            found = _effect(*key)
            if len(_EFFECTS) < MEMO_LIMIT:  # secondary ids come from outside: stay bounded
                _EFFECTS[key] = found
        return found


MEMO_LIMIT = 65_536
_EFFECTS: dict[tuple[EventKind, Presence | None, Routing | None, str | None], Effect] = {}
"""Effects are few and immutable: events share them (cheaper to look up than to build)."""


def _effect(
    kind: EventKind, presence: Presence | None, routing: Routing | None, secondary: str | None
) -> Effect:
    match kind:
        case EventKind.LOGIN:
            return Effect(
                presence or Presence.AVAILABLE, routing or Routing.OFF_QUEUE, secondary, False
            )
        case EventKind.LOGOUT:
            return Effect(Presence.OFFLINE, Routing.OFF_QUEUE, None, False)
        case EventKind.PRESENCE:
            assert presence is not None  # checked on construction
            if routing is None:
                keeps_routing = presence is Presence.ON_QUEUE
                return Effect(
                    presence, KEEP if keeps_routing else Routing.OFF_QUEUE, secondary, False
                )
            return Effect(presence, routing, secondary, False)
        case EventKind.ROUTING_STATUS:
            assert routing is not None  # checked on construction
            return Effect(KEEP, routing, KEEP, False)
        case EventKind.STATE:
            return Effect(
                KEEP if presence is None else presence,
                KEEP if routing is None else routing,
                KEEP if secondary is None else secondary,
                False,
            )
        case EventKind.UNKNOWN:
            return Effect(KEEP, KEEP, KEEP, True)


def apply(state: AgentState, effect: Effect) -> AgentState:
    """The state after an event; `unknown` is set by an unknown event, cleared by any other."""
    presence, routing, secondary, unknown = effect
    return AgentState(
        state.presence if presence is Keep.KEEP else presence,
        state.routing if routing is Keep.KEEP else routing,
        state.secondary_presence_id if secondary is Keep.KEEP else secondary,
        unknown,
    )

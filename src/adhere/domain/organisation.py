"""Who is measured: management units (with their time zone and settings), teams, agents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adhere.domain.errors import InvalidInput
from adhere.domain.settings import AdherenceSettings

_NO_EXTERNAL_IDS: Mapping[str, str] = MappingProxyType({})


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`; anything else is rejected rather than taken as UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of tzdata
        raise InvalidInput(f"unknown IANA time zone {name!r}", "time_zone") from None


@dataclass(frozen=True, slots=True)
class ManagementUnit:
    id: str
    name: str
    time_zone: str
    settings: AdherenceSettings = field(default_factory=AdherenceSettings)

    def __post_init__(self) -> None:
        time_zone(self.time_zone)

    @property
    def zone(self) -> ZoneInfo:
        return time_zone(self.time_zone)


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str
    management_unit_id: str


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    management_unit_id: str
    team_id: str | None = None
    external_ids: Mapping[str, str] = field(default_factory=lambda: _NO_EXTERNAL_IDS)

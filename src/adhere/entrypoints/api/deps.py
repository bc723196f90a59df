"""Helpers shared by the routers: the service context, and text to domain values."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import Request

from adhere.domain.errors import InvalidInput
from adhere.domain.instants import Instant, parse_instant
from adhere.service.context import ServiceContext

if TYPE_CHECKING:
    from adhere.bootstrap import Container

_T = TypeVar("_T")


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def context(request: Request) -> ServiceContext:
    return container(request).context


def instant(value: str, field: str) -> Instant:
    try:
        return parse_instant(value)
    except InvalidInput as error:
        raise error.at(field) from None


def located(field: str, parse: Callable[[], _T]) -> _T:
    """Run `parse`, locating any InvalidInput under `field`."""
    try:
        return parse()
    except InvalidInput as error:
        raise error.at(field) from None


def dumped(model: Any) -> dict[str, Any]:
    """A request model as the plain JSON the scenario parsers read (unset fields left out)."""
    result: dict[str, Any] = model.model_dump(exclude_none=True)
    return result

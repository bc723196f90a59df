"""Helpers shared by the routers: the service context, and text to domain values."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import Path, Request

from adhere.adapters.scenario_format import located
from adhere.domain.instants import Instant, parse_instant
from adhere.entrypoints.api.problems import Problem, invalid
from adhere.service.context import ServiceContext

if TYPE_CHECKING:
    from adhere.bootstrap import Container


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def context(request: Request) -> ServiceContext:
    return container(request).context


def path_id() -> Any:
    """A path parameter holding an id (1 to 128 characters), as a route's default."""
    return Path(min_length=1, max_length=128)


def instant(value: str, field: str) -> Instant:
    return located(field, lambda: parse_instant(value))


def dumped(model: Any) -> dict[str, Any]:
    """A request model as the plain JSON the scenario parsers read (unset fields left out)."""
    result: dict[str, Any] = model.model_dump(exclude_none=True)
    return result


async def body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def json_body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError as error:
        raise invalid("body", f"not valid JSON: {error}", 400) from None


def _too_large(limit: int) -> Problem:
    return Problem(413, "request.too_large", f"the body exceeds {limit} bytes")

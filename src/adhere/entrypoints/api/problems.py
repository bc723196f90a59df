"""RFC 9457 problem details: the one shape of every error the API returns.

Each problem has a stable dotted `code` (``auth.insufficient_scope``) and, for bad input,
`errors`: one ``{field, message}`` per offending field, located like ``events[3].time``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from adhere.domain.errors import InvalidInput

MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("adhere.api")


class Problem(Exception):
    """Raised anywhere under a route; becomes an ``application/problem+json`` response."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self) -> JSONResponse:
        body = {
            "type": f"urn:adhere:problem:{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }
        return JSONResponse(body, self.status, headers=self.headers, media_type=MEDIA_TYPE)


def invalid(field: str | None, message: str, status: int = 422) -> Problem:
    """A bad-input problem naming one field."""
    return invalid_fields([(field or "body", message)], status)


def invalid_fields(errors: Sequence[tuple[str, str]], status: int = 422) -> Problem:
    first_field, first_message = errors[0]
    return Problem(
        status,
        "request.invalid",
        f"{first_field}: {first_message}"
        + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
        title="Invalid request",
        errors=[{"field": field, "message": message} for field, message in errors],
    )


def from_invalid_input(error: InvalidInput, prefix: str | None = None) -> Problem:
    field = error.field or prefix
    if prefix and error.field:
        field = f"{prefix}.{error.field}"
    return invalid(field, error.message)


def not_found(what: str, identifier: str) -> Problem:
    return Problem(404, f"{what}.not_found", f"no {what.replace('_', ' ')} {identifier!r}")


def install(app: FastAPI) -> None:
    """Route every error, including the framework's own, through problem details."""

    async def on_problem(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Problem)
        return error.response()

    async def on_invalid_input(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, InvalidInput)
        return from_invalid_input(error).response()

    async def on_validation(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        found = [
            (_location(item.get("loc", ())), str(item.get("msg", "is invalid")))
            for item in error.errors()
        ]
        return invalid_fields(found or [("body", "is invalid")]).response()

    async def on_http(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        status = HTTPStatus(error.status_code)
        detail = error.detail if isinstance(error.detail, str) else status.phrase
        code = f"http.{status.name.lower()}"
        return Problem(status, code, detail, headers=error.headers).response()

    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        _log.exception("unhandled error on %s %s", request.method, request.url.path)
        return Problem(
            500, "server.error", "an unexpected error occurred; it has been logged"
        ).response()

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(InvalidInput, on_invalid_input)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _location(loc: Sequence[Any]) -> str:
    """``("body", "events", 3, "time")`` → ``events[3].time``; query and path keep no prefix."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"

"""The HTTP application: every router, problem details for every error, the service's life."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

import adhere
from adhere.adapters.sealing import SecretKeyError
from adhere.bootstrap import Container
from adhere.entrypoints.api import (
    adherence,
    events,
    explanations,
    models,
    oauth,
    organisation,
    problems,
    reports,
    session,
    stream,
    users,
)
from adhere.entrypoints.api import data_actions as action_routes
from adhere.entrypoints.api import rules as rule_routes
from adhere.entrypoints.api import schedules as schedule_routes
from adhere.entrypoints.api import webhooks as webhook_routes
from adhere.entrypoints.api.nul_guard import RefuseNul
from adhere.entrypoints.web import pages
from adhere.service.organisation import NotFound

_DESCRIPTION = """Real-time schedule adherence for contact centers.

Every route needs an OAuth 2 access token (client credentials at `/oauth/token`) with the
scope the route names, or a browser session (`POST /api/v1/session`; its cookie carries the
scopes of the user's role, and state-changing calls add the `X-CSRF-Token` header). A missing
scope is a 403 whose body and `WWW-Authenticate` header name it, and the scopes the caller
has. Errors are RFC 9457 problem details."""


def create_app(container: Container) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        container.start()
        try:
            yield
        finally:
            container.stop()

    app = FastAPI(
        title="Adhere",
        version=adhere.__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.container = container
    problems.install(app)
    app.add_middleware(RefuseNul)

    async def on_not_found(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, NotFound)
        return problems.not_found(error.what, error.identifier).response()

    async def on_secret_key(_request: Request, error: Exception) -> JSONResponse:
        """The credentials' sealing key is missing or wrong: the operator's to mend."""
        return problems.Problem(500, "server.secret_key", str(error)).response()

    app.add_exception_handler(NotFound, on_not_found)
    app.add_exception_handler(SecretKeyError, on_secret_key)
    for module in (
        oauth,
        organisation,
        schedule_routes,
        events,
        adherence,
        explanations,
        webhook_routes,
        action_routes,
        rule_routes,
        session,
        users,
        stream,
        reports,
        pages,
    ):
        app.include_router(module.router)

    @app.get("/healthz", tags=["service"], include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.openapi = partial(_openapi, app)  # type: ignore[method-assign]
    return app


_PROBLEM_STATUSES = {
    "400": "Malformed request (e.g. a body that is not JSON)",
    "401": "No valid access token",
    "403": "The token lacks the route's scope",
    "404": "A referenced record does not exist",
    "422": "Invalid input; `errors` names each field",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the bodies routes parse themselves and the problem details
    every route may answer with (instead of FastAPI's own validation error shape)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (models.EventIn, models.EventBatchIn, models.ScheduleImportIn, models.ProblemOut):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}
    for path, item in document["paths"].items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:  # FastAPI's validation errors are problem details here
                responses["422"] = {"description": _PROBLEM_STATUSES["422"], "content": problem}
            if not path.startswith("/api/"):
                continue
            for status, description in _PROBLEM_STATUSES.items():
                responses[status] = {"description": description, "content": problem}
            for status in ("413", "415"):
                if status in responses:
                    responses[status]["content"] = problem
    app.openapi_schema = document
    return document

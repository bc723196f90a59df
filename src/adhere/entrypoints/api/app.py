"""The HTTP application: every router, problem details for every error, the service's life."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import adhere
from adhere.bootstrap import Container
from adhere.entrypoints.api import adherence, events, explanations, oauth, organisation, problems
from adhere.entrypoints.api import schedules as schedule_routes
from adhere.service.organisation import NotFound

_DESCRIPTION = """Real-time schedule adherence for contact centers.

Every route needs an OAuth 2 access token (client credentials at `/oauth/token`) with the
scope the route names. A missing scope is a 403 whose body and `WWW-Authenticate` header name
it, and the scopes the token has. Errors are RFC 9457 problem details."""


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

    async def on_not_found(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, NotFound)
        return problems.not_found(error.what, error.identifier).response()

    app.add_exception_handler(NotFound, on_not_found)
    for module in (oauth, organisation, schedule_routes, events, adherence, explanations):
        app.include_router(module.router)

    @app.get("/healthz", tags=["service"], include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app

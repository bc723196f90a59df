"""A stand-in for an unreliable API: it fails as told, then answers, and remembers every call.

``/flaky/{key}`` takes its behaviour from the query string and counts calls per key:

- ``failures=N`` (default 0): the first N calls fail, the later ones answer 200;
- ``status=S`` (default 503): how they fail; ``retry_after=R`` adds ``Retry-After: R``;
- ``delay=D``: the failing calls are slow instead (D seconds, then a 200 nobody waits for).

A 200 echoes what was received: the method, the body, and the Authorization and X-Api-Key
headers, so tests can see what the client sent.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Flaky:
    calls: dict[str, list[float]] = field(default_factory=dict)  # key -> monotonic times
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(routes=[Route("/flaky/{key}", self._answer, methods=methods)])

    def count(self, key: str) -> int:
        with self._lock:
            return len(self.calls.get(key, []))

    async def _answer(self, request: Request) -> Response:
        key = request.path_params["key"]
        with self._lock:
            self.calls.setdefault(key, []).append(time.monotonic())
            number = len(self.calls[key])
        query = request.query_params
        if number <= int(query.get("failures", "0")):
            delay = float(query.get("delay", "0"))
            if delay:
                await asyncio.sleep(delay)
                return JSONResponse({"late": True})
            headers = {}
            if "retry_after" in query:
                headers["Retry-After"] = query["retry_after"]
            status = int(query.get("status", "503"))
            return JSONResponse(
                {"message": f"call {number} fails with {status}"}, status, headers=headers
            )
        body = (await request.body()).decode()
        return JSONResponse(
            {
                "key": key,
                "call": number,
                "method": request.method,
                "body": body or None,
                "authorization": request.headers.get("authorization"),
                "api_key": request.headers.get("x-api-key"),
            }
        )

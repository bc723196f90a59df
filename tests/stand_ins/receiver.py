"""A webhook receiver that verifies every delivery with the `standardwebhooks` package, as a
subscriber's service would, and answers what the test tells it to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    webhook_id: str
    payload: Any
    at: float  # monotonic


@dataclass
class Receiver:
    secret: str = ""  # set once the subscription is made
    answer: Callable[[int], tuple[int, dict[str, str]]] = lambda _n: (204, {})
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    refused_signatures: int = 0
    requests: int = 0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])

    def ids(self) -> list[str]:
        return [item.webhook_id for item in self.received]

    async def _hook(self, request: Request) -> Response:
        self.requests += 1
        number = self.requests
        body = await request.body()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused_signatures += 1
            return Response(status_code=400)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        status, headers = self.answer(number)
        if 200 <= status < 300:
            self.received.append(Received(request.headers["webhook-id"], payload, time.monotonic()))
        return Response(status_code=status, headers=headers)

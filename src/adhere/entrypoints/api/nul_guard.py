"""Refuse text holding NUL (U+0000) anywhere in a request, naming where it is.

PostgreSQL cannot store the character in text, and SQLite can: refusing it at the door keeps
both databases taking the same input, and turns what was a server error into a 422.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adhere.entrypoints.api.problems import invalid

_ESCAPED_NUL = b"\\u0000"
_REASON = "must not contain the NUL character (U+0000)"


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _in_target(scope)
        if where is not None:
            await invalid(where, _REASON).response()(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:  # the body is read once here and handed on unchanged
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _ESCAPED_NUL in body:  # cheap test first: only then parse to say where
            field = _in_json(body)
            if field is not None:
                await invalid(field, _REASON).response()(scope, receive, send)
                return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _in_target(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" in query or "\x00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name + value:
                return name.replace("\x00", "") or "query"
    return None


def _in_json(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: the route says so
    return _find(document, "")


def _find(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return here.replace("\x00", "\\u0000")
            found = _find(item, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _replay(messages: list[Message], then: Receive) -> Receive:
    """The messages already read, then whatever comes next (a disconnect, when it comes)."""

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        return await then()

    return receive

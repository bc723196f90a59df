"""A server-sent events client for tests: reads a stream in a thread, event by event.

Starlette's TestClient and httpx's ASGI transport both wait for a response to end, and the
board's stream never does: tests read it from a real server over a socket instead. The
standard library's client, because its socket can be shut down from another thread, which
ends a read blocked on it at once.
"""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

STREAM = "/api/v1/adherence/stream"


@dataclass(frozen=True)
class Event:
    kind: str
    id: str | None
    data: str
    retry: int | None
    received: float  # time.monotonic() when its blank line arrived

    @property
    def rows(self) -> dict[str, dict[str, Any]]:
        """The rows it carries, by agent id."""
        return {row["agent_id"]: row for row in json.loads(self.data)["rows"]}


class EventStream:
    """GET the stream and collect its events; `next` hands them out in order."""

    def __init__(
        self,
        base_url: str,
        credentials: dict[str, str],  # an Authorization (or a Cookie) header
        params: dict[str, str] | None = None,
        last_event_id: str | None = None,
    ) -> None:
        headers = {**credentials, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        where = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=60)
        self._connection.request(
            "GET", STREAM + (f"?{urlencode(params)}" if params else ""), headers=headers
        )
        self._events: queue.Queue[Event | None] = queue.Queue()
        self._opened = threading.Event()
        self.status: int | None = None
        self.headers: http.client.HTTPMessage | None = None
        self.ended = threading.Event()  # the server ended the stream (or the client closed it)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._opened.wait(10), "the stream did not answer"

    def next(self, timeout: float = 5) -> Event:
        found = self._events.get(timeout=timeout)
        assert found is not None, "the stream ended"
        return found

    def next_with(self, agent_id: str, timeout: float = 5, **fields: Any) -> Event:
        """The first event whose row for `agent_id` has these field values."""
        return self.until(agent_id, timeout, **fields)[-1]

    def until(self, agent_id: str, timeout: float = 5, **fields: Any) -> list[Event]:
        """The events up to and with the first whose row for `agent_id` has these values."""
        deadline = time.monotonic() + timeout
        found: list[Event] = []
        while True:
            event = self.next(max(0.0, deadline - time.monotonic()))
            found.append(event)
            row = event.rows.get(agent_id)
            if row is not None and all(row[k] == v for k, v in fields.items()):
                return found

    def close(self) -> None:
        sock = self._connection.sock
        if sock is not None:
            with suppress(OSError):  # the server closed it already
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        assert not self._thread.is_alive(), "the stream's reader did not stop"
        self._connection.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _read(self) -> None:
        try:
            response = self._connection.getresponse()
            self.status, self.headers = response.status, response.headers
            self._opened.set()
            fields: dict[str, str] = {}
            while raw := response.readline():
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if "data" in fields:
                        retry = fields.get("retry")
                        self._events.put(
                            Event(
                                fields.get("event", "message"),
                                fields.get("id"),
                                fields["data"],
                                None if retry is None else int(retry),
                                time.monotonic(),
                            )
                        )
                    fields = {}
                elif not line.startswith(":"):  # a comment: the ping
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        except (OSError, http.client.HTTPException, ValueError):
            pass  # closed by `close`, or by the server
        finally:
            self._opened.set()
            self.ended.set()
            self._events.put(None)

"""The live board's change feed: each agent's row, rendered again when it may have changed and
numbered, for the server-sent event stream (entrypoints/api/stream.py).

The engine notes which agents each input touched (`LiveAdherence.take_touched`). A publisher
renders their rows a few times a second, once for every stream, outside the engine's lock, and
appends them to a bounded ring. A stream that saw row number n resumes from the ring, getting
each agent's latest row once; one that fell out of the ring, or whose numbers come from another
process start (a different `epoch`), starts over from a snapshot of every latest row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from itertools import islice

from adhere.domain.instants import Instant
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.service.live import LiveAdherence, LiveRow

__all__ = ["Batch", "BoardFeed", "Encoder", "Listener", "Wanted"]

_log = logging.getLogger("adhere.board")
_CHUNK = 500  # rows gathered per hold of the engine's lock: ingest waits no longer than that
_IDLE_PER_BUSY = 9  # the publisher rests nine times as long as it worked: at most 10 % busy
_MAX_REST_SECONDS = 0.5  # ...but no longer than this

# One agent's row as the streams send it (JSON text): the row, its latest reported instant,
# its management unit, and the time of rendering.
Encoder = Callable[[LiveRow, Instant | None, ManagementUnit, Instant], str]
Wanted = Callable[[Agent], bool]  # the agents one stream may and wants to see


@dataclass(frozen=True, slots=True)
class _Published:
    seq: int
    agent: Agent
    text: str  # the row's JSON, encoded once for every stream
    before: Agent | None  # the agent as last published: a stream that saw it, but won't now,
    # must drop the row (the agent moved to a team or unit it does not see)


@dataclass(frozen=True, slots=True)
class Batch:
    """What one stream sends next: every row it sees (a snapshot), or those that changed."""

    snapshot: bool
    rows: list[str]  # JSON texts
    seq: int  # the stream's position after sending it
    event_id: str  # "<epoch>-<seq>", what the browser sends back as Last-Event-ID


class Listener:
    """One stream's wake-up call: set from the publisher's thread, awaited in the stream's loop."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def wake(self) -> None:
        with suppress(RuntimeError):  # a closed loop: its stream is gone
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        await self._event.wait()
        self._event.clear()


class BoardFeed:
    def __init__(
        self,
        live: LiveAdherence,
        clock: Callable[[], Instant],
        encode: Encoder,
        *,
        capacity: int = 16_384,
        interval_seconds: float = 0.05,
    ) -> None:
        self.epoch = secrets.token_hex(6)  # a new one per process: old event ids mean nothing
        self.interval_seconds = interval_seconds
        self._live = live
        self._clock = clock
        self._encode = encode
        self._seq = 0  # the number of the latest published row
        self._ring: deque[_Published] = deque(maxlen=capacity)
        self._latest: dict[str, _Published] = {}
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self._publishing = threading.Lock()
        self._closed = False

    # ---- the publisher -----------------------------------------------------------------

    def run(self, stopping: threading.Event) -> None:
        """Publish what changed every `interval_seconds` until `stopping` is set."""
        wait = self.interval_seconds
        while not stopping.wait(wait):
            started = time.monotonic()
            try:
                if self.streams:  # else the touched agents wait in the live state: see `publish`
                    self.publish()
            except Exception:  # keep publishing; the error is logged
                _log.exception("publishing the board's rows failed")
            # Rendering competes with ingestion for the interpreter: under a heavy feed, publish
            # less often (an agent touched many times is rendered once) rather than slow it.
            # Never longer than _MAX_REST_SECONDS, which keeps a change within a second.
            rest = (time.monotonic() - started) * _IDLE_PER_BUSY
            wait = min(max(self.interval_seconds, rest), _MAX_REST_SECONDS)

    def publish(self) -> int:
        """Render the rows of the agents touched since the last call; wake the streams.

        The publisher calls it only while some stream is open (rendering costs ingestion a
        third of its throughput at 50,000 events/s), so a stream calls it once itself before
        its first batch: the rows touched while nobody watched are published then."""
        with self._publishing:  # one at a time: a later render never lands before an earlier
            live = self._live
            with live.lock:
                touched = sorted(live.take_touched())
            published = 0
            for start in range(0, len(touched), _CHUNK):
                published += self._publish(touched[start : start + _CHUNK])
            return published

    def _publish(self, agent_ids: list[str]) -> int:
        """A row is read whole under the engine's lock, rendered outside it. An agent touched
        again meanwhile is published again next time: nothing is lost."""
        live = self._live
        with live.lock:
            engine = live.engine
            gathered = [
                (live.row(a), engine.horizon(a), engine.management_unit(a))
                for a in agent_ids
                if engine.has_agent(a)
            ]
        if not gathered:
            return 0
        now = self._clock()
        encoded = [
            (row.agent, self._encode(row, horizon, unit, now)) for row, horizon, unit in gathered
        ]
        with self._lock:
            for agent, text in encoded:
                self._seq += 1
                previous = self._latest.get(agent.id)
                published = _Published(
                    self._seq, agent, text, None if previous is None else previous.agent
                )
                self._ring.append(published)
                self._latest[agent.id] = published
            listeners = list(self._listeners)
        for listener in listeners:
            listener.wake()
        return len(encoded)

    def close(self) -> None:
        """The service stops: every stream ends at its next wake-up, which is now."""
        with self._lock:
            self._closed = True
            listeners = list(self._listeners)
        for listener in listeners:
            listener.wake()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def streams(self) -> int:
        """How many streams listen now."""
        with self._lock:
            return len(self._listeners)

    # ---- the streams -------------------------------------------------------------------

    def listen(self) -> Listener:
        """A wake-up call for the running loop's stream, set whenever rows are published."""
        listener = Listener()
        with self._lock:
            self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    def start(self, last_event_id: str | None, wanted: Wanted) -> Batch:
        """A stream's first batch: what it missed since `last_event_id` if that is still known
        here, else a snapshot of every row it sees."""
        with self._lock:
            seq = self._seq_of(last_event_id)
            missed = None if seq is None else self._after(seq)
            if missed is None:
                return self._snapshot(wanted)
            return self._batch(False, missed, wanted)

    def since(self, seq: int, wanted: Wanted) -> Batch | None:
        """What a stream at position `seq` sends next, or None if nothing was published since.
        A stream so far behind that the ring no longer holds its position gets a snapshot."""
        with self._lock:
            if seq == self._seq:
                return None
            missed = self._after(seq)
            if missed is None:
                return self._snapshot(wanted)
            return self._batch(False, missed, wanted)

    def event_id(self, seq: int) -> str:
        return f"{self.epoch}-{seq}"

    # ---- internals (with `_lock` held) ---------------------------------------------------

    def _after(self, seq: int) -> list[tuple[_Published, Agent | None]] | None:
        """Each agent's latest row published after `seq`, with the agent as the stream last
        saw it (before the first of those rows); None if the ring lost some of them."""
        ring = self._ring
        first = ring[0].seq if ring else self._seq + 1
        if seq + 1 < first:
            return None
        latest: dict[str, _Published] = {}
        seen_as: dict[str, Agent | None] = {}
        for published in islice(ring, seq + 1 - first, None):
            seen_as.setdefault(published.agent.id, published.before)
            latest[published.agent.id] = published
        return [(published, seen_as[agent_id]) for agent_id, published in latest.items()]

    def _snapshot(self, wanted: Wanted) -> Batch:
        return self._batch(True, ((p, None) for p in self._latest.values()), wanted)

    def _batch(
        self, snapshot: bool, rows: Iterable[tuple[_Published, Agent | None]], wanted: Wanted
    ) -> Batch:
        """The rows the stream wants; for an agent it saw but may no longer see, a removal."""
        texts = [
            p.text if wanted(p.agent) else _removal(p.agent.id)
            for p, seen_as in rows
            if wanted(p.agent) or (seen_as is not None and wanted(seen_as))
        ]
        return Batch(snapshot, texts, self._seq, self.event_id(self._seq))

    def _seq_of(self, event_id: str | None) -> int | None:
        """The position an event id of this process names; None for anything else."""
        if event_id is None:
            return None
        epoch, _, number = event_id.strip().rpartition("-")
        if epoch != self.epoch or not (number.isascii() and number.isdigit()) or len(number) > 18:
            return None
        seq = int(number)
        return seq if seq <= self._seq else None


def _removal(agent_id: str) -> str:
    """The row that tells a stream to drop an agent."""
    return json.dumps({"agent_id": agent_id, "removed": True})

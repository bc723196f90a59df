"""The announcer: what the live engine learns, published as messages.

`adherence.changed`, `adherence.exception.*`, `shift.start.missed` and
`routing.queue.member.status` are known only once the engine has applied a committed write
(or the clock has moved it). While someone wants one of them (an endpoint or a workflow rule:
`webhooks.Interest`), `LiveAdherence` keeps what it records in a buffer (a list append, under
the lock it holds anyway), and the announcer, every ~100 ms (`announce_once`):

1. under the live lock, moves the engine's clock to now, drains the buffer, and reads what the
   timers due now need (is the agent still Offline?);
2. turns the changes into messages (domain/announcements.py), fires the exception timers
   (threshold, severe) and the missed-shift-start timers, in memory;
3. publishes the messages in ONE transaction together with what was announced per agent
   (`announced_agents`), so that the stored state is exactly what subscribers were sent.

A crash between a write's commit and its announcement loses its buffered changes. So on start,
and after every rebuild of the live state (a write by the CLI), the announcer compares every
agent's adherence, open exception and queue membership with the stored announced state, and
publishes what differs with ``"recovered": true``: the state a subscriber has not heard of is
never lost, but the flips in between are not reproduced.

When nobody wants these topics the announcer records nothing (the buffer is off), forgets the
stored state and only looks for a subscription every second; when someone subscribes it starts
from the engine's current state.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count

from adhere.domain.adherence import Adherence
from adhere.domain.announcements import (
    Announced,
    Facts,
    Message,
    Thresholds,
    changed,
    due,
    queues_changed,
    reached,
    recover,
)
from adhere.domain.categories import AdherenceState, Category, Impact
from adhere.domain.instants import Instant
from adhere.domain.metrics import worse
from adhere.domain.organisation import Agent, ManagementUnit
from adhere.domain.topics import ENGINE_TOPICS, shift_start_missed
from adhere.service.context import ServiceContext
from adhere.service.live import LiveAdherence, Pending
from adhere.service.webhooks import interest, publish_message

_log = logging.getLogger("adhere.announcer")
_OUT = AdherenceState.OUT_OF_ADHERENCE
INTERVAL_SECONDS = 0.1
IDLE_INTERVAL_SECONDS = 1.0


@dataclass(slots=True)
class _Round:
    """One announcement: the messages, and the new states of the agents it touched."""

    now: Instant
    messages: list[Message] = field(default_factory=list)
    states: dict[str, Announced] = field(default_factory=dict)


class Announcer:
    def __init__(self, ctx: ServiceContext, shift_missed_after_micros: int) -> None:
        if ctx.live is None:
            raise ValueError("the announcer needs the live engine")
        self._ctx = ctx
        self._live: LiveAdherence = ctx.live
        self._after = shift_missed_after_micros
        self._tracking = False  # the buffer is on and `_states` is what was announced
        self._forgotten = False  # the store is known to hold no stale announced state
        self._states: dict[str, Announced] = {}
        self._agents: dict[str, Agent] = {}
        self._units: dict[str, tuple[ManagementUnit, Thresholds]] = {}
        self._order = count()
        self._run_timers: list[tuple[Instant, int, str]] = []  # (due, order, agent)
        self._run_due: dict[str, Instant] = {}  # the live timer of each agent
        self._shift_timers: list[tuple[Instant, int, str, Instant]] = []  # (due, ., agent, start)
        self._shift_armed: dict[str, Instant] = {}  # the shift start each agent waits for
        self._checked: Instant | None = None  # `now` of the last round
        self._report_changes = True  # someone wants `adherence.changed` this round

    @property
    def tracking(self) -> bool:
        return self._tracking

    def run(self, stopping: threading.Event, interval_seconds: float = INTERVAL_SECONDS) -> None:
        """Announce until `stopping` is set (a thread's target). While nobody listens, only
        look for a subscription every `IDLE_INTERVAL_SECONDS`: a round costs a query."""
        while not stopping.wait(interval_seconds if self._tracking else IDLE_INTERVAL_SECONDS):
            try:
                self.announce_once(self._ctx.clock())
            except Exception:  # the next round compares everything again (`_step`)
                _log.exception("announcing failed")

    def announce_once(self, now: Instant) -> int:
        """One round at `now`; returns the messages published."""
        with self._ctx.store.reading() as tx:
            found = interest(tx)
        self._report_changes = found.wants("adherence.changed")
        if not found.wants_any(ENGINE_TOPICS):
            if self._tracking or not self._forgotten:
                self._stop()
            return 0
        if not self._tracking:
            return self._start(now)
        return self._step(now)

    # ---- starting and stopping -------------------------------------------------------------

    def _stop(self) -> None:
        with self._live.lock:
            self._live.stop_announcing()
        self._tracking = False
        self._clear()
        with self._ctx.store.reading() as tx:
            stale = tx.announcements.tracking_since() is not None
        if stale:
            with self._ctx.store.transaction() as tx:
                tx.announcements.stop_tracking()
        self._forgotten = True

    def _clear(self) -> None:
        self._states.clear()
        self._agents.clear()
        self._units.clear()
        self._run_timers.clear()
        self._run_due.clear()
        self._shift_timers.clear()
        self._shift_armed.clear()

    def _start(self, now: Instant) -> int:
        """Start from the stored announced state (recovering), or if none is kept, from the
        engine's state."""
        self._clear()
        with self._ctx.store.reading() as tx:
            recovering = tx.announcements.tracking_since() is not None
            if recovering:
                self._states = tx.announcements.agents()
        live = self._live
        round_ = _Round(now)
        with live.lock:
            live.catch_up(now)
            live.start_announcing()
            self._compare_all(round_, recovered=recovering, fresh=not recovering)
        try:
            published = self._commit(round_, start=True, fresh=not recovering)
        except Exception:
            with live.lock:
                live.stop_announcing()
            self._clear()
            raise
        self._tracking = True
        self._forgotten = False
        self._checked = now
        return published

    # ---- a round ---------------------------------------------------------------------------

    def _step(self, now: Instant) -> int:
        try:
            return self._round(now)
        except Exception:
            # What was drained may be lost with the round, and the state in memory may be
            # half-updated: the next round starts over from the stored announced state (what
            # subscribers heard) and compares everything with it, as after a restart.
            self._tracking = False
            raise

    def _round(self, now: Instant) -> int:
        live = self._live
        round_ = _Round(now)
        with live.lock:
            live.catch_up(now)
            pending = live.drain()
            self._refresh(self._touched(pending))
            everything = pending.rebuilt
            if everything:
                # What was recorded before the rebuild, then the new engine's state.
                self._apply(round_, pending)
                self._compare_all(round_, recovered=True, fresh=False)
            else:
                self._rearm_shifts(round_, pending)
                self._fire_shifts(round_, now)
        if not everything:
            self._apply(round_, pending)
            self._fire_runs(round_, now)
        self._checked = now
        if not round_.messages and not round_.states:
            return 0
        return self._commit(round_)

    def _apply(self, round_: _Round, pending: Pending) -> None:
        """The recorded changes and queue notes, in order, into messages and states."""
        now = round_.now
        for change in pending.changes:
            agent_id = change.agent_id
            state = self._state(round_, agent_id)
            round_.messages += changed(
                state,
                self._agents[agent_id],
                change,
                self._thresholds(agent_id),
                now,
                report=self._report_changes,
            )
        for note in pending.queues:
            state = self._state(round_, note.agent_id)
            round_.messages += queues_changed(
                state, self._agents[note.agent_id], note.event_id, note.time, note.queue_ids, now
            )
        for agent_id in {change.agent_id for change in pending.changes}:
            self._arm_run(agent_id, round_.states[agent_id])

    def _fire_runs(self, round_: _Round, now: Instant) -> None:
        """Exceptions and severe ones whose time has come."""
        timers = self._run_timers
        while timers and timers[0][0] <= now:
            at, _, agent_id = heapq.heappop(timers)
            if self._run_due.get(agent_id) != at:
                continue  # superseded
            del self._run_due[agent_id]
            state = self._state(round_, agent_id)
            round_.messages += reached(
                state, self._agents[agent_id], now, self._thresholds(agent_id), now
            )
            self._arm_run(agent_id, state)

    def _arm_run(self, agent_id: str, state: Announced) -> None:
        at = due(state, self._thresholds(agent_id))
        if at is None:
            self._run_due.pop(agent_id, None)
        elif self._run_due.get(agent_id) != at:
            self._run_due[agent_id] = at
            heapq.heappush(self._run_timers, (at, next(self._order), agent_id))

    # ---- shift starts (with the live lock held) ---------------------------------------------

    def _rearm_shifts(self, round_: _Round, pending: Pending) -> None:
        """Schedules and units that changed move the shift starts waited for."""
        engine = self._live.engine
        edited = set(pending.schedules)
        if pending.units:
            edited.update(
                agent_id
                for agent_id in engine.agent_ids()
                if engine.agent(agent_id).management_unit_id in pending.units
            )
        self._refresh(edited)  # new thresholds, for units that changed
        since = round_.now if self._checked is None else self._checked
        for agent_id in edited:
            self._arm_shift(agent_id, since - self._after)

    def _fire_shifts(self, round_: _Round, now: Instant) -> None:
        timers = self._shift_timers
        while timers and timers[0][0] <= now:
            _, _, agent_id, start = heapq.heappop(timers)
            if self._shift_armed.get(agent_id) != start:
                continue  # superseded by a schedule edit
            self._announce_missed(round_, agent_id, self._state(round_, agent_id), start, False)
            self._arm_shift(agent_id, start)

    def _arm_shift(self, agent_id: str, after: Instant) -> None:
        start = self._live.engine.next_shift_start(agent_id, after)
        if start is None:
            self._shift_armed.pop(agent_id, None)
            return
        if self._shift_armed.get(agent_id) != start:
            self._shift_armed[agent_id] = start
            heapq.heappush(
                self._shift_timers, (start + self._after, next(self._order), agent_id, start)
            )

    # ---- comparing everything (with the live lock held) --------------------------------------

    def _compare_all(self, round_: _Round, *, recovered: bool, fresh: bool) -> None:
        """Every agent's announced state against the engine's, and every timer armed again.
        `fresh`: nothing was announced before, so the engine's adherence and queues are taken
        as announced, silently (the runs and shift starts are announced as they come due)."""
        live = self._live
        engine = live.engine
        now = round_.now
        self._run_timers.clear()
        self._run_due.clear()
        self._shift_timers.clear()
        self._shift_armed.clear()
        for agent_id in engine.agent_ids():
            agent = self._agents[agent_id] = engine.agent(agent_id)
            thresholds = self._thresholds(agent_id, refresh=True)
            current = engine.current(agent_id)
            queues = live.queues.get(agent_id)
            state = self._state(round_, agent_id)
            if fresh:
                state.adherence = current
                state.queue_ids = () if queues is None else queues[1]
            if (
                state.adherence != current
                or current.adherence_state is _OUT
                or state.run_start is not None
                or (queues is not None and set(queues[1]) != set(state.queue_ids))
            ):
                facts = _facts(live, agent_id, current, queues, now)
                round_.messages += recover(
                    state, agent, facts, thresholds, now, recovered=recovered
                )
            self._missed_now(round_, agent_id, state, now, recovered)
            self._arm_run(agent_id, state)
            self._arm_shift(agent_id, now - self._after)

    def _missed_now(
        self, round_: _Round, agent_id: str, state: Announced, now: Instant, recovered: bool
    ) -> None:
        """The shift the agent is in, if its start was missed and not yet announced."""
        start = self._live.engine.shift_start_at(agent_id, now)
        if start is not None and start + self._after <= now:
            self._announce_missed(round_, agent_id, state, start, recovered)

    def _announce_missed(
        self, round_: _Round, agent_id: str, state: Announced, start: Instant, recovered: bool
    ) -> None:
        """`shift.start.missed` for the shift starting at `start`, once, if still offline."""
        engine = self._live.engine
        offline = engine.current(agent_id).actual_category is Category.OFFLINE
        if state.shift_missed == start or not offline:
            return
        state.shift_missed = start
        now = round_.now
        round_.messages.append(
            shift_start_missed(
                self._agent(agent_id),
                start,
                self._after,
                engine.scheduled_at(agent_id, now),
                recovered=recovered,
                timestamp=now,
            )
        )

    # ---- helpers ----------------------------------------------------------------------------

    def _state(self, round_: _Round, agent_id: str) -> Announced:
        """The agent's state in this round: a copy, kept only if the round commits."""
        state = round_.states.get(agent_id)
        if state is None:
            known = self._states.get(agent_id)
            state = round_.states[agent_id] = Announced() if known is None else known.copy()
        return state

    def _agent(self, agent_id: str) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self._agents[agent_id] = self._live.engine.agent(agent_id)
        return agent

    def _refresh(self, agent_ids: Iterable[str]) -> None:
        """Agent records and thresholds of the agents touched (with the live lock held)."""
        engine = self._live.engine
        for agent_id in set(agent_ids):
            self._agents[agent_id] = engine.agent(agent_id)
            self._thresholds(agent_id, refresh=True)

    def _touched(self, pending: Pending) -> Iterable[str]:
        yield from (change.agent_id for change in pending.changes)
        yield from (note.agent_id for note in pending.queues)

    def _thresholds(self, agent_id: str, *, refresh: bool = False) -> Thresholds:
        agent = self._agents[agent_id]
        known = self._units.get(agent.management_unit_id)
        if refresh or known is None:
            unit = self._live.engine.management_unit(agent_id)
            if known is None or known[0] is not unit:
                known = self._units[unit.id] = (unit, Thresholds.of(unit.settings))
        return known[1]

    def _commit(self, round_: _Round, *, start: bool = False, fresh: bool = False) -> int:
        """The messages and the agents' new states, in one transaction; then those states are
        the ones announced. `start`: from now on the stored states are kept up to date
        (`fresh`: replacing whatever was stored)."""
        now = round_.now
        states = {
            agent_id: state
            for agent_id, state in round_.states.items()
            if state != self._states.get(agent_id, _DEFAULT)
        }
        with self._ctx.store.transaction() as tx:
            wanted = interest(tx)
            published = sum(publish_message(tx, wanted, m, now) for m in round_.messages)
            announcements = tx.announcements
            if fresh:
                announcements.stop_tracking()
            if start:
                announcements.start_tracking(now)
            announcements.put(states, now)
        self._states.update(states)
        return published


_DEFAULT = Announced()


def _facts(
    live: LiveAdherence,
    agent_id: str,
    current: Adherence,
    queues: tuple[Instant, tuple[str, ...]] | None,
    now: Instant,
) -> Facts:
    """The agent's current adherence, since when, and its open run, from its timeline."""
    points = live.engine.timeline(agent_id)
    since = points[-1][0] if points else now
    run_start: Instant | None = None
    run_impact = Impact.NEUTRAL
    for at, adherence in reversed(points):
        if adherence.adherence_state is not _OUT:
            break
        run_start, run_impact = at, worse(run_impact, adherence.impact)

    def run_end(start: Instant) -> tuple[Instant, Impact]:
        """Where the run that was open at `start` ended (`start` if it is no longer out of
        adherence there: a correction), and its impact from `start` on."""
        index = max((i for i, (at, _) in enumerate(points) if at <= start), default=None)
        if index is None or points[index][1].adherence_state is not _OUT:
            return start, Impact.NEUTRAL
        impact = points[index][1].impact
        for at, adherence in points[index + 1 :]:
            if adherence.adherence_state is not _OUT:
                return at, impact
            impact = worse(impact, adherence.impact)
        return now, impact

    return Facts(current, since, run_start, run_impact, queues, run_end)

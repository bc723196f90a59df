"""Rebuild the live engine from the store: a restart changes nothing a client can see."""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

from adhere.adapters.store import SqlStore
from adhere.domain.engine import AdherenceEngine
from adhere.domain.instants import Instant
from adhere.service.live import LiveAdherence


def rebuild(live: LiveAdherence, store: SqlStore, now: Instant) -> int:
    """Replace `live`'s engine by one fed everything stored; returns the events replayed.

    Call with `live.lock` held. Events are replayed in (time, arrival) order, which the engine
    takes on its fast path and which keeps ties in arrival order, as they were first applied.
    """
    engine = AdherenceEngine()
    replayed = 0
    with store.reading() as tx:
        for unit in tx.management_units():
            engine.configure_unit(unit, tx.activity_codes(unit.id))
        for agent in tx.agents():
            engine.add_agent(agent)
        for agent_id, rows in groupby(tx.all_activities(), key=itemgetter(0)):
            activities = [activity for _, activity in rows]
            start = min(a.start for a in activities)
            end = max(a.end for a in activities)
            engine.replace_schedule(agent_id, start, end, activities)
        for stored in tx.explanations():
            engine.put_explanation(stored.explanation)
        ingest = engine.ingest
        queues: dict[str, tuple[Instant, tuple[str, ...]]] = {}
        for event in tx.events():
            ingest(event)
            replayed += 1
            if event.queue_ids is not None:  # in time order: the latest one stays
                queues[event.agent_id] = (event.time, event.queue_ids)
    engine.advance_to(now)
    live.replace_engine(engine, queues)
    return replayed

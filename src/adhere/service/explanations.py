"""Use cases: explanations of time out of adherence, and their approval or denial."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from adhere.adapters.store import StoredExplanation
from adhere.domain.explanations import Explanation, ExplanationStatus, ExplanationType
from adhere.domain.instants import Instant
from adhere.service.context import ServiceContext
from adhere.service.organisation import NotFound, require_agent


def create_explanation(
    ctx: ServiceContext,
    agent_id: str,
    start: Instant,
    length_minutes: float,
    kind: ExplanationType = ExplanationType.LATE,
    notes: str | None = None,
    *,
    explanation_id: str | None = None,
    status: ExplanationStatus = ExplanationStatus.PENDING,
) -> StoredExplanation:
    """A new explanation, Pending unless imported with its status."""
    explanation = Explanation(
        explanation_id or f"ex_{secrets.token_urlsafe(12)}",
        agent_id,
        start,
        length_minutes,
        status,
        kind,
    )
    with ctx.write("explanation") as write:
        require_agent(write.tx, agent_id)
        write.tx.put_explanation(explanation, notes, ctx.clock())
        stored = write.tx.explanation(explanation.id)
        write.then(lambda live: live.put_explanation(explanation))
    assert stored is not None
    return stored


def set_status(
    ctx: ServiceContext, explanation_id: str, status: ExplanationStatus, notes: str | None = None
) -> StoredExplanation:
    """Approve, deny or reopen; approval turns the covered out-of-adherence time Explained."""
    with ctx.write("explanation") as write:
        tx = write.tx
        found = tx.explanation(explanation_id)
        if found is None:
            raise NotFound("explanation", explanation_id)
        old = found.explanation
        changed = Explanation(old.id, old.agent_id, old.start, old.length_minutes, status, old.type)
        tx.put_explanation(changed, notes if notes is not None else found.notes, ctx.clock())
        stored = tx.explanation(explanation_id)
        write.then(lambda live: live.put_explanation(changed))
    assert stored is not None
    return stored


def get_explanation(ctx: ServiceContext, explanation_id: str) -> StoredExplanation:
    with ctx.store.reading() as tx:
        found = tx.explanation(explanation_id)
    if found is None:
        raise NotFound("explanation", explanation_id)
    return found


def list_explanations(
    ctx: ServiceContext,
    agent_ids: Sequence[str] | None = None,
    status: ExplanationStatus | None = None,
    start: Instant | None = None,
    end: Instant | None = None,
) -> list[StoredExplanation]:
    with ctx.store.reading() as tx:
        return tx.explanations(agent_ids, status, start, end)

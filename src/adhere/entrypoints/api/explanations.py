"""Routes: explanations of out-of-adherence time; approval makes the covered time Explained."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from adhere.adapters.scenario_format import render_explanation
from adhere.adapters.store import StoredExplanation
from adhere.domain.explanations import ExplanationStatus, ExplanationType
from adhere.domain.instants import format_instant
from adhere.entrypoints.api import models
from adhere.entrypoints.api.deps import context, instant, path_id
from adhere.entrypoints.api.security import (
    Principal,
    forbid_role,
    require_sees_id,
    requires,
    visible_agent_ids,
)
from adhere.service import explanations
from adhere.service.context import ServiceContext

router = APIRouter(prefix="/api/v1", tags=["explanations"])


_WRITE = "schedule:agent:write"


@router.post("/explanations", status_code=201, response_model=models.Explanation)
def create(
    body: models.ExplanationIn,
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_WRITE),
) -> dict[str, Any]:
    """A new explanation, Pending until approved or denied."""
    require_sees_id(principal, ctx, body.agent_id)
    stored = explanations.create_explanation(
        ctx,
        body.agent_id,
        instant(body.start, "start"),
        body.length_minutes,
        ExplanationType(body.type),
        body.notes,
    )
    return _render(stored)


@router.get("/explanations", response_model=models.ExplanationList)
def list_all(
    agent_id: list[str] | None = Query(default=None, max_length=1000),
    status: Literal["Pending", "Approved", "Denied"] | None = None,
    start: str | None = Query(default=None, description="Only those ending after this."),
    end: str | None = Query(default=None, description="Only those starting before this."),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires("adherence:read"),
) -> dict[str, Any]:
    """The explanations of the agents the caller sees."""
    found = explanations.list_explanations(
        ctx,
        agent_id,
        None if status is None else ExplanationStatus(status),
        None if start is None else instant(start, "start"),
        None if end is None else instant(end, "end"),
    )
    visible = visible_agent_ids(principal, ctx)
    return {
        "items": [
            _render(item)
            for item in found
            if visible is None or item.explanation.agent_id in visible
        ]
    }


@router.get("/explanations/{explanation_id}", response_model=models.Explanation)
def get(
    explanation_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires("adherence:read"),
) -> dict[str, Any]:
    return _render(_visible(principal, ctx, explanation_id))


@router.post("/explanations/{explanation_id}/approve", response_model=models.Explanation)
def approve(
    body: models.ExplanationDecisionIn | None = None,
    explanation_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_WRITE),
) -> dict[str, Any]:
    """Approve: the covered out-of-adherence time becomes Explained, live and in history."""
    _may_decide(principal, ctx, explanation_id)
    notes = None if body is None else body.notes
    return _render(explanations.set_status(ctx, explanation_id, ExplanationStatus.APPROVED, notes))


@router.post("/explanations/{explanation_id}/deny", response_model=models.Explanation)
def deny(
    body: models.ExplanationDecisionIn | None = None,
    explanation_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    principal: Principal = requires(_WRITE),
) -> dict[str, Any]:
    _may_decide(principal, ctx, explanation_id)
    notes = None if body is None else body.notes
    return _render(explanations.set_status(ctx, explanation_id, ExplanationStatus.DENIED, notes))


def _visible(principal: Principal, ctx: ServiceContext, explanation_id: str) -> StoredExplanation:
    found = explanations.get_explanation(ctx, explanation_id)
    require_sees_id(principal, ctx, found.explanation.agent_id)
    return found


def _may_decide(principal: Principal, ctx: ServiceContext, explanation_id: str) -> None:
    """Agents explain, supervisors decide: on explanations of agents they see."""
    forbid_role(principal, "agent", "approve or deny explanations")
    _visible(principal, ctx, explanation_id)


def _render(stored: StoredExplanation) -> dict[str, Any]:
    return {
        **render_explanation(stored.explanation),
        "notes": stored.notes,
        "created": format_instant(stored.created_us),
        "updated": format_instant(stored.updated_us),
    }

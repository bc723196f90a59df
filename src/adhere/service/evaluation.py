"""Use case: evaluate a scenario document, as `adhere evaluate` does."""

from __future__ import annotations

from typing import Any

from adhere.adapters.scenario_format import parse_scenario, render_result
from adhere.domain.evaluation import evaluate


def evaluate_document(document: object) -> dict[str, Any]:
    """The ``adhere-result/1`` document for an ``adhere-scenario/1`` one.

    Raises `InvalidInput` naming the offending item; never returns a partial result.
    """
    return render_result(evaluate(parse_scenario(document)))

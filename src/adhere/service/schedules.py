"""Use cases: replace an agent's activities in a time range, one agent or many at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from adhere.adapters.store import StoreTransaction
from adhere.domain.adherence import Classifier
from adhere.domain.errors import InvalidInput
from adhere.domain.organisation import Agent
from adhere.domain.schedule import ScheduleReplacement, replaced_range
from adhere.service.context import ServiceContext
from adhere.service.live import LiveAdherence
from adhere.service.organisation import require_agent, require_unit
from adhere.service.webhooks import publish_schedule_changes


def replace_schedules(
    ctx: ServiceContext,
    replacements: Sequence[ScheduleReplacement],
    progress: Callable[[int], None] = lambda _done: None,
) -> int:
    """Apply every replacement in one transaction, or none of them; returns activities stored.

    An error names the replacement (``schedules[3]``) and, for overlaps, both activities.
    """
    with ctx.write("schedule") as write:
        classifiers: dict[str, Classifier] = {}
        replaced: list[tuple[Agent, ScheduleReplacement]] = []
        for index, item in enumerate(replacements):
            try:
                replaced.append((_replace(write.tx, item, classifiers), item))
            except InvalidInput as error:
                if len(replacements) > 1:
                    raise error.at(f"schedules[{index}]") from None
                raise
            progress(index + 1)
        publish_schedule_changes(write.tx, replaced, ctx.clock())  # in this transaction
        write.then(lambda live: _apply(live, replacements))
    return sum(len(item.activities) for item in replacements)


def _apply(live: LiveAdherence, replacements: Sequence[ScheduleReplacement]) -> None:
    for item in replacements:
        live.replace_schedule(item.agent_id, item.start, item.end, item.activities)


def _replace(
    tx: StoreTransaction, item: ScheduleReplacement, classifiers: dict[str, Classifier]
) -> Agent:
    agent = require_agent(tx, item.agent_id)
    unit_id = agent.management_unit_id
    classifier = classifiers.get(unit_id)
    if classifier is None:
        unit = require_unit(tx, unit_id)
        classifier = classifiers[unit_id] = Classifier(unit.settings, tx.activity_codes(unit_id))
    for index, activity in enumerate(item.activities):
        try:
            classifier.require_code(activity.activity_code_id)
        except InvalidInput as error:
            raise InvalidInput(error.message, f"activities[{index}].activity_code_id") from None
    overlapping = tx.activities(item.agent_id, item.start, item.end)
    result = replaced_range(item.agent_id, overlapping, item.start, item.end, item.activities)
    tx.replace_activities(item.agent_id, overlapping, result)
    return agent

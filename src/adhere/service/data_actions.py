"""Use cases: data actions (import, export, replace, delete), their credentials, their log.

Every write of an action, whatever its origin (the API's import and update, the CLI's import),
goes through `save_action`, and every check an action must pass before it is saved is in
`check_before_save`. Running actions is `ActionRunner`'s (service/action_runner.py).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from adhere.adapters.sealing import Sealer
from adhere.adapters.store import StoreTransaction
from adhere.domain.action_credentials import Credential, CredentialKind, parse_credential
from adhere.domain.action_executions import (
    ActionExecution,
    TraceStep,
    checked_input,
    trace_outcome,
)
from adhere.domain.data_actions import DataAction, SavedAction, parse_action, render_action
from adhere.domain.errors import InvalidInput
from adhere.domain.instants import format_instant
from adhere.service.context import ServiceContext
from adhere.service.organisation import NotFound

DEFAULT_CATEGORY = "Custom"
MAX_CATEGORY = 200
MAX_EXECUTIONS_LISTED = 1000
_CREDENTIAL_REFERENCE = re.compile(r"\$!?\{?credentials\.([A-Za-z_]\w*)")


class CredentialInUse(Exception):
    """A credential cannot be deleted while actions authenticate with it."""

    def __init__(self, credential_id: str, actions: list[tuple[str, str]]) -> None:
        named = ", ".join(f"{action_id} ({name!r})" for action_id, name in actions)
        noun = "action" if len(actions) == 1 else "actions"
        super().__init__(
            f"credential {credential_id!r} is used by {noun} {named}: change or delete "
            f"{'it' if len(actions) == 1 else 'them'} first"
        )
        self.credential_id = credential_id
        self.actions = actions


# ---- credentials -----------------------------------------------------------------------------


def create_credential(ctx: ServiceContext, sealer: Sealer, document: object) -> Credential:
    """A new credential; its secret values are sealed and will never be shown again."""
    new = parse_credential(document)
    now = ctx.clock()
    credential = Credential(
        f"cr_{secrets.token_urlsafe(12)}", new.name, new.kind, new.details, now, now
    )
    sealed = sealer.seal(new.secret)
    with ctx.store.transaction() as tx:
        tx.actions.add_credential(credential, sealed)
    return credential


def list_credentials(ctx: ServiceContext) -> list[Credential]:
    with ctx.store.reading() as tx:
        return tx.actions.credentials()


def get_credential(ctx: ServiceContext, credential_id: str) -> Credential:
    with ctx.store.reading() as tx:
        return _credential(tx, credential_id)


def delete_credential(ctx: ServiceContext, credential_id: str) -> None:
    """Refused (`CredentialInUse`) while an action uses it."""
    with ctx.store.transaction() as tx:
        _credential(tx, credential_id)
        using = tx.actions.actions_using(credential_id)
        if using:
            raise CredentialInUse(credential_id, using)
        tx.actions.delete_credential(credential_id)


# ---- actions ---------------------------------------------------------------------------------


def save_action(
    ctx: ServiceContext,
    document: object,
    action_id: str | None = None,
    verify: Callable[[DataAction], None] | None = None,
) -> SavedAction:
    """THE way an action is written: a new one (`action_id` None: import or create) or the
    replacement of one (update). `document` is Genesys Cloud's export JSON with Adhere's
    fields, and an optional ``category``; an ``id`` in it is ignored. `verify` (the scope
    check, service/action_scopes.py) may refuse it first: it calls other servers, so it runs
    outside the transaction."""
    action = parse_action(document)
    if verify is not None:
        verify(action)
    category = _category(document)
    now = ctx.clock()
    with ctx.store.transaction() as tx:
        created = now
        if action_id is not None:
            existing = tx.actions.action(action_id)
            if existing is None:
                raise NotFound("action", action_id)
            created = existing.created
        credential = None
        if action.credential_id is not None:
            credential = tx.actions.credential(action.credential_id)
            if credential is None:
                raise InvalidInput(f"no credential {action.credential_id!r}", "credentialId")
        check_before_save(tx, action, credential)
        saved = SavedAction(
            action_id or f"act_{secrets.token_urlsafe(12)}", category, action, created, now
        )
        if action_id is None:
            tx.actions.add_action(saved)
        else:
            tx.actions.replace_action(saved)
    return saved


def check_before_save(
    tx: StoreTransaction, action: DataAction, credential: Credential | None
) -> None:
    """Refuse an action that cannot work with its credential, naming the field.

    Every save passes here, inside its transaction (`tx` reads anything else needed). Checks
    about what the credential may do at the target (e.g. scopes a route requires) belong here.
    """
    used = _credential_references(action)
    if not used:
        return
    if credential is None or credential.kind is not CredentialKind.USER_DEFINED:
        where, name = used[0]
        raise InvalidInput(
            f"uses $credentials.{name}, which needs a user_defined credential in credentialId",
            where,
        )
    fields = set(credential.details.get("fields", ()))
    for where, name in used:
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise InvalidInput(
                f"uses $credentials.{name}, but credential {credential.id!r} has only {known}",
                where,
            )


def list_actions(ctx: ServiceContext) -> list[SavedAction]:
    with ctx.store.reading() as tx:
        return tx.actions.actions()


def get_action(ctx: ServiceContext, action_id: str) -> SavedAction:
    with ctx.store.reading() as tx:
        return _action(tx, action_id)


def exported(saved: SavedAction) -> dict[str, Any]:
    """The action as Genesys Cloud's export JSON (importable again), with its id and category."""
    return {"id": saved.id, "category": saved.category, **render_action(saved.action)}


def delete_action(ctx: ServiceContext, action_id: str) -> None:
    """The action is gone; its executions stay in the log."""
    with ctx.store.transaction() as tx:
        if not tx.actions.delete_action(action_id):
            raise NotFound("action", action_id)


def check_input(ctx: ServiceContext, action_id: str, value: object) -> dict[str, Any]:
    """The input, if the action's contract accepts it; else an error naming the field."""
    with ctx.store.reading() as tx:
        saved = _action(tx, action_id)
    return checked_input(saved.action, value)


def list_executions(ctx: ServiceContext, action_id: str, limit: int = 100) -> list[ActionExecution]:
    """The latest executions, newest first; those of a deleted action stay listed."""
    if not 1 <= limit <= MAX_EXECUTIONS_LISTED:
        raise InvalidInput(f"must be from 1 to {MAX_EXECUTIONS_LISTED}", "limit")
    with ctx.store.reading() as tx:
        found = tx.actions.executions(action_id, limit)
        if not found:
            _action(tx, action_id)
    return found


# ---- what the API and the CLI show -----------------------------------------------------------


def credential_view(credential: Credential) -> dict[str, Any]:
    """A credential as shown: its public details, never its secret."""
    return {
        "id": credential.id,
        "name": credential.name,
        "kind": credential.kind.value,
        "details": dict(credential.details),
        "created": format_instant(credential.created),
        "updated": format_instant(credential.updated),
    }


def summary_view(saved: SavedAction) -> dict[str, Any]:
    action = saved.action
    return {
        "id": saved.id,
        "name": action.name,
        "category": saved.category,
        "method": action.method,
        "url_template": action.url_template,
        "credential_id": action.credential_id,
        "timeout_seconds": action.timeout_seconds,
        "created": format_instant(saved.created),
        "updated": format_instant(saved.updated),
    }


def execution_view(execution: ActionExecution) -> dict[str, Any]:
    return {
        "id": execution.id,
        "action_id": execution.action_id,
        "source": execution.source,
        "started": format_instant(execution.started),
        "finished": format_instant(execution.finished),
        "outcome": execution.outcome.value,
        "attempts": [attempt.as_json() for attempt in execution.attempts],
        "input": dict(execution.input),
        "output": execution.output,
        "error": execution.error,
        "failed_step": execution.failed_step,
    }


def trace_view(steps: list[TraceStep]) -> dict[str, Any]:
    """A test's report: success, every step, and the output or the first error."""
    output, failed = trace_outcome(steps)
    return {
        "success": failed is None,
        "steps": [
            {
                "name": step.name,
                "status": step.status.value,
                "result": step.result,
                "error": step.error,
                "field": step.field,
            }
            for step in steps
        ],
        "output": output if failed is None else None,
        "error": None if failed is None else failed.described,
    }


# ---- helpers ---------------------------------------------------------------------------------


def _category(document: object) -> str:
    value = document.get("category") if isinstance(document, Mapping) else None
    if value is None:
        return DEFAULT_CATEGORY
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_CATEGORY:
        raise InvalidInput(f"must be a non-empty string of at most {MAX_CATEGORY}", "category")
    return value


def _credential_references(action: DataAction) -> list[tuple[str, str]]:
    """(field, name) of each ``$credentials.<name>`` in the action's request templates."""
    templates = [
        ("config.request.requestUrlTemplate", action.url_template),
        ("config.request.requestTemplate", action.request_template),
        *((f"config.request.headers.{name}", value) for name, value in action.headers.items()),
    ]
    return [
        (where, match.group(1))
        for where, template in templates
        for match in _CREDENTIAL_REFERENCE.finditer(template)
    ]


def _credential(tx: StoreTransaction, credential_id: str) -> Credential:
    found = tx.actions.credential(credential_id)
    if found is None:
        raise NotFound("credential", credential_id)
    return found


def _action(tx: StoreTransaction, action_id: str) -> SavedAction:
    found = tx.actions.action(action_id)
    if found is None:
        raise NotFound("action", action_id)
    return found

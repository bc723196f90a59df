"""The scope check (service/scope_check.py) applied to saved data actions and to rules.

Saving an action, or a rule that runs one, asks first whether the action's credential holds
the scopes its target route requires; `adhere doctor action` asks the same and shows the
whole verdict. The check is asynchronous (it fetches the target's OpenAPI document and a
token), so `ScopeGuard` runs it through `run`: the server's automation loop, or a loop of
the command's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from adhere.adapters.sealing import Sealer
from adhere.domain.action_credentials import CredentialKind
from adhere.domain.data_actions import DataAction
from adhere.domain.errors import InvalidInput
from adhere.domain.rules import RuleSpec, RunDataAction
from adhere.service.action_runner import (
    ActionRunner,
    absolute_url,
    oauth_client,
    run_in_own_loop,
)
from adhere.service.context import ServiceContext
from adhere.service.scope_check import ScopeVerdict, check_action_scopes

RunWithRunner = Callable[[Callable[[ActionRunner], Awaitable[ScopeVerdict]]], ScopeVerdict]


class ScopeGuard:
    def __init__(self, ctx: ServiceContext, sealer: Sealer, run: RunWithRunner) -> None:
        self._ctx = ctx
        self._sealer = sealer
        self._run = run

    def verdict(self, action: DataAction) -> ScopeVerdict:
        """Does the action's credential hold what its target route requires?"""
        credential, sealed = None, None
        if action.credential_id is not None:
            with self._ctx.store.reading() as tx:
                credential = tx.actions.credential(action.credential_id)
                sealed = tx.actions.sealed_secret(action.credential_id)
        oauth = None  # only an OAuth credential holds scopes: only its secret is opened
        if (
            credential is not None
            and sealed is not None
            and credential.kind is CredentialKind.OAUTH_CLIENT_CREDENTIALS
        ):
            secret = self._sealer.unseal(sealed, f"credential {credential.id!r}")
            oauth = oauth_client(credential.details, secret)
        target = replace(
            action,
            url_template=absolute_url(action.url_template, credential) or action.url_template,
        )
        label = None if credential is None else repr(credential.id)

        async def check(runner: ActionRunner) -> ScopeVerdict:
            transport = await runner.transport()
            return await check_action_scopes(target, oauth, label, transport.http, transport.tokens)

        return self._run(check)

    def check_action(self, action: DataAction) -> None:
        """Refuse to save an action whose credential lacks a scope its target requires."""
        verdict = self.verdict(action)
        if verdict.refused:
            raise InvalidInput(verdict.explanation(), "credentialId")

    def check_rule(self, spec: RuleSpec) -> None:
        """Refuse to save a rule one of whose data actions would be refused for a scope."""
        for index, action in enumerate(spec.actions):
            if not isinstance(action, RunDataAction):
                continue
            with self._ctx.store.reading() as tx:
                saved = tx.actions.action(action.action_id)
            if saved is None:
                continue  # the rule's own reference check names it
            verdict = self.verdict(saved.action)
            if verdict.refused:
                raise InvalidInput(
                    f"data action {action.action_id!r} would be refused: " + verdict.explanation(),
                    f"actions[{index}].action_id",
                )


def own_loop_guard(ctx: ServiceContext, sealer: Sealer) -> ScopeGuard:
    """A guard for a command: each check runs in a fresh event loop with its own runner."""

    def run(check: Callable[[ActionRunner], Awaitable[ScopeVerdict]]) -> ScopeVerdict:
        return run_in_own_loop(ctx.store, sealer, check)

    return ScopeGuard(ctx, sealer, run)

"""Routes: data action credentials, data actions (Genesys Cloud export JSON), running them, the log.

Actions run in the automation loop (`Container.automation`), which owns the HTTP client and
the OAuth token cache; a route hands the run over and awaits its result.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from adhere.entrypoints.api import models
from adhere.entrypoints.api.deps import container, context, path_id
from adhere.entrypoints.api.problems import Problem
from adhere.entrypoints.api.security import Principal, requires
from adhere.service import data_actions
from adhere.service.context import ServiceContext
from adhere.service.data_actions import CredentialInUse

router = APIRouter(prefix="/api/v1", tags=["data actions"])
_MANAGE = "actions:manage"
_EXECUTE = "actions:execute"
_EXPORT_EXAMPLE = {
    "name": "Set presence",
    "category": "Platform",
    "credentialId": "cr_…",
    "config": {
        "request": {
            "requestUrlTemplate": "/api/v2/users/${input.userId}/presence",
            "requestType": "PATCH",
            "headers": {},
            "requestTemplate": '{"presence": "$esc.jsonString(${input.presence})"}',
        },
        "response": {
            "translationMap": {"presence": "$.presence"},
            "translationMapDefaults": {},
            "successTemplate": '{"presence": ${presence}}',
        },
        "timeoutSeconds": 10,
        "retryStrategy": "exponential_backoff",
    },
    "contract": {
        "input": {"inputSchema": {"type": "object", "required": ["userId", "presence"]}},
        "output": {"successSchema": {"type": "object"}},
    },
}


_DEFINITION = Body(
    description="Genesys Cloud's data action export JSON, plus Adhere's optional "
    "`category`, `credentialId`, `config.timeoutSeconds` (1–60) and "
    '`config.retryStrategy` ("exponential_backoff" or Temporal-style fields)',
    examples=[_EXPORT_EXAMPLE],
)


# ---- credentials -----------------------------------------------------------------------------


@router.post("/credentials", status_code=201, response_model=models.Credential)
def create_credential(
    body: models.CredentialIn,
    request: Request,
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Store a credential for data actions. Its secret values are sealed and never returned."""
    credential = data_actions.create_credential(
        ctx, container(request).sealer, body.model_dump(exclude_unset=True)
    )
    return data_actions.credential_view(credential)


@router.get("/credentials", response_model=models.CredentialList)
def list_credentials(
    ctx: ServiceContext = Depends(context), _: Principal = requires(_MANAGE)
) -> dict[str, Any]:
    return {"items": [data_actions.credential_view(c) for c in data_actions.list_credentials(ctx)]}


@router.get("/credentials/{credential_id}", response_model=models.Credential)
def get_credential(
    credential_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    return data_actions.credential_view(data_actions.get_credential(ctx, credential_id))


@router.delete(
    "/credentials/{credential_id}",
    status_code=204,
    response_class=Response,
    responses={
        409: {
            "description": "Actions use the credential; `actions` lists them",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}
            },
        }
    },
)
def delete_credential(
    credential_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> Response:
    """Refused with 409, naming them, while actions use the credential."""
    try:
        data_actions.delete_credential(ctx, credential_id)
    except CredentialInUse as error:
        raise Problem(
            409,
            "credential.in_use",
            str(error),
            actions=[{"id": action_id, "name": name} for action_id, name in error.actions],
        ) from None
    return Response(status_code=204)


# ---- actions ---------------------------------------------------------------------------------


@router.post("/actions", status_code=201)
def import_action(
    request: Request,
    document: dict[str, Any] = _DEFINITION,
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Import an action (create it): the answer is its export, with its new `id`. Refused,
    naming the scope, if its credential lacks one its target route requires (when the
    target publishes an OpenAPI document)."""
    verify = container(request).verify_action
    return data_actions.exported(data_actions.save_action(ctx, document, verify=verify))


@router.get("/actions", response_model=models.ActionList)
def list_actions(
    ctx: ServiceContext = Depends(context), _: Principal = requires(_MANAGE)
) -> dict[str, Any]:
    return {"items": [data_actions.summary_view(saved) for saved in data_actions.list_actions(ctx)]}


@router.get("/actions/{action_id}")
def export_action(
    action_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """The action as Genesys Cloud export JSON, which `POST /api/v1/actions` imports again."""
    return data_actions.exported(data_actions.get_action(ctx, action_id))


@router.put("/actions/{action_id}")
def replace_action(
    request: Request,
    document: dict[str, Any] = _DEFINITION,
    action_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """Replace an action's definition (its id, and its executions, stay); checked as on
    import."""
    verify = container(request).verify_action
    return data_actions.exported(data_actions.save_action(ctx, document, action_id, verify))


@router.delete("/actions/{action_id}", status_code=204, response_class=Response)
def delete_action(
    action_id: str = path_id(),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> Response:
    """The action is gone; its executions stay listed."""
    data_actions.delete_action(ctx, action_id)
    return Response(status_code=204)


@router.post("/actions/{action_id}/execute", response_model=models.ActionExecution)
async def execute_action(
    body: models.ActionInput,
    request: Request,
    action_id: str = path_id(),
    _: Principal = requires(_EXECUTE),
) -> dict[str, Any]:
    """Run the action and log it. Input the contract refuses is a 422 naming the field (and
    nothing runs); any later failure is in the execution's `outcome`, `error`, `attempts`."""
    service = container(request)
    await run_in_threadpool(data_actions.check_input, service.context, action_id, body.input)
    run = service.actions.execute(action_id, body.input, "api")
    execution = await asyncio.wrap_future(service.automation.submit(run))
    return data_actions.execution_view(execution)


@router.post("/actions/{action_id}/test", response_model=models.ActionTrace)
async def trace_action(
    body: models.ActionInput,
    request: Request,
    action_id: str = path_id(),
    _: Principal = requires(_EXECUTE),
) -> dict[str, Any]:
    """Run the action without logging it, and report every step: its result or its error
    (and where). The steps after a failure did not run."""
    service = container(request)
    steps = await asyncio.wrap_future(
        service.automation.submit(service.actions.test(action_id, body.input))
    )
    return data_actions.trace_view(steps)


@router.get("/actions/{action_id}/executions", response_model=models.ActionExecutionList)
def list_executions(
    action_id: str = path_id(),
    limit: int = Query(default=100, ge=1, le=data_actions.MAX_EXECUTIONS_LISTED),
    ctx: ServiceContext = Depends(context),
    _: Principal = requires(_MANAGE),
) -> dict[str, Any]:
    """The latest executions, newest first (also of a deleted action)."""
    found = data_actions.list_executions(ctx, action_id, limit)
    return {"items": [data_actions.execution_view(e) for e in found]}

"""The mission's question, answered end to end: "when an agent logs in, can I update their
schedule adherence immediately?" — against a real `adhere serve` and a real HTTP stand-in of
the platform (OAuth 2 protected, publishing an OpenAPI document that names each route's scope).

A rule on `agent.login`, for agents scheduled on queue, runs a data action that sets the agent's
presence On Queue at the platform; the platform reports the new presence back to Adhere. A
credential without `presence:write` cannot even be saved, and the refusal names the scope.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.service_process import (
    api_client,
    create_client,
    fetch_token,
    start_server,
)
from tests.http_server import serving
from tests.stand_ins.platform import Platform

READ, WRITE = "presence:read", "presence:write"
PLATFORM_CLIENT, PLATFORM_SECRET = "adhere-automation", "automation-secret"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def set_presence_action(platform_url: str, credential_id: str) -> dict[str, Any]:
    """A Web Services data action, in Genesys Cloud's export format."""
    return {
        "name": "Set the agent's presence",
        "integrationType": "purecloud-data-actions",
        "actionType": "custom",
        "config": {
            "request": {
                "requestUrlTemplate": f"{platform_url}/api/v2/users/${{input.userId}}/presence",
                "requestType": "PATCH",
                "headers": {"Content-Type": "application/json"},
                "requestTemplate": '{"presence": "${input.presence}"}',
            },
            "response": {
                "translationMap": {"presence": "$.presence"},
                "translationMapDefaults": {},
                "successTemplate": '{"presence": ${presence}}',
            },
        },
        "credentialId": credential_id,
        "contract": {
            "input": {
                "inputSchema": {
                    "type": "object",
                    "required": ["userId", "presence"],
                    "properties": {"userId": {"type": "string"}, "presence": {"type": "string"}},
                }
            },
            "output": {
                "successSchema": {
                    "type": "object",
                    "properties": {"presence": {"type": "string"}},
                }
            },
        },
    }


def oauth_credential(token_url: str, client_id: str, secret: str, *scopes: str) -> dict[str, Any]:
    return {
        "name": f"{client_id} ({' '.join(scopes)})",
        "kind": "oauth_client_credentials",
        "token_url": token_url,
        "client_id": client_id,
        "client_secret": secret,
        "scopes": list(scopes),
    }


def test_a_login_puts_the_agent_on_queue_and_in_adherence_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    admin = create_client(database_url, "wfm-admin")
    reporter = create_client(database_url, "platform-notifications", ["events:write"])
    platform = Platform(clients={PLATFORM_CLIENT: (PLATFORM_SECRET, frozenset({READ}))})
    server = start_server(database_url, tmp_path)
    reporter_token = fetch_token(server.base_url, reporter)
    reported: list[str] = []

    async def report_presence(user_id: str, presence: str) -> None:
        """The platform's notification of the new presence, posted to Adhere."""
        event = {
            "id": f"presence-{len(reported) + 1}",
            "agent_id": user_id,
            "time": iso(datetime.now(UTC)),
            "kind": "state",
            "system_presence": presence,
            "routing_status": "IDLE",
        }
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"{server.base_url}/api/v1/events",
                json=event,
                headers={"Authorization": f"Bearer {reporter_token}"},
            )
        assert answer.status_code == 202, answer.text
        reported.append(presence)

    platform.on_presence_set = report_presence
    try:
        with (
            serving(platform.app()) as platform_url,
            api_client(server.base_url, fetch_token(server.base_url, admin)) as api,
        ):
            start = datetime.now(UTC) - timedelta(minutes=30)
            assert api.put("/api/v1/management-units/mu", json={"time_zone": "UTC"}).is_success
            code = api.put(
                "/api/v1/management-units/mu/activity-codes/oq", json={"category": "OnQueueWork"}
            )
            assert code.is_success, code.text
            assert api.put("/api/v1/agents/lee", json={"management_unit_id": "mu"}).is_success
            schedule = {
                "start": iso(start),
                "end": iso(start + timedelta(hours=2)),
                "activities": [
                    {"start": iso(start), "length_minutes": 120, "activity_code_id": "oq"}
                ],
            }
            assert api.put("/api/v1/agents/lee/schedule", json=schedule).status_code == 200

            token_url = f"{platform_url}/oauth/token"
            # A credential that does not ask for presence:write: refused, naming it.
            reader = api.post(
                "/api/v1/credentials",
                json=oauth_credential(token_url, PLATFORM_CLIENT, PLATFORM_SECRET, READ),
            )
            assert reader.status_code == 201, reader.text
            refused = api.post(
                "/api/v1/actions", json=set_presence_action(platform_url, reader.json()["id"])
            )
            assert refused.status_code == 422, refused.text
            problem = refused.json()
            assert problem["errors"][0]["field"] == "credentialId"
            assert "presence:write" in problem["errors"][0]["message"]
            assert "PATCH /api/v2/users/{userId}/presence" in problem["errors"][0]["message"]

            # One that asks for it, while the platform does not grant it yet: refused too.
            writer = api.post(
                "/api/v1/credentials",
                json=oauth_credential(token_url, PLATFORM_CLIENT, PLATFORM_SECRET, WRITE),
            )
            assert writer.status_code == 201, writer.text
            action_document = set_presence_action(platform_url, writer.json()["id"])
            not_granted = api.post("/api/v1/actions", json=action_document)
            assert not_granted.status_code == 422, not_granted.text
            assert "presence:write" in not_granted.json()["errors"][0]["message"]
            assert PLATFORM_CLIENT in not_granted.json()["errors"][0]["message"]

            # Granted at the platform: saved.
            platform.clients[PLATFORM_CLIENT] = (PLATFORM_SECRET, frozenset({READ, WRITE}))
            saved = api.post("/api/v1/actions", json=action_document)
            assert saved.status_code == 201, saved.text
            action_id = saved.json()["id"]

            rule = api.post(
                "/api/v1/rules",
                json={
                    "name": "On Queue at login",
                    "topic": "agent.login",
                    "criteria": [
                        {
                            "path": "$.data.scheduled_category",
                            "operator": "Equal",
                            "value": "OnQueueWork",
                        }
                    ],
                    "actions": [
                        {
                            "type": "data_action",
                            "action_id": action_id,
                            "input": {
                                "userId": "$.data.agent_id",
                                "presence": {"value": "OnQueue"},
                            },
                        }
                    ],
                },
            )
            assert rule.status_code == 201, rule.text
            rule_id = rule.json()["id"]
            time.sleep(0.3)  # the rule acts on what is published after it was saved

            login = {
                "id": "login-1",
                "agent_id": "lee",
                "time": iso(datetime.now(UTC)),
                "kind": "login",
            }
            began = time.monotonic()
            assert api.post("/api/v1/events", json=login).status_code == 202
            row: dict[str, Any] = {}
            while time.monotonic() - began < 5:
                row = api.get("/api/v1/agents/lee/adherence").json()
                if (
                    row["actual_category"] == "OnQueueWork"
                    and row["adherence_state"] == "InAdherence"
                ):
                    break
                time.sleep(0.01)
            elapsed = time.monotonic() - began
            print(f"login to On Queue and InAdherence: {elapsed * 1000:.0f} ms")
            assert row["adherence_state"] == "InAdherence", row
            assert row["actual_category"] == "OnQueueWork"
            assert elapsed <= 1.0, f"On Queue and InAdherence {elapsed:.3f} s after the login"
            assert platform.presence == {"lee": "OnQueue"}
            assert reported == ["OnQueue"]

            # The platform reported the presence before answering the action's request, so
            # the execution may still be recording its outcome for a moment.
            deadline = time.monotonic() + 5
            while True:
                [execution] = api.get(f"/api/v1/rules/{rule_id}/executions").json()["items"]
                if execution["status"] != "pending" or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            assert execution["status"] == "succeeded"
            assert execution["subject"] == "lee"
            [logged] = api.get(f"/api/v1/actions/{action_id}/executions").json()["items"]
            assert logged["outcome"] == "succeeded"
            assert logged["source"] == f"rule:{rule_id}"
            assert logged["output"] == {"presence": "OnQueue"}
            assert [attempt["status"] for attempt in logged["attempts"]] == [200]
    finally:
        server.stop()


def test_an_action_on_adheres_own_explanations_route_needs_schedule_agent_write(
    database_url: str, tmp_path: Path
) -> None:
    admin = create_client(database_url, "wfm-admin")
    reader = create_client(database_url, "adherence-reader", ["adherence:read"])
    server = start_server(database_url, tmp_path)
    explain = {
        "name": "Submit an explanation",
        "config": {
            "request": {
                "requestUrlTemplate": f"{server.base_url}/api/v1/explanations",
                "requestType": "POST",
                "headers": {"Content-Type": "application/json"},
                "requestTemplate": '{"agent_id": "${input.agentId}", "start": "${input.start}", '
                '"length_minutes": ${input.minutes}}',
            },
            "response": {"translationMap": {}, "successTemplate": "${rawResult}"},
        },
        "contract": {
            "input": {"inputSchema": {"type": "object", "properties": {}}},
            "output": {"successSchema": {"type": "object", "properties": {}}},
        },
    }
    try:
        with api_client(server.base_url, fetch_token(server.base_url, admin)) as api:
            credential = api.post(
                "/api/v1/credentials",
                json=oauth_credential(
                    f"{server.base_url}/oauth/token",
                    reader.id,
                    reader.secret,
                    "adherence:read",
                    "schedule:agent:write",
                ),
            )
            assert credential.status_code == 201, credential.text
            explain["credentialId"] = credential.json()["id"]
            refused = api.post("/api/v1/actions", json=explain)
            assert refused.status_code == 422, refused.text
            message = refused.json()["errors"][0]["message"]
            assert "POST /api/v1/explanations requires the scope(s) schedule:agent:write" in message
            assert f"adhere clients set-scopes {reader.id}" in message
    finally:
        server.stop()

"""Workflow rules through the API: saved, validated, run by the server's worker, listed in
their history, dry-run, and refused when an action's credential lacks a scope."""

from __future__ import annotations

import time
from typing import Any

import pytest

from adhere.service import webhooks
from tests.http_server import serving
from tests.integration.action_documents import (
    READ,
    TEST_KEY,
    oauth_credential,
    set_presence_action,
)
from tests.integration.conftest import Caller, iso, minutes, now, setup_unit
from tests.stand_ins.platform import Platform
from tests.stand_ins.receiver import Receiver


@pytest.fixture
def api_settings() -> dict[str, Any]:
    """The service may deliver to loopback, where the test's receiver listens."""
    return {"webhook_allowed_networks": ["127.0.0.0/8"], "secret_key": TEST_KEY}


def login_rule(**fields: Any) -> dict[str, Any]:
    return {"name": "logins", "topic": "agent.login", **fields}


def post_login(admin: Caller, event_id: str, agent: str = "lee") -> None:
    event = {"id": event_id, "agent_id": agent, "time": iso(now()), "kind": "login"}
    assert admin.post("/api/v1/events", json=event).status_code == 202


def wait_for(check: Any, seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("not within the time")


def test_a_rule_is_saved_listed_changed_and_deleted(admin: Caller) -> None:
    receiver_hook = admin.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "topics": ["agent.logout"]}
    ).json()["id"]
    definition = login_rule(actions=[{"type": "webhook", "endpoint_id": receiver_hook}])
    created = admin.post("/api/v1/rules", json=definition)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["enabled"] is True
    assert rule["criteria"] == []
    assert admin.get(f"/api/v1/rules/{rule['id']}").json() == rule
    assert [item["id"] for item in admin.get("/api/v1/rules").json()["items"]] == [rule["id"]]
    changed = admin.put(f"/api/v1/rules/{rule['id']}", json={**definition, "for_seconds": 60})
    assert changed.json()["for_seconds"] == 60
    disabled = admin.patch(f"/api/v1/rules/{rule['id']}", json={"enabled": False})
    assert disabled.json()["enabled"] is False
    assert admin.delete(f"/api/v1/rules/{rule['id']}").status_code == 204
    missing = admin.get(f"/api/v1/rules/{rule['id']}")
    assert missing.status_code == 404
    assert admin.get(f"/api/v1/rules/{rule['id']}/executions").status_code == 404


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        (
            login_rule(actions=[{"type": "webhook", "endpoint_id": "ep_nope"}]),
            "actions[0].endpoint_id",
        ),
        (
            login_rule(actions=[{"type": "data_action", "action_id": "act_nope"}]),
            "actions[0].action_id",
        ),
        (
            login_rule(topic="agent.yawned", actions=[{"type": "webhook", "endpoint_id": "e"}]),
            "topic",
        ),
        (
            login_rule(
                criteria=[{"path": "$.data.kind", "operator": "Like", "value": "x"}],
                actions=[{"type": "webhook", "endpoint_id": "e"}],
            ),
            "criteria[0].operator",
        ),
        (login_rule(actions=[]), "actions"),
        (login_rule(actions=[{"type": "webhook", "endpoint_id": "e"}], colour="red"), "colour"),
    ],
)
def test_a_wrong_rule_is_a_problem_naming_the_field(
    admin: Caller, definition: dict[str, Any], field: str
) -> None:
    response = admin.post("/api/v1/rules", json=definition)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field


def test_the_server_runs_a_rule_on_the_events_it_accepts(admin: Caller) -> None:
    setup_unit(admin, agents=("lee", "max"))
    receiver = Receiver()
    with serving(receiver.app()) as base:
        hook = admin.post(
            "/api/v1/webhooks", json={"url": f"{base}/hook", "topics": ["agent.logout"]}
        )
        receiver.secret = hook.json()["secret"]
        rule = admin.post(
            "/api/v1/rules",
            json=login_rule(
                criteria=[{"path": "$.data.agent_id", "operator": "Equal", "value": "max"}],
                actions=[{"type": "webhook", "endpoint_id": hook.json()["id"]}],
            ),
        ).json()
        time.sleep(0.2)  # rules act on what is published after they are saved
        post_login(admin, "l-lee", "lee")
        post_login(admin, "l-max", "max")
        wait_for(lambda: receiver.received)
        time.sleep(0.3)
        assert [r.payload["data"]["agent_id"] for r in receiver.received] == ["max"]
        assert receiver.received[0].payload["type"] == "agent.login"
    [execution] = admin.get(f"/api/v1/rules/{rule['id']}/executions").json()["items"]
    assert execution["status"] == "succeeded"
    assert execution["subject"] == "max"
    assert execution["message"]["data"]["event_id"] == "l-max"
    assert execution["actions"][0]["outcome"] == "succeeded"


def test_a_dry_run_replays_the_last_days_events_without_running_anything(
    admin: Caller,
) -> None:
    setup_unit(admin, agents=("lee", "max"))
    post_login(admin, "l-lee", "lee")  # nobody listens to agent.login: the events still count
    post_login(admin, "l-max", "max")
    dry = admin.post(
        "/api/v1/rules/dry-run",
        json=login_rule(
            criteria=[{"path": "$.data.agent_id", "operator": "In", "value": ["max", "zed"]}],
            actions=[
                {
                    "type": "data_action",
                    "action_id": "act_not_needed_for_a_dry_run",
                    "input": {"userId": "$.data.agent_id", "unit": "$.data.management_unit_id"},
                }
            ],
        ),
    )
    assert dry.status_code == 200, dry.text
    result = dry.json()
    assert result["messages"] == 2
    [firing] = result["firings"]
    assert firing["subject"] == "max"
    assert firing["message"]["data"]["scheduled_category"] == "Unscheduled"
    assert firing["actions"][0]["input"] == {"userId": "max", "unit": "nyc"}
    assert admin.get("/api/v1/rules").json()["items"] == []  # nothing was saved


def test_a_rule_whose_action_lost_its_scope_is_refused_naming_it(
    admin: Caller, platform: Platform, platform_url: str
) -> None:
    credential = admin.post(
        "/api/v1/credentials", json=oauth_credential(platform_url, "writer")
    ).json()
    action = admin.post("/api/v1/actions", json=set_presence_action(credential["id"]))
    assert action.status_code == 201, action.text
    platform.clients["writer"] = ("writer-secret", frozenset({READ}))
    platform.revoke_all()  # and Adhere's cached token must not hide it
    definition = login_rule(
        actions=[
            {
                "type": "data_action",
                "action_id": action.json()["id"],
                "input": {"userId": "$.data.agent_id", "presence": {"value": "Available"}},
            }
        ]
    )
    refused = admin.post("/api/v1/rules", json=definition)
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert error["field"] == "actions[0].action_id"
    assert "presence:write" in error["message"]


def test_rule_routes_need_rules_manage(admin: Caller) -> None:
    headers = admin.api.headers("actions:manage")
    response = admin.api.client.get("/api/v1/rules", headers=headers)
    assert response.status_code == 403
    assert "rules:manage" in response.text


def test_a_rule_that_runs_data_actions_needs_actions_execute_too(admin: Caller) -> None:
    headers = admin.api.headers("rules:manage")
    runs_an_action = login_rule(
        actions=[{"type": "data_action", "action_id": "act_x", "input": {}}]
    )
    response = admin.api.client.post("/api/v1/rules", json=runs_an_action, headers=headers)
    assert response.status_code == 403
    assert response.json()["missing_scopes"] == ["actions:execute"]
    dry = admin.api.client.post("/api/v1/rules/dry-run", json=runs_an_action, headers=headers)
    assert dry.status_code == 200  # nothing runs


def test_the_store_says_what_was_scheduled_as_the_live_engine_does(admin: Caller) -> None:
    """Dry runs and CLI imports read schedules from the store (one query an agent); the server
    asks its engine. Both must say the same for every event."""
    setup_unit(admin, agents=("lee", "max"))
    start = now() - minutes(60)
    for agent in ("lee", "max"):
        body = {
            "start": iso(start),
            "end": iso(start + minutes(60)),
            "activities": [
                {"start": iso(start), "length_minutes": 20, "activity_code_id": "oq"},
                {
                    "start": iso(start + minutes(20)),
                    "length_minutes": 10,
                    "activity_code_id": "brk",
                },
                {"start": iso(start + minutes(40)), "length_minutes": 20, "activity_code_id": "oq"},
            ],
        }
        assert admin.put(f"/api/v1/agents/{agent}/schedule", json=body).status_code == 200
    events = [
        {
            "id": f"{agent}-{offset}",
            "agent_id": agent,
            "kind": "login",
            "time": iso(start + minutes(offset)),
        }
        for agent in ("lee", "max")
        for offset in (0, 19.5, 20, 29, 30, 35, 40, 59, 61)
    ]
    assert admin.post("/api/v1/events", json={"events": events}).status_code == 202
    ctx = admin.api.container.context
    with ctx.store.reading() as tx:
        received = tx.events_received(0, ctx.clock(), 1000)
        from_store = webhooks.event_messages(tx, received, "agent.login")
        from_engine = webhooks.event_messages(tx, received, "agent.login", ctx.live)
    assert len(from_store) == len(events)
    assert from_store == from_engine
    categories = {m["data"]["scheduled_category"] for _, m in from_store}
    assert categories == {"OnQueueWork", "Break", "Unscheduled"}

"""Webhook subscriptions through the API, and signed deliveries of the events they ask for."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adhere.bootstrap import build
from adhere.config import Settings
from adhere.entrypoints.api.app import create_app
from tests.http_server import serving
from tests.integration.conftest import Api, Caller, iso, minutes, now, setup_unit
from tests.stand_ins.receiver import Receiver


@pytest.fixture
def api_settings() -> dict[str, Any]:
    """The service may deliver to loopback, where the test's receiver listens."""
    return {"webhook_allowed_networks": ["127.0.0.0/8"]}


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def receiver_url(receiver: Receiver) -> Iterator[str]:
    with serving(receiver.app()) as base:
        yield f"{base}/hook"


def subscribe(admin: Caller, receiver: Receiver, url: str, *topics: str) -> str:
    response = admin.post("/api/v1/webhooks", json={"url": url, "topics": list(topics)})
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]
    webhook_id: str = response.json()["id"]
    return webhook_id


def login(admin: Caller, event_id: str, agent: str = "lee") -> None:
    event = {"id": event_id, "agent_id": agent, "time": iso(now()), "kind": "login"}
    response = admin.post("/api/v1/events", json=event)
    assert response.status_code == 202, response.text


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def statuses(admin: Caller, webhook_id: str) -> list[str]:
    items = admin.get(f"/api/v1/webhooks/{webhook_id}/deliveries").json()["items"]
    return [item["status"] for item in items]


def test_topics_are_listed_with_the_schema_of_their_data(admin: Caller) -> None:
    response = admin.get("/api/v1/topics")
    assert response.status_code == 200
    topics = {item["name"]: item for item in response.json()["items"]}
    assert {"agent.login", "agent.logout", "webhook.endpoint.disabled"} <= set(topics)
    assert "agent_id" in topics["agent.login"]["data_schema"]["required"]


def test_a_login_is_delivered_signed_to_its_subscriber(
    admin: Caller, receiver: Receiver, receiver_url: str
) -> None:
    setup_unit(admin)
    webhook_id = subscribe(admin, receiver, receiver_url, "agent.login")
    assert receiver.secret.startswith("whsec_")
    login(admin, "e1")
    wait_for(lambda: len(receiver.received) == 1)
    message = receiver.received[0].payload  # verified with standardwebhooks by the receiver
    assert message["type"] == "agent.login"
    assert message["data"]["agent_id"] == "lee"
    assert message["data"]["event_id"] == "e1"
    assert receiver.refused_signatures == 0
    wait_for(lambda: statuses(admin, webhook_id) == ["delivered"])
    deliveries = admin.get(f"/api/v1/webhooks/{webhook_id}/deliveries").json()["items"]
    assert [(d["status"], d["attempts"], d["message_id"]) for d in deliveries] == [
        ("delivered", 1, receiver.received[0].webhook_id)
    ]


def test_only_subscribed_topics_and_enabled_endpoints_get_messages(
    admin: Caller, receiver: Receiver, receiver_url: str
) -> None:
    setup_unit(admin)
    webhook_id = subscribe(admin, receiver, receiver_url, "agent.logout")
    login(admin, "e1")  # not a topic it asked for
    change = admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"enabled": False})
    assert change.json()["enabled"] is False
    assert change.json()["disabled_reason"] == "disabled by a user"
    logout = {"id": "e2", "agent_id": "lee", "time": iso(now() + minutes(1)), "kind": "logout"}
    assert admin.post("/api/v1/events", json=logout).status_code == 202
    assert admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"enabled": True}).status_code == 200
    logout["id"], logout["time"] = "e3", iso(now() + minutes(2))
    assert admin.post("/api/v1/events", json=logout).status_code == 202
    wait_for(lambda: len(receiver.received) == 1)
    time.sleep(0.5)  # nothing else arrives
    assert [r.payload["data"]["event_id"] for r in receiver.received] == ["e3"]


def test_the_secret_is_shown_once_and_a_deleted_webhook_is_gone(
    admin: Caller, receiver: Receiver, receiver_url: str
) -> None:
    webhook_id = subscribe(admin, receiver, receiver_url, "agent.login")
    listed = admin.get("/api/v1/webhooks").json()["items"]
    assert [item["id"] for item in listed] == [webhook_id]
    assert "secret" not in listed[0]
    assert "secret" not in admin.get(f"/api/v1/webhooks/{webhook_id}").json()
    assert admin.delete(f"/api/v1/webhooks/{webhook_id}").status_code == 204
    missing = admin.get(f"/api/v1/webhooks/{webhook_id}")
    assert missing.status_code == 404
    assert webhook_id in missing.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://example.com/x", "topics": ["agent.login"]}, "url", "http or https"),
        (
            {"url": "https://example.com/x", "topics": ["agent.login", "agent.dance"]},
            "topics[1]",
            "unknown topic 'agent.dance'",
        ),
        ({"url": "https://user:pw@example.com/x", "topics": ["agent.login"]}, "url", "credentials"),
        (
            {"url": "http://10.1.2.3/x", "topics": ["agent.login"]},
            "url",
            "webhook_allowed_networks",
        ),
        ({"url": "http://169.254.169.254/latest", "topics": ["agent.login"]}, "url", "link-local"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(
    admin: Caller, body: dict[str, object], field: str, words: str
) -> None:
    response = admin.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]


def test_loopback_is_refused_unless_allowed(database_url: str) -> None:
    container = build(Settings(database_url=database_url))
    with TestClient(create_app(container)) as client:
        admin = Caller(Api(client, container))
        response = admin.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "topics": ["agent.login"]}
        )
    assert response.status_code == 422
    assert "127.0.0.1" in response.json()["errors"][0]["message"]


def test_a_filter_is_stored_returned_and_changed(admin: Caller) -> None:
    on_queue = [{"path": "$.data.scheduled_category", "operator": "Equal", "value": "OnQueueWork"}]
    created = admin.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/x", "topics": ["agent.login"], "filter": on_queue},
    )
    assert created.status_code == 201, created.text
    assert created.json()["filter"] == on_queue
    webhook_id = created.json()["id"]
    assert admin.get(f"/api/v1/webhooks/{webhook_id}").json()["filter"] == on_queue
    exists = [{"path": "$.data.team_id", "operator": "Exists", "value": True}]
    changed = admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"description": "on queue"})
    assert changed.json()["filter"] == on_queue  # untouched when not given
    changed = admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"filter": exists})
    assert changed.json()["filter"] == exists
    cleared = admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"filter": None})
    assert cleared.json()["filter"] is None
    assert admin.get("/api/v1/webhooks").json()["items"][0]["filter"] is None


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ([{"path": "$.data.agent_id", "operator": "Like", "value": "l%"}], "filter[0].operator"),
        ([{"path": "data.agent_id", "operator": "Equal", "value": "lee"}], "filter[0].path"),
        (
            [
                {"path": "$.data.agent_id", "operator": "Equal", "value": "lee"},
                {"path": "$.data.queue_ids", "operator": "In", "value": "sales"},
            ],
            "filter[1].value",
        ),
        (["$.data.agent_id"], "filter[0]"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_place(
    admin: Caller, bad: list[object], field: str
) -> None:
    body = {"url": "http://127.0.0.1:9/x", "topics": ["agent.login"], "filter": bad}
    response = admin.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    webhook_id = admin.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "topics": ["agent.login"]}
    ).json()["id"]
    response = admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"filter": bad})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_only_messages_that_pass_the_filter_are_delivered(
    admin: Caller, receiver: Receiver, receiver_url: str
) -> None:
    setup_unit(admin, agents=("lee", "kim"))
    start = now() - minutes(30)
    schedule = {
        "start": iso(start),
        "end": iso(start + minutes(60)),
        "activities": [{"start": iso(start), "length_minutes": 60, "activity_code_id": "oq"}],
    }
    assert admin.put("/api/v1/agents/kim/schedule", json=schedule).status_code == 200
    on_queue = [{"path": "$.data.scheduled_category", "operator": "Equal", "value": "OnQueueWork"}]
    response = admin.post(
        "/api/v1/webhooks",
        json={"url": receiver_url, "topics": ["agent.login"], "filter": on_queue},
    )
    receiver.secret = response.json()["secret"]
    login(admin, "lee-in", "lee")  # nothing scheduled for lee
    login(admin, "kim-in", "kim")
    wait_for(lambda: len(receiver.received) == 1)
    time.sleep(0.5)  # nothing else arrives
    (message,) = [r.payload for r in receiver.received]
    assert message["data"]["event_id"] == "kim-in"
    assert message["data"]["scheduled_category"] == "OnQueueWork"
    assert message["data"]["scheduled_activity_code_id"] == "oq"
    assert message["data"]["management_unit_id"] == "nyc"


def test_adherence_changes_reach_a_subscriber(
    admin: Caller, receiver: Receiver, receiver_url: str
) -> None:
    setup_unit(admin)
    subscribe(admin, receiver, receiver_url, "adherence.changed")
    announcer = admin.api.container.announcer
    assert announcer is not None
    wait_for(lambda: announcer.tracking)  # the announcer noticed the subscription
    login(admin, "e1")
    wait_for(lambda: len(receiver.received) == 1)
    message = receiver.received[0].payload
    assert message["type"] == "adherence.changed"
    data = message["data"]
    assert (data["agent_id"], data["recovered"], data["correction"]) == ("lee", False, False)
    assert data["previous"]["actual_category"] == "Offline"
    assert data["current"]["actual_category"] == "OffQueueWork"
    assert data["current"]["adherence_state"] == "Unscheduled"

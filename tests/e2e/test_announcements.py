"""Engine-derived topics from a running server: a subscribed receiver hears a login's
adherence change; after a SIGKILL right behind a logout it hears that change exactly once,
live or recovered, and nothing it heard before again."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from adhere.domain.topics import TOPICS
from tests.e2e.service_process import api_client, create_client, fetch_token, start_server
from tests.http_server import serving
from tests.stand_ins.receiver import Receiver

LOOPBACK = {"webhook_allowed_networks": '["127.0.0.0/8"]'}
TOPIC_NAMES = ["adherence.changed", "adherence.exception.started", "adherence.exception.ended"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def heard(receiver: Receiver, topic: str) -> list[dict[str, Any]]:
    """Each message received once (a repeat carries the same webhook-id)."""
    unique = {item.webhook_id: item.payload for item in receiver.received}
    return [message for message in unique.values() if message["type"] == topic]


def setup(api: httpx.Client, receiver: Receiver, hook: str) -> None:
    assert api.put("/api/v1/management-units/mu", json={"time_zone": "UTC"}).is_success
    codes = "/api/v1/management-units/mu/activity-codes"
    assert api.put(f"{codes}/oq", json={"category": "OnQueueWork"}).is_success
    assert api.put("/api/v1/agents/lee", json={"management_unit_id": "mu"}).is_success
    start = datetime.now(UTC) - timedelta(minutes=10)
    schedule = {
        "start": iso(start),
        "end": iso(start + timedelta(hours=2)),
        "activities": [{"start": iso(start), "length_minutes": 120, "activity_code_id": "oq"}],
    }
    assert api.put("/api/v1/agents/lee/schedule", json=schedule).is_success
    created = api.post("/api/v1/webhooks", json={"url": hook, "topics": TOPIC_NAMES})
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]


def event(api: httpx.Client, event_id: str, kind: str, **fields: str) -> None:
    body = {"id": event_id, "agent_id": "lee", "time": iso(datetime.now(UTC)), "kind": kind}
    response = api.post("/api/v1/events", json={**body, **fields})
    assert response.status_code == 202, response.text


def test_a_receiver_hears_adherence_changes_even_across_a_crash(
    database_url: str, tmp_path: Path
) -> None:
    client = create_client(database_url, "announcements")
    receiver = Receiver()
    with serving(receiver.app()) as base:
        server = start_server(database_url, tmp_path, settings=LOOPBACK)
        try:
            with api_client(server.base_url, fetch_token(server.base_url, client)) as api:
                setup(api, receiver, f"{base}/hook")
                # Offline for ten minutes of on-queue work: an exception, announced as soon as
                # the announcer notices the subscription.
                wait_for(lambda: bool(heard(receiver, "adherence.exception.started")))
                event(api, "in", "login", system_presence="OnQueue")
                wait_for(lambda: bool(heard(receiver, "adherence.changed")))
                (login,) = heard(receiver, "adherence.changed")
                assert login["data"]["current"]["adherence_state"] == "InAdherence"
                assert login["data"]["recovered"] is False
                wait_for(lambda: bool(heard(receiver, "adherence.exception.ended")))
                event(api, "out", "logout")
            server.kill()  # right behind the logout's 202: its announcement may be lost
            server = start_server(database_url, tmp_path, port=server.port, settings=LOOPBACK)
            wait_for(lambda: len(heard(receiver, "adherence.changed")) == 2)
            time.sleep(1)  # nothing more arrives
        finally:
            server.stop()
    changes = heard(receiver, "adherence.changed")
    assert [m["data"]["current"]["actual_category"] for m in changes] == [
        "OnQueueWork",
        "Offline",
    ]
    logout = changes[1]["data"]
    assert logout["previous"]["adherence_state"] == "InAdherence"
    assert logout["current"]["adherence_state"] == "OutOfAdherence"
    assert len(heard(receiver, "adherence.exception.started")) == 1
    assert len(heard(receiver, "adherence.exception.ended")) == 1
    assert receiver.refused_signatures == 0
    for item in receiver.received:
        message = item.payload
        jsonschema.validate(message["data"], TOPICS[message["type"]].data_schema)

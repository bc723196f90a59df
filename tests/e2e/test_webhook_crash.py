"""Webhooks survive a crash: events acknowledged while the receiver is down, the server
SIGKILLed, the receiver and the server started again; every message arrives, signed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.service_process import (
    api_client,
    create_client,
    fetch_token,
    free_port,
    start_server,
)
from tests.http_server import serving
from tests.stand_ins.receiver import Receiver

LOGINS = 20
LOOPBACK = {"webhook_allowed_networks": '["127.0.0.0/8"]'}


def test_messages_accepted_before_a_crash_are_delivered_after_the_restart(
    database_url: str, tmp_path: Path
) -> None:
    client = create_client(database_url, "crash")
    server = start_server(database_url, tmp_path, settings=LOOPBACK)
    receiver = Receiver()
    receiver_port = free_port()  # nobody listens there yet: every attempt fails
    try:
        with api_client(server.base_url, fetch_token(server.base_url, client)) as api:
            assert api.put("/api/v1/management-units/mu", json={"time_zone": "UTC"}).is_success
            created = api.post(
                "/api/v1/webhooks",
                json={"url": f"http://127.0.0.1:{receiver_port}/hook", "topics": ["agent.login"]},
            )
            assert created.status_code == 201, created.text
            receiver.secret = created.json()["secret"]
            webhook_id = created.json()["id"]
            start = datetime.now(UTC) - timedelta(minutes=5)
            for number in range(LOGINS):
                agent = f"agent-{number}"
                assert api.put(
                    f"/api/v1/agents/{agent}", json={"management_unit_id": "mu"}
                ).is_success
                event = {
                    "id": f"login-{number}",
                    "agent_id": agent,
                    "time": (start + timedelta(seconds=number)).isoformat(),
                    "kind": "login",
                }
                assert api.post("/api/v1/events", json=event).status_code == 202
        time.sleep(0.5)  # let the dispatcher fail its first attempts
        server.kill()
        with serving(receiver.app(), receiver_port):
            server = start_server(database_url, tmp_path, port=server.port, settings=LOOPBACK)
            deadline = time.monotonic() + 20  # the retry after a first failure is due in 5 s ± 20 %
            while len({r.payload["data"]["event_id"] for r in receiver.received}) < LOGINS:
                assert time.monotonic() < deadline, f"received {len(receiver.received)}"
                time.sleep(0.1)
            with api_client(server.base_url, fetch_token(server.base_url, client)) as api:
                deadline = time.monotonic() + 10
                while True:
                    items = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries").json()["items"]
                    if all(item["status"] == "delivered" for item in items):
                        break
                    assert time.monotonic() < deadline, items
                    time.sleep(0.1)
        assert receiver.refused_signatures == 0
        received = {r.payload["data"]["event_id"] for r in receiver.received}
        assert received == {f"login-{number}" for number in range(LOGINS)}
        assert len(items) == LOGINS
        by_id = {r.webhook_id: r.payload["data"]["event_id"] for r in receiver.received}
        assert len(by_id) == LOGINS  # a repeat (at least once) carries the same webhook-id
    finally:
        server.stop()

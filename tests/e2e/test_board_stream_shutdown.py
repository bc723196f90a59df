"""`adhere serve` stops at once on Ctrl-C (or SIGTERM) while boards hold their event streams
open, and ends each stream cleanly rather than making the server wait them out."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.service_process import create_client, fetch_token, start_server
from tests.integration.board_client import EventStream


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
def test_the_server_stops_promptly_with_streams_open(
    database_url: str, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    client = create_client(database_url, "board", ["adherence:read"])
    server = start_server(database_url, tmp_path)
    try:
        bearer = {"Authorization": f"Bearer {fetch_token(server.base_url, client)}"}
        with (
            EventStream(server.base_url, bearer) as first,
            EventStream(server.base_url, bearer) as second,
        ):
            assert first.next().kind == "snapshot"
            assert second.next().kind == "snapshot"
            asked = time.monotonic()
            server.process.send_signal(stop_signal)
            server.process.wait(timeout=10)
            stopped = time.monotonic() - asked
            assert first.ended.wait(1)
            assert second.ended.wait(1)
        assert stopped < 3, f"the server took {stopped:.1f} s to stop"
        assert server.process.returncode in {0, -stop_signal}
        assert "ASGI callable returned without completing response" not in server.log()
        assert "Traceback" not in server.log()
    finally:
        server.stop()

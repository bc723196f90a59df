"""`adhere serve` as a user starts it: first-run guidance, and clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ADHERE = str(Path(sys.executable).with_name("adhere"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_fresh_database_tells_how_to_create_the_first_admin_client(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    port = _free_port()
    server = subprocess.Popen(
        [ADHERE, "serve", "--db", url, "--port", str(port), "--log-level", "warning"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ADHERE_DATABASE_URL": "sqlite:///ignored.db"},
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        assert server.stderr is not None
        while time.monotonic() < deadline:
            line = server.stderr.readline()
            lines.append(line)
            if "listening on" in line or not line:
                break
        output = "".join(lines)
        assert "No OAuth client exists yet" in output
        assert f"adhere clients create --name admin --scopes admin --db {url}" in output
        assert (tmp_path / "fresh.db").exists()  # --db wins over the environment
        _wait_until_up(port)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=15)
    assert server.returncode == 0


def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server did not come up")


def test_an_unusable_database_url_is_a_clear_error() -> None:
    result = subprocess.run(
        [ADHERE, "serve", "--db", "mysql://nowhere/x"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unsupported database 'mysql'" in result.stderr


def test_an_invalid_setting_in_the_environment_names_it() -> None:
    result = subprocess.run(
        [ADHERE, "db", "upgrade"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ADHERE_TOKEN_LIFETIME_SECONDS": "forever"},
    )
    assert result.returncode == 2
    assert "token_lifetime_seconds" in result.stderr

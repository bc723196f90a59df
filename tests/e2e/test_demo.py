"""`make demo`'s program, run as a user runs it: it prints working credentials, the simulated
agents appear on the server, and Ctrl-C stops it and everything it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import httpx

from tests.e2e.service_process import free_port

AGENTS = 30


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"no {what} within {timeout} s")


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_the_demo_runs_a_living_center_and_ctrl_c_stops_it_all(tmp_path: Path) -> None:
    port = free_port()
    output = tmp_path / "demo.out"
    environment = {
        **os.environ,
        "ADHERE_DEMO_DIR": str(tmp_path / "demo"),
        "ADHERE_DEMO_AGENTS": str(AGENTS),
        "ADHERE_DEMO_PORT": str(port),
        "COLUMNS": "200",
    }
    with output.open("wb") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "adhere.entrypoints.demo"],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    children: list[int] = []
    try:
        _wait_for(lambda: "Ctrl-C" in output.read_text(), 60, "banner")
        printed = output.read_text()
        assert f"http://127.0.0.1:{port}/" in printed
        password = re.search(r"supervisor \(supervisor\), password (\S+)", printed)
        assert password is not None, printed
        children += _children_of(demo.pid)
        assert len(children) == 2, children  # the server and the simulator

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as browser:
            login = browser.post(
                "/api/v1/session", json={"username": "supervisor", "password": password[1]}
            )
            assert login.status_code == 200, login.text
            # The cookie is Secure: a browser sends it to loopback over http, httpx does not.
            browser.headers["Cookie"] = f"adhere_session={login.cookies['adhere_session']}"

            def all_agents_live() -> bool:
                listed = browser.get("/api/v1/management-units")
                assert listed.status_code == 200, listed.text
                units = listed.json()["items"]
                rows = [
                    row
                    for unit in units
                    for row in browser.get(
                        "/api/v1/adherence/realtime", params={"management_unit_id": unit["id"]}
                    ).json()["items"]
                ]
                return len(rows) == AGENTS and any(
                    row["system_presence"] != "Offline" for row in rows
                )

            _wait_for(all_agents_live, 60, f"{AGENTS} agents, some logged in")

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        assert "Stopped." in output.read_text()
        assert [child for child in children if Path(f"/proc/{child}").exists()] == []
    finally:  # on a failure too: what the demo started must not outlive the test
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=30)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
        for child in children:
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)

"""A real `adhere serve` in a subprocess, for end-to-end tests: start it on a free port, wait
for /healthz, stop or SIGKILL it, and get OAuth clients and access tokens for it.

The server is the installed command run directly (no shell), so `RunningServer.pid` is the
process that serves: SIGKILL to it is a crash of the service, not of a wrapper.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from adhere.adapters.database import connect, upgrade
from adhere.config import Settings
from adhere.service.auth import KNOWN_SCOPES, AuthService

# The command installed beside the interpreter running the tests (the project's venv).
_BESIDE = Path(sys.executable).with_name("adhere")
ADHERE = str(_BESIDE) if _BESIDE.exists() else shutil.which("adhere") or "adhere"
ALL_SCOPES = KNOWN_SCOPES
START_TIMEOUT_SECONDS = 30.0
_POLL_SECONDS = 0.05


class ServerFailed(RuntimeError):
    """The server exited or never answered /healthz; the message holds its log's tail."""


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    id: str
    secret: str


@dataclass
class RunningServer:
    database_url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the serving process (a crash: no shutdown code runs) and reap it."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (graceful), escalating to SIGKILL; safe to call twice."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    database_url: str,
    workdir: Path,
    *,
    port: int | None = None,
    attempts: int = 3,
    settings: dict[str, str] | None = None,
) -> RunningServer:
    """`adhere serve` on `database_url`, answering /healthz.

    Without `port`, a free one is picked (and another tried if it was taken meanwhile); give
    the port of a server that died to restart it where its clients (and tokens' issuer) are.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        server = _spawn(database_url, workdir, port or free_port(), settings or {})
        try:
            _wait_healthy(server)
        except ServerFailed:
            server.stop()
            taken = "address already in use" in server.log().lower()
            if taken and port is None and attempt + 1 < attempts:
                continue
            raise
        return server
    raise AssertionError("unreachable")


@contextmanager
def running_server(database_url: str, workdir: Path) -> Iterator[RunningServer]:
    server = start_server(database_url, workdir)
    try:
        yield server
    finally:
        server.stop()


def _spawn(database_url: str, workdir: Path, port: int, settings: dict[str, str]) -> RunningServer:
    # Only our settings: no ADHERE_* from the caller's environment, no adhere.toml (cwd).
    env = {key: value for key, value in os.environ.items() if not key.startswith("ADHERE_")}
    env.update({f"ADHERE_{name.upper()}": value for name, value in settings.items()})
    log_path = workdir / f"server-{port}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                ADHERE,
                "serve",
                "--db",
                database_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return RunningServer(database_url, port, process, log_path)


def _wait_healthy(server: RunningServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx.Client(base_url=server.base_url, timeout=2) as http:
        while time.monotonic() < deadline:
            if not server.alive():
                raise ServerFailed(
                    f"adhere serve exited with {server.process.returncode}:\n{server.log()[-4000:]}"
                )
            try:
                if http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(_POLL_SECONDS)
    raise ServerFailed(f"no /healthz within {START_TIMEOUT_SECONDS} s:\n{server.log()[-4000:]}")


def create_client(
    database_url: str, name: str, scopes: Sequence[str] = ALL_SCOPES
) -> ClientCredentials:
    """A new OAuth client, written straight to the (migrated) database as the CLI does."""
    engine = connect(database_url)
    try:
        upgrade(engine)
        record, secret = AuthService(engine, Settings(database_url=database_url)).create_client(
            name, list(scopes)
        )
    finally:
        engine.dispose()
    return ClientCredentials(record.id, secret)


def fetch_token(
    base_url: str, client: ClientCredentials, scopes: Sequence[str] | None = None
) -> str:
    """An access token by client credentials (client_secret_basic)."""
    form = {"grant_type": "client_credentials"}
    if scopes is not None:
        form["scope"] = " ".join(scopes)
    response = httpx.post(
        f"{base_url}/oauth/token", data=form, auth=(client.id, client.secret), timeout=10
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def api_client(base_url: str, token: str, timeout: float = 30) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )

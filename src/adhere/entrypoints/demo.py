"""`make demo`: a living contact center on this machine, in one command.

It runs the product as a user would, each part through its public command: a fresh SQLite
database in `.demo/`, an admin and a supervisor who can log in, an OAuth client for the
simulator, `adhere serve`, and `adhere simulate` driving 300 agents through the API. Ctrl-C
stops the simulator, then the server, and waits for both.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.panel import Panel

WORKDIR = Path(os.environ.get("ADHERE_DEMO_DIR", ".demo"))
AGENTS = int(os.environ.get("ADHERE_DEMO_AGENTS", "300"))
_BESIDE = Path(sys.executable).with_name("adhere")
ADHERE = str(_BESIDE) if _BESIDE.exists() else shutil.which("adhere") or "adhere"
SIMULATOR_SCOPES = "schedule:agent:write events:write"
_START_SECONDS = 30.0
_STOP_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class _Login:
    username: str
    role: str
    password: str


def _run(*arguments: str, stdin: str | None = None) -> str:
    """One `adhere` command to completion; its output, or the demo stops with its error."""
    done = subprocess.run(
        [ADHERE, *arguments], input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"adhere {arguments[0]} {arguments[1]} failed:\n{done.stderr.strip()}")
    return done.stdout


def _port() -> int:
    """8000 (or ADHERE_DEMO_PORT) when free, else any free port."""
    wanted = int(os.environ.get("ADHERE_DEMO_PORT", "8000"))
    for port in (wanted, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            found: int = probe.getsockname()[1]
            return found
    raise SystemExit("no free port to listen on")


def _fresh_database() -> str:
    """Today's center is built around now, so each demo starts from an empty database."""
    WORKDIR.mkdir(exist_ok=True)
    for stale in WORKDIR.glob("adhere.db*"):
        stale.unlink()
    url = f"sqlite:///{(WORKDIR / 'adhere.db').resolve()}"
    _run("db", "upgrade", "--db", url)
    return url


def _people(url: str) -> list[_Login]:
    logins = [
        _Login("admin", "admin", secrets.token_urlsafe(12)),
        _Login("supervisor", "supervisor", secrets.token_urlsafe(12)),
    ]
    for login in logins:
        _run(
            "users",
            "create",
            login.username,
            "--role",
            login.role,
            "--password-stdin",
            "--db",
            url,
            stdin=login.password,
        )
    return logins


def _client(url: str, name: str, scopes: str) -> tuple[str, str]:
    printed = _run("clients", "create", "--name", name, "--scopes", scopes, "--db", url)
    found = dict(re.findall(r"^client (id|secret):\s+(\S+)$", printed, re.MULTILINE))
    return found["id"], found["secret"]


def _spawn(
    arguments: Sequence[str], log: Path, secrets_: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A child in its own session: Ctrl-C reaches the demo alone, which stops them in order.
    Secrets go in its environment, where `ps` does not show them."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [ADHERE, *arguments],
            cwd=WORKDIR,
            env={**os.environ, **(secrets_ or {})},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"adhere serve stopped:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"adhere serve did not answer within {_START_SECONDS:.0f} s; see {log}")


def _admin_token(base_url: str, client: tuple[str, str]) -> str:
    answer = httpx.post(
        f"{base_url}/oauth/token", data={"grant_type": "client_credentials"}, auth=client
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def _write_private(path: Path, text: str) -> None:
    """Readable by this user only, from the first byte."""
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(text)


def _stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _introduce(console: Console, base_url: str, logins: list[_Login]) -> None:
    lines = [
        f"[bold]The board:[/bold] {base_url}/",
        "",
        *(
            f"log in as [bold]{login.username}[/bold] ({login.role}), "
            f"password [bold]{login.password}[/bold]"
            for login in logins
        ),
        "",
        f"{AGENTS} simulated agents in three time zones are logging in, taking breaks and "
        "taking calls through the API.",
        f"Reports: {base_url}/reports · API docs: {base_url}/docs",
        f"An admin access token for the API (10 minutes) is in {WORKDIR}/admin-token:",
        f'  curl -H "Authorization: Bearer $(cat {WORKDIR}/admin-token)" '
        f"{base_url}/api/v1/management-units",
        "",
        f"Logs and the database are in {WORKDIR}/. [bold]Ctrl-C[/bold] stops everything.",
    ]
    console.print(Panel("\n".join(lines), title="Adhere demo", expand=False))


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # Ctrl-C and a plain `kill` both stop everything cleanly, even where SIGINT was ignored
    # (a demo started in the background by a non-interactive shell).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    console = Console()
    url = _fresh_database()
    logins = _people(url)
    simulator = _client(url, "demo simulator", SIMULATOR_SCOPES)
    admin = _client(url, "demo admin", "admin adherence:read schedule:agent:read")
    port = _port()
    base_url = f"http://127.0.0.1:{port}"
    server_log, simulator_log = WORKDIR / "server.log", WORKDIR / "simulator.log"
    server = _spawn(["serve", "--db", url, "--port", str(port)], server_log)
    simulation: subprocess.Popen[bytes] | None = None
    try:
        _wait_healthy(base_url, server, server_log)
        simulation = _spawn(
            ["simulate", "--url", base_url, "--agents", str(AGENTS), "--quiet"],
            simulator_log,
            {"ADHERE_CLIENT_ID": simulator[0], "ADHERE_CLIENT_SECRET": simulator[1]},
        )
        _write_private(WORKDIR / "admin-token", _admin_token(base_url, admin) + "\n")
        _introduce(console, base_url, logins)
        while server.poll() is None:
            if simulation is not None and simulation.poll() not in (None, 0):
                tail = simulator_log.read_text(errors="replace")[-2000:]
                console.print(f"[red]the simulator stopped:[/red]\n{tail}")
                simulation = None
            time.sleep(0.5)
        console.print(f"[red]adhere serve stopped;[/red] see {server_log}")
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("\nStopping the simulator and the server…")
    finally:
        if simulation is not None:
            _stop(simulation, signal.SIGINT)
        _stop(server, signal.SIGTERM)
    console.print("Stopped. Run [bold]make demo[/bold] again for a new day.")


if __name__ == "__main__":
    main()

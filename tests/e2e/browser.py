"""Debian's Chromium driven by Playwright: the browser users have, never a downloaded one.

`make test` installs the `chromium` package when it is absent. Without it the browser tests
are skipped, except under CI=true, where its absence is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import in_ci

CHROMIUM = Path(os.environ.get("ADHERE_TEST_CHROMIUM", "/usr/bin/chromium"))
# Headless on a machine without a network: nothing that phones home or needs a GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("ADHERE_TEST_ARTIFACTS", "test-artifacts"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's synchronous API runs an event loop in this thread while it is
    open, and every later test calling asyncio.run would find it running."""
    if not CHROMIUM.exists():
        message = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def artifact(name: str) -> Path:
    """Where a test writes a file worth keeping (a screenshot): `test-artifacts/` by default."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name

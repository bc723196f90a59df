"""One asyncio event loop, owned by a thread, for the service's outbound automation.

Data actions (and the workflow rules that run them) share one loop, so that the HTTP client,
its connection pool and the OAuth token cache (`TokenManager`: one per loop) are shared too.
Any thread hands the loop a coroutine with `submit`, and gets a `concurrent.futures.Future`;
an async caller in another loop awaits it with ``asyncio.wrap_future``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_log = logging.getLogger("adhere.automation")


class LoopNotRunning(RuntimeError):
    """Work was submitted before `start` or after `stop`."""


class LoopThread:
    def __init__(self, name: str = "adhere-automation") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        loop = self._loop
        return loop is not None and loop.is_running()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise LoopNotRunning(f"the {self.name} loop is not running")
        return self._loop

    def start(self) -> None:
        """Start the thread and its loop; returns once the loop runs. Idempotent."""
        with self._lock:
            if self._thread is not None:
                return
            loop = asyncio.new_event_loop()
            started = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(loop, started), name=self.name, daemon=True
            )
            self._loop, self._thread = loop, thread
            thread.start()
        if not started.wait(10):
            raise RuntimeError(f"the {self.name} loop did not start")

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coroutine` in the loop; its result (or exception) arrives in the future."""
        loop = self._loop
        if loop is None or loop.is_closed():
            coroutine.close()  # never awaited: say so quietly, not with a RuntimeWarning
            raise LoopNotRunning(f"the {self.name} loop is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what still runs in the loop, stop it and wait for the thread. Idempotent."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._thread = None
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            _log.warning("the %s loop did not stop within %.0f s", self.name, timeout)

    def _run(self, loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        try:
            loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

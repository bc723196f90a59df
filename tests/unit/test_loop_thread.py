"""The automation loop: one thread, one event loop, work handed in from any thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from adhere.adapters.loop_thread import LoopNotRunning, LoopThread


def test_work_runs_in_the_loop_thread_and_results_come_back() -> None:
    automation = LoopThread("test-loop")
    automation.start()
    try:

        async def where() -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

        assert automation.submit(where()).result(5) == "test-loop"

        async def boom() -> None:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            automation.submit(boom()).result(5)

        async def both() -> list[asyncio.AbstractEventLoop]:
            return [asyncio.get_running_loop()]

        first, second = automation.submit(both()), automation.submit(both())
        assert first.result(5) == second.result(5)  # one loop for everyone
    finally:
        automation.stop()
    assert not automation.running


def test_stopping_cancels_what_still_runs_and_refuses_new_work() -> None:
    automation = LoopThread("test-loop")
    with pytest.raises(LoopNotRunning):
        automation.submit(asyncio.sleep(0))
    automation.start()
    automation.start()  # idempotent
    forever = automation.submit(asyncio.sleep(3600))
    automation.stop()
    assert forever.cancelled()
    with pytest.raises(LoopNotRunning):
        automation.submit(asyncio.sleep(0))
    automation.stop()  # idempotent


def test_an_async_caller_awaits_work_from_its_own_loop() -> None:
    automation = LoopThread("test-loop")
    automation.start()

    async def caller() -> int:
        async def answer() -> int:
            return 42

        return await asyncio.wrap_future(automation.submit(answer()))

    try:
        assert asyncio.run(caller()) == 42
    finally:
        automation.stop()

"""The bridge: synchronous callers of the async pipeline, from any thread."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from toolware.compat.v1._bridge import BridgeTimeout, LoopThread


async def answer(value: int) -> int:
    await asyncio.sleep(0)
    return value


async def thread_name() -> str:
    return threading.current_thread().name


def test_runs_on_the_callers_thread_without_a_loop() -> None:
    """No running loop: the call runs on this thread's own loop, kept for the next call."""
    bridge = LoopThread()
    assert bridge.run(lambda: answer(3), None) == 3
    assert bridge.run(thread_name, None) == threading.current_thread().name
    first = bridge._local.holder.loop
    bridge.run(lambda: answer(1), 1.0)
    assert bridge._local.holder.loop is first


def test_inside_a_running_loop_the_bridge_thread_runs_it() -> None:
    """A running loop in this thread: handed to the bridge loop's thread."""
    bridge = LoopThread(name="bridge-under-test")

    async def main() -> str:
        return bridge.run(thread_name, 5.0)

    assert asyncio.run(main()) == "bridge-under-test"


def test_on_the_bridge_loop_itself_it_runs_aside() -> None:
    """A synchronous call made on the bridge loop cannot wait for it: a private thread."""
    bridge = LoopThread(name="bridge-under-test")

    async def nested() -> str:
        return bridge.run(thread_name, 5.0)

    async def outer() -> str:
        return bridge.run(nested, 5.0)

    assert asyncio.run(outer()) == "toolware-compat-v1-aside"


def test_the_wait_is_bounded_everywhere() -> None:
    """Past ``wait`` the caller stops waiting: BridgeTimeout, on every path."""
    bridge = LoopThread()

    async def slow() -> None:
        await asyncio.sleep(10)

    started = time.monotonic()
    with pytest.raises(BridgeTimeout, match=r"no answer within 0\.1 s"):
        bridge.run(slow, 0.1)

    async def from_a_loop() -> None:
        bridge.run(slow, 0.1)

    with pytest.raises(BridgeTimeout):
        asyncio.run(from_a_loop())

    async def aside() -> None:
        bridge.run(slow, 0.1)

    async def outer() -> None:
        bridge.run(aside, 5.0)

    with pytest.raises(BridgeTimeout):
        asyncio.run(outer())
    assert time.monotonic() - started < 5.0


def test_exceptions_come_back_as_they_are() -> None:
    """What the coroutine raises is raised to the caller, on every path."""
    bridge = LoopThread()

    async def fail() -> None:
        raise KeyError("k")

    async def timeout_error() -> None:
        raise TimeoutError("its own")

    with pytest.raises(KeyError):
        bridge.run(fail, None)
    with pytest.raises(TimeoutError, match="its own"):
        bridge.run(timeout_error, None)

    async def from_a_loop() -> None:
        bridge.run(timeout_error, 5.0)

    with pytest.raises(TimeoutError, match="its own"):
        asyncio.run(from_a_loop())

    async def outer() -> None:
        async def aside() -> None:
            bridge.run(fail, 5.0)

        bridge.run(aside, 5.0)

    with pytest.raises(KeyError):
        asyncio.run(outer())


def test_a_cancellation_not_ours_propagates() -> None:
    """A coroutine cancelled by something else raises CancelledError, not BridgeTimeout."""
    bridge = LoopThread()

    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        bridge.run(cancelled, 1.0)


def test_an_interrupted_call_drops_the_threads_loop() -> None:
    """KeyboardInterrupt mid-call: the call is cancelled and this thread's loop not reused."""
    bridge = LoopThread()
    bridge.run(lambda: answer(1), None)
    loop = bridge._local.holder.loop

    async def interrupted() -> None:
        asyncio.get_running_loop().call_soon(_raise_interrupt)
        await asyncio.sleep(10)

    with pytest.raises(KeyboardInterrupt):
        bridge.run(interrupted, None)
    assert bridge._local.holder is None
    assert loop.is_closed()
    assert bridge.run(lambda: answer(2), None) == 2


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def test_each_thread_has_its_own_loop_closed_when_it_ends() -> None:
    """Worker threads get their own loop; it is closed once the thread is gone."""
    bridge = LoopThread()
    loops = []

    def work() -> None:
        bridge.run(lambda: answer(1), None)
        loops.append(bridge._local.holder.loop)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    import gc

    gc.collect()
    assert loops[0].is_closed()

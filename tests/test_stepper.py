"""Tests for toolware.stepper: stops before and after each stage, and the commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from toolware import Kind, LocalRegistry, Pipeline, PipelineBuilder, RequestContext, ResponseContext
from toolware.errors import InvalidRequestError
from toolware.interceptors.timeout import TimeoutInterceptor
from toolware.stepper import HELP, Stepper, Stop, format_stop
from toolware.testing import FakeClock
from toolware.types import CallNext

from .pipeline_support import N


def shop(log: list[str]) -> LocalRegistry:
    registry = LocalRegistry("shop")

    @registry.tool
    def echo(text: str, api_key: str = "") -> str:
        log.append(f"echo {text}")
        return text.upper()

    @registry.tool
    async def feed() -> AsyncIterator[int]:
        yield 1
        yield 2

    return registry


class Mark:
    """Sets extra N on the request and the response; logs in, out and cancellation."""

    name = "mark"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        self.log.append("mark in")
        try:
            response = await call_next(request.with_extra(N, 7))
        except asyncio.CancelledError:
            self.log.append("mark cancelled")
            raise
        self.log.append("mark out")
        return response.with_extra(N, 8)


def built(log: list[str], clock: FakeClock, **use: Any) -> Pipeline:
    return (
        PipelineBuilder(clock=clock, name="shop")
        .use(TimeoutInterceptor(timeout=3.0), name="timeout")
        .use(Mark(log), **use)
        .route(shop(log))
        .build()
    )


def where(stops: tuple[Stop, ...]) -> list[tuple[int, str, str]]:
    return [(stop.number, stop.moment, stop.stage) for stop in stops]


ALL_STOPS = [
    (1, "before", "timeout"),
    (2, "before", "mark"),
    (3, "before", "router"),
    (4, "after", "router"),
    (5, "after", "mark"),
    (6, "after", "timeout"),
]


async def test_stepping_stops_before_and_after_every_stage_and_the_terminal() -> None:
    """Six stops for two stages: each stage in, the terminal in and out, each stage out."""
    log: list[str] = []
    clock = FakeClock()
    shown: list[str] = []
    stepper = Stepper(
        built(log, clock), prompt=["s", "", "step", "S", " s ", "s"], show=shown.append
    )
    result = await stepper.invoke("echo", {"text": "hi", "api_key": "k1"})
    assert result.response is not None
    assert result.response.value == "HI"
    assert result.quit_at is None
    assert where(result.stops) == ALL_STOPS
    assert result.stops[2].request.deadline == clock.monotonic() + 3.0
    assert result.stops[5].response is result.response
    assert shown == [
        "stop 1: before timeout\n  request: tool echo\n"
        '  arguments: {"api_key": "[REDACTED]", "text": "hi"}',
        "stop 2: before mark\n  request: tool echo\n"
        '  arguments: {"api_key": "[REDACTED]", "text": "hi"}'
        "\n  deadline: in 3.0 s",
        "stop 3: before router\n  request: tool echo\n"
        '  arguments: {"api_key": "[REDACTED]", "text": "hi"}'
        "\n  deadline: in 3.0 s\n  extras: n=7",
        'stop 4: after router\n  response: ok\n  value: "HI"',
        'stop 5: after mark\n  response: ok\n  value: "HI"\n  extras: n=8',
        'stop 6: after timeout\n  response: ok\n  value: "HI"\n  extras: n=8',
    ]
    assert log == ["mark in", "echo hi", "mark out"]


async def test_continue_runs_to_the_end_without_stopping() -> None:
    """After `c` no stop is made and no command read; the call completes."""
    log: list[str] = []
    lines = iter(["s", "c", "q"])
    stepper = Stepper(built(log, FakeClock()), prompt=lines)
    result = await stepper.invoke("echo", {"text": "a"})
    assert where(result.stops) == ALL_STOPS[:2]
    assert result.response is not None
    assert result.response.value == "A"
    assert list(lines) == ["q"]


async def test_continue_long_form_and_end_of_script_both_continue() -> None:
    """`continue` and a script that runs out both run the call to the end."""
    for script in (["continue"], []):
        stepper = Stepper(built([], FakeClock()), prompt=script)
        result = await stepper.invoke("echo", {"text": "a"})
        assert where(result.stops) == ALL_STOPS[:1]
        assert result.response is not None
        assert result.response.value == "A"


@pytest.mark.parametrize("command", ["q", "quit", "Q"])
async def test_quit_cancels_the_call_and_reports_the_stop(command: str) -> None:
    """The handler never runs, outer stages see a cancellation, the result names the stop."""
    log: list[str] = []
    stepper = Stepper(built(log, FakeClock()), prompt=["s", "s", command])
    result = await stepper.invoke("echo", {"text": "a"})
    assert result.response is None
    assert result.quit_at is result.stops[-1]
    assert where(result.stops) == ALL_STOPS[:3]
    assert log == ["mark in", "mark cancelled"]


async def test_print_help_and_unknown_commands_ask_again() -> None:
    """`p` shows the stop again, `h`/`?` the help, anything else says so; none moves on."""
    shown: list[str] = []
    stepper = Stepper(
        built([], FakeClock()), prompt=["p", "print", "h", "help", "?", "x", "c"], show=shown.append
    )
    result = await stepper.invoke("echo", {"text": "a"})
    first = 'stop 1: before timeout\n  request: tool echo\n  arguments: {"text": "a"}'
    assert shown == [first, first, first, HELP, HELP, HELP, f"unknown command 'x'; {HELP}"]
    assert len(result.stops) == 1


async def test_a_stage_whose_condition_does_not_match_makes_no_stop() -> None:
    """`when=` still decides: a skipped stage neither runs nor stops."""
    log: list[str] = []
    stepper = Stepper(built(log, FakeClock(), when={Kind.RAG}), prompt=["s"] * 10)
    result = await stepper.invoke("echo", {"text": "a"})
    assert [stop.stage for stop in result.stops] == ["timeout", "router", "router", "timeout"]
    assert log == ["echo a"]


async def test_an_error_response_shows_category_and_message() -> None:
    """A failed call shows the error after each stage it passes back through."""
    shown: list[str] = []
    stepper = Stepper(built([], FakeClock()), prompt=["s"] * 3 + ["c"], show=shown.append)
    result = await stepper.invoke("nothing")
    assert result.response is not None
    assert result.response.error is not None
    assert shown[3].startswith("stop 4: after router\n  response: error not_found\n  message: ")
    assert "'nothing'" in shown[3]


async def test_a_stream_is_shown_as_stream() -> None:
    """A streamed response is shown as such and left for the caller to read."""
    shown: list[str] = []
    stepper = Stepper(built([], FakeClock()), prompt=["s"] * 6, show=shown.append)
    result = await stepper.invoke("feed")
    assert shown[3] == "stop 4: after router\n  response: stream"
    assert result.response is not None
    assert (await result.response.collect()).value == [1, 2]


async def test_async_prompt_and_run_with_a_request() -> None:
    """An async prompt is awaited for each command; run() takes a request."""
    asked: list[int] = []

    async def prompt() -> str | None:
        asked.append(1)
        return None if len(asked) > 2 else "s"

    clock = FakeClock()
    pipeline = built([], clock)
    stepper = Stepper(pipeline, prompt=prompt)
    request = RequestContext.create("echo", {"text": "r"}, clock=clock)
    result = await stepper.run(request)
    assert result.response is not None
    assert result.response.value == "R"
    assert len(asked) == 3
    assert len(result.stops) == 3


async def test_the_original_pipeline_is_unchanged_and_still_owns_its_terminal() -> None:
    """The stepped copy shares stages and terminal; closing it leaves the original working."""
    log: list[str] = []
    pipeline = built(log, FakeClock())
    stages = pipeline.stages
    stepper = Stepper(pipeline, prompt=[])
    assert stepper.pipeline is not pipeline
    assert stepper.pipeline.terminal is pipeline.terminal
    assert stepper.pipeline.name == "shop"
    assert stepper.pipeline.clock is pipeline.clock
    await stepper.pipeline.aclose()
    response = await pipeline.invoke("echo", {"text": "o"})
    assert response.value == "O"
    assert pipeline.stages is stages
    await pipeline.aclose()


async def test_one_call_at_a_time() -> None:
    """A second call while one is stopped is refused; the first one is unharmed."""
    gate = asyncio.Event()

    async def prompt() -> str | None:
        await gate.wait()
        return "c"

    stepper = Stepper(built([], FakeClock()), prompt=prompt)
    first = asyncio.ensure_future(stepper.invoke("echo", {"text": "a"}))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already stepping a call"):
        await stepper.invoke("echo", {"text": "b"})
    gate.set()
    result = await first
    assert result.response is not None
    assert result.response.value == "A"


async def test_cancelling_the_caller_is_not_a_quit() -> None:
    """When the caller is cancelled at a stop, the cancellation propagates."""
    stepper = Stepper(built([], FakeClock()), prompt=asyncio.Event().wait)  # type: ignore[arg-type]
    task = asyncio.ensure_future(stepper.invoke("echo", {"text": "a"}))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stepper._running is False


def test_options_are_validated() -> None:
    """A builder, a string or a number as prompt, a non-callable show: each refused by name."""
    pipeline = built([], FakeClock())
    with pytest.raises(TypeError, match="pipeline must be a built Pipeline, got PipelineBuilder"):
        Stepper(PipelineBuilder(), prompt=[])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"prompt must be .* got str"):
        Stepper(pipeline, prompt="sc")
    with pytest.raises(TypeError, match=r"prompt must be .* got int"):
        Stepper(pipeline, prompt=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"show must be a function .* got 'x'"):
        Stepper(pipeline, prompt=[], show="x")  # type: ignore[arg-type]
    pipeline.close()


def test_format_stop_shows_keys_of_mixed_types_and_objects_as_text() -> None:
    """The redacted dump makes every key text and an object its repr, so it always prints."""
    request = RequestContext.create("t", {"a": 1}, clock=FakeClock())
    stop = Stop(1, "h", "after", request, ResponseContext.success({1: "x", "b": object}))
    assert format_stop(stop, now=0.0) == (
        'stop 1: after h\n  response: ok\n  value: {"1": "x", "b": "<class \'object\'>"}'
    )
    failed = ResponseContext.failure(InvalidRequestError("bad"))
    assert format_stop(Stop(2, "h", "after", request, failed), now=0.0) == (
        "stop 2: after h\n  response: error invalid_request\n  message: bad"
    )


async def test_a_stepper_can_step_another_call_after_a_quit() -> None:
    """Each call starts stepping afresh: its own stops, no quit carried over."""
    stepper = Stepper(built([], FakeClock()), prompt=["q", "c", "s", "c"])
    first = await stepper.invoke("echo", {"text": "a"})
    assert first.quit_at is first.stops[0]
    second = await stepper.invoke("echo", {"text": "b"})
    assert second.quit_at is None
    assert where(second.stops) == ALL_STOPS[:1]
    third = await stepper.invoke("echo", {"text": "c"})
    assert where(third.stops) == ALL_STOPS[:2]
    assert third.response is not None
    assert third.response.value == "C"


def test_bytes_are_not_a_script() -> None:
    """A bytes prompt is refused like a str: it is not a list of lines."""
    pipeline = built([], FakeClock())
    with pytest.raises(TypeError, match=r"prompt must be .* got bytes"):
        Stepper(pipeline, prompt=b"sc")  # type: ignore[arg-type]
    pipeline.close()

"""Tests for toolware.debug: enter/exit lines with redacted dumps and self times, off = no code."""

import asyncio
import logging
import os
from typing import Any

import pytest

from toolware.builder import PipelineBuilder
from toolware.context import Principal, RequestContext, ResponseContext
from toolware.debug import ENV_VAR, DebugOptions, DebugStage, debug_options
from toolware.errors import ToolFailedError
from toolware.redaction import REDACTED
from toolware.streams import ResponseStream
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext

# Under mutmut (MUTANT_UNDER_TEST set) DebugStage.__call__ runs through mutmut's trampoline, whose
# frames are not the method's code the pipeline attributes crashes by: the attribution of a crash
# inside a debug stage is pinned in `make test` only.
INSTRUMENTED = bool(os.environ.get("MUTANT_UNDER_TEST"))


def sleeping(clock: FakeClock, seconds: float, name: str) -> Any:
    """An interceptor that spends ``seconds`` before and after call_next."""

    async def stage(request: RequestContext, call_next: CallNext) -> ResponseContext:
        await clock.sleep(seconds)
        response = await call_next(request)
        await clock.sleep(seconds)
        return response

    stage.__name__ = name
    return stage


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "toolware.debug"]


async def run(task: Any, clock: FakeClock, seconds: float) -> ResponseContext:
    future = asyncio.ensure_future(task)
    await clock.advance(seconds)
    result: ResponseContext = await future
    return result


async def test_enter_and_exit_lines_carry_self_and_total_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Self time excludes the inner stage and the handler; total includes them."""
    caplog.set_level(logging.DEBUG, "toolware.debug")
    clock = FakeClock()
    handler = FakeHandler([{"ok": 1}], delay=3.0, clock=clock)
    pipeline = (
        PipelineBuilder(clock=clock, name="p", debug=True)
        .use(sleeping(clock, 1.0, "outer"))
        .use(sleeping(clock, 0.5, "inner"))
        .route(handler)
        .build()
    )
    response = await run(pipeline.invoke("t", {"password": "pw", "q": 1}), clock, 10)
    assert response.value == {"ok": 1}
    lines = records(caplog)
    assert [r.getMessage().split()[0] for r in lines] == [
        "debug.enter",
        "debug.enter",
        "debug.exit",
        "debug.exit",
    ]
    enter, _, inner, outer = lines
    assert enter.__dict__["stage"] == "outer"
    assert enter.__dict__["pipeline"] == "p"
    assert enter.__dict__["request"] == {
        "target": "t",
        "kind": "tool",
        "arguments": {"password": REDACTED, "q": 1},
        "principal": None,
        "deadline": None,
    }
    assert (inner.__dict__["self_ms"], inner.__dict__["total_ms"]) == (1000.0, 4000.0)
    assert (outer.__dict__["self_ms"], outer.__dict__["total_ms"]) == (2000.0, 6000.0)
    assert outer.__dict__["response"] == {"ok": True, "value": {"ok": 1}, "attempts": 1}
    assert "self_ms=2000.000 total_ms=6000.000" in outer.getMessage()
    assert '"password":"[REDACTED]"' in enter.getMessage()
    assert enter.__dict__["request_id"] == outer.__dict__["request_id"]


async def test_two_concurrent_calls_keep_their_own_times(caplog: pytest.LogCaptureFixture) -> None:
    """Calls that overlap in time each get their own self time."""
    caplog.set_level(logging.DEBUG, "toolware.debug")
    clock = FakeClock()
    pipeline = (
        PipelineBuilder(clock=clock, debug=True)
        .use(sleeping(clock, 1.0, "outer"))
        .route(FakeHandler([1], delay=2.0, clock=clock))
        .build()
    )
    first = asyncio.ensure_future(pipeline.invoke("a"))
    await clock.advance(0.5)
    second = asyncio.ensure_future(pipeline.invoke("b"))
    await clock.advance(10)
    await asyncio.gather(first, second)
    exits = [r.__dict__ for r in records(caplog) if r.getMessage().startswith("debug.exit")]
    assert [(e["self_ms"], e["total_ms"]) for e in exits] == [(2000.0, 4000.0)] * 2
    assert len({e["request_id"] for e in exits}) == 2


async def test_overlapping_call_next_counts_once(caplog: pytest.LogCaptureFixture) -> None:
    """Two call_next at once (a hedge) count as the wall time either one ran."""
    caplog.set_level(logging.DEBUG, "toolware.debug")
    clock = FakeClock()

    async def hedge(request: RequestContext, call_next: CallNext) -> ResponseContext:
        first = asyncio.ensure_future(call_next(request))
        await clock.sleep(1.0)
        second = asyncio.ensure_future(call_next(request))
        await asyncio.gather(first, second)
        return first.result()

    pipeline = (
        PipelineBuilder(clock=clock, debug=True)
        .use(hedge)
        .route(FakeHandler([1], delay=2.0, clock=clock))
        .build()
    )
    await run(pipeline.invoke("t"), clock, 10)
    exit_ = records(caplog)[-1].__dict__
    assert (exit_["self_ms"], exit_["total_ms"]) == (0.0, 3000.0)


async def test_failure_and_stream_dumps(caplog: pytest.LogCaptureFixture) -> None:
    """A failure shows its category and redacted message; a stream is not read."""
    caplog.set_level(logging.DEBUG, "toolware.debug")
    clock = FakeClock()

    async def stream(request: RequestContext) -> ResponseContext:
        return ResponseContext(stream=ResponseStream.of([1, 2]))

    async def stage(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request)

    options = DebugOptions()
    failing = (
        PipelineBuilder(clock=clock)
        .use(stage)
        .route(FakeHandler([ToolFailedError("bad Bearer abc")], clock=clock))
        .build(debug=options)
    )
    response = await failing.invoke("t", principal=Principal(id="u"))
    assert response.error is not None
    streaming = PipelineBuilder(clock=clock).use(stage).route(stream).build(debug=True)
    streamed = await streaming.invoke("s")
    assert streamed.stream is not None
    await streamed.stream.aclose()
    dumps = [r.__dict__ for r in records(caplog)]
    assert dumps[0]["request"]["principal"] == "u"
    assert dumps[1]["response"] == {
        "ok": False,
        "error": {
            "category": "tool_failed",
            "message": f"bad {REDACTED} (hint: the tool reported an error; "
            "check its arguments or its service)",
        },
        "attempts": 1,
    }
    assert dumps[3]["response"] == {"ok": True, "stream": True}


async def test_a_raising_stage_is_logged_and_reraised(caplog: pytest.LogCaptureFixture) -> None:
    """debug.raised names the exception; the pipeline still attributes the crash to the stage."""
    caplog.set_level(logging.DEBUG, "toolware.debug")
    clock = FakeClock()

    async def broken(request: RequestContext, call_next: CallNext) -> ResponseContext:
        await clock.sleep(1.0)
        raise KeyError("x")

    pipeline = PipelineBuilder(clock=clock, debug=True).use(broken).route(FakeHandler()).build()
    response = await run(pipeline.invoke("t"), clock, 5)
    assert response.error is not None
    if not INSTRUMENTED:
        assert response.error.interceptor == "broken"  # type: ignore[attr-defined]
    raised = records(caplog)[-1]
    assert raised.getMessage().startswith("debug.raised")
    assert (raised.__dict__["error"], raised.__dict__["self_ms"]) == ("KeyError", 1000.0)
    caplog.clear()
    caplog.set_level(logging.INFO, "toolware.debug")
    again = await run(pipeline.invoke("t"), clock, 5)
    assert again.error is not None
    assert records(caplog) == []


async def test_not_a_response_is_dumped(caplog: pytest.LogCaptureFixture) -> None:
    """A stage returning something else is dumped as it is (redacted)."""
    caplog.set_level(logging.DEBUG, "toolware.debug")

    async def wrong(request: RequestContext, call_next: CallNext) -> Any:
        return {"token": "t"}

    pipeline = PipelineBuilder(debug=True).use(wrong).route(FakeHandler()).build()
    await pipeline.invoke("t")
    assert records(caplog)[-1].__dict__["response"] == {"not_a_response": {"token": REDACTED}}


async def test_level_option_and_nothing_below_it(caplog: pytest.LogCaptureFixture) -> None:
    """Lines go out at the chosen level; a logger above it gets nothing and dumps nothing."""
    caplog.set_level(logging.INFO, "toolware.debug")
    quiet = PipelineBuilder(debug=True).use(sleeping(FakeClock(), 0, "s")).route(FakeHandler())
    loud = (
        PipelineBuilder(debug=DebugOptions(level=logging.INFO))
        .use(sleeping(FakeClock(), 0, "s"))
        .route(FakeHandler())
    )
    clock_free = quiet.build()
    await asyncio.wait_for(clock_free.invoke("t"), 1)
    assert records(caplog) == []
    await loud.build().invoke("t")
    assert [r.levelno for r in records(caplog)] == [logging.INFO, logging.INFO]


async def test_redaction_options_reach_the_dump(caplog: pytest.LogCaptureFixture) -> None:
    """keys= and max_chars= of DebugOptions shape the dumps."""
    caplog.set_level(logging.DEBUG, "toolware.debug")
    options = DebugOptions(keys=("ssn",), max_chars=3, patterns=())
    pipeline = (
        PipelineBuilder(debug=options)
        .use(sleeping(FakeClock(), 0, "s"))
        .route(FakeHandler())
        .build()
    )
    await pipeline.invoke("t", {"ssn": 1, "token": "abcdef"})
    assert records(caplog)[0].__dict__["request"]["arguments"] == {
        "ssn": REDACTED,
        "token": "abc...[+3 chars]",
    }


def test_off_builds_exactly_the_given_interceptors(monkeypatch: pytest.MonkeyPatch) -> None:
    """With debug off, every stage holds the very interceptor that was used; on, a wrapper."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    stage = sleeping(FakeClock(), 0, "s")
    off = PipelineBuilder().use(stage).route(FakeHandler()).build()
    assert off.stages[0].interceptor is stage
    assert off._entry.__code__ is stage.__code__  # type: ignore[attr-defined]  # linked directly
    on = PipelineBuilder().use(stage).route(FakeHandler()).build(debug=True)
    wrapper = on.stages[0].interceptor
    assert isinstance(wrapper, DebugStage)
    assert wrapper.name == "s"
    assert on.stages[0].name == "s"


def test_when_condition_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrapped stage keeps its when= condition."""
    stage = sleeping(FakeClock(), 0, "s")
    on = PipelineBuilder(debug=True).use(stage, when=lambda r: True).route(FakeHandler()).build()
    assert on.stages[0].condition is not None


@pytest.mark.parametrize(
    ("builder", "build", "env", "on"),
    [
        (None, None, "1", True),
        (None, None, "TRUE", True),
        (None, None, " on ", True),
        (None, None, "yes", True),
        (None, None, "0", False),
        (None, None, "", False),
        (None, None, "off", False),
        (None, None, None, False),
        (False, None, "1", False),
        (True, None, "0", True),
        (True, False, "1", False),
        (False, True, "0", True),
    ],
)
def test_precedence_build_then_builder_then_environment(
    monkeypatch: pytest.MonkeyPatch, builder: Any, build: Any, env: str | None, on: bool
) -> None:
    """build(debug=) wins over PipelineBuilder(debug=), which wins over TOOLWARE_DEBUG."""
    if env is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, env)
    stage = sleeping(FakeClock(), 0, "s")
    pipeline = PipelineBuilder(debug=builder).use(stage).route(FakeHandler()).build(debug=build)
    assert isinstance(pipeline.stages[0].interceptor, DebugStage) is on


def test_bad_environment_value_is_refused_at_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown TOOLWARE_DEBUG value names the variable and the fix."""
    monkeypatch.setenv(ENV_VAR, "maybe")
    builder = PipelineBuilder().route(FakeHandler())
    with pytest.raises(ValueError, match="TOOLWARE_DEBUG='maybe' is not understood; set it to 1"):
        builder.build()


def test_bad_debug_values_are_refused() -> None:
    """debug= takes DebugOptions, a bool or None; level= a non-negative int."""
    with pytest.raises(TypeError, match="debug= takes a DebugOptions, True, False or None"):
        PipelineBuilder(debug="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="debug= takes"):
        PipelineBuilder().route(FakeHandler()).build(debug=1)  # type: ignore[arg-type]
    for level in (True, -1, "DEBUG"):
        with pytest.raises(TypeError, match="level= takes a logging level"):
            DebugOptions(level=level)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_chars="):
        DebugOptions(max_chars=0)
    assert DebugOptions(level=0).level == 0


def test_debug_options_reads_a_given_environment() -> None:
    """debug_options() reads the mapping it is given, else os.environ."""
    options = debug_options(None, {ENV_VAR: "1"})
    assert isinstance(options, DebugOptions)
    assert debug_options(None, {}) is None
    given = DebugOptions()
    assert debug_options(given, {ENV_VAR: "0"}) is given

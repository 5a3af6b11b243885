"""Debug mode's log lines pinned word for word (messages, times, extra fields)."""

import logging

import pytest

from tests.test_debug import records, run
from toolware.builder import PipelineBuilder
from toolware.context import RequestContext, ResponseContext
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


async def test_lines_are_exact_for_a_stage_that_raises_after_call_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """enter, the inner stage's exit, then raised: 1 s inside call_next, 1 s of its own."""
    caplog.set_level(logging.DEBUG, "toolware.debug")
    clock = FakeClock()

    async def broken(request: RequestContext, call_next: CallNext) -> ResponseContext:
        await call_next(request)
        await clock.sleep(1.0)
        raise KeyError("x")

    async def slow(request: RequestContext, call_next: CallNext) -> ResponseContext:
        await clock.sleep(1.0)
        return await call_next(request)

    pipeline = (
        PipelineBuilder(clock=clock, debug=True).use(broken).use(slow).route(FakeHandler()).build()
    )
    await run(pipeline.invoke("t"), clock, 5)
    lines = records(caplog)
    rid = lines[0].__dict__["request_id"]
    assert [r.getMessage().split(" request=")[0].split(" response=")[0] for r in lines] == [
        f"debug.enter pipeline=pipeline stage=broken request_id={rid}",
        f"debug.enter pipeline=pipeline stage=slow request_id={rid}",
        f"debug.exit pipeline=pipeline stage=slow request_id={rid} self_ms=1000.000 "
        "total_ms=1000.000",
        f"debug.raised pipeline=pipeline stage=broken request_id={rid} self_ms=1000.000 "
        "total_ms=2000.000 error=KeyError",
    ]
    assert lines[2].getMessage().endswith(' response={"ok":true,"value":null,"attempts":1}')
    raised = lines[3].__dict__
    assert (raised["request_id"], raised["self_ms"], raised["total_ms"]) == (rid, 1000.0, 2000.0)


def test_debug_options_defaults_reach_the_redactor() -> None:
    """DebugOptions() cuts dumps as documented: strings at 1000 characters, containers at 100
    items, nesting at depth 8; and given limits are the ones its redactor applies."""
    from toolware.debug import DebugOptions

    redact = DebugOptions().redactor
    assert redact("x" * 1000) == "x" * 1000
    assert redact("x" * 1001) == "x" * 1000 + "...[+1 chars]"
    assert redact(list(range(100))) == list(range(100))
    assert redact(list(range(101)))[-1] == "[+1 items]"
    nested: object = "leaf"
    for _ in range(8):
        nested = [nested]
    deep: object = redact(nested)  # eight levels: kept whole
    for _ in range(8):
        assert isinstance(deep, list)
        deep = deep[0]
    assert deep == "leaf"
    assert "deeper than max_depth=8" in repr(redact([nested]))
    small = DebugOptions(max_chars=3, max_items=2, max_depth=1).redactor
    assert small("abcd") == "abc...[+1 chars]"
    assert small([1, 2, 3]) == [1, 2, "[+1 items]"]
    assert small([[1]]) == ["[list deeper than max_depth=1]"]

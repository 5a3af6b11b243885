"""Tests for toolware.defaults pinning what mutation testing found loose: each preset's own
defaults, options passed on, the shared store, the registry handed to validation."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from toolware import (
    ErrorCategory,
    LocalRegistry,
    PipelineBuilder,
    RateLimit,
    Router,
    UnavailableError,
    default_builder,
    resilient_builder,
    resilient_pipeline,
)
from toolware.interceptors.fallback import FallbackInterceptor
from toolware.markers import FALLBACK, FallbackServed
from toolware.testing import FakeClock


def tools() -> LocalRegistry:
    """'search' is down; 'backup' answers."""
    registry = LocalRegistry()

    @registry.tool
    async def search(query: str) -> str:
        raise UnavailableError("search is down")

    @registry.tool
    async def backup(query: str) -> str:
        return f"backup: {query}"

    return registry


def interceptors(builder: PipelineBuilder, registry: LocalRegistry) -> dict[str, Any]:
    """The built pipeline's interceptors by stage name."""
    return {s.name: s.interceptor for s in builder.route(registry).build().stages}


def test_default_builder_cuts_calls_at_thirty_seconds() -> None:
    """default_builder's own timeout default is 30 s."""
    registry = tools()
    assert interceptors(default_builder(registry), registry)["timeout"].timeout == 30.0


@pytest.mark.parametrize("make", [resilient_builder, resilient_pipeline])
def test_the_resilient_presets_defaults(make: Any) -> None:
    """Both presets: 30 s timeout, 3 attempts, lax validation, one private store for the
    cache, the breakers and the rate limits, and the pipeline named 'resilient'."""
    registry = tools()
    made = make(registry, rate=RateLimit(5.0, burst=10))
    pipeline = made.route(registry).build() if make is resilient_builder else made
    stages = {s.name: s.interceptor for s in pipeline.stages}
    assert pipeline.name == "resilient"
    assert stages["timeout"].timeout == 30.0
    assert stages["retry"].attempts == 3
    assert stages["validation"].strict is False
    assert stages["cache"].state is stages["circuit_breaker"].store
    assert stages["cache"].state is stages["rate_limit"].state
    assert (stages["rate_limit"].rate, stages["rate_limit"].burst) == (5.0, 10)


@pytest.mark.parametrize("make", [resilient_builder, resilient_pipeline])
def test_the_resilient_presets_pass_strict_on(make: Any) -> None:
    """strict=True reaches the validation stage of both presets."""
    registry = tools()
    made = make(registry, strict=True)
    pipeline = made.route(registry).build() if make is resilient_builder else made
    assert {s.name: s.interceptor for s in pipeline.stages}["validation"].strict is True


@pytest.mark.parametrize("make", [default_builder, resilient_builder])
async def test_validation_resolves_a_request_re_aimed_before_it(make: Any) -> None:
    """A fallback placed before validation re-aims the call at 'backup': validation resolves
    it through the registry the preset was given."""
    registry = tools()
    fallback = FallbackInterceptor(on={ErrorCategory.UNAVAILABLE}, target="backup")
    builder = make(registry, clock=FakeClock()).use(fallback, before="validation")
    pipeline = builder.route(registry).build()
    response = await pipeline.invoke("search", {"query": "cats"})
    assert response.unwrap() == "backup: cats"
    assert response.get(FALLBACK) == FallbackServed("backup", ErrorCategory.UNAVAILABLE)


def test_a_bad_rate_names_an_example() -> None:
    """The refusal of a rate that is not a RateLimit ends with a worked example."""
    with pytest.raises(TypeError) as info:
        resilient_builder(tools(), rate=5.0)  # type: ignore[arg-type]
    assert str(info.value).endswith(
        "; e.g. rate=RateLimit(5.0, burst=10) for 5 calls a second, 10 at once"
    )


async def test_resilient_pipeline_passes_workers_and_max_queued_to_the_router() -> None:
    """workers=1, max_queued=1: one sync call runs, one waits, a third is refused at once."""
    registry = LocalRegistry()
    started, release = threading.Event(), threading.Event()

    @registry.tool
    def hold() -> str:
        started.set()
        release.wait(10)
        return "held"

    pipeline = resilient_pipeline(registry, workers=1, max_queued=1, attempts=1)
    router = pipeline.terminal
    assert isinstance(router, Router)
    assert router.workers == 1
    first = asyncio.create_task(pipeline.invoke("hold"))
    await asyncio.to_thread(started.wait, 5)
    second = asyncio.create_task(pipeline.invoke("hold"))
    await asyncio.sleep(0.01)
    refused = await pipeline.invoke("hold")
    release.set()
    assert [r.unwrap() for r in await asyncio.gather(first, second)] == ["held", "held"]
    assert refused.error is not None
    assert "no worker free: all 1 workers busy and 1 calls queued" in refused.error.message
    await pipeline.aclose()

"""The default pipeline: what ``toolware call`` and most applications start from.

    stats → timeout → validation → router → handler

Statistics see every call, refused ones included, with its full time; the deadline covers
validation and the handler; validation runs last so a bad call costs no handler time.
"""

from __future__ import annotations

from toolware.clock import Clock, system_clock
from toolware.interceptors.stats import StatsInterceptor
from toolware.interceptors.timeout import TimeoutInterceptor
from toolware.interceptors.validation import ValidationInterceptor
from toolware.pipeline import Pipeline, PipelineBuilder
from toolware.registry.base import Registry
from toolware.stats import StatsRecorder

__all__ = ["default_builder", "default_pipeline"]


def default_builder(
    registry: Registry,
    *,
    timeout: float | None = 30.0,
    strict: bool = False,
    recorder: StatsRecorder | None = None,
    clock: Clock = system_clock,
) -> PipelineBuilder:
    """A builder with the default interceptors, not yet routed: add your own, then route."""
    return (
        PipelineBuilder(clock=clock, name="default")
        .use(StatsInterceptor(recorder=recorder, clock=clock))
        .use(TimeoutInterceptor(timeout=timeout, registry=registry, clock=clock))
        .use(ValidationInterceptor(registry, strict=strict))
    )


def default_pipeline(
    registry: Registry,
    *,
    timeout: float | None = 30.0,
    strict: bool = False,
    recorder: StatsRecorder | None = None,
    workers: int | None = None,
    clock: Clock = system_clock,
) -> Pipeline:
    """stats → timeout → validation → ``registry``, built."""
    builder = default_builder(
        registry, timeout=timeout, strict=strict, recorder=recorder, clock=clock
    )
    return builder.route(registry, workers=workers).build()

"""The default pipeline: what ``toolware call`` and most applications start from.

    stats → timeout → validation → router → handler

The canonical order, outermost first, and why:

1. **stats** (later: tracing, metrics): see every call, refused ones included, with its full time.
2. **authentication**, then **authorization** (when you add them): a caller who may not call
   must learn nothing, not even which tools exist or what their arguments are, so they go
   before everything that answers about the entry (validation answers ``not_found`` and
   names fields). Authorization reads the entry's tags, which the pipeline resolves before
   any stage runs.
3. **rate limits, circuit breakers** (later): refuse cheaply before spending time.
4. **timeout**: the deadline covers what follows, validation and the handler.
5. **validation**: last, so a bad call costs no handler time and the handler gets converted
   arguments.

The stages are named (``"stats"``, ``"timeout"``, ``"validation"``), so your own go where they
belong without rebuilding the default by hand::

    builder = default_builder(registry).use(authenticate, before="stats")  # or first=True
    pipeline = builder.use(authorize, before="timeout").route(registry).build()
"""

from __future__ import annotations

from toolware._workers import DEFAULT_MAX_QUEUED
from toolware.clock import Clock, system_clock
from toolware.interceptors.stats import StatsInterceptor
from toolware.interceptors.timeout import TimeoutInterceptor
from toolware.interceptors.validation import ValidationInterceptor
from toolware.pipeline import Pipeline, PipelineBuilder
from toolware.registry.base import Registry
from toolware.stats import StatsRecorder

__all__ = ["DEFAULT_STAGES", "default_builder", "default_pipeline"]

DEFAULT_STAGES = ("stats", "timeout", "validation")
"""The names of the default pipeline's stages, outermost first: anchors for ``before=``."""


def default_builder(
    registry: Registry,
    *,
    timeout: float | None = 30.0,
    strict: bool = False,
    recorder: StatsRecorder | None = None,
    clock: Clock = system_clock,
) -> PipelineBuilder:
    """A builder with the default stages, not yet routed: add your own, then route."""
    return (
        PipelineBuilder(clock=clock, name="default")
        .use(StatsInterceptor(recorder=recorder), name="stats")
        .use(TimeoutInterceptor(timeout=timeout), name="timeout")
        .use(ValidationInterceptor(registry, strict=strict), name="validation")
    )


def default_pipeline(
    registry: Registry,
    *,
    timeout: float | None = 30.0,
    strict: bool = False,
    recorder: StatsRecorder | None = None,
    workers: int | None = None,
    max_queued: int | None = DEFAULT_MAX_QUEUED,
    clock: Clock = system_clock,
) -> Pipeline:
    """stats → timeout → validation → ``registry``, built (``workers`` and ``max_queued`` as
    in :meth:`PipelineBuilder.route`)."""
    builder = default_builder(
        registry, timeout=timeout, strict=strict, recorder=recorder, clock=clock
    )
    return builder.route(registry, workers=workers, max_queued=max_queued).build()

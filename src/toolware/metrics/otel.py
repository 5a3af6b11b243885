"""The OpenTelemetry metrics bridge: observable instruments that read a :class:`CallMetrics`.

:func:`register_otel_metrics` creates asynchronous (observable) instruments on a meter of the
given ``meter_provider`` (the global one by default). Their callbacks read
:meth:`CallMetrics.snapshot` when the SDK collects, so a call pays nothing for the export.
Only the OpenTelemetry API is imported, and only when the function is called
(``pip install toolware[otel]``).

Instruments (attributes ``toolware.kind``, ``toolware.target``, and ``toolware.action`` when
the call named one, unless said otherwise; all sums are cumulative):

    toolware.calls                  counter     calls ended
    toolware.call.errors            counter     ... and ``error.type`` (the error category)
    toolware.call.duration.sum      counter     seconds spent in calls
    toolware.call.duration.bucket   counter     ... and ``le``: calls that took at most ``le``
                                                seconds (``+Inf`` for all), cumulative buckets
    toolware.calls.in_flight        updown      calls started and not ended; ``toolware.kind``
    toolware.streams                counter     ... and ``toolware.stream.outcome``
    toolware.stream.first_chunk.sum counter     seconds to first chunk, over the streams
    toolware.retries / .cache.hits / .fallbacks / .hedges   counters
    toolware.limiter.refusals       counter     ... and ``toolware.limiter``
    toolware.breaker.state          gauge       ``toolware.breaker.key``; 0 closed,
                                                1 half_open, 2 open, 3 isolated

Why no OpenTelemetry histogram: the API has no asynchronous histogram, and a synchronous one
costs microseconds per call; the recorder's fixed buckets are exported instead as cumulative
bucket counters (lossless, the Prometheus shape). The semantic conventions' duration metric
(``gen_ai.client.operation.duration``) is defined for model requests, not tool calls, so the
names are under ``toolware.``.

Events: ``metrics.otel_callback_failed`` (error, logged once): a callback raised; it reports
nothing for that collection, and calls are never affected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from toolware.metrics._aggregate import BREAKER_STATE_VALUES, CallMetrics, MetricsSnapshot
from toolware.stats import TargetStats

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

__all__ = ["register_otel_metrics"]

logger = logging.getLogger("toolware.metrics.otel")

_Attributes = dict[str, str]
_Reading = Callable[[MetricsSnapshot], Iterator[tuple[float, _Attributes]]]


def _target(stats: TargetStats) -> _Attributes:
    key = stats.key
    attributes = {"toolware.kind": key.kind.value, "toolware.target": key.target}
    if key.action is not None:
        attributes["toolware.action"] = key.action
    return attributes


def _per_target(read: Callable[[TargetStats], float]) -> _Reading:
    def reading(snap: MetricsSnapshot) -> Iterator[tuple[float, _Attributes]]:
        for stats in snap.stats.targets:
            yield read(stats), _target(stats)

    return reading


def _errors(snap: MetricsSnapshot) -> Iterator[tuple[float, _Attributes]]:
    for stats in snap.stats.targets:
        for category, count in sorted(stats.errors.items()):
            yield count, {**_target(stats), "error.type": category.value}


def _buckets(snap: MetricsSnapshot) -> Iterator[tuple[float, _Attributes]]:
    for stats in snap.stats.targets:
        attributes, seen = _target(stats), 0
        bounds = [repr(bound) for bound in stats.bucket_bounds] + ["+Inf"]
        for bound, count in zip(bounds, stats.bucket_counts, strict=True):
            seen += count
            yield seen, {**attributes, "le": bound}


def _in_flight(snap: MetricsSnapshot) -> Iterator[tuple[float, _Attributes]]:
    for kind, count in snap.in_flight.items():
        yield count, {"toolware.kind": kind.value}


def _streams(snap: MetricsSnapshot) -> Iterator[tuple[float, _Attributes]]:
    for stats in snap.stats.targets:
        if stats.streams:
            attributes = _target(stats)
            for outcome, count in (
                ("completed", stats.streams_completed),
                ("failed", stats.streams_failed),
                ("abandoned", stats.streams_abandoned),
            ):
                yield count, {**attributes, "toolware.stream.outcome": outcome}


def _first_chunk(snap: MetricsSnapshot) -> Iterator[tuple[float, _Attributes]]:
    for stats in snap.stats.targets:
        if stats.streams:
            yield stats.first_chunk_total_seconds, _target(stats)


def _refusals(snap: MetricsSnapshot) -> Iterator[tuple[float, _Attributes]]:
    for key, count in snap.refusals.items():
        attributes = {"toolware.kind": key.kind.value, "toolware.target": key.target}
        if key.action is not None:
            attributes["toolware.action"] = key.action
        attributes["toolware.limiter"] = key.limiter
        yield count, attributes


def _breakers(snap: MetricsSnapshot) -> Iterator[tuple[float, _Attributes]]:
    for key, state in snap.breakers.items():
        yield BREAKER_STATE_VALUES[state], {"toolware.breaker.key": key}


# (instrument type, name, unit, description, reading)
_INSTRUMENTS: tuple[tuple[str, str, str, str, _Reading], ...] = (
    ("counter", "toolware.calls", "{call}", "Calls ended.", _per_target(lambda s: s.calls)),
    ("counter", "toolware.call.errors", "{call}", "Failed calls, by error category.", _errors),
    (
        "counter",
        "toolware.call.duration.sum",
        "s",
        "Seconds spent in calls.",
        _per_target(lambda s: s.total_seconds),
    ),
    ("counter", "toolware.call.duration.bucket", "{call}", "Calls of at most le s.", _buckets),
    ("updown", "toolware.calls.in_flight", "{call}", "Calls not yet ended.", _in_flight),
    ("counter", "toolware.streams", "{stream}", "Streamed calls ended, by outcome.", _streams),
    ("counter", "toolware.stream.first_chunk.sum", "s", "Seconds to first chunk.", _first_chunk),
    ("counter", "toolware.retries", "{attempt}", "Retries.", _per_target(lambda s: s.retries)),
    (
        "counter",
        "toolware.cache.hits",
        "{call}",
        "Calls answered by the cache.",
        _per_target(lambda s: s.cache_hits),
    ),
    (
        "counter",
        "toolware.fallbacks",
        "{call}",
        "Calls answered by a fallback.",
        _per_target(lambda s: s.fallbacks),
    ),
    ("counter", "toolware.hedges", "{attempt}", "Hedges.", _per_target(lambda s: s.hedges)),
    ("counter", "toolware.limiter.refusals", "{call}", "Limiter refusals.", _refusals),
    ("gauge", "toolware.breaker.state", "1", "0 closed 1 half_open 2 open 3 isolated.", _breakers),
)


def register_otel_metrics(
    metrics: CallMetrics, *, meter_provider: MeterProvider | None = None
) -> tuple[object, ...]:
    """Create the observable instruments reading ``metrics``; returns them.

    ``meter_provider`` defaults to the global one (``opentelemetry.metrics``).
    """
    if not isinstance(metrics, CallMetrics):
        raise TypeError(
            f"metrics must be a toolware.metrics.CallMetrics (MetricsInterceptor().metrics), "
            f"got {metrics!r}"
        )
    try:
        from opentelemetry import metrics as otel_metrics
        from opentelemetry.metrics import Observation
    except ImportError as exc:  # pragma: no cover - the otel extra is installed in development
        raise ImportError(
            "register_otel_metrics needs the OpenTelemetry API: pip install 'toolware[otel]'"
        ) from exc
    meter = otel_metrics.get_meter("toolware", meter_provider=meter_provider)
    failed = [False]
    snapshots = _Snapshots(metrics)
    create = {
        "counter": meter.create_observable_counter,
        "updown": meter.create_observable_up_down_counter,
        "gauge": meter.create_observable_gauge,
    }
    instruments: list[object] = []
    for kind, name, unit, description, reading in _INSTRUMENTS:
        callback = _callback(name, reading, snapshots, failed, Observation)
        instruments.append(
            create[kind](name, callbacks=[callback], unit=unit, description=description)
        )
    return tuple(instruments)


class _Snapshots:
    """One snapshot per collection, shared by the instruments: an instrument asking again
    (the next collection) gets a fresh one. Keeps a collection consistent across instruments
    and merges the shards once, not once per instrument."""

    __slots__ = ("_lock", "_metrics", "_served", "_snapshot")

    def __init__(self, metrics: CallMetrics) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()
        self._served: set[str] = set()
        self._snapshot: MetricsSnapshot | None = None

    def for_instrument(self, name: str) -> MetricsSnapshot:
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or name in self._served:
                snapshot = self._snapshot = self._metrics.snapshot()
                self._served.clear()
            self._served.add(name)
            return snapshot


def _callback(
    name: str,
    reading: _Reading,
    snapshots: _Snapshots,
    failed: list[bool],
    observation: type[Observation],
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        try:
            return [
                observation(value, attributes)
                for value, attributes in reading(snapshots.for_instrument(name))
            ]
        except Exception as exc:
            if not failed[0]:
                failed[0] = True
                logger.exception(
                    "metrics.otel_callback_failed instrument=%s error=%s",
                    name,
                    type(exc).__name__,
                    extra={"instrument": name, "error": type(exc).__name__},
                )
            return []

    return observe

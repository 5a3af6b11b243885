"""What the tracing interceptor costs a call, with and without an OpenTelemetry SDK, in one run.

Every row awaits the same async tool, ``search(query) -> query``, on the happy path. Rows:

  bare                      a pipeline with no interceptor, routed to the registry
  bare + tracing, no SDK    the same with only ``TracingInterceptor()``: no SDK configured, so
                            the API's proxy/no-op provider is in place (this process never
                            sets a global provider)
  resilient                 ``resilient_builder(registry)``: stats -> timeout -> cache -> retry
                            -> circuit_breaker -> validation -> router
  resilient + tracing ...   the same with ``TracingInterceptor`` right inside ``stats``:
    no SDK                  (a) API only, no-op: target <= 0.5 us over the row without it
    SDK, every call         (b) SDK ``TracerProvider`` + ``SimpleSpanProcessor`` +
                            ``InMemorySpanExporter`` (cleared every 1,000 calls so memory stays
                            flat; the clearing is inside the timed call, and costs ~nothing)
    SDK, 1 % sampled        (c) the same with ``ParentBased(TraceIdRatioBased(0.01))``

Each cost is the median over rounds of the per-round difference of means against the row
without tracing (method of ``_timing.py``: interleaved rounds, ``gc.collect()`` before each).
Run: .venv/bin/python benchmarks/tracing.py  (--quick for a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import platform
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from _timing import Row, Summary, difference, print_table, run_rows
from toolware import LocalRegistry, PipelineBuilder, RequestContext, resilient_builder
from toolware.interceptors.tracing import TracingInterceptor

ARGS = {"query": "toolware"}
CLEAR_EVERY = 1_000
TARGET_NO_SDK = 0.5  # us per call


async def search(query: str) -> str:
    return query


def sdk_provider(exporter: InMemorySpanExporter, ratio: float | None = None) -> TracerProvider:
    sampler = None if ratio is None else ParentBased(TraceIdRatioBased(ratio))
    provider = TracerProvider() if sampler is None else TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def clearing(
    pipeline: Any, request: RequestContext, exporter: InMemorySpanExporter
) -> Callable[[], Awaitable[Any]]:
    calls = [0]

    def call() -> Awaitable[Any]:
        calls[0] += 1
        if calls[0] % CLEAR_EVERY == 0:
            exporter.clear()
        return pipeline(request)  # type: ignore[no-any-return]

    return call


def build_rows() -> tuple[list[Row], list[tuple[str, str]], InMemorySpanExporter]:
    registry = LocalRegistry()
    registry.tool(search, idempotent=True)
    request = RequestContext.create("search", ARGS)
    exporter = InMemorySpanExporter()

    def resilient(tracing: TracingInterceptor | None) -> Any:
        builder = resilient_builder(registry)
        if tracing is not None:
            builder.use(tracing, after="stats")
        return builder.route(registry).build()

    bare = PipelineBuilder().route(registry).build()
    bare_traced = PipelineBuilder().use(TracingInterceptor()).route(registry).build()
    plain = resilient(None)
    no_sdk = resilient(TracingInterceptor())
    every = resilient(TracingInterceptor(tracer_provider=sdk_provider(exporter)))
    sampled = resilient(TracingInterceptor(tracer_provider=sdk_provider(exporter, 0.01)))
    rows: list[Row] = [
        ("bare", lambda: bare(request)),
        ("bare + tracing, no SDK", lambda: bare_traced(request)),
        ("resilient", lambda: plain(request)),
        ("resilient + tracing, no SDK", lambda: no_sdk(request)),
        ("resilient + tracing, SDK every call", clearing(every, request, exporter)),
        ("resilient + tracing, SDK 1 % sampled", clearing(sampled, request, exporter)),
    ]
    costs = [
        ("bare + tracing, no SDK", "bare"),
        ("resilient + tracing, no SDK", "resilient"),
        ("resilient + tracing, SDK every call", "resilient"),
        ("resilient + tracing, SDK 1 % sampled", "resilient"),
    ]
    return rows, costs, exporter


async def measure_all(calls: int, rounds: int) -> tuple[dict[str, list[list[int]]], Any]:
    rows, costs, exporter = build_rows()
    for name, call in rows:  # sanity: every row answers, and the SDK rows really record spans
        response = await call()
        if response.value != "toolware":
            raise SystemExit(f"{name} did not answer 'toolware'")
    if not exporter.get_finished_spans():
        raise SystemExit("the SDK rows recorded no span")
    return await run_rows(rows, calls, rounds, warmup=min(2_000, calls)), costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 calls, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (2_000, 2) if options.quick else (options.calls, options.rounds)
    results, costs = asyncio.run(measure_all(calls, rounds))
    stats = {name: Summary(samples) for name, samples in results.items()}
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{rounds} rounds x {calls} calls per row"
    )
    print_table(stats)
    print()
    print(f"{'cost of tracing':44} {'us/call':>9}")
    for label, base in costs:
        print(f"{label:44} {difference(stats[label], stats[base]):9.3f}")
    no_sdk = difference(stats["resilient + tracing, no SDK"], stats["resilient"])
    verdict = "met" if no_sdk <= TARGET_NO_SDK else "missed"
    print(f"no-SDK cost in the resilient pipeline <= {TARGET_NO_SDK} us: {verdict}")


if __name__ == "__main__":
    main()

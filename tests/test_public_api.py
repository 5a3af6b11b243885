"""The public surface is explicit: every exported name is pinned and importable."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import toolware

TOOLWARE_ALL = [
    "BreakerState",
    "BuilderFrozenError",
    "CacheInterceptor",
    "CachePolicy",
    "CacheScope",
    "CallCancelledError",
    "CallMetrics",
    "CallNext",
    "CallTimeoutError",
    "CircuitBreakerInterceptor",
    "CircuitOpenError",
    "Clock",
    "ClockUser",
    "Closable",
    "CompositeRegistry",
    "ConcurrencyLimitInterceptor",
    "ConcurrencyLimitedError",
    "Document",
    "Entry",
    "EntryDescription",
    "ErrorCategory",
    "ExtraKey",
    "Extras",
    "FallbackInterceptor",
    "FaultInjectionInterceptor",
    "FieldError",
    "ForbiddenError",
    "Handler",
    "HedgingInterceptor",
    "Interceptor",
    "InternalError",
    "InvalidRequestError",
    "Kind",
    "LocalRegistry",
    "MemoryState",
    "MetricsInterceptor",
    "Named",
    "NotFoundError",
    "Pipeline",
    "PipelineBuilder",
    "Principal",
    "RateLimit",
    "RateLimitInterceptor",
    "RateLimitedError",
    "RegistrationError",
    "Registry",
    "RegistryCollisionError",
    "RequestContext",
    "ResponseContext",
    "ResponseStream",
    "ResultTooLargeError",
    "Retriever",
    "RetryBudget",
    "RetryInterceptor",
    "Router",
    "SetupError",
    "Source",
    "Stage",
    "StateStore",
    "StatsInterceptor",
    "StatsRecorder",
    "StatsSnapshot",
    "StreamEnd",
    "StreamOutcome",
    "SystemClock",
    "TargetStats",
    "TimeoutInterceptor",
    "ToolFailedError",
    "ToolwareError",
    "TraceContext",
    "TracingInterceptor",
    "UnauthenticatedError",
    "UnavailableError",
    "UnknownEntryError",
    "ValidationInterceptor",
    "When",
    "__version__",
    "default_builder",
    "default_pipeline",
    "resilient_builder",
    "resilient_pipeline",
    "system_clock",
]

REGISTRY_ALL = [
    "ArgumentValidator",
    "CachePolicy",
    "CacheScope",
    "CompositeRegistry",
    "Document",
    "Entry",
    "EntryDescription",
    "EntryKey",
    "FastLookup",
    "HealthStatus",
    "LocalRegistry",
    "PendingImports",
    "Registry",
    "RegistryHealth",
    "Retriever",
    "Source",
    "function_name",
    "import_object",
    "parse_function_name",
    "split_qualified",
]

INTERCEPTORS_ALL = [
    "CacheInterceptor",
    "CircuitBreakerInterceptor",
    "ConcurrencyLimitInterceptor",
    "Failure",
    "FallbackInterceptor",
    "FaultInjectionInterceptor",
    "Hang",
    "HedgingInterceptor",
    "Latency",
    "MetricsInterceptor",
    "RateLimitInterceptor",
    "RetryBudget",
    "RetryInterceptor",
    "StatsInterceptor",
    "TimeoutInterceptor",
    "TracingInterceptor",
    "ValidationInterceptor",
]

STATE_ALL = [
    "ADMITTED",
    "BreakerChange",
    "BreakerDecision",
    "BreakerPolicy",
    "BreakerState",
    "MemoryState",
    "RateDecision",
    "RateLimit",
    "StateStatus",
    "StateStore",
]


@pytest.mark.parametrize(
    ("module_name", "expected"),
    [
        ("toolware", TOOLWARE_ALL),
        ("toolware.registry", REGISTRY_ALL),
        ("toolware.interceptors", INTERCEPTORS_ALL),
        ("toolware.state", STATE_ALL),
    ],
)
def test_all_is_pinned_and_importable(module_name: str, expected: list[str]) -> None:
    """__all__ is exactly the pinned, sorted list, without duplicates, and every name exists."""
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == expected
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_star_import_gives_exactly_all() -> None:
    """`from toolware import *` brings in exactly the pinned names."""
    namespace: dict[str, object] = {}
    exec("from toolware import *", namespace)
    namespace.pop("__builtins__")
    assert sorted(namespace) == TOOLWARE_ALL


def test_version_matches_the_package_metadata() -> None:
    """__version__ matches the installed distribution's version."""
    from importlib.metadata import version

    assert toolware.__version__ == version("toolware")


def test_package_is_typed() -> None:
    """The package ships a py.typed marker."""
    assert (Path(toolware.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize(
    "module_name",
    [
        "toolware.context",
        "toolware.errors",
        "toolware.pipeline",
        "toolware.conditions",
        "toolware.clock",
        "toolware.ids",
        "toolware.testing",
        "toolware.types",
        "toolware._attribution",
        "toolware.streams",
        "toolware._stream_layers",
        "toolware._read_ahead",
        "toolware._stream_sources",
        "toolware.markers",
        "toolware.state.base",
        "toolware.state.memory",
        "toolware.state.redis",
        "toolware.interceptors.retry",
        "toolware.interceptors.circuit_breaker",
        "toolware.interceptors.rate_limit",
        "toolware.interceptors.concurrency_limit",
        "toolware.interceptors.hedging",
        "toolware.interceptors.fallback",
        "toolware.interceptors.fault_injection",
        "toolware.interceptors.cache",
        "toolware.defaults",
        "toolware.integrations.openai",
        "toolware.integrations.anthropic",
        "toolware.integrations.langchain",
        "toolware.integrations.llamaindex",
        "toolware.integrations.mcp",
        "toolware.integrations.mcp.server",
        "toolware.integrations.mcp.client",
        "toolware.compat.v1",
        "toolware.compat.v1.mcp",
        "toolware.compat.v1.transport",
        "toolware.migrate",
    ],
)
def test_core_module_all_names_exist(module_name: str) -> None:
    """Every name a core module lists in __all__ is defined in it."""
    module = importlib.import_module(module_name)
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name}"

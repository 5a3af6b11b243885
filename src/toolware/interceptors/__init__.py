"""The built-in interceptors, one module each."""

from toolware.interceptors.cache import CacheInterceptor
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.interceptors.concurrency_limit import ConcurrencyLimitInterceptor
from toolware.interceptors.fallback import FallbackInterceptor
from toolware.interceptors.fault_injection import (
    Failure,
    FaultInjectionInterceptor,
    Hang,
    Latency,
)
from toolware.interceptors.hedging import HedgingInterceptor
from toolware.interceptors.metrics import MetricsInterceptor
from toolware.interceptors.rate_limit import RateLimitInterceptor
from toolware.interceptors.retry import RetryBudget, RetryInterceptor
from toolware.interceptors.stats import StatsInterceptor
from toolware.interceptors.timeout import TimeoutInterceptor
from toolware.interceptors.tracing import TracingInterceptor
from toolware.interceptors.validation import ValidationInterceptor

__all__ = [
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

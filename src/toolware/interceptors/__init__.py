"""The built-in interceptors, one module each."""

from toolware.interceptors.stats import StatsInterceptor
from toolware.interceptors.timeout import TimeoutInterceptor
from toolware.interceptors.validation import ValidationInterceptor

__all__ = ["StatsInterceptor", "TimeoutInterceptor", "ValidationInterceptor"]

"""A marker for tests that run toolware code on other threads at the same time as the test.

mutmut records each call of a mutated function in process-wide state that is not safe across
threads: tests that call toolware from several threads at once corrupted it and crashed the
interpreter in mutmut's stats run. They run in `make test`, not under mutmut.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["THREADS_UNDER_MUTMUT"]

THREADS_UNDER_MUTMUT = pytest.mark.skipif(
    bool(os.environ.get("MUTANT_UNDER_TEST")),
    reason="mutmut's call recording is not thread-safe; this test runs in make test",
)

"""Tests for toolware.metrics: the exporters' dependencies are imported only when used."""

from __future__ import annotations

import subprocess
import sys


def test_no_optional_dependency_is_imported_by_the_metrics_modules() -> None:
    """Importing the metrics modules (and toolware) loads neither OpenTelemetry nor
    prometheus_client."""
    code = (
        "import sys, toolware, toolware.metrics, toolware.metrics.prometheus, "
        "toolware.metrics.otel, toolware.interceptors.metrics\n"
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('opentelemetry', 'prometheus_client')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"

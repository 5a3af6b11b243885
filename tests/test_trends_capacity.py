"""Tests for toolware.trends.capacity: the capacity report on known synthetic histories."""

from typing import Any

import pytest

from toolware.testing import FakeClock
from toolware.trends import (
    TargetHistory,
    TrendHistory,
    TrendPoint,
    TrendRecorder,
    capacity_report,
)


def point(time: float, calls: int, p99: float, **fields: Any) -> TrendPoint:
    """A point whose p50/p95/p99 are given (p50 and p95 default to half and 0.9 of p99)."""
    values: dict[str, Any] = {
        "errors": 0,
        "refused": 0,
        "p50": p99 / 2,
        "p95": p99 * 0.9,
        "peak_in_flight": 0,
    }
    values.update(fields)
    return TrendPoint(time=time, calls=calls, p99=p99, **values)


def history(seconds: list[TrendPoint], minutes: list[TrendPoint] | None = None) -> TrendHistory:
    return TrendHistory(
        at=100.0,
        targets=(
            TargetHistory(target="search", seconds=tuple(seconds), minutes=tuple(minutes or ())),
        ),
    )


# p99 = 0.1 s + 0.02 s per call/s: the objective 0.3 s is missed at 10 calls/s.
LINEAR = [point(float(t), calls, 0.1 + 0.02 * calls) for t, calls in enumerate([1, 3, 5, 2, 4])]


def test_known_slope_gives_the_objective_rate_and_the_numbers() -> None:
    """A line p99 = 0.1 + 0.02·rate meets 0.3 s at 10 calls/s; peak and mean are exact."""
    seconds = [*LINEAR, point(5.0, 0, 0.0, errors=0)]
    seconds[2] = point(2.0, 5, 0.1 + 0.02 * 5, errors=1, refused=2, peak_in_flight=4)
    minutes = [point(0.0, 10, 0.1), point(60.0, 5, 0.2), point(120.0, 0, 0.0), point(180.0, 5, 0.4)]
    report = capacity_report(history(seconds, minutes), latency_objective=0.3, limits={"search": 8})
    (target,) = report.targets
    assert (target.target, target.calls, target.seconds_observed) == ("search", 15, 6)
    assert (target.peak_rate, target.peak_at, target.mean_rate) == (5.0, 2.0, 2.5)
    assert (target.error_rate, target.refused_rate) == (1 / 15, 2 / 15)
    assert (target.peak_in_flight, target.in_flight_limit, target.saturation) == (4, 8, 0.5)
    # minutes with calls: (0, 0.1), (1, 0.2), (3, 0.4): least squares slope 0.1 s per minute
    assert target.latency_trend == pytest.approx(0.1)
    assert target.objective_rate == pytest.approx(10.0)
    assert target.objective_note == "latency = 0.1 s + 0.02 s per call/s"
    assert report.at == 100.0
    assert report.objective_method.startswith("least-squares line of per-second p99 on calls")
    assert (
        report.trend_method == "least-squares slope of per-minute p99 over the minutes with calls"
    )


def test_the_percentile_chooses_the_field_fitted() -> None:
    """percentile=0.5 fits p50 (half of p99 here): the objective is met until 25 calls/s."""
    report = capacity_report(history(LINEAR), latency_objective=0.3, percentile=0.5)
    assert report.targets[0].objective_rate == pytest.approx(25.0)
    assert "p50" in report.objective_method
    p95 = capacity_report(history(LINEAR), latency_objective=0.27, percentile=0.95)
    assert p95.targets[0].objective_rate == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("seconds", "rate", "note"),
    [
        (LINEAR[:2], None, "too little data: 2 seconds with calls, 3 needed"),
        (
            [point(float(t), 2, 0.1) for t in range(3)],
            None,
            "too little data: every second had the same rate",
        ),
        (
            [point(float(t), c, 0.5 - 0.01 * c) for t, c in enumerate([1, 2, 3])],
            None,
            "latency does not grow with the rate here (slope -0.01 s per call/s)",
        ),
        (
            [point(float(t), c, 0.4 + 0.01 * c) for t, c in enumerate([1, 2, 3])],
            0.0,
            "the objective is missed at any rate: latency exceeds it even when idle",
        ),
    ],
)
def test_too_little_or_unhelpful_data_is_said(
    seconds: list[TrendPoint], rate: float | None, note: str
) -> None:
    """The report says why there is no objective rate."""
    target = capacity_report(history(seconds), latency_objective=0.3).targets[0]
    assert target.objective_rate == rate
    assert target.objective_note.startswith(note)


def test_an_idle_target_reports_zeros() -> None:
    """No calls: no peak, no trend, no saturation without a limit."""
    target = capacity_report(history([point(0.0, 0, 0.0)]), latency_objective=1).targets[0]
    assert (target.calls, target.peak_rate, target.peak_at, target.mean_rate) == (0, 0.0, None, 0.0)
    assert (target.error_rate, target.refused_rate, target.latency_trend) == (0.0, 0.0, None)
    assert (target.saturation, target.in_flight_limit) == (None, None)
    empty = capacity_report(history([]), latency_objective=1).targets[0]
    assert (empty.mean_rate, empty.peak_in_flight) == (0.0, 0)


def test_a_recorder_is_read_now() -> None:
    """Given a recorder, the report reads its history at the clock's time."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(clock=clock)
    for calls in (1, 2, 3):
        for _ in range(calls):
            recorder.record("t", 0.001 * calls)
        clock.advance_now(1.0)
    report = capacity_report(recorder, latency_objective=0.005)
    assert report.at == 3.0
    assert report.targets[0].peak_rate == 3.0
    assert report.targets[0].objective_rate == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"latency_objective": 0},
            ValueError,
            "latency_objective must be a positive, finite number of seconds, e.g. 0.5, got 0",
        ),
        ({"latency_objective": float("nan")}, ValueError, "latency_objective must be"),
        ({"latency_objective": True}, ValueError, "latency_objective must be"),
        (
            {"latency_objective": 1, "percentile": 0.9},
            ValueError,
            r"percentile must be one of 0.5, 0.95, 0.99 .* got 0.9",
        ),
        ({"latency_objective": 1, "percentile": True}, ValueError, "percentile must be one of"),
        (
            {"latency_objective": 1, "limits": {"t": 0}},
            ValueError,
            r"limits\['t'\] must be a positive integer, got 0",
        ),
        ({"latency_objective": 1, "limits": {"t": True}}, ValueError, r"limits\['t'\] must be"),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad option raises naming it and the value."""
    with pytest.raises(error, match=message):
        capacity_report(history(LINEAR), **options)


def test_a_bad_source_is_refused() -> None:
    """Only a recorder or a history can be reported on."""
    with pytest.raises(
        TypeError, match="source must be a TrendRecorder or a TrendHistory, got dict"
    ):
        capacity_report({}, latency_objective=1)  # type: ignore[arg-type]

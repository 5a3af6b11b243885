"""Boundaries of the capacity report pinned by exact values (limits, minute trend, the fit)."""

from typing import Any

import pytest

from toolware.trends import TargetHistory, TrendHistory, TrendPoint, capacity_report


def point(time: float, calls: int, p99: float, **fields: Any) -> TrendPoint:
    values: dict[str, Any] = {"errors": 0, "refused": 0, "p50": p99, "p95": p99}
    values.setdefault("peak_in_flight", 0)
    values.update(fields)
    return TrendPoint(time=time, calls=calls, p99=p99, **values)


def report(seconds: list[TrendPoint], minutes: list[TrendPoint] = [], **options: Any) -> Any:  # noqa: B006
    history = TrendHistory(
        at=0.0,
        targets=(TargetHistory(target="t", seconds=tuple(seconds), minutes=tuple(minutes)),),
    )
    return capacity_report(history, **options).targets[0]


# p99 = 0.5 s + 0.25 s per call/s, exactly representable: intercept 0.5, slope 0.25.
EXACT = [point(float(c), c, 0.5 + 0.25 * c) for c in (1, 2, 3)]


def test_a_limit_of_one_is_accepted_and_divides_the_peak() -> None:
    """limits={"t": 1} is the smallest limit: saturation is the peak in flight itself."""
    target = report([point(0.0, 1, 0.1, peak_in_flight=3)], latency_objective=1, limits={"t": 1})
    assert (target.in_flight_limit, target.saturation) == (1, 3.0)


def test_two_minutes_with_calls_give_a_trend() -> None:
    """Two busy minutes are enough for a slope: 0.1 s to 0.3 s over one minute is 0.2 s/min."""
    minutes = [point(0.0, 5, 0.1), point(60.0, 5, 0.3)]
    target = report([point(0.0, 1, 0.1)], minutes, latency_objective=1)
    assert target.latency_trend == pytest.approx(0.2)
    one = report([point(0.0, 1, 0.1)], minutes[:1], latency_objective=1)
    assert one.latency_trend is None


def test_a_flat_latency_has_no_objective_rate() -> None:
    """A slope of exactly zero is not growth: no rate, and the note says the slope."""
    target = report([point(float(c), c, 0.2) for c in (1, 2, 3)], latency_objective=1)
    assert target.objective_rate is None
    assert (
        target.objective_note == "latency does not grow with the rate here (slope 0 s per call/s)"
    )


def test_an_objective_equal_to_the_idle_latency_is_missed_at_any_rate() -> None:
    """rate = (objective - intercept) / slope = 0 exactly: missed at any rate."""
    target = report(EXACT, latency_objective=0.5)
    assert target.objective_rate == 0.0
    assert target.objective_note.startswith("the objective is missed at any rate")


def test_an_objective_met_until_one_call_per_second() -> None:
    """A rate of exactly 1 call/s is a rate, not 'missed at any rate'."""
    target = report(EXACT, latency_objective=0.75)
    assert target.objective_rate == 1.0
    assert target.objective_note == "latency = 0.5 s + 0.25 s per call/s"

"""Tests for toolware.alerts: rules fire and resolve with hysteresis under the fake clock."""

import logging
import math
from typing import Any

import pytest

from toolware.alerts import (
    AlertEvent,
    AlertRules,
    AlertState,
    ErrorRateAbove,
    LatencyAbove,
    ThroughputBelow,
    rule_from_dict,
)
from toolware.testing import FakeClock
from toolware.trends import TrendRecorder


def setup(
    *rules: Any, **options: Any
) -> tuple[FakeClock, TrendRecorder, AlertRules, list[AlertEvent]]:
    """A recorder on a fake clock at t=0 and rules that collect their events."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(horizon_seconds=60, horizon_minutes=10, clock=clock)
    events: list[AlertEvent] = []
    return (
        clock,
        recorder,
        AlertRules(rules, recorder=recorder, on_event=events.append, **options),
        events,
    )


def second(
    clock: FakeClock, recorder: TrendRecorder, calls: int, errors: int = 0, seconds: float = 0.001
) -> None:
    """Record ``calls`` calls (``errors`` of them failed) in the current second, then move on."""
    for i in range(calls):
        recorder.record("t", seconds, error=i < errors)
    clock.advance_now(1.0)


def test_error_rate_fires_and_resolves_at_exact_instants(caplog: pytest.LogCaptureFixture) -> None:
    """Fires once the rate has held above the threshold for ``for_``; resolves after
    ``resolve_after`` below the resolve threshold; logs both."""
    rule = ErrorRateAbove(threshold=0.2, window=2, for_=2, resolve_after=1, resolve_threshold=0.1)
    clock, recorder, rules, events = setup(rule)
    caplog.set_level(logging.INFO, logger="toolware.alerts")
    second(clock, recorder, 10, errors=5)  # t=0..1
    second(clock, recorder, 10, errors=5)  # t=1..2
    assert rules.evaluate() == ()  # t=2: breached, pending since 2
    second(clock, recorder, 10, errors=5)
    assert rules.evaluate() == ()  # t=3: held 1 s < 2
    second(clock, recorder, 10, errors=5)
    (fired,) = rules.evaluate()  # t=4: held 2 s
    assert fired == AlertEvent(
        rule="error_rate:*", state=AlertState.FIRING, value=0.5, threshold=0.2, at=4.0
    )
    assert rules.firing() == ("error_rate:*",)
    second(clock, recorder, 10, errors=2)
    second(clock, recorder, 10, errors=2)
    assert rules.evaluate() == ()  # t=6: 0.2 is not above 0.2, but not clear (> 0.1) either
    second(clock, recorder, 10, errors=1)
    second(clock, recorder, 10, errors=1)
    assert rules.evaluate() == ()  # t=8: clear (0.1 <= 0.1), since 8
    second(clock, recorder, 10, errors=1)  # t=9
    (resolved,) = rules.evaluate()
    assert (resolved.state, resolved.value, resolved.at) == (AlertState.RESOLVED, 0.1, 9.0)
    assert rules.firing() == ()
    assert events == [fired, resolved]
    assert [r.getMessage() for r in caplog.records] == [
        "alert.firing rule=error_rate:* value=0.5 threshold=0.2",
        "alert.resolved rule=error_rate:* value=0.1 threshold=0.2",
    ]
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]


def test_a_breach_that_does_not_last_resets_the_pending_time() -> None:
    """A clear evaluation in between starts ``for_`` again."""
    clock, recorder, rules, _events = setup(ErrorRateAbove(threshold=0.2, window=1, for_=1))
    second(clock, recorder, 2, errors=2)
    rules.evaluate()  # t=1 pending
    second(clock, recorder, 2, errors=0)
    rules.evaluate()  # t=2 clear: pending forgotten
    second(clock, recorder, 2, errors=2)
    assert rules.evaluate() == ()  # t=3 pending again
    second(clock, recorder, 2, errors=2)
    assert [e.at for e in rules.evaluate()] == [4.0]


def test_a_relapse_while_resolving_keeps_the_rule_firing() -> None:
    """Breached again during ``resolve_after``: the clear time starts over."""
    clock, recorder, rules, _events = setup(
        ErrorRateAbove(threshold=0.2, window=1, resolve_after=1)
    )
    second(clock, recorder, 2, errors=2)
    assert len(rules.evaluate()) == 1  # fires at once: for_=0
    second(clock, recorder, 2)
    rules.evaluate()  # clear since 2
    second(clock, recorder, 2, errors=2)
    rules.evaluate()  # breached: clear time forgotten
    second(clock, recorder, 2)
    assert rules.evaluate() == ()  # clear since 4
    second(clock, recorder, 2)
    assert [(e.state, e.at) for e in rules.evaluate()] == [(AlertState.RESOLVED, 5.0)]


def test_no_data_neither_fires_nor_resolves() -> None:
    """A window without calls leaves error-rate and latency rules as they were."""
    clock, recorder, rules, _events = setup(
        ErrorRateAbove(window=1), LatencyAbove(threshold=0.5, window=1)
    )
    second(clock, recorder, 1, errors=1, seconds=1.0)
    assert len(rules.evaluate()) == 2
    clock.advance_now(5.0)
    assert rules.evaluate() == ()
    assert rules.firing() == ("error_rate:*", "latency:*")


def test_latency_rule_reads_its_percentile_for_its_target() -> None:
    """Each rule reads its own percentile of its target's window; other targets do not count."""
    median = LatencyAbove(threshold=0.5, percentile=0.5, window=1, target="t", name="median")
    tail = LatencyAbove(threshold=0.5, window=1, target="t", name="tail")
    clock, recorder, rules, _events = setup(median, tail)
    recorder.record("other", 9.0)
    second(clock, recorder, 1, seconds=0.4)
    assert rules.evaluate() == ()
    for latency in (0.3, 0.3, 0.6, 0.6):
        recorder.record("t", latency)
    clock.advance_now(1.0)
    (event,) = rules.evaluate()
    assert (event.rule, event.value) == ("tail", pytest.approx(0.4096 + 0.1904 * 0.98))


def test_throughput_below_fires_on_silence_and_resolves_above_its_threshold() -> None:
    """Calls per second under ``min_rate`` fire (no calls is 0); resolves at the resolve rate."""
    rule = ThroughputBelow(min_rate=2, window=2, resolve_threshold=3)
    clock, recorder, rules, _events = setup(rule)
    second(clock, recorder, 4)
    second(clock, recorder, 4)
    assert rules.evaluate() == ()
    clock.advance_now(2.0)
    (fired,) = rules.evaluate()
    assert (fired.state, fired.value, fired.at) == (AlertState.FIRING, 0.0, 4.0)
    second(clock, recorder, 2)
    second(clock, recorder, 3)
    assert rules.evaluate() == ()  # 2.5/s: not below 2, not yet 3
    second(clock, recorder, 3)
    (resolved,) = rules.evaluate()
    assert (resolved.state, resolved.value) == (AlertState.RESOLVED, 3.0)


def test_windows_round_up_to_whole_seconds() -> None:
    """window=1.5 covers 2 complete seconds."""
    rule = ThroughputBelow(min_rate=1, window=1.5)
    assert rule.window == 2


async def test_periodic_evaluation_on_the_clock() -> None:
    """start() evaluates every ``interval`` seconds of the clock; aclose() stops it."""
    clock, recorder, rules, events = setup(ThroughputBelow(min_rate=1, window=1), interval=5)
    rules.start()
    with pytest.raises(RuntimeError, match="already running"):
        rules.start()
    await clock.advance(4.9)
    assert events == []
    await clock.advance(0.1)
    assert [(e.state, e.at) for e in events] == [(AlertState.FIRING, 5.0)]
    await rules.aclose()
    await rules.aclose()
    recorder.record("t", 0.1)
    await clock.advance(20.0)
    assert len(events) == 1


def test_callback_errors_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """An exception from on_event is logged as alert.callback_failed."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(clock=clock)

    def explode(event: AlertEvent) -> None:
        raise RuntimeError("pager down")

    rules = AlertRules([ThroughputBelow(min_rate=1, window=1)], recorder=recorder, on_event=explode)
    clock.advance_now(1.0)
    assert len(rules.evaluate()) == 1
    assert "alert.callback_failed rule=throughput:* error=RuntimeError" in caplog.text
    assert AlertRules([], recorder=recorder).evaluate() == ()
    assert (
        len(AlertRules([ThroughputBelow(min_rate=1, window=1)], recorder=recorder).evaluate(2.0))
        == 1
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ErrorRateAbove(window=0), "window must be a finite number > 0, got 0"),
        (lambda: ErrorRateAbove(window=math.inf), "window must be a finite number > 0, got inf"),
        (lambda: ErrorRateAbove(window=True), "window must be a finite number > 0, got True"),
        (
            lambda: ErrorRateAbove(threshold=1.0),
            r"threshold must be an error rate in \[0, 1\), got 1.0",
        ),
        (lambda: ErrorRateAbove(threshold=-0.1), "threshold must be a finite number >= 0"),
        (lambda: ErrorRateAbove(for_=-1), "for_ must be a finite number >= 0, got -1"),
        (
            lambda: ErrorRateAbove(resolve_after=math.nan),
            "resolve_after must be a finite number >= 0",
        ),
        (
            lambda: ErrorRateAbove(threshold=0.1, resolve_threshold=0.2),
            "resolve_threshold must be at or below the threshold 0.1",
        ),
        (
            lambda: ThroughputBelow(min_rate=2, resolve_threshold=1),
            "resolve_threshold must be at or above the threshold 2.0",
        ),
        (lambda: ThroughputBelow(min_rate=0), "min_rate must be a finite number > 0, got 0"),
        (lambda: LatencyAbove(threshold=0), "threshold must be a finite number > 0, got 0"),
        (lambda: LatencyAbove(threshold=1, percentile=0), "percentile must be a finite number > 0"),
        (
            lambda: LatencyAbove(threshold=1, percentile=1.5),
            r"percentile must be in \(0, 1\], e.g. 0.99, got 1.5",
        ),
        (
            lambda: rule_from_dict({"metric": "cpu"}),
            "unknown alert metric 'cpu'; known metrics: error_rate, latency, throughput",
        ),
        (lambda: rule_from_dict({"window": 1}), "unknown alert metric None"),
    ],
)
def test_bad_rules_are_refused_at_construction(make: Any, message: str) -> None:
    """Each bad option raises ValueError naming it and the value."""
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_types_and_rule_sets_are_refused() -> None:
    """Wrong types and inconsistent rule sets raise at construction."""
    recorder = TrendRecorder(horizon_seconds=10, horizon_minutes=1)
    with pytest.raises(TypeError, match="target must be a qualified name or None"):
        ErrorRateAbove(target="")
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        ErrorRateAbove(name="")
    with pytest.raises(
        TypeError, match=r"alert rule 'latency': .*unexpected keyword argument 'limit'"
    ):
        rule_from_dict({"metric": "latency", "threshold": 1, "limit": 2})
    with pytest.raises(TypeError, match="recorder must be a TrendRecorder"):
        AlertRules([], recorder=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rules must be alert rules"):
        AlertRules(["x"], recorder=recorder)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="two rules are named 'error_rate:\\*'"):
        AlertRules([ErrorRateAbove(), ErrorRateAbove()], recorder=recorder)
    with pytest.raises(ValueError, match="window=61s but the recorder keeps 60s"):
        AlertRules([ErrorRateAbove(window=61)], recorder=recorder)
    with pytest.raises(TypeError, match="on_event must be callable"):
        AlertRules([], recorder=recorder, on_event=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval must be a finite number > 0, got 0"):
        AlertRules([], recorder=recorder, interval=0)
    with pytest.raises(TypeError, match="clock must implement"):
        AlertRules([], recorder=recorder, clock=1)  # type: ignore[arg-type]


def test_rule_from_dict_builds_each_metric() -> None:
    """Config specs become the matching rule with their options."""
    rule = rule_from_dict({"metric": "latency", "threshold": 0.5, "percentile": 0.9, "window": 30})
    assert isinstance(rule, LatencyAbove)
    assert (rule.threshold, rule.percentile, rule.window, rule.name) == (0.5, 0.9, 30, "latency:*")
    assert isinstance(rule_from_dict({"metric": "error_rate", "target": "t"}), ErrorRateAbove)
    assert rule_from_dict({"metric": "throughput", "min_rate": 1}).name == "throughput:*"
    assert repr(rule) == "LatencyAbove(name='latency:*', threshold=0.5)"


def test_an_explicit_clock_is_used_for_evaluation() -> None:
    """AlertRules(clock=...) evaluates at that clock's time."""
    clock, own = FakeClock(start=0.0), FakeClock(start=30.0)
    recorder = TrendRecorder(clock=clock)
    rules = AlertRules([ThroughputBelow(min_rate=1, window=1)], recorder=recorder, clock=own)
    assert rules.clock is own
    assert [e.at for e in rules.evaluate()] == [30.0]

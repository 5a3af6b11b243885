"""Alert rules and their evaluator: defaults, boundaries and log fields pinned by exact values."""

import logging

import pytest

from toolware.alerts import (
    AlertRules,
    AlertState,
    ErrorRateAbove,
    LatencyAbove,
    ThroughputBelow,
    rule_from_dict,
)
from toolware.testing import FakeClock
from toolware.trends import TrendRecorder


def test_defaults() -> None:
    """interval 10 s, name 'alerts', windows of 60 s, no resolve delay."""
    rules = AlertRules([], recorder=TrendRecorder(clock=FakeClock()))
    assert (rules.interval, rules.name) == (10.0, "alerts")
    latency, throughput = LatencyAbove(threshold=1), ThroughputBelow(min_rate=1)
    assert (latency.window, throughput.window) == (60, 60)
    assert (ErrorRateAbove().resolve_after, latency.resolve_after) == (0.0, 0.0)


def test_options_reach_the_rule() -> None:
    """Every option given is kept; a throughput rule fires below, not above."""
    rule = ThroughputBelow(min_rate=2, target="t", name="n", resolve_threshold=3)
    assert (rule.target, rule.name, rule.above, rule.resolve_threshold) == ("t", "n", False, 3.0)
    assert LatencyAbove(threshold=1, resolve_threshold=0.5).resolve_threshold == 0.5
    assert LatencyAbove(threshold=1, percentile=1).percentile == 1.0
    assert ErrorRateAbove(threshold=0.1, resolve_threshold=0).resolve_threshold == 0.0


def test_thresholds_are_strict() -> None:
    """A value equal to the threshold does not breach it, on either side."""
    assert not ErrorRateAbove(threshold=0.5).breached(0.5)
    assert ErrorRateAbove(threshold=0.5).breached(0.51)
    assert not ThroughputBelow(min_rate=2).breached(2.0)
    assert ThroughputBelow(min_rate=2).breached(1.99)


def test_messages_name_the_option_and_the_value() -> None:
    """Refusals name what was wrong."""
    with pytest.raises(
        ValueError, match=r"^resolve_threshold must be a finite number >= 0, got -1$"
    ):
        ErrorRateAbove(resolve_threshold=-1)
    with pytest.raises(TypeError, match=r"^recorder must be a TrendRecorder, got dict$"):
        AlertRules([], recorder={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown alert metric"):
        rule_from_dict({"metric": ["latency"]})


async def test_a_second_start_is_refused() -> None:
    """start() twice without aclose() says what to do."""
    rules = AlertRules([], recorder=TrendRecorder(clock=FakeClock()))
    rules.start()
    with pytest.raises(RuntimeError, match=r"^AlertRules is already running; aclose\(\) it"):
        rules.start()
    await rules.aclose()


def test_evaluate_at_a_given_time_and_past_rules_without_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """now= is the evaluation time; a rule without data does not stop the next; the log
    lines carry rule, value and threshold (and the callback's error)."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(clock=clock)
    recorder.record("t", 0.1, error=True)
    clock.advance_now(0.5)

    def callback(event: object) -> None:
        raise RuntimeError("pager down")

    rules = AlertRules(
        [ErrorRateAbove(target="nobody", window=1), ErrorRateAbove(target="t", window=1)],
        recorder=recorder,
        on_event=callback,
    )
    assert rules.evaluate() == ()  # second 0 is not complete yet
    with caplog.at_level(logging.INFO, logger="toolware.alerts"):
        (event,) = rules.evaluate(now=1.5)
        clock.advance_now(0.5)
        recorder.record("t", 0.1)
        clock.advance_now(1.5)  # now 2.5: second 1 has one good call
        (resolved,) = rules.evaluate()
    assert (event.rule, event.state, event.value, event.at) == ("error_rate:t", "firing", 1.0, 1.5)
    assert (resolved.state, resolved.value, resolved.at) == (AlertState.RESOLVED, 0.0, 2.5)
    fields = [
        (
            r.getMessage().split()[0],
            r.__dict__["rule"],
            r.__dict__.get("value"),
            r.__dict__.get("error"),
        )
        for r in caplog.records
    ]
    assert fields == [
        ("alert.firing", "error_rate:t", 1.0, None),
        ("alert.callback_failed", "error_rate:t", None, "RuntimeError"),
        ("alert.resolved", "error_rate:t", 0.0, None),
        ("alert.callback_failed", "error_rate:t", None, "RuntimeError"),
    ]
    assert [r.__dict__.get("threshold") for r in caplog.records] == [0.05, None, 0.05, None]

"""AlertRules: evaluates rules on a recorder, with hysteresis; events to a callback and logs.

See :mod:`toolware.alerts` for the behaviour and the event names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from toolware.alerts.rules import AlertEvent, AlertRule, AlertState, number
from toolware.clock import Clock
from toolware.trends.recorder import TrendRecorder

__all__ = ["AlertRules"]

logger = logging.getLogger("toolware.alerts")


class _Track:
    __slots__ = ("clear_since", "firing", "pending_since")

    def __init__(self) -> None:
        self.firing = False
        self.pending_since: float | None = None
        self.clear_since: float | None = None


class AlertRules:
    """Evaluates ``rules`` on ``recorder``; see the module docstring."""

    __slots__ = ("_clock", "_task", "_tracks", "interval", "name", "on_event", "recorder", "rules")

    def __init__(
        self,
        rules: Iterable[AlertRule],
        *,
        recorder: TrendRecorder,
        on_event: Callable[[AlertEvent], object] | None = None,
        interval: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(recorder, TrendRecorder):
            raise TypeError(f"recorder must be a TrendRecorder, got {type(recorder).__name__}")
        self.rules = tuple(rules)
        names: set[str] = set()
        for rule in self.rules:
            if not isinstance(rule, AlertRule):
                raise TypeError(
                    f"rules must be alert rules (ErrorRateAbove, LatencyAbove, ThroughputBelow "
                    f"or rule_from_dict(...)), got {rule!r}"
                )
            if rule.name in names:
                raise ValueError(f"two rules are named {rule.name!r}; give each a unique name=")
            names.add(rule.name)
            longest = max(recorder.horizon_seconds, recorder.horizon_minutes * 60)
            if rule.window > longest:
                raise ValueError(
                    f"rule {rule.name!r} has window={rule.window}s but the recorder keeps "
                    f"{longest}s; shorten the window or raise the recorder's horizon"
                )
        if on_event is not None and not callable(on_event):
            raise TypeError(f"on_event must be callable or None, got {on_event!r}")
        self.interval = number("interval", interval)
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.recorder = recorder
        self.on_event = on_event
        self.name = "alerts"
        self._clock = clock
        self._tracks = {rule.name: _Track() for rule in self.rules}
        self._task: asyncio.Task[None] | None = None

    @property
    def clock(self) -> Clock:
        """The clock evaluations run on: the one given, else the recorder's."""
        return self.recorder.clock if self._clock is None else self._clock

    def firing(self) -> tuple[str, ...]:
        """The names of the rules firing now, in rule order."""
        return tuple(rule.name for rule in self.rules if self._tracks[rule.name].firing)

    def evaluate(self, now: float | None = None) -> tuple[AlertEvent, ...]:
        """Evaluate every rule at ``now`` (default: the clock's); the events it caused."""
        now = self.clock.monotonic() if now is None else now
        events = []
        for rule in self.rules:
            stats = self.recorder.window(
                rule.target,
                rule.window,
                fraction=getattr(rule, "percentile", 0.99),
                now=now,
            )
            value = rule.value(stats)
            if value is None:
                continue  # no data: neither fires nor resolves
            event = self._step(rule, self._tracks[rule.name], value, now)
            if event is not None:
                events.append(event)
                self._publish(event)
        return tuple(events)

    @staticmethod
    def _step(rule: AlertRule, track: _Track, value: float, now: float) -> AlertEvent | None:
        if not track.firing:
            if not rule.breached(value):
                track.pending_since = None
                return None
            if track.pending_since is None:
                track.pending_since = now
            if now - track.pending_since < rule.for_:
                return None
            track.firing, track.pending_since = True, None
            state = AlertState.FIRING
        else:
            if not rule.clear(value):
                track.clear_since = None
                return None
            if track.clear_since is None:
                track.clear_since = now
            if now - track.clear_since < rule.resolve_after:
                return None
            track.firing, track.clear_since = False, None
            state = AlertState.RESOLVED
        return AlertEvent(
            rule=rule.name, state=state, value=value, threshold=rule.threshold, at=now
        )

    def _publish(self, event: AlertEvent) -> None:
        fields = {"rule": event.rule, "value": event.value, "threshold": event.threshold}
        if event.state is AlertState.FIRING:
            logger.warning(
                "alert.firing rule=%s value=%s threshold=%s",
                event.rule,
                event.value,
                event.threshold,
                extra=fields,
            )
        else:
            logger.info(
                "alert.resolved rule=%s value=%s threshold=%s",
                event.rule,
                event.value,
                event.threshold,
                extra=fields,
            )
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception as exc:
            logger.error(
                "alert.callback_failed rule=%s error=%s",
                event.rule,
                type(exc).__name__,
                extra={"rule": event.rule, "error": type(exc).__name__},
            )

    def start(self) -> None:
        """Evaluate every ``interval`` seconds on the clock in a task (call inside a loop)."""
        if self._task is not None and not self._task.done():
            raise RuntimeError("AlertRules is already running; aclose() it before start()")
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        clock = self.clock
        while True:
            await clock.sleep(self.interval)
            self.evaluate()

    async def aclose(self) -> None:
        """Stop the periodic evaluation (if started)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

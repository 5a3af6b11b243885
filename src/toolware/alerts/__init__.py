"""Alert rules evaluated on a :class:`~toolware.trends.TrendRecorder`, with hysteresis.

Rules (keyword-only options, validated at construction):

- ``ErrorRateAbove(threshold=0.05, window=60)``: errors / calls over the window.
- ``LatencyAbove(threshold=..., percentile=0.99, window=60)``: that latency percentile.
- ``ThroughputBelow(min_rate=..., window=60)``: calls per second over the window.

Each takes ``target`` (one qualified name, or ``None`` for all targets together), ``for_``
(seconds the condition must hold before the rule fires), ``resolve_after`` (seconds it must be
clear before it resolves), ``resolve_threshold`` (the value that counts as clear: below the
firing threshold for the "above" rules, above it for throughput; default: the threshold) and
``name``. A window covers the complete seconds before the evaluation instant (the current
second is still filling); a window longer than the recorder's second horizon is read from its
minute ring. A window without calls gives error rate and latency no value: the rule then keeps
its state (no data neither fires nor resolves); throughput is 0 then.

``AlertRules(rules, recorder=..., on_event=..., interval=10.0, clock=None)`` evaluates them on
``evaluate()`` or every ``interval`` seconds on the clock after ``start()`` (``aclose()``
stops). Each change is an :class:`AlertEvent` passed to ``on_event`` (an exception from it is
logged as ``alert.callback_failed`` and goes no further) and logged: ``alert.firing``
(warning), ``alert.resolved`` (info). ``rules.firing()`` names the firing rules: the metrics
module exports it as the gauge ``toolware_alerts_firing{rule=...}``. ``rule_from_dict`` builds
a rule from a config mapping (``{"metric": "error_rate", ...}``).
"""

from toolware.alerts.evaluator import AlertRules
from toolware.alerts.rules import (
    AlertEvent,
    AlertRule,
    AlertState,
    ErrorRateAbove,
    LatencyAbove,
    ThroughputBelow,
    rule_from_dict,
)

__all__ = [
    "AlertEvent",
    "AlertRule",
    "AlertRules",
    "AlertState",
    "ErrorRateAbove",
    "LatencyAbove",
    "ThroughputBelow",
    "rule_from_dict",
]

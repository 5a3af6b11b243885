"""The end of ``toolware demo``: what the session showed, in sentences.

How many calls got a value and how many an error the agent can act on; then one sentence per
timeout (a blocked worker left behind, or a stream cut by its idle timeout) and per
resilience behaviour: a call rescued by retry, one that failed every attempt, a refusal by
the rate limit or an open breaker (with its ``retry_after``), and a cache hit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from toolware.demo.session import CallOutcome

__all__ = ["render_summary"]


def render_summary(console: Console, outcomes: Sequence[CallOutcome]) -> None:
    """How many calls answered with a value, then one sentence per notable call."""
    failed = [o for o in outcomes if o.category is not None]
    console.print(
        Text(
            f"{len(outcomes)} calls: {len(outcomes) - len(failed)} answered with a value, "
            f"{len(failed)} with an error the agent can act on."
        )
    )
    for timed_out in (o for o in outcomes if o.category == "timeout"):
        if timed_out.chunks is not None:
            console.print(
                Text(
                    f"{timed_out.call_id} {timed_out.function} sent {timed_out.chunks} chunk(s), "
                    f"then went quiet: its idle timeout closed the stream after "
                    f"{timed_out.seconds * 1000:.0f} ms, and the chunks went to the agent."
                )
            )
            continue
        others = [o for o in outcomes if o.turn == timed_out.turn and o is not timed_out]
        note = (
            f"; {', '.join(o.call_id for o in others)} of the same turn answered meanwhile"
            if others
            else ""
        )
        console.print(
            Text(
                f"{timed_out.call_id} {timed_out.function} timed out after "
                f"{timed_out.seconds * 1000:.0f} ms without waiting for the blocked worker "
                f"thread{note}."
            )
        )
    _render_resilience(console, outcomes)


def _render_resilience(console: Console, outcomes: Sequence[CallOutcome]) -> None:
    """One sentence per resilience behaviour the session showed."""
    for outcome in outcomes:
        line = _resilience_line(outcome)
        if line is not None:
            console.print(Text(f"{outcome.call_id} {outcome.function} {line}"))


def _resilience_line(outcome: CallOutcome) -> str | None:
    if outcome.cache_hit:
        return "was answered from the cache: the tool was not called."
    if outcome.category in ("rate_limited", "circuit_open"):
        retry_after = json.loads(outcome.message["content"])["error"]["retry_after"]
        refused = "the rate limit" if outcome.category == "rate_limited" else "the open breaker"
        return (
            f"was refused by {refused} without running (retry_after={retry_after:.1f} s, "
            "longer than the call's timeout, so retry handed it straight to the agent)."
        )
    if outcome.attempts == 1:
        return None
    if outcome.category is None:
        failures = outcome.attempts - 1
        return f"failed {failures} time(s), then retry rescued it: attempts={outcome.attempts}."
    return f"failed all {outcome.attempts} attempts ({outcome.category}): retry gave up."

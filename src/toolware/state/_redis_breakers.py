"""Circuit breakers shared through Redis: one hash per key, transitions atomic in Lua.

Every decision that changes shared state (an outcome, a probe slot, a transition) is one call
of the breaker script. What this process last learned about each key is kept locally with a
*freshness* deadline (``breaker_sync`` seconds after it was read): while fresh, a closed
breaker admits and an open one refuses with no round trip, so the closed path costs one round
trip per call (recording the outcome), not two.

Successes of a closed breaker are held back and sent together: up to ``breaker_batch`` of them
in one round trip, none older than ``window / 10`` seconds (checked at the next outcome), and
all of them with the next failure, counted before it. Within one process the answers are the
memory store's: a failure sees every success before it. Across P processes a failure may not
yet see up to ``P * (breaker_batch - 1)`` recent successes of the others, so a ratio may open
a little earlier than one process would; never later. ``breaker_batch=1`` sends every outcome.

Other processes' changes arrive by pub/sub: every transition is published on
``<prefix>cb:changes``; one listener task per store (started on the first breaker call,
resubscribing after an outage) marks the key stale and calls the ``subscribe_breaker_changes``
callbacks with reason ``"remote"``. The next admission then reads Redis. So another process
sees an open breaker after the pub/sub delay (a round trip, about a millisecond on a LAN), and
at worst after ``breaker_sync`` seconds if a message is lost (while the listener reconnects).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from toolware.clock import Clock
from toolware.state._redis_link import Link
from toolware.state.base import BreakerChange, BreakerDecision, BreakerPolicy, BreakerState

__all__ = ["RedisBreakers"]

logger = logging.getLogger("toolware.state.redis")

_CLOSED, _OPEN = BreakerState.CLOSED, BreakerState.OPEN
_HALF_OPEN, _ISOLATED = BreakerState.HALF_OPEN, BreakerState.ISOLATED
_ALLOW = BreakerDecision(True, _CLOSED)
_REFUSE_ISOLATED = BreakerDecision(False, _ISOLATED)
_NEVER = float("inf")
_LISTEN_POLL = 1.0
"""Seconds one pub/sub read waits before checking that the store is still open."""


class _Known:
    """This process's view of one breaker: ``until`` (open) and ``fresh_until`` on ``now``."""

    __slots__ = ("fresh_until", "state", "until")

    def __init__(self, state: BreakerState, until: float, fresh_until: float) -> None:
        self.state = state
        self.until = until
        self.fresh_until = fresh_until


class RedisBreakers:
    """Breaker admissions and outcomes through the breaker script, with a local view."""

    __slots__ = (
        "_args",
        "_callbacks",
        "_held",
        "_known",
        "_listener",
        "batch",
        "channel",
        "clock",
        "link",
        "max_keys",
        "origin",
        "prefix",
        "round_trips",
        "subscribed",
        "sync",
    )

    def __init__(self, link: Link, sync: float, batch: int, clock: Clock, max_keys: int) -> None:
        self.link = link
        self.batch = batch
        self._held: dict[str, list[Any]] = {}  # key -> [successes held back, since when]
        self.prefix = link.prefix + "cb:"
        self.channel = link.prefix + "cb:changes"
        self.origin = uuid.uuid4().hex
        self.sync = sync
        self.clock = clock
        self.max_keys = max_keys
        self._known: dict[str, _Known] = {}
        self._args: dict[BreakerPolicy, list[Any]] = {}
        self._callbacks: list[Callable[[BreakerChange], None]] = []
        self._listener: asyncio.Task[None] | None = None
        self.round_trips = 0
        self.subscribed = False
        """Whether the listener is subscribed to the changes channel right now."""

    async def admit(self, key: str, policy: BreakerPolicy, now: float) -> BreakerDecision:
        known = self._known.get(key)
        if known is not None and now < known.fresh_until:
            state = known.state
            if state is _CLOSED:
                return _ALLOW
            if state is _OPEN and now < known.until:
                return BreakerDecision(False, _OPEN, known.until - now)
            if state is _ISOLATED:
                return _REFUSE_ISOLATED
        reply = await self._call("admit", key, policy, now, "0")
        if reply is None:
            return await self.link.local.breaker_admit(key, policy, now)
        state, left, change = self._learn(key, reply, now)
        if int(reply[2]):
            return BreakerDecision(True, state, 0.0, bool(int(reply[3])), change)
        return BreakerDecision(False, state, left, False, change)

    async def record(
        self, key: str, policy: BreakerPolicy, now: float, *, failed: bool, probe: bool
    ) -> BreakerChange | None:
        held = self._held.pop(key, None)
        oks = 0 if held is None else held[0]
        if not (failed or probe) and self.batch > 1:
            known = self._known.get(key)
            if known is not None and known.state is _CLOSED:
                if held is None:
                    _keep(self._held, key, [1, now], self.max_keys)
                    return None
                if oks + 1 < self.batch and now - held[1] < policy.window / 10:
                    held[0] = oks + 1
                    self._held[key] = held
                    return None
        reply = await self._call(
            "fail" if failed else "ok", key, policy, now, "1" if probe else "0", oks
        )
        if reply is None:
            local = self.link.local
            return await local.breaker_record(key, policy, now, failed=failed, probe=probe)
        return self._learn(key, reply, now)[2]

    async def force(self, key: str, state: BreakerState, now: float) -> BreakerChange | None:
        if state is _ISOLATED:
            op = "isolate"
        elif state is _CLOSED:
            op = "reset"
        else:
            raise ValueError(
                f"breaker_force state must be BreakerState.ISOLATED or BreakerState.CLOSED, "
                f"got {state!r}; open and half-open follow from outcomes"
            )
        reply = await self._call(op, key, _FORCE_POLICY, now, "0")
        if reply is None:
            return await self.link.local.breaker_force(key, state, now)
        return self._learn(key, reply, now)[2]

    async def release(self, key: str, now: float) -> None:
        reply = await self._call("release", key, _FORCE_POLICY, now, "0")
        if reply is None:
            await self.link.local.breaker_release(key, now)
        else:
            self._learn(key, reply, now)

    def state(self, key: str, now: float) -> BreakerState:
        link = self.link
        if link.closed or link.health.degraded:
            return link.local.breaker_state(key, now)
        known = self._known.get(key)
        if known is None:
            return _CLOSED
        if known.state is _OPEN and now >= known.until:
            return _HALF_OPEN  # its next call is a probe, as the memory store reports it
        return known.state

    def subscribe(self, callback: Callable[[BreakerChange], None]) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    async def _call(
        self, op: str, key: str, policy: BreakerPolicy, now: float, probe: str, oks: int = 0
    ) -> list[Any] | None:
        """The script's reply, or None when the local store must answer (Redis down, bad value)."""
        link = self.link
        if link.closed or not link.health.should_try(now):
            return None
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        base = self._args.get(policy)
        if base is None:
            base = self._args[policy] = self._base(policy)
        self.round_trips += 1
        try:
            reply: list[Any] = await link.breaker_call(
                self.prefix + key, [op, *base, self.channel, self.origin, probe, key, oks]
            )
            if reply[0] == b"bad":
                link.health.bad_value(self.prefix + key, bytes(reply[1]).decode(errors="replace"))
                return None
            BreakerState(reply[0].decode())  # a reply we cannot read counts as a failure
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure of Redis or of its reply: answer locally
            link.health.failed(exc, now)
            return None
        link.health.succeeded()
        return reply

    @staticmethod
    def _base(policy: BreakerPolicy) -> list[Any]:
        return [
            policy.failure_ratio or 0,
            policy.minimum_calls,
            policy.window,
            policy.consecutive_failures or 0,
            policy.break_duration,
            policy.half_open_probes,
        ]

    def _learn(
        self, key: str, reply: list[Any], now: float
    ) -> tuple[BreakerState, float, BreakerChange | None]:
        state = BreakerState(reply[0].decode())
        left = float(reply[1])
        known = self._known
        if key not in known and len(known) >= self.max_keys:
            del known[next(iter(known))]
        known[key] = _Known(state, now + left, now + self.sync)
        reason = reply[5]
        if not reason:
            return state, left, None
        change = BreakerChange(key, BreakerState(reply[4].decode()), state, reason.decode(), now)
        return state, left, change

    async def _listen(self) -> None:
        link = self.link
        health = link.health
        me = asyncio.current_task()
        delay = health.min_interval
        while not link.closed:
            pubsub = link.client().pubsub()
            try:
                await pubsub.subscribe(self.channel)
                # Changes published while we were not subscribed are lost: read Redis again.
                for known in self._known.values():
                    known.fresh_until = -_NEVER
                self.subscribed = True
                delay = health.min_interval
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_LISTEN_POLL
                    )
                    # redis-py's read timeout can swallow a cancellation: honour it here.
                    if me is not None and me.cancelling():
                        raise asyncio.CancelledError
                    if message is not None:
                        self._heard(message["data"])
            except Exception as exc:  # Redis went away: wait, then subscribe again
                if self.subscribed:  # once per loss, not once per try
                    logger.info(
                        "redis.listener_lost error=%s",
                        type(exc).__name__,
                        extra={"error": type(exc).__name__},
                    )
                else:
                    delay = min(delay * 2, health.max_interval)
            finally:
                self.subscribed = False
                await _quietly_close(pubsub)
            await self.clock.sleep(delay)

    def _heard(self, data: bytes) -> None:
        try:
            origin, previous, current, _, _, key = data.decode().split("\n", 5)
            change = BreakerChange(
                key,
                BreakerState(previous),
                BreakerState(current),
                "remote",
                self.clock.monotonic(),
            )
        except ValueError:
            logger.warning(
                "redis.bad_message channel=%s", self.channel, extra={"channel": self.channel}
            )
            return
        if origin == self.origin:
            return
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= self.max_keys:
                del self._known[next(iter(self._known))]
            self._known[key] = _Known(change.current, _NEVER, -_NEVER)
        else:
            # When the break ends is known on Redis's clock only: until this process reads
            # Redis again (its next admission, the entry being stale), it shows the state as is.
            known.state, known.until, known.fresh_until = change.current, _NEVER, -_NEVER
        for callback in tuple(self._callbacks):
            try:
                callback(change)
            except Exception as exc:  # a subscriber's bug must not stop the listener
                logger.error(
                    "redis.callback_failed key=%s error=%s",
                    key,
                    type(exc).__name__,
                    extra={"key": key, "error": type(exc).__name__},
                )

    async def aclose(self) -> None:
        task, self._listener = self._listener, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():  # our own caller was cancelled, not just the task
                    raise


def _keep(kept: dict[str, Any], key: str, value: Any, bound: int) -> None:
    if len(kept) >= bound:
        kept.clear()  # rare (more keys than the bound): the held successes are forgotten
    kept[key] = value


async def _quietly_close(pubsub: Any) -> None:
    try:
        await pubsub.aclose()
    except Exception as exc:  # the connection is already gone; nothing left to release
        logger.debug("redis.pubsub_close_failed error=%s", type(exc).__name__)


_FORCE_POLICY = BreakerPolicy()
"""Forcing needs no policy; the script takes its arguments all the same."""

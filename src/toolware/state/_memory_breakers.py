"""Circuit breakers in process memory: one small state machine per key.

This docstring is the reference for the semantics; any other store (Redis) must behave the same.

**Window.** Outcomes are counted in ``BUCKETS`` (10) buckets of ``window / 10`` seconds. The
bucket of an instant is its *epoch* ``floor(now * 10 / window)`` (written this way, not ``now /
(window / 10)``, so that ``now = 0.3, window = 1`` lands in epoch 3 as it should). An outcome
recorded in epoch ``e`` counts until the first instant of epoch ``e + 10``, i.e. it ages out
exactly at ``(e + 10) * window / 10``: between ``0.9 * window`` and ``window`` seconds after it
was recorded. Each key keeps 10 call counts, 10 failure counts and the epoch of its newest
bucket; moving to a later epoch zeroes the buckets in between (all of them when 10 or more
epochs passed). The ratio rule sums the 10 buckets (on failures only), so every operation is
O(1). The run of consecutive failures is not timed: the window does not age it out.

**Closed.** ``admit`` allows every call (the shared constant ``ALLOW_CLOSED``, no allocation).
``record(probe=False)`` (for a success, ``succeeded`` does the same, cheaper) counts the outcome
in the current bucket and the run of consecutive failures (a success ends the run). The rules
are checked *only when a failure is recorded* (a success never opens a breaker): first, when
``consecutive_failures`` is set and the run reaches it, the breaker opens with reason
``"consecutive"``; else, when ``failure_ratio`` is set, the window holds ``>= minimum_calls``
outcomes and ``failures / calls >= failure_ratio`` (a division, so ``3 / 10 >= 0.3`` holds
exactly), it opens with reason ``"failure_ratio"``. Opening sets ``until = now +
break_duration``; the counts and the run are not read again while it is not closed, and it only
closes with empty counts (a store may drop them).

**Open.** ``admit`` refuses with ``retry_after = until - now`` while ``now < until``. The first
``admit`` at or after ``until`` moves the breaker to half-open (reason ``"break_elapsed"``,
returned in the decision's ``change``) and takes the first probe slot.

**Half-open.** A round of ``half_open_probes`` slots, which expire at ``until = (start of the
round) + break_duration``. ``admit`` takes a free slot (``probe=True``) or refuses with
``retry_after = 0`` (cannot tell: it depends on the probes in flight). Once ``now >= until`` the
round's slots are given back (a probe never reported must not block the key forever): the next
``admit`` starts a new round (slots and successes zeroed, ``until`` moved on); this is not a
state change. ``record(probe=True, failed=True)`` reopens for ``break_duration``
(``"probe_failed"``); ``record(probe=True, failed=False)`` counts a success, and when successes
reach ``half_open_probes`` the breaker closes with empty counts (``"probes_succeeded"``). A late
probe outcome from an expired round counts in the current round. ``release`` gives back a slot
whose call ended with no outcome (cancelled).

**Outcomes reported in another state are dropped** (return None, nothing counted): a
``probe=False`` outcome arriving while open, half-open or isolated (a call admitted while closed
that finished after the breaker opened: it must not extend the break nor count as a probe), and
a ``probe=True`` outcome arriving while closed, open or isolated (the round it belonged to is
over).

**Isolated.** ``force(key, ISOLATED)`` refuses every call (``retry_after = 0``) until
``force(key, CLOSED)``; reason ``"isolated"``. ``force(key, CLOSED)`` (reason ``"reset"``)
forgets the key entirely: closed, counts cleared. Either returns None when the key already was
in that state (a reset of a closed key still clears its counts).

**Bounds.** At most ``max_keys`` keys with counts, the least recently used evicted first. Used
means: ``record`` of a failure or a probe outcome, ``admit`` when not closed, and a success only
when it lands in a later bucket than the key's newest (LRU order to within one bucket, ``window
/ 10``, so the hot path skips a reordering). A key is stored only once an outcome is recorded:
``admit`` of an unknown key allocates nothing. Evicting a closed key forgets its counts (at
worst it opens later than it would have); evicting an open or half-open key closes it early,
silently: calls flow again and it reopens if they still fail. Size ``max_keys`` above the number
of keys active within one window. Isolated keys are kept apart and never evicted (an operator
put them there; undoing that by accident would be worse than the memory).

**Beyond the protocol.** ``state`` reads an open breaker whose break has elapsed as half-open
(its next call is a probe) without changing it. ``force`` to open or half-open raises
``ValueError``. ``release(key, now)`` is not (yet) in :class:`StateStore`: the circuit breaker
interceptor calls ``breaker_release(key, now)`` on stores that have it (proposed for the
protocol), so a cancelled probe does not hold its slot for ``break_duration``.
"""

from __future__ import annotations

from collections import OrderedDict
from math import floor

from toolware.state.base import BreakerChange, BreakerDecision, BreakerPolicy, BreakerState

__all__ = ["ALLOW_CLOSED", "BUCKETS", "MemoryBreakers"]

BUCKETS = 10
"""Buckets per window."""

_CLOSED = BreakerState.CLOSED
_OPEN = BreakerState.OPEN
_HALF_OPEN = BreakerState.HALF_OPEN
_ISOLATED = BreakerState.ISOLATED

ALLOW_CLOSED = BreakerDecision(True, _CLOSED)
"""The common answer, shared so that the closed path allocates nothing."""
_ALLOW_PROBE = BreakerDecision(True, _HALF_OPEN, probe=True)
_REFUSE_HALF_OPEN = BreakerDecision(False, _HALF_OPEN)
_REFUSE_ISOLATED = BreakerDecision(False, _ISOLATED)


class _Breaker:
    """One key: its state, and the window counts while closed."""

    __slots__ = (
        "calls",
        "consecutive",
        "epoch",
        "failures",
        "probes_ok",
        "probes_out",
        "state",
        "until",
    )

    def __init__(self, epoch: int) -> None:
        self.state = _CLOSED
        self.until = 0.0  # open: end of the break; half-open: expiry of the round's slots
        self.probes_out = 0
        self.probes_ok = 0
        self.epoch = epoch
        self.calls = [0] * BUCKETS
        self.failures = [0] * BUCKETS
        self.consecutive = 0

    def count(self, epoch: int) -> int:
        """Count one call in the bucket of ``epoch`` (the newest bucket for an earlier
        reading); the bucket's index."""
        if epoch > self.epoch:
            self.slide(epoch)
        index = self.epoch % BUCKETS
        self.calls[index] += 1
        return index

    def slide(self, epoch: int) -> None:
        """Zero the buckets between the newest one and ``epoch`` (later), the new newest."""
        passed = epoch - self.epoch
        if passed >= BUCKETS:  # the run of consecutive failures is not timed: it stays
            self.calls[:] = self.failures[:] = [0] * BUCKETS
        else:
            calls, failures = self.calls, self.failures
            for step in range(1, passed + 1):
                index = (self.epoch + step) % BUCKETS
                calls[index] = failures[index] = 0
        self.epoch = epoch


class MemoryBreakers:
    """Per-key breaker state machines, at most ``max_keys`` keys (see the module docstring)."""

    __slots__ = ("_breakers", "_isolated", "max_keys")

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._breakers: OrderedDict[str, _Breaker] = OrderedDict()
        self._isolated: set[str] = set()

    def admit(self, key: str, policy: BreakerPolicy, now: float) -> BreakerDecision:
        breaker = self._breakers.get(key)
        if breaker is None:
            return _REFUSE_ISOLATED if key in self._isolated else ALLOW_CLOSED
        state = breaker.state
        if state is _CLOSED:
            return ALLOW_CLOSED
        self._breakers.move_to_end(key)
        if state is _OPEN:
            if now < breaker.until:
                return BreakerDecision(False, _OPEN, breaker.until - now)
            breaker.state = _HALF_OPEN
            breaker.until = now + policy.break_duration
            breaker.probes_out = 1
            breaker.probes_ok = 0
            change = BreakerChange(key, _OPEN, _HALF_OPEN, "break_elapsed", now)
            return BreakerDecision(True, _HALF_OPEN, probe=True, change=change)
        # half-open
        if now >= breaker.until:
            breaker.until = now + policy.break_duration
            breaker.probes_out = breaker.probes_ok = 0
        if breaker.probes_out < policy.half_open_probes:
            breaker.probes_out += 1
            return _ALLOW_PROBE
        return _REFUSE_HALF_OPEN

    def record(
        self, key: str, policy: BreakerPolicy, now: float, *, failed: bool, probe: bool
    ) -> BreakerChange | None:
        if not failed and not probe:
            self.succeeded(key, policy, now)
            return None
        breaker = self._touch(key, policy, now, probe)
        if breaker is None:
            return None
        state = breaker.state
        if state is _CLOSED:
            if probe:
                return None
            index = breaker.count(floor(now * BUCKETS / policy.window))
            breaker.failures[index] += 1
            breaker.consecutive += 1
            limit = policy.consecutive_failures
            if limit is not None and breaker.consecutive >= limit:
                return self._open(key, breaker, policy, now, _CLOSED, "consecutive")
            ratio = policy.failure_ratio
            calls = sum(breaker.calls)  # on failures only: the success path adds one count
            if (
                ratio is not None
                and calls >= policy.minimum_calls
                and sum(breaker.failures) / calls >= ratio
            ):
                return self._open(key, breaker, policy, now, _CLOSED, "failure_ratio")
            return None
        if state is not _HALF_OPEN or not probe:
            return None
        if failed:
            return self._open(key, breaker, policy, now, _HALF_OPEN, "probe_failed")
        breaker.probes_ok += 1
        if breaker.probes_ok < policy.half_open_probes:
            return None
        del self._breakers[key]  # closed with empty counts: the same as a key never seen
        return BreakerChange(key, _HALF_OPEN, _CLOSED, "probes_succeeded", now)

    def succeeded(self, key: str, policy: BreakerPolicy, now: float) -> None:
        """``record(failed=False, probe=False)``, the common case, with nothing to return.

        Inlined, and the key's recency is updated only when the outcome lands in a later
        bucket than the key's newest: LRU order to within one bucket, for a cheaper hot path.
        """
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._touch(key, policy, now, False)
            if breaker is None:
                return
        elif breaker.state is not _CLOSED:
            self._breakers.move_to_end(key)
            return
        epoch = floor(now * BUCKETS / policy.window)
        if epoch > breaker.epoch:
            self._breakers.move_to_end(key)
            breaker.slide(epoch)
        index = breaker.epoch % BUCKETS
        breaker.calls[index] += 1
        if breaker.consecutive:
            breaker.consecutive = 0

    def _touch(self, key: str, policy: BreakerPolicy, now: float, probe: bool) -> _Breaker | None:
        """The key's breaker, now the most recently used; a new one for an ordinary outcome
        of a key not stored; None for an outcome that must be dropped."""
        breakers = self._breakers
        breaker = breakers.get(key)
        if breaker is not None:
            breakers.move_to_end(key)
            return breaker
        if probe or key in self._isolated:
            return None
        breaker = breakers[key] = _Breaker(floor(now * BUCKETS / policy.window))
        if len(breakers) > self.max_keys:
            breakers.popitem(last=False)
        return breaker

    def release(self, key: str, now: float) -> None:
        """Give back the probe slot of a call that ended with no outcome (it was cancelled)."""
        breaker = self._breakers.get(key)
        if breaker is not None and breaker.state is _HALF_OPEN and breaker.probes_out > 0:
            breaker.probes_out -= 1

    def force(self, key: str, state: BreakerState, now: float) -> BreakerChange | None:
        previous = self.state(key, now)
        if state is _ISOLATED:
            if previous is _ISOLATED:
                return None
            self._breakers.pop(key, None)
            self._isolated.add(key)
            return BreakerChange(key, previous, _ISOLATED, "isolated", now)
        if state is not _CLOSED:
            raise ValueError(
                f"breaker state can only be forced to {_ISOLATED.value!r} or "
                f"{_CLOSED.value!r}, got {state!r}; open and half-open follow from outcomes"
            )
        self._breakers.pop(key, None)
        self._isolated.discard(key)
        if previous is _CLOSED:
            return None
        return BreakerChange(key, previous, _CLOSED, "reset", now)

    def state(self, key: str, now: float) -> BreakerState:
        """The state; an open breaker whose break has elapsed reads as half-open (its next
        call is a probe)."""
        breaker = self._breakers.get(key)
        if breaker is None:
            return _ISOLATED if key in self._isolated else _CLOSED
        if breaker.state is _OPEN and now >= breaker.until:
            return _HALF_OPEN
        return breaker.state

    def __len__(self) -> int:
        return len(self._breakers) + len(self._isolated)

    def _open(
        self,
        key: str,
        breaker: _Breaker,
        policy: BreakerPolicy,
        now: float,
        previous: BreakerState,
        reason: str,
    ) -> BreakerChange:
        breaker.state = _OPEN
        breaker.until = now + policy.break_duration
        return BreakerChange(key, previous, _OPEN, reason, now)

"""Circuit breaker: stop calling a target that keeps failing, and try it again later.

Each key (by default the call's ``qualified_name``; or ``key=`` a function of the request)
has a breaker in a :class:`~toolware.state.base.StateStore` (keys prefixed ``"cb:"``; without
``state=`` a private :class:`~toolware.state.memory.MemoryState`). Closed, calls go through and
their outcomes are counted; when ``failure_ratio`` of at least ``minimum_calls`` calls over the
last ``window`` seconds failed, or ``consecutive_failures`` failed in a row, it opens and
refuses calls with :class:`~toolware.errors.CircuitOpenError` (``retry_after`` = the time left)
for ``break_duration`` seconds; then ``half_open_probes`` trial calls go through: all succeed,
it closes; one fails, it opens again. ``await isolate(key)`` refuses calls until ``await
reset(key)``. The exact rules (window buckets, probe expiry, late outcomes) are in
:mod:`toolware.state._memory_breakers`.

What counts: an error whose category is in ``failure_categories`` (default timeout,
unavailable, tool_failed, internal) is a failure; any other answer is a success (the target
answered: a ``not_found`` is the caller's problem). Errors that say nothing about the target
are no outcome at all: ``cancelled``, ``rate_limited``, ``circuit_open``, a
``ConcurrencyLimitedError`` and a ``CallTimeoutError`` with ``started=False`` (the handler
never ran), and any answer to a call whose target the registry could not resolve (made-up
names must not fill the store). Keys longer than 256 characters are stored as a bounded
digest form (as the limits do). ``invalid_request``, ``not_found``, ``unauthenticated`` and
``forbidden`` are refused in ``failure_categories``: a caller's mistakes must not rest a
healthy target.

Cancellation: a call whose task is cancelled is not counted (its probe slot, if it was a
probe, is given back through the store's ``breaker_release``), except when the
request's deadline has passed: the timeout interceptor cancelled it, and that is a ``timeout``
failure (counted when ``timeout`` is in ``failure_categories``).

Streams: the outcome is recorded when the stream ends (``observe(on_end=...)``), so a probe
holds its slot until then: ``completed`` and ``abandoned`` (the consumer left; the producer
was working) are successes, except an abandonment after the deadline, a timeout as above;
``failed`` is judged by its error like a plain response. A store that does I/O is told from a
task on the running loop (an end heard with no loop running, during garbage collection, is
not recorded: a lost probe slot is freed after ``break_duration``).

State changes (``BreakerChange``, its ``key`` without the prefix) are logged and passed to
``on_state_change(change)`` (an exception from it is logged, never breaks the call). Changes
made by other processes sharing the store arrive through ``subscribe_breaker_changes``,
subscribed at construction. (A :class:`MemoryState` is asked synchronously, through its
``breakers``: it never suspends, and that saves two coroutines per call.)

Events: ``circuit_breaker.opened`` (warning), ``circuit_breaker.half_open`` (info),
``circuit_breaker.closed`` (info), ``circuit_breaker.isolated`` (warning),
``circuit_breaker.reset`` (info), ``circuit_breaker.key_failed`` (error),
``circuit_breaker.callback_failed`` (error), ``circuit_breaker.outcome_dropped`` (debug).

Place it inside ``timeout`` (so the deadline is known) and ``retry`` (each attempt counts,
and ``circuit_open`` tells retry the handler never ran), outside ``rate_limit`` and
``concurrency_limit`` (their refusals are not the target's failures, and are not counted).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ErrorCategory, ToolwareError
from toolware.interceptors._breaker_support import (
    DEFAULT_FAILURE_CATEGORIES,
    PREFIX,
    announce,
    checked_key,
    failure_categories_of,
    key_failed,
    refusal,
    tell,
    verdict,
)
from toolware.interceptors._limit_options import MAX_KEY_CHARS, bounded_key
from toolware.state._memory_breakers import ALLOW_CLOSED, MemoryBreakers
from toolware.state.base import BreakerChange, BreakerPolicy, BreakerState, StateStore
from toolware.state.memory import MemoryState
from toolware.streams import StreamEnd, StreamOutcome
from toolware.types import CallNext

__all__ = ["DEFAULT_FAILURE_CATEGORIES", "CircuitBreakerInterceptor"]

logger = logging.getLogger("toolware.interceptors.circuit_breaker")

_MAX_CACHED_KEYS = 10_000
_TIMEOUT = ErrorCategory.TIMEOUT
_INTERNAL = ErrorCategory.INTERNAL
_FAILED = StreamOutcome.FAILED


class CircuitBreakerInterceptor:
    """Refuses calls to a key that failed too often; see the module docstring."""

    __slots__ = (
        "_clock",
        "_failing",
        "_key",
        "_keys",
        "_monotonic",
        "_sync",
        "_tasks",
        "name",
        "on_state_change",
        "policy",
        "store",
    )

    def __init__(
        self,
        *,
        failure_ratio: float | None = 0.5,
        minimum_calls: int = 10,
        window: float = 30.0,
        consecutive_failures: int | None = None,
        break_duration: float = 30.0,
        half_open_probes: int = 1,
        failure_categories: Iterable[ErrorCategory | str] = DEFAULT_FAILURE_CATEGORIES,
        key: Callable[[RequestContext], str] | None = None,
        state: StateStore | None = None,
        on_state_change: Callable[[BreakerChange], object] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.policy = BreakerPolicy(
            failure_ratio=failure_ratio,
            minimum_calls=minimum_calls,
            window=window,
            consecutive_failures=consecutive_failures,
            break_duration=break_duration,
            half_open_probes=half_open_probes,
        )
        self._failing = failure_categories_of(failure_categories)
        for option, function in (("key", key), ("on_state_change", on_state_change)):
            if function is not None and not callable(function):
                raise TypeError(f"{option} must be a function or None, got {function!r}")
        if state is None:
            state = MemoryState()
        elif not isinstance(state, StateStore):
            raise TypeError(
                f"state must be a toolware.state StateStore (MemoryState, RedisState), "
                f"got {state!r}"
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.name = "circuit_breaker"
        self.store = state
        self.on_state_change = on_state_change
        self._key = key
        self._keys: dict[str, str] = {}  # qualified name -> store key, to skip a concatenation
        self._clock = clock
        self._monotonic = (system_clock if clock is None else clock).monotonic
        # A MemoryState never suspends: asking its breakers directly saves two coroutines.
        self._sync: MemoryBreakers | None = state.breakers if type(state) is MemoryState else None
        self._tasks: set[asyncio.Task[None]] = set()
        # Kept for the store's lifetime: nothing closes an interceptor, and the store is not ours.
        state.subscribe_breaker_changes(self._remote)

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from the clock in use."""
        own = self._clock
        if own is None:
            self._clock = clock
            self._monotonic = clock.monotonic
        elif own is not clock:
            raise ValueError(
                f"CircuitBreakerInterceptor reads time on {own!r} but its pipeline uses "
                f"{clock!r}; pass the same clock to PipelineBuilder(clock=...) or leave the "
                "interceptor's clock unset (one interceptor per clock)"
            )

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        if self._key is None:
            name = request.target if request.action is None else request.qualified_name
            key = self._keys.get(name)
            if key is None:
                key = self._store_key(name)
        else:
            try:
                own = self._key(request)
                if not isinstance(own, str):
                    raise TypeError(f"the key function returned {type(own).__name__}, not str")
            except Exception as exc:
                return key_failed(request, exc, self.name)
            key = PREFIX + (own if len(own) <= MAX_KEY_CHARS else bounded_key(own))
        policy, sync = self.policy, self._sync
        now = self._monotonic()
        if sync is not None:
            decision = sync.admit(key, policy, now)
        else:
            decision = await self.store.breaker_admit(key, policy, now)
        if decision is not ALLOW_CLOSED:
            if not decision.allowed:
                return ResponseContext.failure(refusal(request, key[3:], decision, policy))
            if decision.change is not None:
                self._announce(decision.change)
        probe = decision.probe
        try:
            response = await call_next(request)
        except asyncio.CancelledError:
            failed = self._cancelled(request)
            await self._finish(key, failed, probe, self._monotonic())
            raise
        except Exception:
            await self._finish(key, _INTERNAL in self._failing, probe, self._monotonic())
            raise
        stream = response.stream
        if stream is not None:
            return response.with_stream(
                stream.observe(on_end=self._on_end(request, key, probe), name=self.name)
            )
        error = response.error
        if error is not None:
            # A target the registry could not resolve says nothing about any target's health,
            # and recording it would let a flood of made-up names evict real breakers.
            unresolved = isinstance(request.resolution, ToolwareError)
            failed = None if unresolved else verdict(error, self._failing)
            await self._finish(key, failed, probe, self._monotonic())
        elif sync is not None and not probe:
            sync.succeeded(key, policy, self._monotonic())
        else:
            await self._finish(key, False, probe, self._monotonic())
        return response

    async def isolate(self, key: str) -> BreakerChange | None:
        """Refuse every call to ``key`` until :meth:`reset`; the change, or None if it
        already was isolated."""
        return await self._force(key, BreakerState.ISOLATED)

    async def reset(self, key: str) -> BreakerChange | None:
        """Close ``key``'s breaker and forget its counts; the change, or None if it was
        closed already."""
        return await self._force(key, BreakerState.CLOSED)

    def state(self, key: str) -> BreakerState:
        """``key``'s state as this process knows it (no I/O)."""
        return self.store.breaker_state(checked_key(key), self._monotonic())

    async def _force(self, key: str, state: BreakerState) -> BreakerChange | None:
        change = await self.store.breaker_force(checked_key(key), state, self._monotonic())
        return None if change is None else self._announce(change)

    def _store_key(self, name: str) -> str:
        if len(name) > MAX_KEY_CHARS:  # not remembered: the table must not hold huge names
            return PREFIX + bounded_key(name)
        keys = self._keys
        if len(keys) >= _MAX_CACHED_KEYS:  # bounded: names come from requests
            keys.clear()
        key = keys[name] = PREFIX + name
        return key

    def _cancelled(self, request: RequestContext) -> bool | None:
        """A cancelled call after its deadline timed out; before it, no outcome."""
        deadline = request.deadline
        if deadline is not None and self._monotonic() >= deadline:
            return _TIMEOUT in self._failing
        return None

    def _on_end(
        self, request: RequestContext, key: str, probe: bool
    ) -> Callable[[StreamEnd], None]:
        def ended(end: StreamEnd) -> None:
            if end.outcome is _FAILED:
                error = end.error
                failed = (
                    _INTERNAL in self._failing if error is None else verdict(error, self._failing)
                )
            else:  # completed, or abandoned by its consumer: the producer was working
                failed = bool(self._cancelled(request))
            now = self._monotonic()
            sync = self._sync
            if sync is not None:
                self._settle(tell(sync, key, self.policy, now, failed, probe))
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                logger.debug(
                    "circuit_breaker.outcome_dropped key=%s: the stream ended with no event "
                    "loop running",
                    key[3:],
                    extra={"key": key[3:]},
                )
                return
            task = loop.create_task(self._finish(key, failed, probe, now))
            self._tasks.add(task)  # a task nobody references may be collected before it runs
            task.add_done_callback(self._tasks.discard)

        return ended

    async def _finish(self, key: str, failed: bool | None, probe: bool, now: float) -> None:
        """Report an outcome (``failed`` None: none, give back the probe slot)."""
        sync = self._sync
        if sync is not None:
            self._settle(tell(sync, key, self.policy, now, failed, probe))
        elif failed is not None:
            change = await self.store.breaker_record(
                key, self.policy, now, failed=failed, probe=probe
            )
            self._settle(change)
        elif probe:
            await self.store.breaker_release(key, now)

    def _settle(self, change: BreakerChange | None) -> None:
        if change is not None:
            announce(change, self.on_state_change)

    def _announce(self, change: BreakerChange) -> BreakerChange:
        return announce(change, self.on_state_change)

    def _remote(self, change: BreakerChange) -> None:
        if change.key.startswith(PREFIX):  # the store also carries other interceptors' keys
            self._announce(change)

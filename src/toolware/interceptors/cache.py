"""Result caching for entries that opt in, with single-flight misses.

Only calls whose entry has a :class:`~toolware.registry.base.CachePolicy` (``@registry.tool(
cache=True)`` or ``cache=CachePolicy(ttl=5, scope="shared")``) are cached; every other call
passes straight through. The key is the entry's qualified name, its ``version``, the scope
(``principal``: the caller's ``principal.id``, all anonymous calls sharing one scope of their
own; ``shared``: none) and the canonical JSON of the arguments (see
:mod:`toolware.interceptors._cache_keys`); arguments with no exact JSON form (bytes, sets,
tuples, NaN) leave the call uncached. A result stays fresh for the policy's ``ttl``, else this
interceptor's ``ttl``. Only successes are stored, never errors; values are stored as bytes and
each hit decodes a fresh copy, so a caller that mutates its result cannot change the cache. A
value that does not round-trip through msgpack exactly (a dataclass, a tuple) is not cached.

Options: ``ttl`` (seconds, default 60); ``max_entries`` bounds the private ``MemoryState``
made when ``state=None`` (a store you pass keeps its own bound); ``state``, a
:class:`~toolware.state.base.StateStore` owned by the application (keys ``cache:<name>:...``);
``clock`` (the pipeline's by default).

Single flight: concurrent misses of one key on one event loop make one call (a pipeline
shared by threads, each with its own loop, makes one call per loop: a waiter can only be woken
from its own loop);
the others wait for it and get its outcome: a success as a hit (a fresh copy, ``CACHE_HIT``),
an error as the same error. If the leading call is cancelled (or raises), the waiters are not:
one of them leads in its place. A waiter that is cancelled just stops waiting.

Streams: a streamed result is recorded as it passes (each chunk encoded on the way) and stored
when the stream completes; a stream that fails, is abandoned, or has more than
``MAX_STREAM_CHUNKS`` (10,000) chunks stores nothing. A hit replays the chunks as a new stream.
Streamed misses are not single-flight: a waiter would be held to the first consumer's pace.

``await invalidate(target)`` drops every entry of a target (a plugin's: of all its actions);
``invalidate(target, arguments, principal=...)`` drops one, keyed with the version and scope
of the last result this interceptor stored for that target (``version=`` overrides; for a
target never cached here the version is ``"0"`` and both scopes are dropped). Calls in flight
then store nothing, so a stale result cannot land just after the invalidation.

Events (none for an ordinary hit or miss: too hot to log): ``cache.key_failed`` (debug) for
arguments with no key;
``cache.value_skipped`` (warning, once per target) for a result that cannot be stored;
``cache.store_failed`` (warning) when the state store raised or held a bad record (the call
goes on as a miss: a broken store never fails a call).

Place it after timeout and before retry (``stats → timeout → cache → retry → ...``): each
waiter stays bounded by its own deadline, a retried success is cached, and hits spend no
rate-limit permits, breaker counts or concurrency slots.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Mapping
from typing import Any

from toolware.clock import Clock, system_clock
from toolware.context import Principal, RequestContext, ResponseContext
from toolware.interceptors._cache_keys import (
    Miss,
    cache_key,
    encode_value,
    key_failed,
    recording,
    replay,
    skipped,
    store_failed,
)
from toolware.registry.base import CachePolicy, CacheScope, EntryDescription
from toolware.state.base import StateStore
from toolware.state.memory import MemoryState
from toolware.types import CallNext

__all__ = ["CacheInterceptor"]

_SHARED = CacheScope.SHARED
Outcome = tuple[ResponseContext, bytes | None] | None
"""What a leading call hands its waiters: its response and record, or None to lead anew."""


class CacheInterceptor:
    """Answers repeated calls of opted-in entries from a cache; see the module docstring."""

    __slots__ = ("_clock", "_flights", "_generation", "_seen", "_skipped", "name", "state", "ttl")

    def __init__(
        self,
        *,
        ttl: float = 60.0,
        max_entries: int = 10_000,
        state: StateStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        if (
            isinstance(ttl, bool)
            or not isinstance(ttl, int | float)
            or not (math.isfinite(ttl) and ttl > 0)
        ):
            raise ValueError(f"ttl must be a finite number of seconds > 0, e.g. 60, got {ttl!r}")
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a whole number >= 1, got {max_entries!r}")
        if state is not None and not isinstance(state, StateStore):
            raise TypeError(
                f"state must be a toolware.state StateStore (MemoryState, RedisState), got "
                f"{type(state).__name__}; or None for a private MemoryState"
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.ttl = ttl
        self.name = "cache"
        self.state: StateStore = (
            MemoryState(max_cache_entries=max_entries) if state is None else state
        )
        self._clock = clock
        # Keyed by (event loop, cache key): a waiter's future can only be woken from its own
        # loop, so a pipeline shared by two loops (threads) runs one flight per loop.
        self._flights: dict[tuple[object, str], list[asyncio.Future[Outcome]]] = {}
        self._generation = 0  # bumped by invalidate(): calls begun before it store nothing
        self._seen: dict[str, tuple[str, CacheScope]] = {}  # name -> last version and scope
        self._skipped: set[str] = set()

    @property
    def clock(self) -> Clock:
        return system_clock if self._clock is None else self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from a clock given explicitly."""
        if self._clock is None:
            self._clock = clock
        elif self._clock is not clock:
            raise ValueError(
                f"CacheInterceptor was given clock {self._clock!r}, but its pipeline uses "
                f"{clock!r}; entries would expire on another timeline: pass the same clock to "
                "PipelineBuilder(clock=...) or leave the interceptor's clock unset"
            )

    def __call__(self, request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
        entry = request.entry
        if entry is None or entry.cache is None:
            return call_next(request)  # not opted in: no frame of our own
        return self._cached(request, call_next, entry, entry.cache)

    async def _cached(
        self,
        request: RequestContext,
        call_next: CallNext,
        entry: EntryDescription,
        policy: CachePolicy,
    ) -> ResponseContext:
        clock = self.clock
        started = clock.monotonic()
        name = request.qualified_name
        principal = request.principal
        scope = False if policy.scope is _SHARED else None if principal is None else principal.id
        key = cache_key(name, entry.version, scope, request.arguments)
        if key is None:
            key_failed(request)
            return await call_next(request)
        data = await self._get(key, started, name)
        if data is not None:
            hit = replay(data, request, started, clock, self.state.name)
            if hit is not None:
                return hit
        ttl = self.ttl if policy.ttl is None else policy.ttl
        miss = Miss(key, ttl, name, entry.version, policy.scope, self._generation)
        if entry.streaming:  # not single-flight: a waiter would go at the first reader's pace
            response = await call_next(request)
            await self._keep(response, miss)
            return self._recorded(response, miss)
        flights, loop = self._flights, asyncio.get_running_loop()
        flight = (loop, key)
        while True:
            waiters = flights.get(flight)
            if waiters is None:
                return await self._lead(request, call_next, miss, flight)
            future: asyncio.Future[Outcome] = loop.create_future()
            waiters.append(future)
            outcome = await future
            if outcome is not None:
                response, record = outcome
                if record is None:  # an error, or a value that cannot be copied: as it is
                    return response
                return replay(record, request, started, clock, self.state.name) or response
            # The leader was cancelled or raised: the first waiter to run leads in its place.

    async def _lead(
        self,
        request: RequestContext,
        call_next: CallNext,
        miss: Miss,
        flight: tuple[object, str],
    ) -> ResponseContext:
        """Make the call for ``miss.key`` while later identical calls on this event loop wait
        for its outcome."""
        waiters: list[asyncio.Future[Outcome]] = []
        self._flights[flight] = waiters
        outcome: Outcome = None
        try:
            response = await call_next(request)
            if response.stream is None:  # a stream cannot be shared: waiters lead anew
                outcome = (response, await self._keep(response, miss))
        finally:
            del self._flights[flight]
            for waiter in waiters:
                if not waiter.done():  # a waiter cancelled meanwhile
                    waiter.set_result(outcome)
        return self._recorded(response, miss)

    async def _keep(self, response: ResponseContext, miss: Miss) -> bytes | None:
        """Store a plain success; its record (for the waiters), or None when not stored."""
        if response.error is not None or response.stream is not None:
            return None
        record = encode_value(response.value)
        if record is None:
            self._skip(miss.name, "the value does not round-trip through msgpack")
        else:
            await self._set(miss, record)
        return record

    def _recorded(self, response: ResponseContext, miss: Miss) -> ResponseContext:
        """``response``, its stream (if any) recorded and stored when it completes."""
        stream = response.stream
        if stream is None:
            return response
        return response.with_stream(
            stream.through(recording(miss, self._set, self._skip), name="cache")
        )

    async def _get(self, key: str, now: float, name: str) -> bytes | None:
        try:
            return await self.state.cache_get(key, now)
        except Exception as exc:
            store_failed("get", name, self.state.name, exc)
            return None

    async def _set(self, miss: Miss, record: bytes) -> None:
        if miss.generation != self._generation:  # invalidated since the call began
            return
        self._seen[miss.name] = (miss.version, miss.scope)
        try:
            await self.state.cache_set(miss.key, record, miss.ttl, self.clock.monotonic())
        except Exception as exc:
            store_failed("set", miss.name, self.state.name, exc)

    def _skip(self, name: str, reason: str) -> None:
        if name not in self._skipped:  # once per target: it would say the same every call
            self._skipped.add(name)
            skipped(name, reason)

    async def invalidate(
        self,
        target: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        principal: Principal | None = None,
        version: str | None = None,
    ) -> int:
        """Drop cached results of ``target`` (a qualified name): all of them, or with
        ``arguments`` the one for those arguments and ``principal``. How many were dropped."""
        if not isinstance(target, str) or not target:
            raise ValueError(f"target must be an entry's qualified name, got {target!r}")
        self._generation += 1
        state = self.state
        if arguments is None:  # the target's own entries, then its actions' ("notes.add")
            mine = await state.cache_delete_prefix(f"cache:{target}:")
            return mine + await state.cache_delete_prefix(f"cache:{target}.")
        seen = self._seen.get(target)
        if version is None:
            version = "0" if seen is None else seen[0]
        scopes = (seen[1],) if seen is not None else (CacheScope.PRINCIPAL, _SHARED)
        dropped = 0
        for scope in scopes:
            scoped = False if scope is _SHARED else None if principal is None else principal.id
            key = cache_key(target, version, scoped, arguments)
            if key is not None and await state.cache_delete(key):
                dropped += 1
        return dropped

    def __repr__(self) -> str:
        return f"CacheInterceptor(ttl={self.ttl!r}, state={self.state!r})"

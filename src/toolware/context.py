"""Immutable request and response contexts, and typed extras.

Both contexts are frozen ``msgspec.Struct`` types. They were chosen by measurement (see
``benchmarks/contexts.py`` and ``docs/benchmarks.md``): constructing or copying one costs a
fraction of a frozen slotted dataclass, because msgspec builds them in C instead of through
``object.__setattr__``. A call builds several of them, so this is the cheapest part of the hot
path to get right.

Per-call data that is not a field travels as *extras* (:mod:`toolware.extras`, re-exported
here): an :class:`ExtraKey` is a typed, identity-compared key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from toolware._stream_layers import gather_chunks
from toolware.clock import Clock, system_clock
from toolware.errors import ToolwareError
from toolware.extras import EMPTY_EXTRAS, ExtraKey, Extras
from toolware.ids import new_request_id
from toolware.streams import ResponseStream

if TYPE_CHECKING:
    from toolware.registry.base import EntryDescription

__all__ = [
    "MAX_COLLECTED_CHUNKS",
    "PARTIAL_CHUNKS",
    "Arguments",
    "ExtraKey",
    "Extras",
    "Kind",
    "Principal",
    "RequestContext",
    "ResponseContext",
    "TraceContext",
]

T = TypeVar("T")

MAX_COLLECTED_CHUNKS = 100_000
"""Most chunks ``ResponseContext.collect()`` gathers by default before it gives up with
:class:`~toolware.errors.ResultTooLargeError` (and closes the stream)."""

PARTIAL_CHUNKS: ExtraKey[tuple[Any, ...]] = ExtraKey("partial_chunks", tuple)
"""On a response made by ``collect()`` from a stream that failed: the chunks delivered before
the failure (they cannot be taken back; an agent may still use them)."""


class Kind(StrEnum):
    """What sort of registry entry a call targets."""

    TOOL = "tool"
    PLUGIN = "plugin"
    RAG = "rag"


class Arguments(dict[str, Any]):
    """A read-only dict of call arguments.

    A ``dict`` subclass rather than ``MappingProxyType`` because ``handler(**arguments)`` on a
    dict takes CPython's fast path, while a proxy is copied key by key (docs/benchmarks.md has
    the figures). Every mutating method raises ``TypeError``; derive a new
    request with ``request.with_arguments(...)`` instead.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        raise TypeError(
            "call arguments are read-only; use request.with_arguments({...}) for a changed copy"
        )

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __repr__(self) -> str:
        return f"Arguments({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Arguments, (dict(self),))


_EMPTY_ARGUMENTS = Arguments()


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: a stable id, optional roles and string claims."""

    id: str
    roles: frozenset[str] = frozenset()
    claims: Mapping[str, str] = msgspec.field(default_factory=dict)


class TraceContext(msgspec.Struct, frozen=True, kw_only=True):
    """W3C trace context carried with the call (``traceparent`` and ``tracestate`` headers)."""

    traceparent: str
    tracestate: str = ""


def freeze_arguments(arguments: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only copy of ``arguments`` (the caller's dict can change afterwards)."""
    if arguments is None:
        return _EMPTY_ARGUMENTS
    cls = type(arguments)
    if cls is Arguments:
        return arguments
    if cls is dict:  # the usual case; skips the slow ABC isinstance check below
        return Arguments(arguments) if arguments else _EMPTY_ARGUMENTS
    # Checked before emptiness, so a falsy non-mapping ('' or []) is refused, not taken as {}.
    if not isinstance(arguments, Mapping):
        raise TypeError(
            f"arguments must be a mapping of parameter names to values, "
            f"got {type(arguments).__name__}"
        )
    return Arguments(arguments) if arguments else _EMPTY_ARGUMENTS


def checked_deadline(deadline: float | None) -> float | None:
    # NaN or infinity would compare false with every time and silently disable limits.
    if deadline is not None and not math.isfinite(deadline):
        raise ValueError(
            f"deadline must be a finite time on the pipeline clock's monotonic() timeline, or "
            f"None for no deadline, got {deadline!r}"
        )
    return deadline


class RequestContext(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One call: who, what, with which arguments, and until when.

    ``deadline`` is an absolute time on the pipeline clock's ``monotonic()`` timeline, or
    ``None`` for no deadline; transports convert it to a relative budget when it leaves the
    process. Build one with :meth:`create`; derive changed copies with the ``with_*`` methods.

    Requests are not tracked by the cyclic garbage collector (msgspec ``gc=False``): every call
    in flight holds several, and the collector walking them was most of the cost of 10,000
    concurrent calls. A frozen request can only refer to objects made before it, so it cannot
    close a reference cycle by itself; do not put a request inside a mutable object that its
    own arguments or extras hold (such a cycle would never be freed).
    """

    id: str
    kind: Kind
    target: str
    arguments: Mapping[str, Any]
    action: str | None = None
    principal: Principal | None = None
    deadline: float | None = None
    trace: TraceContext | None = None
    extras: Extras = EMPTY_EXTRAS
    resolution: Any = None
    """Set by the pipeline: the registry ``Entry`` this call goes to, or the ``ToolwareError``
    that looking it up gave. Interceptors read the entry's metadata through :attr:`entry`."""

    @classmethod
    def create(
        cls,
        target: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        kind: Kind = Kind.TOOL,
        action: str | None = None,
        principal: Principal | None = None,
        deadline: float | None = None,
        trace: TraceContext | None = None,
        extras: Extras = EMPTY_EXTRAS,
        id: str | None = None,
        clock: Clock = system_clock,
    ) -> RequestContext:
        """A new request with a fresh time-sortable id and a read-only copy of ``arguments``."""
        if not isinstance(target, str) or not target:
            raise ValueError(f"target must be a non-empty string naming an entry, got {target!r}")
        return cls(
            id=new_request_id(clock) if id is None else id,
            kind=kind if type(kind) is Kind else Kind(kind),
            target=target,
            arguments=freeze_arguments(arguments),
            action=action,
            principal=principal,
            deadline=None if deadline is None else checked_deadline(deadline),
            trace=trace,
            extras=extras,
        )

    @property
    def qualified_name(self) -> str:
        """``target`` or ``target.action``: how logs and errors name the call."""
        return self.target if self.action is None else f"{self.target}.{self.action}"

    @property
    def entry(self) -> EntryDescription | None:
        """The metadata of the registry entry this call goes to (idempotent, tags, version,
        timeout, ...), or ``None`` when the pipeline does not route to a registry or the
        target does not exist.

        The pipeline resolves the entry once, when the call enters it, so every interceptor
        reads the same entry without looking it up again. Change the target with
        :meth:`with_target`, which drops the resolution so that it is looked up anew.
        """
        resolution = self.resolution
        if resolution is None or isinstance(resolution, ToolwareError):
            return None
        description: EntryDescription = resolution.description
        return description

    def with_target(
        self, target: str, *, kind: Kind | None = None, action: str | None = None
    ) -> RequestContext:
        """A copy aimed at another entry; its resolution is dropped and made again."""
        if not isinstance(target, str) or not target:
            raise ValueError(f"target must be a non-empty string naming an entry, got {target!r}")
        return msgspec.structs.replace(
            self,
            target=target,
            kind=self.kind if kind is None else Kind(kind),
            action=action,
            resolution=None,
        )

    def get(self, key: ExtraKey[T]) -> T | None:
        """The extra stored under ``key``, or the key's default."""
        return self.extras.get(key)

    def with_extra(self, key: ExtraKey[T], value: T) -> RequestContext:
        return msgspec.structs.replace(self, extras=self.extras.with_value(key, value))

    def with_arguments(self, arguments: Mapping[str, Any]) -> RequestContext:
        return msgspec.structs.replace(self, arguments=freeze_arguments(arguments))

    def with_deadline(self, deadline: float | None) -> RequestContext:
        """A copy with exactly this deadline (see :meth:`narrow_deadline` to only tighten)."""
        return msgspec.structs.replace(self, deadline=checked_deadline(deadline))

    def narrow_deadline(self, deadline: float) -> RequestContext:
        """A copy whose deadline is the earlier of the current one and ``deadline``."""
        checked_deadline(deadline)
        if self.deadline is not None and self.deadline <= deadline:
            return self
        return msgspec.structs.replace(self, deadline=deadline)

    def with_principal(self, principal: Principal | None) -> RequestContext:
        return msgspec.structs.replace(self, principal=principal)

    def with_trace(self, trace: TraceContext | None) -> RequestContext:
        return msgspec.structs.replace(self, trace=trace)


class ResponseContext(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one call: a value, a typed error, or a stream of chunks; one of them.

    ``started_at``/``finished_at`` are on the pipeline clock's ``monotonic()`` timeline and
    bracket the handler (for a stream: until its first chunk); ``attempts`` counts how many
    times the handler was tried.

    ``stream`` is set for a call to a streaming entry that started: an async iterator of its
    chunks (:class:`~toolware.streams.ResponseStream`), ``None`` otherwise. ``await
    response.collect()`` turns any response into a plain one.
    """

    value: Any = None
    error: ToolwareError | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    attempts: int = 1
    extras: Extras = EMPTY_EXTRAS
    stream: ResponseStream | None = None

    def __post_init__(self) -> None:
        if self.stream is not None:
            if not isinstance(self.stream, ResponseStream):
                raise TypeError(
                    f"a ResponseContext stream must be a ResponseStream, got "
                    f"{type(self.stream).__name__}; wrap an iterator with "
                    "ResponseStream.of(chunks)"
                )
            if self.value is not None or self.error is not None:
                raise ValueError(
                    "a streamed ResponseContext carries its chunks in `stream`, not a value or "
                    "an error; use response.with_stream(...), or collect() it first"
                )
        if self.error is not None:
            if self.value is not None:
                raise ValueError(
                    "a ResponseContext holds a value or an error, never both; "
                    "use ResponseContext.failure(error) or ResponseContext.success(value)"
                )
            if not isinstance(self.error, ToolwareError):
                raise TypeError(
                    f"a ResponseContext error must be a ToolwareError, got "
                    f"{type(self.error).__name__}; wrap it, e.g. ToolFailedError(str(exc)) "
                    "raised 'from exc'"
                )

    @classmethod
    def success(
        cls, value: Any, *, started_at: float = 0.0, finished_at: float = 0.0, attempts: int = 1
    ) -> ResponseContext:
        return cls(value=value, started_at=started_at, finished_at=finished_at, attempts=attempts)

    @classmethod
    def failure(
        cls,
        error: ToolwareError,
        *,
        started_at: float = 0.0,
        finished_at: float = 0.0,
        attempts: int = 1,
    ) -> ResponseContext:
        if not isinstance(error, ToolwareError):
            raise TypeError(
                f"failure() takes a ToolwareError, got {type(error).__name__}; "
                "wrap it, e.g. ToolFailedError(str(exc)) raised 'from exc'"
            )
        return cls(error=error, started_at=started_at, finished_at=finished_at, attempts=attempts)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def elapsed(self) -> float:
        """Seconds between ``started_at`` and ``finished_at``."""
        return self.finished_at - self.started_at

    def unwrap(self) -> Any:
        """The value, or raise the error (a stream is not a value: ``collect()`` it first)."""
        if self.error is not None:
            raise self.error
        if self.stream is not None:
            raise TypeError(
                "this response is a stream: iterate response.stream, or "
                "(await response.collect()).unwrap() for the list of chunks"
            )
        return self.value

    def get(self, key: ExtraKey[T]) -> T | None:
        return self.extras.get(key)

    def with_extra(self, key: ExtraKey[T], value: T) -> ResponseContext:
        return msgspec.structs.replace(self, extras=self.extras.with_value(key, value))

    def with_value(self, value: Any) -> ResponseContext:
        return msgspec.structs.replace(self, value=value, error=None, stream=None)

    def with_error(self, error: ToolwareError) -> ResponseContext:
        return msgspec.structs.replace(self, value=None, error=error, stream=None)

    def with_stream(self, stream: ResponseStream) -> ResponseContext:
        """A copy answering with ``stream`` (typically this response's stream, wrapped)."""
        return msgspec.structs.replace(self, value=None, error=None, stream=stream)

    async def collect(self, *, max_chunks: int = MAX_COLLECTED_CHUNKS) -> ResponseContext:
        """A plain response: for a stream, its chunks as a list value, or the error that ended
        it (the chunks delivered before it under :data:`PARTIAL_CHUNKS`); any other response
        as it is.

        More than ``max_chunks`` chunks end the collection with
        :class:`~toolware.errors.ResultTooLargeError` (the stream is closed there): a stream
        can be endless, and memory is not. ``finished_at`` becomes the time the stream ended.
        """
        stream = self.stream
        if stream is None:
            return self
        if isinstance(max_chunks, bool) or not isinstance(max_chunks, int) or max_chunks < 1:
            raise ValueError(f"max_chunks must be a whole number >= 1, got {max_chunks!r}")
        chunks, error = await gather_chunks(stream, max_chunks)
        finished_at = stream.ended_at or self.finished_at
        if error is not None:
            extras = self.extras.with_value(PARTIAL_CHUNKS, tuple(chunks)) if chunks else None
            return msgspec.structs.replace(
                self,
                stream=None,
                error=error,
                finished_at=finished_at,
                extras=self.extras if extras is None else extras,
            )
        return msgspec.structs.replace(self, stream=None, value=chunks, finished_at=finished_at)

    def with_attempts(self, attempts: int) -> ResponseContext:
        return msgspec.structs.replace(self, attempts=attempts)

    def evolve(self, **changes: Any) -> ResponseContext:
        """A copy with the given fields changed (checked like the constructor)."""
        return msgspec.structs.replace(self, **changes)

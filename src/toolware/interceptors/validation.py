"""Argument validation: bad arguments never reach the handler.

Checks the arguments with the validator of the call's entry (built from the handler's type
hints); the entry comes with the request, resolved once by the pipeline. A bad call gets
``invalid_request`` naming each bad field and what was expected; an unknown target gets
``not_found`` with close matches. Valid arguments go on converted (``"3"`` becomes ``3`` for an
``int`` parameter) unless ``strict=True``.

Place it inside authentication and authorization: an unauthenticated caller must not learn
which tools exist or what their arguments are.

Events: none; failures are responses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from toolware._links import answered
from toolware._resolution import Resolver
from toolware.context import RequestContext, ResponseContext
from toolware.errors import InternalError, ToolwareError
from toolware.registry.base import Registry
from toolware.types import CallNext

__all__ = ["ValidationInterceptor"]


class ValidationInterceptor:
    """Checks arguments against the target entry's schema before the handler runs."""

    __slots__ = ("_resolver", "name", "strict")

    def __init__(self, registry: Registry | None = None, *, strict: bool = False) -> None:
        """``registry`` is only needed for calls that reach validation unresolved: in a
        pipeline that does not route to a registry, or after an interceptor outside this one
        changed the target (``request.with_target``)."""
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(
                f"ValidationInterceptor takes the registry the pipeline routes to, got "
                f"{type(registry).__name__}"
            )
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {strict!r}")
        self.strict = strict
        self.name = "validation"
        self._resolver = None if registry is None else Resolver(registry)

    def __call__(self, request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
        # A plain function that hands back call_next's awaitable: validation has no after-code,
        # so it needs no coroutine frame of its own (one object fewer per call in flight).
        entry = request.resolution
        if entry is None:
            return self._resolve_then_check(request, call_next)
        if isinstance(entry, ToolwareError):
            return answered(ResponseContext.failure(entry))
        try:
            arguments = entry.validator.validate(request.arguments, strict=self.strict)
        except ToolwareError as error:
            return answered(ResponseContext.failure(error.bind(request.id, request.qualified_name)))
        if arguments is not request.arguments and not _unchanged(arguments, request.arguments):
            request = request.with_arguments(arguments)
        return call_next(request)

    async def _resolve_then_check(
        self, request: RequestContext, call_next: CallNext
    ) -> ResponseContext:
        if self._resolver is None:
            return ResponseContext.failure(_unresolved(request))
        resolved = await self._resolver.resolve(request)
        if resolved.resolution is None:  # pragma: no cover - resolve() always sets it
            return ResponseContext.failure(_unresolved(request))
        return await self(resolved, call_next)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _unchanged(validated: Mapping[str, Any], given: Mapping[str, Any]) -> bool:
    """Whether validation converted nothing, so the request can go on as it is (no copy of
    the arguments, no new request: less to allocate per call). Equality alone is not enough
    ({"n": True} == {"n": 1}, {"x": 3} == {"x": 3.0}) and containers may hold converted
    items, so only flat values of the same exact types count as unchanged."""
    if len(validated) != len(given):
        return False
    for name, value in given.items():
        kind = type(value)
        if kind not in _SCALARS or type(validated.get(name, _MISSING)) is not kind:
            return False
        if validated[name] != value and value == value:  # NaN != NaN, yet it is unchanged
            return False
    return True


_MISSING = object()


def _unresolved(request: RequestContext) -> InternalError:
    # Refusing is the safe answer: passing the call on unvalidated would make this stage a
    # declared check that never runs.
    return InternalError(
        f"validation has no entry for {request.qualified_name!r}: the pipeline does not route "
        "to a registry, or an interceptor outside validation changed the target",
        hint="build the pipeline with .route(registry), or give the interceptor the registry: "
        "ValidationInterceptor(registry)",
        request_id=request.id,
        target=request.qualified_name,
    )

"""Argument validation: bad arguments never reach the handler.

Resolves the request's entry and checks the arguments with the entry's validator (built from
the handler's type hints). A bad call gets ``invalid_request`` naming each bad field and what
was expected; an unknown target gets ``not_found`` with close matches. Valid arguments go on
converted (``"3"`` becomes ``3`` for an ``int`` parameter) unless ``strict=True``.

Events: none; failures are responses.
"""

from __future__ import annotations

from toolware.context import RequestContext, ResponseContext
from toolware.errors import ToolwareError
from toolware.registry.base import Registry, fast_lookup
from toolware.types import CallNext

__all__ = ["ValidationInterceptor"]


class ValidationInterceptor:
    """Checks arguments against the target entry's schema before the handler runs."""

    __slots__ = ("_lookup", "name", "registry", "strict")

    def __init__(self, registry: Registry, *, strict: bool = False) -> None:
        if not isinstance(registry, Registry):
            raise TypeError(
                f"ValidationInterceptor needs the registry the pipeline routes to, got "
                f"{type(registry).__name__}"
            )
        self.registry = registry
        self._lookup = fast_lookup(registry)
        self.strict = strict
        self.name = "validation"

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        try:
            entry = self._lookup((request.kind, request.target, request.action))
            if entry is None:
                entry = self.registry.resolve(request.kind, request.target, request.action)
            arguments = entry.validator.validate(request.arguments, strict=self.strict)
        except ToolwareError as error:
            return ResponseContext.failure(error.bind(request.id, request.qualified_name))
        # Compare by identity, not equality: {"n": True} == {"n": 1} and {"x": 3} == {"x": 3.0},
        # yet the handler must get the converted values its type hints asked for.
        if arguments is not request.arguments:
            request = request.with_arguments(arguments)
        return await call_next(request)

"""The decorator forms of registration: ``@registry.tool``, ``@registry.plugin``,
``@registry.retriever``. Each is a thin front for ``add()``, kept apart so the registry module
holds the registry's state and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from toolware.context import Kind
from toolware.registry.base import CachePolicy, EntryDescription

__all__ = ["RegistrationDecorators"]

F = TypeVar("F", bound=Callable[..., Any])


class RegistrationDecorators:
    """Mixin: decorators over ``add(obj, kind=..., **options)``."""

    def add(self, obj: Any, **options: Any) -> tuple[EntryDescription, ...]:
        raise NotImplementedError  # provided by the registry

    @overload
    def tool(
        self,
        function: F,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] = (),
        version: str = "0",
        idempotent: bool = False,
        timeout: float | None = None,
        retryable_on: tuple[type[BaseException], ...] = (),
        check_result: bool = False,
        first_chunk_timeout: float | None = None,
        idle_timeout: float | None = None,
        read_ahead: int = 0,
        retry: bool | None = None,
        cache: CachePolicy | bool | None = None,
    ) -> F: ...
    @overload
    def tool(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] = (),
        version: str = "0",
        idempotent: bool = False,
        timeout: float | None = None,
        retryable_on: tuple[type[BaseException], ...] = (),
        check_result: bool = False,
        first_chunk_timeout: float | None = None,
        idle_timeout: float | None = None,
        read_ahead: int = 0,
        retry: bool | None = None,
        cache: CachePolicy | bool | None = None,
    ) -> Callable[[F], F]: ...
    def tool(  # type: ignore[misc] # options are checked by EntryOptions
        self, function: F | None = None, /, **options: Any
    ) -> F | Callable[[F], F]:
        """Register a function or async function as a tool.

        Usable bare (``@registry.tool``), with options (``@registry.tool(idempotent=True)``) or
        as a call (``registry.tool(function, idempotent=True)``). ``check_result=True``
        checks each result against the declared return type (``Entry.result_validator``).

        A generator function (``async def`` or ``def`` that yields) is a streaming tool,
        annotated ``-> AsyncIterator[T]`` / ``-> Iterator[T]`` with the type of one chunk
        (:mod:`toolware.registry._streams`); ``check_result=True`` then checks each chunk.
        ``first_chunk_timeout``, ``idle_timeout`` (seconds) and ``read_ahead`` (chunks
        fetched ahead of the consumer, 0 to 1024) apply to streaming tools only.

        ``retry=`` overrides ``idempotent`` for the retry and hedging interceptors (``True``:
        may run again although not idempotent; ``False``: never); ``cache=True`` or
        ``cache=CachePolicy(ttl=..., scope=...)`` opts the tool into result caching.
        """

        def register(fn: F) -> F:
            self.add(fn, kind=Kind.TOOL, **options)
            return fn

        return register(function) if function is not None else register

    def plugin(
        self,
        target: Any = None,
        /,
        *,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        inherited: bool = False,
        **options: Any,
    ) -> Any:
        """Register a class (instantiated with no arguments) or an instance as a plugin.

        Each public method defined in the class becomes an action, addressed ``name.action``
        (``notes.add``). ``include=[...]`` names the actions exactly, ``exclude=[...]`` drops
        some, ``inherited=True`` adds the methods of its bases (see
        :mod:`toolware.registry.plugins` for the rule). A generator method is a streaming
        action; the streaming options (``first_chunk_timeout``, ``idle_timeout``,
        ``read_ahead``) apply to the plugin's streaming actions and are refused if it has none.
        """
        options.update(include=include, exclude=exclude, inherited=inherited)

        def register(obj: Any) -> Any:
            self.add(obj, kind=Kind.PLUGIN, **options)
            return obj

        return register(target) if target is not None else register

    def retriever(
        self, source: Any = None, /, *, default_k: int = 5, max_k: int = 50, **options: Any
    ) -> Any:
        """Register a :class:`Retriever` object or a ``(query, k)`` function as a RAG entry.

        A ``retrieve`` (or function) that yields documents is a streaming retriever: its
        documents are checked and cut to ``k`` but not sorted (:mod:`toolware.registry.rag`);
        the streaming options apply to it as to a streaming tool.
        """

        def register(obj: Any) -> Any:
            self.add(obj, kind=Kind.RAG, default_k=default_k, max_k=max_k, **options)
            return obj

        return register(source) if source is not None else register

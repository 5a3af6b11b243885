"""The RAG retriever protocol: ``(query, k) -> ranked documents``.

A retriever is any object with a ``retrieve(query, k)`` method (sync or async) returning
:class:`Document` objects, or a plain function with that signature. The registry wraps it so
every call validates ``k``, and every result is ranked by descending score and cut to ``k``,
whatever the retriever returned: callers can rely on the order.

A *streaming* retriever is one whose ``retrieve`` (or function) is a generator function,
async or sync, yielding documents. Its wrapper is a generator of the same kind, with the same
``(query, k)`` signature: it checks ``query`` and ``k`` when first stepped (calling it runs
nothing), checks that each chunk is a :class:`Document`, and stops after ``k`` of them,
closing the retriever's generator so its ``finally`` runs. A stream cannot be sorted: the
documents arrive in the retriever's own order, and yielding the best first is its job.
"""

# No `from __future__ import annotations`: the generated functions below use local aliases
# in their annotations, which pydantic must be able to evaluate.
import inspect
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import aclosing, closing
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, runtime_checkable

import pydantic

from toolware._callables import is_async_generator_callable, is_generator_callable
from toolware.errors import FieldError, InvalidRequestError

__all__ = ["Document", "Retriever", "rank", "retriever_function"]


@dataclass(frozen=True, slots=True)
class Document:
    """One retrieved document: a stable id, its text, a relevance score (higher is better)."""

    id: str
    text: str
    score: float
    metadata: Mapping[str, str | int | float | bool] = field(default_factory=dict)


@runtime_checkable
class Retriever(Protocol):
    """``retrieve(query, k)`` returns up to ``k`` documents, best first (may be async), or
    yields them (an async or sync generator: a streaming retriever)."""

    def retrieve(
        self, query: str, k: int
    ) -> (
        Sequence[Document]
        | Awaitable[Sequence[Document]]
        | Iterator[Document]
        | AsyncIterator[Document]
    ): ...


def rank(documents: Iterable[Document], k: int) -> list[Document]:
    """The ``k`` best documents, highest score first; ties keep the retriever's order."""
    if isinstance(documents, str | bytes | Mapping) or not isinstance(documents, Iterable):
        raise TypeError(
            f"a retriever returned {type(documents).__name__}; return a list of toolware.Document"
        )
    documents = list(documents)  # a generator can be read only once: validate, then sort
    for document in documents:
        _document(document, "returned")
    return sorted(documents, key=lambda d: -d.score)[:k]


def _document(value: object, verb: str) -> Document:
    if not isinstance(value, Document):
        fix = "return" if verb == "returned" else "yield"
        raise TypeError(
            f"a retriever {verb} {type(value).__name__}; {fix} toolware.Document objects"
        )
    return value


def retriever_function(
    source: Retriever | Callable[..., Any], *, default_k: int, max_k: int
) -> tuple[Callable[..., Any], bool]:
    """A ``(query, k)`` function around ``source`` that ranks its results; and whether it is async.

    The generated signature carries the bounds of ``k`` so the schema publishes them, and the
    function checks them itself too: a pipeline without the validation interceptor must not
    hand a retriever ``k=-1`` or ``k=10**6``. For a streaming ``source`` the function is a
    generator of the same kind (see the module docstring).
    """
    # Any: the shapes told apart below are exactly what the protocol's union leaves open.
    method: Callable[..., Any] = source.retrieve if isinstance(source, Retriever) else source
    KType = Annotated[int, pydantic.Field(ge=1, le=max_k, description="how many documents")]
    QType = Annotated[str, pydantic.Field(min_length=1, description="what to search for")]

    if is_async_generator_callable(method):

        async def stream_async(query: QType, k: KType = default_k) -> AsyncIterator[Document]:
            _check(query, k, max_k)
            async with aclosing(method(query, k)) as documents:
                sent = 0
                async for document in documents:
                    yield _document(document, "yielded")
                    sent += 1
                    if sent == k:
                        return  # not one more from the source: it may be costly

        function: Callable[..., Any] = stream_async
        is_async = True
    elif is_generator_callable(method):

        def stream(query: QType, k: KType = default_k) -> Iterator[Document]:
            _check(query, k, max_k)
            with closing(method(query, k)) as documents:
                for sent, document in enumerate(documents, 1):
                    yield _document(document, "yielded")
                    if sent == k:
                        return

        function = stream
        is_async = False
    elif inspect.iscoroutinefunction(method):

        async def retrieve_async(query: QType, k: KType = default_k) -> list[Document]:
            _check(query, k, max_k)
            return rank(await method(query, k), k)

        function = retrieve_async
        is_async = True
    else:

        def retrieve(query: QType, k: KType = default_k) -> list[Document]:
            _check(query, k, max_k)
            documents = method(query, k)
            if inspect.isawaitable(documents):
                raise TypeError(
                    "retrieve() returned an awaitable from a function not declared 'async def'"
                )
            return rank(documents, k)

        function = retrieve
        is_async = False
    function.__doc__ = inspect.getdoc(method) or inspect.getdoc(source) or ""
    return function, is_async


def _check(query: object, k: object, max_k: int) -> None:
    fields = []
    if not isinstance(query, str) or not query:
        fields.append(FieldError("query", "must be a non-empty string", "string"))
    if type(k) is not int or not 1 <= k <= max_k:
        fields.append(FieldError("k", f"must be a whole number from 1 to {max_k}", "integer"))
    if fields:
        names = ", ".join(field.field for field in fields)
        raise InvalidRequestError(f"invalid retrieval arguments: {names}", fields=tuple(fields))

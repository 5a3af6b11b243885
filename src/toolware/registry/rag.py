"""The RAG retriever protocol: ``(query, k) -> ranked documents``.

A retriever is any object with a ``retrieve(query, k)`` method (sync or async) returning
:class:`Document` objects, or a plain function with that signature. The registry wraps it so
every call validates ``k``, and every result is ranked by descending score and cut to ``k``,
whatever the retriever returned: callers can rely on the order.
"""

# No `from __future__ import annotations`: the generated functions below use local aliases
# in their annotations, which pydantic must be able to evaluate.
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, runtime_checkable

import pydantic

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
    """``retrieve(query, k)`` returns up to ``k`` documents, best first (may be async)."""

    def retrieve(
        self, query: str, k: int
    ) -> Sequence[Document] | Awaitable[Sequence[Document]]: ...


def rank(documents: Iterable[Document], k: int) -> list[Document]:
    """The ``k`` best documents, highest score first; ties keep the retriever's order."""
    if isinstance(documents, str | bytes | Mapping) or not isinstance(documents, Iterable):
        raise TypeError(
            f"a retriever returned {type(documents).__name__}; return a list of toolware.Document"
        )
    documents = list(documents)  # a generator can be read only once: validate, then sort
    for document in documents:
        if not isinstance(document, Document):
            raise TypeError(
                f"a retriever returned {type(document).__name__}; return toolware.Document objects"
            )
    return sorted(documents, key=lambda d: -d.score)[:k]


def retriever_function(
    source: Retriever | Callable[..., Any], *, default_k: int, max_k: int
) -> tuple[Callable[..., Any], bool]:
    """A ``(query, k)`` function around ``source`` that ranks its results; and whether it is async.

    The generated signature carries the bounds of ``k`` so the schema publishes them, and the
    function checks them itself too: a pipeline without the validation interceptor must not
    hand a retriever ``k=-1`` or ``k=10**6``.
    """
    method = source.retrieve if isinstance(source, Retriever) else source
    KType = Annotated[int, pydantic.Field(ge=1, le=max_k, description="how many documents")]
    QType = Annotated[str, pydantic.Field(min_length=1, description="what to search for")]

    if inspect.iscoroutinefunction(method):

        async def retrieve_async(query: QType, k: KType = default_k) -> list[Document]:
            _check(query, k, max_k)
            return rank(await method(query, k), k)

        function: Callable[..., Any] = retrieve_async
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

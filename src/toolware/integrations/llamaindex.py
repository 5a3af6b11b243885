"""LlamaIndex: retrievers as RAG entries, registry entries as LlamaIndex function tools.

    registry.retriever(LlamaIndexRetriever(index.as_retriever(similarity_top_k=10)), name="docs")
    tools = llamaindex_tools(pipeline, registry)     # FunctionTools for a LlamaIndex agent

A retriever's nodes become :class:`~toolware.registry.rag.Document` objects: the node id, its
text, its score (``0.0`` for a node the retriever did not score, which keeps its place among
the others) and its metadata (numbers, strings and booleans as they are, anything else as its
JSON text, so nothing is dropped). The entry asks the retriever and keeps the ``k`` best:
``k`` cannot raise the retriever's own ``similarity_top_k``, so set that to the largest ``k``
you allow (``max_k``).

A :func:`llamaindex_tools` tool sends each call through the pipeline; its output's content is
the value as text (JSON unless a string) and ``raw_output`` the value itself. A failed call
raises its typed :class:`~toolware.errors.ToolwareError`, which LlamaIndex agents turn into a
``ToolOutput`` with ``is_error=True`` for the model to read.

Needs ``llama-index-core`` (``pip install 'toolware[llamaindex]'``).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

try:
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.schema import NodeWithScore
    from llama_index.core.tools import FunctionTool, ToolMetadata
except ImportError as exc:  # pragma: no cover - llama-index-core is a dev dependency here
    raise ImportError(
        "toolware.integrations.llamaindex needs llama-index-core: "
        "pip install 'toolware[llamaindex]'"
    ) from exc
import pydantic

from toolware.clock import Clock
from toolware.context import Principal, TraceContext
from toolware.encoding import to_json
from toolware.integrations._framework_calls import CallSettings, content_text, run_sync
from toolware.integrations._selection import checked_description, selected
from toolware.registry.base import EntryDescription, Registry
from toolware.registry.names import function_name
from toolware.registry.rag import Document
from toolware.types import Handler

__all__ = ["LlamaIndexRetriever", "llamaindex_tool", "llamaindex_tools", "to_document"]

_Scalar = str | int | float | bool


def to_document(node: NodeWithScore) -> Document:
    """A LlamaIndex node with its score as a toolware ``Document``."""
    metadata: dict[str, _Scalar] = {}
    for key, value in node.node.metadata.items():
        metadata[str(key)] = value if isinstance(value, _Scalar) else to_json(value)
    return Document(
        id=node.node.node_id,
        text=node.node.get_content(),
        score=0.0 if node.score is None else float(node.score),
        metadata=metadata,
    )


class LlamaIndexRetriever:
    """A LlamaIndex ``BaseRetriever`` as a toolware retriever:
    ``registry.retriever(LlamaIndexRetriever(retriever, "Search the handbook."), name="docs")``.

    ``description`` is what the entry's description says (what a model reads when choosing
    a tool); the default names the retriever's class. A retriever with async work of its own
    (``_aretrieve``, as vector index retrievers have) is awaited; one that implements only
    ``_retrieve`` would block the event loop if awaited, so it is called synchronously, on
    the pipeline's worker threads.
    """

    retrieve: Callable[[str, int], Any]
    """``(query, k)``: every node the retriever returns, as documents (the entry ranks them
    and keeps the ``k`` best); async or not, as the retriever is."""

    def __init__(self, retriever: BaseRetriever, description: str | None = None) -> None:
        if not isinstance(retriever, BaseRetriever):
            raise TypeError(
                f"LlamaIndexRetriever takes a LlamaIndex BaseRetriever (index.as_retriever()), "
                f"got {type(retriever).__name__}"
            )
        if description is not None and not isinstance(description, str):
            raise TypeError(f"description must be a string, got {type(description).__name__}")
        self.retriever = retriever
        # The registry describes a retriever entry with its object's docstring.
        self.__doc__ = description or f"Retrieve documents with {type(retriever).__name__}."
        own_async = type(retriever)._aretrieve is not BaseRetriever._aretrieve
        self.retrieve = self._retrieve_async if own_async else self._retrieve_sync

    async def _retrieve_async(self, query: str, k: int) -> list[Document]:
        return [to_document(node) for node in await self.retriever.aretrieve(query)]

    def _retrieve_sync(self, query: str, k: int) -> list[Document]:
        return [to_document(node) for node in self.retriever.retrieve(query)]


def _schema_model(name: str, schema: Mapping[str, Any]) -> type[pydantic.BaseModel]:
    """A model class whose JSON Schema is the entry's, for ``ToolMetadata.fn_schema``.

    LlamaIndex reads a tool's parameters only through ``fn_schema.model_json_schema()``; the
    entry's schema is already JSON Schema, so this class publishes it as it is rather than
    rebuilding a pydantic model from it (arguments are checked by the pipeline).
    """
    published = copy.deepcopy(dict(schema)) or {"type": "object", "properties": {}}

    class EntryArguments(pydantic.BaseModel):
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return copy.deepcopy(published)

    EntryArguments.__name__ = EntryArguments.__qualname__ = f"{name}_arguments"
    return EntryArguments


def llamaindex_tool(
    pipeline: Handler,
    description: EntryDescription,
    *,
    principal: Principal | Callable[[], Principal | None] | None = None,
    trace: TraceContext | Callable[[], TraceContext | None] | None = None,
    timeout: float | None = None,
    clock: Clock | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> FunctionTool:
    """One entry as a LlamaIndex ``FunctionTool`` calling ``pipeline``; see
    :func:`llamaindex_tools`."""
    checked_description(description, "llamaindex_tools")
    # LlamaIndex has no per-call context object: functions of nothing (a ContextVar read,
    # say) stand in for LangChain's functions of the RunnableConfig.
    settings: CallSettings[None] = CallSettings.create(
        pipeline,
        principal=principal if not callable(principal) else (lambda _: principal()),
        trace=trace if not callable(trace) else (lambda _: trace()),
        timeout=timeout,
        clock=clock,
    )

    async def call_async(**arguments: Any) -> Any:
        return await settings.call(description, arguments, None)

    def call(**arguments: Any) -> Any:
        return run_sync(lambda: settings.call(description, arguments, None), loop)

    name = function_name(description)
    metadata = ToolMetadata(
        description=description.description or f"Call {description.qualified_name}.",
        name=name,
        fn_schema=_schema_model(name, description.args_schema),
    )
    # Both callbacks given: with only a sync one, FunctionTool runs it on a thread pool for
    # every acall, a thread hop that cost more than the whole pipeline (benchmarks/frameworks).
    return FunctionTool(
        fn=call,
        async_fn=call_async,
        metadata=metadata,
        callback=content_text,
        async_callback=_content_async,
    )


async def _content_async(value: Any) -> str:
    return content_text(value)


def llamaindex_tools(
    pipeline: Handler,
    registry: Registry,
    *,
    names: Iterable[str] | None = None,
    principal: Principal | Callable[[], Principal | None] | None = None,
    trace: TraceContext | Callable[[], TraceContext | None] | None = None,
    timeout: float | None = None,
    clock: Clock | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> list[FunctionTool]:
    """The entries of ``registry`` as LlamaIndex ``FunctionTool`` s that call ``pipeline``.

    As :func:`toolware.integrations.langchain.langchain_tools`: names are function-calling
    names (``notes__add``), ``names`` picks entries by qualified name, lazy entries are
    imported now, ``timeout`` bounds each call on ``clock`` (the pipeline's by default).
    ``principal`` and ``trace`` are fixed or functions of no arguments called per call; without
    ``trace`` the current OpenTelemetry span's context is sent. ``tool.acall`` awaits the
    pipeline; ``tool.call`` runs it on a loop of its own, or on ``loop`` (running in another
    thread) when given.
    """
    return [
        llamaindex_tool(
            pipeline,
            description,
            principal=principal,
            trace=trace,
            timeout=timeout,
            clock=clock,
            loop=loop,
        )
        for description in selected(registry, names)
    ]

"""LlamaIndex retrievers as RAG entries, and registry entries as LlamaIndex FunctionTools."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from typing import Any

import msgspec
import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ToolCallBlock
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.tools.calling import acall_tool, call_tool

from toolware import (
    CallNext,
    Document,
    Kind,
    LocalRegistry,
    PipelineBuilder,
    Principal,
    RequestContext,
    ResponseContext,
    ToolwareError,
    ValidationInterceptor,
    default_pipeline,
)
from toolware.context import TraceContext
from toolware.integrations.llamaindex import (
    LlamaIndexRetriever,
    llamaindex_tool,
    llamaindex_tools,
    to_document,
)
from toolware.testing import FakeClock

WORDS = ("tea", "green", "coffee", "espresso", "milk")
TRACE = TraceContext(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
FIX = "(hint: fix the arguments named in 'fields' and call again)"


class WordCounts(BaseEmbedding):
    """A deterministic embedding: how often each of a few words occurs (no network)."""

    def _vector(self, text: str) -> list[float]:
        lowered = text.lower()
        return [float(lowered.count(word)) for word in WORDS] + [0.01]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


def handbook_index() -> VectorStoreIndex:
    nodes = [
        TextNode(
            id_="tea", text="green tea, green leaves", metadata={"shelf": 1, "aisles": [3, 4]}
        ),
        TextNode(id_="coffee", text="espresso coffee with milk", metadata={"organic": True}),
        TextNode(id_="milk", text="milk", metadata={"price": 1.5, "note": None}),
    ]
    return VectorStoreIndex(nodes, embed_model=WordCounts())


class Seen:
    def __init__(self) -> None:
        self.requests: list[RequestContext] = []
        self.threads: list[int] = []

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        self.requests.append(request)
        self.threads.append(threading.get_ident())
        return await call_next(request)


def tool_registry() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @registry.plugin
    class Notes:
        def add(self, text: str) -> str:
            return f"noted: {text}"

    return registry


async def test_a_retriever_is_a_rag_entry_called_through_the_pipeline() -> None:
    """Ids, texts, scores (best first) and metadata survive; k cuts; the interceptor sees a
    RAG call with the query and k."""
    registry = LocalRegistry()
    retriever = handbook_index().as_retriever(similarity_top_k=3)
    registry.retriever(LlamaIndexRetriever(retriever), name="handbook", default_k=2, max_k=3)
    assert registry.resolve(Kind.RAG, "handbook").is_async is True
    seen = Seen()
    pipeline = PipelineBuilder().use(seen).use(ValidationInterceptor()).route(registry).build()
    documents = (await pipeline.invoke("handbook", {"query": "green tea"}, kind=Kind.RAG)).unwrap()
    assert [(r.kind, r.target, dict(r.arguments)) for r in seen.requests] == [
        (Kind.RAG, "handbook", {"query": "green tea"})
    ]
    assert [d.id for d in documents] == ["tea", "milk"]
    assert documents[0].text == "green tea, green leaves"
    assert documents[0].metadata == {"shelf": 1, "aisles": "[3, 4]"}
    assert documents[1].metadata == {"price": 1.5, "note": "null"}
    # Cosine similarity of the word counts: (1,1,0,0,0,.01) against (1,2,0,0,0,.01).
    assert documents[0].score == pytest.approx(3.0001 / (2.0001 * 5.0001) ** 0.5)
    assert documents[1].score == pytest.approx(0.0001 / (2.0001 * 1.0001) ** 0.5)
    three = (await pipeline.invoke("handbook", {"query": "coffee", "k": 3}, kind=Kind.RAG)).unwrap()
    assert [d.id for d in three] == ["coffee", "milk", "tea"]
    assert three[0].metadata == {"organic": True}
    refused = await pipeline.invoke("handbook", {"query": "tea", "k": 4}, kind=Kind.RAG)
    assert refused.error is not None
    assert refused.error.category == "invalid_request"


class Unscored(BaseRetriever):
    """A synchronous retriever that does not score its nodes; records the threads it ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        self.threads.append(threading.get_ident())
        return [
            NodeWithScore(node=TextNode(id_=f"n{i}", text=f"{query_bundle.query_str} {i}"))
            for i in range(3)
        ]


async def test_unscored_nodes_keep_their_order_with_score_zero() -> None:
    """A retriever without async work of its own runs on a worker thread, not the loop."""
    registry = LocalRegistry()
    unscored = Unscored()
    registry.retriever(LlamaIndexRetriever(unscored), name="plain")
    assert registry.resolve(Kind.RAG, "plain").is_async is False
    documents = (
        await default_pipeline(registry).invoke("plain", {"query": "q", "k": 2}, kind=Kind.RAG)
    ).unwrap()
    assert documents == [Document("n0", "q 0", 0.0), Document("n1", "q 1", 0.0)]
    assert len(unscored.threads) == 1
    assert unscored.threads[0] != threading.get_ident()


def test_to_document_converts_one_node() -> None:
    node = NodeWithScore(
        node=TextNode(id_="a", text="alpha", metadata={"k": "v", "n": 2}), score=0.25
    )
    assert to_document(node) == Document("a", "alpha", 0.25, {"k": "v", "n": 2})


def test_the_entry_description_is_given_or_names_the_retriever() -> None:
    registry = LocalRegistry()
    registry.retriever(LlamaIndexRetriever(Unscored()), name="plain")
    registry.retriever(LlamaIndexRetriever(Unscored(), "Search the handbook."), name="handbook")
    assert [d.description for d in registry.list()] == [
        "Retrieve documents with Unscored.",
        "Search the handbook.",
    ]


def test_only_llamaindex_retrievers_are_taken() -> None:
    with pytest.raises(
        TypeError, match=r"^LlamaIndexRetriever takes a LlamaIndex BaseRetriever .*got list$"
    ):
        LlamaIndexRetriever([])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^description must be a string, got int$"):
        LlamaIndexRetriever(Unscored(), 3)  # type: ignore[arg-type]


def test_function_tools_publish_names_descriptions_and_schemas() -> None:
    registry = tool_registry()
    tools = llamaindex_tools(default_pipeline(registry), registry)
    assert [t.metadata.name for t in tools] == ["add", "notes__add"]
    assert tools[0].metadata.to_openai_tool() == {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two numbers.",
            "parameters": {
                "properties": {
                    "a": {"title": "A", "type": "number"},
                    "b": {"title": "B", "type": "number"},
                },
                "required": ["a", "b"],
                "type": "object",
            },
        },
    }
    assert tools[1].metadata.description == "Call notes.add."
    assert tools[1].metadata.fn_schema_str == (
        '{"properties": {"text": {"title": "Text", "type": "string"}}, '
        '"required": ["text"], "type": "object"}'
    )
    assert tools[0].metadata.fn_schema is not None
    assert tools[0].metadata.fn_schema.__name__ == "add_arguments"


async def test_function_tools_call_through_the_pipeline_async_and_sync() -> None:
    registry = tool_registry()
    seen = Seen()
    pipeline = PipelineBuilder().use(seen).use(ValidationInterceptor()).route(registry).build()
    add, note = llamaindex_tools(pipeline, registry)
    output = await add.acall(a=1, b=2.5)
    assert (output.content, output.raw_output, output.is_error) == ("3.5", 3.5, False)
    noted = await note.acall(text="hi")
    assert (noted.content, noted.raw_output) == ("noted: hi", "noted: hi")
    sync_output = await asyncio.to_thread(add.call, a=2, b=2)
    assert (sync_output.content, sync_output.raw_output) == ("4.0", 4.0)
    assert [(r.kind, r.target, r.action, dict(r.arguments)) for r in seen.requests] == [
        (Kind.TOOL, "add", None, {"a": 1, "b": 2.5}),
        (Kind.PLUGIN, "notes", "add", {"text": "hi"}),
        (Kind.TOOL, "add", None, {"a": 2, "b": 2}),
    ]


async def test_a_failed_call_raises_its_typed_error_and_agents_see_is_error() -> None:
    registry = tool_registry()
    (add,) = llamaindex_tools(default_pipeline(registry), registry, names=["add"])
    with pytest.raises(ToolwareError) as raised:
        await add.acall(a="x", b=1)
    assert (raised.value.category, raised.value.target) == ("invalid_request", "add")
    output = await acall_tool(add, {"a": "x", "b": 1})
    assert output.is_error
    assert output.content == f"Encountered error: invalid arguments for 'add': a {FIX}"


def test_a_sync_call_outside_a_loop_runs_on_its_own_loop() -> None:
    registry = tool_registry()
    (add,) = llamaindex_tools(default_pipeline(registry), registry, names=["add"])
    assert call_tool(add, {"a": 1, "b": 1}).raw_output == 2.0


async def test_principal_trace_and_timeout_options() -> None:
    registry = tool_registry()
    seen = Seen()
    clock = FakeClock()
    pipeline = PipelineBuilder(clock=clock).use(seen).route(registry).build()
    description = registry.list()[0]
    users = iter(["bob", "eve"])
    fixed = llamaindex_tool(
        pipeline, description, principal=Principal(id="alice"), trace=TRACE, timeout=3.0
    )
    derived = llamaindex_tool(
        pipeline,
        description,
        principal=lambda: Principal(id=next(users)),
        trace=lambda: TRACE,
    )
    await fixed.acall(a=1, b=1)
    await derived.acall(a=1, b=1)
    await derived.acall(a=1, b=1)
    assert [(r.principal and r.principal.id, r.trace, r.deadline) for r in seen.requests] == [
        ("alice", TRACE, 1003.0),
        ("bob", TRACE, None),
        ("eve", TRACE, None),
    ]


async def test_loop_sends_synchronous_calls_to_the_pipelines_loop() -> None:
    registry = tool_registry()
    seen = Seen()
    pipeline = PipelineBuilder().use(seen).route(registry).build()
    (add,) = llamaindex_tools(pipeline, registry, names=["add"], loop=asyncio.get_running_loop())
    output = await asyncio.to_thread(add.call, a=1, b=2)
    assert output.raw_output == 3
    assert seen.threads == [threading.get_ident()]


def test_bad_descriptions_and_names_are_refused() -> None:
    registry = tool_registry()
    pipeline = default_pipeline(registry)
    with pytest.raises(TypeError, match=r"^description must be a toolware EntryDescription"):
        llamaindex_tool(pipeline, {"name": "add"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^the registry has no entry 'ad'; did you mean 'add'\?$"):
        llamaindex_tools(pipeline, registry, names=["ad"])
    lazy = LocalRegistry()
    lazy.add_lazy("toolware.demo.calculator:calculator")
    with pytest.raises(ValueError, match=r"lazy and not imported yet.*use llamaindex_tools\("):
        llamaindex_tool(pipeline, lazy.list()[0])
    assert [t.metadata.name for t in llamaindex_tools(default_pipeline(lazy), lazy)] == [
        "calculator"
    ]


def scripted(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
    """First turn: two tool calls (one with a bad argument); then a summary of the answers."""
    answers = [m.content for m in messages if m.role == MessageRole.TOOL]
    if not answers:
        return ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[
                ToolCallBlock(tool_call_id="c1", tool_name="add", tool_kwargs={"a": 1, "b": 2}),
                ToolCallBlock(
                    tool_call_id="c2", tool_name="handbook", tool_kwargs={"query": "milk", "k": 1}
                ),
            ],
        )
    return ChatMessage(role=MessageRole.ASSISTANT, content=" | ".join(map(str, answers)))


# llama-index-workflows reads every attribute of the agent (a pydantic model) while collecting
# its steps, deprecated ones included (`__fields__`, `model_computed_fields` on the instance).
@pytest.mark.filterwarnings(
    "ignore:The `__fields(_set)?__` attribute is deprecated:DeprecationWarning"
)
@pytest.mark.filterwarnings(
    "ignore:Accessing the 'model_.*' attribute on the instance:DeprecationWarning"
)
async def test_a_function_agent_calls_entries_through_the_pipeline() -> None:
    registry = tool_registry()
    retriever = handbook_index().as_retriever(similarity_top_k=3)
    registry.retriever(
        LlamaIndexRetriever(retriever, "Search the handbook."),
        name="handbook",
        max_k=3,
        default_k=3,
    )
    seen = Seen()
    pipeline = PipelineBuilder().use(seen).use(ValidationInterceptor()).route(registry).build()
    agent = FunctionAgent(
        tools=llamaindex_tools(pipeline, registry, names=["add", "handbook"]),
        llm=MockFunctionCallingLLM(response_generator=scripted),
    )
    result = await agent.run(user_msg="go")
    assert [(r.target, dict(r.arguments)) for r in seen.requests] == [
        ("add", {"a": 1, "b": 2}),
        ("handbook", {"query": "milk", "k": 1}),
    ]
    first, second = str(result).split(" | ")
    assert first == "3.0"
    assert json.loads(second) == [
        {
            "id": "milk",
            "text": "milk",
            "score": pytest.approx(1.0),
            "metadata": {"price": 1.5, "note": "null"},
        }
    ]


def test_names_leave_out_a_lazy_entry_that_cannot_be_imported() -> None:
    """As for LangChain: a broken lazy entry left out with names=[...] is not imported."""
    registry = LocalRegistry()
    registry.add_lazy("toolware_no_such_module:thing", name="thing")
    registry.add_lazy("toolware.demo.calculator:calculator")
    tools = llamaindex_tools(default_pipeline(registry), registry, names=["calculator"])
    assert [tool.metadata.name for tool in tools] == ["calculator"]


async def test_llamaindex_tools_pass_every_option_on() -> None:
    """principal, trace, timeout and clock reach each tool of llamaindex_tools (a plain
    handler here, so the clock is only the one given)."""
    registry = tool_registry()
    requests: list[RequestContext] = []

    async def handler(request: RequestContext) -> ResponseContext:
        requests.append(request)
        return ResponseContext.success(0)

    (add,) = llamaindex_tools(
        handler,
        registry,
        names=["add"],
        principal=Principal(id="alice"),
        trace=TRACE,
        timeout=3.0,
        clock=FakeClock(),
    )
    await add.acall(a=1, b=1)
    [request] = requests
    assert (request.principal, request.trace, request.deadline) == (
        Principal(id="alice"),
        TRACE,
        1003.0,
    )


def test_the_published_schema_is_a_fresh_copy_each_time() -> None:
    """Changing a schema LlamaIndex was given changes neither the entry's nor the next one;
    an entry without a schema publishes an empty object."""
    registry = tool_registry()
    description = registry.list()[0]
    tool_ = llamaindex_tool(default_pipeline(registry), description)
    schema_class = tool_.metadata.fn_schema
    assert schema_class is not None
    first = schema_class.model_json_schema()
    first["properties"]["a"]["type"] = "changed"
    assert schema_class.model_json_schema() == description.args_schema
    assert description.args_schema["properties"]["a"]["type"] != "changed"
    bare = msgspec.structs.replace(description, args_schema={})
    bare_schema = llamaindex_tool(default_pipeline(registry), bare).metadata.fn_schema
    assert bare_schema is not None
    assert bare_schema.model_json_schema() == {"type": "object", "properties": {}}

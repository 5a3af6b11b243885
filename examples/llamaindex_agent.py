"""A LlamaIndex agent that searches a vector index and calls tools through toolware.

A ``VectorStoreIndex`` (built with a tiny word-count embedding, so nothing leaves the machine)
becomes a RAG entry with ``LlamaIndexRetriever``; a toolware tool sits next to it. Both are
handed to a LlamaIndex ``FunctionAgent`` as ``FunctionTool`` s that call one pipeline, whose
statistics and audit log see every call. The LLM is LlamaIndex's mock function-calling model
driven by a script:

    python examples/llamaindex_agent.py
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from llama_index.core import VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ToolCallBlock
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.schema import TextNode

from toolware import (
    CallNext,
    Kind,
    LocalRegistry,
    RequestContext,
    ResponseContext,
    StatsRecorder,
    default_builder,
)
from toolware.integrations.llamaindex import LlamaIndexRetriever, llamaindex_tools

WORDS = ("refund", "shipping", "days", "return", "warranty")


class WordCounts(BaseEmbedding):
    """How often each of a few words occurs: deterministic, offline, good enough to rank."""

    def _vector(self, text: str) -> list[float]:
        lowered = text.lower()
        return [float(lowered.count(word)) for word in WORDS] + [0.01]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


index = VectorStoreIndex(
    [
        TextNode(id_="refunds", text="A refund takes 5 days; refund requests need the receipt."),
        TextNode(id_="shipping", text="Shipping takes 2 days; shipping is free over 50 EUR."),
        TextNode(id_="warranty", text="The warranty lasts 2 years.", metadata={"policy": "W-2"}),
    ],
    embed_model=WordCounts(),
)

registry = LocalRegistry()
registry.retriever(
    LlamaIndexRetriever(index.as_retriever(similarity_top_k=3), "Search the shop's policies."),
    name="policies",
    default_k=2,
    max_k=3,
)


@registry.tool
def business_days(days: int, start_weekday: int) -> int:
    """Calendar days needed for a number of business days, starting on a weekday (0=Monday)."""
    calendar, weekday = 0, start_weekday
    while days:
        calendar, weekday = calendar + 1, (weekday + 1) % 7
        days -= weekday < 5
    return calendar


audit: list[str] = []


async def audit_calls(request: RequestContext, call_next: CallNext) -> ResponseContext:
    response = await call_next(request)
    outcome = "ok" if response.ok else response.error.category if response.error else "?"
    audit.append(f"{request.kind.value} {request.target}({dict(request.arguments)}) -> {outcome}")
    return response


recorder = StatsRecorder()
builder = default_builder(registry, recorder=recorder).use(audit_calls, after="stats")
pipeline = builder.route(registry).build()
tools = llamaindex_tools(pipeline, registry)


def script(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
    """The scripted model: search, then compute (once with a bad argument), then answer."""
    answers = [m for m in messages if m.role == MessageRole.TOOL]
    calls = [
        ToolCallBlock(tool_call_id="1", tool_name="policies", tool_kwargs={"query": "refund days"}),
        ToolCallBlock(
            tool_call_id="2",
            tool_name="business_days",
            tool_kwargs={"days": "five", "start_weekday": 3},
        ),
        ToolCallBlock(
            tool_call_id="3", tool_name="business_days", tool_kwargs={"days": 5, "start_weekday": 3}
        ),
    ]
    if len(answers) < len(calls):
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[calls[len(answers)]])
    days = answers[-1].content
    answer = f"A refund takes 5 business days: {days} calendar days from Thursday."
    return ChatMessage(role=MessageRole.ASSISTANT, content=answer)


async def main() -> None:
    for tool in tools:
        print(f"agent sees tool {tool.metadata.name}: {tool.metadata.description}")
    agent = FunctionAgent(tools=tools, llm=MockFunctionCallingLLM(response_generator=script))
    result = await agent.run(user_msg="How long until I get my refund if I ask on Thursday?")
    print()
    for call in result.tool_calls:
        state = "error" if call.tool_output.is_error else "ok"
        print(f"  {call.tool_name} [{state}]: {call.tool_output.content}")
    print(f"  answer: {result}")
    print("\naudit log:")
    for line in audit:
        print(f"  {line}")

    found = json.loads(result.tool_calls[0].tool_output.content)
    assert [document["id"] for document in found] == ["refunds", "shipping"]
    assert found[0]["score"] > found[1]["score"]
    assert result.tool_calls[1].tool_output.is_error
    assert result.tool_calls[2].tool_output.raw_output == 7
    assert str(result) == "A refund takes 5 business days: 7 calendar days from Thursday."
    assert audit == [
        "rag policies({'query': 'refund days'}) -> ok",
        "tool business_days({'days': 'five', 'start_weekday': 3}) -> invalid_request",
        "tool business_days({'days': 5, 'start_weekday': 3}) -> ok",
    ]
    stats = {t.key.qualified_name: t.calls for t in recorder.snapshot().targets}
    assert stats == {"business_days": 2, "policies": 1}
    assert registry.list()[0].kind is Kind.RAG
    await pipeline.aclose()


if __name__ == "__main__":
    asyncio.run(main())

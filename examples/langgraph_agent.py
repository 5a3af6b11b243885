"""A LangGraph agent whose tool calls all go through one toolware pipeline.

The tools come from two places: functions registered in a toolware ``LocalRegistry`` and a
LangChain ``@tool`` served through ``LangChainRegistry``. One pipeline (stats, an audit
interceptor, timeout, validation) runs every call; the graph's ``ToolNode`` sees ordinary
LangChain tools. The chat model is scripted, so this runs offline:

    python examples/langgraph_agent.py
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, ToolException, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from toolware import (
    CallNext,
    CompositeRegistry,
    LocalRegistry,
    Principal,
    RequestContext,
    ResponseContext,
    StatsRecorder,
    default_builder,
)
from toolware.integrations.langchain import LangChainRegistry, langchain_tools

# -- the tools ---------------------------------------------------------------------------

local = LocalRegistry("local")


@local.tool(idempotent=True)
def convert(amount: float, rate: float) -> float:
    """Convert an amount with an exchange rate."""
    return round(amount * rate, 2)


@tool
def exchange_rate(currency: str) -> float:
    """The exchange rate from EUR to a currency."""
    rates = {"USD": 1.08, "GBP": 0.85}
    if currency not in rates:
        raise ToolException(f"no rate for {currency}; known: {', '.join(rates)}")
    return rates[currency]


registry = CompositeRegistry(local, LangChainRegistry([exchange_rate]))

# -- the pipeline ------------------------------------------------------------------------

audit: list[str] = []


async def audit_calls(request: RequestContext, call_next: CallNext) -> ResponseContext:
    response = await call_next(request)
    who = request.principal.id if request.principal else "anonymous"
    outcome = "ok" if response.ok else response.error.category if response.error else "?"
    audit.append(f"{who} {request.qualified_name}({dict(request.arguments)}) -> {outcome}")
    return response


recorder = StatsRecorder()
builder = default_builder(registry, recorder=recorder).use(audit_calls, after="stats")
pipeline = builder.route(registry).build()
tools = langchain_tools(pipeline, registry, principal=Principal(id="agent-7"))

# -- a scripted model and the agent graph --------------------------------------------------


class ScriptedModel(FakeMessagesListChatModel):
    """Answers from a script; bind_tools converts the tools as a provider integration does."""

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Any | BaseTool], **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        for schema in (convert_to_openai_tool(t) for t in tools):
            print(
                f"model sees tool {schema['function']['name']}: {schema['function']['description']}"
            )
        return self  # type: ignore[return-value]


def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


model = ScriptedModel(
    responses=[
        AIMessage("", tool_calls=[call("exchange_rate", {"currency": "CHF"}, "1")]),
        AIMessage("", tool_calls=[call("exchange_rate", {"currency": "USD"}, "2")]),
        AIMessage("", tool_calls=[call("convert", {"amount": "lots", "rate": 1.08}, "3")]),
        AIMessage("", tool_calls=[call("convert", {"amount": 250, "rate": 1.08}, "4")]),
        AIMessage("250 EUR is 270.0 USD."),
    ]
)
bound = model.bind_tools(tools)


async def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
    return {"messages": [await bound.ainvoke(state["messages"])]}


graph = StateGraph(MessagesState)
graph.add_node("agent", agent)
graph.add_node("tools", ToolNode(tools))
graph.add_edge(START, "agent")
graph.add_conditional_edges("agent", tools_condition, ["tools", END])
graph.add_edge("tools", "agent")
app = graph.compile()


async def main() -> None:
    result = await app.ainvoke({"messages": [HumanMessage("How much is 250 EUR in USD?")]})
    print()
    for message in result["messages"]:
        if isinstance(message, ToolMessage):
            print(f"  tool {message.name} [{message.status}]: {message.content}")
        elif message.content:
            print(f"  {message.type}: {message.content}")
    print("\naudit log:")
    for line in audit:
        print(f"  {line}")
    stats = recorder.snapshot()
    calls = {t.key.qualified_name: (t.calls, sum(t.errors.values())) for t in stats.targets}
    print("\nstats (calls, errors):", calls)

    answers = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in answers] == ["error", "success", "error", "success"]
    assert answers[0].content.startswith("tool_failed: 'exchange_rate' raised ToolException")
    assert answers[2].content.startswith("invalid_request: invalid arguments for 'convert'")
    assert answers[3].content == "270.0"
    assert result["messages"][-1].content == "250 EUR is 270.0 USD."
    assert audit[-1] == "agent-7 convert({'amount': 250, 'rate': 1.08}) -> ok"
    assert calls == {"convert": (2, 1), "exchange_rate": (2, 1)}
    await pipeline.aclose()


if __name__ == "__main__":
    asyncio.run(main())

"""A scripted chat model and a minimal LangGraph agent for the LangChain integration tests.

``langchain`` (and so ``create_agent``) is not installed, and ``create_react_agent`` is
deprecated: the graph is the classic agent loop built by hand, model node → ``ToolNode`` →
model node, driven by a fake chat model that answers from a script.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from pydantic import Field


class ScriptedChatModel(FakeMessagesListChatModel):
    """Answers with ``responses`` in turn; ``bind_tools`` records the tools as OpenAI schemas
    (the conversion a real provider integration does) and the messages each turn saw."""

    bound: list[dict[str, Any]] = Field(default_factory=list)
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        self.bound = [convert_to_openai_tool(tool) for tool in tools]
        return self  # type: ignore[return-value]

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def tool_call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def agent_graph(
    model: ScriptedChatModel, tools: Sequence[BaseTool], **tool_node_options: Any
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """model → (tool calls?) → ToolNode → model …, until the model answers without calls."""
    bound = model.bind_tools(tools)

    async def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    def agent_sync(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", RunnableLambda(agent_sync, afunc=agent))
    graph.add_node("tools", ToolNode(list(tools), **tool_node_options))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile()

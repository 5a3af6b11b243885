"""What going through toolware costs a LangChain or LlamaIndex tool call, in one run.

Every row calls the same async tool, ``add(a, b) -> a + b``, on the happy path:

  pipeline.invoke                      ``default_pipeline(registry)``: stats, timeout, validation
  langchain: StructuredTool            the native LangChain tool, ``await tool.ainvoke(args)``
  langchain: PipelineTool              ``langchain_tools(pipeline, registry)``, the same call
  langchain: PipelineTool, tool call   invoked with a ToolCall, as a LangGraph ToolNode does
                                       (answers a ToolMessage)
  langchain: LangChainRegistry entry   the native tool served as an entry: pipeline.invoke
  llamaindex: FunctionTool             the native LlamaIndex tool, ``await tool.acall(...)``
  llamaindex: llamaindex_tools         ``llamaindex_tools(pipeline, registry)``, the same call

The cost of each adapter is the median over rounds of the per-round difference of means
against the native row of its framework (method of ``_timing.py``).
Run: .venv/bin/python benchmarks/frameworks.py  (--quick for a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import platform

from langchain_core.tools import StructuredTool
from llama_index.core.tools import FunctionTool

from _timing import Row, Summary, difference, print_table, run_rows
from toolware import LocalRegistry, default_pipeline
from toolware.integrations.langchain import LangChainRegistry, langchain_tools
from toolware.integrations.llamaindex import llamaindex_tools

ARGS = {"a": 1.0, "b": 2.0}


async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


async def main(quick: bool) -> None:
    registry = LocalRegistry()
    registry.tool(add)
    pipeline = default_pipeline(registry)
    native = StructuredTool.from_function(coroutine=add, name="add")
    (wrapped,) = langchain_tools(pipeline, registry)
    served = default_pipeline(LangChainRegistry([native]))
    function_tool = FunctionTool.from_defaults(async_fn=add, name="add")
    (llama_wrapped,) = llamaindex_tools(pipeline, registry)
    call = {"name": "add", "args": ARGS, "id": "c1", "type": "tool_call"}

    rows: list[Row] = [
        ("pipeline.invoke", lambda: pipeline.invoke("add", ARGS)),
        ("langchain: StructuredTool", lambda: native.ainvoke(ARGS)),
        ("langchain: PipelineTool", lambda: wrapped.ainvoke(ARGS)),
        ("langchain: PipelineTool, tool call", lambda: wrapped.ainvoke(call)),
        ("langchain: LangChainRegistry entry", lambda: served.invoke("add", ARGS)),
        ("llamaindex: FunctionTool", lambda: function_tool.acall(**ARGS)),
        ("llamaindex: llamaindex_tools", lambda: llama_wrapped.acall(**ARGS)),
    ]
    calls, rounds = (200, 2) if quick else (2_000, 5)
    results = await run_rows(rows, calls, rounds, warmup=200 if quick else 1_000)
    stats = {name: Summary(samples) for name, samples in results.items()}
    print(f"CPython {platform.python_version()}, {calls} calls x {rounds} rounds per row\n")
    print_table(stats, width=38)
    print()
    for adapter, floor in (
        ("langchain: PipelineTool", "langchain: StructuredTool"),
        ("langchain: PipelineTool, tool call", "langchain: StructuredTool"),
        ("llamaindex: llamaindex_tools", "llamaindex: FunctionTool"),
        ("langchain: LangChainRegistry entry", "langchain: StructuredTool"),
    ):
        extra = difference(stats[adapter], stats[floor])
        print(f"{adapter:38} {extra:+8.1f} us over {floor}")
    await pipeline.aclose()
    await served.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    asyncio.run(main(parser.parse_args().quick))

"""What ``run_tool_calls`` adds to a call, against calling the pipeline directly, in one run.

Every row runs the same async tool, ``add(a, b) -> a + b``, through the same
``default_pipeline(registry)`` (stats -> timeout -> validation -> router), on the happy path.

  direct, 1 call            ``await pipeline.invoke("add", {"a": 1, "b": 2})``
  run_tool_calls, 1 call    ``await run_tool_calls(pipeline, [call])``: one chat tool call as
                            a plain dict (JSON arguments parsed, routed, answered as a tool
                            message with JSON content)
  ... SDK object            the same with an ``openai`` ``ChatCompletionMessageFunctionToolCall``
  anthropic, 1 call         ``anthropic.run_tool_calls`` on one ``tool_use`` dict block
  direct, batch of 8        ``asyncio.gather`` of 8 ``pipeline.invoke`` calls
  run_tool_calls, batch of 8   one ``run_tool_calls`` with 8 calls (a TaskGroup of 8)

A sample is one batch; figures are per call (a batch's time / 8). The overhead is the median
over rounds of the per-round difference (and ratio) of means against the direct row of the
same size (method of ``_timing.py``: interleaved rounds, ``gc.collect()`` before each).
Run: .venv/bin/python benchmarks/tool_calls.py  (--quick for a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
from typing import Any

from openai.types.chat import ChatCompletionMessageFunctionToolCall

from _timing import Row, Summary, difference, print_table, ratio, run_rows
from toolware import LocalRegistry, default_pipeline
from toolware.integrations import anthropic, openai

BATCH = 8


async def add(a: int, b: int) -> int:
    return a + b


def chat_call(n: int) -> dict[str, Any]:
    return {
        "id": f"call_{n}",
        "type": "function",
        "function": {"name": "add", "arguments": json.dumps({"a": n, "b": 2})},
    }


def build_rows(pipeline: Any) -> tuple[list[Row], list[tuple[str, str, int]]]:
    one = [chat_call(1)]
    sdk = [ChatCompletionMessageFunctionToolCall.model_validate(chat_call(1))]
    block = [{"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 1, "b": 2}}]
    batch = [chat_call(n) for n in range(BATCH)]

    async def direct_batch() -> list[Any]:
        return await asyncio.gather(
            *(pipeline.invoke("add", {"a": n, "b": 2}) for n in range(BATCH))
        )

    rows: list[Row] = [
        ("direct, 1 call", lambda: pipeline.invoke("add", {"a": 1, "b": 2})),
        ("run_tool_calls, 1 call", lambda: openai.run_tool_calls(pipeline, one)),
        ("run_tool_calls, 1 call, SDK object", lambda: openai.run_tool_calls(pipeline, sdk)),
        ("anthropic run_tool_calls, 1 call", lambda: anthropic.run_tool_calls(pipeline, block)),
        (f"direct, batch of {BATCH}", direct_batch),
        (f"run_tool_calls, batch of {BATCH}", lambda: openai.run_tool_calls(pipeline, batch)),
    ]
    compared = [
        ("run_tool_calls, 1 call", "direct, 1 call", 1),
        ("run_tool_calls, 1 call, SDK object", "direct, 1 call", 1),
        ("anthropic run_tool_calls, 1 call", "direct, 1 call", 1),
        (f"run_tool_calls, batch of {BATCH}", f"direct, batch of {BATCH}", BATCH),
    ]
    return rows, compared


async def measure_all(
    calls: int, rounds: int
) -> tuple[dict[str, list[list[int]]], list[tuple[str, str, int]]]:
    registry = LocalRegistry()
    registry.tool(add)
    async with default_pipeline(registry) as pipeline:
        rows, compared = build_rows(pipeline)
        for name, call in rows:  # sanity: every row answers 3 (or its batch)
            answer = await call()
            first = answer[0] if isinstance(answer, list) else answer
            value = first.value if hasattr(first, "value") else json.loads(first.get("content"))
            if value not in (3, 2):  # a batch starts with a=0
                raise SystemExit(f"{name} answered {answer!r}")
        results = await run_rows(rows, calls, rounds, warmup=min(2_000, calls))
    return results, compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5_000, help="samples per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 samples, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (500, 2) if options.quick else (options.calls, options.rounds)
    results, compared = asyncio.run(measure_all(calls, rounds))
    stats = {name: Summary(samples) for name, samples in results.items()}
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{rounds} rounds x {calls} samples per row (a sample is one call or one batch)"
    )
    print_table(stats)
    print()
    print(f"{'per call, against the direct row':44} {'us/call':>9} {'+us/call':>9} {'ratio':>7}")
    for name, base, size in compared:
        per_call = stats[name].mean / size
        extra = difference(stats[name], stats[base]) / size
        print(f"{name:44} {per_call:9.3f} {extra:9.3f} {ratio(stats[name], stats[base]):7.2f}")


if __name__ == "__main__":
    main()

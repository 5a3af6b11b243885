"""An Anthropic Messages agent loop whose tool use runs through a toolware pipeline.

The model is scripted (no network, no API key): each reply is a real
``anthropic.types.Message``, as ``await client.messages.create(...)`` returns it. The model
first invents a tool name, reads the ``not_found`` answer (``is_error: true``, with the close
match), calls the right tools, and answers from their results.

``execute_tool_calls`` is ``run_tool_calls`` with each call's details kept (name, arguments,
response); ``run_tool_calls`` gives just the ``tool_result`` blocks.

Run it: ``python examples/anthropic_agent.py``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from anthropic.types import Message

from toolware import LocalRegistry, default_pipeline
from toolware.integrations.anthropic import (
    execute_tool_calls,
    messages_tools,
    tool_results_message,
)

registry = LocalRegistry("travel")


@registry.tool(idempotent=True)
async def weather(city: str) -> dict[str, Any]:
    """Today's weather in a city."""
    return {"city": city, "sky": "sunny", "celsius": 24}


@registry.plugin
class Trips:
    """Booked trips."""

    def __init__(self) -> None:
        self.booked: list[str] = []

    def book(self, city: str) -> str:
        """Book a trip; returns its reference."""
        self.booked.append(city)
        return f"TRIP-{len(self.booked):03d}"


class ScriptedModel:
    """Plays Claude: a wrong tool name first, then the right tools, then the answer."""

    def __init__(self) -> None:
        self.turn = 0

    async def create(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Message:
        assert [t["name"] for t in tools] == ["weather", "trips__book"]
        self.turn += 1
        if self.turn == 1:
            return reply(
                {"type": "text", "text": "Let me check the weather first."},
                tool_use("toolu_1", "get_weather", {"city": "Lisbon"}),
            )
        results = {
            block["tool_use_id"]: (json.loads(block["content"]), block["is_error"])
            for message in messages
            if message["role"] == "user" and isinstance(message["content"], list)
            for block in message["content"]
        }
        if self.turn == 2:
            error, is_error = results["toolu_1"]
            assert is_error
            assert error["error"]["candidates"] == ["weather"]
            return reply(
                tool_use("toolu_2", "weather", {"city": "Lisbon"}),
                tool_use("toolu_3", "trips__book", {"city": "Lisbon"}),
            )
        sky = results["toolu_2"][0]
        return reply(
            {
                "type": "text",
                "text": f"Lisbon is {sky['sky']} at {sky['celsius']} °C; "
                f"your trip is booked as {results['toolu_3'][0]}.",
            },
            stop="end_turn",
        )


def tool_use(block_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": arguments}


def reply(*blocks: dict[str, Any], stop: str = "tool_use") -> Message:
    """A message as the API sends it, validated by the SDK's own model."""
    return Message.model_validate(
        {
            "id": "msg_example",
            "type": "message",
            "role": "assistant",
            "model": "scripted",
            "content": list(blocks),
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
    )


async def main() -> None:
    model = ScriptedModel()
    tools = messages_tools(registry)
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Book me a sunny trip to Lisbon."}
    ]
    async with default_pipeline(registry) as pipeline:
        while True:
            message = await model.create(messages, tools)
            messages.append(
                {"role": "assistant", "content": [b.model_dump() for b in message.content]}
            )
            if message.stop_reason != "tool_use":
                break
            # execute_tool_calls: each outcome has the call, the response and the answer
            outcomes = await execute_tool_calls(pipeline, message.content)
            for outcome in outcomes:
                flag = "ok" if outcome.ok else "error"
                print(f"model uses {outcome.call.name}({outcome.call.raw_arguments}) -> {flag}")
                print(f"  {outcome.message['content']}")
            results = [outcome.message for outcome in outcomes]
            messages.append(tool_results_message(results))
    [text] = [block.text for block in message.content if block.type == "text"]
    print(f"model answers: {text}")
    assert text == "Lisbon is sunny at 24 °C; your trip is booked as TRIP-001."


if __name__ == "__main__":
    asyncio.run(main())

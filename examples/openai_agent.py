"""An OpenAI Chat Completions agent loop whose tool calls run through a toolware pipeline.

The model is scripted (no network, no API key): each of its replies is a real
``openai.types.chat.ChatCompletion``, built from what the conversation holds so far, just as
``await client.chat.completions.create(...)`` would return it. The loop is the one you would
write against the real API:

    while the model asks for tools: run them through the pipeline, send the answers back.

Run it: ``python examples/openai_agent.py``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai.types.chat import ChatCompletion

from toolware import LocalRegistry, default_pipeline
from toolware.integrations.openai import chat_tools, run_tool_calls

registry = LocalRegistry("shop")
STOCK = {"tea": 12, "coffee": 0}


@registry.tool(idempotent=True)
def stock(item: str) -> int:
    """How many of an item are in stock."""
    if item not in STOCK:
        raise LookupError(f"unknown item {item!r}; known: {', '.join(sorted(STOCK))}")
    return STOCK[item]


@registry.tool
def price(item: str, quantity: int = 1) -> float:
    """The price of a quantity of an item, in euros."""
    return round({"tea": 3.5, "coffee": 4.25}[item] * quantity, 2)


class ScriptedModel:
    """Plays the model: first asks for three tools at once (one with broken JSON, as models
    sometimes send), then corrects the broken call, then answers from the results."""

    def __init__(self) -> None:
        self.turn = 0

    async def create(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> ChatCompletion:
        assert {t["function"]["name"] for t in tools} == {"stock", "price"}
        self.turn += 1
        if self.turn == 1:
            return reply(
                calls=[
                    ("call_1", "stock", '{"item": "tea"}'),
                    ("call_2", "stock", '{"item": "coffee"}'),
                    ("call_3", "price", '{"item": "tea", "quantity": 3'),  # cut short
                ]
            )
        results = {
            m["tool_call_id"]: json.loads(m["content"]) for m in messages if m["role"] == "tool"
        }
        if self.turn == 2:
            assert results["call_3"]["error"]["category"] == "invalid_request"
            return reply(calls=[("call_4", "price", '{"item": "tea", "quantity": 3}')])
        return reply(
            text=f"Tea: {results['call_1']} in stock, 3 cost {results['call_4']:.2f} EUR; "
            f"coffee is sold out ({results['call_2']} left)."
        )


def reply(
    *, calls: list[tuple[str, str, str]] | None = None, text: str | None = None
) -> ChatCompletion:
    """A chat completion as the API sends it, validated by the SDK's own model."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in calls
        ]
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-example",
            "object": "chat.completion",
            "created": 0,
            "model": "scripted",
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
            ],
        }
    )


async def main() -> None:
    model = ScriptedModel()
    tools = chat_tools(registry)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Can I get 3 teas and a coffee?"}]
    async with default_pipeline(registry) as pipeline:
        while True:
            completion = await model.create(messages, tools)
            message = completion.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            if not message.tool_calls:
                break
            for call in message.tool_calls:
                print(f"model calls {call.function.name}({call.function.arguments})")  # type: ignore[union-attr]
            answers = await run_tool_calls(pipeline, message.tool_calls)
            for answer in answers:
                print(f"  {answer['tool_call_id']} -> {answer['content']}")
            messages.extend(answers)
    print(f"model answers: {message.content}")
    assert message.content == "Tea: 12 in stock, 3 cost 10.50 EUR; coffee is sold out (0 left)."
    assert [m["role"] for m in messages] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]


if __name__ == "__main__":
    asyncio.run(main())

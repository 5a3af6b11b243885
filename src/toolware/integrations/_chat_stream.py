"""A streamed Chat Completion (``stream=True``) collected into the one message it stands for.

The API streams a tool call in pieces: the first delta of each call (by ``index``) carries its
id and name, later ones carry pieces of its ``arguments`` text. :func:`collect_chat_stream`
joins them, with the text content, into the assistant message as the API would have returned
it unstreamed, ready to append to the conversation and to hand to ``run_tool_calls``.
Arguments cut short (``finish_reason == "length"``) stay as sent: ``run_tool_calls`` answers
them ``invalid_request``, so the model can try again.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from typing import Any

from toolware.integrations._calls import field as read

__all__ = ["ChatStreamResult", "collect_chat_stream"]


@dataclass(frozen=True, slots=True)
class ChatStreamResult:
    """The assistant ``message`` (a dict, as the API takes it back) and why the model stopped
    (``"tool_calls"``, ``"stop"``, ``"length"``..., ``None`` if the stream never said)."""

    message: dict[str, Any]
    finish_reason: str | None

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The message's tool calls (empty when it has none)."""
        calls: list[dict[str, Any]] = self.message.get("tool_calls", [])
        return calls


@dataclass(slots=True)
class _Call:
    id: str = ""
    type: str = "function"
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Collector:
    choice: int
    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: dict[int, _Call] = field(default_factory=dict)
    finish_reason: str | None = None

    def add(self, chunk: object) -> None:
        for choice in read(chunk, "choices") or ():
            if read(choice, "index") != self.choice:
                continue
            reason = read(choice, "finish_reason")
            if reason is not None:
                self.finish_reason = reason
            delta = read(choice, "delta")
            if delta is None:
                continue
            for key, parts in (("content", self.content), ("refusal", self.refusal)):
                text = read(delta, key)
                if text:
                    parts.append(text)
            for piece in read(delta, "tool_calls") or ():
                self._add_call(piece)

    def _add_call(self, piece: object) -> None:
        index = read(piece, "index")
        if not isinstance(index, int):
            raise ValueError(
                f"a streamed tool call delta has no integer 'index' (got {index!r}); "
                "pass the chunks of one Chat Completions stream"
            )
        call = self.calls.setdefault(index, _Call())
        ident, kind = read(piece, "id"), read(piece, "type")
        if ident:
            call.id = ident
        if kind:
            call.type = kind
        function = read(piece, "function")
        if function is not None:
            name, arguments = read(function, "name"), read(function, "arguments")
            if name:
                call.name.append(name)
            if arguments:
                call.arguments.append(arguments)

    def result(self) -> ChatStreamResult:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content) if self.content else None,
        }
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": call.type,
                    "function": {"name": "".join(call.name), "arguments": "".join(call.arguments)},
                }
                for _, call in sorted(self.calls.items())
            ]
        return ChatStreamResult(message, self.finish_reason)


async def collect_chat_stream(
    chunks: AsyncIterable[object] | Iterable[object], *, choice: int = 0
) -> ChatStreamResult:
    """Read a Chat Completions stream (SDK ``ChatCompletionChunk`` s or dicts, from an async
    or a plain iterable) to its end; the message of choice ``choice``, and its finish reason."""
    collector = _Collector(choice)
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            collector.add(chunk)
    else:
        for chunk in chunks:
            collector.add(chunk)
    return collector.result()

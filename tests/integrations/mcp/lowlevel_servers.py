"""Low-level ``mcp`` SDK servers that misbehave on purpose, and a transport that records what
the client sends, for the MCP client tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import anyio
import mcp_types
from mcp.client._memory import InMemoryTransport
from mcp.client._transport import TransportStreams
from mcp.server import Server
from mcp.shared.message import SessionMessage

Answer = Any | Callable[[mcp_types.CallToolRequestParams], Awaitable[Any]]


def tool(name: str, schema: dict[str, Any] | None = None, **fields: Any) -> mcp_types.Tool:
    return mcp_types.Tool(
        name=name, input_schema=schema or {"type": "object", "properties": {}}, **fields
    )


def lowlevel_server(
    tools: list[mcp_types.Tool], answers: dict[str, Answer], name: str = "raw"
) -> Server[Any]:
    """A server listing ``tools`` as given (duplicates included) and answering each call
    with ``answers[name]``: a result (a model, or a raw dict sent as is) or an async function
    of the call's params."""

    async def on_list_tools(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=tools)

    async def on_call_tool(ctx: Any, params: mcp_types.CallToolRequestParams) -> Any:
        answer = answers[params.name]
        return await answer(params) if callable(answer) else answer

    return Server(name, on_list_tools=on_list_tools, on_call_tool=on_call_tool)


Fail = Callable[[dict[str, Any]], Exception | None]


class _RecordingWrite:
    def __init__(self, inner: Any, sent: list[dict[str, Any]], fail: Fail | None) -> None:
        self._inner = inner
        self._sent = sent
        self._fail = fail

    async def send(self, item: SessionMessage) -> None:
        message = item.message.model_dump(by_alias=True, exclude_none=True)
        self._sent.append(message)
        failure = self._fail(message) if self._fail is not None else None
        if failure is not None:
            raise failure
        await self._inner.send(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _RecordingWrite:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _RewritingRead:
    def __init__(self, inner: Any, rewrite: Callable[[Any], Any]) -> None:
        self._inner = inner
        self._rewrite = rewrite

    async def receive(self) -> Any:
        item = await self._inner.receive()
        if isinstance(item, SessionMessage):
            return SessionMessage(self._rewrite(item.message), item.metadata)
        return item

    def __aiter__(self) -> _RewritingRead:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _RewritingRead:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class RecordingTransport:
    """The SDK's in-memory transport, recording every message the client sends in ``sent``,
    raising ``fail(message)`` instead of sending when it returns an exception (a broken
    pipe), and passing what the server sends through ``rewrite`` (a forged wire)."""

    def __init__(
        self,
        server: Server[Any],
        sent: list[dict[str, Any]],
        rewrite: Callable[[Any], Any] | None = None,
        fail: Fail | None = None,
    ) -> None:
        self._inner = InMemoryTransport(server)
        self._sent = sent
        self._rewrite = rewrite
        self._fail = fail

    async def __aenter__(self) -> TransportStreams:
        read, write = await self._inner.__aenter__()
        if self._rewrite is not None:
            read = _RewritingRead(read, self._rewrite)
        return read, _RecordingWrite(write, self._sent, self._fail)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc_val, exc_tb)

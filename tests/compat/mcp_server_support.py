"""Real servers on 127.0.0.1 for the V1 MCP tests: an MCP server (the SDK's ``MCPServer``
served over streamable HTTP by uvicorn) and a raw HTTP server that misbehaves on purpose.

Each server runs in a daemon thread and is started with a bounded wait; the fixtures that use
these helpers are module-scoped, so a test module pays for one start-up.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

START_TIMEOUT = 20.0
"""Seconds a server may take to start on a loaded machine before the fixture gives up."""

PNG_BYTES = b"\x89PNG\r\n\x1a\n fake image body"


def build_mcp_server() -> MCPServer:
    """The V1-style tools the remote tests call."""
    server = MCPServer("toolware-v1-tests", log_level="WARNING")

    @server.tool()
    def add(a: int, b: int) -> dict[str, Any]:
        """Sum as a JSON object in text content (no output schema for a bare dict)."""
        return {"sum": a + b}

    @server.tool()
    def shout(text: str) -> str:
        """Structured content {"result": ...} for a str return."""
        return text.upper()

    @server.tool(structured_output=False)
    def plain(text: str) -> str:
        """Text content that is not JSON."""
        return f"plain: {text}"

    @server.tool(structured_output=False)
    def listing() -> str:
        """Text content that is JSON but not an object."""
        return "[1, 2, 3]"

    @server.tool()
    def fail(reason: str) -> str:
        """A tool error (isError: true) whose message reaches the client."""
        raise ToolError(reason)

    @server.tool()
    def crash() -> str:
        """A crash: the client gets a generic isError message."""
        raise RuntimeError("secret detail")

    @server.tool()
    def refuse() -> str:
        """A JSON-RPC protocol error instead of a result."""
        raise MCPError(-32602, "refused by the server")

    @server.tool()
    def validate(field: str) -> dict[str, Any]:
        """A V1 parameter_validation_error result."""
        return {
            "error_type": "parameter_validation_error",
            "guidance": f"'{field}' must be an absolute path",
            "retry_enabled": False,
        }

    @server.tool()
    def meltdown() -> dict[str, Any]:
        """A V1 critical result."""
        return {"critical": True, "error": "disk gone"}

    @server.tool(structured_output=False)
    def picture() -> list[Any]:
        """A text block and an image block."""
        return ["a picture", Image(data=PNG_BYTES, format="png")]

    @server.tool()
    def seen(ctx: Context) -> dict[str, Any]:
        """What arrived: the authorization header and the trace context in _meta."""
        headers = ctx.headers or {}
        meta = ctx.request_context.meta or {}
        return {
            "authorization": headers.get("authorization"),
            "traceparent": meta.get("traceparent"),
        }

    @server.tool()
    def sleepy(seconds: float) -> str:
        """Blocks the server's worker for a while (a slow tool)."""
        time.sleep(seconds)
        return "awake"

    return server


class RunningServer:
    """A started server: its base URL and a way to stop it."""

    def __init__(self, url: str, stop: Any) -> None:
        self.url = url
        self.stop = stop


def _wait(ready: Any, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {START_TIMEOUT} s")
        time.sleep(0.02)


@contextmanager
def running_mcp_server() -> Iterator[str]:
    """The URL of a real MCP server (streamable HTTP, /mcp) on a free loopback port."""
    app = build_mcp_server().streamable_http_app(stateless_http=True, json_response=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="mcp-test-server", daemon=True
    )
    thread.start()
    try:
        _wait(lambda: server.started, "the MCP test server")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


class _Misbehaving(BaseHTTPRequestHandler):
    """POST /hang never answers; /badjson answers 200 with broken JSON; /cut... sends part of a
    body and closes; anything else answers 500; every request's headers are recorded."""

    server: _RecordingServer

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.server.seen_headers.append(dict(self.headers))
        if self.path == "/hang":
            self.server.release.wait(30)
            return
        if self.path.startswith("/cut"):
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "100")
            self.end_headers()
            self.wfile.write(b'{"partial')
            self.close_connection = True
            return
        if self.path == "/badjson":
            self._answer(200, "application/json", b"{not json")
        else:
            self._answer(500, "text/plain", b"internal trouble")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the recorded headers instead."""


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Misbehaving)
        self.seen_headers: list[dict[str, str]] = []
        self.release = threading.Event()


@contextmanager
def running_misbehaving_server() -> Iterator[_RecordingServer]:
    """A raw HTTP server that hangs, sends malformed JSON or fails, on purpose."""
    server = _RecordingServer()
    thread = threading.Thread(target=server.serve_forever, name="bad-test-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(START_TIMEOUT)


def refused_url() -> str:
    """An http URL on a loopback port nobody listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/mcp"


def build_v1_task_app() -> Starlette:
    """A V1 tool server as ``BaseMCPToolServer.build_app()`` made it (FastAPI there; the same
    routes and answers here in Starlette): ``POST /<task>`` with the arguments as the body."""

    async def add(request: Request) -> Response:
        body = await request.json()
        if not isinstance(body.get("a"), int) or not isinstance(body.get("b"), int):
            detail = [{"loc": ["body", "a"], "msg": "field required", "type": "missing"}]
            return JSONResponse({"detail": detail}, status_code=422)
        return JSONResponse({"sum": body["a"] + body["b"], "seen": dict(request.headers)})

    async def explode(request: Request) -> Response:
        return JSONResponse({"detail": "disk quota exceeded"}, status_code=500)

    async def listing(request: Request) -> Response:
        return JSONResponse([1, 2])

    async def garbage(request: Request) -> Response:
        return PlainTextResponse("<html>proxy error</html>")

    async def teapot(request: Request) -> Response:
        return PlainTextResponse("short and stout", status_code=418)

    async def overloaded(request: Request) -> Response:
        return PlainTextResponse("x" * 600, status_code=503)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(30)
        return JSONResponse({})

    routes = [
        Route("/add", add, methods=["POST"]),
        Route("/explode", explode, methods=["POST"]),
        Route("/listing", listing, methods=["POST"]),
        Route("/garbage", garbage, methods=["POST"]),
        Route("/teapot", teapot, methods=["POST"]),
        Route("/overloaded", overloaded, methods=["POST"]),
        Route("/slow", slow, methods=["POST"]),
    ]
    # /tools/MX: a base path ending in a letter that a wrong rstrip() would eat
    return Starlette(
        routes=[Mount("/tools/math", routes=routes), Mount("/tools/MX", routes=routes)]
    )


@contextmanager
def running_v1_task_server() -> Iterator[str]:
    """The base URL (``.../tools/math``) of a V1-style tool server on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_v1_task_app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="v1-task-server", daemon=True
    )
    thread.start()
    try:
        _wait(lambda: server.started, "the V1 task server")
        yield f"http://127.0.0.1:{port}/tools/math"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


@contextmanager
def full_backlog_url() -> Iterator[str]:
    """An http URL whose connection attempts hang: the listening socket never accepts and its
    backlog is full, so the kernel drops further SYNs (a connect timeout, for real)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}/tools"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()

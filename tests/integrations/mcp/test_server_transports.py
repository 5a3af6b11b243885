"""``toolware mcp serve`` in real processes: the SDK client over stdio and streamable HTTP on
loopback; and the command's usage errors in-process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.integrations.mcp.server_support import (
    Events,
    build_registry,
    child_env,
    command,
    write_app,
)
from toolware import Principal, default_pipeline
from toolware.cli import main as cli_main
from toolware.cli.mcp import build_server, register
from toolware.integrations.mcp.server import McpServer

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def mcp_command() -> None:
    """``toolware mcp`` is one of the command line's commands."""
    assert "toolware.cli.mcp" in cli_main.COMMAND_MODULES


async def test_stdio_subprocess(tmp_path: Path) -> None:
    """The SDK client starts `toolware mcp serve` and talks over its stdin/stdout: listing,
    a call, progress per chunk, a failure as isError (a tool's print does not break the
    stream), an unknown tool, and the caller's trace context reaching the pipeline."""
    app = write_app(tmp_path)
    parameters = StdioServerParameters(
        command=command()[0],
        args=[*command()[1:], "mcp", "serve", "--app", f"{app}:pipeline"],
        env=child_env(),
        cwd=tmp_path,
    )
    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    with anyio.fail_after(40):
        async with Client(parameters, mode="legacy") as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            added = await client.call_tool(
                "add", {"a": 2, "b": 40}, meta={"traceparent": TRACEPARENT}
            )  # type: ignore[arg-type]
            trace = await client.call_tool("last_trace", {})
            counted = await client.call_tool("count", {"n": 2}, progress_callback=on_progress)
            failed = await client.call_tool("explode", {})
            with pytest.raises(MCPError) as unknown:
                await client.call_tool("nope", {})
    assert names == ["add", "count", "explode", "last_trace"]
    assert added.structured_content == {"result": 42}
    assert trace.structured_content == {"result": TRACEPARENT}
    assert progress == [(1.0, "1"), (2.0, "2")]
    assert counted.structured_content == {"result": [1, 2]}
    assert failed.is_error is True
    assert '"category": "tool_failed"' in failed.content[0].text  # type: ignore[union-attr]
    assert unknown.value.code == -32602


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """`toolware mcp serve --transport http` on a free loopback port; its URL."""
    app = write_app(tmp_path)
    port = _free_port()
    argv = command("mcp", "serve", "--app", f"{app}:registry", "--transport", "http")
    process = subprocess.Popen(
        [*argv, "--port", str(port)],
        env=child_env(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when the server hangs
            process.kill()
            out, err = process.communicate()
        assert (out, process.returncode) == (
            "",
            130,
        )  # interrupted: the status a shell reports for Ctrl-C
        assert "toolware mcp: 4 tools over http" in err


async def _connected(url: str) -> Client:
    """Connect once the server listens (a bounded wait: the machine may be loaded)."""
    with anyio.fail_after(30):
        while True:
            try:
                with socket.create_connection(("127.0.0.1", urlsplit(url).port or 0), 0.5):
                    break
            except OSError:
                await anyio.sleep(0.1)
    return Client(url)


async def test_streamable_http_on_loopback(http_server: str) -> None:
    """The SDK client over streamable HTTP: the 2026 era by default, and the handshake era;
    calls, progress notifications and errors cross the real socket."""
    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    client = await _connected(http_server)
    with anyio.fail_after(40):
        async with client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            added = await client.call_tool("add", {"a": 1, "b": 2})
            counted = await client.call_tool("count", {"n": 3}, progress_callback=on_progress)
            bad = await client.call_tool("add", {"a": "x", "b": 2})
        async with Client(http_server, mode="legacy") as legacy:
            assert legacy.protocol_version == "2025-11-25"
            again = await legacy.call_tool("add", {"a": 5, "b": 5})
    assert names == ["add", "count", "explode", "last_trace"]
    assert added.structured_content == {"result": 3}
    assert counted.structured_content == {"result": [1, 2, 3]}
    assert progress == [(1.0, "1"), (2.0, "2"), (3.0, "3")]
    assert bad.is_error is True
    assert bad.structured_content["error"]["category"] == "invalid_request"
    assert again.structured_content == {"result": 10}


async def test_run_http_in_process_stops_when_cancelled(tmp_path: Path) -> None:
    """McpServer.run_http serves in the caller's loop (the principal hook sees the HTTP
    request, in both eras); cancelling it closes the socket."""
    hosts: list[str] = []

    def principal_of(ctx: Any) -> Principal:
        hosts.append(ctx.request.headers["host"])
        return Principal(id="web")

    registry = build_registry(Events())
    server = McpServer(default_pipeline(registry), name="inproc", principal=principal_of)
    port = _free_port()
    serving = asyncio.ensure_future(server.run_http(port=port))
    url = f"http://127.0.0.1:{port}/mcp"
    async with await _connected(url) as client:
        added = await client.call_tool("add", {"a": 20, "b": 22})
        assert client.server_info is not None
        assert client.server_info.name == "inproc"
    async with Client(url, mode="legacy") as legacy:
        await legacy.call_tool("add", {"a": 1, "b": 1})
    async with httpx.AsyncClient() as http:
        rebound = await http.post(url, json={}, headers={"host": "evil.example"})
    assert rebound.status_code == 421  # loopback: DNS-rebinding protection is on
    serving.cancel()
    with anyio.fail_after(20), pytest.raises(asyncio.CancelledError):
        await serving
    assert added.structured_content == {"result": 42}
    assert set(hosts) == {f"127.0.0.1:{port}"}
    assert len(hosts) == 4  # per era: the call, and the listing the client checks it against
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), 1.0).close()


async def test_run_http_listens_where_it_is_told(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """host, port, path and the SDK's options reach uvicorn and the app; the start is logged
    with the URL; uvicorn does not take over the process's logging configuration."""
    server = McpServer(default_pipeline(build_registry(Events())))
    port = _free_port()
    uvicorn_handlers = {
        name: list(logging.getLogger(name).handlers) for name in ("uvicorn", "uvicorn.access")
    }
    with caplog.at_level(logging.INFO, logger="toolware.mcp"):
        serving = asyncio.ensure_future(
            server.run_http("127.0.0.2", port, path="/tools", json_response=True)
        )
        try:
            with anyio.fail_after(30):
                while True:
                    try:
                        with socket.create_connection(("127.0.0.2", port), 0.5):
                            break
                    except OSError:
                        await anyio.sleep(0.1)
                async with httpx.AsyncClient() as http:
                    answer = await http.post(
                        f"http://127.0.0.2:{port}/tools",
                        json={
                            "jsonrpc": "2.0",
                            "id": 1,
                            "method": "initialize",
                            "params": {
                                "protocolVersion": "2025-11-25",
                                "capabilities": {},
                                "clientInfo": {"name": "host", "version": "1"},
                            },
                        },
                        headers={"accept": "application/json, text/event-stream"},
                    )
                with pytest.raises(ConnectionRefusedError) as refused:
                    socket.create_connection(("127.0.0.1", port), 1.0).close()
                elsewhere = refused.value
        finally:
            serving.cancel()
            with anyio.fail_after(20), pytest.raises(asyncio.CancelledError):
                await serving
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["result"]["serverInfo"]["name"] == "toolware"
    assert elsewhere is not None  # listening on 127.0.0.2 only, not on every interface
    [record] = [r for r in caplog.records if r.name == "toolware.mcp"]
    assert record.getMessage() == (
        f"mcp_server.http_serving url=http://127.0.0.2:{port}/tools tools=11"
    )
    assert (record.host, record.port, record.path) == ("127.0.0.2", port, "/tools")  # type: ignore[attr-defined]
    assert {name: logging.getLogger(name).handlers for name in uvicorn_handlers} == (
        uvicorn_handlers
    )


# -- the command's usage errors ---------------------------------------------------------


def test_serve_refuses_a_pipeline_without_a_registry(
    mcp_command: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """An --app pipeline that routes to a plain handler: exit 2 with the reason."""
    (tmp_path / "plain_app.py").write_text(
        "from toolware import PipelineBuilder\n"
        "from toolware.testing import FakeHandler\n"
        "pipeline = PipelineBuilder().route(FakeHandler(['x'])).build()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    status = cli_main.main(["mcp", "serve", "--app", "plain_app:pipeline"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err.replace("\n", " ").startswith(
        "toolware mcp: error: --app 'plain_app:pipeline': pipeline 'pipeline' routes to "
        "FakeHandler, not to a registry"
    )


def test_serve_refuses_colliding_names(
    mcp_command: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A tool and a retriever with one name: exit 2 naming --rag-prefix's option."""
    (tmp_path / "clash_app.py").write_text(
        "import toolware\n"
        "registry = toolware.LocalRegistry()\n"
        "@registry.tool\n"
        "def docs(query: str) -> str:\n"
        "    return query\n"
        "def search(query: str, k: int) -> list[toolware.Document]:\n"
        "    return []\n"
        "registry.retriever(search, name='docs')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    status = cli_main.main(["mcp", "serve", "--app", "clash_app:registry"])
    err = capsys.readouterr().err.replace("\n", " ")
    assert status == 2
    assert "two entries would be the MCP tool 'docs'" in err


def test_serve_options_shape_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--tool-names, --rag-prefix and --name reach the server; a registry gets the default
    pipeline (its stages), which the server closes with itself."""
    (tmp_path / "shaped_app.py").write_text(
        "import toolware\n"
        "registry = toolware.LocalRegistry()\n"
        "@registry.plugin\n"
        "class Notes:\n"
        "    def add(self, text: str) -> int:\n"
        "        return len(text)\n"
        "def search(query: str, k: int) -> list[toolware.Document]:\n"
        "    return []\n"
        "registry.retriever(search, name='docs')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    argv = ["mcp", "serve", "--app", "shaped_app:registry", "--name", "shaped"]
    args = parser.parse_args([*argv, "--tool-names", "function", "--rag-prefix", "rag_"])
    server = build_server(args)
    assert server.tool_names == ("notes__add", "rag_docs")
    assert server.server.name == "shaped"
    assert server.pipeline.describe() == ("stats", "timeout", "validation", "router")
    plain = parser.parse_args(argv)
    defaults = build_server(plain)
    assert defaults.tool_names == ("notes.add", "docs")
    assert (plain.transport, plain.host, plain.port, plain.path) == (
        "stdio", "127.0.0.1", 8000, "/mcp",
    )  # fmt: skip
    assert parser.parse_args([*argv, "--port", "0"]).port == 0
    server.pipeline.close()
    defaults.pipeline.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--transport", "http", "--path", "mcp"], "--path must start with '/', e.g. /mcp"),
        (["--port", "70000"], "must be between 0 and 65535, got '70000'"),
        (["--port", "x"], "expected a port number, e.g. 8000; got 'x'"),
        (["--transport", "ws"], "invalid choice: 'ws'"),
    ],
)
def test_serve_usage_errors(
    mcp_command: None, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad options exit 2 and say what to change."""
    status = cli_main.main(["mcp", "serve", *argv])
    assert status == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


async def test_run_http_on_a_port_in_use_raises_os_error() -> None:
    """uvicorn ends a failed start with sys.exit, which would stop the caller's event loop:
    run_http turns it into an OSError naming the address and the fix."""
    server = McpServer(default_pipeline(build_registry(Events())))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with anyio.fail_after(20), pytest.raises(OSError, match="could not serve MCP") as refused:
            await server.run_http(port=port)
    assert str(refused.value) == (
        f"could not serve MCP at http://127.0.0.1:{port}/mcp: uvicorn failed to start "
        "(its log says why, most often a port in use); pick another port"
    )
    await server.pipeline.aclose()


def test_serve_on_a_port_in_use_exits_2_with_the_reason(
    mcp_command: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`toolware mcp serve --transport http` on a taken port: exit 2 and a one-line reason,
    not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = cli_main.main(["mcp", "serve", "--transport", "http", "--port", str(port)])
    err = capsys.readouterr().err.replace("\n", " ")
    assert status == 2
    assert (
        f"toolware mcp: error: could not serve MCP at http://127.0.0.1:{port}/mcp: uvicorn "
        "failed to start (its log says why, most often a port in use); pick another port" in err
    )
    assert "Traceback" not in err

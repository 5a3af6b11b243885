"""A registry, through a pipeline, served as an MCP server with the official ``mcp`` SDK.

    server = McpServer(default_pipeline(registry))
    await server.run_stdio()                       # or: await server.run_http(port=8000)
    async with mcp.Client(server.server) as client: ...   # in-process, for tests

Built on the SDK's low-level ``Server``: the tool list is computed once per registry revision
as plain dicts, and each ``tools/call`` is one dict lookup and one pipeline call, so the
server adds little to what the SDK itself costs (``benchmarks/mcp_server.py``).

What each part of MCP becomes (MCP specification 2025-11-25):

- **Tools.** Every registry entry is an MCP tool: tools, plugin actions (``notes.add``, or
  ``notes__add`` with ``tool_names="function"``) and RAG retrievers. Retrievers are tools, not
  resources: the model decides when to search and with what query, and MCP resources are
  picked by the host application rather than by the model. ``rag_prefix="rag_"`` publishes them
  apart when a tool and a retriever share a name. ``inputSchema`` is the entry's argument
  schema; ``outputSchema`` its result schema, wrapped as ``{"result": ...}`` when it is not an
  object (MCP wants an object there) or unknown (any value), and marked
  ``x-fastmcp-wrap-result`` so that clients give back the value itself. Idempotent entries
  carry ``idempotentHint``, retrievers ``readOnlyHint``.
- **Results.** A value is one text block (a string as it is, anything else as JSON) and
  ``structuredContent``. A streamed result sends each chunk as a ``notifications/progress``
  (``progress`` counts the chunks, ``message`` is the chunk's text) when the client asked for
  progress, and ends with one text block per chunk and ``{"result": [chunks]}``.
- **Errors**, by :data:`toolware.error_codes.JSONRPC_CODE`: a tool that failed and arguments that
  failed validation are results with ``isError: true`` whose text is the typed error's JSON
  (category, message, hint, retryable, fields); an unknown tool is the JSON-RPC error -32602;
  ``rate_limited``, ``timeout`` and the other refusals are JSON-RPC errors -32010..-32015 with the
  same JSON as ``data``; a stream that fails part way is an ``isError`` result holding the
  chunks it delivered.
- **Tool list changes.** ``tools.listChanged`` is announced; when the registry's ``revision``
  moves (checked around each request, and by :meth:`McpServer.watch`), clients are told:
  on their ``subscriptions/listen`` streams (2026-07-28) or their sessions (handshake era).
  See :mod:`toolware.integrations.mcp._server_changes`.
- **Cancellation.** ``notifications/cancelled`` cancels the handler's task: the pipeline call is
  cancelled (a streamed producer is closed), and the cancelled request gets no answer.
- **Trace context.** ``params._meta.traceparent``/``tracestate`` become ``RequestContext.trace``
  (:func:`toolware.propagation.extract_mcp_meta`), so a ``TracingInterceptor`` continues the
  caller's trace.
- **Who calls.** ``principal=`` is a hook ``(ctx) -> Principal | None`` given the SDK's request
  context: on streamable HTTP ``ctx.request`` is the Starlette request (headers, and the
  SDK's bearer-token auth user when the app is built with ``token_verifier=``); on stdio the
  caller is whoever started the process, so a fixed principal is usual. Raising
  ``UnauthenticatedError`` refuses the call (-32010); the hook guards ``tools/list`` and
  unknown names too, so a refused caller learns nothing about the tools.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, Any

try:
    import mcp_types as types
    from mcp.server.caching import CacheHint
    from mcp.server.lowlevel.server import NotificationOptions, Server
    from mcp.server.models import InitializationOptions
    from mcp.server.stdio import stdio_server
except ImportError as exc:  # pragma: no cover - the extra is installed for the tests
    raise ImportError(
        "toolware.integrations.mcp.server needs the MCP SDK: pip install 'toolware[mcp]'"
    ) from exc

from toolware import __version__
from toolware.context import MAX_COLLECTED_CHUNKS
from toolware.integrations.mcp._server_calls import PrincipalHook, ToolCalls
from toolware.integrations.mcp._server_catalogue import ToolNameCollisionError, ToolNames
from toolware.pipeline import Pipeline
from toolware.registry.base import Registry
from toolware.router import Router

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

__all__ = ["McpServer", "PrincipalHook", "ToolNameCollisionError", "ToolNames"]

logger = logging.getLogger("toolware.mcp")

_TOOL_NAMES = ("canonical", "function")


class McpServer:
    """A pipeline's registry served over MCP; see the module docstring.

    ``pipeline`` runs every call; ``registry`` is what is published, by default the registry the
    pipeline routes to (required when it routes to a plain handler). ``name`` and ``version``
    are the server's ``serverInfo``; ``instructions`` the text a client may show its model.
    ``principal`` maps each request to its caller (:data:`PrincipalHook`); ``tool_names`` and
    ``rag_prefix`` choose the published names; ``max_chunks`` bounds one streamed result
    (a longer stream is closed there and answered with ``invalid_request``).
    """

    __slots__ = ("_calls", "_server", "pipeline", "registry")

    def __init__(
        self,
        pipeline: Pipeline,
        registry: Registry | None = None,
        *,
        name: str = "toolware",
        version: str | None = None,
        instructions: str | None = None,
        principal: PrincipalHook | None = None,
        tool_names: ToolNames = "canonical",
        rag_prefix: str = "",
        max_chunks: int = MAX_COLLECTED_CHUNKS,
    ) -> None:
        if not isinstance(pipeline, Pipeline):
            raise TypeError(
                f"McpServer(pipeline=...) must be a built Pipeline, got {type(pipeline).__name__}; "
                "for a registry, pass default_pipeline(registry)"
            )
        if registry is None:
            terminal = pipeline.terminal
            if not isinstance(terminal, Router):
                raise TypeError(
                    f"pipeline {pipeline.name!r} routes to {type(terminal).__name__}, not to a "
                    "registry: pass the registry to publish, McpServer(pipeline, registry)"
                )
            registry = terminal.registry
        elif not isinstance(registry, Registry):
            raise TypeError(
                f"McpServer(registry=...) must be a Registry (such as a LocalRegistry), "
                f"got {type(registry).__name__}"
            )
        if tool_names not in _TOOL_NAMES:
            raise ValueError(
                f"McpServer(tool_names=...) must be 'canonical' (notes.add) or 'function' "
                f"(notes__add), got {tool_names!r}"
            )
        if not isinstance(rag_prefix, str):
            raise TypeError(f"McpServer(rag_prefix=...) must be a string, got {rag_prefix!r}")
        if principal is not None and not callable(principal):
            raise TypeError(
                f"McpServer(principal=...) must be a function (ctx) -> Principal | None, "
                f"got {type(principal).__name__}"
            )
        if isinstance(max_chunks, bool) or not isinstance(max_chunks, int) or max_chunks < 1:
            raise ValueError(
                f"McpServer(max_chunks=...) must be a whole number >= 1 (the most chunks one "
                f"streamed result may hold), got {max_chunks!r}"
            )
        self.pipeline = pipeline
        self.registry = registry
        self._calls = ToolCalls(
            pipeline,
            registry,
            principal=principal,
            names=tool_names,
            rag_prefix=rag_prefix,
            max_chunks=max_chunks,
        )
        server: Server[Any] = _Server(
            name,
            version=__version__ if version is None else version,
            instructions=instructions,
            get_tool_input_schema=self._calls.input_schema,
            # 2026-07-28 results carry freshness hints: the list changes with the registry.
            cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")},
        )
        # Registered as plain request handlers, whose results may be dicts: the SDK validates
        # and dumps a handler's result itself, so a model built here would be built twice.
        server.add_request_handler(
            "tools/list", types.PaginatedRequestParams, self._calls.list_tools
        )
        server.add_request_handler(
            "tools/call", types.CallToolRequestParams, self._calls.serve_call
        )
        # Serving subscriptions/listen is what makes the SDK announce listChanged to
        # 2026-07-28 clients; _Server announces it to handshake-era ones.
        server.add_request_handler(
            "subscriptions/listen",
            types.SubscriptionsListenRequestParams,
            self._calls.changes.listen,
        )
        self._server = server

    @property
    def server(self) -> Server[Any]:
        """The SDK's low-level server: ``mcp.Client(server.server)`` connects in-process."""
        return self._server

    @property
    def tool_names(self) -> tuple[str, ...]:
        """The published tool names, in registry order."""
        return tuple(self._calls.catalogue.tools)

    async def watch(self, interval: float = 1.0) -> None:
        """Announce registry changes made outside any request: every ``interval`` seconds
        (on the pipeline's clock) compare the registry's ``revision`` with the one last
        announced, and notify connected clients when it moved. Runs until cancelled; start
        it as a task next to the server (each request checks the revision anyway)."""
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise TypeError(f"McpServer.watch(interval=...) must be seconds, got {interval!r}")
        if not (math.isfinite(interval) and interval > 0):
            raise ValueError(
                f"McpServer.watch(interval=...) must be a finite number of seconds > 0, "
                f"got {interval!r}"
            )
        clock = self.pipeline.clock
        changes = self._calls.changes
        while True:
            await clock.sleep(interval)
            await changes.announce()

    async def run_stdio(self) -> None:
        """Serve one client over this process's stdin and stdout until stdin closes.

        stdout is the protocol: log to stderr (the SDK diverts stray writes to stdout while it
        serves, so a ``print`` in a tool cannot corrupt the stream).
        """
        async with stdio_server() as (read_stream, write_stream):
            await self._server.run(
                read_stream, write_stream, self._server.create_initialization_options()
            )

    def http_app(self, *, path: str = "/mcp", host: str = "127.0.0.1", **options: Any) -> Starlette:
        """A Starlette ASGI app serving streamable HTTP at ``path``.

        ``host`` is where it will listen: for loopback the SDK turns on DNS-rebinding
        protection. ``options`` go to the SDK's ``Server.streamable_http_app`` (``json_response``,
        ``stateless_http``, ``token_verifier`` and ``auth`` for bearer tokens, ...). One app per
        server: the SDK keeps one session manager.
        """
        return self._server.streamable_http_app(streamable_http_path=path, host=host, **options)

    async def run_http(
        self, host: str = "127.0.0.1", port: int = 8000, *, path: str = "/mcp", **options: Any
    ) -> None:
        """Serve streamable HTTP with uvicorn at ``http://host:port/path`` until Ctrl-C or
        until cancelled; either way the socket is closed and open sessions get up to 5 s to end.
        ``OSError`` when it cannot start (the port is taken: uvicorn logs the reason).
        """
        import uvicorn

        app = self.http_app(path=path, host=host, **options)
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, timeout_graceful_shutdown=5
        )
        server = uvicorn.Server(config)
        logger.info(
            "mcp_server.http_serving url=http://%s:%s%s tools=%s",
            host,
            port,
            path,
            len(self.tool_names),
            extra={"host": host, "port": port, "path": path},
        )
        serving = asyncio.ensure_future(_serve_uvicorn(server))
        try:
            failed = await asyncio.shield(serving)
        except asyncio.CancelledError:
            # Cancelling uvicorn's own task would leave the socket bound: ask it to stop.
            server.should_exit = True
            await serving
            raise
        if failed:
            raise OSError(
                f"could not serve MCP at http://{host}:{port}{path}: uvicorn failed to start "
                "(its log says why, most often a port in use); pick another port"
            )


class _Server(Server[Any]):
    """The SDK's server, announcing ``tools.listChanged`` in its ``initialize`` result (the
    SDK's default says false, and its transports ask for the default)."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True),
            experimental_capabilities,
            extensions,
        )


async def _serve_uvicorn(server: uvicorn.Server) -> bool:
    """Run uvicorn; ``True`` when it failed to start. It ends a failed start (a port in use)
    with ``sys.exit``, which raised in a task would stop the whole event loop."""
    try:
        await server.serve()
    except SystemExit:
        return True
    return False

"""``tools/list`` and ``tools/call`` over a pipeline: the two request handlers of the server.

A call finds its entry in the :class:`~._server_catalogue.Catalogue` (a dict lookup), asks the
principal hook who calls, reads the caller's W3C trace context from ``params._meta``, and runs
the pipeline. A streamed answer is read here: each chunk goes out as a
``notifications/progress`` (when the client sent a ``progressToken``) with the chunk's text as
its message, and the final result holds every chunk. A ``notifications/cancelled`` for the call
makes the SDK cancel this handler's task: the cancellation reaches the pipeline call (and a
stream's producer is closed by ``async with``), and the SDK sends no answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from toolware.context import MAX_COLLECTED_CHUNKS, Principal
from toolware.error_codes import JSONRPC_INTERNAL_ERROR
from toolware.errors import InternalError, NotFoundError, ResultTooLargeError, ToolwareError
from toolware.ids import new_request_id
from toolware.integrations.mcp._server_catalogue import (
    Catalogue,
    ToolNameCollisionError,
    ToolNames,
    build_catalogue,
)
from toolware.integrations.mcp._server_changes import ToolListChanges
from toolware.integrations.mcp._server_results import (
    error_result,
    protocol_error,
    stream_result,
    text_of,
    value_result,
)
from toolware.pipeline import Pipeline
from toolware.propagation import extract_mcp_meta
from toolware.registry.base import Registry, close_matches
from toolware.registry.names import shorten
from toolware.streams import ResponseStream

__all__ = ["PrincipalHook", "ToolCalls"]

logger = logging.getLogger("toolware.mcp")

PrincipalHook = Callable[[ServerRequestContext[Any, Any]], Principal | None]
"""Maps an MCP request to the caller: gets the SDK's request context (``ctx.session``,
``ctx.request``: the Starlette request on streamable HTTP, ``None`` on stdio) and returns a
:class:`~toolware.Principal`, ``None`` for an anonymous call, or raises a
:class:`~toolware.ToolwareError` (``UnauthenticatedError``) to refuse it."""


class ToolCalls:
    """The request handlers, holding the pipeline and the catalogue of the current revision."""

    __slots__ = (
        "_catalogue",
        "_changes",
        "_lock",
        "_max_chunks",
        "_names",
        "_pipeline",
        "_principal",
        "_rag_prefix",
        "_registry",
    )

    def __init__(
        self,
        pipeline: Pipeline,
        registry: Registry,
        *,
        principal: PrincipalHook | None,
        names: ToolNames,
        rag_prefix: str,
        max_chunks: int = MAX_COLLECTED_CHUNKS,
    ) -> None:
        self._pipeline = pipeline
        self._registry = registry
        self._principal = principal
        self._names: ToolNames = names
        self._rag_prefix = rag_prefix
        self._max_chunks = max_chunks
        self._lock = threading.Lock()
        self._catalogue = build_catalogue(registry, names=names, rag_prefix=rag_prefix)
        self._changes = ToolListChanges(registry)

    @property
    def changes(self) -> ToolListChanges:
        """Who is told when the tool list changes (``subscriptions/listen`` and sessions)."""
        return self._changes

    @property
    def catalogue(self) -> Catalogue:
        """The catalogue of the registry's current revision (rebuilt when it changed)."""
        catalogue = self._catalogue
        if catalogue.revision == self._registry.revision:
            return catalogue
        with self._lock:
            try:
                fresh = build_catalogue(
                    self._registry, names=self._names, rag_prefix=self._rag_prefix
                )
            except ToolNameCollisionError as exc:
                # Serving on with the last good list beats failing every call; say why.
                logger.error(
                    "mcp_server.catalogue_refused revision=%s reason=%s",
                    self._registry.revision,
                    exc,
                    extra={"revision": self._registry.revision, "reason": str(exc)},
                )
                return catalogue
            self._catalogue = fresh
            return fresh

    def input_schema(self, name: str) -> dict[str, Any] | None:
        """The published input schema of a tool, for the SDK's header validation."""
        spec = self.catalogue.tools.get(name)
        return None if spec is None else dict(spec.listing["inputSchema"])

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams
    ) -> dict[str, Any]:
        hook = self._principal
        if hook is not None:
            # A caller the hook refuses learns nothing, not even which tools exist.
            self._caller(hook, ctx, "tools/list")
        self._changes.track(ctx)
        await self._changes.announce()
        return self.catalogue.listing

    async def serve_call(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> dict[str, Any]:
        """:meth:`call_tool`, announcing a tool list changed before or by the call."""
        changes = self._changes
        changes.track(ctx)
        await changes.announce()
        result = await self.call_tool(ctx, params)
        await changes.announce()
        return result

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> dict[str, Any]:
        name = params.name
        hook = self._principal
        principal = None if hook is None else self._caller(hook, ctx, name)
        spec = self.catalogue.tools.get(name)
        if spec is None:
            return _answer_error(self._unknown(name))
        response = await self._pipeline.invoke(
            spec.name,
            params.arguments,
            kind=spec.kind,
            action=spec.action,
            principal=principal,
            trace=extract_mcp_meta(ctx.params),
        )
        stream = response.stream
        if stream is not None:
            return await self._read_stream(ctx, stream)
        error = response.error
        if error is None:
            return value_result(response.value, wrap=spec.wrap_result)
        return _answer_error(error)

    def _caller(
        self, hook: PrincipalHook, ctx: ServerRequestContext[Any, Any], target: str
    ) -> Principal | None:
        """The principal hook's answer; a refusal or a crash is raised as a protocol error."""
        try:
            principal = hook(ctx)
            if principal is None or isinstance(principal, Principal):
                return principal
            # A user name or a token returned as it is would reach every interceptor as
            # the principal; the type is named, never the value (it may be a secret).
            error = self._bound(
                InternalError(
                    f"the principal hook returned {type(principal).__name__}, not a Principal "
                    "or None; return Principal(id=...) for a known caller, None for an "
                    "anonymous one",
                    interceptor="principal",
                ),
                target,
            )
        except ToolwareError as refusal:
            error = self._bound(refusal, target)
        except Exception as exc:
            # The text may hold a token or a header: it goes to the log, not to the client.
            logger.exception(
                "mcp_server.principal_hook_failed target=%s", target, extra={"target": target}
            )
            error = self._bound(
                InternalError(
                    f"the principal hook raised {type(exc).__name__}", interceptor="principal"
                ),
                target,
            )
        # No result to carry it (tools/list has none): a category without a JSON-RPC code of
        # its own is an internal error.
        raise protocol_error(error) or MCPError(
            code=JSONRPC_INTERNAL_ERROR, message=error.message, data=error.to_dict()
        )

    def _unknown(self, name: str) -> ToolwareError:
        candidates = close_matches(name, self.catalogue.tools)
        error = NotFoundError(f"no MCP tool named {shorten(name)}", candidates=candidates)
        return self._bound(error, name)

    def _bound(self, error: ToolwareError, target: str) -> ToolwareError:
        """``error`` with a request id of its own, for errors answered before the pipeline."""
        return error.bind(new_request_id(self._pipeline.clock), target)

    async def _read_stream(
        self, ctx: ServerRequestContext[Any, Any], stream: ResponseStream
    ) -> dict[str, Any]:
        # Always reported: the session drops it when the client asked for no progress (on
        # JSON-RPC the token is in _meta; the in-process modern client passes a callback).
        session = ctx.session
        limit = self._max_chunks
        chunks: list[Any] = []
        try:
            async with stream as items:
                async for chunk in items:
                    if len(chunks) == limit:
                        raise ResultTooLargeError(
                            f"the stream sent more than {limit} chunks, the most one MCP "
                            "result holds; it was closed there",
                            limit=limit,
                        )
                    chunks.append(chunk)
                    await session.report_progress(len(chunks), None, text_of(chunk))
        except ToolwareError as error:
            # Chunks already went out as progress: a failure part way is the tool's outcome,
            # reported in the result with what it delivered, whatever its category.
            return error_result(error, chunks)
        return stream_result(chunks)


def _answer_error(error: ToolwareError) -> dict[str, Any]:
    failure = protocol_error(error)
    if failure is not None:
        logger.debug(
            "mcp_server.protocol_error target=%s category=%s code=%s",
            error.target,
            error.category.value,
            failure.code,
            extra={"target": error.target, "category": error.category.value},
        )
        raise failure
    return error_result(error)

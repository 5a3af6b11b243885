"""Registry entries as LangChain tools: every call goes through a toolware pipeline.

A :class:`PipelineTool` is a LangChain ``BaseTool`` whose name, description and JSON Schema are
the entry's, so ``model.bind_tools(tools)`` publishes them and a LangGraph ``ToolNode`` runs
them. Its answer is ``(content, artifact)``: the value as text for the model (a string as is,
anything else as JSON) and the value itself.

A failed call raises :class:`ToolwareToolException`, a LangChain ``ToolException`` carrying
the typed error; ``handle_tool_error=True`` (the default here) makes LangChain turn it into a
``ToolMessage`` with ``status="error"`` that the model reads and can act on, which is how
LangGraph expects a tool to report a failure. Pass ``handle_tool_error=False`` to let it reach
the ``ToolNode``'s own ``handle_tool_errors`` policy instead (whose default re-raises it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_core.tools import BaseTool, ToolException
from pydantic import PrivateAttr

from toolware.clock import Clock
from toolware.context import Principal, TraceContext
from toolware.errors import ToolwareError
from toolware.integrations._framework_calls import CallSettings, content_text, run_sync
from toolware.integrations._selection import checked_description, selected
from toolware.registry.base import EntryDescription, Registry
from toolware.registry.names import function_name
from toolware.types import Handler

__all__ = ["PipelineTool", "ToolwareToolException", "langchain_tool", "langchain_tools"]


class ToolwareToolException(ToolException):
    """A call's typed toolware error, raised the way LangChain tools report failures.

    Its text, which becomes the error ``ToolMessage``'s content, is the category and the
    error's message and hint (``"tool_failed: 'lookup' raised KeyError: 'x' (hint: ...)"``),
    so the model can tell a mistake it can fix from a service that is down; ``error`` is the
    :class:`~toolware.errors.ToolwareError` itself.
    """

    def __init__(self, error: ToolwareError) -> None:
        super().__init__(f"{error.category.value}: {error}")
        self.error = error


class PipelineTool(BaseTool):
    """A registry entry as a LangChain tool; build them with :func:`langchain_tools`."""

    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], Any] | None = True
    _entry: EntryDescription = PrivateAttr()
    _settings: CallSettings[RunnableConfig] = PrivateAttr()
    _loop: asyncio.AbstractEventLoop | None = PrivateAttr(default=None)

    @property
    def entry(self) -> EntryDescription:
        """The description of the entry this tool calls."""
        return self._entry

    async def _arun(self, /, **arguments: Any) -> tuple[str, Any]:
        # The config arrives through LangChain's context variable, not a parameter, so an
        # entry may have an argument named "config" (and, self being positional-only, "self").
        config = ensure_config()
        try:
            value = await self._settings.call(self._entry, arguments, config)
        except ToolwareError as error:
            raise ToolwareToolException(error) from error
        return content_text(value), value

    def _run(self, /, **arguments: Any) -> tuple[str, Any]:
        return run_sync(lambda: self._arun(**arguments), self._loop)


def langchain_tool(
    pipeline: Handler,
    description: EntryDescription,
    *,
    principal: Principal | Callable[[RunnableConfig], Principal | None] | None = None,
    trace: TraceContext | Callable[[RunnableConfig], TraceContext | None] | None = None,
    timeout: float | None = None,
    clock: Clock | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
    handle_tool_error: bool = True,
) -> PipelineTool:
    """One entry as a LangChain tool calling ``pipeline``; see :func:`langchain_tools`."""
    checked_description(description, "langchain_tools")
    settings: CallSettings[RunnableConfig] = CallSettings.create(
        pipeline, principal=principal, trace=trace, timeout=timeout, clock=clock
    )
    schema = dict(description.args_schema) or {"type": "object", "properties": {}}
    tool = PipelineTool(
        name=function_name(description),
        description=description.description or f"Call {description.qualified_name}.",
        args_schema=schema,
        tags=sorted(description.tags) or None,
        handle_tool_error=handle_tool_error,
    )
    tool._entry = description
    tool._settings = settings
    tool._loop = loop
    return tool


def langchain_tools(
    pipeline: Handler,
    registry: Registry,
    *,
    names: Iterable[str] | None = None,
    principal: Principal | Callable[[RunnableConfig], Principal | None] | None = None,
    trace: TraceContext | Callable[[RunnableConfig], TraceContext | None] | None = None,
    timeout: float | None = None,
    clock: Clock | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
    handle_tool_error: bool = True,
) -> list[PipelineTool]:
    """The entries of ``registry`` as LangChain tools that call ``pipeline``.

    ``pipeline`` is normally built with ``route(registry)``; each tool sends a request for its
    entry through it, so every interceptor sees the call. Tool names are the function-calling
    names (``notes__add`` for the plugin action ``notes.add``). ``names`` picks entries by
    qualified name (all when ``None``; an unknown one is refused with close matches); lazy
    entries are imported now, so their schemas are known.

    ``principal`` and ``trace`` are fixed or functions of the call's ``RunnableConfig`` (for
    instance ``lambda config: Principal(id=config["configurable"]["user"])``); without
    ``trace``, the current OpenTelemetry span's context is sent. ``timeout`` bounds each call,
    on ``clock`` (the pipeline's by default). ``loop``: an event loop running in another
    thread that synchronous calls (``tool.invoke``) are sent to; without it they run on a loop
    of their own, which suits a graph run with ``graph.invoke`` from a plain thread.
    """
    return [
        langchain_tool(
            pipeline,
            description,
            principal=principal,
            trace=trace,
            timeout=timeout,
            clock=clock,
            loop=loop,
            handle_tool_error=handle_tool_error,
        )
        for description in selected(registry, names)
    ]

"""``MiddlewareMixin``: the V1 synchronous middleware, running on a toolware pipeline.

Mixed into an agent class providing ``name``, ``log_event(message, level)`` and ``timeout``
(seconds, default 60). The contract is ``docs/migration.md`` (and the V1 specification it
follows): statuses, bodies and log lines as V1 had them, every action run as a toolware call
underneath, and these deliberate fixes:

- ``mcp`` given as a list of call objects runs each call (V1: ``AttributeError``); any other
  non-object ``mcp`` is answered ``400``;
- an action that is not an object, lacks ``method`` or ``params``, has other keys, has a
  non-string id or method, or non-object params is answered ``400`` in its place (V1:
  ``TypeError`` out of ``to_middleware``); params that are not data (an iterator, a mapping that
  is not a dict, non-string keys, too deep or too large) are ``400`` too, naming the field;
- a result JSON cannot hold is serialised with ``str()``; nothing raises out of
  ``to_middleware``: a registry whose lookup raises is ``500`` ``[ERROR] ...`` for that action;
- the timeout works in every thread without signals; a handler that blocks past it is
  abandoned on its worker thread and the caller gets its answer on time.

Options (keyword-only in the constructor, or attributes of the host class):
``middleware_pipeline`` (a :class:`~toolware.pipeline.Pipeline` every call runs through;
default ``default_pipeline`` over the host's registries with its ``timeout``),
``middleware_strict`` (failures carry 4xx/5xx statuses instead of V1's 201),
``middleware_intent_resolver`` and ``middleware_transport`` (for MCP calls, see
:mod:`toolware.compat.v1.mcp`). The host's ``principal`` (a ``Principal`` or an id string), when
it has one, is every call's principal (a value of another type is left alone: the call
runs without one).

Switching it off: like V1's ``AgentWrapper`` (``self.__allow_middleware = False``, stored as
``_AgentWrapper__allow_middleware``), or on any host with ``allow_middleware = False``.
"""

from __future__ import annotations

import logging
from typing import Any

from toolware.context import Kind, ResponseContext
from toolware.error_codes import http_status
from toolware.errors import ErrorCategory, ToolwareError

from ._actions import malformed
from ._bodies import dumps, final_status, not_found_body, safe_str
from ._entries import make_entry
from ._runtime import MAX_NESTING, Runtime, nesting_depth
from .mcp import IntentResolver, McpCalls, Transport
from .registries import PluginRegistry, RAGRegistry, ToolRegistry
from .sources import find_handler, registry_ids

__all__ = ["MiddlewareMixin"]

logger = logging.getLogger("toolware.compat.v1")

_LOOKUP_ORDER = (Kind.RAG, Kind.TOOL, Kind.PLUGIN)
TIMED_OUT = "The action timed out."
_STRICT_STATUS = {ErrorCategory.TOOL_FAILED: 502, ErrorCategory.TIMEOUT: 504}

Answer = tuple[int, Any]


class MiddlewareMixin:
    """The V1 mixin; see the module docstring."""

    allow_middleware: bool = True
    middleware_pipeline: Any = None
    middleware_strict: bool = False
    middleware_intent_resolver: IntentResolver | None = None
    middleware_transport: Transport | None = None

    def __init__(
        self,
        tool_registry: Any = None,
        plugin_registry: Any = None,
        rag_registry: Any = None,
        *,
        pipeline: Any = None,
        strict: bool | None = None,
        intent_resolver: IntentResolver | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.rag_registry = RAGRegistry() if rag_registry is None else rag_registry
        self.tool_registry = ToolRegistry() if tool_registry is None else tool_registry
        self.plugin_registry = PluginRegistry() if plugin_registry is None else plugin_registry
        self.workflow_context: Any = None
        if pipeline is not None:
            self.middleware_pipeline = pipeline
        if strict is not None:
            if not isinstance(strict, bool):
                raise TypeError(f"strict must be True or False, got {strict!r}")
            self.middleware_strict = strict
        if intent_resolver is not None:
            self.middleware_intent_resolver = intent_resolver
        if transport is not None:
            self.middleware_transport = transport

    # -- public V1 API -------------------------------------------------------------------

    def set_workflow_context(self, ctx: Any) -> None:
        """Store the workflow context; its ``"config_loader"`` ``.tools`` dict is searched
        before the tool registry for MCP calls."""
        self.workflow_context = ctx

    def use_mcp_direct(self, tool_id: str, method: str, params: Any) -> Any:
        """Call ``method`` of the MCP tool ``tool_id``; the result, or raise its error."""
        return _unwrap(self._mcp_direct(tool_id, method, params))

    def use_mcp_workflow(self, tool_id: str, intent: str, context: str = "") -> Any:
        """Run an intent on the MCP tool ``tool_id``; the result, or raise its error."""
        return _unwrap(self._mcp_intent(tool_id, intent, context))

    def to_middleware(self, agent_input: Any) -> Answer:
        """Route the agent's structured output; ``(status, body)`` as V1 answered it."""
        if not self._middleware_allowed():
            return self._switched_off(agent_input)
        if nesting_depth() >= MAX_NESTING:
            message = (
                f"to_middleware nested {MAX_NESTING} calls deep (handlers calling "
                "to_middleware from inside a call): refused, to stop unbounded recursion"
            )
            self._log(message, "error")
            return 500, f"[ERROR] {message}"
        if agent_input is None or (isinstance(agent_input, dict) and not agent_input):
            self._log("No action detected, forwarding input", "info")
            return 200, agent_input
        if not isinstance(agent_input, dict):
            self._log(f"Invalid agent_input type: {type(agent_input)}, expected dict", "error")
            return 400, f"Invalid input type: {type(agent_input)}, expected dict"
        if "mcp" in agent_input:
            return self._mcp_answer(agent_input["mcp"])
        answers = [self._action_answer(key, value) for key, value in agent_input.items()]
        return final_status(s for s, _ in answers), "\n\n".join(b for _, b in answers)

    # -- switched off ----------------------------------------------------------------------

    def _middleware_allowed(self) -> bool:
        if not getattr(self, "_AgentWrapper__allow_middleware", True):
            return False
        return bool(getattr(self, "allow_middleware", True))

    def _switched_off(self, agent_input: Any) -> Answer:
        if isinstance(agent_input, dict):
            if "response" in agent_input:
                self._log(
                    "Middleware disabled - returning response text, ignoring tool calls", "info"
                )
                return 200, agent_input["response"]
            if "mcp" in agent_input:
                message = (
                    f"CONFIGURATION ERROR: Internal agent '{self._name()}' attempted tool call "
                    "without providing response guidance. This agent should be configured to "
                    "provide text responses only."
                )
                self._log(message, "error")
                return 500, message
        return 200, safe_str(agent_input)

    # -- legacy actions --------------------------------------------------------------------

    def _action_answer(self, action_id: Any, action: Any) -> Answer:
        problem = malformed(action_id, action)
        if problem is not None:
            self._log(problem, "error")
            return 400, problem
        method: str = action["method"]
        params: dict[str, Any] = action["params"]
        runtime = self._runtime()
        for kind in _LOOKUP_ORDER:
            try:
                handler = find_handler(runtime.registry(kind), kind, action_id)
            except Exception as exc:
                message = (
                    f"{kind.value} registry failed looking up '{action_id}': "
                    f"{type(exc).__name__}: {safe_str(exc)}"
                )
                self._log(message, "error")
                return 500, f"[ERROR] {message}"
            if handler is not None:
                break
        else:
            self._log(f"Action not found: {action_id} - {method}", "error")
            return 404, not_found_body(action_id, method)
        self._log(f"Executing: {action_id} - {method}", "info")
        try:
            entry = runtime.source(kind).entry(handler, action_id, method)
            response = runtime.call(kind, action_id, method, params, entry)
        except Exception as exc:  # a bad host option (timeout, pipeline)
            self._log(f"Tool {action_id} error: {safe_str(exc)}", "error")
            return 500, f"[ERROR] {safe_str(exc)}"
        return self._legacy_answer(action_id, method, response)

    def _legacy_answer(self, action_id: str, method: str, response: ResponseContext) -> Answer:
        error = response.error
        if error is None:
            self._log("Action executed successfully", "info")
            return 201, dumps(response.value)
        strict = self.middleware_strict
        category = error.category
        if category is ErrorCategory.TIMEOUT:
            self._log("Action execution timed out", "error")
            return (504 if strict else 201), dumps(TIMED_OUT)
        if category is ErrorCategory.TOOL_FAILED:
            reason = _reason(error)
            self._log(f"Error executing action. Error {reason}\n    Method: {method!r}", "error")
            body = dumps(f"An error occurred with action {method}: {reason}")
            return (502 if strict else 201), body
        if category is ErrorCategory.INVALID_REQUEST:
            self._log(f"Invalid params for {action_id} - {method}: {error.message}", "error")
            return 400, error.message
        if category is ErrorCategory.NOT_FOUND:
            self._log(f"Action not found: {action_id} - {method}", "error")
            return 404, not_found_body(action_id, method)
        self._log(f"Tool {action_id} error: {error.message}", "error")
        return http_status(error), f"[ERROR] {error.message}"

    # -- MCP -------------------------------------------------------------------------------

    def _mcp_answer(self, request: Any) -> Answer:
        if isinstance(request, list):
            if not request:
                message = "MCP request list is empty: send one call object or a list of them"
                return 400, message
            answers = [self._mcp_answer_one(item) for item in request]
            return final_status(s for s, _ in answers), "\n\n".join(b for _, b in answers)
        return self._mcp_answer_one(request)

    def _mcp_answer_one(self, request: Any) -> Answer:
        if not isinstance(request, dict):
            return 400, (
                f"MCP request must be an object with a 'tool' field (or a list of them), got "
                f"{type(request).__name__}"
            )
        tool_id = request.get("tool")
        if not tool_id:
            return 400, "MCP request missing 'tool' field"
        if not isinstance(tool_id, str):
            return 400, f"MCP request 'tool' must be a string, got {type(tool_id).__name__}"
        try:
            if "intent" in request:
                intent, context = request["intent"], request.get("context")
                if context is None:  # "context": null is no context, as use_mcp_workflow has it
                    context = ""
                if not isinstance(intent, str) or not isinstance(context, str):
                    return 400, "MCP request 'intent' and 'context' must be strings"
                self._log(f"Using intent-based MCP: {tool_id}", "info")
                response = self._mcp_intent(tool_id, intent, context)
            elif "method" in request:
                method, params = request["method"], request.get("params", {})
                if not isinstance(method, str):
                    kind = type(method).__name__
                    return 400, f"MCP request 'method' must be a string, got {kind}"
                self._log(f"Using direct MCP: {tool_id}.{method}", "info")
                response = self._mcp_direct(tool_id, method, params)
            else:
                return 400, "MCP request must have either 'intent' or 'method' field"
        except Exception as exc:  # a bad host option (timeout, pipeline), as for actions
            self._log(f"MCP tool {tool_id} error: {safe_str(exc)}", "error")
            return 500, f"[ERROR] {safe_str(exc)}"
        error = response.error
        if error is None:
            return 201, dumps(response.value)
        reason = _reason(error)
        self._log(f"MCP tool {tool_id} error: {reason}", "error")
        if error.category is ErrorCategory.INVALID_REQUEST:
            return 400, error.message
        status = http_status(error) if self.middleware_strict else 500
        return status, f"[ERROR] {reason}"

    def _mcp_direct(self, tool_id: str, method: str, params: Any) -> ResponseContext:
        """A dict of params is the call's arguments; anything else (``None``, a string holding
        a JSON object, which McpCalls reads as V1 did, or a value it refuses) goes to McpCalls
        as it is, and the request carries no arguments."""
        calls = self._mcp_calls()
        given = isinstance(params, dict)

        def direct(**arguments: Any) -> Any:
            return calls.direct(tool_id, method, arguments if given else params)

        entry = make_entry(Kind.TOOL, tool_id, method, direct, f"MCP tool {tool_id}")
        arguments = params if given else {}
        return self._runtime().call(Kind.TOOL, tool_id, method, arguments, entry)

    def _mcp_intent(self, tool_id: str, intent: str, context: str) -> ResponseContext:
        calls = self._mcp_calls()

        def run_intent(**arguments: Any) -> Any:
            return calls.intent(tool_id, arguments["intent"], arguments["context"])

        entry = make_entry(Kind.TOOL, tool_id, None, run_intent, f"MCP intents of {tool_id}")
        arguments = {"intent": intent, "context": context}
        return self._runtime().call(Kind.TOOL, tool_id, None, arguments, entry)

    def _mcp_calls(self) -> McpCalls:
        return McpCalls(
            lookup=self._mcp_lookup,
            available=self._mcp_available,
            log=self._log,
            transport=self.middleware_transport,
            intent_resolver=self.middleware_intent_resolver,
        )

    def _config_tools(self) -> dict[str, Any]:
        context = getattr(self, "workflow_context", None)
        loader = context.get("config_loader") if isinstance(context, dict) else None
        tools = getattr(loader, "tools", None)
        return tools if isinstance(tools, dict) else {}

    def _mcp_lookup(self, tool_id: str) -> object | None:
        tools = self._config_tools()
        if tool_id in tools:
            handler: object | None = tools[tool_id]
            return handler
        return find_handler(self._runtime().registry(Kind.TOOL), Kind.TOOL, tool_id)

    def _mcp_available(self) -> list[str]:
        ids = [key for key in self._config_tools() if isinstance(key, str)]
        registered = registry_ids(self._runtime().registry(Kind.TOOL), Kind.TOOL) or []
        return ids + [key for key in registered if key not in ids]

    def _mcp_run_handler(self, action_id: str, handler: object, text: str) -> Any:
        """An MCP-type handler found by a legacy action: an intent with V1's input string."""
        calls = McpCalls(
            lookup=lambda tool_id: handler if tool_id == action_id else None,
            available=lambda: [action_id],
            log=self._log,
            transport=self.middleware_transport,
            intent_resolver=self.middleware_intent_resolver,
        )
        return calls.intent(action_id, text)

    # -- plumbing --------------------------------------------------------------------------

    def _runtime(self) -> Runtime:
        runtime: Runtime | None = self.__dict__.get("_middleware_runtime")
        if runtime is None:
            runtime = self.__dict__.setdefault(
                "_middleware_runtime", Runtime(self, self._mcp_run_handler)
            )
        return runtime

    def _name(self) -> str:
        return safe_str(getattr(self, "name", type(self).__name__))

    def _log(self, message: str, level: str) -> None:
        """``self.log_event(f"Agent {self.name}: {message}", level)``, as V1 logged."""
        text = f"Agent {self._name()}: {message}"
        log_event = getattr(self, "log_event", None)
        if not callable(log_event):
            logger.warning(
                "compat.v1.no_log_event level=%s message=%s", level, text, extra={"level": level}
            )
            return
        try:
            log_event(text, level)
        except Exception as exc:  # the host's logger failing must not fail the call
            logger.warning(
                "compat.v1.log_event_failed error=%s message=%s",
                type(exc).__name__,
                text,
                exc_info=exc,
                extra={"level": level},
            )


def _reason(error: ToolwareError) -> str:
    """What V1 showed as ``{e}``: the handler's own exception when there is one."""
    cause = error.__cause__
    if cause is not None and error.category is ErrorCategory.TOOL_FAILED:
        return safe_str(cause)
    return safe_str(error) if type(error).__str__ is not ToolwareError.__str__ else error.message


def _unwrap(response: ResponseContext) -> Any:
    """The value, or raise what V1 would have raised: the handler's own exception."""
    error = response.error
    if error is None:
        return response.value
    cause = error.__cause__
    if error.category is ErrorCategory.TOOL_FAILED and isinstance(cause, Exception):
        raise cause
    raise error

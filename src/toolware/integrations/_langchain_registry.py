"""LangChain tools as a registry source: each tool is an entry that a pipeline can run.

The entry's arguments schema is the tool's (``tool_call_schema``: what a model is shown, with
injected arguments left out), checked before the tool runs: a pydantic ``args_schema`` with
pydantic, refusing unknown names; a JSON Schema ``args_schema`` for JSON-like values, required
names and, when it says ``additionalProperties: false``, unknown ones. The tool's ``tags``
become the entry's tags.

A tool without a coroutine of its own (``StructuredTool.from_function(func=...)``, a
``BaseTool`` defining only ``_run``) is a synchronous entry, run on the pipeline's worker
threads; the others are awaited. Failures are values here, so a tool's own
``handle_tool_error`` / ``handle_validation_error`` are switched off for the calls made
through the registry (the tool object itself is not changed): a ``ToolException`` is a
``tool_failed`` error whose message keeps the tool's text, and arguments the tool's schema
refuses are ``invalid_request`` naming each field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pydantic
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from toolware._arguments import check_arguments
from toolware._limits import safe_name
from toolware.context import Kind
from toolware.errors import FieldError, InvalidRequestError, RegistrationError
from toolware.registry._options import STREAM_OPTIONS, EntryOptions
from toolware.registry._validator import PydanticValidator
from toolware.registry.base import (
    ArgumentValidator,
    Entry,
    EntryDescription,
    EntryKey,
    HealthStatus,
    RegistryHealth,
    unknown_entry,
)
from toolware.registry.names import check_name

__all__ = ["LangChainRegistry"]


class _ModelArguments:
    """Checks arguments with the tool's pydantic schema; gives back the fields sent, converted."""

    __slots__ = ("_inner",)

    def __init__(
        self,
        model: type[pydantic.BaseModel],
        schema: Mapping[str, Any],
        target: str,
        *,
        open_names: bool,
    ) -> None:
        # Unknown names are refused unless the tool's own schema says extra="allow" (the
        # model a tool shows a model is a copy that drops that setting): pydantic's default
        # ignores them, which would drop a misspelled argument without a word.
        extra = "allow" if open_names else "forbid"
        checked = type(
            model.__name__,
            (model,),
            {"model_config": {**model.model_config, "extra": extra}, "__module__": __name__},
        )
        self._inner = PydanticValidator(pydantic.TypeAdapter(checked), schema, target)

    def validate(self, arguments: Mapping[str, Any], *, strict: bool = False) -> Mapping[str, Any]:
        # Any: the adapter validates into an instance of the model, not a mapping.
        model: Any = self._inner.validate(arguments, strict=strict)
        values = {name: getattr(model, name) for name in model.model_fields_set}
        values.update(model.model_extra or {})  # names a model with extra="allow" accepts
        return values


class _JsonSchemaArguments:
    """Checks arguments against a JSON Schema ``args_schema``: JSON-like, required names
    present, no unknown names when the schema closes its properties."""

    __slots__ = ("_closed", "_properties", "_required", "_target")

    def __init__(self, schema: Mapping[str, Any], target: str) -> None:
        properties = schema.get("properties")
        self._properties: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
        required = schema.get("required")
        self._required = tuple(required) if isinstance(required, list | tuple) else ()
        self._closed = schema.get("additionalProperties") is False
        self._target = target

    def validate(self, arguments: Mapping[str, Any], *, strict: bool = False) -> Mapping[str, Any]:
        check_arguments(arguments, target=self._target, names=frozenset(self._properties))
        fields = [
            FieldError(str(name), "Field required", None)
            for name in self._required
            if name not in arguments
        ]
        if self._closed:
            expected = "one of: " + ", ".join(self._properties) if self._properties else "none"
            fields += [
                FieldError(safe_name(name), "unexpected argument", expected)
                for name in arguments
                if name not in self._properties
            ]
        if fields:
            names = ", ".join(field.field for field in fields)
            raise InvalidRequestError(
                f"invalid arguments for {self._target!r}: {names}", fields=fields
            )
        return arguments


def _is_async(tool: BaseTool) -> bool:
    """Whether the tool has async work of its own (else LangChain would run ``_run`` on its
    default executor; the registry runs it on the pipeline's worker threads instead)."""
    coroutine = getattr(tool, "coroutine", None)
    if callable(coroutine):
        return True
    if hasattr(tool, "coroutine"):  # StructuredTool / Tool made from a sync function
        return False
    return type(tool)._arun is not BaseTool._arun


class LangChainRegistry:
    """A registry whose entries run LangChain tools (``BaseTool``: ``@tool`` functions,
    ``StructuredTool``, toolkit tools).

    ``options`` maps a tool's LangChain name to the :class:`EntryOptions` a ``LocalRegistry``
    entry would take: ``name=`` for a tool whose name LLM APIs refuse (spaces, dots) or that
    collides with another source's, ``idempotent=``, ``retryable_on=``, ``timeout=``,
    ``cache=``, ``version=``, extra ``tags=`` and ``description=``. Put the registry in a
    :class:`~toolware.registry.composite.CompositeRegistry` next to a ``LocalRegistry`` to
    serve both through one pipeline.
    """

    def __init__(
        self,
        tools: Iterable[BaseTool],
        *,
        name: str = "langchain",
        options: Mapping[str, EntryOptions] | None = None,
    ) -> None:
        remaining = dict(options or {})
        tools = list(tools)
        self.name = name
        self._entries: dict[EntryKey, Entry] = {}
        for tool in tools:
            if not isinstance(tool, BaseTool):
                raise RegistrationError(
                    f"LangChainRegistry takes LangChain tools (BaseTool, e.g. from @tool), got "
                    f"{type(tool).__name__}"
                )
            entry = _entry(tool, remaining.pop(tool.name, _NO_OPTIONS))
            key = (Kind.TOOL, entry.description.name, None)
            if key in self._entries:
                raise RegistrationError(
                    f"two LangChain tools are named {key[1]!r} in {name!r}; give one another "
                    f"name with options={{{tool.name!r}: EntryOptions(name='...')}}"
                )
            self._entries[key] = entry
        if remaining:
            raise RegistrationError(
                f"options name tools that are not given: {sorted(remaining)}; known tools: "
                f"{sorted(tool.name for tool in tools)}"
            )
        self._listing = tuple(entry.description for entry in self._entries.values())

    @property
    def revision(self) -> int:
        return 1  # the tools are fixed at construction

    @property
    def lookup(self) -> Callable[[EntryKey], Entry | None]:
        return self._entries.get

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        entry = self._entries.get((kind, name, action))
        if entry is None:
            raise unknown_entry(self.name, kind, name, action, self._entries)
        return entry

    def list(self) -> tuple[EntryDescription, ...]:
        return self._listing

    async def health(self) -> RegistryHealth:
        return RegistryHealth(status=HealthStatus.OK, entries=len(self._entries))

    def __repr__(self) -> str:
        return f"LangChainRegistry({self.name!r}, tools={[d.name for d in self._listing]})"


_NO_OPTIONS = EntryOptions()


def _entry(tool: BaseTool, options: EntryOptions) -> Entry:
    if not isinstance(options, EntryOptions):
        raise RegistrationError(
            f"options for LangChain tool {tool.name!r} must be EntryOptions(...), got "
            f"{type(options).__name__}"
        )
    if options.check_result or any(
        getattr(options, field) != getattr(_NO_OPTIONS, field) for field in STREAM_OPTIONS
    ):
        raise RegistrationError(
            f"options for LangChain tool {tool.name!r}: check_result, first_chunk_timeout, "
            f"idle_timeout and read_ahead do not apply (LangChain tools answer one value and "
            f"declare no result type); leave them out"
        )
    name = tool.name if options.name is None else options.name
    check_name(
        name, f"LangChain tool name (pass options={{{tool.name!r}: EntryOptions(name='...')}})"
    )
    schema_source = tool.tool_call_schema
    validator: ArgumentValidator
    if isinstance(schema_source, dict):
        schema = {k: v for k, v in schema_source.items() if k not in ("description", "title")}
        validator = _JsonSchemaArguments(schema, name)
    elif isinstance(schema_source, type) and issubclass(schema_source, pydantic.BaseModel):
        schema = schema_source.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)
        declared = tool.args_schema
        open_names = (
            isinstance(declared, type)
            and issubclass(declared, pydantic.BaseModel)
            and declared.model_config.get("extra") == "allow"
        )
        validator = _ModelArguments(schema_source, schema, name, open_names=open_names)
    else:
        raise RegistrationError(
            f"LangChain tool {tool.name!r} has a pydantic.v1 args_schema; toolware checks "
            f"arguments with pydantic 2: declare the schema with pydantic.BaseModel"
        )
    # A copy that raises instead of answering failures as text: failures are values here.
    quiet = tool.model_copy(update={"handle_tool_error": False, "handle_validation_error": False})
    function, is_async = _runner(quiet, validator)
    description = EntryDescription(
        name=name,
        kind=Kind.TOOL,
        description=options.description or tool.description,
        args_schema=schema,
        tags=frozenset(tool.tags or ()) | options.tags,
        version=options.version,
        idempotent=options.idempotent,
        timeout=options.timeout,
        retry=options.retry,
        cache=options.cache_policy,
    )
    return Entry(
        description=description,
        function=function,
        is_async=is_async,
        validator=validator,
        retryable_on=options.retryable_on,
    )


def _runner(tool: BaseTool, validator: ArgumentValidator) -> tuple[Callable[..., Any], bool]:
    """The entry's function: the tool invoked with the arguments, its answer as the value."""
    artifact = tool.response_format == "content_and_artifact"

    def tool_input(arguments: dict[str, Any]) -> dict[str, Any]:
        # A tool answering (content, artifact) gives both only to a tool call; a plain dict
        # input would drop the artifact.
        if artifact:
            return {"type": "tool_call", "id": "toolware", "name": tool.name, "args": arguments}
        return arguments

    def value(output: Any) -> Any:
        if artifact and isinstance(output, ToolMessage):
            return {"content": output.content, "artifact": output.artifact}
        return output

    def refuse(arguments: dict[str, Any]) -> None:
        # The tool's schema refused the arguments (a pipeline without validation): raise
        # toolware's invalid_request naming each field. When they pass, the error came from
        # inside the tool, and the caller re-raises it as the tool's failure.
        validator.validate(arguments)

    if _is_async(tool):

        async def run_async(**arguments: Any) -> Any:
            try:
                return value(await tool.ainvoke(tool_input(arguments)))
            except pydantic.ValidationError:
                refuse(arguments)
                raise

        return run_async, True

    def run(**arguments: Any) -> Any:
        try:
            return value(tool.invoke(tool_input(arguments)))
        except pydantic.ValidationError:
            refuse(arguments)
            raise

    return run, False

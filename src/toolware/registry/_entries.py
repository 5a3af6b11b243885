"""Turning a registered object into entries: one per tool or retriever, one per plugin action.

Pure functions of the object and its options: they touch no registry state, so a registry can
build entries outside its lock and install them in one step.

Generator functions become streaming entries (:mod:`toolware.registry._streams`). The
streaming-only options (``first_chunk_timeout``, ``idle_timeout``, ``read_ahead``) are refused
on an entry that does not stream; given to a plugin, they apply to its streaming actions and
are refused only if it has none (a plugin's options are shared by all its actions).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from toolware._callables import is_async_generator_callable
from toolware.context import Kind
from toolware.errors import RegistrationError
from toolware.registry._options import EntryOptions, name_of
from toolware.registry._streams import (
    chunk_annotation,
    is_streaming,
    refuse_stream_options,
    stream_options_given,
    stream_schemas,
    without_stream_options,
)
from toolware.registry.base import Entry, EntryDescription
from toolware.registry.names import check_name, qualified_name
from toolware.registry.plugins import PluginOptions, plugin_actions
from toolware.registry.rag import retriever_function
from toolware.registry.results import result_checker
from toolware.registry.schema import inspect_signature, is_async_callable

__all__ = ["build_entries", "make_entry"]


_ALL_METHODS = PluginOptions()


def build_entries(
    obj: Any,
    kind: Kind,
    options: EntryOptions,
    *,
    default_k: int,
    max_k: int,
    plugin: PluginOptions = _ALL_METHODS,
) -> list[Entry]:
    """The entries ``obj`` registers as ``kind`` (several for a plugin, one otherwise)."""
    if kind is Kind.PLUGIN:
        actions = list(plugin_actions(obj, options, plugin))
        if stream_options_given(options) and not any(is_streaming(a[2]) for a in actions):
            refuse_stream_options(options, f"plugin {actions[0][0]!r} has no streaming action")
        return [
            make_entry(
                method,
                Kind.PLUGIN,
                name,
                action,
                action_options if is_streaming(method) else without_stream_options(action_options),
                None,
            )
            for name, action, method, action_options in actions
        ]
    if kind is Kind.RAG:
        if not 1 <= default_k <= max_k:
            raise RegistrationError(f"need 1 <= default_k <= max_k, got {default_k}, {max_k}")
        name = check_name(given_name(options.name, obj), "retriever name")
        function, is_async = retriever_function(obj, default_k=default_k, max_k=max_k)
        return [make_entry(function, kind, name, None, options, is_async)]
    name = check_name(given_name(options.name, obj), f"{kind.value} name")
    return [make_entry(obj, kind, name, None, options, None)]


def given_name(name: str | None, obj: Any) -> str:
    """The name passed (even ``""``, which is then refused), else the object's own."""
    return name_of(obj) if name is None else name


def make_entry(
    function: Callable[..., Any],
    kind: Kind,
    name: str,
    action: str | None,
    options: EntryOptions,
    is_async: bool | None,
) -> Entry:
    """One entry: the handler's schemas and validator, described with ``options``."""
    if inspect.isclass(function):
        raise RegistrationError(f"{name!r} is a class; register classes with registry.plugin(...)")
    if not callable(function):
        raise RegistrationError(f"{name!r} is not callable: {type(function).__name__}")
    target = qualified_name(name, action)
    streaming = is_streaming(function)
    if streaming:
        is_async = is_async_generator_callable(function)
    else:
        refuse_stream_options(options, f"{target!r} is not one")
    signature = inspect_signature(function, target, streaming=streaming)
    result_schema: Mapping[str, Any] = signature.result_schema
    chunk_schema: Mapping[str, Any] = {}
    declared = signature.declared_return
    if streaming:
        declared = chunk_annotation(declared, target, is_async=bool(is_async))
        chunk_schema, result_schema = stream_schemas(declared, target)
    result_validator = None
    if options.check_result:
        if not declared:
            declared_what, form = (
                ("chunk type", "AsyncIterator[T]" if is_async else "Iterator[T]")
                if streaming
                else ("return type", "T")
            )
            raise RegistrationError(
                f"check_result=True needs a declared {declared_what}: annotate {target!r} "
                f"with '-> {form}'"
            )
        result_validator = result_checker(declared[0], target, chunk=streaming)
    description = EntryDescription(
        name=name,
        kind=kind,
        action=action,
        description=options.description or signature.description,
        args_schema=signature.args_schema,
        result_schema=result_schema,
        tags=options.tags,
        version=options.version,
        idempotent=options.idempotent,
        timeout=options.timeout,
        streaming=streaming,
        chunk_schema=chunk_schema,
        first_chunk_timeout=options.first_chunk_timeout,
        idle_timeout=options.idle_timeout,
        retry=options.retry,
        cache=options.cache_policy,
    )
    return Entry(
        description=description,
        function=function,
        is_async=is_async_callable(function) if is_async is None else is_async,
        validator=signature.validator,
        context_parameter=signature.context_parameter,
        retryable_on=options.retryable_on,
        result_validator=result_validator,
        streaming=streaming,
        read_ahead=options.read_ahead,
    )

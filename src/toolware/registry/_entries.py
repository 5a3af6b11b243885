"""Turning a registered object into entries: one per tool or retriever, one per plugin action.

Pure functions of the object and its options: they touch no registry state, so a registry can
build entries outside its lock and install them in one step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from toolware.context import Kind
from toolware.errors import RegistrationError
from toolware.registry._options import EntryOptions, name_of
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
        return [
            make_entry(method, Kind.PLUGIN, name, action, action_options, None)
            for name, action, method, action_options in plugin_actions(obj, options, plugin)
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
    if inspect.isasyncgenfunction(function):
        raise RegistrationError(
            f"{name!r} is an async generator; streaming handlers are not supported yet, "
            "return a list instead"
        )
    if inspect.isclass(function):
        raise RegistrationError(f"{name!r} is a class; register classes with registry.plugin(...)")
    if not callable(function):
        raise RegistrationError(f"{name!r} is not callable: {type(function).__name__}")
    target = qualified_name(name, action)
    signature = inspect_signature(function, target)
    result_validator = None
    if options.check_result:
        if not signature.declared_return:
            raise RegistrationError(
                f"check_result=True needs a declared return type: annotate {target!r} with '-> T'"
            )
        result_validator = result_checker(signature.declared_return[0], target)
    description = EntryDescription(
        name=name,
        kind=kind,
        action=action,
        description=options.description or signature.description,
        args_schema=signature.args_schema,
        result_schema=signature.result_schema,
        tags=options.tags,
        version=options.version,
        idempotent=options.idempotent,
        timeout=options.timeout,
    )
    return Entry(
        description=description,
        function=function,
        is_async=is_async_callable(function) if is_async is None else is_async,
        validator=signature.validator,
        context_parameter=signature.context_parameter,
        retryable_on=options.retryable_on,
        result_validator=result_validator,
    )

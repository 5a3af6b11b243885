"""Checking a handler's result against its declared return type (``check_result=True``).

Registration builds the check once (a pydantic ``TypeAdapter`` of the return annotation) and
stores it on the entry as ``Entry.result_validator``; the router calls it after the handler
returns. Validation is pydantic's lax mode, so a value is accepted as the type would accept
it as input (``"3"`` for ``int`` comes back as ``3``, which is what the caller then gets);
what the type cannot accept (``None`` for ``int``) is a ``tool_failed`` error: the tool broke
its own contract. The message names the value's type, never the value (it may be large or
secret).

For a streaming entry the check is built with ``chunk=True`` from the declared chunk type
(``T`` of ``-> AsyncIterator[T]``) and checks one chunk: the router calls it on each chunk, and
the message says what the tool *yielded*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

from toolware.errors import RegistrationError, ToolFailedError

__all__ = ["result_checker", "type_label"]


def type_label(annotation: Any) -> str:
    """``int``, ``list[int]``, ``Optional[str]``: an annotation as a reader writes it."""
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__qualname__
    return str(annotation).replace("typing.", "")


def result_checker(annotation: Any, target: str, *, chunk: bool = False) -> Callable[[Any], Any]:
    """A function returning a valid result (converted as needed) or raising
    :class:`~toolware.errors.ToolFailedError`; refuses at registration a type pydantic
    cannot check. ``chunk=True``: ``annotation`` is a stream's chunk type, and the function
    checks one chunk."""
    declared, verb, what = (
        ("chunk type", "yielded", "yield") if chunk else ("return type", "returned", "return")
    )
    try:
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)
    except (pydantic.PydanticUserError, pydantic.errors.PydanticSchemaGenerationError) as exc:
        raise RegistrationError(
            f"check_result=True cannot check {target!r}'s {declared} {type_label(annotation)} "
            f"({type(exc).__name__}); use a type pydantic can validate, or leave check_result off"
        ) from exc
    expected = type_label(annotation)
    validate = adapter.validate_python

    def check_result(value: Any) -> Any:
        try:
            return validate(value)
        except pydantic.ValidationError as exc:
            returned = "None" if value is None else f"a {type(value).__name__}"
            where = _first_location(exc)
            raise ToolFailedError(
                f"{target!r} {verb} {returned}{where}, but its declared {declared} is {expected}",
                hint=f"fix the tool to {what} what it declares, or correct its return annotation",
            ) from None  # the pydantic error quotes the value; keep it out of the chain

    return check_result


def _first_location(exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    loc = errors[0]["loc"] if errors else ()
    # Model and TypedDict names are the first part of some locations; the position is enough.
    path = ".".join(str(part) for part in loc)
    return f" (first problem at {path})" if path else ""

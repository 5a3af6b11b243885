"""Every error toolware produces, in one tree.

Call errors describe why one call failed. They are values: the pipeline returns them inside a
:class:`~toolware.context.ResponseContext` and only ``response.unwrap()`` raises them::

    ToolwareError                      category          retryable           HTTP  JSON-RPC
    ├── InvalidRequestError            invalid_request   no                  422   -32602
    ├── NotFoundError                  not_found         no                  404   -32602
    │   └── UnknownEntryError          not_found (the registry has no such entry)
    ├── UnauthenticatedError           unauthenticated   no                  401   -32001
    ├── ForbiddenError                 forbidden         no                  403   -32002
    ├── RateLimitedError               rate_limited      yes, after delay    429   -32003
    ├── CircuitOpenError               circuit_open      yes, after delay    503   -32004
    ├── CallTimeoutError               timeout           if idempotent       504   -32005
    ├── UnavailableError               unavailable       yes                 503   -32006
    ├── ToolFailedError                tool_failed       per tool policy     502   -32007
    ├── CallCancelledError             cancelled         no                  499   -32800
    └── InternalError                  internal          no                  500   -32603

Setup errors are raised while a pipeline or registry is being put together, never during a
call; they are ordinary ``ValueError``/``TypeError``/``RuntimeError`` subclasses::

    SetupError
    ├── RegistrationError (ValueError)     a registry entry cannot be registered as asked
    ├── RegistryCollisionError (ValueError) two sources expose the same name
    └── BuilderFrozenError (RuntimeError)  a builder was changed after build()

``to_dict()`` is what crosses a process boundary. It never contains the call's arguments and,
for causes, only their type names: a handler's exception text is part of ``message`` because
agents need it to correct themselves, but the cause objects themselves stay in the process.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, ClassVar

import msgspec

__all__ = [
    "BuilderFrozenError",
    "CallCancelledError",
    "CallTimeoutError",
    "CircuitOpenError",
    "ErrorCategory",
    "FieldError",
    "ForbiddenError",
    "InternalError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitedError",
    "RegistrationError",
    "RegistryCollisionError",
    "SetupError",
    "ToolFailedError",
    "ToolwareError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnknownEntryError",
    "describe_exception",
]


class ErrorCategory(StrEnum):
    """The category of a call error; stable strings, safe to use as metric labels."""

    INVALID_REQUEST = "invalid_request"
    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    CIRCUIT_OPEN = "circuit_open"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    TOOL_FAILED = "tool_failed"
    CANCELLED = "cancelled"
    INTERNAL = "internal"


class ToolwareError(Exception):
    """Base of all call errors. Subclasses fix the category and transport codes."""

    category: ClassVar[ErrorCategory] = ErrorCategory.INTERNAL
    http_status: ClassVar[int] = 500
    jsonrpc_code: ClassVar[int] = -32603
    default_retryable: ClassVar[bool] = False
    default_hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        retryable: bool | None = None,
        request_id: str | None = None,
        target: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint
        self.retryable = self.default_retryable if retryable is None else retryable
        self.request_id = request_id
        self.target = target

    def bind(self, request_id: str, target: str) -> ToolwareError:
        """Fill in the request id and target where they are still unknown.

        Errors raised below the pipeline (a registry lookup, a handler) do not know which call
        they belong to; the layer that catches them binds them before returning them. Returns
        ``self``, or a bound copy if ``self`` already belongs to another call: an error object
        kept and raised for many calls must not carry the first call's id into the others.
        """
        if self.request_id is not None and self.request_id != request_id:
            clone = self.copy()
            clone.request_id = request_id
            clone.target = target
            return clone
        if self.request_id is None:
            self.request_id = request_id
        if self.target is None:
            self.target = target
        return self

    def copy(self) -> ToolwareError:
        """A shallow copy with the same cause chain (``copy.copy`` drops ``__cause__``)."""
        clone = copy.copy(self)
        clone.__cause__ = self.__cause__
        clone.__context__ = self.__context__
        clone.__suppress_context__ = self.__suppress_context__
        return clone

    def causes(self) -> Iterator[BaseException]:
        """The chain of underlying exceptions, nearest first."""
        seen: set[int] = {id(self)}
        current = _next_cause(self)
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            yield current
            current = _next_cause(current)

    def details(self) -> dict[str, Any]:
        """Category-specific fields for ``to_dict()``; subclasses extend this."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: no arguments, no cause messages, no secrets."""
        data: dict[str, Any] = {
            "category": self.category.value,
            "message": self.message,
            "hint": self.hint,
            "retryable": self.retryable,
            "request_id": self.request_id,
            "target": self.target,
            "http_status": self.http_status,
            "jsonrpc_code": self.jsonrpc_code,
        }
        data.update(self.details())
        data["causes"] = [_type_name(cause) for cause in self.causes()]
        return data

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds with cls(*args), which fails for subclasses whose __init__ takes
        # required keyword-only arguments (retry_after, limit), so copy.copy() and pickle did.
        return (_rebuild, (type(self), self.message), self.__dict__.copy())

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, target={self.target!r})"


def _rebuild(cls: type[ToolwareError], message: str) -> ToolwareError:
    return cls.__new__(cls, message)


def _next_cause(exc: BaseException) -> BaseException | None:
    """What Python's own traceback shows as the cause: ``raise ... from None`` hides it."""
    if exc.__cause__ is not None:
        return exc.__cause__
    return None if exc.__suppress_context__ else exc.__context__


def describe_exception(exc: BaseException) -> str:
    """``"TypeName: text"`` for messages, even for an exception whose ``__str__`` raises."""
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not turn an error report into a crash
        text = "<str() of the exception failed>"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


class FieldError(msgspec.Struct, frozen=True):
    """One bad argument: where it is, what is wrong, and what was expected."""

    field: str
    problem: str
    expected: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "problem": self.problem, "expected": self.expected}


class InvalidRequestError(ToolwareError):
    """The arguments or the request itself are malformed; ``fields`` names each bad field."""

    category = ErrorCategory.INVALID_REQUEST
    http_status = 422
    jsonrpc_code = -32602
    default_hint = "fix the arguments named in 'fields' and call again"

    def __init__(self, message: str, *, fields: tuple[FieldError, ...] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.fields = fields

    def details(self) -> dict[str, Any]:
        return {"fields": [field.to_dict() for field in self.fields]}


class NotFoundError(ToolwareError):
    """No entry of that kind and name; ``candidates`` lists close matches."""

    category = ErrorCategory.NOT_FOUND
    http_status = 404
    jsonrpc_code = -32602
    default_hint = "list the available entries with 'toolware list' or registry.list()"

    def __init__(self, message: str, *, candidates: tuple[str, ...] = (), **kwargs: Any) -> None:
        if "hint" not in kwargs and candidates:
            kwargs["hint"] = "did you mean " + " or ".join(repr(c) for c in candidates) + "?"
        super().__init__(message, **kwargs)
        self.candidates = candidates

    def details(self) -> dict[str, Any]:
        return {"candidates": list(self.candidates)}


class UnknownEntryError(NotFoundError):
    """The registry has no entry of that kind, name and action.

    Raised by registries, so callers can tell a wrong tool name (an agent inventing tools) from
    a handler reporting that something it looked up does not exist (plain ``NotFoundError``).
    """


class UnauthenticatedError(ToolwareError):
    """The caller did not prove who it is."""

    category = ErrorCategory.UNAUTHENTICATED
    http_status = 401
    jsonrpc_code = -32001
    default_hint = "send valid credentials"


class ForbiddenError(ToolwareError):
    """The caller is known but may not make this call."""

    category = ErrorCategory.FORBIDDEN
    http_status = 403
    jsonrpc_code = -32002
    default_hint = "ask for a role that allows this call"


class _RetryAfterError(ToolwareError):
    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def details(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class RateLimitedError(_RetryAfterError):
    """Too many calls; ``retry_after`` says how many seconds to wait."""

    category = ErrorCategory.RATE_LIMITED
    http_status = 429
    jsonrpc_code = -32003
    default_retryable = True
    default_hint = "wait retry_after seconds before calling again"


class CircuitOpenError(_RetryAfterError):
    """The target failed too often and is rested; ``retry_after`` says for how long."""

    category = ErrorCategory.CIRCUIT_OPEN
    http_status = 503
    jsonrpc_code = -32004
    default_retryable = True
    default_hint = "wait retry_after seconds; the target is failing"


class CallTimeoutError(ToolwareError):
    """The call did not finish within ``limit`` seconds."""

    category = ErrorCategory.TIMEOUT
    http_status = 504
    jsonrpc_code = -32005
    default_hint = "raise the timeout or make the call cheaper"

    def __init__(self, message: str, *, limit: float, started: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit
        self.started = started

    def details(self) -> dict[str, Any]:
        return {"limit": self.limit, "started": self.started}


class UnavailableError(ToolwareError):
    """A registry, remote source or dependency cannot be reached right now."""

    category = ErrorCategory.UNAVAILABLE
    http_status = 503
    jsonrpc_code = -32006
    default_retryable = True
    default_hint = "try again later"


class ToolFailedError(ToolwareError):
    """The handler raised; the exception is the cause. Retryable only if the entry says so."""

    category = ErrorCategory.TOOL_FAILED
    http_status = 502
    jsonrpc_code = -32007
    default_hint = "the tool reported an error; check its arguments or its service"


class CallCancelledError(ToolwareError):
    """The caller went away or cancelled the call."""

    category = ErrorCategory.CANCELLED
    http_status = 499
    jsonrpc_code = -32800


class InternalError(ToolwareError):
    """A bug in toolware or in an interceptor; ``interceptor`` names the culprit if known."""

    category = ErrorCategory.INTERNAL
    http_status = 500
    jsonrpc_code = -32603
    default_hint = "this is a bug, not a problem with the call; report it with the cause"

    def __init__(self, message: str, *, interceptor: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.interceptor = interceptor

    def details(self) -> dict[str, Any]:
        return {"interceptor": self.interceptor}


class SetupError(Exception):
    """Base of errors raised while assembling registries and pipelines."""


class RegistrationError(SetupError, ValueError):
    """An entry cannot be registered as asked; the message says what to change."""


class RegistryCollisionError(SetupError, ValueError):
    """Two registry sources expose the same kind and name."""


class BuilderFrozenError(SetupError, RuntimeError):
    """A builder was changed after ``build()``."""

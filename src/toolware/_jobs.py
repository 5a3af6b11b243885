"""One call handed to a worker thread, and how what it raises reaches the caller.

A function's ``Exception`` is delivered as it is. Anything else it raises (``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``, custom ``BaseException`` subclasses) and
``StopIteration`` (which a coroutine cannot carry) becomes ``ToolFailedError`` naming the real
exception, with the original as ``__cause__``: none of them may stop the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Mapping
from typing import Any

from toolware.errors import ToolFailedError, describe_exception

__all__ = ["DROPPED", "QUEUED", "RUNNING", "Job"]

QUEUED, RUNNING, DROPPED = 0, 1, 2


class Job:
    """One call: what to run, where to deliver, and the outcome."""

    __slots__ = (
        "arguments",
        "context",
        "error",
        "function",
        "future",
        "name",
        "queued_at",
        "state",
        "value",
    )

    def __init__(
        self,
        function: Callable[..., Any],
        arguments: Mapping[str, Any],
        context: contextvars.Context,
        future: asyncio.Future[None],
        name: str | None,
    ) -> None:
        self.function: Callable[..., Any] | None = function
        self.arguments: Mapping[str, Any] | None = arguments
        self.context: contextvars.Context | None = context
        self.future = future
        self.name = name
        self.state = RUNNING
        self.queued_at = 0.0
        self.value: Any = None
        self.error: BaseException | None = None

    def release(self) -> None:
        """Drop what the call was given, so its arguments die with the caller's interest."""
        self.function = self.arguments = self.context = None

    def execute(self) -> None:
        """Run the call on this (worker) thread; never raises."""
        function, arguments, context = self.function, self.arguments, self.context
        self.function = self.arguments = self.context = None
        try:
            self.value = context.run(function, **arguments)  # type: ignore[union-attr,arg-type]
        except BaseException as exc:
            # The first traceback entry is this frame: drop it, so the exception (kept by the
            # caller's response) does not keep a worker frame, and through it this job, alive.
            exc.__traceback__ = exc.__traceback__.tb_next if exc.__traceback__ else None
            deliverable = isinstance(exc, Exception) and not isinstance(exc, StopIteration)
            self.error = exc if deliverable else _failure(self, function, exc)
        finally:
            # A frame's locals outlive it through its exceptions' tracebacks: clear ours.
            function = arguments = context = None


def _failure(job: Job, function: object, exc: BaseException) -> ToolFailedError:
    name = job.name or getattr(function, "__qualname__", None) or repr(function)
    if isinstance(exc, SystemExit):
        code = 0 if exc.code is None else exc.code
        what = (
            f"SystemExit (exit code {code})" if isinstance(code, int) else f"SystemExit ({code!r})"
        )
    else:
        what = describe_exception(exc)
    failure = ToolFailedError(f"{name!r} raised {what}", retryable=False)
    failure.__cause__ = exc
    return failure

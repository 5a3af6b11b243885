"""Step through one call: stop before and after each stage, show the request and the response.

    stepper = Stepper(pipeline, prompt=["s", "s", "c"], show=print)
    result = await stepper.invoke("search", {"query": "x"})

:class:`Stepper` builds a *stepped copy* of a built pipeline (a new :class:`Pipeline` over the
same stage objects, terminal and clock; the original is never changed, and the copy does not
close the original's terminal). Each stage is wrapped so that the call stops before it (showing
the request as that stage receives it) and after it (showing the response it returns); one more
pair of stops brackets the terminal (the router, or your handler). A stage whose ``when=``
condition does not match the call runs no code and does not stop.

At each stop ``show`` gets the stop as text and ``prompt`` is asked for a command:

- ``s``, ``step`` or an empty line: run to the next stop;
- ``c``, ``continue``, or the end of input (``prompt`` answered ``None``, a script ran out):
  run to the end without stopping;
- ``q``, ``quit``: abort the call; it is cancelled (every stage sees a plain cancellation and
  cleans up as for any cancelled call) and the result says where (``StepResult.quit_at``);
- ``p``, ``print``: show the current stop again; ``h``, ``help``, ``?``: list the commands.

``prompt`` is an async function of no arguments returning the next line (``None`` at the end of
input), or an iterable of lines (a script, for tests). Request arguments and response values
are shown redacted by :func:`toolware.redaction.redact` (the values of secret-looking keys such
as ``password``, ``token``, ``api_key``, and secret-looking values, become ``[REDACTED]``).

Time keeps passing at a stop: a deadline set by a timeout stage counts the pause. A stream is
shown as ``stream`` after each stage; read it from the result's response. One call at a time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping
from typing import Any, Literal, cast

import msgspec

from toolware._attribution import display_name
from toolware.builder import Stage
from toolware.context import RequestContext, ResponseContext
from toolware.pipeline import Pipeline
from toolware.redaction import redact
from toolware.types import CallNext, Interceptor

__all__ = ["StepResult", "Stepper", "Stop", "format_stop"]

Prompt = Callable[[], Awaitable[str | None]]

HELP = "commands: s/step/<enter> next stop, c/continue run to the end, q/quit abort, p/print again"

_COMMANDS = {
    "": "step",
    "s": "step",
    "step": "step",
    "c": "continue",
    "continue": "continue",
    "q": "quit",
    "quit": "quit",
    "p": "print",
    "print": "print",
    "h": "help",
    "help": "help",
    "?": "help",
}


class Stop(msgspec.Struct, frozen=True):
    """One stop: its number (from 1), the stage, before or after it, what it saw."""

    number: int
    stage: str
    moment: Literal["before", "after"]
    request: RequestContext
    response: ResponseContext | None = None


class StepResult(msgspec.Struct, frozen=True):
    """The call's response (``None`` when quit), every stop made, and the stop quit at."""

    response: ResponseContext | None
    stops: tuple[Stop, ...]
    quit_at: Stop | None = None


def _json(value: Any) -> str:
    try:
        return json.dumps(redact(value), sort_keys=True, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):  # keys of mixed types cannot be sorted; cycles
        return repr(value)


def format_stop(stop: Stop, *, now: float) -> str:
    """A stop as lines of text; ``now`` (on the pipeline clock) dates the deadline."""
    request = stop.request
    lines = [f"stop {stop.number}: {stop.moment} {stop.stage}"]
    response = stop.response
    if response is None:
        lines.append(f"  request: {request.kind.value} {request.qualified_name}")
        lines.append(f"  arguments: {_json(dict(request.arguments))}")
        if request.deadline is not None:
            lines.append(f"  deadline: in {request.deadline - now:.1f} s")
        extras = request.extras
    elif response.error is not None:
        error = response.error
        lines.append(f"  response: error {error.category.value}")
        lines.append(f"  message: {error.message}")
        extras = response.extras
    elif response.stream is not None:
        lines.append("  response: stream")
        extras = response.extras
    else:
        lines.append("  response: ok")
        lines.append(f"  value: {_json(response.value)}")
        extras = response.extras
    shown = sorted(f"{key.name}={_json(extras.get(key))}" for key in extras)
    if shown:
        lines.append(f"  extras: {', '.join(shown)}")
    return "\n".join(lines)


class _Stopping:
    """A stage's interceptor with a stop before and after it."""

    __slots__ = ("interceptor", "name", "stepper")

    def __init__(self, stepper: Stepper, name: str, interceptor: Interceptor | None) -> None:
        self.stepper = stepper
        self.name = name
        self.interceptor = interceptor  # None: the stops around the terminal

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        await self.stepper._stop(self.name, "before", request, None)
        if self.interceptor is None:
            response = await call_next(request)
        else:
            response = await self.interceptor(request, call_next)
        await self.stepper._stop(self.name, "after", request, response)
        return response


class Stepper:
    """Runs calls through a stepped copy of ``pipeline`` (see the module docstring)."""

    __slots__ = ("_quit_at", "_read", "_running", "_stepping", "_stops", "pipeline", "show")

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        prompt: Prompt | Iterable[str],
        show: Callable[[str], None] | None = None,
    ) -> None:
        if not isinstance(pipeline, Pipeline):
            raise TypeError(
                f"pipeline must be a built Pipeline, got {type(pipeline).__name__}; "
                "call .build() on the PipelineBuilder first"
            )
        if callable(prompt):
            self._read: Prompt = prompt
        elif isinstance(prompt, Iterable) and not isinstance(prompt, str | bytes):
            self._read = _scripted(iter(prompt))
        else:
            raise TypeError(
                f"prompt must be an async function returning the next command line (None at "
                f"the end of input) or a list of lines, got {type(prompt).__name__}; "
                'e.g. prompt=["s", "c"]'
            )
        if show is not None and not callable(show):
            raise TypeError(
                f"show must be a function taking the text of a stop, or None, got {show!r}"
            )
        self.show = show
        stages = tuple(
            Stage(s.name, _Stopping(self, s.name, s.interceptor), s.condition)
            for s in pipeline.stages
        )
        terminal = display_name(pipeline.terminal)
        self.pipeline = Pipeline(
            stages=(*stages, Stage(terminal, _Stopping(self, terminal, None))),
            terminal=pipeline.terminal,
            clock=pipeline.clock,
            name=pipeline.name,
            owns_terminal=False,  # the original pipeline still owns (and closes) it
        )
        self._stops: list[Stop] = []
        self._stepping = True
        self._running = False
        self._quit_at: Stop | None = None

    async def run(self, request: RequestContext) -> StepResult:
        """Run ``request`` through the stepped copy, stopping as the commands say."""
        return await self._drive(self.pipeline(request))

    async def invoke(
        self, target: str, arguments: Mapping[str, Any] | None = None, **options: Any
    ) -> StepResult:
        """Build the request as :meth:`Pipeline.invoke` does (same options), then step it."""
        return await self._drive(self.pipeline.invoke(target, arguments, **options))

    async def _drive(self, call: Coroutine[Any, Any, ResponseContext]) -> StepResult:
        if self._running:
            call.close()  # never awaited: close it so no "never awaited" warning follows
            raise RuntimeError(
                "this Stepper is already stepping a call; step one call at a time, or make "
                "another Stepper"
            )
        self._running = True
        self._stops = []
        self._stepping = True
        self._quit_at = None
        # The call runs in a task of its own, so that quitting cancels the call and not the
        # caller: every stage sees an ordinary cancellation.
        task = asyncio.ensure_future(call)
        try:
            response = await task
        except asyncio.CancelledError:
            if self._quit_at is None or _current_task().cancelling():
                raise
            return StepResult(None, tuple(self._stops), self._quit_at)
        finally:
            self._running = False
        return StepResult(response, tuple(self._stops))

    def _emit(self, text: str) -> None:
        if self.show is not None:
            self.show(text)

    async def _stop(
        self,
        stage: str,
        moment: Literal["before", "after"],
        request: RequestContext,
        response: ResponseContext | None,
    ) -> None:
        if not self._stepping:
            return
        stop = Stop(len(self._stops) + 1, stage, moment, request, response)
        self._stops.append(stop)
        clock = self.pipeline.clock
        self._emit(format_stop(stop, now=clock.monotonic()))
        while True:
            line = await self._read()
            if line is None:  # end of input: run to the end
                self._stepping = False
                return
            command = _COMMANDS.get(line.strip().lower())
            if command == "step":
                return
            if command == "continue":
                self._stepping = False
                return
            if command == "quit":
                self._quit_at = stop
                _current_task().cancel()  # the call's task: _drive runs it in its own
                raise asyncio.CancelledError(f"quit at stop {stop.number}")
            if command == "print":
                self._emit(format_stop(stop, now=clock.monotonic()))
            elif command == "help":
                self._emit(HELP)
            else:
                self._emit(f"unknown command {line.strip()!r}; {HELP}")


def _current_task() -> asyncio.Task[Any]:
    # Always set here: stops and _drive only run inside a task (asyncio.run makes one).
    return cast("asyncio.Task[Any]", asyncio.current_task())


def _scripted(lines: Iterator[str]) -> Prompt:
    async def read() -> str | None:
        return next(lines, None)

    return read

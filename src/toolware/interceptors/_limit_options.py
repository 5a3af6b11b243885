"""What the rate limit and the concurrency limit share: the ``key=`` option, option checks,
clock binding and the answer to a key function that fails.

The ``key=`` option picks what a call is counted under:

- ``"principal"``: ``request.principal.id``; calls without a principal share ``"anonymous"``
  (so a principal whose id is literally ``"anonymous"`` shares their budget);
- ``"target"``: the qualified name (``"search"``, ``"files.read"``);
- ``"principal_and_target"``: both, so each principal has a budget per tool;
- a function ``(request) -> str``: anything else (a tenant claim, an API key's id).

A key longer than :data:`MAX_KEY_CHARS` (a function returning a whole document, say) is cut and
suffixed with a digest of the whole, so stores and per-key tables hold keys of bounded size
while distinct keys stay distinct.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable

from toolware.clock import Clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import InternalError

__all__ = [
    "ANONYMOUS",
    "MAX_KEY_CHARS",
    "KeyFunction",
    "bounded_key",
    "check_clock",
    "check_seconds",
    "check_whole",
    "key_failed",
    "key_function",
    "pick_clock",
]

ANONYMOUS = "anonymous"
"""The key of calls that carry no principal."""

MAX_KEY_CHARS = 256
"""Longer keys are stored as their first 128 characters and a digest of the whole."""

KeyFunction = Callable[[RequestContext], str]

# "\x1f" (unit separator) between principal and target: a principal id may hold any printable
# character, so a printable separator could make two pairs collide ("a/b"+"c" and "a"+"b/c").
_SEPARATOR = "\x1f"


def _by_principal(request: RequestContext) -> str:
    principal = request.principal
    return ANONYMOUS if principal is None else principal.id


def _by_target(request: RequestContext) -> str:
    return request.qualified_name


def _by_principal_and_target(request: RequestContext) -> str:
    principal = request.principal
    who = ANONYMOUS if principal is None else principal.id
    return who + _SEPARATOR + request.qualified_name


_KINDS: dict[str, KeyFunction] = {
    "principal": _by_principal,
    "target": _by_target,
    "principal_and_target": _by_principal_and_target,
}


def key_function(owner: str, key: object) -> tuple[str, KeyFunction]:
    """The kind name (for messages) and the function for the ``key=`` option; refuses
    anything else."""
    if isinstance(key, str):
        found = _KINDS.get(key)
        if found is None:
            raise ValueError(
                f"{owner} key must be 'principal', 'target', 'principal_and_target' or a "
                f"function (request) -> str, got {key!r}"
            )
        return key, found
    if not callable(key):
        raise TypeError(
            f"{owner} key must be 'principal', 'target', 'principal_and_target' or a "
            f"function (request) -> str, got {type(key).__name__}"
        )
    name = getattr(key, "__qualname__", None) or type(key).__name__
    return f"function {name}", key


def bounded_key(key: str) -> str:
    """A bounded stand-in for a ``key`` longer than :data:`MAX_KEY_CHARS` (callers test the
    length first: nearly every key is short, and a call costs more than the test)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return key[:128] + "#" + digest


def key_failed(
    request: RequestContext,
    logger: logging.Logger,
    interceptor: str,
    kind: str,
    exc: Exception | None,
    got: object = None,
) -> ResponseContext:
    """The ``internal`` answer (logged as ``<interceptor>.key_failed``) when the key function
    raised ``exc`` or returned ``got``, not a string: the call is answered, not lost."""
    target = request.qualified_name
    what = (
        f"returned {type(got).__name__}, not a str"
        if exc is None
        else f"raised {type(exc).__name__}"
    )
    logger.error(
        "%s.key_failed target=%s key=%s: the key function %s",
        interceptor,
        target,
        kind,
        what,
        exc_info=exc,
        extra={"target": target, "key": kind},
    )
    error = InternalError(
        f"{interceptor.replace('_', ' ')} key {kind} {what} for {target!r}",
        interceptor=interceptor,
        hint="make the key function return a str for every request",
        request_id=request.id,
        target=target,
    )
    error.__cause__ = exc
    return ResponseContext.failure(error)


def check_whole(option: str, value: object, minimum: int) -> int:
    """``value`` if it is an int (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{option} must be a whole number >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{option} must be a whole number >= {minimum}, got {value!r}")
    return value


def check_seconds(option: str, value: object, *, zero: bool, hint: str) -> float:
    """``value`` as a float if it is a finite number (not a bool), > 0 (or >= 0 with
    ``zero``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{option} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and (value >= 0 if zero else value > 0)):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(
            f"{option} must be a finite number of seconds {bound}{hint}, got {value!r}"
        )
    return float(value)


def check_clock(clock: object) -> None:
    if clock is not None and not isinstance(clock, Clock):
        raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")


def pick_clock(owner: str, held: Clock | None, offered: Clock, what: str) -> Clock:
    """The clock to keep when a pipeline offers ``offered``: it, unless another is held."""
    if held is None or held is offered:
        return offered
    raise ValueError(
        f"{owner} uses clock {held!r}, but its pipeline uses {offered!r}; {what} are timed on "
        "one clock: pass the same clock to PipelineBuilder(clock=...), or leave the "
        "interceptor's clock unset"
    )

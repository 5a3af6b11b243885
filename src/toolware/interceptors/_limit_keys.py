"""How the rate limit and the concurrency limit pick the key a call is counted under.

Both take the same ``key=`` option:

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
from collections.abc import Callable

from toolware.context import RequestContext

__all__ = ["ANONYMOUS", "KEY_KINDS", "MAX_KEY_CHARS", "KeyFunction", "bounded_key", "key_function"]

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
    action = request.action
    return request.target if action is None else request.qualified_name


def _by_principal_and_target(request: RequestContext) -> str:
    principal = request.principal
    who = ANONYMOUS if principal is None else principal.id
    return who + _SEPARATOR + request.qualified_name


KEY_KINDS: dict[str, KeyFunction] = {
    "principal": _by_principal,
    "target": _by_target,
    "principal_and_target": _by_principal_and_target,
}


def key_function(owner: str, key: object) -> tuple[str, KeyFunction]:
    """The kind name (for messages) and the function for the ``key=`` option; refuses
    anything else."""
    if isinstance(key, str):
        found = KEY_KINDS.get(key)
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

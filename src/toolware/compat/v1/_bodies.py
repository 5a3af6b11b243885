"""The V1 answer texts, byte for byte: JSON bodies, the 404 text, the status rule.

V1 built every body with ``json.dumps(result, indent=2)`` and crashed with ``TypeError`` on a
result that is not JSON-serialisable (**Fix**): :func:`dumps` serialises what JSON cannot hold
with ``str()`` (the documented fallback), and never raises, not even for an object whose
``__str__`` raises.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii
from typing import Any

__all__ = ["dumps", "final_status", "not_found_body", "safe_str"]


def safe_str(value: object) -> str:
    """``str(value)``, or a placeholder naming the type when ``__str__`` (and ``__repr__``)
    raise: a body must be produced whatever a handler returned."""
    try:
        return str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return f"<unprintable {type(value).__name__} object>"


def dumps(value: Any) -> str:
    """``json.dumps(value, indent=2)``; values JSON cannot hold become their ``str()``."""
    # indent only lays out containers, so a scalar's text is what json writes for it alone:
    # written here as json does (its own C string encoder, int.__repr__), without building an
    # encoder per call; most V1 results are one string.
    kind = type(value)
    if kind is str:
        text: str = encode_basestring_ascii(value)
        return text
    if kind is int and value.bit_length() < 4096:  # more digits than int-to-str allows raise
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    try:
        return json.dumps(value, indent=2, default=safe_str)
    except (TypeError, ValueError, RecursionError):
        # Non-string keys, a reference cycle, or nesting deeper than the interpreter allows:
        # the whole value as text rather than no answer.
        return json.dumps(safe_str(value), indent=2)


def not_found_body(action_id: str, method: str) -> str:
    """V1's 404 text: the action id capitalised, quoting the *method*."""
    return f"{action_id.capitalize()} '{method}' not found."


def final_status(statuses: Iterable[int]) -> int:
    """The status of several actions: the first that is neither 200 nor 201, else 201 if any
    was 201, else 200."""
    seen_created = False
    for status in statuses:
        if status not in (200, 201):
            return status
        if status == 201:
            seen_created = True
    return 201 if seen_created else 200

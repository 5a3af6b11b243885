"""The shape of a legacy V1 action, ``{action_id: {"method": m, "params": p}}``, checked.

V1 crashed with ``TypeError`` on an action that was not an object or lacked ``params``
(**Fix**); the adapter answers ``400`` with the reason, for those and for the other shapes V1
could not run either (no ``method``, other keys, a non-string id or method, params that are not
an object).
"""

from __future__ import annotations

from typing import Any

from ._bodies import safe_str

__all__ = ["ACTION_KEYS", "malformed"]

ACTION_KEYS = frozenset({"method", "params"})


def malformed(action_id: Any, action: Any) -> str | None:
    """Why a legacy action cannot run (the 400 body), or ``None``."""
    if (
        type(action) is dict
        and len(action) == 2
        and type(action.get("method")) is str
        and type(action.get("params")) is dict
        and type(action_id) is str
    ):
        return None  # the usual, well-formed action: one pass of cheap checks
    if not isinstance(action_id, str):
        return f"Action id must be a string, got {type(action_id).__name__}"
    if not isinstance(action, dict):
        return (
            f'Action \'{action_id}\' must be an object {{"method": ..., "params": {{...}}}}, '
            f"got {type(action).__name__}"
        )
    if "method" not in action:
        return f"Action '{action_id}' is missing 'method'"
    if "params" not in action:
        return f"Action '{action_id}' is missing 'params'; send \"params\": {{}} for none"
    extra = sorted(safe_str(key) for key in action if key not in ACTION_KEYS)
    if extra:
        return f"Action '{action_id}' has unexpected keys {extra}: only 'method' and 'params'"
    if not isinstance(action["method"], str):
        return (
            f"Action '{action_id}' method must be a string, got {type(action['method']).__name__}"
        )
    if not isinstance(action["params"], dict):
        return (
            f"Action '{action_id}' params must be an object, got {type(action['params']).__name__}"
        )
    return None

"""``langswarm.synapse.registry.tools``: the V1 tool registry, now :mod:`toolware.compat.v1`."""

from toolware.compat.v1 import ToolRegistry

__all__ = ["ToolRegistry"]

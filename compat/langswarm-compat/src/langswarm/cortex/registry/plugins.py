"""``langswarm.cortex.registry.plugins``: the V1 plugin registry, now :mod:`toolware.compat.v1`."""

from toolware.compat.v1 import PluginRegistry

__all__ = ["PluginRegistry"]

"""``langswarm.core.wrappers.middleware``: the V1 mixin, now :mod:`toolware.compat.v1`."""

from toolware.compat.v1 import MiddlewareMixin

__all__ = ["MiddlewareMixin"]

"""Compatibility layers for code written against older middleware (see :mod:`toolware.compat.v1`)."""

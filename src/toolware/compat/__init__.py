"""Compatibility layers for code written against older middleware: see toolware.compat.v1."""

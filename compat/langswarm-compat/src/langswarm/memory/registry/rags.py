"""``langswarm.memory.registry.rags``: the V1 RAG registry, now :mod:`toolware.compat.v1`."""

from toolware.compat.v1 import RAGRegistry

__all__ = ["RAGRegistry"]

"""Registries: where pipelines find the tools, plugins and RAG retrievers they call."""

from toolware.registry.base import (
    ArgumentValidator,
    Entry,
    EntryDescription,
    HealthStatus,
    Registry,
    RegistryHealth,
)
from toolware.registry.composite import CompositeRegistry, Source
from toolware.registry.local import LocalRegistry, import_object
from toolware.registry.rag import Document, Retriever

__all__ = [
    "ArgumentValidator",
    "CompositeRegistry",
    "Document",
    "Entry",
    "EntryDescription",
    "HealthStatus",
    "LocalRegistry",
    "Registry",
    "RegistryHealth",
    "Retriever",
    "Source",
    "import_object",
]

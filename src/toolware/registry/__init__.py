"""Registries: where pipelines find the tools, plugins and RAG retrievers they call."""

from toolware.registry.base import (
    ArgumentValidator,
    CachePolicy,
    CacheScope,
    Entry,
    EntryDescription,
    EntryKey,
    FastLookup,
    HealthStatus,
    PendingImports,
    Registry,
    RegistryHealth,
    function_name,
    parse_function_name,
    split_qualified,
)
from toolware.registry.composite import CompositeRegistry, Source
from toolware.registry.local import LocalRegistry, import_object
from toolware.registry.rag import Document, Retriever

__all__ = [
    "ArgumentValidator",
    "CachePolicy",
    "CacheScope",
    "CompositeRegistry",
    "Document",
    "Entry",
    "EntryDescription",
    "EntryKey",
    "FastLookup",
    "HealthStatus",
    "LocalRegistry",
    "PendingImports",
    "Registry",
    "RegistryHealth",
    "Retriever",
    "Source",
    "function_name",
    "import_object",
    "parse_function_name",
    "split_qualified",
]

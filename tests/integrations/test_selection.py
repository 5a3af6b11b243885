"""Tests for toolware.integrations._selection: which entries a framework adapter exposes."""

from __future__ import annotations

import re

import pytest

from toolware import LocalRegistry
from toolware.integrations._selection import checked_description, pick


def test_an_unknown_name_lists_every_close_match() -> None:
    """Close matches are listed, joined by ', '."""
    registry = LocalRegistry()

    @registry.tool
    def search_docs() -> int:
        return 1

    @registry.tool
    def search_code() -> int:
        return 2

    message = "the registry has no entry 'search_doc'; did you mean 'search_docs', 'search_code'?"
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        pick(registry.list(), ["search_doc"])


def test_a_description_must_be_one() -> None:
    """Anything else is refused by type name."""
    with pytest.raises(TypeError, match=r"from registry\.list\(\)\), got int$"):
        checked_description(5, "langchain_tools")

"""Fixtures shared by the whole suite.

The test directories are packages (``__init__.py``), so helpers shared by several test files
are imported by their package path (``from tests.pipeline_support import Recorder``), never
as top-level modules found through ``sys.path`` tricks; anything that needs a fresh state per
test is a fixture here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


def _forget_demo_registry() -> None:
    # Only if a test imported the demo: most tests never do, and must not pay for it.
    module = sys.modules.get("toolware.demo.registry")
    if module is not None:
        module.demo_registry.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_demo_registry() -> Iterator[None]:
    """Each test that uses the demo registry (``toolware list``/``call`` by default) gets a new
    one, so no test sees notes another test added, in whatever order or how often they run."""
    _forget_demo_registry()
    yield
    _forget_demo_registry()


@pytest.fixture
def demo_registry() -> object:
    """A fresh demo registry, the one ``toolware call`` uses by default during this test."""
    from toolware.demo.registry import demo_registry

    return demo_registry()

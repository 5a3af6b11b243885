"""Tests for toolware.registry.local: lazy entries registered by import path."""

import importlib
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from toolware import (
    ErrorCategory,
    Kind,
    LocalRegistry,
    RegistrationError,
    UnavailableError,
    default_pipeline,
)
from toolware.registry import HealthStatus

# -- lazy entries ----------------------------------------------------------------------------

LAZY_SOURCE = '''
import {counter}

{counter}.imports += 1

NOT_CALLABLE = 3


def translate(text: str, target: str = "fr") -> str:
    """Translate text (pretend)."""
    return target + ":" + text


class Glossary:
    def lookup(self, term: str) -> str:
        return term.upper()
'''


class LazyModule:
    """Names of a freshly written module and of the counter module it bumps on import."""

    def __init__(self, name: str, counter: str) -> None:
        self.name = name
        self.counter_name = counter

    @property
    def counter(self) -> ModuleType:
        return importlib.import_module(self.counter_name)


@pytest.fixture
def lazy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LazyModule]:
    """A real module on sys.path that counts how many times it was imported."""
    name = f"lazy_tools_{uuid.uuid4().hex[:12]}"
    counter = f"{name}_counter"
    (tmp_path / f"{counter}.py").write_text("imports = 0\n")
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(LAZY_SOURCE.format(counter=counter)))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield LazyModule(name, counter)
    sys.modules.pop(name, None)
    sys.modules.pop(counter, None)


def test_lazy_entry_is_imported_on_first_resolve_and_cached(lazy_module: LazyModule) -> None:
    """add_lazy imports nothing; the first resolve imports once; later resolves reuse it."""
    registry = LocalRegistry()
    registry.add_lazy(f"{lazy_module.name}:translate", idempotent=True)
    assert lazy_module.name not in sys.modules
    assert lazy_module.counter.imports == 0

    entry = registry.resolve(Kind.TOOL, "translate")
    assert lazy_module.counter.imports == 1
    assert entry.function(text="hi") == "fr:hi"
    assert entry.description.idempotent is True
    assert entry.description.description == "Translate text (pretend)."

    # Were the registry to import again, this would re-execute the module.
    del sys.modules[lazy_module.name]
    assert registry.resolve(Kind.TOOL, "translate") is entry
    assert lazy_module.counter.imports == 1


async def test_lazy_entry_runs_through_a_pipeline(lazy_module: LazyModule) -> None:
    """A lazy tool is validated and called like an eager one, under name=."""
    registry = LocalRegistry()
    registry.add_lazy(f"{lazy_module.name}:translate", name="tr")
    response = await default_pipeline(registry).invoke("tr", {"text": "x", "target": "de"})
    assert response.unwrap() == "de:x"


def test_lazy_plugin_class_is_named_like_an_eager_one(lazy_module: LazyModule) -> None:
    """A lazy class gets the snake-case name registry.plugin would give it."""
    registry = LocalRegistry()
    registry.add_lazy(f"{lazy_module.name}:Glossary", kind=Kind.PLUGIN)
    entry = registry.resolve(Kind.PLUGIN, "glossary", "lookup")
    assert entry.function(term="rag") == "RAG"


def test_lazy_revision_moves_when_the_entry_is_loaded(lazy_module: LazyModule) -> None:
    """Loading a lazy entry changes the registry, so composites re-index."""
    registry = LocalRegistry()
    registry.add_lazy(f"{lazy_module.name}:translate")
    before = registry.revision
    registry.resolve(Kind.TOOL, "translate")
    assert registry.revision > before


async def test_bad_import_path_is_unavailable_and_health_names_it() -> None:
    """A missing module makes that entry unavailable, health degraded, other entries fine."""
    registry = LocalRegistry()
    registry.add_lazy("toolware_no_such_module_x:thing")

    @registry.tool
    def fine() -> str:
        return "ok"

    assert (await registry.health()).status is HealthStatus.OK
    with pytest.raises(UnavailableError, match="toolware_no_such_module_x:thing") as caught:
        registry.resolve(Kind.TOOL, "thing")
    assert caught.value.retryable is False
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)

    health = await registry.health()
    assert health.status is HealthStatus.DEGRADED
    assert health.entries == 2
    assert "ModuleNotFoundError" in health.problems["tool:thing"]
    # Listing still works, and the broken entry stays visible, marked not loaded.
    assert [(d.name, d.loaded) for d in registry.list()] == [("thing", False), ("fine", True)]

    response = await default_pipeline(registry).invoke("thing")
    assert response.error is not None
    assert response.error.category is ErrorCategory.UNAVAILABLE


async def test_missing_attribute_and_unregistrable_object_are_unavailable(
    lazy_module: LazyModule,
) -> None:
    """A wrong attribute or an object that cannot be registered is reported, not raised."""
    registry = LocalRegistry()
    registry.add_lazy(f"{lazy_module.name}:missing")
    registry.add_lazy(f"{lazy_module.name}:NOT_CALLABLE", name="constant")
    with pytest.raises(UnavailableError, match="AttributeError"):
        registry.resolve(Kind.TOOL, "missing")
    with pytest.raises(UnavailableError, match="not callable"):
        registry.resolve(Kind.TOOL, "constant")
    assert [(d.name, d.loaded) for d in registry.list()] == [
        ("missing", False),
        ("constant", False),
    ]
    assert set((await registry.health()).problems) == {"tool:missing", "tool:constant"}

    registry.remove(Kind.TOOL, "missing")
    registry.remove(Kind.TOOL, "constant")
    health = await registry.health()
    assert (health.status, health.problems, health.entries) == (HealthStatus.OK, {}, 0)


@pytest.mark.parametrize("path", ["json.dumps", "json:", ":dumps", ""])
def test_malformed_import_path_is_refused(path: str) -> None:
    """A lazy path needs both a module and an object, separated by a colon."""
    with pytest.raises(RegistrationError, match=r"package\.module:object"):
        LocalRegistry().add_lazy(path)


def test_lazy_name_taken_is_refused_unless_replace() -> None:
    """add_lazy refuses a name already registered, like add(); replace=True takes it over."""
    registry = LocalRegistry()

    def dumps(obj: Any) -> str:
        return "mine"

    registry.tool(dumps)
    with pytest.raises(RegistrationError, match="already registered"):
        registry.add_lazy("json:dumps")
    registry.add_lazy("json:dumps", replace=True)
    assert registry.resolve(Kind.TOOL, "dumps").function(obj=[1]) == "[1]"


def test_threads_resolving_a_lazy_entry_at_once_all_get_it(lazy_module: LazyModule) -> None:
    """Eight threads racing on the first resolve get one entry, imported and registered once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    registry = LocalRegistry()
    registry.add_lazy(f"{lazy_module.name}:translate")
    start = threading.Barrier(8)

    def first_resolve(_: int) -> object:
        start.wait(timeout=5)
        return registry.resolve(Kind.TOOL, "translate")

    with ThreadPoolExecutor(max_workers=8) as pool:
        entries = list(pool.map(first_resolve, range(8)))
    assert len({id(entry) for entry in entries}) == 1
    assert lazy_module.counter.imports == 1

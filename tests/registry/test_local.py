"""Tests for toolware.registry.local: decorators, descriptions, lazy entries and lookups."""

import importlib
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import pydantic
import pytest

from toolware import (
    Document,
    ErrorCategory,
    Kind,
    LocalRegistry,
    NotFoundError,
    RegistrationError,
    RequestContext,
    UnavailableError,
    UnknownEntryError,
    default_pipeline,
)
from toolware.registry import HealthStatus

# -- tools -----------------------------------------------------------------------------------


def test_bare_tool_decorator_registers_a_sync_function() -> None:
    """@registry.tool returns the function itself and registers it under its own name."""
    registry = LocalRegistry()

    @registry.tool
    def add(a: float, b: float) -> float:
        """Add two numbers.

        The second paragraph is not part of the description.
        """
        return a + b

    assert add(1, 2) == 3
    entry = registry.resolve(Kind.TOOL, "add")
    assert entry.function is add
    assert entry.is_async is False
    assert entry.description.name == "add"
    assert entry.description.kind is Kind.TOOL
    assert entry.description.action is None
    assert entry.description.description == "Add two numbers."


def test_tool_decorator_with_options_publishes_them() -> None:
    """Every tool option ends up in the entry: name, description, tags, version, policy."""
    registry = LocalRegistry()

    @registry.tool(
        name="plus",
        description="Sum of a and b.",
        tags={"math", "cheap"},
        version="2.1",
        idempotent=True,
        timeout=1.5,
        retryable_on=(ConnectionError,),
    )
    def add(a: int, b: int) -> int:
        """Ignored: description= wins."""
        return a + b

    entry = registry.resolve(Kind.TOOL, "plus")
    description = entry.description
    assert description.description == "Sum of a and b."
    assert description.tags == frozenset({"math", "cheap"})
    assert description.version == "2.1"
    assert description.idempotent is True
    assert description.timeout == 1.5
    assert entry.retryable_on == (ConnectionError,)
    assert description.to_dict()["tags"] == ["cheap", "math"]
    with pytest.raises(NotFoundError):
        registry.resolve(Kind.TOOL, "add")


def test_tool_defaults_when_no_options_are_given() -> None:
    """An undecorated tool is not idempotent, has no timeout, tags or retryable exceptions."""
    registry = LocalRegistry()

    @registry.tool
    def ping() -> str:
        return "pong"

    entry = registry.resolve(Kind.TOOL, "ping")
    assert entry.description.description == ""
    assert entry.description.tags == frozenset()
    assert entry.description.version == "0"
    assert entry.description.idempotent is False
    assert entry.description.timeout is None
    assert entry.retryable_on == ()


def test_tool_called_with_function_and_options() -> None:
    """registry.tool(function, **options) registers without decorator syntax."""
    registry = LocalRegistry()

    def double(x: int) -> int:
        return 2 * x

    assert registry.tool(double, idempotent=True, tags={"math"}) is double
    assert registry.resolve(Kind.TOOL, "double").description.idempotent is True


async def test_async_tool_is_marked_async_and_runs() -> None:
    """An async function is registered as async and awaited by the router."""
    registry = LocalRegistry()

    @registry.tool(name="shout")
    async def shout(text: str) -> str:
        return text.upper()

    assert registry.resolve(Kind.TOOL, "shout").is_async is True
    response = await default_pipeline(registry).invoke("shout", {"text": "hi"})
    assert response.unwrap() == "HI"


@pytest.mark.parametrize(
    ("timeout", "retryable_on"),
    [(0, ()), (-1.0, ()), (float("nan"), ()), (float("inf"), ()), (None, (ValueError, "x"))],
)
def test_bad_tool_options_are_refused(timeout: float | None, retryable_on: tuple[Any, ...]) -> None:
    """timeout must be finite and positive; retryable_on takes exception classes."""
    registry = LocalRegistry()

    def f() -> None:
        return None

    with pytest.raises(RegistrationError):
        registry.add(f, timeout=timeout, retryable_on=retryable_on)


@pytest.mark.parametrize("tags", ["math", ["math", 3]])
def test_tags_must_be_a_collection_of_strings(tags: Any) -> None:
    """A bare string is refused rather than split into one-letter tags."""
    registry = LocalRegistry()

    def f() -> None:
        return None

    with pytest.raises(RegistrationError, match="tags"):
        registry.add(f, tags=tags)


# -- schemas ---------------------------------------------------------------------------------


def test_args_schema_marks_required_publishes_defaults_and_constraints() -> None:
    """Parameters without defaults are required; defaults and Field constraints are published."""
    registry = LocalRegistry()

    @registry.tool
    def search(
        query: str,
        limit: Annotated[int, pydantic.Field(ge=1, le=20, description="how many")] = 5,
        exact: bool = False,
    ) -> list[str]:
        return []

    schema = registry.resolve(Kind.TOOL, "search").description.args_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["query"]
    assert schema["additionalProperties"] is False
    properties = schema["properties"]
    assert set(properties) == {"query", "limit", "exact"}
    assert properties["query"]["type"] == "string"
    assert "default" not in properties["query"]
    assert properties["limit"]["type"] == "integer"
    assert properties["limit"]["minimum"] == 1
    assert properties["limit"]["maximum"] == 20
    assert properties["limit"]["default"] == 5
    assert properties["limit"]["description"] == "how many"
    assert properties["exact"] == {"type": "boolean", "title": "Exact", "default": False}


def test_result_schema_is_inferred_from_the_return_hint() -> None:
    """The return annotation becomes the result schema; no annotation or None gives {}."""
    registry = LocalRegistry()

    @registry.tool
    def words(text: str) -> list[str]:
        return text.split()

    @registry.tool
    def nothing() -> None:
        return None

    @registry.tool
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    assert registry.resolve(Kind.TOOL, "words").description.result_schema == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert registry.resolve(Kind.TOOL, "nothing").description.result_schema == {}
    assert registry.resolve(Kind.TOOL, "untyped").description.result_schema == {}
    assert registry.resolve(Kind.TOOL, "untyped").description.args_schema["required"] == ["x"]


def test_non_json_default_still_applies_but_is_not_published() -> None:
    """A default msgspec cannot turn into JSON is left out of the schema, not refused."""
    registry = LocalRegistry()
    sentinel = object()

    @registry.tool
    def f(x: Any = sentinel) -> bool:
        return x is sentinel

    properties = registry.resolve(Kind.TOOL, "f").description.args_schema["properties"]
    assert "default" not in properties["x"]
    assert registry.resolve(Kind.TOOL, "f").function() is True


def test_async_generator_is_refused() -> None:
    """Streaming handlers are not supported; registering one says so."""
    registry = LocalRegistry()

    async def stream() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(RegistrationError, match="async generator"):
        registry.tool(stream)


def test_positional_only_parameter_is_refused() -> None:
    """Arguments arrive by name, so a positional-only parameter cannot be filled."""
    registry = LocalRegistry()

    def f(a: int, /, b: int) -> int:
        return a + b

    with pytest.raises(RegistrationError, match="positional-only parameter 'a'"):
        registry.tool(f)


def test_var_positional_parameter_is_refused() -> None:
    """*args cannot be filled by name either; the message names it."""
    registry = LocalRegistry()

    def f(*numbers: int) -> int:
        return sum(numbers)

    with pytest.raises(RegistrationError, match=r"\*numbers"):
        registry.tool(f)


def test_class_registered_as_tool_is_refused() -> None:
    """A class is a plugin, not a tool; the message points to registry.plugin."""
    registry = LocalRegistry()

    class Thing:
        def run(self) -> None:
            return None

    with pytest.raises(RegistrationError, match=r"registry\.plugin"):
        registry.tool(Thing)


def test_unresolvable_annotation_is_refused() -> None:
    """A type hint that cannot be evaluated is reported at registration, not at call time."""
    registry = LocalRegistry()

    def f(x: "NoSuchType") -> None:  # type: ignore[name-defined] # noqa: F821
        return None

    with pytest.raises(RegistrationError, match="type hints"):
        registry.tool(f)


async def test_request_context_parameter_receives_the_request_and_is_not_in_schema() -> None:
    """A parameter annotated RequestContext gets the request; callers cannot set it."""
    registry = LocalRegistry()

    @registry.tool
    async def whoami(ctx: RequestContext, greeting: str) -> str:
        return f"{greeting} {ctx.target} {ctx.id}"

    entry = registry.resolve(Kind.TOOL, "whoami")
    assert entry.context_parameter == "ctx"
    assert set(entry.description.args_schema["properties"]) == {"greeting"}
    assert entry.description.args_schema["required"] == ["greeting"]

    pipeline = default_pipeline(registry)
    request = RequestContext.create("whoami", {"greeting": "hi"}, id="req-1")
    assert (await pipeline(request)).unwrap() == "hi whoami req-1"

    forged = await pipeline.invoke("whoami", {"greeting": "hi", "ctx": "forged"})
    assert forged.error is not None
    assert forged.error.category is ErrorCategory.INVALID_REQUEST


async def test_var_keyword_allows_extra_arguments() -> None:
    """With **kwargs extra arguments are accepted and passed on; declared ones are checked."""
    registry = LocalRegistry()

    @registry.tool
    def echo(a: int, **rest: Any) -> dict[str, Any]:
        return {"a": a, **rest}

    entry = registry.resolve(Kind.TOOL, "echo")
    assert entry.description.args_schema["additionalProperties"] is True
    assert "rest" not in entry.description.args_schema["properties"]
    response = await default_pipeline(registry).invoke("echo", {"a": "1", "b": [2]})
    assert response.unwrap() == {"a": 1, "b": [2]}


async def test_without_var_keyword_extra_arguments_are_refused() -> None:
    """Without **kwargs an unknown argument is an invalid request naming it."""
    registry = LocalRegistry()

    @registry.tool
    def one(a: int) -> int:
        return a

    response = await default_pipeline(registry).invoke("one", {"a": 1, "b": 2})
    assert response.error is not None
    assert [f.field for f in response.error.fields] == ["b"]  # type: ignore[attr-defined]


# -- plugins ---------------------------------------------------------------------------------


class Notes:
    """Keep short notes."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> int:
        """Add a note; returns how many there are."""
        self.items.append(text)
        return len(self.items)

    async def show(self) -> list[str]:
        return list(self.items)

    def _private(self) -> None:
        raise AssertionError("private methods are not actions")


def test_plugin_class_each_public_method_is_an_action() -> None:
    """A class registers one entry per public method; private and dunder methods are excluded."""
    registry = LocalRegistry()
    assert registry.plugin(Notes) is Notes
    listed = {d.qualified_name: d for d in registry.list()}
    assert set(listed) == {"notes.add", "notes.show"}
    add = registry.resolve(Kind.PLUGIN, "notes", "add")
    show = registry.resolve(Kind.PLUGIN, "notes", "show")
    assert add.description.kind is Kind.PLUGIN
    assert add.description.action == "add"
    assert add.is_async is False
    assert show.is_async is True
    assert add.description.description == "Add a note; returns how many there are."
    assert show.description.description == "Keep short notes."  # class docstring stands in
    assert set(add.description.args_schema["properties"]) == {"text"}  # no "self"
    assert add.description.result_schema == {"type": "integer"}


def test_plugin_decorator_with_options() -> None:
    """@registry.plugin(name=..., tags=...) applies the options to every action."""
    registry = LocalRegistry()

    @registry.plugin(name="memo", tags={"notes"}, idempotent=True)
    class Memo:
        def read(self) -> str:
            return ""

        def write(self, text: str) -> None:
            return None

    descriptions = registry.list()
    assert {d.qualified_name for d in descriptions} == {"memo.read", "memo.write"}
    assert all(d.tags == frozenset({"notes"}) and d.idempotent for d in descriptions)


async def test_plugin_instance_registration_uses_that_instance() -> None:
    """Registering an instance calls its methods, so its state is the caller's state."""
    registry = LocalRegistry()
    notes = Notes()
    registry.plugin(notes)
    pipeline = default_pipeline(registry)
    first = await pipeline.invoke("notes", {"text": "a"}, kind=Kind.PLUGIN, action="add")
    second = await pipeline.invoke("notes", {"text": "b"}, kind=Kind.PLUGIN, action="add")
    shown = await pipeline.invoke("notes", kind=Kind.PLUGIN, action="show")
    assert (first.unwrap(), second.unwrap()) == (1, 2)
    assert shown.unwrap() == ["a", "b"]
    assert notes.items == ["a", "b"]


def test_plugin_without_public_methods_is_refused() -> None:
    """A plugin must expose at least one action."""
    registry = LocalRegistry()

    class Empty:
        def _hidden(self) -> None:
            return None

    with pytest.raises(RegistrationError, match="no public methods"):
        registry.plugin(Empty)


def test_plugin_class_that_needs_arguments_is_refused_with_a_hint() -> None:
    """A class that cannot be built with no arguments is refused, suggesting an instance."""
    registry = LocalRegistry()

    class Client:
        def __init__(self, url: str) -> None:
            self.url = url

        def get(self) -> str:
            return self.url

    with pytest.raises(RegistrationError, match=r"register an instance instead"):
        registry.plugin(Client)
    registry.plugin(Client("http://x"))
    assert registry.resolve(Kind.PLUGIN, "client", "get").function() == "http://x"


# -- retrievers ------------------------------------------------------------------------------


class KeywordIndex:
    """Search a fixed list of documents."""

    def retrieve(self, query: str, k: int) -> list[Document]:
        """Documents containing the query."""
        return [Document(id="1", text=f"about {query}", score=1.0)][:k]


class AsyncIndex:
    async def retrieve(self, query: str, k: int) -> list[Document]:
        return [Document(id="a", text=query, score=0.5)]


async def test_retriever_object_with_sync_retrieve() -> None:
    """An object with retrieve(query, k) is a RAG entry named after its class, run in a thread."""
    registry = LocalRegistry()
    registry.retriever(KeywordIndex())
    entry = registry.resolve(Kind.RAG, "keyword_index")
    assert entry.description.kind is Kind.RAG
    assert entry.is_async is False
    assert entry.description.description == "Documents containing the query."
    assert entry.description.args_schema["required"] == ["query"]
    response = await default_pipeline(registry).invoke(
        "keyword_index", {"query": "tea"}, kind=Kind.RAG
    )
    assert response.unwrap() == [Document(id="1", text="about tea", score=1.0)]


async def test_retriever_object_with_async_retrieve() -> None:
    """An async retrieve method makes an async entry; default_k and max_k shape the schema."""
    registry = LocalRegistry()
    registry.retriever(AsyncIndex(), name="docs", default_k=3, max_k=7)
    entry = registry.resolve(Kind.RAG, "docs")
    assert entry.is_async is True
    k = entry.description.args_schema["properties"]["k"]
    assert (k["default"], k["minimum"], k["maximum"]) == (3, 1, 7)
    response = await default_pipeline(registry).invoke("docs", {"query": "q"}, kind=Kind.RAG)
    assert response.unwrap() == [Document(id="a", text="q", score=0.5)]


async def test_retriever_plain_function_and_decorator_form() -> None:
    """A (query, k) function registers under its own name, bare or through the decorator."""
    registry = LocalRegistry()

    @registry.retriever(max_k=10, tags={"faq"})
    def faq(query: str, k: int) -> list[Document]:
        """Frequently asked questions."""
        return [Document(id=str(i), text=query, score=float(i)) for i in range(k)]

    entry = registry.resolve(Kind.RAG, "faq")
    assert entry.description.description == "Frequently asked questions."
    assert entry.description.tags == frozenset({"faq"})
    response = await default_pipeline(registry).invoke("faq", {"query": "x", "k": 2}, kind=Kind.RAG)
    assert [d.id for d in response.unwrap()] == ["1", "0"]


@pytest.mark.parametrize(("default_k", "max_k"), [(0, 5), (6, 5)])
def test_retriever_k_bounds_are_checked_at_registration(default_k: int, max_k: int) -> None:
    """default_k must lie within 1..max_k."""
    registry = LocalRegistry()
    with pytest.raises(RegistrationError, match="default_k"):
        registry.retriever(KeywordIndex(), default_k=default_k, max_k=max_k)


# -- duplicates, removal, revision -----------------------------------------------------------


def test_duplicate_name_is_refused_unless_replace() -> None:
    """A second entry with the same kind and name is refused; replace=True swaps it."""
    registry = LocalRegistry("main")

    def first() -> int:
        return 1

    def second() -> int:
        return 2

    registry.add(first, name="f")
    with pytest.raises(RegistrationError, match=r"'f' is already registered in 'main'"):
        registry.add(second, name="f")
    assert registry.resolve(Kind.TOOL, "f").function() == 1
    registry.add(second, name="f", replace=True)
    assert registry.resolve(Kind.TOOL, "f").function() == 2


def test_second_plugin_with_the_same_name_is_refused_not_merged() -> None:
    """Another class under a taken plugin name is refused even if its actions differ."""
    registry = LocalRegistry()
    registry.plugin(Notes)

    class Other:
        def archive(self) -> None:
            return None

    with pytest.raises(RegistrationError, match="'notes' is already registered"):
        registry.plugin(Other, name="notes")
    assert {d.qualified_name for d in registry.list()} == {"notes.add", "notes.show"}


def test_replacing_a_plugin_drops_its_old_actions() -> None:
    """replace=True swaps the whole plugin: actions the new one lacks are gone."""
    registry = LocalRegistry()
    registry.plugin(Notes)

    class Other:
        def archive(self) -> None:
            return None

    registry.add(Other, kind=Kind.PLUGIN, name="notes", replace=True)
    assert [d.qualified_name for d in registry.list()] == ["notes.archive"]


def test_eager_entry_over_a_lazy_one_needs_replace() -> None:
    """A lazy entry holds its name: add() refuses it unless replace=True, which wins."""
    registry = LocalRegistry()
    registry.add_lazy("toolware_no_such_module_w:dumps")

    def dumps(obj: Any) -> str:
        return "mine"

    with pytest.raises(RegistrationError, match="already registered"):
        registry.tool(dumps)
    registry.add(dumps, replace=True)
    assert registry.resolve(Kind.TOOL, "dumps").function(obj=1) == "mine"
    assert repr(registry) == "LocalRegistry('local', entries=1, lazy=0)"


def test_same_name_may_exist_as_different_kinds() -> None:
    """Names are unique per kind, not across kinds."""
    registry = LocalRegistry()

    def notes(text: str) -> str:
        return text

    registry.tool(notes)
    registry.plugin(Notes)
    assert registry.resolve(Kind.TOOL, "notes").function is notes
    assert registry.resolve(Kind.PLUGIN, "notes", "add").description.action == "add"


def test_remove_drops_a_tool_and_every_action_of_a_plugin() -> None:
    """remove() forgets all entries of that kind and name; unknown names are not found."""
    registry = LocalRegistry()

    @registry.tool
    def keep() -> None:
        return None

    registry.plugin(Notes)
    registry.remove(Kind.PLUGIN, "notes")
    assert [d.qualified_name for d in registry.list()] == ["keep"]
    with pytest.raises(NotFoundError):
        registry.resolve(Kind.PLUGIN, "notes", "add")
    with pytest.raises(NotFoundError):
        registry.remove(Kind.PLUGIN, "notes")


def test_revision_increments_on_every_change() -> None:
    """add, add_lazy and remove each move the revision forward."""
    registry = LocalRegistry()
    revisions = [registry.revision]

    def f() -> None:
        return None

    registry.add(f)
    revisions.append(registry.revision)
    registry.add(f, replace=True)
    revisions.append(registry.revision)
    registry.add_lazy("json:dumps")
    revisions.append(registry.revision)
    registry.remove(Kind.TOOL, "f")
    revisions.append(registry.revision)
    assert revisions == sorted(set(revisions))
    assert len(revisions) == 5


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
    assert [d.name for d in registry.list()] == ["fine"]  # listing still works

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
    assert registry.list() == ()
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


# -- not found -------------------------------------------------------------------------------


def test_not_found_lists_close_matches() -> None:
    """A typo gets 'did you mean' with the close names, and no far ones."""
    registry = LocalRegistry("main")

    @registry.tool
    def search_docs() -> None:
        return None

    @registry.tool
    def translate() -> None:
        return None

    with pytest.raises(NotFoundError) as caught:
        registry.resolve(Kind.TOOL, "search_doc")
    error = caught.value
    assert error.candidates == ("search_docs",)
    assert "did you mean 'search_docs'" in error.hint
    assert "no tool named 'search_doc' in registry 'main'" in error.message


def test_not_found_says_when_the_name_exists_as_another_kind() -> None:
    """Calling a tool as a RAG entry points at the right kind."""
    registry = LocalRegistry()

    @registry.tool
    def docs(query: str) -> str:
        return query

    with pytest.raises(NotFoundError) as caught:
        registry.resolve(Kind.RAG, "docs")
    assert "exists as kind 'tool'" in caught.value.hint


def test_not_found_for_a_plugin_lists_its_actions() -> None:
    """A plugin called without an action, or with a wrong one, lists the actions it has."""
    registry = LocalRegistry()
    registry.plugin(Notes)
    with pytest.raises(NotFoundError) as no_action:
        registry.resolve(Kind.PLUGIN, "notes")
    assert "needs an action; it has: add, show" in no_action.value.message
    assert no_action.value.candidates == ("add", "show")

    with pytest.raises(NotFoundError) as wrong_action:
        registry.resolve(Kind.PLUGIN, "notes", "ad")
    assert "has no action 'ad'; it has: add, show" in wrong_action.value.message
    assert wrong_action.value.candidates == ("add",)


def test_not_found_for_an_action_on_a_tool() -> None:
    """A tool called with an action says tools have none."""
    registry = LocalRegistry()

    @registry.tool
    def ping() -> str:
        return "pong"

    with pytest.raises(NotFoundError, match="has no actions"):
        registry.resolve(Kind.TOOL, "ping", "now")


def test_repr_counts_entries() -> None:
    """repr shows the name, entries and lazy entries."""
    registry = LocalRegistry("r")
    registry.add_lazy("json:dumps")
    assert repr(registry) == "LocalRegistry('r', entries=0, lazy=1)"


def test_not_found_suggests_a_name_the_request_is_a_prefix_of() -> None:
    """An agent shortening 'calculator' to 'calc' is pointed at the real name."""
    registry = LocalRegistry()
    registry.add(lambda expression: expression, name="calculator")
    with pytest.raises(UnknownEntryError) as caught:
        registry.resolve(Kind.TOOL, "calc")
    assert caught.value.candidates == ("calculator",)


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="pydantic accepts typing.TypedDict on 3.12+"
)
def test_result_type_pydantic_cannot_use_is_refused_with_its_fix() -> None:
    """A typing.TypedDict result (unsupported before 3.12) is a RegistrationError, not a crash."""
    import typing

    class Row(typing.TypedDict):
        id: int

    def rows() -> list[Row]:
        return []

    with pytest.raises(RegistrationError, match="cannot build a result schema for 'rows'"):
        LocalRegistry().add(rows)


async def test_callable_objects_and_partials_are_tools() -> None:
    """An object with async or sync __call__ and a functools.partial register and run."""
    import functools

    class Search:
        """Search the catalogue."""

        async def __call__(self, query: str) -> str:
            return query.upper()

    class Double:
        def __call__(self, n: int) -> int:
            return n * 2

    async def suffixed(query: str, suffix: str) -> str:
        """Append a suffix."""
        return query + suffix

    registry = LocalRegistry()
    registry.add(Search(), name="search")
    registry.add(Double())
    registry.add(functools.partial(suffixed, suffix="!"), name="bang")
    search = registry.resolve(Kind.TOOL, "search")
    assert search.is_async
    assert search.description.description == "Search the catalogue."
    assert search.description.args_schema["required"] == ["query"]
    assert not registry.resolve(Kind.TOOL, "double").is_async
    bang = registry.resolve(Kind.TOOL, "bang").description
    assert bang.description == "Append a suffix."
    assert bang.args_schema["properties"]["suffix"]["default"] == "!"
    pipeline = default_pipeline(registry)
    assert (await pipeline.invoke("search", {"query": "tea"})).unwrap() == "TEA"
    assert (await pipeline.invoke("double", {"n": "4"})).unwrap() == 8
    assert (await pipeline.invoke("bang", {"query": "hi"})).unwrap() == "hi!"

"""Tests for toolware.registry.local: lazy entries listed without importing, failed imports
remembered and kept out of errors, and lazy entries resolved from many threads."""

import builtins
import logging
import random
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from toolware import Kind, LocalRegistry, UnavailableError, UnknownEntryError
from toolware.registry import HealthStatus
from toolware.testing import FakeClock

ModuleWriter = Callable[[str], str]

COUNTED = """
import builtins
builtins.__dict__.setdefault("toolware_test_imports", {{}})
builtins.toolware_test_imports[__name__] = builtins.toolware_test_imports.get(__name__, 0) + 1
{body}
"""


def imports_of(module: str) -> int:
    """How many times ``module`` was executed (kept outside the module, which may fail)."""
    counts: dict[str, int] = builtins.__dict__.get("toolware_test_imports", {})
    return counts.get(module, 0)


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleWriter]:
    """Writes a module with the given body on sys.path; returns its name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def write(body: str) -> str:
        name = f"lazy_{uuid.uuid4().hex[:12]}"
        (tmp_path / f"{name}.py").write_text(COUNTED.format(body=textwrap.dedent(body)))
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)


GOOD = '''
def translate(text: str) -> str:
    """Translate text (pretend)."""
    return text.upper()


def search(query: str, k: int) -> list:
    return []
'''


def test_list_describes_lazy_entries_without_importing(write_module: ModuleWriter) -> None:
    """list() gives name, kind and registration options, loaded=False, and imports nothing."""
    module = write_module(GOOD)
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:translate", tags={"text"}, idempotent=True, timeout=2.0)
    (description,) = registry.list()
    assert imports_of(module) == 0
    assert (description.name, description.kind, description.loaded) == (
        "translate",
        Kind.TOOL,
        False,
    )
    assert (description.tags, description.idempotent, description.timeout) == (
        frozenset({"text"}),
        True,
        2.0,
    )
    assert description.args_schema == {}

    registry.resolve(Kind.TOOL, "translate")
    (loaded,) = registry.list()
    assert loaded.loaded is True
    assert loaded.description == "Translate text (pretend)."
    assert "text" in loaded.args_schema["properties"]


def test_a_failed_import_does_not_hide_later_lazy_entries(write_module: ModuleWriter) -> None:
    """Every lazy entry is listed, in registration order, whatever an earlier one did."""
    good = write_module(GOOD)
    registry = LocalRegistry()
    registry.add_lazy("toolware_no_such_module_y:thing")
    registry.add_lazy(f"{good}:translate")
    registry.add_lazy(f"{good}:search", kind=Kind.RAG)
    with pytest.raises(UnavailableError):
        registry.resolve(Kind.TOOL, "thing")
    assert [d.name for d in registry.list()] == ["thing", "translate", "search"]


def test_lazy_retriever_keeps_default_k_and_max_k(write_module: ModuleWriter) -> None:
    """A lazy retriever is registered with the k bounds given to add_lazy."""
    module = write_module(GOOD)
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:search", kind=Kind.RAG, default_k=3, max_k=7)
    entry = registry.resolve(Kind.RAG, "search")
    k = entry.description.args_schema["properties"]["k"]
    assert (k["default"], k["maximum"]) == (3, 7)


def test_lazy_retriever_bounds_are_checked_at_registration() -> None:
    """default_k > max_k is refused by add_lazy, not at the first call."""
    with pytest.raises(ValueError, match="default_k <= max_k"):
        LocalRegistry().add_lazy("json:dumps", kind=Kind.RAG, default_k=9, max_k=3)


SECRET = 'raise RuntimeError("cannot connect to postgres://app:hunter2@db/prod")\n'


def test_failed_import_is_remembered_and_retried_after_the_interval(
    write_module: ModuleWriter,
) -> None:
    """A failing module runs once per retry interval on the injected clock, not per call."""
    module = write_module(SECRET)
    clock = FakeClock()
    registry = LocalRegistry(clock=clock, import_retry=30)
    registry.add_lazy(f"{module}:thing")
    assert registry.is_pending(Kind.TOOL, "thing") is True
    for _ in range(5):
        with pytest.raises(UnavailableError):
            registry.resolve(Kind.TOOL, "thing")
    assert imports_of(module) == 1
    assert registry.is_pending(Kind.TOOL, "thing") is False

    clock.advance_now(29.9)
    with pytest.raises(UnavailableError, match=r"next attempt in 0\.1 s"):
        registry.resolve(Kind.TOOL, "thing")
    assert imports_of(module) == 1
    clock.advance_now(0.1)
    assert registry.is_pending(Kind.TOOL, "thing") is True
    with pytest.raises(UnavailableError):
        registry.resolve(Kind.TOOL, "thing")
    assert imports_of(module) == 2


def test_retry_imports_and_reload_try_again_at_once(write_module: ModuleWriter) -> None:
    """retry_imports() lifts the wait for every failure; reload() imports right away."""
    module = write_module(SECRET)
    registry = LocalRegistry(clock=FakeClock())
    registry.add_lazy(f"{module}:thing")
    with pytest.raises(UnavailableError):
        registry.resolve(Kind.TOOL, "thing")
    assert registry.retry_imports() == 1
    assert registry.is_pending(Kind.TOOL, "thing") is True
    with pytest.raises(UnavailableError):
        registry.reload(Kind.TOOL, "thing")
    assert imports_of(module) == 2

    # Fixed on disk: reload() picks it up while the failure would still wait.
    sys.modules.pop(module, None)
    (Path(sys.path[0]) / f"{module}.py").write_text("def thing() -> int:\n    return 1\n")
    registry.reload(Kind.TOOL, "thing")
    assert registry.resolve(Kind.TOOL, "thing").function() == 1
    registry.reload(Kind.TOOL, "thing")  # loaded: nothing to do
    with pytest.raises(UnknownEntryError):
        registry.reload(Kind.TOOL, "nothing")


async def test_import_error_text_goes_to_the_log_only(
    write_module: ModuleWriter, caplog: pytest.LogCaptureFixture
) -> None:
    """The exception text (a password here) is logged, never in the error or health."""
    module = write_module(SECRET)
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:thing")
    with (
        caplog.at_level(logging.WARNING, logger="toolware.registry"),
        pytest.raises(UnavailableError) as caught,
    ):
        registry.resolve(Kind.TOOL, "thing")
    error = caught.value
    assert f"could not be imported from '{module}:thing' (RuntimeError)" in error.message
    assert "see the 'registry.import_failed' log record" in error.message
    assert "hunter2" not in str(error.to_dict())
    assert "hunter2" not in str((await registry.health()).problems)

    (record,) = caplog.records
    assert record.getMessage() == (
        f"registry.import_failed kind=tool name=thing path={module}:thing error=RuntimeError"
    )
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])
    assert (record.kind, record.target, record.path, record.error) == (  # type: ignore[attr-defined]
        "tool",
        "thing",
        f"{module}:thing",
        "RuntimeError",
    )


@pytest.mark.parametrize(
    "body",
    [
        "import sys\nsys.exit(3)\n",
        "raise KeyboardInterrupt\n",
        "raise GeneratorExit\n",
        "class Odd(BaseException):\n    pass\nraise Odd()\n",
    ],
)
async def test_base_exceptions_at_import_become_unavailable(
    write_module: ModuleWriter, body: str
) -> None:
    """sys.exit(), KeyboardInterrupt and other BaseExceptions at import never escape."""
    module = write_module(body)
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:thing")
    with pytest.raises(UnavailableError) as caught:
        registry.resolve(Kind.TOOL, "thing")
    assert isinstance(caught.value.__cause__, BaseException)
    assert not isinstance(caught.value.__cause__, Exception)
    health = await registry.health()
    assert health.status is HealthStatus.DEGRADED
    assert type(caught.value.__cause__).__name__ in health.problems["tool:thing"]


def test_is_pending_only_for_lazy_entries_not_loaded(write_module: ModuleWriter) -> None:
    """is_pending: True for an unloaded lazy entry; False once loaded, for eager and unknown."""
    module = write_module(GOOD)
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:translate")
    registry.tool(lambda: 1, name="one")
    assert registry.is_pending(Kind.TOOL, "translate") is True
    assert registry.is_pending(Kind.RAG, "translate") is False
    assert registry.is_pending(Kind.TOOL, "one") is False
    assert registry.is_pending(Kind.TOOL, "nothing") is False
    registry.resolve(Kind.TOOL, "translate")
    assert registry.is_pending(Kind.TOOL, "translate") is False


@pytest.mark.parametrize("bad", [-1, float("nan"), True, "30"])
def test_import_retry_must_be_a_number_of_seconds(bad: object) -> None:
    """import_retry= is validated at construction."""
    with pytest.raises(ValueError, match="import_retry must be"):
        LocalRegistry(import_retry=bad)  # type: ignore[arg-type]


def test_threads_never_see_a_lazy_entry_missing_while_it_loads() -> None:
    """8 threads resolving 1,000 lazy entries each, in different orders: no not_found."""
    registry = LocalRegistry()
    names = [f"dumps_{i}" for i in range(1_000)]
    for name in names:
        registry.add_lazy("json:dumps", name=name)
    start = threading.Barrier(8)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: widen any gap

    def resolve_all(seed: int) -> int:
        order = random.Random(seed).sample(names, len(names))
        start.wait(timeout=10)
        missed = 0
        for name in order:
            try:
                registry.resolve(Kind.TOOL, name)
            except UnknownEntryError:
                missed += 1
        return missed

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            missed = sum(pool.map(resolve_all, range(8)))
    finally:
        sys.setswitchinterval(interval)
    assert missed == 0
    assert all(d.loaded for d in registry.list())


def test_every_step_of_a_lazy_load_leaves_the_entry_findable() -> None:
    """At each change a load makes, a lock-free reader finds the entry or its lazy record.

    The threaded test above can only make a gap likely; this one checks each state a reader
    could see, deterministically.
    """
    registry = LocalRegistry()
    registry.add_lazy("json:dumps")
    seen: list[bool] = []

    def findable() -> bool:
        lazy = type(registry._slots.get((Kind.TOOL, "dumps"))).__name__ == "LazyRecord"
        return lazy or (Kind.TOOL, "dumps", None) in registry._entries

    class Watched(dict):  # type: ignore[type-arg]
        def __setitem__(self, key: object, value: object) -> None:
            super().__setitem__(key, value)
            seen.append(findable())

        def __delitem__(self, key: object) -> None:
            super().__delitem__(key)
            seen.append(findable())

        def pop(self, *args: object) -> object:
            value = super().pop(*args)
            seen.append(findable())
            return value

    registry._slots = Watched(registry._slots)  # type: ignore[assignment]
    registry._entries = Watched(registry._entries)  # type: ignore[assignment]
    registry.resolve(Kind.TOOL, "dumps")
    assert seen
    assert all(seen)


def test_a_stuck_import_holds_up_only_its_own_entry(write_module: ModuleWriter) -> None:
    """While one thread is stuck importing, list() answers and other lazy entries load."""
    gate = threading.Event()
    started = threading.Event()
    builtins.toolware_test_gate = (started, gate)  # type: ignore[attr-defined]
    module = write_module(
        "import builtins\n"
        "started, gate = builtins.toolware_test_gate\n"
        "started.set()\n"
        "gate.wait(5)\n"
        "def slow() -> int:\n"
        "    return 1\n"
    )
    other = write_module(GOOD)
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:slow")
    registry.tool(lambda: 2, name="quick")
    registry.add_lazy(f"{other}:translate")
    importer = threading.Thread(target=registry.resolve, args=(Kind.TOOL, "slow"))
    importer.start()
    try:
        assert started.wait(5)
        listing = [(d.name, d.loaded) for d in registry.list()]
        translated = registry.resolve(Kind.TOOL, "translate").function(text="a")
        # Neither list() nor another lazy entry's import waited for the stuck one.
        assert importer.is_alive()
        assert listing == [("slow", False), ("quick", True), ("translate", False)]
        assert translated == "A"
    finally:
        gate.set()
        importer.join(5)
        del builtins.toolware_test_gate  # type: ignore[attr-defined]
    assert registry.resolve(Kind.TOOL, "slow").function() == 1


@pytest.mark.parametrize("ending", ["def slow() -> int:\n    return 1\n", "raise OSError\n"])
async def test_an_entry_removed_while_importing_stays_removed(
    write_module: ModuleWriter, ending: str
) -> None:
    """A load or failure that finishes after remove() does not bring the entry back."""
    gate = threading.Event()
    started = threading.Event()
    builtins.toolware_test_gate = (started, gate)  # type: ignore[attr-defined]
    module = write_module(
        "import builtins\n"
        "started, gate = builtins.toolware_test_gate\n"
        "started.set()\n"
        "gate.wait(5)\n" + ending
    )
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:slow")
    outcome: list[BaseException] = []

    def resolve() -> None:
        try:
            registry.resolve(Kind.TOOL, "slow")
        except (UnknownEntryError, UnavailableError) as exc:
            outcome.append(exc)

    importer = threading.Thread(target=resolve)
    importer.start()
    try:
        assert started.wait(5)
        registry.remove(Kind.TOOL, "slow")
    finally:
        gate.set()
        importer.join(5)
        del builtins.toolware_test_gate  # type: ignore[attr-defined]
    assert len(outcome) == 1
    assert registry.list() == ()
    health = await registry.health()
    assert (health.status, health.problems) == (HealthStatus.OK, {})


BROKEN = """
raise RuntimeError("password=hunter2")
"""


def test_a_failed_import_is_retried_after_30_seconds_by_default(
    write_module: ModuleWriter, caplog: pytest.LogCaptureFixture
) -> None:
    """The error names the entry; the log record names kind, entry, path and type; the import
    runs again only once the default 30 s have passed."""
    module = write_module(BROKEN)
    clock = FakeClock()
    registry = LocalRegistry(clock=clock)
    registry.add_lazy(f"{module}:translate")
    with (
        caplog.at_level(logging.WARNING, logger="toolware.registry"),
        pytest.raises(UnavailableError, match="'translate'"),
    ):
        registry.resolve(Kind.TOOL, "translate")
    (record,) = caplog.records
    assert record.getMessage() == (
        f"registry.import_failed kind=tool name=translate path={module}:translate "
        "error=RuntimeError"
    )
    assert record.exc_info is not None
    clock.advance_now(29.9)
    with pytest.raises(UnavailableError, match="'translate'"):
        registry.resolve(Kind.TOOL, "translate")
    assert imports_of(module) == 1
    clock.advance_now(0.1)
    with pytest.raises(UnavailableError):
        registry.resolve(Kind.TOOL, "translate")
    assert imports_of(module) == 2


def test_import_retry_accepts_zero_and_fractions() -> None:
    """import_retry=0 (retry on every call) and 0.5 are valid."""
    assert LocalRegistry(import_retry=0).resolve is not None
    assert LocalRegistry(import_retry=0.5).resolve is not None


def test_a_lazy_entry_keeps_its_registered_name_and_reloads_by_it(
    write_module: ModuleWriter,
) -> None:
    """add_lazy(..., name='tr') resolves to an entry named 'tr'; reload() finds it by that name;
    a successful reload clears the remembered failure from health()."""
    module = write_module(GOOD)
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:translate", name="tr")
    entry = registry.resolve(Kind.TOOL, "tr")
    assert entry.description.name == "tr"
    registry.reload(Kind.TOOL, "tr")
    assert registry.resolve(Kind.TOOL, "tr").function("a") == "A"


async def test_a_reload_that_succeeds_forgets_the_failure(write_module: ModuleWriter) -> None:
    """After a failed import, a module fixed and reloaded is healthy again."""
    module = write_module(BROKEN)
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:translate")
    with pytest.raises(UnavailableError):
        registry.resolve(Kind.TOOL, "translate")
    assert (await registry.health()).status is not HealthStatus.OK
    sys.modules.pop(module, None)
    for entry in sys.path:
        candidate = Path(entry) / f"{module}.py"
        if candidate.exists():
            candidate.write_text(COUNTED.format(body=textwrap.dedent(GOOD)))
            break
    registry.reload(Kind.TOOL, "translate")
    assert (await registry.health()).status is HealthStatus.OK


def test_a_lazy_retriever_gets_the_default_k_bounds_and_accepts_the_edges(
    write_module: ModuleWriter,
) -> None:
    """Lazy retrievers: k defaults to 5, at most 50; default_k=1 and default_k=max_k are valid;
    the name of a dotted attribute is its last part."""
    module = write_module(GOOD + "\nclass Holder:\n    search = staticmethod(search)\n")
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:search", kind=Kind.RAG)
    registry.add_lazy(f"{module}:search", kind=Kind.RAG, name="one", default_k=1)
    registry.add_lazy(f"{module}:search", kind=Kind.RAG, name="top", default_k=7, max_k=7)
    registry.add_lazy(f"{module}:Holder.search", kind=Kind.RAG, name="held")
    k = registry.resolve(Kind.RAG, "search").description.args_schema["properties"]["k"]
    assert (k["default"], k["maximum"]) == (5, 50)
    assert "search" in {d.name for d in registry.list()}
    registry.add_lazy(f"{module}:Holder.search", kind=Kind.RAG, replace=True)
    assert [d.name for d in registry.list() if d.name == "search"] == ["search"]


def test_a_lazy_entry_is_named_by_its_path_not_by_the_objects_own_name(
    write_module: ModuleWriter,
) -> None:
    """'mod:alias' (alias = translate) is the tool 'alias' once loaded; a camelCase function
    name is kept as written (only class names become snake case)."""
    module = write_module(GOOD + "\nalias = translate\n")
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:alias")
    registry.add_lazy(f"{module}:fetchUrl")
    assert {d.name for d in registry.list()} == {"alias", "fetchUrl"}
    assert registry.resolve(Kind.TOOL, "alias").description.name == "alias"


def test_an_object_that_cannot_be_an_entry_is_logged_like_a_failed_import(
    write_module: ModuleWriter, caplog: pytest.LogCaptureFixture
) -> None:
    """The module imports but its attribute is not callable: unavailable, and a
    'registry.import_failed' record naming kind, entry, path and error type."""
    module = write_module("CONSTANT = 3\n")
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:CONSTANT", name="constant")
    with (
        caplog.at_level(logging.WARNING, logger="toolware.registry"),
        pytest.raises(UnavailableError),
    ):
        registry.resolve(Kind.TOOL, "constant")
    (record,) = caplog.records
    assert record.getMessage().startswith(
        f"registry.import_failed kind=tool name=constant path={module}:CONSTANT error="
    )
    assert record.exc_info is not None


async def test_retry_imports_keeps_the_failures_in_health_until_an_import_succeeds(
    write_module: ModuleWriter,
) -> None:
    """After retry_imports() the failure is still reported, and the next resolve imports
    again at once."""
    module = write_module(BROKEN)
    clock = FakeClock()
    registry = LocalRegistry(clock=clock)
    registry.add_lazy(f"{module}:translate")
    with pytest.raises(UnavailableError):
        registry.resolve(Kind.TOOL, "translate")
    assert registry.retry_imports() == 1
    assert "translate" in str((await registry.health()).problems)
    assert registry.is_pending(Kind.TOOL, "translate")
    with pytest.raises(UnavailableError):
        registry.resolve(Kind.TOOL, "translate")
    assert imports_of(module) == 2

"""V1 handler classes get a native plugin registration, opt-in per class."""

from __future__ import annotations

import textwrap

import pytest

from toolware import Kind, default_pipeline
from toolware.migrate import MigrateOptions, handlers, migrate_source

HANDLER = '''\
"""Handlers."""

import math


class Notes:
    """Keeps notes."""

    def __init__(self, prefix="- "):
        self.identifier = "notes"
        self.description = "Keeps notes"
        self.prefix = prefix
        self.notes = []

    def run(self, payload):
        method = payload["method"]
        if method == "add":
            return self.add(**payload["params"])
        if method == "count":
            return self.count(**payload["params"])
        raise ValueError(method)

    def add(self, text):
        self.notes.append(self.prefix + text)
        return len(self.notes)

    def count(self):
        return len(self.notes)

    def helper(self):
        return math.pi
'''


def _migrate(source: str, **options: object) -> tuple[str, list[str]]:
    outcome = migrate_source(textwrap.dedent(source), "h.py", MigrateOptions(**options))  # type: ignore[arg-type]
    return outcome.after, [f"{f.line}: {f.message} | {f.suggestion}" for f in outcome.findings]


def test_nothing_changes_unless_the_class_is_chosen() -> None:
    """The handler rewrite is opt-in."""
    assert _migrate(HANDLER) == (HANDLER, [])
    assert _migrate(HANDLER, native=frozenset({"Other"})) == (HANDLER, [])


def test_an_if_dispatch_gives_exactly_its_actions() -> None:
    """``include`` lists the dispatched methods: helper() stays out; the registry is created."""
    after, findings = _migrate(HANDLER, native=frozenset({"Notes"}))
    assert findings == []
    assert after.startswith(
        '"""Handlers."""\n\nimport math\nfrom toolware import LocalRegistry\n\n'
        "native_registry = LocalRegistry()  # native plugin registrations (toolware migrate)\n"
        "\n\n"
        '@native_registry.plugin(name="notes", include=["add", "count"], '
        'description="Keeps notes")\nclass Notes:\n'
    )
    assert after.endswith(HANDLER.split("class Notes:\n", 1)[1])


async def test_the_registration_runs_and_answers_as_the_v1_run_did() -> None:
    """The rewritten module registers a working plugin; V1's run() still works too."""
    after, _ = _migrate(HANDLER, native_all=True)
    namespace: dict[str, object] = {}
    exec(compile(after, "h.py", "exec"), namespace)
    registry = namespace["native_registry"]
    async with default_pipeline(registry) as pipeline:  # type: ignore[arg-type]
        added = await pipeline.invoke("notes.add", {"text": "tea"})
        counted = await pipeline.invoke("notes", {}, action="count", kind=Kind.PLUGIN)
        missing = await pipeline.invoke("notes.helper", {})
    assert (added.unwrap(), counted.unwrap()) == (1, 1)
    assert missing.error is not None
    assert missing.error.category == "not_found"
    v1 = namespace["Notes"]()  # type: ignore[operator]
    assert v1.run({"method": "add", "params": {"text": "x"}}) == 1


def test_a_getattr_dispatch_excludes_run_and_a_class_identifier_is_read() -> None:
    """``getattr(self, method)(**params)``: every public method but run is an action."""
    source = """\
    from toolware import LocalRegistry

    tools = LocalRegistry()


    class Clock:
        identifier = "clock"

        def run(self, payload):
            return getattr(self, payload["method"])(**payload["params"])

        def now(self):
            return 12
    """
    after, findings = _migrate(source, native_all=True, registry_name="tools")
    assert findings == []
    assert after == textwrap.dedent(source).replace(
        "class Clock:", '@tools.plugin(name="clock", exclude=["run"])\nclass Clock:'
    )


def test_a_long_registration_is_wrapped_one_argument_a_line() -> None:
    """Past 100 characters the decorator takes one argument a line, as a formatter would."""
    source = HANDLER.replace(
        '"Keeps notes"', '"Keeps the notes of the whole conversation, in order"'
    )
    after, _ = _migrate(source, native_all=True)
    assert (
        "@native_registry.plugin(\n"
        '    name="notes",\n'
        '    include=["add", "count"],\n'
        '    description="Keeps the notes of the whole conversation, in order",\n'
        ")\nclass Notes:\n"
    ) in after


def test_a_second_run_changes_nothing() -> None:
    """Idempotent: the registration is recognised and not added twice."""
    once, _ = _migrate(HANDLER, native_all=True)
    assert _migrate(once, native_all=True) == (once, [])


@pytest.mark.parametrize(
    ("change", "message", "suggestion"),
    [
        (
            ('self.identifier = "notes"', "self.identifier = name"),
            "its identifier is not a string literal, so the plugin name is unknown",
            '@native_registry.plugin(name="<identifier>", include=["add", "count"], '
            'description="Keeps notes")',
        ),
        (
            ('self.identifier = "notes"', 'self.identifier = "my notes"'),
            "its identifier cannot be a native name: plugin name 'my notes'",
            '@native_registry.plugin(name="my notes", include=["add", "count"], '
            'description="Keeps notes")',
        ),
        (
            ('prefix="- "', "prefix"),
            "its constructor needs arguments",
            'after the class: native_registry.plugin(Notes(...), name="notes", '
            'include=["add", "count"], description="Keeps notes")',
        ),
        (
            ('if method == "count":', 'if method == "total":'),
            "run() does not dispatch in a form the tool recognises",
            '@native_registry.plugin(name="notes", include=["<method>"], '
            'description="Keeps notes")',
        ),
        (
            ('(**payload["params"])', '(payload["params"])'),
            "run() does not dispatch in a form the tool recognises",
            '@native_registry.plugin(name="notes", include=["<method>"], '
            'description="Keeps notes")',
        ),
        (
            ("def count(self):", "def total(self):"),
            "run() dispatches to count, not defined in the class itself",
            '@native_registry.plugin(name="notes", include=["add", "count"], '
            'description="Keeps notes")',
        ),
    ],
    ids=[
        "identifier-not-literal",
        "bad-name",
        "constructor-args",
        "renamed",
        "no-dispatch",
        "missing-method",
    ],
)
def test_what_cannot_be_registered_is_reported_at_the_class(
    change: tuple[str, str], message: str, suggestion: str
) -> None:
    """The class line, why, and the registration to write by hand; the class is left alone."""
    source = HANDLER.replace(*change)
    after, findings = _migrate(source, native_all=True)
    assert after == source
    assert len(findings) == 1
    assert findings[0].startswith(f"6: class Notes: {message}")
    assert findings[0].endswith(f" | {suggestion}")


def test_a_registry_name_bound_to_something_else_is_refused() -> None:
    """The chosen name is taken by an import: report instead of shadowing it."""
    source = "from app import native_registry\n\n\n" + HANDLER.split("import math\n\n\n")[1]
    after, findings = _migrate(source, native_all=True)
    assert after == source
    assert findings == [
        "4: class Notes: the module already binds 'native_registry' to something other than a "
        "LocalRegistry | choose another name with --registry-name"
    ]


def test_an_existing_local_registry_is_reused() -> None:
    """A module that already has the registry gets no second one."""
    source = "from toolware import LocalRegistry\n\nnative_registry = LocalRegistry()\n\n\n"
    source += HANDLER.split("import math\n\n\n")[1]
    after, _ = _migrate(source, native_all=True)
    assert after.count("LocalRegistry()") == 1
    assert after.count("@native_registry.plugin(") == 1


def test_nested_classes_and_classes_without_identifier() -> None:
    """A nested handler cannot be registered at module level; a run() alone is not a handler."""
    source = """\
    class Outer:
        class Inner:
            identifier = "inner"

            def run(self, payload):
                return getattr(self, payload["method"])(**payload["params"])


    class Runner:
        def run(self, payload):
            return payload
    """
    after, findings = _migrate(source, native_all=True)
    assert after == textwrap.dedent(source)
    assert findings == [
        "2: class Inner: a nested class cannot be registered at module level | "
        "native_registry.plugin(Inner, ...) where the class is reachable"
    ]


def test_a_module_without_imports_gets_the_registry_above_the_class() -> None:
    """The import, the registry, then two blank lines before what followed."""
    source = HANDLER.split("import math\n\n\n")[1].replace("math.pi", "3.14")
    after, findings = _migrate(source, native_all=True)
    assert findings == []
    assert after.startswith(
        "from toolware import LocalRegistry\n\n"
        "native_registry = LocalRegistry()  # native plugin registrations (toolware migrate)\n"
        '\n\n@native_registry.plugin(name="notes", '
    )
    namespace: dict[str, object] = {}
    exec(compile(after, "h.py", "exec"), namespace)
    assert [d.qualified_name for d in namespace["native_registry"].list()] == [  # type: ignore[attr-defined]
        "notes.add",
        "notes.count",
    ]


@pytest.mark.parametrize(
    ("prelude", "refused"),
    [
        (
            "import typing\nif typing.TYPE_CHECKING:\n    from app import native_registry\n",
            True,
        ),
        ("try:\n    import json\nexcept ImportError:\n    native_registry = None\n", True),
        (
            "if False:\n    pass\nelif True:\n    pass\nelse:\n    import native_registry.sub\n",
            True,
        ),
        ("def native_registry():\n    pass\n", True),
        ("def helper():\n    native_registry = 1\n    return native_registry\n", False),
        ("with open('x') as f:\n    native_registry = f\n", True),
        ("with open('x') as native_registry:\n    pass\n", True),
        ("for native_registry in ():\n    pass\n", True),
        ("for i in ():\n    pass\nelse:\n    native_registry = 1\n", True),
        ("while False:\n    native_registry = 1\n", True),
        ("try:\n    pass\nfinally:\n    native_registry = 1\n", True),
    ],
    ids=[
        "type-checking-import",
        "except-assignment",
        "else-import",
        "function",
        "local-only",
        "with-body",
        "with-as",
        "for-target",
        "for-else",
        "while-body",
        "finally",
    ],
)
def test_module_level_bindings_of_the_registry_name_are_found(prelude: str, refused: bool) -> None:
    """Conditional blocks bind at module level; a function's own local does not."""
    source = prelude + "\n\n" + HANDLER.split("import math\n\n\n")[1]
    after, findings = _migrate(source, native_all=True)
    assert (after == source) is refused
    assert len(findings) == int(refused)


def test_annotated_and_chained_class_attributes_are_read() -> None:
    """``identifier: str = "notes"`` and ``description = brief = "..."`` set the attribute as
    a plain assignment does: the class is a handler, its description is kept."""
    source = """\
    class Notes:
        identifier: str = "notes"
        description: str  # declared only: the chained assignment below sets it
        description = brief = "Keeps notes"

        def run(self, payload):
            return getattr(self, payload["method"])(**payload["params"])

        def add(self, text):
            return text
    """
    after, findings = _migrate(source, native=frozenset({"Notes"}))
    assert findings == []
    assert (
        '@native_registry.plugin(name="notes", exclude=["run"], description="Keeps notes")\n'
        "class Notes:\n" in after
    )


def test_a_class_defined_in_a_function_is_reported_not_registered() -> None:
    """Decorated inside make(), the class would be registered again at each call, and the
    second call fails with RegistrationError: it is reported like a nested class."""
    source = """\
    def make():
        class Handler:
            identifier = "h"

            def run(self, payload):
                return getattr(self, payload["method"])(**payload["params"])

        return Handler
    """
    after, findings = _migrate(source, native_all=True)
    assert after == textwrap.dedent(source)
    assert findings == [
        "2: class Handler: a nested class cannot be registered at module level | "
        "native_registry.plugin(Handler, ...) where the class is reachable"
    ]


def test_a_getattr_dispatch_behind_a_check_is_reported_not_opened_to_every_method() -> None:
    """V1's run() refused every method but read and listing; ``exclude=["run"]`` would make
    delete_all a native action. Control flow around the getattr dispatch is reported, with
    ``include=`` to fill in."""
    source = """\
    class Files:
        identifier = "files"

        def run(self, payload):
            method = payload["method"]
            if method not in ("read", "listing"):
                raise ValueError(f"unsupported method {method}")
            return getattr(self, method)(**payload["params"])

        def read(self, path):
            return path

        def delete_all(self):
            return "deleted everything"
    """
    after, findings = _migrate(source, native_all=True)
    assert after == textwrap.dedent(source)
    assert findings == [
        "1: class Files: run() checks or transforms the call around its getattr dispatch, so "
        "not every public method was an action | "
        '@native_registry.plugin(name="files", include=["<method>", ...])'
    ]


CLOCK = """\
class Clock:
    identifier = "clock"

    def run(self, payload):
        return getattr(self, payload["method"])(**payload["params"])

    def now(self):
        return 12
"""


def test_a_bytes_identifier_is_not_a_plugin_name() -> None:
    """``identifier = b"clock"`` is not a string: reported, not registered as ``b'clock'``."""
    source = CLOCK.replace('"clock"', 'b"clock"')
    after, findings = _migrate(source, native_all=True)
    assert after == source
    assert findings == [
        "1: class Clock: its identifier is not a string literal, so the plugin name is unknown | "
        '@native_registry.plugin(name="<identifier>", exclude=["run"])'
    ]


def test_the_last_identifier_assignment_wins() -> None:
    """The class attribute, then each ``self.identifier = ...`` in ``__init__``: the last one."""
    source = CLOCK.replace(
        "    def run(",
        '    def __init__(self):\n        self.identifier = "first"\n'
        '        self.identifier = "last"\n\n    def run(',
    )
    after, findings = _migrate(source, native_all=True)
    assert findings == []
    assert '@native_registry.plugin(name="last", exclude=["run"])\nclass Clock:' in after


@pytest.mark.parametrize(
    ("init", "needs_arguments"),
    [
        ("def __init__(self, *, size=3):", False),
        ("def __init__(self, *, size):", True),
        ("def __init__(self, size=3, /):", True),
    ],
    ids=["keyword-default", "keyword-required", "positional-only"],
)
def test_keyword_only_and_positional_only_constructor_parameters(
    init: str, needs_arguments: bool
) -> None:
    """A keyword-only parameter without a default, or any positional-only one, needs arguments."""
    source = CLOCK.replace("    def run(", f"    {init}\n        self.size = 3\n\n    def run(")
    after, findings = _migrate(source, native_all=True)
    assert (after == source) is needs_arguments
    assert findings == (
        [
            "1: class Clock: its constructor needs arguments | after the class: "
            'native_registry.plugin(Clock(...), name="clock", exclude=["run"])'
        ]
        if needs_arguments
        else []
    )


def test_a_registration_on_another_registry_or_by_another_decorator_is_not_ours() -> None:
    """``@audit.plugin(...)`` and ``@native_registry.tool(...)`` do not mean already migrated."""
    for decorator in ('@audit.plugin(name="clock")', '@native_registry.tool(name="clock")'):
        source = f"{decorator}\n{CLOCK}"
        after, findings = _migrate(source, native_all=True)
        assert findings == []
        assert f'@native_registry.plugin(name="clock", exclude=["run"])\n{decorator}\n' in after


def test_a_long_suggestion_stays_on_one_line() -> None:
    """The registration in a finding is one line, however long, unlike the written decorator."""
    long = "Keeps the notes of the whole conversation, in order"
    source = HANDLER.replace('"Keeps notes"', f'"{long}"').replace(
        'self.identifier = "notes"', "self.identifier = name"
    )
    _, findings = _migrate(source, native_all=True)
    assert findings == [
        "6: class Notes: its identifier is not a string literal, so the plugin name is unknown | "
        '@native_registry.plugin(name="<identifier>", include=["add", "count"], '
        f'description="{long}")'
    ]


def test_every_missing_method_is_named() -> None:
    """Two dispatched methods the class does not define: both listed, in dispatch order."""
    source = HANDLER.replace("def add(self, text):", "def append(self, text):").replace(
        "def count(self):", "def total(self):"
    )
    _, findings = _migrate(source, native_all=True)
    assert len(findings) == 1
    assert findings[0].startswith(
        "6: class Notes: run() dispatches to add, count, not defined in the class itself | "
    )


def test_a_constructor_suggestion_puts_the_instance_first_only() -> None:
    """Only the registration's own parenthesis gets the instance, not one in the description."""
    source = HANDLER.replace('"Keeps notes"', '"Keeps notes (in memory)"').replace(
        'prefix="- "', "prefix"
    )
    _, findings = _migrate(source, native_all=True)
    assert findings == [
        "6: class Notes: its constructor needs arguments | after the class: "
        'native_registry.plugin(Notes(...), name="notes", include=["add", "count"], '
        'description="Keeps notes (in memory)")'
    ]


@pytest.mark.parametrize(("length", "wrapped"), [(100, False), (101, True)])
def test_the_decorator_wraps_past_100_characters(length: int, wrapped: bool) -> None:
    """100 characters fit on the line; 101 do not."""
    bare = len('@native_registry.plugin(name="clock", exclude=["run"], description="")')
    source = CLOCK.replace(
        '    identifier = "clock"\n',
        f'    identifier = "clock"\n    description = "{"d" * (length - bare)}"\n',
    )
    after, _ = _migrate(source, native_all=True)
    decorator = after[after.index("@native_registry") : after.index("\nclass Clock:")]
    if wrapped:
        assert decorator == (
            '@native_registry.plugin(\n    name="clock",\n    exclude=["run"],\n'
            f'    description="{"d" * (length - bare)}",\n)'
        )
    else:
        assert (len(decorator), decorator.count("\n")) == (100, 0)


def test_a_binding_in_a_try_body_is_found() -> None:
    """``try: from app import native_registry``: bound at module level, so refused."""
    source = (
        "try:\n    from app import native_registry\nexcept ImportError:\n    pass\n\n\n" + CLOCK
    )
    after, findings = _migrate(source, native_all=True)
    assert after == source
    assert findings == [
        "7: class Clock: the module already binds 'native_registry' to something other than a "
        "LocalRegistry | choose another name with --registry-name"
    ]


def test_the_registry_goes_after_the_leading_imports_only() -> None:
    """An import further down does not move the registry below the first class."""
    source = "import os\n\n\nclass Helper:\n    pass\n\n\nimport json\n\n\n" + CLOCK
    after, _ = _migrate(source, native_all=True)
    assert after.startswith(
        "import os\nfrom toolware import LocalRegistry\n\n"
        "native_registry = LocalRegistry()  # native plugin registrations (toolware migrate)\n"
        "\n\nclass Helper:\n"
    )


def test_a_class_right_under_the_imports_gets_two_blank_lines() -> None:
    """No blank line between the imports and the class: the registry is set apart by two."""
    after, _ = _migrate("import os\n" + CLOCK, native_all=True)
    assert after.startswith(
        "import os\nfrom toolware import LocalRegistry\n\n"
        "native_registry = LocalRegistry()  # native plugin registrations (toolware migrate)\n"
        '\n\n@native_registry.plugin(name="clock", exclude=["run"])\nclass Clock:\n'
    )


def test_wanted_needs_a_chosen_class_and_a_run_method() -> None:
    """The cheap test on the text: nothing chosen, or no ``def run``, skips the walk."""
    assert handlers.wanted(CLOCK, MigrateOptions()) is False
    assert handlers.wanted(CLOCK, MigrateOptions(native=frozenset({"Clock"}))) is True
    assert handlers.wanted(CLOCK, MigrateOptions(native_all=True)) is True
    assert handlers.wanted("class A:\n    pass\n", MigrateOptions(native_all=True)) is False

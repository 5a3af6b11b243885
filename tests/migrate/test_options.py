"""The options of a migration are checked when made, naming the option and the fix."""

from __future__ import annotations

import pytest

from toolware.migrate import MigrateOptions


def test_defaults_choose_no_class() -> None:
    """Imports only, unless told."""
    options = MigrateOptions()
    assert (options.wants("Agent"), options.wants(None)) == (False, False)
    assert (options.registry_name, options.pipeline) == ("native_registry", "self.pipeline")


def test_native_names_and_all() -> None:
    """``native`` chooses by class name; ``native_all`` chooses module level code too."""
    options = MigrateOptions(native=frozenset({"Agent"}))
    assert (options.wants("Agent"), options.wants("Other"), options.wants(None)) == (
        True,
        False,
        False,
    )
    assert MigrateOptions(native_all=True).wants(None) is True


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"native": frozenset({"not a class"})},
            ValueError,
            "native must be a Python identifier, e.g. Notes; got 'not a class'",
        ),
        (
            {"native": frozenset({1})},
            ValueError,
            "native must be a Python identifier, e.g. Notes; got 1",
        ),
        (
            {"native": ["Agent"]},
            TypeError,
            "native takes a frozenset of class names, e.g. frozenset({'Agent'}); got list",
        ),
        ({"native_all": "yes"}, TypeError, "native_all must be True or False, got 'yes'"),
        (
            {"registry_name": "class"},
            ValueError,
            "registry_name must be a Python identifier, e.g. Notes; got 'class'",
        ),
        (
            {"registry_name": "1x"},
            ValueError,
            "registry_name must be a Python identifier, e.g. Notes; got '1x'",
        ),
        (
            {"pipeline": "self."},
            ValueError,
            "pipeline must be a Python expression naming the pipeline, e.g. self.pipeline; "
            "got 'self.'",
        ),
        (
            {"pipeline": None},
            TypeError,
            "pipeline takes the expression as a string, e.g. 'self.pipeline'; got NoneType",
        ),
        (
            {"pipeline": b"self.pipeline"},
            TypeError,
            "pipeline takes the expression as a string, e.g. 'self.pipeline'; got bytes",
        ),
    ],
    ids=[
        "native-not-identifier",
        "native-not-str",
        "native-list",
        "native-all-str",
        "registry-keyword",
        "registry-digit",
        "pipeline-syntax",
        "pipeline-none",
        "pipeline-bytes",
    ],
)
def test_bad_options_are_refused(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    """Each bad option is refused with its name, the expected form and the value given."""
    with pytest.raises(error) as refused:
        MigrateOptions(**options)  # type: ignore[arg-type]
    assert str(refused.value) == message
    assert refused.value.__cause__ is None


def test_good_names_and_expressions_are_accepted() -> None:
    """Identifiers that are not keywords, and any expression for the pipeline."""
    options = MigrateOptions(
        native=frozenset({"Agent", "_Tool2"}),
        native_all=False,
        registry_name="tools",
        pipeline="app.state.pipelines['main']",
    )
    assert (options.native, options.registry_name, options.pipeline) == (
        frozenset({"Agent", "_Tool2"}),
        "tools",
        "app.state.pipelines['main']",
    )
    assert (options.wants("Agent"), options.wants("_Tool2"), options.wants("Other")) == (
        True,
        True,
        False,
    )

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
        ({"native": frozenset({"not a class"})}, ValueError, "native must be a Python identifier"),
        ({"native": ["Agent"]}, TypeError, r"native takes a frozenset of class names, .*got list"),
        ({"native_all": "yes"}, TypeError, "native_all must be True or False, got 'yes'"),
        ({"registry_name": "class"}, ValueError, "registry_name must be a Python identifier"),
        ({"pipeline": "self."}, ValueError, "pipeline must be a Python expression"),
        # Written before ``.invoke(...)``: `await a if b else c.invoke(...)` would call c only,
        # `lambda: p.invoke(...)` does not parse. Only what binds tighter than the call.
        *(
            (
                {"pipeline": expression},
                ValueError,
                rf"\(a name, attribute, call or subscript\).*{got}",
            )
            for expression, got in [
                ("self.a if self.b else self.c", "got 'self.a if self.b else self.c'"),
                ("x or y", "got 'x or y'"),
                ("lambda: 1", "got 'lambda: 1'"),
                ("await x", "got 'await x'"),
                ("-x", "got '-x'"),
                ("x + y", "got 'x \\+ y'"),
            ]
        ),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    """Each bad option is refused with its name in the message."""
    with pytest.raises(error, match=message):
        MigrateOptions(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "expression", ["pipe", "self.pipeline", "self.pipelines['main']", "get_pipeline()", "(a or b)"]
)
def test_pipelines_that_bind_before_the_call_are_taken(expression: str) -> None:
    """Names, attributes, subscripts, calls, and anything in parentheses."""
    assert MigrateOptions(pipeline=expression).pipeline == expression


@pytest.mark.parametrize(("pipeline", "given"), [(None, "NoneType"), (b"self.pipeline", "bytes")])
def test_a_pipeline_that_is_not_text_is_refused_by_type(pipeline: object, given: str) -> None:
    """libcst would parse bytes and fail on None inside its parser: both are refused first."""
    with pytest.raises(TypeError) as refused:
        MigrateOptions(pipeline=pipeline)  # type: ignore[arg-type]
    assert str(refused.value) == (
        f"pipeline takes the expression as a string, e.g. 'self.pipeline'; got {given}"
    )


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
def test_bad_options_are_refused_with_exact_messages(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    """Each bad option is refused with its name, the expected form and the value given."""
    with pytest.raises(error) as refused:
        MigrateOptions(**options)  # type: ignore[arg-type]
    assert str(refused.value) == message
    assert refused.value.__cause__ is None

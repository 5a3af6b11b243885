"""Tests for toolware.registry.docstrings and the parameter descriptions in argument schemas."""

from typing import Annotated

import pydantic

from toolware import Kind, LocalRegistry
from toolware.registry.docstrings import parameter_docs, summary


def google(text: str, count: int = 1) -> str:
    """Repeat text.

    Longer explanation that is not part of the summary.

    Args:
        text (str): What to repeat,
            over two lines.
        count: How many times.

    Returns:
        The repeated text.
    """
    return text * count


def numpy_style(text: str, count: int = 1) -> str:
    """Repeat text.

    Parameters
    ----------
    text : str
        What to repeat.
    count : int, optional
        How many times.

    Returns
    -------
    str
        The repeated text.
    """
    return text * count


def sphinx(text: str, count: int = 1) -> str:
    """Repeat text.

    :param text: What to repeat,
        over two lines.
    :param int count: How many times.
    :returns: The repeated text.
    """
    return text * count


def annotated(
    text: Annotated[str, pydantic.Field(description="From the annotation.")], count: int = 1
) -> str:
    """Repeat text.
    Args:
        text: From the docstring.
        count: How many times.
    """
    return text * count


def described(function: object) -> dict[str, str]:
    registry = LocalRegistry()
    registry.tool(function)
    (description,) = registry.list()
    properties = description.args_schema["properties"]
    return {"(entry)": description.description} | {
        name: schema.get("description") for name, schema in properties.items()
    }


def test_google_numpy_and_sphinx_parameters_are_described() -> None:
    """Each style's parameter text reaches the schema; the entry gets the summary only."""
    assert described(google) == {
        "(entry)": "Repeat text.",
        "text": "What to repeat, over two lines.",
        "count": "How many times.",
    }
    assert described(numpy_style) == {
        "(entry)": "Repeat text.",
        "text": "What to repeat.",
        "count": "How many times.",
    }
    assert described(sphinx) == {
        "(entry)": "Repeat text.",
        "text": "What to repeat, over two lines.",
        "count": "How many times.",
    }


def test_field_description_wins_and_args_never_leak_into_the_summary() -> None:
    """Annotated Field(description=...) wins; an Args block right after the summary stays out."""
    assert described(annotated) == {
        "(entry)": "Repeat text.",
        "text": "From the annotation.",
        "count": "How many times.",
    }


def test_plugin_actions_get_parameter_descriptions() -> None:
    """Methods are read the same way."""

    class Notes:
        def add(self, text: str) -> None:
            """Add a note.

            Args:
                text: The note.
            """

    registry = LocalRegistry()
    registry.plugin(Notes)
    entry = registry.resolve(Kind.PLUGIN, "notes", "add")
    assert entry.description.description == "Add a note."
    assert entry.description.args_schema["properties"]["text"]["description"] == "The note."


def test_summary_and_parameter_docs_edge_cases() -> None:
    """Empty docs, undocumented names, star-args and sections other than parameters."""
    assert summary(None) == ""
    assert summary("") == ""
    assert summary("  One\n  line.  \n\nMore.") == "One line."
    assert summary(":param x: only params") == ""
    assert parameter_docs(None) == {}
    assert parameter_docs("Summary.\n\nArgs:\n    x:\n    **kwargs: Extra.\n") == {
        "kwargs": "Extra."
    }
    assert parameter_docs("S.\n\nArgs:\n    not an item line\n    y: Why.\n") == {"y": "Why."}
    numpy_multi = "Parameters\n----------\na, b : int\n    Both.\nc\n    Third.\n"
    assert parameter_docs(numpy_multi) == {"a": "Both.", "b": "Both.", "c": "Third."}
    assert parameter_docs("Parameters\n----------\nx : int\n\nNotes\n-----\ny : z\n") == {}
    assert parameter_docs("Parameters\n----------\n    stray\nx : int\n") == {}
    ended = "Parameters\n----------\nx : int\n    X.\nNot an item!\ny : int\n    Y.\n"
    assert parameter_docs(ended) == {"x": "X."}

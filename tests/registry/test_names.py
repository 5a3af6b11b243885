"""Tests for toolware.registry.names: the name rule, canonical and function-calling names."""

import pytest

from toolware import Kind, LocalRegistry, RegistrationError
from toolware.registry.base import (
    EntryDescription,
    function_name,
    parse_function_name,
    split_qualified,
)
from toolware.registry.names import check_name, shorten


def noop() -> None:
    """Do nothing."""


@pytest.mark.parametrize(
    ("bad", "fix"),
    [
        ("", "my_tool"),
        ("two words", "two_words"),
        ("line\nbreak", "line_break"),
        ("(unknown)", "unknown"),
        ("notes.add", "notes_add"),
        ("a" * 65, "a" * 64),
        ("notes__add", "notes_add"),
        ("émoji", "moji"),
    ],
)
def test_tool_names_llm_apis_refuse_are_refused_with_the_fix(bad: str, fix: str) -> None:
    """A name outside [A-Za-z0-9_-]{1,64} (or with '__') is refused, naming it and the fix."""
    registry = LocalRegistry()
    with pytest.raises(RegistrationError) as caught:
        registry.tool(noop, name=bad)
    message = str(caught.value)
    assert "letters, digits, '_' and '-'" in message
    assert f"name={fix!r}" in message
    assert registry.list() == ()


def test_longest_allowed_name_and_dashes_are_accepted() -> None:
    """Exactly 64 characters of letters, digits, '_' and '-' is fine."""
    registry = LocalRegistry()
    name = "a-b_" + "c" * 60
    registry.tool(noop, name=name)
    assert registry.resolve(Kind.TOOL, name).description.name == name


def test_huge_bad_name_gives_a_short_message() -> None:
    """The refused name is truncated in the message, with its length."""
    with pytest.raises(RegistrationError) as caught:
        check_name("x y" * 1_000_000, "tool name")
    assert len(str(caught.value)) < 400
    assert "(3000000 characters)" in str(caught.value)


def test_non_string_name_is_refused() -> None:
    """check_name refuses a non-string with its type."""
    with pytest.raises(RegistrationError, match="must be a string, got int"):
        check_name(3, "tool name")


def test_default_name_of_a_lambda_is_refused() -> None:
    """A lambda's '<lambda>' is not a usable name: name= is asked for."""
    with pytest.raises(RegistrationError, match="name='lambda'"):
        LocalRegistry().tool(lambda: 1)


def test_lazy_and_retriever_and_plugin_names_are_checked() -> None:
    """add_lazy, retriever and plugin names follow the same rule."""
    registry = LocalRegistry()
    with pytest.raises(RegistrationError, match="tool name 'bad name'"):
        registry.add_lazy("os:getcwd", name="bad name")
    with pytest.raises(RegistrationError, match="retriever name 'my docs'"):
        registry.retriever(lambda query, k: [], name="my docs")

    class Notes:
        def add(self) -> None: ...

    with pytest.raises(RegistrationError, match=r"plugin name 'my\.notes'"):
        registry.plugin(Notes, name="my.notes")


def test_plugin_action_names_are_checked() -> None:
    """An action with '__' is refused (function names would be ambiguous)."""

    class Weird:
        def do__it(self) -> None: ...

    with pytest.raises(RegistrationError, match="action name of plugin 'weird' 'do__it'"):
        LocalRegistry().plugin(Weird)


def test_plugin_plus_action_must_fit_in_64_characters() -> None:
    """'plugin__action' is what LLMs see; it must fit too."""

    class Notes:
        def add_a_rather_long_action_name(self) -> None: ...

    with pytest.raises(RegistrationError, match="at most 64") as caught:
        LocalRegistry().plugin(Notes, name="n" * 40)
    assert "notes" not in str(caught.value).split("e.g.")[0]
    LocalRegistry().plugin(Notes, name="n" * 30)


def test_canonical_and_function_names_round_trip() -> None:
    """notes.add is canonical; notes__add is its function-calling form; both map back."""
    action = EntryDescription(name="notes", kind=Kind.PLUGIN, action="add")
    tool = EntryDescription(name="calculator", kind=Kind.TOOL)
    assert action.qualified_name == "notes.add"
    assert function_name(action) == "notes__add"
    assert function_name(tool) == "calculator"
    assert parse_function_name("notes__add") == ("notes", "add")
    assert parse_function_name("calculator") == ("calculator", None)
    assert split_qualified("notes.add") == ("notes", "add")
    assert split_qualified("calculator") == ("calculator", None)
    assert split_qualified("trailing.") == ("trailing.", None)


def test_shorten_keeps_short_names_whole() -> None:
    """Short names are quoted as given; others are cut with their length."""
    assert shorten("calc") == "'calc'"
    assert shorten("a" * 50, limit=4) == "'aaaa'… (50 characters)"
    assert shorten(7) == "'7'"

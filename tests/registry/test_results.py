"""Tests for toolware.registry.results: check_result=True builds Entry.result_validator."""

import dataclasses

import pytest

from toolware import Kind, LocalRegistry, RegistrationError, ToolFailedError
from toolware.registry.results import result_checker, type_label


def entry_for(function: object, **options: object) -> object:
    registry = LocalRegistry()
    registry.tool(function, check_result=True, **options)
    (description,) = registry.list()
    return registry.resolve(Kind.TOOL, description.name)


def add(a: int, b: int) -> int:
    return a + b


def test_result_validator_returns_valid_values() -> None:
    """A result of the declared type passes through; a convertible one is converted."""
    validate = entry_for(add).result_validator  # type: ignore[attr-defined]
    assert validate(3) == 3
    assert validate("3") == 3


def test_none_for_int_is_a_tool_failure_naming_both() -> None:
    """-> int returning None fails with the documented message."""
    validate = entry_for(add).result_validator  # type: ignore[attr-defined]
    with pytest.raises(ToolFailedError) as caught:
        validate(None)
    assert caught.value.message == "'add' returned None, but its declared return type is int"
    assert caught.value.__cause__ is None


def test_the_value_itself_never_appears_in_the_message() -> None:
    """A wrong value (maybe a secret) is described by its type and location only."""

    def names() -> list[int]:
        return []

    validate = entry_for(names).result_validator  # type: ignore[attr-defined]
    with pytest.raises(ToolFailedError) as caught:
        validate([1, "password=hunter2"])
    assert caught.value.message == (
        "'names' returned a list (first problem at 1), but its declared return type is list[int]"
    )
    assert "hunter2" not in str(caught.value.to_dict())


def test_without_check_result_there_is_no_validator() -> None:
    """The default is off: no validator, no cost."""
    registry = LocalRegistry()
    registry.tool(add)
    assert registry.resolve(Kind.TOOL, "add").result_validator is None


def test_check_result_needs_a_return_type() -> None:
    """check_result=True on an unannotated function is refused with the fix."""

    def loose(a: int):  # type: ignore[no-untyped-def]
        return a

    with pytest.raises(RegistrationError, match="annotate 'loose' with '-> T'"):
        entry_for(loose)


def test_check_result_must_be_a_bool() -> None:
    """check_result='yes' is refused."""
    with pytest.raises(RegistrationError, match="check_result must be True or False"):
        LocalRegistry().tool(add, check_result="yes")  # type: ignore[call-overload]


def test_plugin_actions_and_retrievers_can_check_results() -> None:
    """The option applies to each plugin action."""

    class Notes:
        def count(self) -> int:
            return None  # type: ignore[return-value]

    registry = LocalRegistry()
    registry.plugin(Notes, check_result=True)
    entry = registry.resolve(Kind.PLUGIN, "notes", "count")
    assert entry.result_validator is not None
    with pytest.raises(ToolFailedError, match=r"'notes\.count' returned None"):
        entry.result_validator(entry.function())


def test_unvalidatable_return_type_is_refused() -> None:
    """A type pydantic cannot validate is refused at registration."""

    class Opaque:
        pass

    with pytest.raises(RegistrationError, match="cannot check 'opaque'"):
        result_checker(Opaque, "opaque")


def test_type_label() -> None:
    """Plain classes by name, generics as written."""

    @dataclasses.dataclass
    class Point:
        x: int

    assert type_label(int) == "int"
    assert type_label(list[int]) == "list[int]"
    assert type_label(Point).endswith("Point")
    assert type_label(int | None) == "int | None"

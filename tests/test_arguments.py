"""Tests for toolware._arguments: the JSON-like, bounded argument boundary."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import json
import types
import uuid
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest

from toolware import _arguments
from toolware._arguments import MAX_DEPTH, check_arguments
from toolware.context import Arguments
from toolware.errors import InvalidRequestError


def refused(arguments: Any, **kwargs: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        check_arguments(arguments, target="tool", **kwargs)
    error = caught.value
    assert len(error.fields) == 1
    assert error.message.startswith("invalid arguments for 'tool': ")
    return error


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Point(pydantic.BaseModel):
    x: int


@dataclasses.dataclass
class Box:
    size: int


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_json_like_arguments_pass() -> None:
    """Flat scalars, nested dicts, lists, tuples and sets pass unchanged."""
    check_arguments(Arguments({"a": 1, "b": "x", "c": 2.5, "d": None, "e": True}), target="t")
    check_arguments(
        {"q": {"k": [1, (2, 3), {"z": None}]}, "tags": {"a", "b"}, "f": frozenset({1})},
        target="t",
    )
    check_arguments({}, target="t")


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        uuid.UUID(int=1),
        decimal.Decimal("1.5"),
        b"bytes",
        bytearray(b"x"),
        Color.RED,
        Level.HIGH,
        Point(x=1),
        Box(size=2),
    ],
    ids=lambda v: type(v).__name__,
)
def test_objects_pydantic_checks_without_iterating_pass(value: Any) -> None:
    """Python values with a declared type (datetimes, models, enums...) are left to pydantic."""
    check_arguments({"value": value, "nested": [value]}, target="t")


def _endless() -> Iterator[int]:
    while True:
        yield 1


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (_endless(), "generator is an iterator"),
        (iter([1]), "list_iterator is an iterator"),
        (range(10**12), "range is not a list, tuple, set or dict"),
        (collections.deque([1]), "deque is not a list"),
        ({"a": 1}.keys(), "dict_keys is not a list"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else None,
)
def test_iterators_and_other_iterables_are_refused(value: Any, problem: str) -> None:
    """Anything pydantic would consume item by item, possibly forever, is refused: pass a list."""
    error = refused({"xs": [{"inner": value}]}, names={"inner"})
    [field] = error.fields
    assert field.field == "xs.0.inner"
    assert field.problem.startswith(problem)
    assert field.expected == "array"
    assert "list(values)" in error.hint


def test_a_mapping_that_is_not_a_dict_is_refused_without_calling_it() -> None:
    """A Mapping's items() is caller code: refused as is, and never called."""

    class Hostile(collections.abc.Mapping[str, int]):
        def __getitem__(self, key: str) -> int:
            raise RuntimeError("secret")

        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("secret")

        def __len__(self) -> int:
            raise RuntimeError("secret")

    for value in (Hostile(), types.MappingProxyType({"a": 1})):
        error = refused({"m": value})
        assert error.fields[0].field == "m"
        assert "mapping but not a dict" in error.fields[0].problem
        assert "secret" not in json.dumps(error.to_dict())


def test_arguments_that_are_not_a_dict_are_refused() -> None:
    """The arguments themselves must be a dict."""
    error = refused(types.MappingProxyType({"a": 1}))
    assert error.fields[0].field == "(arguments)"


def test_container_subclasses_are_read_without_their_overrides() -> None:
    """A dict or list subclass is walked through dict/list themselves: overrides never run."""

    class LoudDict(dict[str, Any]):
        def items(self) -> Any:
            raise AssertionError("items() ran")

    class LoudList(list[Any]):
        def __iter__(self) -> Any:
            raise AssertionError("__iter__ ran")

    check_arguments({"d": LoudDict(a=LoudList([1, 2]))}, target="t")
    error = refused({"d": LoudDict(a=LoudList([iter([])]))})
    assert error.fields[0].field == "d.[key].0"


class RaisingStr(str):
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("secret eq")

    __hash__ = str.__hash__


class CustomHash(str):
    def __hash__(self) -> int:  # could raise or change later: pydantic would call it
        return 1


class PlainStr(str):
    pass


@pytest.mark.parametrize("key", [RaisingStr("k"), 1, None, (1, 2)], ids=repr)
def test_keys_must_be_plain_strings(key: Any) -> None:
    """Non-string keys, and str subclasses overriding __eq__/__hash__, are refused unquoted."""
    error = refused({"m": {key: 1}})
    [field] = error.fields
    assert field.field == "m.[key]"
    assert field.problem.startswith("keys must be plain strings, got ")
    assert "secret" not in json.dumps(error.to_dict())
    top = refused({key: 1})
    assert top.fields[0].field == "[key]"


def test_a_str_subclass_key_with_str_semantics_passes() -> None:
    """A str subclass that hashes and compares as str is safe."""
    check_arguments({PlainStr("a"): {PlainStr("b"): 1}}, target="t")
    assert refused({"m": {CustomHash("k"): 1}}).fields[0].field == "m.[key]"


def test_depth_is_bounded() -> None:
    """MAX_DEPTH levels pass; one more is refused, naming the path and the limit."""
    check_arguments({"xs": nested(MAX_DEPTH)}, target="t")
    error = refused({"xs": nested(MAX_DEPTH + 1)})
    assert error.fields[0].problem == f"nested deeper than {MAX_DEPTH} levels"
    assert error.fields[0].field.startswith("xs.0.0")
    assert f"{MAX_DEPTH} levels" in error.hint


def test_thousand_deep_nesting_is_refused_with_a_small_error() -> None:
    """The adversarial 1,000-deep nest gives one short field, not 1,276."""
    error = refused({"xs": nested(1_000)})
    assert len(json.dumps(error.to_dict())) < 2_000


def test_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_NODES values pass, one more is refused; the limit is read at each call."""
    monkeypatch.setattr(_arguments, "MAX_NODES", 10)
    check_arguments({"xs": list(range(9))}, target="t")  # 1 list + 9 items
    error = refused({"xs": list(range(10))})
    assert error.fields[0].problem == "more than 10 values in all"
    assert error.fields[0].field == "(arguments)"
    assert refused({str(i): i for i in range(11)}).fields[0].problem.startswith("more than 10")


def test_a_huge_list_is_refused_without_walking_it() -> None:
    """Size is checked from len() before a container's items are looked at."""
    error = refused({"xs": [iter([])] * 200_000})
    assert "more than" in error.fields[0].problem


def test_depth_limit_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_DEPTH is read at each call."""
    monkeypatch.setattr(_arguments, "MAX_DEPTH", 2)
    check_arguments({"xs": nested(2)}, target="t")
    assert refused({"xs": nested(3)}).fields[0].problem == "nested deeper than 2 levels"


def test_paths_never_echo_caller_keys() -> None:
    """Keys the schema does not declare are masked; a parameter name is cut and escaped."""
    error = refused({"headers": {"Bearer SECRET": iter([])}})
    assert error.fields[0].field == "headers.[key]"
    long_name = "p" * 100 + "\n"
    error = refused({long_name: iter([])})
    assert error.fields[0].field == "p" * 32 + "..."
    error = refused({"bad\x1bname": iter([])})
    assert error.fields[0].field == "bad\\x1bname"


def field_of(error: InvalidRequestError) -> tuple[str, str, str | None, str]:
    (field,) = error.fields
    return field.field, field.problem, field.expected, error.hint


def test_refusals_carry_the_field_path_problem_expected_type_and_hint() -> None:
    """Not a dict, a nested mapping that is not a dict, and a nested non-str key: each names
    its place (declared names shown, caller keys as [key]), the problem, the JSON type
    expected and the fix."""
    names = {"opts", "inner"}
    assert field_of(refused([1])) == (
        "(arguments)",
        "list is not a dict",
        "object",
        "pass a plain dict (dict(mapping)) of JSON-like values",
    )
    proxy = {"opts": {"inner": types.MappingProxyType({})}}
    assert field_of(refused(proxy, names=names)) == (
        "opts.inner",
        "mappingproxy is a mapping but not a dict",
        "object",
        "pass a plain dict (dict(mapping)) of JSON-like values",
    )
    keyed = {"opts": {"inner": {2: "x"}}}
    assert field_of(refused(keyed, names=names)) == (
        "opts.inner.[key]",
        "keys must be plain strings, got int",
        "string",
        "use plain str keys (str(key))",
    )


def test_a_too_deep_value_is_placed_by_its_declared_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """The depth refusal's field path shows declared names."""
    monkeypatch.setattr(_arguments, "MAX_DEPTH", 1)
    error = refused({"opts": {"inner": {"x": 1}}}, names={"opts", "inner"})
    assert field_of(error)[0] == "opts.inner"


def test_long_type_names_are_shown_up_to_64_characters() -> None:
    """A type's name in a problem is cut at 64 characters."""
    long_type = type("T" * 70, (), {})
    error = refused(long_type())  # type: ignore[arg-type]
    assert field_of(error)[1] == "T" * 64 + "... is not a dict"


def test_an_accepted_object_does_not_end_the_check_of_the_others() -> None:
    """A model argument checked first does not let a later iterator through."""
    error = refused({"gen": iter([1]), "point": Point(x=1)})
    assert "iterator" in field_of(error)[1]


def test_too_many_values_say_how_many_and_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """The size refusal names the bound and suggests sending less or paging."""
    monkeypatch.setattr(_arguments, "MAX_NODES", 3)
    assert field_of(refused({"a": [1, 2, 3, 4]})) == (
        "(arguments)",
        "more than 3 values in all",
        None,
        "send fewer values, or page through them",
    )

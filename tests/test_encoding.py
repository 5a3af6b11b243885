"""Tests for toolware.encoding: one JSON encoder for every value toolware writes as JSON."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import uuid
from collections import OrderedDict, deque
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

import msgspec
import pydantic
import pytest

from toolware import Document
from toolware.encoding import CYCLE, MAX_DEPTH, TOO_DEEP, to_json, to_jsonable


class Color(enum.Enum):
    RED = "red"
    BLUE = (0, 0, 255)


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: float
    y: float
    tags: set[str] = dataclasses.field(default_factory=set)


class Box(msgspec.Struct):
    width: int
    created: datetime.date


class User(pydantic.BaseModel):
    id: uuid.UUID
    roles: frozenset[str]


class Opaque:
    """No __str__ of its own: the default one shows a memory address."""


class Named:
    def __str__(self) -> str:
        return "named thing"


class BrokenStr:
    def __str__(self) -> str:
        raise RuntimeError("no")


class MyStr(str):
    pass


UID = uuid.UUID("0192d5f4-8b3a-7c00-8000-000000000001")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (3, 3),
        (2.5, 2.5),
        ("text", "text"),
        (MyStr("sub"), "sub"),
        (Color.RED, "red"),
        (Color.BLUE, [0, 0, 255]),
        (Level.HIGH, 3),
        (decimal.Decimal("1.10"), "1.10"),
        (datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC), "2024-05-01T12:30:00+00:00"),
        (datetime.date(2024, 5, 1), "2024-05-01"),
        (datetime.time(7, 5, 3), "07:05:03"),
        (datetime.timedelta(minutes=1, milliseconds=500), 60.5),
        (UID, "0192d5f4-8b3a-7c00-8000-000000000001"),
        (b"\x00\xffhi", "AP9oaQ=="),
        (bytearray(b"hi"), "aGk="),
        (memoryview(b"hi"), "aGk="),
        ((1, (2, 3)), [1, [2, 3]]),
        (deque([1, 2]), [1, 2]),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ({1, "a"}, [1, "a"]),  # mixed: by type name (int < str), then repr
        (PurePosixPath("/tmp/x"), "/tmp/x"),
        (Named(), "named thing"),
        (Opaque(), "<tests.test_encoding.Opaque>"),
        (BrokenStr(), "<tests.test_encoding.BrokenStr>"),
    ],
)
def test_each_type(value: Any, expected: Any) -> None:
    """Each type of the module's table becomes its documented JSON value."""
    assert to_jsonable(value) == expected


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, decimal.Decimal("NaN"), decimal.Decimal("-Infinity")]
)
def test_nan_and_infinity_become_null(value: Any) -> None:
    """JSON has no NaN: NaN and infinities are null, and never printed as NaN."""
    assert to_jsonable(value) is None
    assert to_json({"v": [value]}) == '{"v": [null]}'


def test_nan_nowhere_in_the_text() -> None:
    """A result full of non-finite floats gives strict JSON that any parser accepts."""
    text = to_json({"a": math.nan, "b": {math.inf}, "c": Point(math.nan, -math.inf)})

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the output")

    assert json.loads(text, parse_constant=refuse) == {
        "a": None,
        "b": [None],
        "c": {"x": None, "y": None, "tags": []},
    }


def test_dataclass_struct_and_model_become_objects() -> None:
    """Dataclasses, msgspec Structs and pydantic models are objects of their fields."""
    assert to_jsonable(Point(1.0, 2.0, {"b", "a"})) == {"x": 1.0, "y": 2.0, "tags": ["a", "b"]}
    assert to_jsonable(Box(3, datetime.date(2024, 1, 2))) == {"width": 3, "created": "2024-01-02"}
    user = User(id=UID, roles=frozenset({"admin", "dev"}))
    assert to_jsonable(user) == {"id": str(UID), "roles": ["admin", "dev"]}


def test_dataclass_class_is_not_an_instance() -> None:
    """A dataclass type itself is not encoded as an object of fields."""
    assert to_jsonable(Point) == "<builtins.type>"


def test_document_becomes_an_object() -> None:
    """A RAG Document is {id, text, score, metadata}."""
    document = Document("d1", "text", 0.5, {"page": 2})
    assert to_jsonable([document]) == [
        {"id": "d1", "text": "text", "score": 0.5, "metadata": {"page": 2}}
    ]


def test_mapping_keys_become_text() -> None:
    """Non-string keys become their JSON text; read-only and ordered mappings are objects."""
    value = {1: "a", None: "b", False: "c", 2.5: "d", Color.RED: "e", (1, 2): "f", UID: "g"}
    assert to_jsonable(value) == {
        "1": "a",
        "null": "b",
        "false": "c",
        "2.5": "d",
        "red": "e",
        "[1,2]": "f",
        str(UID): "g",
    }
    assert to_jsonable(MappingProxyType({"a": 1})) == {"a": 1}
    assert to_jsonable(OrderedDict(b=1, a=2)) == {"b": 1, "a": 2}


def test_unorderable_set_items_have_a_stable_order() -> None:
    """Items that cannot be compared sort by type name then repr, the same on every run."""
    items = frozenset({(1, "a"), ("b",), 3, "x", None})
    assert to_jsonable(items) == [None, 3, "x", ["b"], [1, "a"]]


def test_a_list_that_contains_itself_stops() -> None:
    """A self-referencing list is encoded once, the recurrence becomes "<cycle>"."""
    looped: list[Any] = [1]
    looped.append(looped)
    assert to_jsonable(looped) == [1, CYCLE]
    mapping: dict[str, Any] = {}
    mapping["me"] = mapping
    assert to_json(mapping) == '{"me": "<cycle>"}'


def test_shared_but_acyclic_values_are_repeated() -> None:
    """The same list twice side by side is not a cycle."""
    shared = [1]
    assert to_jsonable([shared, shared]) == [[1], [1]]


def test_depth_is_bounded() -> None:
    """Nesting deeper than MAX_DEPTH ends in "<too deep>" instead of a RecursionError."""
    deep: list[Any] = []
    for _ in range(MAX_DEPTH * 20):
        deep = [deep]
    encoded = to_jsonable(deep)
    for _ in range(MAX_DEPTH):
        assert isinstance(encoded, list)
        encoded = encoded[0]
    assert encoded == TOO_DEEP


def test_iterators_are_not_consumed() -> None:
    """A generator might be infinite: it is not read, only named."""

    def forever() -> Any:
        while True:
            yield 1

    assert to_jsonable(forever()) == "<builtins.generator>"


def test_to_json_indent_and_unicode() -> None:
    """to_json keeps non-ASCII text and indents on request."""
    assert to_json({"café": "thé"}) == '{"café": "thé"}'
    assert to_json([1], indent=2) == "[\n  1\n]"

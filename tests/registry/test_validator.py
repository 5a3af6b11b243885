"""Tests for toolware.registry._validator: bounded, input-free errors from argument validation."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from toolware import InvalidRequestError, Kind, LocalRegistry
from toolware._limits import MAX_FIELDS, MAX_NAME_CHARS
from toolware.context import Arguments
from toolware.defaults import default_pipeline
from toolware.registry import ArgumentValidator
from toolware.registry._validator import MAX_UNEXPECTED_SHOWN


def numbers(a: int, xs: list[int] | None = None, m: dict[str, int] | None = None) -> int:
    return a


def validator() -> ArgumentValidator:
    registry = LocalRegistry()
    registry.tool(numbers)
    return registry.resolve(Kind.TOOL, "numbers").validator


def rejected(arguments: dict[Any, Any]) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        validator().validate(Arguments(arguments))
    return caught.value


def test_many_unexpected_names_give_a_small_error() -> None:
    """50,000 unexpected names: three shown, cut and escaped; the rest only counted."""
    secret = "sk_live_" + "S" * 100
    names = {secret: 1, "new\nline": 2, **{f"name{i}": i for i in range(50_000)}}
    error = rejected({"a": 1, **names})
    wire = json.dumps(error.to_dict())
    assert len(wire) < 3_000
    assert len(error.message) < 300
    assert "50002 unexpected arguments" in error.message
    assert "and 49999 more" in error.message
    shown = [f.field for f in error.fields]
    assert shown == [secret[:MAX_NAME_CHARS] + "...", "new\\nline", "name0"]
    assert len(shown) == MAX_UNEXPECTED_SHOWN
    assert secret not in wire
    assert error.fields_omitted == 50_002 - MAX_UNEXPECTED_SHOWN


def test_two_hundred_thousand_names_are_refused_at_the_boundary() -> None:
    """The adversarial 200,000 names (once 1.7 MB of message) stop at the size limit."""
    error = rejected({"a": 1, **{f"name{i}": i for i in range(200_000)}})
    assert len(json.dumps(error.to_dict())) < 1_000
    assert "name1" not in error.message


def test_many_bad_values_keep_twenty_fields_and_count_the_rest() -> None:
    """1,000 bad list items give MAX_FIELDS fields and fields_omitted for the rest."""
    error = rejected({"a": 1, "xs": ["x"] * 1_000})
    assert len(error.fields) == MAX_FIELDS
    assert error.fields_omitted == 1_000 - MAX_FIELDS
    assert error.fields[0].field == "xs.0"
    assert error.message.endswith(f"and {1_000 - MAX_FIELDS} more")


def test_the_full_detail_goes_to_a_debug_log_record(caplog: pytest.LogCaptureFixture) -> None:
    """validation.rejected carries every error and every unexpected name, at DEBUG only."""
    with caplog.at_level(logging.DEBUG, logger="toolware.registry.validation"):
        rejected({"a": 1, **{f"extra{i}": i for i in range(10)}})
        rejected({"a": 1, "xs": iter([1])})
    first, second = caplog.records
    assert first.getMessage() == "validation.rejected target=numbers errors=10 unexpected=10"
    assert first.unexpected == [f"extra{i}" for i in range(10)]  # type: ignore[attr-defined]
    assert second.getMessage() == "validation.rejected target=numbers errors=1 unexpected=0"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="toolware.registry.validation"):
        rejected({"a": 1, "zz": 1})
    assert caplog.records == []


async def test_an_endless_generator_is_refused_not_consumed() -> None:
    """An infinite generator for list[int] is invalid_request naming the field; nothing hangs."""

    def endless() -> Iterator[int]:
        while True:
            yield 1

    registry = LocalRegistry()
    registry.tool(numbers)
    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("numbers", {"a": 1, "xs": endless()})
    error = response.error
    assert isinstance(error, InvalidRequestError)
    assert [f.field for f in error.fields] == ["xs"]
    assert "list(values)" in error.hint


class RaisingEq(str):
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("secret eq")

    __hash__ = str.__hash__


class RaisingItems(Mapping[str, int]):
    def __getitem__(self, key: str) -> int:
        return 1

    def __iter__(self) -> Iterator[str]:
        return iter(["k"])

    def __len__(self) -> int:
        return 1

    def items(self) -> Any:
        raise RuntimeError("secret items")


@pytest.mark.parametrize(
    "arguments",
    [{RaisingEq("a"): 1}, {"a": 1, "m": {RaisingEq("k"): 1}}, {"a": 1, "m": RaisingItems()}],
    ids=["top-level key", "nested key", "items raises"],
)
async def test_hostile_keys_and_mappings_are_invalid_requests(arguments: dict[Any, Any]) -> None:
    """Keys whose __eq__ raises and mappings whose items() raises: invalid_request, no text."""
    registry = LocalRegistry()
    registry.tool(numbers)
    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("numbers", arguments)
    error = response.error
    assert isinstance(error, InvalidRequestError)
    assert "secret" not in json.dumps(error.to_dict())

"""Tests for toolware.redaction: secret keys and values hidden, sizes bounded, input untouched."""

import dataclasses
import re
from typing import Any

import msgspec
import pytest

from toolware.context import Arguments, Principal
from toolware.redaction import (
    DEFAULT_SECRET_KEYS,
    REDACTED,
    SECRET_VALUE_PATTERNS,
    Redactor,
    redact,
)


@dataclasses.dataclass
class Login:
    user: str
    password: str


class Header(msgspec.Struct):
    name: str
    authorization: str


def test_nested_secrets_are_hidden_at_every_level() -> None:
    """Secret keys are hidden inside dicts, lists, tuples, dataclasses, structs and Arguments."""
    value = {
        "outer": [{"X-Api-Key": "k1"}, ({"session_cookie": "c"},)],
        "login": Login("ann", "pw"),
        "header": Header("h", "Basic x"),
        "args": Arguments({"Authorization": "a", "q": "keep"}),
        "deep": {"a": {"b": {"Secret_Value": {"x": 1}}}},
    }
    assert redact(value) == {
        "outer": [{"X-Api-Key": REDACTED}, ({"session_cookie": REDACTED},)],
        "login": {"user": "ann", "password": REDACTED},
        "header": {"name": "h", "authorization": REDACTED},
        "args": {"Authorization": REDACTED, "q": "keep"},
        "deep": {"a": {"b": {"Secret_Value": REDACTED}}},
    }


def test_input_is_not_mutated_and_atoms_are_kept() -> None:
    """The copy is new; numbers, bools and None pass through as they are."""
    value: dict[str, Any] = {"token": "t", "n": [1, 2.5, True, None]}
    copied = redact(value)
    assert value == {"token": "t", "n": [1, 2.5, True, None]}
    assert copied == {"token": REDACTED, "n": [1, 2.5, True, None]}
    assert copied["n"] is not value["n"]


def test_default_keys_each_match() -> None:
    """Every default fragment hides its key, case-insensitively, with - read as _."""
    for key in DEFAULT_SECRET_KEYS:
        assert redact({key.upper().replace("_", "-"): "v"}) == {
            key.upper().replace("_", "-"): REDACTED
        }
    assert redact({"name": "v"}) == {"name": "v"}


def test_custom_keys_replace_the_defaults() -> None:
    """keys= is the whole list: a default key is shown when it is not in it."""
    assert redact({"ssn": 1, "password": "p"}, keys=("SSN",)) == {"ssn": REDACTED, "password": "p"}


def test_non_string_keys_are_matched_by_repr() -> None:
    """A non-str key becomes its repr in the copy."""
    assert redact({1: "a", ("token", 2): "b"}) == {"1": "a", "('token', 2)": REDACTED}


def test_patterns_hide_secret_values_in_strings() -> None:
    """Each match of a pattern is replaced; compiled patterns are accepted too."""
    patterns = (*SECRET_VALUE_PATTERNS, re.compile(r"sk-\w+"))
    text = "use Bearer abc.DEF-1 and AKIAABCDEFGHIJKLMNOP, eyJa.eyJb.sig, sk-live1 ok"
    assert redact({"note": text}, patterns=patterns) == {
        "note": f"use {REDACTED} and {REDACTED}, {REDACTED}, {REDACTED} ok"
    }
    assert redact("Bearer x") == "Bearer x"  # no patterns by default


def test_long_strings_are_cut_with_a_marker() -> None:
    """A string over max_chars keeps max_chars characters and says how many were dropped."""
    assert redact("abcdef", max_chars=4) == "abcd...[+2 chars]"
    assert redact("abcd", max_chars=4) == "abcd"


def test_long_containers_keep_their_first_items() -> None:
    """Lists, tuples and mappings over max_items are cut with a marker."""
    assert redact([1, 2, 3], max_items=2) == [1, 2, "[+1 items]"]
    assert redact((1, 2), max_items=2) == (1, 2)
    assert redact({"a": 1, "b": 2, "c": 3}, max_items=2) == {"a": 1, "b": 2, "...": "[+1 items]"}
    assert redact({"a": 1, "b": 2}, max_items=2) == {"a": 1, "b": 2}


def test_depth_is_bounded() -> None:
    """Past max_depth a container becomes a marker naming its type."""
    value = {"a": [{"b": 1}]}
    assert redact(value, max_depth=2) == {"a": ["[dict deeper than max_depth=2]"]}
    assert redact(value, max_depth=3) == {"a": [{"b": 1}]}
    assert redact([1], max_depth=0) == "[list deeper than max_depth=0]"


def test_cycles_are_safe_and_shared_objects_are_not_cycles() -> None:
    """A container inside itself becomes '[cycle]'; the same object twice side by side is copied."""
    loop: list[Any] = [1]
    loop.append(loop)
    shared = {"k": 1}
    assert redact(loop) == [1, "[cycle]"]
    assert redact([shared, shared]) == [{"k": 1}, {"k": 1}]


def test_other_objects_become_redacted_reprs() -> None:
    """Bytes give their size; sets are listed; any other object is its repr, patterns applied."""
    assert redact(b"abc") == "<3 bytes>"
    assert redact(bytearray(2)) == "<2 bytes>"
    assert redact({3}) == [3]
    assert redact(frozenset({"a"})) == ["a"]
    assert redact(ValueError("Bearer zz"), patterns=SECRET_VALUE_PATTERNS) == (
        f"ValueError('{REDACTED}')"
    )
    assert redact(Principal(id="u1")) == {"id": "u1", "roles": [], "claims": {}}
    assert redact(Login) == repr(Login)


def test_secret_key_reports_the_match() -> None:
    """secret_key() is the key test the copy uses."""
    redactor = Redactor()
    assert redactor.secret_key("x-api-key") is True
    assert redactor.secret_key("query") is False


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"keys": "token"}, TypeError, "keys="),
        ({"keys": ("",)}, TypeError, "non-empty"),
        ({"keys": (3,)}, TypeError, "keys="),
        ({"patterns": "x"}, TypeError, "patterns="),
        ({"patterns": re.compile("x")}, TypeError, "patterns="),
        ({"patterns": ("(",)}, ValueError, "invalid regex '('"),
        ({"patterns": (3,)}, TypeError, "got 3"),
        ({"max_chars": 0}, ValueError, "max_chars= must be >= 1, got 0"),
        ({"max_chars": True}, TypeError, "max_chars="),
        ({"max_chars": 1.5}, TypeError, "max_chars="),
        ({"max_items": 0}, ValueError, "max_items= must be >= 1"),
        ({"max_depth": -1}, ValueError, "max_depth= must be >= 0, got -1"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict[str, Any], error: type, words: str) -> None:
    """Each option is checked at construction, and the message names it and the value."""
    with pytest.raises(error, match=re.escape(words)):
        Redactor(**options)
    with pytest.raises(error, match=re.escape(words)):
        redact({}, **options)


def test_boundaries_are_accepted() -> None:
    """The smallest allowed values work."""
    assert Redactor(max_chars=1, max_items=1, max_depth=0)("ab") == "a...[+1 chars]"

"""Tests for toolware.errors: categories, transport codes, to_dict, bind and cause chains."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from toolware.errors import (
    BuilderFrozenError,
    CallCancelledError,
    CallTimeoutError,
    CircuitOpenError,
    ErrorCategory,
    FieldError,
    ForbiddenError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    RegistrationError,
    RegistryCollisionError,
    SetupError,
    ToolFailedError,
    ToolwareError,
    UnauthenticatedError,
    UnavailableError,
)

# The table in the errors module docstring: class, required kwargs, category, retryable,
# HTTP status, JSON-RPC code.
TABLE: list[tuple[type[ToolwareError], dict[str, Any], str, bool, int, int]] = [
    (InvalidRequestError, {}, "invalid_request", False, 422, -32602),
    (NotFoundError, {}, "not_found", False, 404, -32602),
    (UnauthenticatedError, {}, "unauthenticated", False, 401, -32001),
    (ForbiddenError, {}, "forbidden", False, 403, -32002),
    (RateLimitedError, {"retry_after": 1.0}, "rate_limited", True, 429, -32003),
    (CircuitOpenError, {"retry_after": 1.0}, "circuit_open", True, 503, -32004),
    (CallTimeoutError, {"limit": 1.0}, "timeout", False, 504, -32005),
    (UnavailableError, {}, "unavailable", True, 503, -32006),
    (ToolFailedError, {}, "tool_failed", False, 502, -32007),
    (CallCancelledError, {}, "cancelled", False, 499, -32800),
    (InternalError, {}, "internal", False, 500, -32603),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "category", "retryable", "http", "jsonrpc"),
    TABLE,
    ids=[row[0].__name__ for row in TABLE],
)
def test_every_category_matches_the_table(
    cls: type[ToolwareError],
    kwargs: dict[str, Any],
    category: str,
    retryable: bool,
    http: int,
    jsonrpc: int,
) -> None:
    """Each error class has the category, default retryability and codes the table gives."""
    error = cls("message", **kwargs)
    assert error.category == ErrorCategory(category)
    assert error.category.value == category
    assert error.retryable is retryable
    assert error.http_status == http
    assert error.jsonrpc_code == jsonrpc
    data = error.to_dict()
    assert (data["category"], data["retryable"], data["http_status"], data["jsonrpc_code"]) == (
        category,
        retryable,
        http,
        jsonrpc,
    )
    assert isinstance(error, ToolwareError)


def test_table_covers_every_category() -> None:
    """Every ErrorCategory has a class in the table, exactly once."""
    assert sorted(row[2] for row in TABLE) == sorted(c.value for c in ErrorCategory)


def test_retryable_can_be_overridden() -> None:
    """An explicit retryable= wins over the class default, both ways."""
    assert ToolFailedError("x", retryable=True).retryable is True
    assert UnavailableError("x", retryable=False).retryable is False


def test_hint_defaults_and_override() -> None:
    """The class hint is used unless one is given; str() shows it."""
    error = UnavailableError("registry down")
    assert error.hint == "try again later"
    assert str(error) == "registry down (hint: try again later)"
    custom = UnavailableError("registry down", hint="check the VPN")
    assert custom.to_dict()["hint"] == "check the VPN"
    assert str(CallCancelledError("gone")) == "gone"


def test_repr_names_class_message_and_target() -> None:
    """repr() shows the class, message and target."""
    error = ToolFailedError("broke", target="search")
    assert repr(error) == "ToolFailedError('broke', target='search')"


def test_to_dict_has_exactly_the_documented_keys() -> None:
    """to_dict() has the common keys plus the category's details, and is JSON-ready."""
    error = ForbiddenError("no", request_id="r1", target="search")
    data = error.to_dict()
    assert data == {
        "category": "forbidden",
        "message": "no",
        "hint": "ask for a role that allows this call",
        "retryable": False,
        "request_id": "r1",
        "target": "search",
        "http_status": 403,
        "jsonrpc_code": -32002,
        "causes": [],
    }
    json.dumps(data)


def test_to_dict_never_leaks_a_cause_message() -> None:
    """A cause's message stays in the process: only its type name is in to_dict()."""
    try:
        try:
            raise ValueError("secret-token")
        except ValueError as exc:
            raise ToolFailedError("the tool failed") from exc
    except ToolFailedError as caught:
        error = caught
    data = error.to_dict()
    assert data["causes"] == ["ValueError"]
    assert "secret-token" not in json.dumps(data)


def test_to_dict_qualifies_non_builtin_cause_types() -> None:
    """Non-builtin cause types are named with their module."""
    error = ToolFailedError("x")
    error.__cause__ = json.JSONDecodeError("bad", "doc", 0)
    assert error.to_dict()["causes"] == ["json.decoder.JSONDecodeError"]


def test_to_dict_has_no_arguments() -> None:
    """Nothing in to_dict() comes from call arguments: there is no arguments key."""
    error = InvalidRequestError("bad", fields=(FieldError("password", "too short"),))
    data = error.to_dict()
    assert "arguments" not in data
    assert data["fields"] == [{"field": "password", "problem": "too short", "expected": None}]


def test_bind_fills_only_missing_fields() -> None:
    """bind() sets request id and target where unknown and keeps those already set."""
    unbound = ToolFailedError("x")
    assert unbound.bind("r1", "search") is unbound
    assert (unbound.request_id, unbound.target) == ("r1", "search")
    assert unbound.bind("r1", "ignored") is unbound  # same call: nothing to change
    assert (unbound.request_id, unbound.target) == ("r1", "search")
    partly = ToolFailedError("x", target="inner")
    partly.bind("r3", "outer")
    assert (partly.request_id, partly.target) == ("r3", "inner")


def test_bind_to_another_call_returns_a_bound_copy() -> None:
    """An error already bound to one call is copied for the next, with its cause chain."""
    shared = RateLimitedError("slow down", retry_after=2.0)
    shared.__cause__ = ConnectionError("upstream")
    first = shared.bind("r1", "search")
    second = shared.bind("r2", "translate")
    assert first is shared
    assert (first.request_id, first.target) == ("r1", "search")
    assert second is not shared
    assert (second.request_id, second.target) == ("r2", "translate")
    assert isinstance(second, RateLimitedError)
    assert second.retry_after == 2.0
    assert second.__cause__ is shared.__cause__


def test_causes_follows_cause_and_context_nearest_first() -> None:
    """causes() walks __cause__ and implicit __context__, nearest first."""
    root = OSError("disk")
    middle = KeyError("k")
    middle.__context__ = root
    error = ToolFailedError("x")
    error.__cause__ = middle
    assert list(error.causes()) == [middle, root]


def test_causes_stops_on_a_cycle() -> None:
    """A cause cycle is walked once, not forever."""
    first = ValueError("a")
    second = TypeError("b")
    first.__cause__ = second
    second.__cause__ = first
    error = ToolFailedError("x")
    error.__cause__ = first
    assert list(error.causes()) == [first, second]


def test_causes_stops_on_a_cycle_back_to_the_error() -> None:
    """A chain leading back to the error itself ends there."""
    error = ToolFailedError("x")
    cause = ValueError("a")
    error.__cause__ = cause
    cause.__cause__ = error
    assert list(error.causes()) == [cause]


def test_causes_respects_raise_from_none() -> None:
    """`raise ... from None` hides the context, as Python's own traceback does."""
    try:
        try:
            raise ValueError("secret")
        except ValueError:
            raise ToolFailedError("x") from None
    except ToolFailedError as caught:
        error = caught
    assert error.__context__ is not None
    assert list(error.causes()) == []
    assert error.to_dict()["causes"] == []


def test_explicit_cause_wins_over_context() -> None:
    """With both, the explicit __cause__ is followed, not the context."""
    try:
        try:
            raise KeyError("ctx")
        except KeyError:
            raise ToolFailedError("x") from OSError("cause")
    except ToolFailedError as caught:
        error = caught
    assert [type(c) for c in error.causes()] == [OSError]


def test_not_found_hint_names_candidates() -> None:
    """NotFoundError turns close matches into a 'did you mean' hint and lists them."""
    error = NotFoundError("no tool 'serch'", candidates=("search", "research"))
    assert error.hint == "did you mean 'search' or 'research'?"
    assert error.candidates == ("search", "research")
    assert error.to_dict()["candidates"] == ["search", "research"]


def test_not_found_without_candidates_uses_the_default_hint() -> None:
    """Without candidates the hint says how to list entries; an explicit hint wins."""
    assert "registry.list()" in NotFoundError("no tool 'x'").hint
    explicit = NotFoundError("x", candidates=("y",), hint="custom")
    assert explicit.hint == "custom"
    assert explicit.to_dict()["candidates"] == ["y"]


def test_invalid_request_fields() -> None:
    """InvalidRequestError carries its FieldErrors and lists them in to_dict()."""
    fields = (FieldError("limit", "must be >= 1", "integer >= 1"), FieldError("q", "missing"))
    error = InvalidRequestError("bad arguments", fields=fields, target="search")
    assert error.fields == fields
    assert error.to_dict()["fields"] == [
        {"field": "limit", "problem": "must be >= 1", "expected": "integer >= 1"},
        {"field": "q", "problem": "missing", "expected": None},
    ]
    assert InvalidRequestError("bad").to_dict()["fields"] == []


@pytest.mark.parametrize("cls", [RateLimitedError, CircuitOpenError])
def test_retry_after_details(cls: type[RateLimitedError]) -> None:
    """Rate-limit and circuit errors carry retry_after into to_dict()."""
    error = cls("wait", retry_after=2.5)
    assert error.retry_after == 2.5
    assert error.to_dict()["retry_after"] == 2.5


def test_timeout_limit_details() -> None:
    """CallTimeoutError carries its limit into to_dict()."""
    error = CallTimeoutError("too slow", limit=1.5)
    assert error.limit == 1.5
    assert error.to_dict()["limit"] == 1.5


def test_internal_error_names_the_interceptor() -> None:
    """InternalError carries the culprit interceptor into to_dict()."""
    assert InternalError("bug", interceptor="auth").to_dict()["interceptor"] == "auth"
    assert InternalError("bug").to_dict()["interceptor"] is None


@pytest.mark.parametrize(
    "error",
    [
        RateLimitedError("wait", retry_after=2.5, request_id="r1", target="t"),
        CallTimeoutError("slow", limit=1.0, retryable=True),
        NotFoundError("x", candidates=("y",)),
        InvalidRequestError("bad", fields=(FieldError("a", "b"),)),
        InternalError("bug", interceptor="auth"),
        ToolFailedError("broke", hint="h"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_copy_and_pickle_with_all_fields(error: ToolwareError) -> None:
    """copy and pickle rebuild errors whose __init__ takes required keyword arguments."""
    for clone in (copy.copy(error), copy.deepcopy(error), pickle.loads(pickle.dumps(error))):
        assert type(clone) is type(error)
        assert clone is not error
        assert clone.to_dict() == error.to_dict()
        assert str(clone) == str(error)
        assert clone.args == error.args


def test_copied_error_binds_independently() -> None:
    """bind() on a copy leaves the original unbound."""
    original = RateLimitedError("wait", retry_after=1.0)
    clone = copy.copy(original).bind("r1", "t")
    assert clone.request_id == "r1"
    assert original.request_id is None


def test_setup_errors_are_standard_exception_types() -> None:
    """Setup errors are SetupErrors and ValueError/RuntimeError, not call errors."""
    assert issubclass(RegistrationError, SetupError)
    assert issubclass(RegistrationError, ValueError)
    assert issubclass(RegistryCollisionError, SetupError)
    assert issubclass(RegistryCollisionError, ValueError)
    assert issubclass(BuilderFrozenError, SetupError)
    assert issubclass(BuilderFrozenError, RuntimeError)
    for cls in (SetupError, RegistrationError, RegistryCollisionError, BuilderFrozenError):
        assert not issubclass(cls, ToolwareError)


def test_field_error_is_frozen() -> None:
    """FieldError values cannot be changed."""
    field = FieldError("a", "b")
    with pytest.raises(AttributeError):
        field.field = "c"  # type: ignore[misc]

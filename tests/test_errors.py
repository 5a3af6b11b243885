"""Tests for toolware.errors: categories, to_dict, bounds, bind and cause chains."""

from __future__ import annotations

import copy
import json
import pickle
import tracemalloc
from typing import Any

import pytest

from toolware import _limits
from toolware.errors import (
    BuilderFrozenError,
    CallCancelledError,
    CallTimeoutError,
    CircuitOpenError,
    ConcurrencyLimitedError,
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
    describe_exception,
)

# The tree in the errors module docstring: class, required kwargs, category, retryable.
TABLE: list[tuple[type[ToolwareError], dict[str, Any], str, bool]] = [
    (InvalidRequestError, {}, "invalid_request", False),
    (NotFoundError, {}, "not_found", False),
    (UnauthenticatedError, {}, "unauthenticated", False),
    (ForbiddenError, {}, "forbidden", False),
    (RateLimitedError, {"retry_after": 1.0}, "rate_limited", True),
    (CircuitOpenError, {"retry_after": 1.0}, "circuit_open", True),
    (CallTimeoutError, {"limit": 1.0}, "timeout", False),
    (UnavailableError, {}, "unavailable", True),
    (
        ConcurrencyLimitedError,
        {"limit": 4, "in_flight": 4, "waiting": 2, "max_waiting": 2},
        "unavailable",
        True,
    ),
    (ToolFailedError, {}, "tool_failed", False),
    (CallCancelledError, {}, "cancelled", False),
    (InternalError, {}, "internal", False),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "category", "retryable"),
    TABLE,
    ids=[row[0].__name__ for row in TABLE],
)
def test_every_category_matches_the_table(
    cls: type[ToolwareError],
    kwargs: dict[str, Any],
    category: str,
    retryable: bool,
) -> None:
    """Each error class has the category and default retryability the tree gives, no codes."""
    error = cls("message", **kwargs)
    assert error.category == ErrorCategory(category)
    assert error.category.value == category
    assert error.retryable is retryable
    assert not hasattr(error, "http_status")
    assert not hasattr(error, "jsonrpc_code")
    data = error.to_dict()
    assert (data["category"], data["retryable"]) == (category, retryable)
    assert "http_status" not in data
    assert "jsonrpc_code" not in data
    assert isinstance(error, ToolwareError)


def test_table_covers_every_category() -> None:
    """Every ErrorCategory has a base class in the table, exactly once (subclasses such as
    ConcurrencyLimitedError share their base's category)."""
    bases = [row for row in TABLE if row[0] is not ConcurrencyLimitedError]
    assert sorted(row[2] for row in bases) == sorted(c.value for c in ErrorCategory)


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
    assert data["fields_omitted"] == 0


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
    assert error.to_dict()["fields_omitted"] == 0
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
    assert error.started is True
    assert error.to_dict()["started"] is True
    waited = CallTimeoutError("never started", limit=1.5, started=False)
    assert (waited.started, waited.to_dict()["started"]) == (False, False)
    assert waited.hint == "the call never started; raise the timeout or lower the load"
    assert "cheaper" in error.hint
    assert CallTimeoutError("x", limit=1.0, started=False, hint="h").hint == "h"


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


# --- typed constructors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [(row[0], row[1]) for row in TABLE],
    ids=[row[0].__name__ for row in TABLE],
)
def test_a_misspelled_keyword_is_refused(cls: type[ToolwareError], kwargs: dict[str, Any]) -> None:
    """Every constructor names its keywords: hnt= is a TypeError, not silently dropped."""
    with pytest.raises(TypeError, match="hnt"):
        cls("message", hnt="x", **kwargs)


@pytest.mark.parametrize(
    ("error", "attribute", "value"),
    [
        (
            RateLimitedError("m", retry_after=2.5, hint="h", request_id="r", target="t"),
            "retry_after",
            2.5,
        ),
        (
            CircuitOpenError("m", retry_after=4.0, hint="h", request_id="r", target="t"),
            "retry_after",
            4.0,
        ),
        (
            InvalidRequestError(
                "m", fields=(FieldError("a", "b"),), hint="h", request_id="r", target="t"
            ),
            "fields",
            (FieldError("a", "b"),),
        ),
        (
            NotFoundError("m", candidates=("x",), hint="h", request_id="r", target="t"),
            "candidates",
            ("x",),
        ),
        (
            CallTimeoutError("m", limit=1.0, started=False, hint="h", request_id="r", target="t"),
            "started",
            False,
        ),
        (
            InternalError("m", interceptor="auth", hint="h", request_id="r", target="t"),
            "interceptor",
            "auth",
        ),
        (
            ConcurrencyLimitedError(
                "m",
                limit=4,
                in_flight=4,
                waiting=1,
                max_waiting=2,
                hint="h",
                request_id="r",
                target="t",
            ),
            "waiting",
            1,
        ),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, ToolwareError) else None,
)
def test_constructors_keep_every_keyword(
    error: ToolwareError, attribute: str, value: object
) -> None:
    """Each subclass passes the common keywords on and keeps its own."""
    assert getattr(error, attribute) == value
    assert (error.hint, error.request_id, error.target) == ("h", "r", "t")
    assert error.to_dict()["hint"] == "h"
    assert InvalidRequestError("m", retryable=True).retryable is True


def test_base_category_is_internal() -> None:
    """A bare ToolwareError (a bug) is internal and not retryable."""
    error = ToolwareError("x")
    assert error.category is ErrorCategory.INTERNAL
    assert error.to_dict()["category"] == "internal"
    assert error.retryable is False


def test_copy_keeps_the_whole_chain() -> None:
    """copy() keeps __cause__, __context__ and __suppress_context__."""
    error = ToolFailedError("x")
    error.__cause__ = KeyError("cause")
    error.__context__ = OSError("context")
    error.__suppress_context__ = True
    clone = error.copy()
    assert clone.__cause__ is error.__cause__
    assert clone.__context__ is error.__context__
    assert clone.__suppress_context__ is True


# --- bounded messages and to_dict() -------------------------------------------------------


def test_messages_and_hints_are_cut_with_a_marker() -> None:
    """A huge message or hint is cut to MAX_MESSAGE_CHARS and says how much was cut."""
    error = ToolFailedError("x" * 100_000, hint="h" * 5_000)
    assert len(error.message) <= _limits.MAX_MESSAGE_CHARS
    assert error.message.endswith("more characters]")
    assert "99" in error.message.rsplit("[", 1)[1]
    assert len(error.hint) <= _limits.MAX_MESSAGE_CHARS
    assert error.args == (error.message,)
    assert ToolFailedError("short").message == "short"


def test_field_lists_are_capped_and_counted() -> None:
    """At most MAX_FIELDS fields are kept; fields_omitted counts the rest."""
    fields = [FieldError(f"f{i}", "missing") for i in range(1_000)]
    error = InvalidRequestError("bad", fields=iter(fields), fields_omitted=5)
    assert error.fields == tuple(fields[: _limits.MAX_FIELDS])
    assert error.fields_omitted == 1_000 - _limits.MAX_FIELDS + 5
    assert error.to_dict()["fields_omitted"] == error.fields_omitted


def test_field_texts_are_cut() -> None:
    """A field's path, problem and expected text are each bounded."""
    long = "y" * 10_000
    [field] = InvalidRequestError("bad", fields=(FieldError(long, long, long),)).fields
    for text in (field.field, field.problem, field.expected):
        assert text is not None
        assert len(text) <= _limits.MAX_FIELD_TEXT_CHARS


def test_candidates_are_capped_and_escaped() -> None:
    """At most MAX_CANDIDATES close matches, each short and with control characters escaped."""
    error = NotFoundError("no", candidates=("a", "b\nc", "d" * 500, "e", "f"))
    assert len(error.candidates) == _limits.MAX_CANDIDATES
    assert error.candidates[:2] == ("a", "b\\nc")
    assert len(error.candidates[2]) <= 70
    assert "\n" not in error.hint


def test_to_dict_bounds_caller_supplied_ids_and_targets() -> None:
    """A 1 MB target or request id does not make a 1 MB to_dict()."""
    error = ToolFailedError("x", request_id="r" * 1_000_000, target="t" * 1_000_000)
    assert len(json.dumps(error.to_dict())) < 3_000


def test_safe_name() -> None:
    """Names are cut, control characters escaped, non-strings named by type."""
    assert _limits.safe_name("ok") == "ok"
    assert _limits.safe_name("a\x00b\x1b") == "a\\x00b\\x1b"
    assert _limits.safe_name("s" * 100) == "s" * _limits.MAX_NAME_CHARS + "..."
    assert _limits.safe_name(3) == "3"
    assert _limits.safe_name(10**30) == "<int>"
    assert _limits.safe_name(b"x") == "<bytes>"
    assert _limits.bounded("abc", 10) == "abc"
    assert _limits.bounded("a" * 50, 5) == "... [50 more characters]"


# --- bind() and reused error objects ------------------------------------------------------

SHARED = ToolFailedError("shared failure")


def _failing_tool(payload: bytes) -> None:
    raise SHARED


def _traceback_depth(error: BaseException) -> int:
    depth, tb = 0, error.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    return depth


def test_a_reused_error_does_not_accumulate_tracebacks() -> None:
    """Raising one module-level error for 2,000 calls keeps neither their frames nor their
    arguments: bind() hands each call a copy with its own traceback and clears the original's."""
    bound: ToolwareError | None = None

    def call(number: int) -> ToolwareError:
        try:
            _failing_tool(bytes(10_000))
        except ToolwareError as error:
            return error.bind(f"r{number}", "tool")
        raise AssertionError("unreachable")

    tracemalloc.start()
    try:
        call(0)
        before, _ = tracemalloc.get_traced_memory()
        for number in range(2_000):
            bound = call(number)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert SHARED.__traceback__ is None
    assert SHARED.request_id is None
    assert bound is not None
    assert bound is not SHARED
    assert bound.request_id == "r1999"
    assert 1 <= _traceback_depth(bound) <= 3  # this raise's frames only
    assert after - before < 200_000  # 2,000 x 10 KB would be 20 MB


def test_a_raised_error_is_bound_as_a_copy_with_its_traceback() -> None:
    """A raised error's bound copy keeps the traceback and the cause; the original is detached."""
    original = ToolFailedError("x")
    try:
        raise original from KeyError("k")
    except ToolFailedError as caught:
        bound = caught.bind("r1", "t")
    assert bound is not original
    assert bound.__traceback__ is not None
    assert original.__traceback__ is None
    assert isinstance(bound.__cause__, KeyError)
    assert (bound.request_id, bound.target, original.request_id) == ("r1", "t", None)


def test_a_copy_keeps_the_exception_arguments() -> None:
    """copy() keeps args (and so str() and pickling) as well as the fields."""
    error = ToolFailedError("boom", retryable=True)
    clone = error.copy()
    assert clone.args == error.args
    assert str(clone) == str(error)


def test_causes_walk_the_chain_once_even_when_it_loops() -> None:
    """causes() yields each underlying exception once, nearest first, and stops at a loop."""
    error = ToolFailedError("outer")
    first, second = ValueError("first"), KeyError("second")
    error.__cause__ = first
    first.__cause__ = second
    assert list(error.causes()) == [first, second]
    second.__cause__ = first  # first -> second -> first
    assert list(error.causes()) == [first, second]


def test_an_exception_without_text_is_described_by_its_type_alone() -> None:
    """describe_exception() gives 'ValueError', not 'ValueError: '."""
    assert describe_exception(ValueError()) == "ValueError"
    assert describe_exception(ValueError("bad")) == "ValueError: bad"


def test_candidates_are_cut_at_64_characters() -> None:
    """A long suggested name is shown by its first 64 characters and a marker."""
    error = NotFoundError("no tool 'x'", candidates=["a" * 100])
    assert error.candidates == ("a" * 64 + "...",)


def test_concurrency_limited_says_how_full_it_was() -> None:
    """A bulkhead refusal is `unavailable`, retryable, and carries the four occupancy figures."""
    error = ConcurrencyLimitedError("full", limit=4, in_flight=4, waiting=2, max_waiting=2)
    assert isinstance(error, UnavailableError)
    data = error.to_dict()
    assert (data["limit"], data["in_flight"], data["waiting"], data["max_waiting"]) == (4, 4, 2, 2)
    assert data["category"] == "unavailable"
    assert "concurrency limit" in error.hint

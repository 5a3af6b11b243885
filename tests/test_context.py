"""Tests for toolware.context: requests, read-only arguments and typed extras."""

from __future__ import annotations

import copy
import math
import pickle
import uuid
from collections import OrderedDict
from typing import Any

import msgspec
import pytest

from toolware.context import (
    Arguments,
    ExtraKey,
    Extras,
    Kind,
    Principal,
    RequestContext,
    ResponseContext,
    TraceContext,
)
from toolware.testing import FakeClock

TENANT = ExtraKey("tenant", str)
RETRIES = ExtraKey("retries", int, default=3)


# --- RequestContext.create ---------------------------------------------------------------


def test_create_fills_defaults() -> None:
    """create() with only a target gives a tool request with empty arguments and no extras."""
    request = RequestContext.create("search")
    assert request.target == "search"
    assert request.kind is Kind.TOOL
    assert request.arguments == {}
    assert isinstance(request.arguments, Arguments)
    assert request.action is None
    assert request.principal is None
    assert request.deadline is None
    assert request.trace is None
    assert len(request.extras) == 0


def test_create_generates_a_uuid7_id_per_request() -> None:
    """Each created request gets a fresh id that parses as a version-7 UUID."""
    first = RequestContext.create("search")
    second = RequestContext.create("search")
    assert first.id != second.id
    assert uuid.UUID(first.id).version == 7


def test_create_stamps_the_id_with_the_given_clock() -> None:
    """The id's millisecond prefix comes from the clock passed to create()."""
    clock = FakeClock(wall=1_700_000_000.123)
    request = RequestContext.create("search", clock=clock)
    assert uuid.UUID(request.id).int >> 80 == 1_700_000_000_123


def test_create_keeps_an_explicit_id_and_every_field() -> None:
    """Every keyword given to create() lands on the request unchanged."""
    principal = Principal(id="u1", roles=frozenset({"admin"}))
    trace = TraceContext(traceparent="00-abc-def-01")
    extras = Extras().with_value(TENANT, "acme")
    request = RequestContext.create(
        "notes",
        {"text": "hi"},
        kind=Kind.PLUGIN,
        action="add",
        principal=principal,
        deadline=12.5,
        trace=trace,
        extras=extras,
        id="req-1",
    )
    assert request.id == "req-1"
    assert request.kind is Kind.PLUGIN
    assert request.action == "add"
    assert request.principal is principal
    assert request.deadline == 12.5
    assert request.trace is trace
    assert request.get(TENANT) == "acme"
    assert request.qualified_name == "notes.add"


def test_create_accepts_kind_as_its_string_value() -> None:
    """A kind given as its string value is converted to the Kind enum."""
    request = RequestContext.create("docs", kind="rag")  # type: ignore[arg-type]
    assert request.kind is Kind.RAG


def test_create_refuses_an_unknown_kind() -> None:
    """A kind string that is not a Kind value is refused."""
    with pytest.raises(ValueError, match="bogus"):
        RequestContext.create("docs", kind="bogus")  # type: ignore[arg-type]


@pytest.mark.parametrize("target", ["", None, 3])
def test_create_refuses_a_bad_target(target: Any) -> None:
    """An empty or non-string target is refused with the value in the message."""
    with pytest.raises(ValueError, match="target must be a non-empty string"):
        RequestContext.create(target)


@pytest.mark.parametrize("arguments", [[("a", 1)], "", [], 0, "text"])
def test_create_refuses_non_mapping_arguments(arguments: Any) -> None:
    """Arguments that are not a mapping are refused, even falsy ones such as '' or []."""
    with pytest.raises(TypeError, match="arguments must be a mapping"):
        RequestContext.create("search", arguments)


def test_create_copies_the_callers_dict() -> None:
    """Changing the caller's dict afterwards does not change the request."""
    source = {"query": "tea"}
    request = RequestContext.create("search", source)
    source["query"] = "coffee"
    source["extra"] = 1
    assert request.arguments == {"query": "tea"}


def test_create_accepts_any_mapping() -> None:
    """A non-dict mapping is copied into read-only Arguments."""
    request = RequestContext.create("search", OrderedDict(query="tea"))
    assert type(request.arguments) is Arguments
    assert request.arguments == {"query": "tea"}


def test_create_reuses_arguments_that_are_already_read_only() -> None:
    """Arguments that are already read-only are not copied again."""
    arguments = RequestContext.create("search", {"query": "tea"}).arguments
    assert RequestContext.create("other", arguments).arguments is arguments


def test_qualified_name_is_the_target_without_action() -> None:
    """Without an action the qualified name is just the target."""
    assert RequestContext.create("search").qualified_name == "search"


def test_request_is_frozen() -> None:
    """Request fields cannot be assigned."""
    request = RequestContext.create("search")
    with pytest.raises(AttributeError):
        request.target = "other"  # type: ignore[misc]


# --- Arguments -----------------------------------------------------------------------------


def _arguments() -> Any:
    return RequestContext.create("search", {"query": "tea", "limit": 2}).arguments


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda a: a.__setitem__("query", "x"), id="setitem"),
        pytest.param(lambda a: a.__delitem__("query"), id="delitem"),
        pytest.param(lambda a: a.clear(), id="clear"),
        pytest.param(lambda a: a.pop("query"), id="pop"),
        pytest.param(lambda a: a.pop("missing", None), id="pop-default"),
        pytest.param(lambda a: a.popitem(), id="popitem"),
        pytest.param(lambda a: a.setdefault("new", 1), id="setdefault"),
        pytest.param(lambda a: a.update(new=1), id="update"),
        pytest.param(lambda a: a.__ior__({"new": 1}), id="ior"),
    ],
)
def test_arguments_refuse_every_mutating_method(mutate: Any) -> None:
    """Every mutating dict method raises TypeError and leaves the arguments unchanged."""
    arguments = _arguments()
    with pytest.raises(TypeError, match=r"read-only; use request.with_arguments"):
        mutate(arguments)
    assert arguments == {"query": "tea", "limit": 2}


def test_arguments_refuse_item_assignment_syntax() -> None:
    """`arguments[key] = value`, `del` and `|=` are refused too."""
    arguments = _arguments()
    with pytest.raises(TypeError):
        arguments["query"] = "x"
    with pytest.raises(TypeError):
        del arguments["query"]
    with pytest.raises(TypeError):
        arguments |= {"x": 1}
    assert arguments == {"query": "tea", "limit": 2}


def test_arguments_still_read_like_a_dict() -> None:
    """Reading, unpacking and `|` (which makes a new plain dict) work as on a dict."""
    arguments = _arguments()

    def handler(query: str, limit: int) -> tuple[str, int]:
        return query, limit

    assert handler(**arguments) == ("tea", 2)
    assert arguments.get("query") == "tea"
    merged = arguments | {"limit": 5}
    assert type(merged) is dict
    assert merged == {"query": "tea", "limit": 5}
    assert repr(arguments) == "Arguments({'query': 'tea', 'limit': 2})"


def test_arguments_survive_copy_and_pickle_as_read_only() -> None:
    """copy, deepcopy and pickle give equal Arguments that still refuse changes."""
    arguments = _arguments()
    for clone in (
        copy.copy(arguments),
        copy.deepcopy(arguments),
        pickle.loads(pickle.dumps(arguments)),
    ):
        assert type(clone) is Arguments
        assert clone == arguments
        with pytest.raises(TypeError):
            clone["query"] = "x"


def test_arguments_encode_as_a_json_object() -> None:
    """msgspec encodes Arguments as a plain JSON object."""
    assert msgspec.json.decode(msgspec.json.encode(_arguments())) == {"query": "tea", "limit": 2}


# --- with_* copies -------------------------------------------------------------------------


def test_with_arguments_returns_a_changed_copy() -> None:
    """with_arguments() copies the request with new read-only arguments; the original stays."""
    original = RequestContext.create("search", {"query": "tea"})
    changed = original.with_arguments({"query": "coffee"})
    assert changed.arguments == {"query": "coffee"}
    assert type(changed.arguments) is Arguments
    assert original.arguments == {"query": "tea"}
    assert changed.id == original.id


def test_with_extra_returns_a_changed_copy() -> None:
    """with_extra() adds the extra to a copy only."""
    original = RequestContext.create("search")
    changed = original.with_extra(TENANT, "acme")
    assert changed.get(TENANT) == "acme"
    assert original.get(TENANT) is None
    assert TENANT not in original.extras


def test_with_deadline_sets_exactly_that_deadline() -> None:
    """with_deadline() can loosen or clear the deadline; the original stays."""
    original = RequestContext.create("search", deadline=10.0)
    assert original.with_deadline(20.0).deadline == 20.0
    assert original.with_deadline(None).deadline is None
    assert original.deadline == 10.0


def test_with_principal_and_with_trace_return_changed_copies() -> None:
    """with_principal() and with_trace() change a copy only."""
    original = RequestContext.create("search")
    principal = Principal(id="u1")
    trace = TraceContext(traceparent="00-a-b-01", tracestate="k=v")
    assert original.with_principal(principal).principal is principal
    assert original.with_trace(trace).trace is trace
    assert original.principal is None
    assert original.trace is None


@pytest.mark.parametrize(
    ("current", "proposed", "expected"),
    [(None, 5.0, 5.0), (10.0, 5.0, 5.0), (5.0, 10.0, 5.0), (5.0, 5.0, 5.0)],
)
def test_narrow_deadline_takes_the_earliest(
    current: float | None, proposed: float, expected: float
) -> None:
    """narrow_deadline() only ever tightens: the earlier of the current and proposed wins."""
    original = RequestContext.create("search", deadline=current)
    assert original.narrow_deadline(proposed).deadline == expected
    assert original.deadline == current


def test_narrow_deadline_returns_self_when_nothing_changes() -> None:
    """A looser deadline leaves the very same request (no copy)."""
    original = RequestContext.create("search", deadline=5.0)
    assert original.narrow_deadline(9.0) is original


def test_principal_defaults() -> None:
    """A principal has no roles and no claims unless given."""
    principal = Principal(id="u1")
    assert principal.roles == frozenset()
    assert principal.claims == {}


def test_trace_context_defaults() -> None:
    """A trace context has an empty tracestate unless given."""
    assert TraceContext(traceparent="00-a-b-01").tracestate == ""


# --- ExtraKey / Extras ---------------------------------------------------------------------


def test_extra_key_default_is_returned_when_missing() -> None:
    """A missing extra reads as the key's default, or None without one."""
    request = RequestContext.create("search")
    assert request.get(RETRIES) == 3
    assert request.get(TENANT) is None
    assert request.with_extra(RETRIES, 7).get(RETRIES) == 7


def test_extra_keys_with_the_same_name_do_not_clash() -> None:
    """Two keys named alike are different keys: each sees only its own value."""
    plugin_a_user = ExtraKey("user", str)
    plugin_b_user = ExtraKey("user", str)
    request = RequestContext.create("search").with_extra(plugin_a_user, "alice")
    assert request.get(plugin_a_user) == "alice"
    assert request.get(plugin_b_user) is None
    both = request.with_extra(plugin_b_user, "bob")
    assert (both.get(plugin_a_user), both.get(plugin_b_user)) == ("alice", "bob")
    assert len(both.extras) == 2


def test_extra_key_refuses_an_empty_name() -> None:
    """An ExtraKey needs a name."""
    with pytest.raises(ValueError, match="non-empty"):
        ExtraKey("", str)


def test_extra_key_repr_names_key_and_type() -> None:
    """The repr shows the name and the type name."""
    assert repr(TENANT) == "ExtraKey('tenant', str)"


def test_extras_with_value_and_without_return_copies() -> None:
    """with_value() and without() leave the original Extras untouched."""
    empty = Extras()
    one = empty.with_value(TENANT, "acme")
    assert len(empty) == 0
    assert TENANT in one
    assert list(one) == [TENANT]
    removed = one.without(TENANT)
    assert TENANT not in removed
    assert TENANT in one


def test_extras_equality_hash_and_repr() -> None:
    """Equal contents compare and hash equal; the repr shows names and values."""
    first = Extras({TENANT: "acme"})
    second = Extras().with_value(TENANT, "acme")
    assert first == second
    assert hash(first) == hash(second)
    assert first != Extras({TENANT: "other"})
    assert first != {TENANT: "acme"}
    assert repr(first) == "Extras(tenant='acme')"


def test_response_extras() -> None:
    """Responses carry typed extras like requests, on copies."""
    response = ResponseContext.success(1)
    tagged = response.with_extra(TENANT, "acme")
    assert tagged.get(TENANT) == "acme"
    assert response.get(TENANT) is None
    assert response.get(RETRIES) == 3


@pytest.mark.parametrize("deadline", [math.nan, math.inf, -math.inf])
def test_non_finite_deadlines_are_refused(deadline: float) -> None:
    """NaN or infinite deadlines would silently disable every limit, so they are refused."""
    request = RequestContext.create("search")
    with pytest.raises(ValueError, match="deadline must be a finite time"):
        RequestContext.create("search", deadline=deadline)
    with pytest.raises(ValueError, match="deadline must be a finite time"):
        request.with_deadline(deadline)
    with pytest.raises(ValueError, match="deadline must be a finite time"):
        request.narrow_deadline(deadline)


def test_an_extra_of_the_wrong_type_is_refused() -> None:
    """ExtraKey('tenant', str) refuses an int, naming the key and both types."""
    tenant = ExtraKey("tenant", str)
    with pytest.raises(TypeError, match="extra 'tenant' takes str, got int"):
        RequestContext.create("search").with_extra(tenant, 123)  # type: ignore[arg-type]
    parametrised = ExtraKey("ids", list[int])  # generic aliases cannot be checked: accepted
    assert RequestContext.create("search").with_extra(parametrised, [1]).get(parametrised) == [1]


def test_extra_keys_refuse_an_empty_name_use_their_default_and_show_their_type() -> None:
    """ExtraKey('') says what a name is; default= is what get() returns when unset; the repr
    shows the type's name, or the type itself when it has none (a union)."""
    with pytest.raises(ValueError, match="non-empty") as caught:
        ExtraKey("", str)
    assert str(caught.value) == (
        "ExtraKey name must be a non-empty string, e.g. ExtraKey('tenant', str)"
    )
    limit = ExtraKey("limit", int, default=10)
    assert RequestContext.create("x").get(limit) == 10
    assert repr(limit) == "ExtraKey('limit', int)"
    assert repr(ExtraKey("maybe", int | None)) == "ExtraKey('maybe', int | None)"


def test_extras_hash_by_content_and_show_every_pair() -> None:
    """Extras with different values hash apart (usable as keys); the repr lists each pair."""
    tenant, user = ExtraKey("tenant", str), ExtraKey("user", str)
    assert len({hash(Extras({tenant: str(i)})) for i in range(10)}) == 10
    assert repr(Extras({tenant: "acme", user: "bob"})) == "Extras(tenant='acme', user='bob')"


def test_arguments_refusals_say_how_to_change_or_pass_them() -> None:
    """Writing to the arguments, or passing a list, is refused with the fix."""
    request = RequestContext.create("x", {"a": 1})
    with pytest.raises(TypeError, match="read-only") as caught:
        request.arguments["a"] = 2  # type: ignore[index]
    assert str(caught.value) == (
        "call arguments are read-only; use request.with_arguments({...}) for a changed copy"
    )
    with pytest.raises(TypeError, match="mapping") as caught:
        RequestContext.create("x", [("a", 1)])  # type: ignore[arg-type]
    assert str(caught.value) == (
        "arguments must be a mapping of parameter names to values, got list"
    )


def test_empty_arguments_and_an_unchanged_deadline_allocate_nothing() -> None:
    """Every call without arguments shares one empty mapping (from a dict or another
    mapping); narrowing to the same deadline returns the request itself."""
    empty = RequestContext.create("x").arguments
    assert RequestContext.create("y", {}).arguments is empty
    assert RequestContext.create("z", OrderedDict()).arguments is empty
    request = RequestContext.create("x", deadline=5.0)
    assert request.narrow_deadline(5.0) is request

"""The registration options read by the resilience interceptors: retry= and cache=."""

from __future__ import annotations

import math

import pytest

from toolware.context import Kind
from toolware.errors import RegistrationError
from toolware.registry import CachePolicy, CacheScope, LocalRegistry


def _description(registry: LocalRegistry, name: str = "f"):  # type: ignore[no-untyped-def]
    return registry.resolve(Kind.TOOL, name).description


@pytest.mark.parametrize(
    ("idempotent", "retry", "may_repeat"),
    [
        (False, None, False),
        (True, None, True),
        (False, True, True),
        (True, False, False),
        (True, True, True),
        (False, False, False),
    ],
)
def test_may_repeat_follows_retry_then_idempotent(
    idempotent: bool, retry: bool | None, may_repeat: bool
) -> None:
    """retry= overrides idempotent for retry and hedging; None follows idempotent."""
    registry = LocalRegistry()
    registry.tool(lambda: 1, name="f", idempotent=idempotent, retry=retry)
    description = _description(registry)
    assert description.retry is retry
    assert description.may_repeat is may_repeat


def test_cache_true_is_the_default_policy_and_false_is_none() -> None:
    """cache=True means CachePolicy() (interceptor ttl, per principal); False and None: off."""
    registry = LocalRegistry()
    registry.tool(lambda: 1, name="on", cache=True)
    registry.tool(lambda: 1, name="off", cache=False)
    registry.tool(lambda: 1, name="unset")
    assert _description(registry, "on").cache == CachePolicy(ttl=None, scope=CacheScope.PRINCIPAL)
    assert _description(registry, "off").cache is None
    assert _description(registry, "unset").cache is None


def test_cache_policy_is_carried_and_described() -> None:
    """A CachePolicy reaches the entry and its JSON description."""
    registry = LocalRegistry()
    registry.tool(lambda: 1, name="f", cache=CachePolicy(ttl=5, scope="shared"))
    description = _description(registry)
    assert description.cache == CachePolicy(ttl=5, scope=CacheScope.SHARED)
    assert description.cache.scope is CacheScope.SHARED
    assert description.to_dict()["cache"] == {"ttl": 5, "scope": "shared"}


def test_lazy_entries_carry_retry_and_cache_before_import() -> None:
    """A lazy entry says retry= and cache= before its module is imported."""
    registry = LocalRegistry()
    registry.add_lazy("json:dumps", name="dump", retry=True, cache=True)
    description = next(d for d in registry.list() if d.name == "dump")
    assert description.loaded is False
    assert (description.retry, description.cache) == (True, CachePolicy())


@pytest.mark.parametrize("retry", ["yes", 1, 0])
def test_retry_must_be_a_bool_or_none(retry: object) -> None:
    """retry="yes" would be truthy and silently allow repeats: refused, naming the option."""
    with pytest.raises(RegistrationError, match=r"retry must be True, False or None"):
        LocalRegistry().tool(lambda: 1, name="f", retry=retry)


@pytest.mark.parametrize("cache", [60, "yes", {"ttl": 5}])
def test_cache_takes_a_bool_or_a_policy(cache: object) -> None:
    """cache=60 is not a ttl: the message shows the form to use."""
    with pytest.raises(RegistrationError, match=r"cache takes True, a CachePolicy"):
        LocalRegistry().tool(lambda: 1, name="f", cache=cache)


@pytest.mark.parametrize("ttl", [0, -1, math.nan, math.inf, True, "5"])
def test_cache_policy_ttl_is_a_positive_finite_number(ttl: object) -> None:
    """A bad ttl is refused when the policy is made, naming ttl."""
    with pytest.raises(ValueError, match=r"CachePolicy ttl must be a finite number of seconds"):
        CachePolicy(ttl=ttl)  # type: ignore[arg-type]


def test_cache_policy_scope_is_principal_or_shared() -> None:
    """An unknown scope names the two that exist."""
    with pytest.raises(ValueError, match=r"scope must be 'principal' or 'shared', got 'team'"):
        CachePolicy(scope="team")  # type: ignore[arg-type]
    assert CachePolicy(scope="principal").scope is CacheScope.PRINCIPAL  # type: ignore[arg-type]

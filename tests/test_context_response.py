"""Tests for toolware.context: ResponseContext, its invariant and its copies."""

from __future__ import annotations

import pytest

from toolware.context import (
    ExtraKey,
    ResponseContext,
)
from toolware.errors import NotFoundError, RateLimitedError, ToolFailedError, ToolwareError

TENANT = ExtraKey("tenant", str)
RETRIES = ExtraKey("retries", int, default=3)


# --- ResponseContext -----------------------------------------------------------------------


def test_success_factory() -> None:
    """success() holds the value and the timing, and no error."""
    response = ResponseContext.success("v", started_at=1.0, finished_at=3.5, attempts=2)
    assert response.ok
    assert response.value == "v"
    assert response.error is None
    assert response.elapsed == 2.5
    assert response.attempts == 2
    assert response.unwrap() == "v"


def test_success_may_hold_none() -> None:
    """A None value is a success (the tool returned nothing)."""
    response = ResponseContext.success(None)
    assert response.ok
    assert response.unwrap() is None


def test_failure_factory() -> None:
    """failure() holds the error and the timing, and no value."""
    error = ToolFailedError("broke")
    response = ResponseContext.failure(error, started_at=1.0, finished_at=2.0, attempts=3)
    assert not response.ok
    assert response.error is error
    assert response.value is None
    assert response.elapsed == 1.0
    assert response.attempts == 3


def test_unwrap_raises_the_error_itself() -> None:
    """unwrap() on a failure raises the very error it holds."""
    error = NotFoundError("no tool 'x'")
    with pytest.raises(NotFoundError) as caught:
        ResponseContext.failure(error).unwrap()
    assert caught.value is error


def test_failure_refuses_a_non_toolware_error() -> None:
    """failure() with a plain exception is a TypeError that says how to wrap it."""
    with pytest.raises(TypeError, match="failure\\(\\) takes a ToolwareError, got ValueError"):
        ResponseContext.failure(ValueError("x"))  # type: ignore[arg-type]


def test_constructor_refuses_value_and_error_together() -> None:
    """A response cannot hold both a value and an error."""
    with pytest.raises(ValueError, match="never both"):
        ResponseContext(value=1, error=ToolFailedError("x"))


def test_constructor_refuses_a_non_toolware_error() -> None:
    """The error field only holds ToolwareErrors, also when built directly."""
    with pytest.raises(TypeError, match="must be a ToolwareError, got KeyError"):
        ResponseContext(error=KeyError("x"))  # type: ignore[arg-type]


def test_evolve_keeps_the_invariant() -> None:
    """evolve() is checked like the constructor: adding a value to a failure is refused."""
    failure = ResponseContext.failure(ToolFailedError("x"))
    with pytest.raises(ValueError, match="never both"):
        failure.evolve(value=1)
    success = ResponseContext.success(1)
    with pytest.raises(ValueError, match="never both"):
        success.evolve(error=ToolFailedError("x"))
    with pytest.raises(TypeError, match="ToolwareError"):
        ResponseContext.success(None).evolve(error=RuntimeError("x"))


def test_evolve_changes_fields_on_a_copy() -> None:
    """evolve() changes the given fields and leaves the original alone."""
    original = ResponseContext.success(1, started_at=1.0, finished_at=2.0)
    changed = original.evolve(finished_at=4.0, attempts=2)
    assert (changed.finished_at, changed.attempts, changed.value) == (4.0, 2, 1)
    assert (original.finished_at, original.attempts) == (2.0, 1)


def test_with_value_clears_the_error() -> None:
    """with_value() on a failure turns it into a success (a fallback)."""
    failure = ResponseContext.failure(ToolFailedError("x"), started_at=1.0)
    recovered = failure.with_value("fallback")
    assert recovered.ok
    assert recovered.value == "fallback"
    assert recovered.started_at == 1.0
    assert not failure.ok


def test_with_error_clears_the_value() -> None:
    """with_error() on a success turns it into a failure."""
    error = RateLimitedError("slow down", retry_after=1.0)
    success = ResponseContext.success("v")
    failed = success.with_error(error)
    assert failed.error is error
    assert failed.value is None
    assert success.value == "v"


def test_with_error_refuses_a_plain_exception() -> None:
    """with_error() keeps the typed-error invariant."""
    with pytest.raises(TypeError, match="ToolwareError"):
        ResponseContext.success(1).with_error(ValueError("x"))  # type: ignore[arg-type]


def test_with_attempts() -> None:
    """with_attempts() sets the attempt count on a copy."""
    response = ResponseContext.success(1)
    assert response.with_attempts(4).attempts == 4
    assert response.attempts == 1


def test_response_defaults() -> None:
    """A bare response is a successful None with zero timing and one attempt."""
    response = ResponseContext()
    assert response.ok
    assert (response.value, response.started_at, response.finished_at) == (None, 0.0, 0.0)
    assert response.attempts == 1
    assert response.elapsed == 0.0


def test_response_is_frozen() -> None:
    """Response fields cannot be assigned."""
    response = ResponseContext.success(1)
    with pytest.raises(AttributeError):
        response.value = 2  # type: ignore[misc]


def test_toolware_error_is_accepted_as_base_class() -> None:
    """Any ToolwareError subclass, including the base, is a valid response error."""
    assert ResponseContext.failure(ToolwareError("x")).error is not None


def test_success_and_failure_defaults() -> None:
    """Without timings, success() and failure() start and finish at 0.0 after one attempt."""
    for response in (ResponseContext.success("v"), ResponseContext.failure(ToolFailedError("x"))):
        assert (response.started_at, response.finished_at, response.attempts) == (0.0, 0.0, 1)
        assert response.elapsed == 0.0


def test_malformed_responses_are_refused_with_the_constructor_to_use() -> None:
    """A value with an error, or an error that is not a ToolwareError: exact messages."""
    with pytest.raises(ValueError, match="never both") as both:
        ResponseContext(value=1, error=NotFoundError("x"))
    assert str(both.value) == (
        "a ResponseContext holds a value or an error, never both; "
        "use ResponseContext.failure(error) or ResponseContext.success(value)"
    )
    with pytest.raises(TypeError, match="ToolwareError") as plain:
        ResponseContext(error=ValueError("x"))  # type: ignore[arg-type]
    assert str(plain.value) == (
        "a ResponseContext error must be a ToolwareError, got ValueError; wrap it, e.g. "
        "ToolFailedError(str(exc)) raised 'from exc'"
    )
    with pytest.raises(TypeError, match="ToolwareError") as failure:
        ResponseContext.failure(ValueError("x"))  # type: ignore[arg-type]
    assert str(failure.value) == (
        "failure() takes a ToolwareError, got ValueError; wrap it, e.g. "
        "ToolFailedError(str(exc)) raised 'from exc'"
    )

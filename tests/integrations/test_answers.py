"""Tests for toolware.integrations._answers: what the model is told."""

from __future__ import annotations

from toolware import Kind
from toolware.errors import CircuitOpenError, NotFoundError, RateLimitedError
from toolware.integrations._answers import error_payload
from toolware.integrations._routes import Route


def test_error_payload_is_what_a_model_needs() -> None:
    """category, message, hint; retry_after to the millisecond; candidates as function names."""
    assert error_payload(RateLimitedError("busy", retry_after=1.23456)) == {
        "error": {
            "category": "rate_limited",
            "message": "busy",
            "hint": "wait retry_after seconds before calling again",
            "retry_after": 1.235,
        }
    }
    assert error_payload(CircuitOpenError("open", retry_after=0.0))["error"]["retry_after"] == 0.0
    dotted = NotFoundError("no such", candidates=("notes.add",))
    assert error_payload(dotted)["error"] == {
        "category": "not_found",
        "message": "no such",
        "hint": "did you mean 'notes__add'?",
        "candidates": ["notes__add"],
    }
    kept = NotFoundError("no such", candidates=("calc",), hint="ask the admin")
    assert error_payload(kept)["error"]["hint"] == "ask the admin"
    guessed = error_payload(NotFoundError("no such"), Route(Kind.TOOL, "clac"), ["calc", "zz"])
    assert guessed["error"]["candidates"] == ["calc"]
    assert guessed["error"]["hint"] == "did you mean 'calc'?"
    unguessed = error_payload(NotFoundError("no such"), None, ["calc"])
    assert "candidates" not in unguessed["error"]
    huge = error_payload(NotFoundError("no such"), Route(Kind.TOOL, "calc" * 40), ["calc" * 40])
    assert "candidates" not in huge["error"]  # a name no entry can have is not compared
    fits = error_payload(NotFoundError("no such"), Route(Kind.TOOL, "c" * 128), ["c" * 127])
    assert fits["error"]["candidates"] == ["c" * 127]


def test_candidates_of_a_plugin_action_are_named_as_functions() -> None:
    """For a plugin call an action name is one of the same plugin's; a qualified name is
    another entry's, written as a function name."""
    route = Route(Kind.PLUGIN, "notes", "ad")
    same = error_payload(NotFoundError("no such", candidates=("add",)), route)
    assert same["error"]["candidates"] == ["notes__add"]
    other = error_payload(NotFoundError("no such", candidates=("todo.add",)), route)
    assert other["error"]["candidates"] == ["todo__add"]
    assert other["error"]["hint"] == "did you mean 'todo__add'?"

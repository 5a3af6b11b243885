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


def test_an_unknown_plugin_gets_function_names_not_plugin_names() -> None:
    """The registry's candidates for an unknown plugin are plugins: replaced by the offered
    function that looks like the call; an action's candidates stay actions of the plugin."""
    offered = ["notes__add", "notes__list", "calc"]
    plugins = NotFoundError("no plugin named 'Notes'", candidates=("notes",))
    answer = error_payload(plugins, Route(Kind.PLUGIN, "Notes", "add"), offered)["error"]
    assert answer["candidates"] == ["notes__add"]
    assert answer["hint"] == "did you mean 'notes__add'?"
    bare = error_payload(NotFoundError("no such"), Route(Kind.PLUGIN, "Notes", "add"), offered)
    assert bare["error"]["candidates"] == ["notes__add"]
    actions = NotFoundError("plugin 'notes' has no action 'ad'", candidates=("add",))
    kept = error_payload(actions, Route(Kind.PLUGIN, "notes", "ad"), offered)["error"]
    assert kept["candidates"] == ["notes__add"]

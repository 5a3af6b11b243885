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


def test_candidates_of_a_plugin_action_are_named_as_functions() -> None:
    """For a plugin call an action name is one of the same plugin's; a qualified name is
    another entry's, written as a function name."""
    route = Route(Kind.PLUGIN, "notes", "ad")
    same = error_payload(NotFoundError("no such", candidates=("add",)), route)
    assert same["error"]["candidates"] == ["notes__add"]
    other = error_payload(NotFoundError("no such", candidates=("todo.add",)), route)
    assert other["error"]["candidates"] == ["todo__add"]
    assert other["error"]["hint"] == "did you mean 'todo__add'?"


def test_a_misspelled_plugin_gets_the_plugin_it_meant() -> None:
    """An unknown plugin's candidates are plugin names: each is offered with the action the
    model asked for, not as an action of the unknown plugin; names matched among the
    functions offered are function names already."""
    offered = ["notes__add", "notes__list", "count_to"]
    unknown = NotFoundError("no plugin named 'nots'", candidates=("notes",))
    assert error_payload(unknown, Route(Kind.PLUGIN, "nots", "add"), offered)["error"] == {
        "category": "not_found",
        "message": "no plugin named 'nots'",
        "hint": "did you mean 'notes__add'?",
        "candidates": ["notes__add"],
    }
    action = NotFoundError("plugin 'notes' has no action 'lst'", candidates=("list",))
    payload = error_payload(action, Route(Kind.PLUGIN, "notes", "lst"), offered)
    assert payload["error"]["candidates"] == ["notes__list"]
    assert error_payload(unknown, Route(Kind.PLUGIN, "nots", "add"))["error"]["candidates"] == [
        "nots__notes"  # without the functions offered, nothing says the plugin is unknown
    ]
    bare = error_payload(unknown, Route(Kind.PLUGIN, "nots"), offered)
    assert "candidates" not in bare["error"]  # "nots__notes" is no function the model was offered
    guessed = error_payload(NotFoundError("no plugin"), Route(Kind.PLUGIN, "count", "to"), offered)
    assert guessed["error"]["candidates"] == ["count_to"]
    assert guessed["error"]["hint"] == "did you mean 'count_to'?"


def test_a_plugin_call_is_matched_by_its_function_name() -> None:
    """Without candidates, plugin and action are matched together (notes__ad), and several
    matches are offered best first, joined by 'or'."""
    payload = error_payload(
        NotFoundError("no such"), Route(Kind.PLUGIN, "notes", "ad"), ["notes", "notes__add"]
    )
    assert payload["error"]["candidates"] == ["notes__add", "notes"]
    assert payload["error"]["hint"] == "did you mean 'notes__add' or 'notes'?"

"""to_middleware, line by line of the V1 contract: status, body and log lines per input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.v1_support import Agent

INFO, ERR = "info", "error"
PREFIX = "Agent tester: "


def ran(action_id: str, method: str) -> list[tuple[str, str]]:
    return [(INFO, f"Executing: {action_id} - {method}"), (INFO, "Action executed successfully")]


def act(method: str, params: Any = None, **extra: Any) -> dict[str, Any]:
    return {"method": method, "params": {} if params is None else params, **extra}


# (id, agent_input, status, body, log lines without the "Agent tester: " prefix)
CASES: list[tuple[str, Any, int, Any, list[tuple[str, str]]]] = [
    ("none", None, 200, None, [(INFO, "No action detected, forwarding input")]),
    ("empty dict", {}, 200, {}, [(INFO, "No action detected, forwarding input")]),
    (
        "string",
        "use tool calc",
        400,
        "Invalid input type: <class 'str'>, expected dict",
        [(ERR, "Invalid agent_input type: <class 'str'>, expected dict")],
    ),
    (
        "list",
        [1],
        400,
        "Invalid input type: <class 'list'>, expected dict",
        [(ERR, "Invalid agent_input type: <class 'list'>, expected dict")],
    ),
    ("empty string", "", 400, "Invalid input type: <class 'str'>, expected dict", None),
    ("dict result", {"calc": act("echo", {"a": 1})}, 201, '{\n  "a": 1\n}', ran("calc", "echo")),
    ("string result is quoted", {"calc": act("plain")}, 201, '"plain"', ran("calc", "plain")),
    ("number result", {"calc": act("add", {"a": 2, "b": 3})}, 201, "5", ran("calc", "add")),
    ("none result", {"calc": act("none")}, 201, "null", ran("calc", "none")),
    (
        "not found quotes the method, id capitalised",
        {"ghost": act("do")},
        404,
        "Ghost 'do' not found.",
        [(ERR, "Action not found: ghost - do")],
    ),
    ("lookup: RAG first", {"shared": act("where")}, 201, '"rag"', ran("shared", "where")),
    ("lookup: tool before plugin", {"both": act("where")}, 201, '"tool"', ran("both", "where")),
    ("lookup: RAG dict", {"docs": act("who")}, 201, '"docs"', ran("docs", "who")),
    ("lookup: plugin object", {"notes": act("who")}, 201, '"notes"', ran("notes", "who")),
    (
        "handler raised: 201 with the error text",
        {"calc": act("fail")},
        201,
        '"An error occurred with action fail: bad input"',
        [
            (INFO, "Executing: calc - fail"),
            (ERR, "Error executing action. Error bad input\n    Method: 'fail'"),
        ],
    ),
    (
        "handler raised an exception whose str() raises",
        {"calc": act("fail_unprintable")},
        201,
        '"An error occurred with action fail_unprintable: BadStrError()"',
        None,
    ),
    (
        "handler raised KeyboardInterrupt: the action's error, not the process's",
        {"calc": act("interrupt")},
        201,
        '"An error occurred with action interrupt: "',
        None,
    ),
    (
        "several actions: joined, 201",
        {"calc": act("plain"), "docs": act("who")},
        201,
        '"plain"\n\n"docs"',
        ran("calc", "plain") + ran("docs", "who"),
    ),
    (
        "several actions: a 404 wins over 201",
        {"calc": act("plain"), "ghost": act("do")},
        404,
        "\"plain\"\n\nGhost 'do' not found.",
        [*ran("calc", "plain"), (ERR, "Action not found: ghost - do")],
    ),
    (
        "several actions: the first non-200/201 status wins",
        {"calc": "add", "ghost": act("do")},
        400,
        'Action \'calc\' must be an object {"method": ..., "params": {...}}, got str\n\n'
        "Ghost 'do' not found.",
        None,
    ),
    (
        "Fix: action not a dict",
        {"calc": "add"},
        400,
        'Action \'calc\' must be an object {"method": ..., "params": {...}}, got str',
        [(ERR, 'Action \'calc\' must be an object {"method": ..., "params": {...}}, got str')],
    ),
    (
        "Fix: action lacks params",
        {"calc": {"method": "plain"}},
        400,
        "Action 'calc' is missing 'params'; send \"params\": {} for none",
        None,
    ),
    (
        "action lacks method",
        {"calc": {"params": {}}},
        400,
        "Action 'calc' is missing 'method'",
        None,
    ),
    (
        "action with other keys",
        {"calc": act("plain", extra=1)},
        400,
        "Action 'calc' has unexpected keys ['extra']: only 'method' and 'params'",
        None,
    ),
    ("action id not a string", {7: act("plain")}, 400, "Action id must be a string, got int", None),
    (
        "method not a string",
        {"calc": act(3)},
        400,
        "Action 'calc' method must be a string, got int",
        None,
    ),
    (
        "params not an object",
        {"calc": {"method": "echo", "params": [1]}},
        400,
        "Action 'calc' params must be an object, got list",
        None,
    ),
    (
        "params that are not data: an iterator",
        {"calc": act("echo", {"x": iter([1])})},
        400,
        "invalid arguments for 'calc.echo': x: list_iterator is an iterator: it can be read "
        "once and may never end",
        [
            (INFO, "Executing: calc - echo"),
            (
                ERR,
                "Invalid params for calc - echo: invalid arguments for 'calc.echo': x: "
                "list_iterator is an iterator: it can be read once and may never end",
            ),
        ],
    ),
    (
        "params with non-string keys",
        {"calc": act("echo", {"x": {1: "a"}})},
        400,
        "invalid arguments for 'calc.echo': x.[key]: keys must be plain strings, got int",
        None,
    ),
    (
        "params JSON cannot hold reach the handler; the result falls back to str()",
        {"calc": act("echo", {"when": {1.5, 2.5}})},
        201,
        '{\n  "when": "{1.5, 2.5}"\n}',
        None,
    ),
    (
        "Fix: result not JSON-serialisable becomes str()",
        {"calc": act("custom")},
        201,
        '"custom value"',
        None,
    ),
    (
        "result whose str() and repr() raise",
        {"calc": act("unprintable")},
        201,
        '"<unprintable Unprintable object>"',
        None,
    ),
    ("result with non-string keys", {"calc": act("tuple_keys")}, 201, "\"{(1, 2): 'x'}\"", None),
]


@pytest.mark.parametrize(
    ("agent_input", "status", "body", "logs"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_to_middleware(
    agent: Agent, agent_input: Any, status: int, body: Any, logs: list[tuple[str, str]] | None
) -> None:
    """Each input gets V1's status and body byte for byte, and V1's log lines."""
    assert agent.to_middleware(agent_input) == (status, body)
    if logs is not None:
        assert agent.events == [(level, PREFIX + line) for level, line in logs]


def test_input_is_returned_unchanged_when_empty(agent: Agent) -> None:
    """``{}`` comes back as the very object given."""
    given: dict[str, Any] = {}
    assert agent.to_middleware(given)[1] is given


def test_the_handler_gets_v1_payload(agent: Agent) -> None:
    """run() receives {"method", "params"} with a params dict of its own."""
    params = {"a": 1, "nested": {"b": [1, 2]}}
    agent.to_middleware({"calc": {"method": "echo", "params": params}})
    handler = agent.tool_registry.get_tool("calc")
    assert handler.payloads == [{"method": "echo", "params": params}]
    assert handler.payloads[0]["params"] is not params


def test_params_named_like_python_parameters_reach_the_handler(agent: Agent) -> None:
    """A param called "self" (or "class", "a-b") is the handler's data like any other: V1
    handed the dict over as it was."""
    params = {"self": 1, "class": 2, "a-b": 3}
    answer = agent.to_middleware({"calc": {"method": "echo", "params": params}})
    assert answer == (201, '{\n  "self": 1,\n  "class": 2,\n  "a-b": 3\n}')


def test_params_named_self_reach_an_mcp_type_handler(agent: Agent) -> None:
    """The same for a legacy action on an MCP-type handler (V1's input string)."""

    class Intents:
        type = "mcp"

        def handle_intent(self, intent: str, context: str) -> str:
            return intent

    agent.tool_registry = {"m": Intents()}
    answer = agent.to_middleware({"m": {"method": "go", "params": {"self": 1}}})
    assert answer == (201, "\"Tool use input: go and {'self': 1}\"")


def test_a_registry_whose_lookup_raises(agent: Agent) -> None:
    """500 with the [ERROR] prefix for that action; the others still run."""
    from tests.compat.v1_support import BrokenToolRegistry

    agent.tool_registry = BrokenToolRegistry()
    status, body = agent.to_middleware({"docs": act("who"), "calc": act("plain")})
    assert status == 500
    assert body == (
        "\"docs\"\n\n[ERROR] tool registry failed looking up 'calc': RuntimeError: registry "
        "database is down"
    )
    assert agent.events[-1] == (
        ERR,
        "Agent tester: tool registry failed looking up 'calc': RuntimeError: registry "
        "database is down",
    )


def test_registries_replaced_on_the_host_are_seen(agent: Agent) -> None:
    """V1 code swaps registries as attributes; the next call uses the new one."""
    from tests.compat.v1_support import Handler

    assert agent.to_middleware({"fresh": act("who")})[0] == 404
    agent.tool_registry = {"fresh": Handler("fresh")}
    assert agent.to_middleware({"fresh": act("who")}) == (201, '"fresh"')


def test_missing_registries_become_empty_ones() -> None:
    """A host given no registries answers 404 from three empty V1 registries."""
    from toolware.compat.v1 import PluginRegistry, RAGRegistry, ToolRegistry

    host = Agent()
    assert type(host.rag_registry) is RAGRegistry
    assert type(host.tool_registry) is ToolRegistry
    assert type(host.plugin_registry) is PluginRegistry
    assert host.to_middleware({"calc": act("add")}) == (404, "Calc 'add' not found.")


@pytest.mark.parametrize(
    ("agent_input", "status", "body"),
    [
        ({"response": "hello", "mcp": {"tool": "x"}}, 200, "hello"),
        (
            {"mcp": {"tool": "x", "method": "y"}},
            500,
            "CONFIGURATION ERROR: Internal agent 'tester' attempted tool call without "
            "providing response guidance. This agent should be configured to provide text "
            "responses only.",
        ),
        ({"calc": act("plain")}, 200, "{'calc': {'method': 'plain', 'params': {}}}"),
        ("just text", 200, "just text"),
        (None, 200, "None"),
    ],
)
@pytest.mark.parametrize("switch", ["_AgentWrapper__allow_middleware", "allow_middleware"])
def test_switched_off(agent: Agent, switch: str, agent_input: Any, status: int, body: str) -> None:
    """V1's AgentWrapper switch, or allow_middleware: nothing runs."""
    setattr(agent, switch, False)
    assert agent.to_middleware(agent_input) == (status, body)
    assert agent.tool_registry.get_tool("calc").payloads == []


def test_switched_off_logs(agent: Agent) -> None:
    """The response branch logs info, the configuration error logs error."""
    agent.allow_middleware = False
    agent.to_middleware({"response": "r"})
    agent.to_middleware({"mcp": {}})
    assert [level for level, _ in agent.events] == [INFO, ERR]
    assert agent.events[0][1] == (
        "Agent tester: Middleware disabled - returning response text, ignoring tool calls"
    )


@pytest.mark.parametrize(
    ("method", "status", "body"),
    [
        ("plain", 201, '"plain"'),
        ("fail", 502, '"An error occurred with action fail: bad input"'),
        ("ghost", 201, '"calc did ghost"'),
    ],
)
def test_strict_statuses(method: str, status: int, body: str) -> None:
    """strict=True: a failed action carries a 5xx status, the body stays V1's."""
    from tests.compat.v1_support import Handler

    host = Agent(tool_registry={"calc": Handler("calc")}, strict=True)
    assert host.to_middleware({"calc": act(method)}) == (status, body)
    several = host.to_middleware({"calc": act("plain"), "again": act("x")})
    assert several == (404, "\"plain\"\n\nAgain 'x' not found.")


def test_strict_is_checked() -> None:
    """strict must be a bool."""
    with pytest.raises(TypeError, match="strict must be True or False, got 'yes'"):
        Agent(strict="yes")


def test_host_without_log_event_logs_to_toolware(caplog: pytest.LogCaptureFixture) -> None:
    """No log_event on the host: the line goes to the toolware.compat.v1 logger."""
    from toolware.compat.v1 import MiddlewareMixin

    class Bare(MiddlewareMixin):
        name = "bare"

    with caplog.at_level("WARNING", logger="toolware.compat.v1"):
        assert Bare().to_middleware("x")[0] == 400
    assert caplog.records[0].getMessage() == (
        "compat.v1.no_log_event level=error message=Agent bare: Invalid agent_input type: "
        "<class 'str'>, expected dict"
    )
    assert caplog.records[0].levelname == "WARNING"
    assert caplog.records[0].__dict__["level"] == "error"


def test_log_event_that_raises_does_not_fail_the_call(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    """The host's logger raising is logged and the answer still comes back."""

    def broken(message: str, level: str) -> None:
        raise OSError("disk full")

    agent.log_event = broken  # type: ignore[method-assign]
    with caplog.at_level("WARNING", logger="toolware.compat.v1"):
        assert agent.to_middleware({"calc": act("plain")}) == (201, '"plain"')
    assert [r.getMessage().split(" message=")[0] for r in caplog.records] == [
        "compat.v1.log_event_failed error=OSError"
    ] * 2
    first = caplog.records[0]
    assert first.getMessage() == (
        "compat.v1.log_event_failed error=OSError message=Agent tester: Executing: calc - plain"
    )
    assert first.levelname == "WARNING"
    assert first.__dict__["level"] == "info"
    assert first.exc_info is not None
    assert str(first.exc_info[1]) == "disk full"


def test_name_defaults_to_the_class_name() -> None:
    """A host without ``name`` is named by its class in log lines."""
    from toolware.compat.v1 import MiddlewareMixin

    class Nameless(MiddlewareMixin):
        def __init__(self) -> None:
            super().__init__()
            self.events: list[str] = []

        def log_event(self, message: str, level: str) -> None:
            self.events.append(message)

    host = Nameless()
    host.to_middleware(None)
    assert host.events == ["Agent Nameless: No action detected, forwarding input"]


def test_actions_in_dict_subclasses_run(agent: Agent) -> None:
    """An action given as a dict subclass (an OrderedDict from a parser) is an object too."""
    from collections import OrderedDict

    action = OrderedDict([("params", {"a": 1}), ("method", "echo")])
    assert agent.to_middleware({"calc": action}) == (201, '{\n  "a": 1\n}')

"""``to_middleware`` call sites in chosen classes become ``pipeline.invoke`` calls."""

from __future__ import annotations

import json
import textwrap

from toolware import LocalRegistry, default_pipeline
from toolware.migrate import MigrateOptions, call_sites, migrate_source

AGENT = """\
import json


class Agent:
    async def ask(self, t):
        # the model asked for a note
        status, body = self.to_middleware({"notes": {"method": "add", "params": {"text": t}}})  # ok
        return status, body

    async def count(self):
        return self.to_middleware({"notes": {"method": "count"}})

    async def fire(self, response):
        self.to_middleware({"notes": {"method": "add", "params": {"text": response}}})
"""

MAPPING = (
    "        # V1 status: 201 = the tool ran (body: its result as indented JSON). V1 also "
    "answered 201\n"
    "        # for a failed or timed-out action, which now keeps its own status (http_status).\n"
)


def _migrate(source: str, **options: object) -> tuple[str, list[str]]:
    outcome = migrate_source(textwrap.dedent(source), "a.py", MigrateOptions(**options))  # type: ignore[arg-type]
    return outcome.after, [f"{f.line}: {f.message} | {f.suggestion}" for f in outcome.findings]


def test_async_call_sites_become_invoke_with_the_status_mapping_written_out() -> None:
    """Assignment, return and bare call forms; comments kept; the imports added."""
    after, findings = _migrate(AGENT, native=frozenset({"Agent"}))
    assert findings == []
    assert after == (
        "import json\n"
        "from toolware.error_codes import http_status\n"
        "\n\n"
        "class Agent:\n"
        "    async def ask(self, t):\n"
        "        # the model asked for a note\n"
        '        response = await self.pipeline.invoke("notes.add", {"text": t})  # ok\n'
        + MAPPING
        + "        if response.ok:\n"
        "            status, body = 201, json.dumps(response.value, indent=2)\n"
        "        else:\n"
        "            status, body = http_status(response.error), str(response.error)\n"
        "        return status, body\n"
        "\n"
        "    async def count(self):\n"
        '        response = await self.pipeline.invoke("notes.count", {})\n'
        + MAPPING
        + "        if response.ok:\n"
        "            return 201, json.dumps(response.value, indent=2)\n"
        "        else:\n"
        "            return http_status(response.error), str(response.error)\n"
        "\n"
        "    async def fire(self, response):\n"
        '        await self.pipeline.invoke("notes.add", {"text": response})\n'
    )


def test_unchosen_classes_are_left_and_not_reported() -> None:
    """Opt-in: another class's call sites stay V1, silently."""
    assert _migrate(AGENT, native=frozenset({"Other"})) == (AGENT, [])


async def test_the_rewritten_method_answers_like_v1_on_success_and_keeps_the_error_status() -> None:
    """Run the rewritten agent against a real pipeline: 201 and V1's body; 404 for a miss."""
    after, _ = _migrate(AGENT, native_all=True, pipeline="self.tools")
    namespace: dict[str, object] = {}
    exec(compile(after, "a.py", "exec"), namespace)
    registry = LocalRegistry()

    @registry.plugin(name="notes")
    class Notes:
        def add(self, text: str) -> str:
            return f"noted {text}"

    agent = namespace["Agent"]()  # type: ignore[operator]
    async with default_pipeline(registry) as agent.tools:
        assert await agent.ask("tea") == (201, json.dumps("noted tea", indent=2))
        status, body = await agent.count()
    assert status == 404
    assert "count" in body


def test_a_taken_response_name_is_not_shadowed() -> None:
    """``response`` is a parameter of fire(): the rewrite picks another name there."""
    source = """\
    class Agent:
        async def fire(self, response, tool_response, tool_response_2):
            result = self.to_middleware({"notes": {"method": "add", "params": {"text": response}}})
            return result
    """
    after, _ = _migrate(source, native_all=True, pipeline="pipe")
    assert '        tool_response_3 = await pipe.invoke("notes.add", {"text": response})\n' in after
    assert "            result = 201, json.dumps(tool_response_3.value, indent=2)\n" in after
    assert "result = http_status(tool_response_3.error), str(tool_response_3.error)\n" in after


def test_what_cannot_be_rewritten_is_reported_with_its_line() -> None:
    """Sync functions, built or multi-action inputs, calls inside expressions, module level."""
    source = """\
    class Agent:
        def ask(self, text):
            return self.to_middleware({"notes": {"method": "add", "params": {"text": text}}})

        async def many(self, request):
            status, body = self.to_middleware(request)
            both = self.to_middleware({"a": {"method": "x"}, "b": {"method": "y"}})
            print(self.to_middleware({"a": {"method": "x"}}))
            self.to_middleware({key: {"method": "x"}})
            self.to_middleware()
            self.to_middleware({"a": "x"})
            self.to_middleware(agent_input={"a": {"method": "x"}})
            return self.to_middleware({"a": {"method": "x", "other": 1}})


    answer = agent.to_middleware({"a": {"method": "x"}})
    """
    after, findings = _migrate(source, native_all=True)
    assert after == textwrap.dedent(source)
    not_literal = (
        'to_middleware input is not one literal action ({"<id>": {"method": "<m>", '
        '"params": ...}}) | one await self.pipeline.invoke("<id>.<method>", <params>) per action'
    )
    assert findings == [
        "3: to_middleware call in a synchronous function (pipeline.invoke is async) | make the "
        'function async, then: response = await self.pipeline.invoke("notes.add", '
        '{"text": text}); status 201 when response.ok, else http_status(response.error)',
        f"6: {not_literal}",
        f"7: {not_literal}",
        "8: to_middleware call inside a larger expression | assign its result first, or call "
        'await self.pipeline.invoke("<action id>.<method>", <params>)',
        f"9: {not_literal}",
        f"10: {not_literal}",
        f"11: {not_literal}",
        f"12: {not_literal}",
        f"13: {not_literal}",
        "16: to_middleware call in a synchronous function (pipeline.invoke is async) | make the "
        'function async, then: response = await self.pipeline.invoke("a.x", {}); status 201 '
        "when response.ok, else http_status(response.error)",
    ]


def test_a_second_run_changes_nothing() -> None:
    """Idempotent: no to_middleware call is left to rewrite."""
    once, _ = _migrate(AGENT, native_all=True)
    assert _migrate(once, native_all=True) == (once, [])


def test_a_call_on_another_object_is_reported_not_sent_to_self() -> None:
    """``other.to_middleware(...)`` runs *other's* registries: rewriting it to
    ``self.pipeline.invoke`` would call another agent's tools, so it is reported instead."""
    source = """\
    class Agent:
        async def relay(self, other):
            return other.to_middleware({"notes": {"method": "add", "params": {}}})

        async def relay_attribute(self):
            status, body = self.helper.to_middleware({"notes": {"method": "add", "params": {}}})
            return status, body
    """
    after, findings = _migrate(source, native_all=True)
    assert after == textwrap.dedent(source)
    assert findings == [
        "3: to_middleware called on other, not self (the rewrite calls self's pipeline) | "
        'await <the pipeline of other>.invoke("notes.add", {})',
        "6: to_middleware called on self.helper, not self (the rewrite calls self's pipeline) | "
        'await <the pipeline of self.helper>.invoke("notes.add", {})',
    ]


def test_json_or_http_status_bound_to_something_else_is_reported_not_shadowed() -> None:
    """The rewritten code calls ``json.dumps`` and ``http_status``: where those names mean
    something else (a parameter, a local, ``from flask import json``) the call is reported, and
    no ``import json`` is added over the module's own ``json``."""
    source = """\
    import json


    class Agent:
        async def a(self, http_status):
            return self.to_middleware({"n": {"method": "go", "params": {}}})

        async def b(self):
            json = self.codec
            status, body = self.to_middleware({"n": {"method": "go", "params": {}}})
            return json.dumps([status, body])

        async def c(self):
            status, body = self.to_middleware({"n": {"method": "go", "params": {}}})
            return json.dumps([status, body])
    """
    after, findings = _migrate(source, native_all=True)
    suggestion = (
        'response = await self.pipeline.invoke("n.go", {}); status 201 when response.ok, '
        "else http_status(response.error)"
    )
    assert findings == [
        f"6: the function binds http_status, which the rewritten call needs | {suggestion}",
        f"10: the function binds json, which the rewritten call needs | {suggestion}",
    ]
    assert '        response = await self.pipeline.invoke("n.go", {})\n' in after  # c()
    assert after.count("self.to_middleware") == 2

    flask = (
        "from flask import json\n\n\nclass Agent:\n    async def c(self):\n"
        '        return self.to_middleware({"n": {"method": "go", "params": {}}})\n'
    )
    after, findings = _migrate(flask, native_all=True)
    assert after == flask
    assert findings == [
        f"6: the module binds json to something else, which the rewritten call needs | {suggestion}"
    ]


def test_names_bound_by_as_clauses_count_and_star_imports_are_no_binding() -> None:
    """``with ... as json`` binds json in the function; a star import is not read as one."""
    source = """\
    from os.path import *
    import os


    class Agent:
        async def a(self):
            with self.open() as json:
                status, body = self.to_middleware({"n": {"method": "go", "params": {}}})
            return json, status, body

        async def b(self):
            self.seen = os.sep
            return self.to_middleware({"n": {"method": "go", "params": {}}})
    """
    after, findings = _migrate(source, native_all=True)
    assert [f.split(" | ")[0] for f in findings] == [
        "8: the function binds json, which the rewritten call needs"
    ]
    assert after.count("self.to_middleware") == 1
    assert "import json\n" in after


def test_inputs_that_are_not_one_plain_literal_action_are_reported() -> None:
    """A bytes id, a spread inside the action, an action without a method: reported, kept."""
    source = """\
    class Agent:
        async def ask(self, extra):
            a = self.to_middleware({b"notes": {"method": "add"}})
            b = self.to_middleware({"notes": {"method": "add", **extra}})
            c = self.to_middleware({"notes": {"params": {"text": "x"}}})
            d = self.to_middleware({"notes": {"method": b"add"}})
            return a, b, c, d
    """
    after, findings = _migrate(source, native_all=True)
    assert after == textwrap.dedent(source)
    assert [f.split(":")[0] for f in findings] == ["3", "4", "5", "6"]
    assert {f.split(": ", 1)[1] for f in findings} == {
        'to_middleware input is not one literal action ({"<id>": {"method": "<m>", '
        '"params": ...}}) | one await self.pipeline.invoke("<id>.<method>", <params>) per action'
    }


def test_a_call_sharing_its_line_with_another_statement_is_left_whole() -> None:
    """``x = self.to_middleware(...); y = 1``: rewriting would drop ``y = 1``, so it is reported."""
    source = """\
    class Agent:
        async def ask(self):
            x = self.to_middleware({"a": {"method": "b"}}); y = 1
            return x, y
    """
    after, findings = _migrate(source, native_all=True)
    assert after == textwrap.dedent(source)
    assert findings == [
        "3: to_middleware call inside a larger expression | assign its result first, or call "
        'await self.pipeline.invoke("<action id>.<method>", <params>)'
    ]


def test_a_chained_assignment_keeps_every_target() -> None:
    """``first = second = ...``: both names get the V1 pair in each branch."""
    source = """\
    class Agent:
        async def ask(self):
            first = second = self.to_middleware({"a": {"method": "b"}})
            return first, second
    """
    after, findings = _migrate(source, native_all=True)
    assert findings == []
    assert "        first = second = 201, json.dumps(response.value, indent=2)\n" in after
    assert "        first = second = http_status(response.error), str(response.error)\n" in after


def test_the_first_free_numbered_name_is_taken() -> None:
    """``response`` and ``tool_response`` taken: ``tool_response_2``, the first free number."""
    source = """\
    class Agent:
        async def fire(self, response, tool_response):
            return self.to_middleware({"a": {"method": "b"}})
    """
    after, _ = _migrate(source, native_all=True)
    assert '        tool_response_2 = await self.pipeline.invoke("a.b", {})\n' in after


def test_wanted_needs_a_chosen_class_and_a_call_site() -> None:
    """The cheap test on the text: nothing chosen, or no ``to_middleware``, skips the walk."""
    text = "self.to_middleware({})"
    assert call_sites.wanted(text, MigrateOptions()) is False
    assert call_sites.wanted(text, MigrateOptions(native=frozenset({"A"}))) is True
    assert call_sites.wanted(text, MigrateOptions(native_all=True)) is True
    assert call_sites.wanted("self.invoke({})", MigrateOptions(native_all=True)) is False

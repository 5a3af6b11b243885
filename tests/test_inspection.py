"""Tests for toolware.inspection: the pipeline description and its three renderings."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator

import msgspec
import pytest

from toolware import Kind, LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
from toolware.inspection import (
    EntryInfo,
    PipelineTree,
    StageInfo,
    describe_pipeline,
    to_dot,
    to_mermaid,
    to_text,
)
from toolware.interceptors.retry import RetryInterceptor
from toolware.interceptors.timeout import TimeoutInterceptor
from toolware.registry.base import CachePolicy
from toolware.testing import FakeClock
from toolware.types import CallNext


async def audit(request: RequestContext, call_next: CallNext) -> ResponseContext:
    return await call_next(request)


async def answer(request: RequestContext) -> ResponseContext:
    return ResponseContext.success(1)


class Color(enum.Enum):
    RED = "red"


class Policy(msgspec.Struct, frozen=True):
    ratio: float = 0.5
    store: object = None


class Options:
    """An interceptor with every kind of attribute inspection looks at."""

    __slots__ = ("_hidden", "color", "flags", "name", "none", "order", "policy", "store")

    def __init__(self) -> None:
        self.name = "options"
        self._hidden = 1
        self.color = Color.RED
        self.flags = frozenset({"b", "a"})
        self.order = ("z", "y")
        self.none = None
        self.policy = Policy()
        self.store = object()

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request)


def small_registry() -> LocalRegistry:
    registry = LocalRegistry("shop")

    @registry.tool(idempotent=True, timeout=2.5, cache=CachePolicy(ttl=5.0))
    def price(item: str) -> float:
        return 1.0

    @registry.tool(retry=False, cache=True)
    def buy(item: str) -> str:
        return item

    @registry.tool
    async def feed() -> AsyncIterator[int]:
        yield 1

    @registry.retriever
    def docs(query: str, k: int) -> list[object]:
        return []

    return registry


def small_pipeline() -> PipelineTree:
    clock = FakeClock()
    pipeline = (
        PipelineBuilder(clock=clock, name="shop")
        .use(TimeoutInterceptor(timeout=3.0), name="timeout")
        .use(audit, when={Kind.TOOL})
        .route(small_registry())
        .build()
    )
    pipeline.close()
    return describe_pipeline(pipeline)


TEXT = """\
pipeline 'shop'
├── timeout: TimeoutInterceptor
│       timeout=3.0
├── audit: audit
│       when kind in {tool}
└── router → shop
    ├── rag
    │   └── docs
    └── tool
        ├── buy (retry=False, cache)
        ├── feed (streaming)
        └── price (idempotent, cache=5.0s, timeout=2.5s)
"""


def test_describe_reads_stages_conditions_options_and_entries() -> None:
    """Stages in call order with type, condition and plain options; entries by kind, sorted."""
    tree = small_pipeline()
    assert tree.name == "shop"
    assert tree.stages == (
        StageInfo("timeout", "TimeoutInterceptor", None, (("timeout", "3.0"),)),
        StageInfo("audit", "audit", "kind in {tool}", ()),
    )
    assert tree.terminal == "router"
    assert tree.registry == "shop"
    assert tree.entries == (
        ("rag", (EntryInfo("docs"),)),
        (
            "tool",
            (
                EntryInfo("buy", ("retry=False", "cache")),
                EntryInfo("feed", ("streaming",)),
                EntryInfo("price", ("idempotent", "cache=5.0s", "timeout=2.5s")),
            ),
        ),
    )


def test_text_tree_is_exact() -> None:
    """The text tree for a small pipeline, character for character."""
    assert to_text(small_pipeline()) == TEXT


def test_mermaid_is_exact() -> None:
    """A flowchart TD: call, stages, terminal, one subgraph per kind."""
    assert to_mermaid(small_pipeline()) == (
        "flowchart TD\n"
        '    call(["call shop"])\n'
        '    s0["timeout: TimeoutInterceptor<br/>timeout=3.0"]\n'
        "    call --> s0\n"
        '    s1["audit: audit<br/>when kind in {tool}"]\n'
        "    s0 --> s1\n"
        '    terminal["router → shop"]\n'
        "    s1 --> terminal\n"
        '    subgraph k0["rag"]\n'
        '        k0e0["docs"]\n'
        "    end\n"
        "    terminal --> k0\n"
        '    subgraph k1["tool"]\n'
        '        k1e0["buy (retry=False, cache)"]\n'
        '        k1e1["feed (streaming)"]\n'
        '        k1e2["price (idempotent, cache=5.0s, timeout=2.5s)"]\n'
        "    end\n"
        "    terminal --> k1\n"
    )


def test_dot_is_exact() -> None:
    """A digraph: call, stages, terminal, one cluster per kind with an edge to each entry."""
    assert to_dot(small_pipeline()) == (
        'digraph "shop" {\n'
        "    rankdir=TB;\n"
        "    node [shape=box];\n"
        '    call [shape=oval, label="call shop"];\n'
        '    s0 [label="timeout: TimeoutInterceptor\\ntimeout=3.0"];\n'
        "    call -> s0;\n"
        '    s1 [label="audit: audit\\nwhen kind in {tool}"];\n'
        "    s0 -> s1;\n"
        '    terminal [label="router → shop"];\n'
        "    s1 -> terminal;\n"
        "    subgraph cluster_k0 {\n"
        '        label="rag";\n'
        '        k0e0 [label="docs"];\n'
        "        terminal -> k0e0;\n"
        "    }\n"
        "    subgraph cluster_k1 {\n"
        '        label="tool";\n'
        '        k1e0 [label="buy (retry=False, cache)"];\n'
        "        terminal -> k1e0;\n"
        '        k1e1 [label="feed (streaming)"];\n'
        "        terminal -> k1e1;\n"
        '        k1e2 [label="price (idempotent, cache=5.0s, timeout=2.5s)"];\n'
        "        terminal -> k1e2;\n"
        "    }\n"
        "}\n"
    )


def quoted_tree() -> PipelineTree:
    return PipelineTree(
        name='say "hi"',
        stages=(StageInfo('a"b', "T<x>", "#1\\n", ()),),
        terminal="h",
    )


def test_mermaid_escapes_quotes_angles_and_hashes() -> None:
    """Quotes, < > and # become Mermaid entity codes, # first so codes stay intact."""
    assert to_mermaid(quoted_tree()) == (
        "flowchart TD\n"
        '    call(["call say #quot;hi#quot;"])\n'
        '    s0["a#quot;b: T#lt;x#gt;<br/>when #35;1\\n"]\n'
        "    call --> s0\n"
        '    terminal["h"]\n'
        "    s0 --> terminal\n"
    )


def test_dot_escapes_quotes_backslashes_and_newlines() -> None:
    """Quotes and backslashes are escaped, a newline inside a value becomes \\n."""
    tree = PipelineTree(name='say "hi"', stages=(StageInfo('a"b', "x\\y\nz"),), terminal="h")
    assert to_dot(tree) == (
        'digraph "say \\"hi\\"" {\n'
        "    rankdir=TB;\n"
        "    node [shape=box];\n"
        '    call [shape=oval, label="call say \\"hi\\""];\n'
        '    s0 [label="a\\"b: x\\\\y\\nz"];\n'
        "    call -> s0;\n"
        '    terminal [label="h"];\n'
        "    s0 -> terminal;\n"
        "}\n"
    )


def test_handler_terminal_has_no_registry_or_entries() -> None:
    """A pipeline routed to a handler shows the handler's name and no entries."""
    pipeline = PipelineBuilder(clock=FakeClock()).route(answer).build()
    tree = describe_pipeline(pipeline)
    assert tree == PipelineTree("pipeline", (), "answer")
    assert to_text(tree) == "pipeline 'pipeline'\n└── answer\n"


def test_options_show_plain_values_and_struct_fields_only() -> None:
    """Enums by value, sets sorted, tuples in order, struct fields prefixed; no objects, None,
    private attributes or the name."""
    pipeline = PipelineBuilder(clock=FakeClock()).use(Options()).route(answer).build()
    (stage,) = describe_pipeline(pipeline).stages
    assert stage == StageInfo(
        "options",
        "Options",
        None,
        (
            ("color", "red"),
            ("flags", "{'a', 'b'}"),
            ("order", "('z', 'y')"),
            ("policy.ratio", "0.5"),
        ),
    )


def test_options_read_instance_dict_and_skip_empty_and_mixed_collections() -> None:
    """Attributes of a plain class count too; an empty set or one holding objects is left out."""

    class Plain:
        def __init__(self) -> None:
            self.limit = 2
            self.strict = True
            self.empty: frozenset[str] = frozenset()
            self.mixed = (1, object())

        async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
            return await call_next(request)

    pipeline = PipelineBuilder(clock=FakeClock()).use(Plain()).route(answer).build()
    (stage,) = describe_pipeline(pipeline).stages
    assert (
        stage.type
        == "test_options_read_instance_dict_and_skip_empty_and_mixed_collections.<locals>.Plain"
    )
    assert stage.options == (("limit", "2"), ("strict", "True"))


def test_retry_options_are_shown() -> None:
    """A resilience interceptor's public settings appear, sorted by name."""
    retry = RetryInterceptor(attempts=4)
    pipeline = PipelineBuilder(clock=FakeClock()).use(retry).route(answer).build()
    options = dict(describe_pipeline(pipeline).stages[0].options)
    assert options["attempts"] == "4"
    assert options["retry_non_idempotent"] == "False"


def test_lazy_entry_and_unnamed_registry() -> None:
    """A lazy entry not imported yet is flagged; a registry without a name shows its type."""
    registry = LocalRegistry()
    registry.name = ""
    registry.add_lazy("json:dumps")
    pipeline = PipelineBuilder(clock=FakeClock()).route(registry).build()
    tree = describe_pipeline(pipeline)
    pipeline.close()
    assert tree.registry == "LocalRegistry"
    assert tree.entries == (("tool", (EntryInfo("dumps", ("lazy",)),)),)


def test_describe_refuses_a_builder() -> None:
    """Only a built pipeline can be described; the message says to build it."""
    with pytest.raises(TypeError, match=r"got PipelineBuilder; call \.build\(\)"):
        describe_pipeline(PipelineBuilder())  # type: ignore[arg-type]

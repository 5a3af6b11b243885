"""Describe a built pipeline: its stages, their conditions and options, the terminal, and the
registry entries it routes to, as a text tree, a Mermaid flowchart or a Graphviz DOT graph.

    tree = describe_pipeline(pipeline)
    text = to_text(tree)      # or to_mermaid(tree), to_dot(tree)

:func:`describe_pipeline` reads only public state: each stage's name, its interceptor's type, its
``when=`` condition, and the interceptor's public attributes that hold plain values (numbers,
text, flags, enums, sets of them), such as ``timeout=30.0`` or ``attempts=3``; objects
(stores, recorders, callbacks) and ``None`` are left out, so the tree shows configuration, not
internals. A pipeline that routes to a registry lists the registry's entries grouped by kind,
each with its flags (``idempotent``, ``streaming``, ``cache``, ``retry``, ``timeout=``).

All three renderings are deterministic (entries sorted, options sorted by name) so that
they can be kept in docs and compared in tests. ``toolware inspect --app module:pipeline``
prints them (:mod:`toolware.cli.inspect`). Nothing here runs on the call path.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import msgspec

from toolware._attribution import display_name
from toolware.pipeline import Pipeline
from toolware.registry.base import EntryDescription
from toolware.router import Router

__all__ = [
    "EntryInfo",
    "PipelineTree",
    "StageInfo",
    "describe_pipeline",
    "to_dot",
    "to_mermaid",
    "to_text",
]

_Scalar = bool | int | float | str | enum.Enum


class StageInfo(msgspec.Struct, frozen=True):
    """One stage: its name, the interceptor's type, its ``when=`` text, its options."""

    name: str
    type: str
    condition: str | None = None
    options: tuple[tuple[str, str], ...] = ()


class EntryInfo(msgspec.Struct, frozen=True):
    """One registry entry: its qualified name and flags such as ``idempotent``."""

    name: str
    flags: tuple[str, ...] = ()


class PipelineTree(msgspec.Struct, frozen=True):
    """A pipeline, described: stages outermost first, the terminal, entries by kind."""

    name: str
    stages: tuple[StageInfo, ...]
    terminal: str
    registry: str | None = None
    entries: tuple[tuple[str, tuple[EntryInfo, ...]], ...] = ()


def describe_pipeline(pipeline: Pipeline) -> PipelineTree:
    """The frozen description of ``pipeline`` (see the module docstring for what it holds)."""
    if not isinstance(pipeline, Pipeline):
        raise TypeError(
            f"describe_pipeline() takes a built Pipeline, got {type(pipeline).__name__}; "
            "call .build() on the PipelineBuilder first"
        )
    stages = tuple(
        StageInfo(
            name=stage.name,
            type=_type_name(stage.interceptor),
            condition=None if stage.condition is None else stage.condition.describe(),
            options=_options(stage.interceptor),
        )
        for stage in pipeline.stages
    )
    terminal = pipeline.terminal
    if not isinstance(terminal, Router):
        return PipelineTree(pipeline.name, stages, display_name(terminal))
    registry = terminal.registry
    by_kind: dict[str, list[EntryInfo]] = {}
    for description in registry.list():
        by_kind.setdefault(str(description.kind.value), []).append(_entry(description))
    entries = tuple(
        (kind, tuple(sorted(infos, key=lambda info: info.name)))
        for kind, infos in sorted(by_kind.items())
    )
    name = getattr(registry, "name", None)
    label = name if isinstance(name, str) and name else type(registry).__name__
    return PipelineTree(pipeline.name, stages, "router", label, entries)


def _type_name(obj: object) -> str:
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str) and not isinstance(obj, type):  # a function: its own name
        return qualname
    return type(obj).__qualname__


def _attribute_names(obj: object) -> set[str]:
    names: set[str] = set()
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.update((slots,) if isinstance(slots, str) else slots)
    names.update(getattr(obj, "__dict__", {}))
    return {name for name in names if not name.startswith("_") and name != "name"}


def _options(obj: object) -> tuple[tuple[str, str], ...]:
    options = []
    for name in sorted(_attribute_names(obj)):
        value = getattr(obj, name, None)
        if isinstance(value, msgspec.Struct):  # a policy object: its plain fields, prefixed
            for field in value.__struct_fields__:
                text = _value_text(getattr(value, field))
                if text is not None:
                    options.append((f"{name}.{field}", text))
            continue
        text = _value_text(value)
        if text is not None:
            options.append((name, text))
    return tuple(options)


def _value_text(value: object) -> str | None:
    """Plain values as text; ``None`` for what is not worth showing (objects, ``None``)."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, _Scalar):
        return repr(value)
    if isinstance(value, frozenset | set | tuple) and value:
        items = [_value_text(item) for item in value]
        if all(item is not None for item in items):
            texts = [str(item) for item in items]
            if isinstance(value, tuple):
                return "(" + ", ".join(texts) + ")"
            return "{" + ", ".join(sorted(texts)) + "}"
    return None


def _entry(description: EntryDescription) -> EntryInfo:
    flags = []
    if description.idempotent:
        flags.append("idempotent")
    if description.retry is not None:
        flags.append(f"retry={description.retry}")
    if description.streaming:
        flags.append("streaming")
    if description.cache is not None:
        ttl = description.cache.ttl
        flags.append("cache" if ttl is None else f"cache={ttl!r}s")
    if description.timeout is not None:
        flags.append(f"timeout={description.timeout!r}s")
    if not description.loaded:
        flags.append("lazy")
    return EntryInfo(description.qualified_name, tuple(flags))


def _stage_lines(stage: StageInfo) -> list[str]:
    lines = [f"{stage.name}: {stage.type}"]
    if stage.condition is not None:
        lines.append(f"when {stage.condition}")
    if stage.options:
        lines.append(", ".join(f"{key}={value}" for key, value in stage.options))
    return lines


def _terminal_text(tree: PipelineTree) -> str:
    return tree.terminal if tree.registry is None else f"{tree.terminal} → {tree.registry}"


def _entry_text(entry: EntryInfo) -> str:
    return entry.name if not entry.flags else f"{entry.name} ({', '.join(entry.flags)})"


def to_text(tree: PipelineTree) -> str:
    """An indented tree with box-drawing characters; ends with a newline."""
    lines = [f"pipeline {tree.name!r}"]
    nodes = [_stage_lines(stage) for stage in tree.stages]
    nodes.append([_terminal_text(tree)])
    for index, node in enumerate(nodes):
        last = index == len(nodes) - 1
        lines.append(("└── " if last else "├── ") + node[0])
        rest = "    " if last else "│   "
        lines.extend(rest + "    " + detail for detail in node[1:])
    for index, (kind, entries) in enumerate(tree.entries):
        last_kind = index == len(tree.entries) - 1
        lines.append("    " + ("└── " if last_kind else "├── ") + kind)
        pad = "    " + ("    " if last_kind else "│   ")
        for position, entry in enumerate(entries):
            lines.append(
                pad + ("└── " if position == len(entries) - 1 else "├── ") + _entry_text(entry)
            )
    return "\n".join(lines) + "\n"


def _mermaid(text: str) -> str:
    # '#' first: Mermaid's entity codes start with it, and the others are written with it.
    return (
        text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def _mermaid_label(lines: Iterable[str]) -> str:
    return '"' + "<br/>".join(_mermaid(line) for line in lines) + '"'


def to_mermaid(tree: PipelineTree) -> str:
    """A Mermaid ``flowchart TD``: call → stages → terminal → one subgraph per entry kind."""
    lines = ["flowchart TD", f"    call([{_mermaid_label([f'call {tree.name}'])}])"]
    previous = "call"
    for index, stage in enumerate(tree.stages):
        lines.append(f"    s{index}[{_mermaid_label(_stage_lines(stage))}]")
        lines.append(f"    {previous} --> s{index}")
        previous = f"s{index}"
    lines.append(f"    terminal[{_mermaid_label([_terminal_text(tree)])}]")
    lines.append(f"    {previous} --> terminal")
    for index, (kind, entries) in enumerate(tree.entries):
        lines.append(f"    subgraph k{index}[{_mermaid_label([kind])}]")
        for position, entry in enumerate(entries):
            lines.append(f"        k{index}e{position}[{_mermaid_label([_entry_text(entry)])}]")
        lines.append("    end")
        lines.append(f"    terminal --> k{index}")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _dot_label(lines: Iterable[str]) -> str:
    return '"' + "\\n".join(_dot(line) for line in lines) + '"'


def to_dot(tree: PipelineTree) -> str:
    """A Graphviz ``digraph``: call → stages → terminal → one cluster per entry kind."""
    lines = [
        f"digraph {_dot_label([tree.name])} {{",
        "    rankdir=TB;",
        "    node [shape=box];",
        f"    call [shape=oval, label={_dot_label([f'call {tree.name}'])}];",
    ]
    previous = "call"
    for index, stage in enumerate(tree.stages):
        lines.append(f"    s{index} [label={_dot_label(_stage_lines(stage))}];")
        lines.append(f"    {previous} -> s{index};")
        previous = f"s{index}"
    lines.append(f"    terminal [label={_dot_label([_terminal_text(tree)])}];")
    lines.append(f"    {previous} -> terminal;")
    for index, (kind, entries) in enumerate(tree.entries):
        lines.append(f"    subgraph cluster_k{index} {{")
        lines.append(f"        label={_dot_label([kind])};")
        for position, entry in enumerate(entries):
            lines.append(f"        k{index}e{position} [label={_dot_label([_entry_text(entry)])}];")
            lines.append(f"        terminal -> k{index}e{position};")
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"

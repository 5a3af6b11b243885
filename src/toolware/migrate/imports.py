"""Legacy ``langswarm`` imports to :mod:`toolware.compat.v1`, aliases kept.

Handled: ``from <legacy module> import Name [as alias]`` (parenthesised lists too),
``import <legacy module> [as alias]`` (without an alias the dotted uses in the module are
renamed as well), and ``from <legacy package> import <module> [as alias]``. A legacy name
with no counterpart, a star import, and any other ``langswarm`` import are reported.
"""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node

from toolware.migrate._base import RecordingTransformer
from toolware.migrate.findings import Finding
from toolware.migrate.options import MigrateOptions

__all__ = ["LEGACY_MODULES", "TARGET", "rewrite", "wanted"]

TARGET = "toolware.compat.v1"
LEGACY_MODULES: dict[str, frozenset[str]] = {
    "langswarm.core.wrappers.middleware": frozenset({"MiddlewareMixin"}),
    "langswarm.synapse.registry.tools": frozenset({"ToolRegistry"}),
    "langswarm.memory.registry.rags": frozenset({"RAGRegistry"}),
    "langswarm.cortex.registry.plugins": frozenset({"PluginRegistry"}),
}
_TARGET_NODE = cst.parse_expression(TARGET)


def _is_langswarm(name: str) -> bool:
    return name == "langswarm" or name.startswith("langswarm.")


class _PlainImports(cst.CSTVisitor):
    """The legacy modules imported without an alias: their dotted uses are renamed too."""

    def __init__(self) -> None:
        super().__init__()
        self.modules: set[str] = set()

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = get_full_name_for_node(alias.name)
            if alias.asname is None and name in LEGACY_MODULES:
                self.modules.add(name)


class _ImportRewriter(RecordingTransformer):
    def __init__(self, path: str, plain: set[str]) -> None:
        super().__init__(path)
        self.plain = plain

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        if original_node.relative or original_node.module is None:
            return updated_node
        module = get_full_name_for_node(original_node.module) or ""
        if not _is_langswarm(module):
            return updated_node
        if isinstance(original_node.names, cst.ImportStar):
            known = ", ".join(sorted(LEGACY_MODULES.get(module, ())))
            self.report(
                original_node,
                f"star import from {module}",
                f"from {TARGET} import {known}" if known else "import the names you use",
            )
            return updated_node
        names = [get_full_name_for_node(alias.name) or "" for alias in original_node.names]
        if module in LEGACY_MODULES:
            unknown = [name for name in names if name not in LEGACY_MODULES[module]]
            if unknown:
                self.report(
                    original_node,
                    f"{', '.join(unknown)} from {module} has no counterpart in {TARGET}",
                    f"from {TARGET} import {', '.join(sorted(LEGACY_MODULES[module]))}, and "
                    "replace the rest by hand",
                )
                return updated_node
            return updated_node.with_changes(module=_TARGET_NODE)
        if names and all(f"{module}.{name}" in LEGACY_MODULES for name in names):
            # `from langswarm.synapse.registry import tools`: the module object itself.
            return updated_node.with_changes(
                module=cst.parse_expression("toolware.compat"),
                names=[
                    alias.with_changes(
                        name=cst.Name("v1"),
                        asname=alias.asname
                        or cst.AsName(name=cst.Name(get_full_name_for_node(alias.name) or "")),
                    )
                    for alias in updated_node.names  # type: ignore[union-attr]
                ],
            )
        self.report(
            original_node,
            f"import from {module}, which has no counterpart in {TARGET}",
            f"import MiddlewareMixin, ToolRegistry, RAGRegistry or PluginRegistry from {TARGET}",
        )
        return updated_node

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        aliases = []
        for original, alias in zip(original_node.names, updated_node.names, strict=True):
            name = get_full_name_for_node(original.name) or ""
            if name in LEGACY_MODULES:
                aliases.append(alias.with_changes(name=_TARGET_NODE))
                continue
            if _is_langswarm(name):
                self.report(
                    original_node,
                    f"import {name}, which has no counterpart in {TARGET}",
                    f"import {TARGET} and use its MiddlewareMixin, ToolRegistry, RAGRegistry, "
                    "PluginRegistry",
                )
            aliases.append(alias)
        return updated_node.with_changes(names=aliases)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        name = get_full_name_for_node(original_node)
        if name in self.plain:
            return _TARGET_NODE
        return updated_node


def wanted(text: str, options: MigrateOptions) -> bool:
    """Whether :func:`rewrite` can change or report anything: the text names langswarm."""
    del options  # the imports are always rewritten
    return "langswarm" in text


def rewrite(
    module: cst.Module, path: str, options: MigrateOptions
) -> tuple[cst.Module, list[Finding]]:
    """``module`` with its legacy imports rewritten, and what was left."""
    del options  # the imports are always rewritten
    plain = _PlainImports()
    module.visit(plain)
    transformer = _ImportRewriter(path, plain.modules)
    result = cst.MetadataWrapper(module, unsafe_skip_copy=True).visit(transformer)
    return result, transformer.findings

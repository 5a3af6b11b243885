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


def _bound(alias: cst.ImportAlias) -> str:
    """The name an import alias binds in the module (dotted for a plain ``import a.b``)."""
    if alias.asname is not None:
        return get_full_name_for_node(alias.asname.name) or ""
    return get_full_name_for_node(alias.name) or ""


class _PlainImports(cst.CSTVisitor):
    """The legacy modules imported without an alias (their dotted uses are renamed too), and
    the names bound to legacy modules that are used for a name the compat package lacks
    (``mw.AgentWrapper``): those imports stay as they are, like a from-import of such a name.
    """

    def __init__(self) -> None:
        super().__init__()
        self.modules: set[str] = set()
        self.bound: dict[str, str] = {}  # name bound in the module -> the legacy module
        self.attributes: list[cst.Attribute] = []

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = get_full_name_for_node(alias.name)
            if name in LEGACY_MODULES:
                self.bound[_bound(alias)] = name
                if alias.asname is None:
                    self.modules.add(name)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        package = get_full_name_for_node(node.module) or ""
        for alias in node.names:
            module = f"{package}.{get_full_name_for_node(alias.name)}"
            if module in LEGACY_MODULES:
                self.bound[_bound(alias)] = module

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.attributes.append(node)

    def blocked(self) -> set[str]:
        """The bound names used for a name their legacy module has no counterpart for."""
        return {
            name
            for node in self.attributes
            if (name := get_full_name_for_node(node.value) or "") in self.bound
            and node.attr.value not in LEGACY_MODULES[self.bound[name]]
        }


class _ImportRewriter(RecordingTransformer):
    def __init__(
        self, path: str, plain: set[str], bound: dict[str, str], blocked: set[str]
    ) -> None:
        super().__init__(path)
        self.plain = plain - blocked
        self.bound = bound
        self.blocked = blocked

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
        if any(_bound(alias) in self.blocked for alias in original_node.names):
            return updated_node  # a use of it was reported
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
            if name in LEGACY_MODULES and _bound(original) not in self.blocked:
                aliases.append(alias.with_changes(name=_TARGET_NODE))
                continue
            if name in LEGACY_MODULES:  # a use of it was reported
                aliases.append(alias)
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
        used = get_full_name_for_node(original_node.value) or ""
        if used in self.blocked:
            module = self.bound[used]
            attribute = original_node.attr.value
            if attribute not in LEGACY_MODULES[module]:
                self.report(
                    original_node,
                    f"{attribute} from {module} has no counterpart in {TARGET}",
                    f"replace it by hand, then import the module from {TARGET} "
                    f"({', '.join(sorted(LEGACY_MODULES[module]))})",
                )
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
    transformer = _ImportRewriter(path, plain.modules, plain.bound, plain.blocked())
    result = cst.MetadataWrapper(module, unsafe_skip_copy=True).visit(transformer)
    return result, transformer.findings

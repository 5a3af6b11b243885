"""What the rewrites share: the transformer base that records findings at source lines."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import PositionProvider

from toolware.migrate.findings import Finding

__all__ = ["RecordingTransformer", "add_imports", "code_of"]

_EMPTY = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    """The source text of ``node`` as it would be printed."""
    return _EMPTY.code_for_node(node)


class RecordingTransformer(cst.CSTTransformer):
    """A transformer that knows each node's line and collects what it could not rewrite."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.findings: list[Finding] = []

    def report(self, node: cst.CSTNode, message: str, suggestion: str) -> None:
        """Record that ``node`` (an original node) is left as it was."""
        line = self.get_metadata(PositionProvider, node).start.line
        self.findings.append(
            Finding(path=self.path, line=line, message=message, suggestion=suggestion)
        )


def add_imports(module: cst.Module, needed: list[tuple[str, str | None]]) -> cst.Module:
    """``module`` with each ``(module, name)`` imported (``import module`` when name is None).

    libcst puts a new first import right under the module docstring; a blank line keeps it
    apart, as formatters would.
    """
    context = CodemodContext()
    for source, name in needed:
        AddImportsVisitor.add_needed_import(context, source, name)
    result = AddImportsVisitor(context).transform_module(module)
    body = list(result.body)
    if (
        len(body) > 1
        and m.matches(body[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString())]))
        and not body[1].leading_lines
    ):
        body[1] = body[1].with_changes(leading_lines=[cst.EmptyLine()])
        result = result.with_changes(body=body)
    return result

"""What the rewrites share: the transformer base that records findings at source lines."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import PositionProvider

from toolware.migrate.findings import Finding

__all__ = ["RecordingTransformer", "code_of"]

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

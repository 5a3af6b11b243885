"""What ``toolware migrate`` could not rewrite: where, why, and what to write instead."""

from __future__ import annotations

import msgspec

__all__ = ["Finding"]


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One spot left as it was: ``path:line``, the reason, and the suggested replacement."""

    path: str
    line: int
    message: str
    suggestion: str

    def format(self) -> str:
        """``path:line: message`` and the suggestion on an indented line."""
        return f"{self.path}:{self.line}: {self.message}\n    suggested: {self.suggestion}"

"""The choices of one ``toolware migrate`` run, validated once."""

from __future__ import annotations

import keyword

import libcst as cst
import msgspec

__all__ = ["MigrateOptions"]


_PRIMARY = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)


def _identifier(value: object, option: str) -> str:
    if not isinstance(value, str) or not value.isidentifier() or keyword.iskeyword(value):
        raise ValueError(f"{option} must be a Python identifier, e.g. Notes; got {value!r}")
    return value


class MigrateOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What to rewrite beyond the legacy imports (always rewritten).

    ``native`` names the classes to move to the native API (``native_all``: every class that
    qualifies): a V1 handler class gets a native plugin registration on ``registry_name`` (a
    module-level ``LocalRegistry``, created when the module has none), and the
    ``to_middleware`` calls inside the class's ``async`` methods become
    ``await <pipeline>.invoke(...)`` with the V1 status mapping written out.
    """

    native: frozenset[str] = frozenset()
    native_all: bool = False
    registry_name: str = "native_registry"
    pipeline: str = "self.pipeline"

    def __post_init__(self) -> None:
        if not isinstance(self.native, frozenset):
            raise TypeError(
                "native takes a frozenset of class names, e.g. frozenset({'Agent'}); "
                f"got {type(self.native).__name__}"
            )
        for name in self.native:
            _identifier(name, "native")
        if not isinstance(self.native_all, bool):
            raise TypeError(f"native_all must be True or False, got {self.native_all!r}")
        _identifier(self.registry_name, "registry_name")
        if not isinstance(self.pipeline, str):
            # libcst would parse bytes, and fail on None with an AttributeError.
            raise TypeError(
                "pipeline takes the expression as a string, e.g. 'self.pipeline'; "
                f"got {type(self.pipeline).__name__}"
            )
        try:
            expression = cst.parse_expression(self.pipeline)
        except cst.ParserSyntaxError:
            raise ValueError(
                "pipeline must be a Python expression naming the pipeline, e.g. self.pipeline; "
                f"got {self.pipeline!r}"
            ) from None
        # It is written before `.invoke(...)`: `await a if b else c.invoke(...)` would call c
        # alone, `lambda: p.invoke(...)` would not parse. Only what binds tighter than a call.
        if not (isinstance(expression, _PRIMARY) or expression.lpar):
            raise ValueError(
                "pipeline must be a Python expression naming the pipeline (a name, attribute, "
                "call or subscript), e.g. self.pipeline, or one in parentheses; "
                f"got {self.pipeline!r}"
            )

    def wants(self, class_name: str | None) -> bool:
        """Whether the class (``None``: module level) is to move to the native API."""
        if self.native_all:
            return True
        return class_name is not None and class_name in self.native

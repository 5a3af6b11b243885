"""``to_middleware`` call sites to ``await pipeline.invoke(...)`` (opt-in, per class).

Rewritten: a whole statement (``status, body = ...``, ``result = ...``, ``return ...`` or a bare
call) inside an ``async`` method of a chosen class, whose argument is one literal action
``{"notes": {"method": "add", "params": {...}}}``. The native target is ``"notes.add"`` (the
plugin the handler rewrite registers), and the V1 status mapping is written out next to it::

    response = await self.pipeline.invoke("notes.add", {"text": text})
    # V1 status: 201 = the tool ran (body: its result as indented JSON). V1 also answered 201
    # for a failed or timed-out action, which now keeps its own status (http_status).
    if response.ok:
        status, body = 201, json.dumps(response.value, indent=2)
    else:
        status, body = http_status(response.error), str(response.error)

Anything else in a chosen class is reported with the replacement to write: a call in a
synchronous function (``invoke`` is async), an input built at run time or holding several
actions, a call inside a larger expression.
"""

from __future__ import annotations

import json

import libcst as cst
import libcst.matchers as m

from toolware.migrate._base import RecordingTransformer, add_imports, code_of
from toolware.migrate.findings import Finding
from toolware.migrate.options import MigrateOptions

__all__ = ["rewrite", "wanted"]

_CALL = m.Call(func=m.Attribute(attr=m.Name("to_middleware")))
_MAPPING_NOTE = (
    "# V1 status: 201 = the tool ran (body: its result as indented JSON). V1 also answered 201\n"
    "# for a failed or timed-out action, which now keeps its own status (http_status).\n"
)


class _Action:
    __slots__ = ("params", "target")

    def __init__(self, target: str, params: str) -> None:
        self.target = target
        self.params = params


def _literal(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _single_action(call: cst.Call) -> _Action | None:
    """The one literal action of ``to_middleware({...})``, or ``None``."""
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    outer = call.args[0].value
    if not isinstance(outer, cst.Dict) or len(outer.elements) != 1:
        return None
    element = outer.elements[0]
    if not isinstance(element, cst.DictElement) or not isinstance(element.value, cst.Dict):
        return None
    action_id = _literal(element.key)
    fields: dict[str, cst.BaseExpression] = {}
    for item in element.value.elements:
        key = _literal(item.key) if isinstance(item, cst.DictElement) else None
        if key is None or key not in ("method", "params"):
            return None
        fields[key] = cst.ensure_type(item, cst.DictElement).value
    method = _literal(fields["method"]) if "method" in fields else None
    if action_id is None or method is None:
        return None
    params = code_of(fields["params"]) if "params" in fields else "{}"
    return _Action(f"{action_id}.{method}", params)


_NEEDED = ("json", "http_status")
"""The names the rewritten code uses: the standard ``json`` module and toolware's
``http_status``."""


def _target_names(target: cst.BaseExpression) -> set[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``; not ``self.a``)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, cst.Tuple | cst.List):
        return {n for element in target.elements for n in _target_names(element.value)}
    return set()


def _bound_names(node: cst.CSTNode) -> set[str]:
    """The names ``node`` (a function, or a module) binds anywhere inside it."""
    bound = {cst.ensure_type(p, cst.Param).name.value for p in m.findall(node, m.Param())}
    targets = m.AssignTarget() | m.AnnAssign() | m.AugAssign() | m.For() | m.NamedExpr()
    for found in m.findall(node, targets):
        bound |= _target_names(found.target)  # type: ignore[attr-defined]
    for found in m.findall(node, m.AsName()):  # with ... as x, except E as x, import a as x
        bound |= _target_names(cst.ensure_type(found, cst.AsName).name)
    for found in m.findall(node, m.FunctionDef() | m.ClassDef()):
        bound.add(found.name.value)  # type: ignore[attr-defined]
    return bound


def _foreign_imports(module: cst.Module) -> set[str]:
    """Which of :data:`_NEEDED` the module imports from elsewhere (``from flask import
    json``, ``import simplejson as json``), where the rewrite's own import would shadow it."""
    foreign: set[str] = set()
    for node in m.findall(module, m.Import() | m.ImportFrom()):
        names = node.names  # type: ignore[attr-defined]
        if isinstance(names, cst.ImportStar):
            continue
        source = ""
        if isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative:
            source = code_of(node.module)
        for alias in names:
            name = alias.evaluated_alias or alias.evaluated_name
            if name not in _NEEDED:
                continue
            ours = (isinstance(node, cst.Import) and alias.evaluated_name == "json") or (
                source == "toolware.error_codes" and alias.evaluated_name == "http_status"
            )
            if not ours:
                foreign.add(name)
    return foreign


class _Scope:
    __slots__ = ("bound", "is_async", "names")

    def __init__(self, is_async: bool, names: set[str], bound: set[str]) -> None:
        self.is_async = is_async
        self.names = names
        self.bound = bound


class _CallSiteRewriter(RecordingTransformer):
    def __init__(self, path: str, options: MigrateOptions, foreign: set[str]) -> None:
        super().__init__(path)
        self.options = options
        self.foreign = foreign
        self.classes: list[str] = []
        self.functions: list[_Scope] = []
        self.whole: set[int] = set()
        self.rewritten = 0

    def _chosen(self) -> bool:
        return self.options.wants(self.classes[-1] if self.classes else None)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.classes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        names = {cst.ensure_type(n, cst.Name).value for n in m.findall(node, m.Name())}
        self.functions.append(_Scope(node.asynchronous is not None, names, _bound_names(node)))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.functions.pop()
        return updated_node

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        statement = node.body[0] if len(node.body) == 1 else None
        if isinstance(statement, cst.Assign | cst.Return | cst.Expr):
            value = statement.value
            if value is not None and m.matches(value, _CALL):
                self.whole.add(id(value))

    def visit_Call(self, node: cst.Call) -> None:
        if m.matches(node, _CALL) and id(node) not in self.whole and self._chosen():
            self.report(
                node,
                "to_middleware call inside a larger expression",
                "assign its result first, or call "
                f'await {self.options.pipeline}.invoke("<action id>.<method>", <params>)',
            )

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        statement = original_node.body[0]
        call = getattr(statement, "value", None)
        if id(call) not in self.whole or not self._chosen():
            return updated_node
        action = _single_action(cst.ensure_type(call, cst.Call))
        pipeline = self.options.pipeline
        if action is None:
            self.report(
                original_node,
                "to_middleware input is not one literal action "
                '({"<id>": {"method": "<m>", "params": ...}})',
                f'one await {pipeline}.invoke("<id>.<method>", <params>) per action',
            )
            return updated_node
        scope = self.functions[-1] if self.functions else None
        code = self._replacement(statement, action, scope)
        if scope is None or not scope.is_async:
            first = code.splitlines()[0]
            self.report(
                original_node,
                "to_middleware call in a synchronous function (pipeline.invoke is async)",
                f"make the function async, then: {first}; status 201 when response.ok, "
                "else http_status(response.error)",
            )
            return updated_node
        receiver = cst.ensure_type(cst.ensure_type(call, cst.Call).func, cst.Attribute).value
        if not m.matches(receiver, m.Name("self")):
            # Another object's to_middleware runs its own registries, not self's pipeline.
            shown = code_of(receiver)
            self.report(
                original_node,
                f"to_middleware called on {shown}, not self (the rewrite calls self's pipeline)",
                f"await <the pipeline of {shown}>.invoke({json.dumps(action.target)}, "
                f"{action.params})",
            )
            return updated_node
        clash = self._clash(statement, scope)
        if clash is not None:
            first = code.splitlines()[0]
            self.report(
                original_node,
                f"{clash}, which the rewritten call needs",
                f"{first}; status 201 when response.ok, else http_status(response.error)",
            )
            return updated_node
        body: list[cst.BaseStatement] = list(cst.parse_module(code).body)
        # The comments above the call and after it stay with its first line, the invoke.
        body[0] = cst.ensure_type(body[0], cst.SimpleStatementLine).with_changes(
            leading_lines=original_node.leading_lines,
            trailing_whitespace=original_node.trailing_whitespace,
        )
        self.rewritten += isinstance(statement, cst.Assign | cst.Return)
        return cst.FlattenSentinel(body)

    def _clash(self, statement: cst.BaseSmallStatement, scope: _Scope) -> str | None:
        """What makes ``json`` or ``http_status`` mean something else where the rewritten
        code would use them (a bare call uses neither)."""
        if isinstance(statement, cst.Expr):
            return None
        for name in _NEEDED:
            if name in scope.bound:
                return f"the function binds {name}"
            if name in self.foreign:
                return f"the module binds {name} to something else"
        return None

    def _replacement(
        self, statement: cst.BaseSmallStatement, action: _Action, scope: _Scope | None
    ) -> str:
        invoke = (
            f"await {self.options.pipeline}.invoke({json.dumps(action.target)}, {action.params})"
        )
        if isinstance(statement, cst.Expr):
            return invoke + "\n"
        response = _free_name(scope.names if scope is not None else set())
        if isinstance(statement, cst.Return):
            ok, failed = "return ", "return "
        else:
            targets = "".join(
                code_of(t.target) + " = " for t in cst.ensure_type(statement, cst.Assign).targets
            )
            ok = failed = targets
        return (
            f"{response} = {invoke}\n{_MAPPING_NOTE}"
            f"if {response}.ok:\n"
            f"    {ok}201, json.dumps({response}.value, indent=2)\n"
            "else:\n"
            f"    {failed}http_status({response}.error), str({response}.error)\n"
        )


def _free_name(taken: set[str]) -> str:
    for name in ("response", "tool_response"):
        if name not in taken:
            return name
    number = 2
    while f"tool_response_{number}" in taken:
        number += 1
    return f"tool_response_{number}"


def wanted(text: str, options: MigrateOptions) -> bool:
    """Whether :func:`rewrite` can change or report anything."""
    return bool(options.native or options.native_all) and "to_middleware" in text


def rewrite(
    module: cst.Module, path: str, options: MigrateOptions
) -> tuple[cst.Module, list[Finding]]:
    """``module`` with the chosen classes' ``to_middleware`` calls made native."""
    transformer = _CallSiteRewriter(path, options, _foreign_imports(module))
    result = cst.MetadataWrapper(module, unsafe_skip_copy=True).visit(transformer)
    if transformer.rewritten:
        result = add_imports(result, [("json", None), ("toolware.error_codes", "http_status")])
    return result, transformer.findings

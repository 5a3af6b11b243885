"""V1 handler classes to native plugin registrations (opt-in, per class).

A V1 handler class has a ``run(self, payload)`` method and an ``identifier`` (a class
attribute or ``self.identifier = ...`` in ``__init__``). The rewrite keeps the class as it is,
so V1 callers keep working, and registers it as a native plugin on a module-level
``LocalRegistry``::

    @native_registry.plugin(name="notes", include=["add", "count"], description="...")
    class NotesTool: ...

The actions come from how ``run`` dispatches: ``if method == "add": return self.add(**params)``
branches give exactly those actions; ``getattr(self, method)(**params)`` gives every public
method but ``run``. The plugin name is the identifier and the actions are the V1 methods, so
``pipeline.invoke("notes.add", params)`` is the native call of ``{"notes": {"method": "add",
...}}``. Anything else (an identifier that is not a literal, a constructor that needs
arguments, a dispatch it does not recognise) is reported with the registration to write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node

from toolware.errors import RegistrationError
from toolware.migrate._base import RecordingTransformer, add_imports
from toolware.migrate.findings import Finding
from toolware.migrate.options import MigrateOptions
from toolware.registry.names import check_name

__all__ = ["rewrite", "wanted"]


def _method(body: cst.BaseSuite, name: str) -> cst.FunctionDef | None:
    for statement in body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _string(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _attribute_value(cls: cst.ClassDef, attribute: str) -> tuple[bool, str | None]:
    """Whether the class sets ``attribute``, and its value when it is a string literal."""
    found: list[cst.BaseExpression] = []
    # `identifier = "x"`, `description = brief = "x"` and `identifier: str = "x"` alike.
    named = m.AssignTarget(m.Name(attribute))
    plain = m.Assign(targets=[m.ZeroOrMore(), named, m.ZeroOrMore()])
    annotated = m.AnnAssign(target=m.Name(attribute), value=m.DoNotCare())
    for statement in cls.body.body:
        if isinstance(statement, cst.FunctionDef):
            continue
        for assign in m.findall(statement, plain | annotated):
            if isinstance(assign, cst.Assign | cst.AnnAssign) and assign.value is not None:
                found.append(assign.value)
    init = _method(cls.body, "__init__")
    if init is not None:
        target = m.AssignTarget(m.Attribute(value=m.Name("self"), attr=m.Name(attribute)))
        for assign in m.findall(init, m.Assign(targets=[target])):
            found.append(cst.ensure_type(assign, cst.Assign).value)
    if not found:
        return False, None
    return True, _string(found[-1])


def _dispatch(run: cst.FunctionDef) -> tuple[list[str] | None, bool]:
    """The actions ``run`` dispatches to by name, or whether it dispatches by ``getattr``."""
    by_getattr = m.Call(
        func=m.Call(func=m.Name("getattr"), args=[m.Arg(m.Name("self")), m.Arg()]),
        args=[m.Arg(star="**")],
    )
    if m.findall(run, by_getattr):
        return None, True
    branch = m.If(
        test=m.Comparison(comparisons=[m.ComparisonTarget(m.Equal(), m.SimpleString())]),
        body=m.IndentedBlock(
            body=[
                m.SimpleStatementLine(
                    body=[
                        m.Return(
                            m.Call(
                                func=m.Attribute(value=m.Name("self"), attr=m.Name()),
                                args=[m.Arg(star="**")],
                            )
                        )
                    ]
                )
            ]
        ),
    )
    actions: list[str] = []
    for node in m.findall(run, branch):
        if_node = cst.ensure_type(node, cst.If)
        literal = _string(if_node.test.comparisons[0].comparator)  # type: ignore[attr-defined]
        statement = cst.ensure_type(if_node.body.body[0], cst.SimpleStatementLine)
        call = cst.ensure_type(cst.ensure_type(statement.body[0], cst.Return).value, cst.Call)
        method = cst.ensure_type(call.func, cst.Attribute).attr.value
        if literal != method:
            return None, False  # the V1 name differs from the method: not the same action
        actions.append(method)
    return (actions or None), False


_CONTROL_FLOW = (
    m.If()
    | m.IfExp()
    | m.Assert()
    | m.Raise()
    | m.Try()
    | m.TryStar()
    | m.Match()
    | m.While()
    | m.For()
    | m.With()
    | m.Comparison()
    | m.BooleanOperation()
)
"""What in ``run`` can stand between the caller and its ``getattr`` dispatch."""


def _needs_arguments(cls: cst.ClassDef) -> bool:
    init = _method(cls.body, "__init__")
    if init is None:
        return False
    params = init.params
    required = [p for p in params.params[1:] if p.default is None]
    required += [p for p in params.kwonly_params if p.default is None]
    return bool(required or params.posonly_params)


class _HandlerRewriter(RecordingTransformer):
    def __init__(self, path: str, options: MigrateOptions, registry_bound: bool) -> None:
        super().__init__(path)
        self.options = options
        self.registry = options.registry_name
        self.registry_bound = registry_bound
        self.converted = 0
        self.depth = 0

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    # A class defined in a function is nested too: decorated there, it would be registered
    # again at each call (RegistrationError from the second on).
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.depth -= 1
        return updated_node

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.depth -= 1
        name = original_node.name.value
        run = _method(original_node.body, "run")
        if run is None or len(run.params.params) < 2 or not self.options.wants(name):
            return updated_node
        has_identifier, identifier = _attribute_value(original_node, "identifier")
        if not has_identifier:
            return updated_node  # a run() method alone does not make a V1 handler
        registered = m.Decorator(
            m.Call(func=m.Attribute(value=m.Name(self.registry), attr=m.Name("plugin")))
        )
        if any(m.matches(d, registered) for d in original_node.decorators):
            return updated_node  # already migrated
        problem = self._problem(original_node, run, identifier)
        if problem is not None:
            self.report(original_node, f"class {name}: {problem[0]}", problem[1])
            return updated_node
        text = _decorator(self.registry, self._arguments(original_node, run, identifier))
        decorator = cst.ensure_type(
            cst.parse_statement(f"{text}\nclass _Class:\n    pass\n"), cst.ClassDef
        ).decorators[0]
        self.converted += 1
        return updated_node.with_changes(decorators=[decorator, *updated_node.decorators])

    def _arguments(
        self, cls: cst.ClassDef, run: cst.FunctionDef, identifier: str | None
    ) -> list[str]:
        """The keyword arguments of the registration, as source text."""
        actions, by_getattr = _dispatch(run)
        arguments = [f"name={json.dumps(identifier or '<identifier>')}"]
        if by_getattr:
            arguments.append('exclude=["run"]')
        else:
            listed = ", ".join(json.dumps(a) for a in actions or ["<method>"])
            arguments.append(f"include=[{listed}]")
        description = _attribute_value(cls, "description")[1]
        if description is not None:
            arguments.append(f"description={json.dumps(description)}")
        return arguments

    def _problem(
        self, cls: cst.ClassDef, run: cst.FunctionDef, identifier: str | None
    ) -> tuple[str, str] | None:
        """Why the class cannot be registered as it is, and what to write instead."""
        suggestion = _decorator(self.registry, self._arguments(cls, run, identifier), wrap=False)
        if self.depth > 0:
            return "a nested class cannot be registered at module level", (
                f"{self.registry}.plugin({cls.name.value}, ...) where the class is reachable"
            )
        if self.registry_bound:
            return (
                f"the module already binds {self.registry!r} to something other than a "
                "LocalRegistry",
                "choose another name with --registry-name",
            )
        if identifier is None:
            return "its identifier is not a string literal, so the plugin name is unknown", (
                suggestion
            )
        try:
            check_name(identifier, "plugin name")
        except RegistrationError as exc:
            return f"its identifier cannot be a native name: {exc}", suggestion
        actions, by_getattr = _dispatch(run)
        if actions is None and not by_getattr:
            return (
                "run() does not dispatch in a form the tool recognises "
                '(`if method == "x": return self.x(**params)` or '
                "`getattr(self, method)(**params)`)",
                suggestion,
            )
        if by_getattr and m.findall(run.body, _CONTROL_FLOW):
            # e.g. `if method not in ("read", "list"): raise`: V1 refused the other methods,
            # which exclude=["run"] would make native actions.
            arguments = [
                'include=["<method>", ...]' if a == 'exclude=["run"]' else a
                for a in self._arguments(cls, run, identifier)
            ]
            return (
                "run() checks or transforms the call around its getattr dispatch, so not "
                "every public method was an action",
                _decorator(self.registry, arguments, wrap=False),
            )
        defined = {s.name.value for s in cls.body.body if isinstance(s, cst.FunctionDef)}
        missing = [a for a in actions or () if a not in defined]
        if missing:
            return (
                f"run() dispatches to {', '.join(missing)}, not defined in the class itself",
                suggestion,
            )
        if _needs_arguments(cls):
            call = suggestion.removeprefix("@").replace("(", f"({cls.name.value}(...), ", 1)
            return "its constructor needs arguments", f"after the class: {call}"
        return None


def _decorator(registry: str, arguments: list[str], *, wrap: bool = True) -> str:
    """``@registry.plugin(...)`` on one line, or one argument a line when that is too long."""
    line = f"@{registry}.plugin({', '.join(arguments)})"
    if len(line) <= 100 or not wrap:
        return line
    return f"@{registry}.plugin(\n" + "".join(f"    {a},\n" for a in arguments) + ")"


def _bindings(
    statements: Sequence[cst.BaseStatement],
) -> Iterator[tuple[str, cst.BaseExpression | None]]:
    """The names module-level code binds, with the assigned value when there is one.

    Compound statements (``if TYPE_CHECKING:``, ``try: import ...``, ``with``, ``for``,
    ``while``, their ``else`` and ``finally`` blocks) bind at module level too; function and class
    bodies do not.
    """
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            yield target.target.value, small.value
                elif isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    for alias in small.names:
                        yield (alias.evaluated_alias or alias.evaluated_name).split(".")[0], None
        elif isinstance(statement, cst.FunctionDef | cst.ClassDef):
            yield statement.name.value, None
        elif isinstance(statement, cst.If | cst.Try | cst.TryStar | cst.With | cst.For | cst.While):
            blocks: list[cst.BaseSuite] = [statement.body]
            if isinstance(statement, cst.Try | cst.TryStar):
                blocks += [handler.body for handler in statement.handlers]
                if statement.finalbody is not None:
                    blocks.append(statement.finalbody.body)
            if isinstance(statement, cst.With):  # `with open(p) as name:` binds name
                for item in statement.items:
                    if item.asname is not None and isinstance(item.asname.name, cst.Name):
                        yield item.asname.name.value, None
            if isinstance(statement, cst.For) and isinstance(statement.target, cst.Name):
                yield statement.target.value, None
            orelse = None if isinstance(statement, cst.With) else statement.orelse
            while orelse is not None:
                blocks.append(orelse.body)
                orelse = orelse.orelse if isinstance(orelse, cst.If) else None
            for block in blocks:
                if isinstance(block, cst.IndentedBlock):
                    yield from _bindings(block.body)


def _registry_binding(module: cst.Module, registry: str) -> tuple[bool, bool]:
    """Whether ``registry`` is bound at module level, and whether to a ``LocalRegistry(...)``."""
    for name, value in _bindings(module.body):
        if name == registry:
            is_local = isinstance(value, cst.Call) and (
                get_full_name_for_node(value.func) or ""
            ).endswith("LocalRegistry")
            return True, is_local
    return False, False


def _insert_registry(module: cst.Module, registry: str) -> cst.Module:
    """``module`` with ``registry = LocalRegistry()`` after its leading imports."""
    body = list(module.body)
    index = 0
    for position, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(s, cst.Import | cst.ImportFrom | cst.Expr) for s in statement.body
        ):
            index = position + 1
        elif not isinstance(statement, cst.If | cst.Try):  # `if TYPE_CHECKING:` blocks
            break
    assignment = cst.parse_statement(
        f"{registry} = LocalRegistry()  # native plugin registrations (toolware migrate)\n"
    )
    body.insert(index, assignment.with_changes(leading_lines=[cst.EmptyLine()]))
    following = body[index + 1]  # there is one: the class being registered, at the latest
    if not following.leading_lines:
        body[index + 1] = following.with_changes(leading_lines=[cst.EmptyLine()] * 2)
    return module.with_changes(body=body)


def wanted(text: str, options: MigrateOptions) -> bool:
    """Whether :func:`rewrite` can change anything: some class was chosen, and ``run`` exists."""
    return bool(options.native or options.native_all) and "def run" in text


def rewrite(
    module: cst.Module, path: str, options: MigrateOptions
) -> tuple[cst.Module, list[Finding]]:
    """``module`` with the chosen V1 handler classes registered as native plugins."""
    bound, is_local = _registry_binding(module, options.registry_name)
    transformer = _HandlerRewriter(path, options, registry_bound=bound and not is_local)
    result = cst.MetadataWrapper(module, unsafe_skip_copy=True).visit(transformer)
    if transformer.converted and not bound:
        result = _insert_registry(result, options.registry_name)
        result = add_imports(result, [("toolware", "LocalRegistry")])
    return result, transformer.findings

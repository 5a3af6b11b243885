"""Tool definitions from a registry's listing, shared by the OpenAI and Anthropic modules.

Each entry becomes one function named as :func:`toolware.registry.function_name` says
(``notes__add`` for the plugin action ``notes.add``), described by its docstring summary, with
its arguments' JSON Schema. Strict mode (:mod:`._strict_schema`) is decided per entry: the
entries that cannot be made strict are refused together, in one :class:`StrictSchemaError`,
unless the caller chose ``strict="where_possible"``, which sends those as they are (not
strict) and logs each one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from toolware.integrations._routes import registry_of
from toolware.integrations._strict_schema import OPENAI, StrictRules, make_strict
from toolware.registry.base import EntryDescription
from toolware.registry.names import function_name

__all__ = [
    "Definition",
    "Strictness",
    "StrictSchemaError",
    "StrictSchemaProblem",
    "definitions",
    "strict_problems",
]

logger = logging.getLogger("toolware.integrations.definitions")

Strictness = bool | Literal["where_possible"]


@dataclass(frozen=True, slots=True)
class StrictSchemaProblem:
    """Why one function cannot be strict: each reason is ``"json.path: why"``."""

    function: str
    reasons: tuple[str, ...]


class StrictSchemaError(ValueError):
    """Some functions' argument schemas cannot be made strict; ``problems`` names each."""

    def __init__(self, problems: tuple[StrictSchemaProblem, ...]) -> None:
        self.problems = problems
        listed = "; ".join(f"{p.function}: {', '.join(p.reasons)}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            f"{len(problems)} function(s) cannot be strict: {listed}{more}; change their "
            "signatures, or pass strict='where_possible' to send them without strict mode"
        )


@dataclass(frozen=True, slots=True)
class Definition:
    """One function to offer: name, description, parameters schema, and whether it is strict."""

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool


def _parameters(description: EntryDescription) -> dict[str, Any]:
    schema = dict(description.args_schema)
    if not schema:  # a lazy entry not imported yet: its arguments are not known
        return {"type": "object"}
    return schema


def definitions(
    source: object, strict: Strictness, rules: StrictRules = OPENAI
) -> list[Definition]:
    """A definition per entry of ``source`` (a registry, or a pipeline routed to one), strict
    by ``rules`` when ``strict`` asks for it."""
    if strict not in (True, False, "where_possible"):
        raise ValueError(f"strict must be True, False or 'where_possible', got {strict!r}")
    listing = registry_of(source).list()
    if strict is False:
        return [Definition(function_name(d), d.description, _parameters(d), False) for d in listing]
    made: list[Definition] = []
    problems: list[StrictSchemaProblem] = []
    for description in listing:
        name = function_name(description)
        parameters = _parameters(description)
        result = _strict_for(description, parameters, rules)
        if result.schema is not None:
            made.append(Definition(name, description.description, result.schema, True))
            continue
        problems.append(StrictSchemaProblem(name, result.problems))
        if strict == "where_possible":
            logger.warning(
                "definitions.not_strict function=%s reasons=%s",
                name,
                "; ".join(result.problems),
                extra={"function": name, "reasons": result.problems},
            )
            made.append(Definition(name, description.description, parameters, False))
    if problems and strict is True:
        raise StrictSchemaError(tuple(problems))
    return made


@dataclass(frozen=True, slots=True)
class _Outcome:
    schema: dict[str, Any] | None
    problems: tuple[str, ...]


def _strict_for(
    description: EntryDescription, parameters: Mapping[str, Any], rules: StrictRules
) -> _Outcome:
    if not description.loaded:
        return _Outcome(None, ("$: a lazy entry not imported yet; its arguments are unknown",))
    result = make_strict(parameters, rules)
    return _Outcome(result.schema, result.problems)


def strict_problems(source: object, rules: StrictRules = OPENAI) -> tuple[StrictSchemaProblem, ...]:
    """The functions of ``source`` that strict mode would refuse, each with its reasons."""
    problems = []
    for description in registry_of(source).list():
        result = _strict_for(description, _parameters(description), rules)
        if result.schema is None:
            problems.append(StrictSchemaProblem(function_name(description), result.problems))
    return tuple(problems)

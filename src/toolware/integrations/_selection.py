"""Which entries a framework adapter exposes: lazy ones imported, picked by name.

Shared by the LangChain and LlamaIndex tool builders, which publish each entry's JSON Schema:
an entry must be loaded for its schema to be known.
"""

from __future__ import annotations

from collections.abc import Iterable

from toolware.errors import ToolwareError
from toolware.registry.base import EntryDescription, Registry, close_matches

__all__ = ["checked_description", "loaded_descriptions", "pick", "selected"]


def selected(registry: Registry, names: Iterable[str] | None) -> tuple[EntryDescription, ...]:
    """The descriptions :func:`pick` chooses by ``names``, the lazy ones among them imported
    first (only those: a broken entry is left out by leaving out its name)."""
    wanted = None if names is None else [names] if isinstance(names, str) else list(names)
    return pick(loaded_descriptions(registry, wanted), wanted)


def _picked(description: EntryDescription, wanted: Iterable[str] | None) -> bool:
    if wanted is None:
        return True
    name = description.name  # a plugin's qualified names start with it: notes → notes.add
    return any(w == name or w.startswith(name + ".") for w in wanted)


def loaded_descriptions(
    registry: Registry, wanted: Iterable[str] | None = None
) -> tuple[EntryDescription, ...]:
    """Every description, lazy entries imported first (a plugin's actions are only known
    once it is), or only those a name in ``wanted`` may stand for. An entry whose import
    fails is refused, naming it."""
    descriptions = registry.list()
    lazy = [d for d in descriptions if not d.loaded and _picked(d, wanted)]
    for description in lazy:
        try:
            registry.resolve(description.kind, description.name)
        except ToolwareError as error:
            if error.category != "not_found":  # a plugin resolved without an action: loaded
                raise ValueError(
                    f"cannot import the lazy entry {description.name!r}: {error}; fix the "
                    f"import, or leave the entry out with names=[...]"
                ) from error
    return registry.list() if lazy else descriptions


def pick(
    descriptions: tuple[EntryDescription, ...], names: Iterable[str] | None
) -> tuple[EntryDescription, ...]:
    """The descriptions named (qualified names, in the order given), or all for ``None``;
    an unknown name is refused with close matches."""
    if names is None:
        return descriptions
    wanted = [names] if isinstance(names, str) else list(names)
    known = {d.qualified_name: d for d in descriptions}
    for name in wanted:
        if name not in known:
            matches = close_matches(name, known)
            suggestion = f"; did you mean {', '.join(map(repr, matches))}?" if matches else ""
            raise ValueError(f"the registry has no entry {name!r}{suggestion}")
    return tuple(known[name] for name in dict.fromkeys(wanted))


def checked_description(description: object, builder: str) -> EntryDescription:
    """``description`` if a tool can be built from it, else a clear error; ``builder`` names
    the function that imports lazy entries (``"langchain_tools"``)."""
    if not isinstance(description, EntryDescription):
        raise TypeError(
            f"description must be a toolware EntryDescription (from registry.list()), got "
            f"{type(description).__name__}"
        )
    if not description.loaded:
        raise ValueError(
            f"entry {description.qualified_name!r} is lazy and not imported yet, so its "
            f"arguments are unknown; import it first (registry.reload(kind, name)) or use "
            f"{builder}(pipeline, registry), which does"
        )
    return description

"""Explaining a miss cheaply: "did you mean", a plugin's actions, the right kind.

A miss is a caller's invented name, so its cost must not grow with what the caller sends or
with the size of the registry: the adversarial run measured 76 ms per invented name with 1,000
tools and 441 ms with 5,000 (difflib over every name), and a 16 MB name took 5.8 s and was
copied whole into the message. So:

* the names are indexed once per registry revision (:class:`MissIndex`), not per miss;
* a name longer than :data:`MAX_QUERY` characters gets no suggestions (no entry is that long);
* difflib only sees a bounded pool: the names sharing the most rare bigrams with the query
  (an inverted index), or every name when there are few;
* names are shortened in messages (:func:`~toolware.registry.names.shorten`).
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Iterable

from toolware.context import Kind
from toolware.errors import UnknownEntryError
from toolware.registry.names import MAX_NAME_LENGTH, shorten

__all__ = ["MAX_QUERY", "MissIndex", "NameIndex", "close_matches", "unknown_entry"]

_Key = tuple[Kind, str, str | None]
MAX_QUERY = 2 * MAX_NAME_LENGTH  # composites add a namespace; nothing registered is longer
_POOL = 64  # names difflib compares at most, per miss
_SMALL = 200  # below this many names, difflib sees them all


def _fold(name: str) -> str:
    return name.lower().replace("-", "_")


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


class NameIndex:
    """Names of one kind, indexed for close-match search."""

    __slots__ = ("_bigrams", "_folded", "_prefixes", "_rare", "names")

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self._folded: dict[str, list[str]] = {}
        self._bigrams: dict[str, list[str]] = {}
        for name in self.names:
            folded = _fold(name)
            self._folded.setdefault(folded, []).append(name)
            for bigram in _bigrams(folded):
                self._bigrams.setdefault(bigram, []).append(name)
        self._prefixes = sorted(self._folded)
        # A bigram most names share ("to" in 5,000 "tool_NNNN") says nothing about which.
        self._rare = max(_POOL, len(self.names) // 8)

    def matches(self, name: str, limit: int = 3) -> tuple[str, ...]:
        """Names that look like ``name`` (typos, case, separators, prefixes), best first."""
        if not isinstance(name, str) or not name or len(name) > MAX_QUERY or not self.names:
            return ()
        found = difflib.get_close_matches(name, self._pool(name), n=limit, cutoff=0.6)
        lowered = _fold(name)
        extra = list(self._folded.get(lowered, ()))
        # "calc" for "calculator": agents often shorten names; three letters avoid noise.
        if len(lowered) >= 3:
            start = bisect.bisect_left(self._prefixes, lowered)
            for folded in self._prefixes[start : start + limit]:
                if not folded.startswith(lowered):
                    break
                extra.extend(self._folded[folded])
        for candidate in extra:
            if candidate not in found:
                found.append(candidate)
        return tuple(found[:limit])

    def _pool(self, name: str) -> list[str]:
        if len(self.names) <= _SMALL:
            return self.names
        shared: Counter[str] = Counter()
        for bigram in _bigrams(_fold(name)):
            posting = self._bigrams.get(bigram)
            if posting is not None and len(posting) <= self._rare:
                shared.update(posting)
        return [candidate for candidate, _ in shared.most_common(_POOL)]


class MissIndex:
    """Everything a miss message needs about a registry's keys, built once per revision."""

    __slots__ = ("_actions", "_by_kind", "_kinds")

    def __init__(self, keys: Iterable[_Key]) -> None:
        names: dict[Kind, list[str]] = {}
        self._actions: dict[tuple[Kind, str], list[str]] = {}
        self._kinds: dict[str, set[Kind]] = {}
        for kind, name, action in keys:
            names.setdefault(kind, []).append(name)
            self._kinds.setdefault(name, set()).add(kind)
            if action is not None:
                self._actions.setdefault((kind, name), []).append(action)
        self._by_kind = {kind: NameIndex(kind_names) for kind, kind_names in names.items()}

    def error(self, registry: str, kind: Kind, name: str, action: str | None) -> UnknownEntryError:
        """The error for a miss: a plugin lists its actions, a name that exists as another
        kind says so, and close names are suggested."""
        actions = sorted(self._actions.get((kind, name), ()))
        if actions and kind is Kind.PLUGIN:
            wanted = "needs an action" if action is None else f"has no action {shorten(action)}"
            return UnknownEntryError(
                f"plugin {name!r} {wanted}; it has: {', '.join(actions)}",
                candidates=close_matches(action, actions) if action else tuple(actions[:3]),
            )
        kinds = self._kinds.get(name, set())
        if action is not None and kind in kinds:
            return UnknownEntryError(
                f"{kind.value} {name!r} has no actions; call it without action={shorten(action)}"
            )
        message = f"no {kind.value} named {shorten(name)} in registry {registry!r}"
        index = self._by_kind.get(kind)
        candidates = index.matches(name) if index is not None else ()
        other = sorted(k.value for k in kinds if k is not kind)
        if other:
            hint = f"{name!r} exists as kind {other[0]!r}; call it with kind={other[0]!r}"
            return UnknownEntryError(message, candidates=candidates, hint=hint)
        return UnknownEntryError(message, candidates=candidates)


def unknown_entry(
    registry: str, kind: Kind, name: str, action: str | None, keys: Iterable[_Key]
) -> UnknownEntryError:
    """The error for a miss, given every key the registry has (indexes them: registries that
    answer many misses keep a :class:`MissIndex` per revision instead)."""
    return MissIndex(keys).error(registry, kind, name, action)


def close_matches(name: str, candidates: Iterable[str], limit: int = 3) -> tuple[str, ...]:
    """Names from ``candidates`` that look like ``name`` (typos, case, separators, prefixes)."""
    return NameIndex(candidates).matches(name, limit)

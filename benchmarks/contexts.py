"""Cost of constructing and copying a request context, per representation.

The request and response contexts are built several times per call, so their representation
was chosen by this measurement: a frozen slotted dataclass, a plain class with ``__slots__``
whose ``__init__`` goes through ``object.__setattr__`` (how frozen classes must set fields),
and a frozen ``msgspec.Struct`` (what toolware uses). Each has the nine fields of
``RequestContext``; "copy" changes one field (the ``with_deadline`` case).

Run: make bench   (or .venv/bin/python benchmarks/contexts.py)
"""

from __future__ import annotations

import dataclasses
import sys
import timeit
from typing import Any

import msgspec

from toolware import RequestContext
from toolware.ids import new_request_id

FIELDS = ("id", "kind", "target", "action", "arguments", "principal", "deadline", "trace", "extras")


@dataclasses.dataclass(frozen=True, slots=True)
class FrozenDataclass:
    id: str
    kind: str
    target: str
    action: Any
    arguments: Any
    principal: Any
    deadline: Any
    trace: Any
    extras: Any


class SlottedClass:
    __slots__ = FIELDS

    def __init__(self, **values: Any) -> None:
        for name in FIELDS:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{name} is read-only")

    def replace(self, **changes: Any) -> SlottedClass:
        values = {name: getattr(self, name) for name in FIELDS}
        values.update(changes)
        return SlottedClass(**values)


class FrozenStruct(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    target: str
    action: Any
    arguments: Any
    principal: Any
    deadline: Any
    trace: Any
    extras: Any


VALUES: dict[str, Any] = {
    "id": "0",
    "kind": "tool",
    "target": "search",
    "action": None,
    "arguments": {"query": "x"},
    "principal": None,
    "deadline": None,
    "trace": None,
    "extras": None,
}


def best(statement: Any, number: int) -> float:
    """Best of 5 repeats, in nanoseconds per call."""
    return min(timeit.repeat(statement, number=number, repeat=5)) / number * 1e9


def main() -> None:
    number = 200_000
    empty = best(lambda: None, number)
    dc = FrozenDataclass(**VALUES)
    sc = SlottedClass(**VALUES)
    st = FrozenStruct(**VALUES)
    rows = [
        (
            "frozen slotted dataclass",
            best(lambda: FrozenDataclass(**VALUES), number),
            best(lambda: dataclasses.replace(dc, deadline=1.0), number),
            sys.getsizeof(dc),
        ),
        (
            "__slots__ + object.__setattr__",
            best(lambda: SlottedClass(**VALUES), number),
            best(lambda: sc.replace(deadline=1.0), number),
            sys.getsizeof(sc),
        ),
        (
            "frozen msgspec.Struct",
            best(lambda: FrozenStruct(**VALUES), number),
            best(lambda: msgspec.structs.replace(st, deadline=1.0), number),
            sys.getsizeof(st),
        ),
    ]
    print(f"{'representation':32} {'construct ns':>13} {'copy ns':>9} {'bytes':>6}")
    for name, construct, copy, size in rows:
        print(f"{name:32} {construct - empty:13.0f} {copy - empty:9.0f} {size:6d}")
    base_construct, base_copy = rows[0][1] - empty, rows[0][2] - empty
    struct_construct, struct_copy = rows[2][1] - empty, rows[2][2] - empty
    print(
        f"msgspec.Struct vs dataclass: construct {struct_construct / base_construct:.2f}x, "
        f"copy {struct_copy / base_copy:.2f}x"
    )
    request = RequestContext.create("search", {"query": "x"})
    print()
    print("toolware as used on the call path:")
    print(f"  new_request_id()                {best(new_request_id, number) - empty:8.0f} ns")
    print(
        f"  RequestContext.create()         "
        f"{best(lambda: RequestContext.create('search', {'query': 'x'}), number) - empty:8.0f} ns"
    )
    print(
        f"  request.with_deadline()         "
        f"{best(lambda: request.with_deadline(1.0), number) - empty:8.0f} ns"
    )


if __name__ == "__main__":
    main()

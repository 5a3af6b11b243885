"""A notes plugin: each public method is an action (``notes.add``, ``notes.list``, ...).

In memory, one list per instance. The actions are ``async`` so they run on the event loop
and need no lock.
"""

from __future__ import annotations

from typing import Annotated

import pydantic
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

__all__ = ["Note", "Notes"]


class Note(TypedDict):
    """One stored note."""

    id: int
    text: str
    tags: list[str]


NoteText = Annotated[str, pydantic.Field(min_length=1, max_length=2000)]
_NoteList = list[Note]  # `list` is an action name inside the class


class Notes:
    """Keep short notes during a session and find them again."""

    def __init__(self) -> None:
        self._notes: _NoteList = []

    async def add(self, text: NoteText, tags: list[str] | None = None) -> Note:
        """Store a note; returns it with its id."""
        note = Note(id=len(self._notes) + 1, text=text, tags=sorted(set(tags or ())))
        self._notes.append(note)
        return note

    async def list(self, tag: str | None = None) -> _NoteList:
        """All notes, oldest first; only those with the tag when one is given."""
        return [n for n in self._notes if tag is None or tag in n["tags"]]

    async def search(self, query: NoteText) -> _NoteList:
        """Notes whose text or tags contain every word of the query (case-insensitive)."""
        words = query.lower().split()
        return [
            n for n in self._notes if all(w in n["text"].lower() or w in n["tags"] for w in words)
        ]

"""Okapi BM25 over a few in-memory documents: the demo's RAG retriever.

``score(d, q) = sum over query terms t of idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| /
avgdl))`` with ``idf(t) = ln(1 + (N - n_t + 0.5) / (n_t + 0.5))`` (the non-negative variant used by
Lucene). Tokens are lowercase runs of letters and digits, without stopwords, with a plural ``s``
dropped so "timeouts" finds "timeout".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from importlib import resources

from toolware.registry.rag import Document

__all__ = ["STOPWORDS", "BM25Index", "load_documents", "tokenize"]

STOPWORDS = frozenset(
    """a about an and are as at be but by can do does for from has have how i if in into is it
    its not of on or so such that the their then there these they this to was what when where
    which while who why will with you your""".split()  # noqa: SIM905 - reads better as text
)
_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens without stopwords; ``timeouts`` becomes ``timeout``."""
    tokens = []
    for token in _TOKEN.findall(text.lower()):
        if token in STOPWORDS:
            continue
        if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        tokens.append(token)
    return tokens


class BM25Index:
    """Ranks documents for a query with Okapi BM25; ``retrieve(query, k)`` is the RAG protocol."""

    def __init__(self, documents: Iterable[Document], *, k1: float = 1.5, b: float = 0.75) -> None:
        if k1 < 0:
            raise ValueError(f"k1 must be >= 0, got {k1}")
        if not 0.0 <= b <= 1.0:
            raise ValueError(f"b must be within 0..1, got {b}")
        self.k1 = k1
        self.b = b
        self.documents: tuple[Document, ...] = tuple(documents)
        self._frequencies = [Counter(tokenize(d.text)) for d in self.documents]
        self._lengths = [sum(f.values()) for f in self._frequencies]
        count = len(self.documents)
        self._average_length = sum(self._lengths) / count if count else 0.0
        containing: Counter[str] = Counter()
        for frequencies in self._frequencies:
            containing.update(frequencies.keys())
        self._idf = {
            term: math.log(1.0 + (count - n + 0.5) / (n + 0.5)) for term, n in containing.items()
        }

    def score(self, query: str) -> list[float]:
        """The BM25 score of every document for ``query``, in document order."""
        terms = tokenize(query)
        k1, b, average = self.k1, self.b, self._average_length or 1.0
        scores = []
        for frequencies, length in zip(self._frequencies, self._lengths, strict=True):
            total = 0.0
            for term in terms:
                tf = frequencies.get(term, 0)
                if tf:
                    norm = tf + k1 * (1.0 - b + b * length / average)
                    total += self._idf[term] * tf * (k1 + 1.0) / norm
            scores.append(total)
        return scores

    def retrieve(self, query: str, k: int) -> list[Document]:
        """Search the documents about a topic; the best ``k`` matches, highest score first."""
        scored = [
            Document(d.id, d.text, round(score, 4), d.metadata)
            for d, score in zip(self.documents, self.score(query), strict=True)
            if score > 0
        ]
        scored.sort(key=lambda d: -d.score)
        return scored[:k]


def load_documents(package: str = "toolware.demo", folder: str = "documents") -> list[Document]:
    """The ``*.txt`` files in ``folder`` of ``package``: id is the file stem, title the first
    line."""
    documents = []
    directory = resources.files(package) / folder
    for resource in sorted(directory.iterdir(), key=lambda r: r.name):
        if not resource.name.endswith(".txt"):
            continue
        text = resource.read_text(encoding="utf-8").strip()
        title, _, _body = text.partition("\n")
        documents.append(
            Document(
                id=resource.name.removesuffix(".txt"),
                text=text,
                score=0.0,
                metadata={"title": title.strip()},
            )
        )
    return documents

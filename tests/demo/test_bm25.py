"""Tests for toolware.demo.bm25: Okapi BM25 ranking over the bundled documents."""

from __future__ import annotations

import math

import pytest

from toolware import Document
from toolware.demo.bm25 import BM25Index, load_documents, tokenize


@pytest.fixture(scope="module")
def index() -> BM25Index:
    """The index over the bundled documents."""
    return BM25Index(load_documents())


def test_loads_the_bundled_documents() -> None:
    """Six to eight documents, each with an id, a title and text."""
    documents = load_documents()
    assert 6 <= len(documents) <= 8
    ids = {d.id for d in documents}
    assert {"timeouts", "retries", "statistics"} <= ids
    for document in documents:
        assert document.metadata["title"]
        assert document.text.startswith(str(document.metadata["title"]))


def test_tokenize_lowercases_and_drops_stopwords_and_plurals() -> None:
    """Tokens are lowercase words without stopwords; a plural s is dropped."""
    assert tokenize("How do the Timeouts work, in 2 steps?") == ["timeout", "work", "2", "step"]
    assert tokenize("class status") == ["class", "statu"]


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("retry with exponential backoff and jitter", "retries"),
        ("p99 latency percentile histogram", "statistics"),
        ("what happens when a deadline passes", "timeouts"),
        ("model invents a tool name", "errors"),
        ("wrong units in the arguments", "validation"),
        ("which interceptor runs outermost", "interceptors"),
        ("plugin actions such as notes.add", "registry"),
        ("circuit open retry_after", "breakers"),
        ("why was my call rate limited", "breakers"),
    ],
)
def test_the_right_document_wins(index: BM25Index, query: str, best: str) -> None:
    """A specific query ranks the document about it first."""
    assert index.retrieve(query, 3)[0].id == best


def test_scores_descend_and_k_is_respected(index: BM25Index) -> None:
    """Results are best first, cut to k, and only documents that match at all are returned."""
    results = index.retrieve("timeout retry error tool", 3)
    assert len(results) == 3
    scores = [d.score for d in results]
    assert scores == sorted(scores, reverse=True)
    assert all(score > 0 for score in scores)
    assert len(index.retrieve("timeout retry error tool", 1)) == 1
    assert index.retrieve("zebra giraffe", 5) == []


def test_score_matches_the_okapi_formula() -> None:
    """A hand-computed score on a tiny corpus: k1=1.5, b=0.75, Lucene's idf."""
    corpus = [Document("a", "cat cat dog", 0.0), Document("b", "dog bird", 0.0)]
    scores = BM25Index(corpus).score("cat")
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    average = (3 + 2) / 2
    expected = idf * 2 * 2.5 / (2 + 1.5 * (1 - 0.75 + 0.75 * 3 / average))
    assert scores == [pytest.approx(expected), 0.0]


def test_shorter_documents_win_on_equal_term_frequency() -> None:
    """Length normalisation (b) favours the shorter of two documents with one match each."""
    corpus = [
        Document("long", "cat " + "filler " * 20, 0.0),
        Document("short", "cat filler", 0.0),
    ]
    assert [d.id for d in BM25Index(corpus).retrieve("cat", 2)] == ["short", "long"]


def test_empty_index_returns_nothing() -> None:
    """An index without documents answers every query with no results."""
    assert BM25Index([]).retrieve("anything", 3) == []


@pytest.mark.parametrize(("k1", "b"), [(-1.0, 0.75), (1.5, 1.5), (1.5, -0.1)])
def test_parameters_are_validated(k1: float, b: float) -> None:
    """k1 must be >= 0 and b within 0..1."""
    with pytest.raises(ValueError, match="must be"):
        BM25Index([], k1=k1, b=b)

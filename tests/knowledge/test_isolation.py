"""Tenant isolation, proven (issue 22, point 3): a document of one org is never returned to
another by any query, tag filter, empty query or special character, on SQLite and
PostgreSQL. Hypothesis generates the orgs (ids with quotes, wildcards, unicode), their
documents (shared vocabulary, so other orgs' chunks always match; the same document ids
in several orgs; full-text syntax in the text) and the queries (empty, punctuation, FTS5
and tsquery operators, quotes, unicode)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance.catalog.database import Catalog
from clearance.knowledge.base import LexicalRetriever, ingest_text
from clearance.knowledge.chunking import chunk_document

VOCABULARY = ["refund", "invoice", "password", "delivery", "rotterdam", "argon", "café"]
SYNTAX = ['"', "'", "*", "-", "^", ":", "(", ")", "NEAR", "NEAR/2", "AND", "OR", "NOT", "&",
          "|", "!", "<->", "\\", "%", "_", "{", "}", "+", ";", "--", "/*", "\x00"]  # fmt: skip
TAGS = ["public", "internal", "o'brien", "100%", "ü"]

_ANY = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_PIECE = st.one_of(st.sampled_from(VOCABULARY), st.sampled_from(SYNTAX), _ANY)
_TEXT = st.lists(_PIECE, min_size=1, max_size=25).map(" ".join)
_QUERY = st.one_of(
    st.just(""),
    st.sampled_from(SYNTAX),
    _ANY,
    st.lists(_PIECE, min_size=1, max_size=6).map(" ".join),
    st.lists(st.sampled_from(VOCABULARY + SYNTAX), min_size=1, max_size=4).map("".join),
)
_ORG = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=10).filter(
    str.strip
)
_DOCUMENT = st.tuples(
    st.sampled_from(["a.md", "b.md", "faq.txt", "x'y.md"]),
    _TEXT,
    st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
    st.sampled_from(["markdown", "text"]),
)

_counter = itertools.count()


@pytest.fixture
def retriever(catalog: Catalog) -> LexicalRetriever:
    return LexicalRetriever(catalog)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    orgs=st.lists(
        st.tuples(_ORG, st.lists(_DOCUMENT, min_size=1, max_size=3)),
        min_size=2,
        max_size=3,
    ),
    queries=st.lists(_QUERY, min_size=1, max_size=4),
    tag_filter=st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
)
def test_no_hit_of_another_org_ever(
    catalog: Catalog,
    retriever: LexicalRetriever,
    orgs: list[tuple[str, list[tuple[str, str, list[str], str]]]],
    queries: list[str],
    tag_filter: list[str],
) -> None:
    run = next(_counter)  # the catalog lives across examples: each has its own orgs
    owned: dict[str, dict[tuple[str, int], tuple[str, str, frozenset[str]]]] = {}
    for position, (name, documents) in enumerate(orgs):
        org = f"{name}\x1f{run}.{position}".replace("\x1f", "/")
        chunks = owned.setdefault(org, {})
        for document_id, body, tags, kind in documents:
            ingest_text(catalog, org, document_id, body, document_format=kind, tags=tags, by="t")
            for key in [key for key in chunks if key[0] == document_id]:
                del chunks[key]  # re-ingest of the id replaces the document
            parsed = chunk_document(body, kind)  # type: ignore[arg-type]
            for ordinal, chunk in enumerate(parsed.chunks):
                chunks[(document_id, ordinal)] = (chunk.heading, chunk.text, frozenset(tags))
    for org, chunks in owned.items():
        for query, tags in itertools.product([*queries, *VOCABULARY[:2]], [(), tag_filter]):
            hits = retriever.search(org, query, k=50, tags=tags)
            for hit in hits:
                assert hit.chunk.org_id == org
                key = (hit.chunk.document_id, hit.chunk.ordinal)
                assert key in chunks, (org, query, hit)
                heading, text, carried = chunks[key]
                assert (hit.chunk.heading, hit.chunk.text) == (heading, text)
                assert frozenset(hit.chunk.tags) == carried
                if tags:
                    assert carried & set(tags), (tags, hit)
            if query.strip() == "" or not any(c.isalnum() for c in query):
                assert hits == []
            elif query in VOCABULARY and not tags:
                holding = [k for k, (_, text, _) in chunks.items() if f" {query} " in f" {text} "]
                assert bool(hits) == bool(holding), (org, query, hits)


@pytest.mark.parametrize("query", ["", "   ", '"', "*", "-", "()", "'", "\x00", "…", "^:"])
def test_empty_or_punctuation_queries_find_nothing(
    catalog: Catalog, retriever: LexicalRetriever, query: str
) -> None:
    ingest_text(catalog, "a", "doc.md", "# T\n\n\" * NEAR( - () ' … refund", by="t")
    assert retriever.search("a", query) == []
    # an operator's name is a word like any other: it finds the text holding it
    assert [h.chunk.document_id for h in retriever.search("a", f"NEAR({query}")] == ["doc.md"]


def test_an_org_without_documents_gets_nothing(
    catalog: Catalog, retriever: LexicalRetriever
) -> None:
    ingest_text(catalog, "a", "doc.md", "refund policy", tags=["public"], by="t")
    assert retriever.search("b", "refund") == []
    assert retriever.search("b", "refund", tags=["public"]) == []
    assert retriever.search("A", "refund") == []  # org ids are exact, case included
    assert retriever.search("a%", "refund") == []
    assert [h.chunk.org_id for h in retriever.search("a", "refund")] == ["a"]

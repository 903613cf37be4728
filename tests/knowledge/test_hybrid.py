"""Reciprocal rank fusion on hand-computed rankings, and the hybrid retriever over a
lexical and a dense retriever of the same catalog (isolation kept on both dialects)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.catalog.database import Catalog
from clearance.errors import InputError
from clearance.knowledge import (
    RRF_K,
    Chunk,
    DenseRetriever,
    HashingEmbedder,
    Hit,
    HybridRetriever,
    LexicalRetriever,
    Retriever,
    embed_chunks,
    ingest_text,
    reciprocal_rank_fusion,
)


def test_fusion_of_two_rankings_by_hand() -> None:
    # a: 1/61 + 1/63 = 0.0322789..., b: 1/62 + 1/61 = 0.0325224..., c: 1/63, d: 1/62
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]])
    assert [item for item, _ in fused] == ["b", "a", "d", "c"]
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 63)
    assert scores["d"] == pytest.approx(1 / 62)
    assert scores["c"] == pytest.approx(1 / 63)
    assert RRF_K == 60


def test_fusion_ties_go_to_the_better_best_rank_then_the_first_ranking() -> None:
    # k=0: x at ranks 1 and 3 = 4/3, z at 3 and 1 = 4/3, y at 2 and 2 = 1; x and z tie
    # with best rank 1 each, and x is the one the first ranking listed first
    fused = reciprocal_rank_fusion([["x", "y", "z"], ["z", "y", "x"]], k=0)
    assert [item for item, _ in fused] == ["x", "z", "y"]
    assert dict(fused)["y"] == pytest.approx(1.0)
    # equal sums, different best ranks (k=0): p = 1, r = 1, q = 1/2 + 1/2 = 1; p and r
    # were best at rank 1, q at rank 2; p before r as the first ranking listed it
    assert [item for item, _ in reciprocal_rank_fusion([["p", "q"], ["r", "q"]], k=0)] == [
        "p",
        "r",
        "q",
    ]


def test_fusion_refuses_a_negative_constant() -> None:
    with pytest.raises(InputError, match="k=-1"):
        reciprocal_rank_fusion([["a"]], k=-1)


@given(st.lists(st.permutations(list(range(8))), min_size=1, max_size=4))
def test_fusion_of_identical_item_sets_is_a_permutation_ordered_by_score(
    rankings: list[list[int]],
) -> None:
    fused = reciprocal_rank_fusion(rankings)
    assert sorted(item for item, _ in fused) == list(range(8))
    scores = [score for _, score in fused]
    assert scores == sorted(scores, reverse=True)
    # an item first in every ranking is first after fusion
    if all(r[0] == rankings[0][0] for r in rankings):
        assert fused[0][0] == rankings[0][0]


class _Fixed:
    """A retriever answering from a fixed list (a ranking under test)."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = list(hits)
        self.asked: list[int] = []

    def search(self, org_id: str, query: str, *, k: int = 5, tags: Sequence[str] = ()) -> list[Hit]:
        self.asked.append(k)
        return [h for h in self.hits if h.chunk.org_id == org_id][:k]


def _hit(document: str, rank: int) -> Hit:
    return Hit(Chunk("acme", document, 0, "", f"text of {document}"), rank, 1.0 / rank)


def test_hybrid_fuses_by_chunk_and_asks_each_for_its_depth() -> None:
    lexical = _Fixed([_hit("a", 1), _hit("b", 2), _hit("c", 3)])
    dense = _Fixed([_hit("b", 1), _hit("d", 2), _hit("a", 3)])
    hybrid = HybridRetriever(lexical, dense, depth=10)
    assert isinstance(hybrid, Retriever)
    hits = hybrid.search("acme", "anything", k=3)
    assert [h.chunk.document_id for h in hits] == ["b", "a", "d"]
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert lexical.asked == [10]
    assert dense.asked == [10]
    assert hybrid.search("other", "anything") == []
    with pytest.raises(InputError, match="k=0"):
        hybrid.search("acme", "anything", k=0)


def test_hybrid_over_the_catalog_keeps_to_the_org(catalog: Catalog) -> None:
    for org in ("acme", "globex"):
        ingest_text(catalog, org, "refunds.md", f"# Refunds\n\n{org} refunds within 5 days.")
        ingest_text(catalog, org, "ship.md", f"# Shipping\n\n{org} ships parcels weekly.")
    embedder = HashingEmbedder(64)
    assert embed_chunks(catalog, "acme", embedder) == 2
    hybrid = HybridRetriever(LexicalRetriever(catalog), DenseRetriever(catalog, embedder))
    hits = hybrid.search("acme", "refunds days", k=5)
    assert hits[0].chunk.document_id == "refunds.md"
    assert {h.chunk.org_id for h in hits} == {"acme"}
    # globex has no vectors: only its lexical hits come back, still its own
    other = hybrid.search("globex", "refunds days", k=5)
    assert [h.chunk.document_id for h in other] == ["refunds.md"]
    assert {h.chunk.org_id for h in other} == {"globex"}

"""Hybrid retrieval: a lexical and a dense ranking fused by reciprocal rank fusion.

Reciprocal rank fusion (Cormack, Clarke and Büttcher, "Reciprocal Rank Fusion
outperforms Condorcet and individual Rank Learning Methods", SIGIR 2009) scores each item
by ``Σ 1 / (k + rank)`` over the rankings it appears in (rank from 1), with ``k = 60``
as in the paper: it needs no score calibration between the rankings (BM25 and cosine are
not comparable), only their orders. Ties go to the item with the better best rank, then
to the one the first ranking listed first.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

from clearance.errors import InputError
from clearance.knowledge.types import Chunk, Hit, Retriever

__all__ = ["RRF_K", "HybridRetriever", "reciprocal_rank_fusion"]

RRF_K = 60
"""The fusion constant ``k`` of ``1 / (k + rank)`` (Cormack et al. 2009)."""

_Key = TypeVar("_Key", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[_Key]], *, k: int = RRF_K
) -> list[tuple[_Key, float]]:
    """Fuse rankings (each best first, an item at most once in each) into one:
    ``(item, Σ 1 / (k + rank))`` pairs, best first."""
    if k < 0:
        raise InputError(f"k={k}: the fusion constant is at least 0", fix=f"use k={RRF_K}")
    scores: dict[_Key, float] = {}
    best: dict[_Key, int] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            best[item] = min(best.get(item, rank), rank)
    first_seen = {item: i for i, item in enumerate(scores)}
    ordered = sorted(scores, key=lambda item: (-scores[item], best[item], first_seen[item]))
    return [(item, scores[item]) for item in ordered]


class HybridRetriever:
    """A :class:`~clearance.knowledge.types.Retriever` fusing two retrievers (lexical and
    dense) by :func:`reciprocal_rank_fusion`: each is asked for ``depth`` hits of the
    org (and tags), and the fused best ``k`` are returned with their fused score."""

    def __init__(
        self, lexical: Retriever, dense: Retriever, *, depth: int = 50, rrf_k: int = RRF_K
    ) -> None:
        if depth < 1:
            raise InputError(f"depth={depth}: fusion needs hits", fix="use depth >= k")
        self.lexical = lexical
        self.dense = dense
        self.depth = depth
        self.rrf_k = rrf_k

    def search(self, org_id: str, query: str, *, k: int = 5, tags: Sequence[str] = ()) -> list[Hit]:
        """At most ``k`` hits from ``org_id``'s documents, best fused rank first."""
        if k < 1:
            raise InputError(f"k={k}: a search returns at least one hit", fix="ask for k >= 1")
        depth = max(self.depth, k)
        runs = [r.search(org_id, query, k=depth, tags=tags) for r in (self.lexical, self.dense)]
        chunks: dict[tuple[str, str, int], Chunk] = {}
        rankings: list[list[tuple[str, str, int]]] = []
        for hits in runs:
            keys = []
            for hit in hits:
                key = (hit.chunk.org_id, hit.chunk.document_id, hit.chunk.ordinal)
                chunks.setdefault(key, hit.chunk)
                keys.append(key)
            rankings.append(keys)
        fused = reciprocal_rank_fusion(rankings, k=self.rrf_k)[:k]
        return [Hit(chunks[key], rank, score) for rank, (key, score) in enumerate(fused, start=1)]

    def __repr__(self) -> str:
        return (
            f"HybridRetriever({self.lexical!r}, {self.dense!r}, depth={self.depth}, "
            f"rrf_k={self.rrf_k})"
        )

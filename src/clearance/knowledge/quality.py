"""Retrieval quality: how well a retriever ranks the documents a labelled query set says
answer each query, per query and on average, with bootstrap intervals.

Metrics are document-level. A retriever returns chunks; a document counts as retrieved at
the rank of its first chunk among the hits (its later chunks add nothing), so a document
whose chunk is the 4th hit is at rank 4 whatever the hits above it are. For one query
with relevant documents ``R`` (grades ``g(d)`` 1-3, see :mod:`clearance.knowledge.labels`):

- **recall@k**: the share of ``R`` with a chunk among the first ``k`` hits (what a
  retrieval of ``k`` chunks puts in front of the model).
- **reciprocal rank**: ``1 / rank`` of the first relevant document among the hits, 0 when
  none is retrieved; its mean over queries is MRR.
- **nDCG@10**: ``DCG / IDCG`` with gain ``g(d)`` and the standard ``log2`` discount,
  ``DCG = sum over d in R with rank(d) <= 10 of g(d) / log2(rank(d) + 1)``; ``IDCG`` is
  the same sum for the ideal ranking (the grades sorted, best first, at ranks 1, 2, ...).

:func:`evaluate` searches ``max(k, 10)`` hits per query (so nDCG@10 is defined for any
``k``), scoped to the query's tags.

**Intervals.** Each mean gets a percentile bootstrap interval over queries. Queries that
share a relevant document are not independent draws (a retriever that misses the
document misses it for all of them), so the bootstrap resamples *clusters*: the
connected components of the graph whose nodes are queries and whose edges join two
queries naming a common relevant document (:func:`query_clusters`). Each resample draws
as many clusters as there are, with replacement, and takes the mean over all the queries
of the drawn clusters. Draws come from ``numpy.random.default_rng(seed)`` (PCG64, the
same numbers on every platform), so a report is reproducible from its seed. With very
few clusters a percentile interval can miss the point estimate; it is then widened to
include it, so ``low <= mean <= high`` always holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from clearance.errors import InputError
from clearance.knowledge.labels import LabelledQuery, QuerySet
from clearance.knowledge.types import Retriever

__all__ = [
    "NDCG_DEPTH",
    "MetricSummary",
    "QueryScore",
    "RetrievalReport",
    "bootstrap_means",
    "document_ranks",
    "evaluate",
    "ndcg_at",
    "query_clusters",
    "recall_at_k",
    "reciprocal_rank",
    "score_query",
]

NDCG_DEPTH = 10
"""nDCG is computed over the first 10 hits."""


@dataclass(frozen=True, slots=True)
class QueryScore:
    """One query's scores (a row of a :class:`RetrievalReport`)."""

    query_id: str
    recall: float
    """recall@k."""
    reciprocal_rank: float
    ndcg: float
    """nDCG@10."""
    retrieved: tuple[str, ...]
    """The retrieved documents in the order of their first chunk."""
    relevant: int
    """How many documents the labels name as relevant."""
    hits: int
    """How many chunks the retriever returned."""


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """A metric's mean over queries and its bootstrap interval."""

    name: str
    mean: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class RetrievalReport:
    """What :func:`evaluate` measured: a row per query and the summary."""

    knowledge_base: str
    org_id: str
    k: int
    rows: tuple[QueryScore, ...]
    recall: MetricSummary
    """Mean recall@k."""
    mrr: MetricSummary
    ndcg: MetricSummary
    """Mean nDCG@10."""
    clusters: int
    """How many clusters of queries (sharing relevant documents) the bootstrap resampled."""
    confidence: float
    resamples: int
    seed: int

    @property
    def summaries(self) -> tuple[MetricSummary, MetricSummary, MetricSummary]:
        """recall@k, MRR and nDCG@10, in that order."""
        return self.recall, self.mrr, self.ndcg


# -- one query ------------------------------------------------------------------------


def document_ranks(document_ids: Sequence[str]) -> dict[str, int]:
    """Document → the 1-based rank of its first chunk, given the hits' document ids in
    rank order."""
    ranks: dict[str, int] = {}
    for rank, document in enumerate(document_ids, start=1):
        ranks.setdefault(document, rank)
    return ranks


def recall_at_k(ranks: Mapping[str, int], relevant: Mapping[str, int], k: int) -> float:
    """The share of the relevant documents retrieved within the first ``k`` hits."""
    if not relevant:
        return 0.0
    found = sum(1 for document in relevant if ranks.get(document, k + 1) <= k)
    return found / len(relevant)


def reciprocal_rank(ranks: Mapping[str, int], relevant: Mapping[str, int]) -> float:
    """``1 / rank`` of the best-ranked relevant document; 0 when none was retrieved."""
    best = min((ranks[document] for document in relevant if document in ranks), default=0)
    return 1.0 / best if best else 0.0


def ndcg_at(
    ranks: Mapping[str, int], relevant: Mapping[str, int], depth: int = NDCG_DEPTH
) -> float:
    """nDCG over the first ``depth`` hits: gain = grade, discount ``log2(rank + 1)``."""
    dcg = sum(
        grade / math.log2(ranks[document] + 1)
        for document, grade in relevant.items()
        if ranks.get(document, depth + 1) <= depth
    )
    ideal_grades = sorted(relevant.values(), reverse=True)[:depth]
    idcg = sum(grade / math.log2(rank + 1) for rank, grade in enumerate(ideal_grades, start=1))
    return dcg / idcg if idcg else 0.0


def score_query(query: LabelledQuery, document_ids: Sequence[str], k: int) -> QueryScore:
    """A query's scores, given its hits' document ids in rank order."""
    ranks = document_ranks(document_ids)
    return QueryScore(
        query_id=query.id,
        recall=recall_at_k(ranks, query.relevant, k),
        reciprocal_rank=reciprocal_rank(ranks, query.relevant),
        ndcg=ndcg_at(ranks, query.relevant),
        retrieved=tuple(ranks),
        relevant=len(query.relevant),
        hits=len(document_ids),
    )


# -- the bootstrap --------------------------------------------------------------------


def query_clusters(queries: Sequence[LabelledQuery]) -> tuple[tuple[int, ...], ...]:
    """Indices of ``queries`` grouped into the connected components of "shares a relevant
    document": each cluster in increasing index order, clusters by their first index."""
    parent = list(range(len(queries)))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    first_query: dict[str, int] = {}
    for index, query in enumerate(queries):
        for document in query.relevant:
            other = first_query.setdefault(document, index)
            a, b = find(index), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for index in range(len(queries)):
        groups.setdefault(find(index), []).append(index)
    return tuple(tuple(members) for members in groups.values())


def bootstrap_means(
    columns: Sequence[Sequence[float]],
    clusters: Sequence[Sequence[int]],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[MetricSummary]:
    """Each column's mean and its clustered percentile bootstrap interval.

    Args:
        columns: one sequence of per-query values per metric, all of the same length.
        clusters: the query indices of each cluster (every index exactly once).
        confidence: the interval's coverage, in (0, 1).
        resamples: how many bootstrap resamples (the same draws serve every column).
        seed: the generator's seed.

    Returns:
        One :class:`MetricSummary` per column, named ``""`` (the caller names them).
    """
    import numpy as np

    if not 0 < confidence < 1:
        raise InputError(
            f"confidence {confidence!r} is not in (0, 1)", fix="use e.g. 0.95 for a 95% interval"
        )
    if resamples < 1:
        raise InputError(f"resamples {resamples!r} is not positive", fix="use e.g. 2000")
    values = np.asarray(columns, dtype=float).reshape(len(columns), -1)
    count = values.shape[1]
    if count == 0:
        raise InputError("no queries to summarize", fix="give the query set at least one query")
    members = sorted(i for cluster in clusters for i in cluster)
    if members != list(range(count)):
        raise InputError(
            "the clusters must hold every query index exactly once",
            fix="build them with query_clusters()",
        )
    sums = np.stack([values[:, list(cluster)].sum(axis=1) for cluster in clusters], axis=1)
    sizes = np.array([len(cluster) for cluster in clusters], dtype=float)
    means = values.mean(axis=1)
    rng = np.random.default_rng(seed)
    drawn = np.empty((resamples, len(columns)))
    for b in range(resamples):
        pick = rng.integers(0, len(clusters), size=len(clusters))
        drawn[b] = sums[:, pick].sum(axis=1) / sizes[pick].sum()
    drawn.sort(axis=0)
    tail = (1 - confidence) / 2
    low_index = math.floor(tail * (resamples - 1))
    high_index = math.ceil((1 - tail) * (resamples - 1))
    out = []
    for column in range(len(columns)):
        mean = float(means[column])
        low = min(float(drawn[low_index, column]), mean)
        high = max(float(drawn[high_index, column]), mean)
        out.append(MetricSummary("", mean, low, high))
    return out


# -- a whole query set ----------------------------------------------------------------


def evaluate(
    retriever: Retriever,
    queryset: QuerySet,
    *,
    org_id: str,
    k: int = 5,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> RetrievalReport:
    """Run every query of ``queryset`` against ``org_id``'s knowledge base and score it.

    Each query searches ``max(k, 10)`` hits, scoped to its tags; see the module
    docstring for the metrics and the intervals.
    """
    if k < 1:
        raise InputError(f"k={k} is not positive", fix="retrieve at least one hit (k >= 1)")
    depth = max(k, NDCG_DEPTH)
    rows = []
    for query in queryset.queries:
        hits = retriever.search(org_id, query.query, k=depth, tags=query.tags)
        ordered = sorted(hits, key=lambda hit: hit.rank)
        rows.append(score_query(query, [hit.chunk.document_id for hit in ordered], k))
    clusters = query_clusters(queryset.queries)
    recall, mrr, ndcg = bootstrap_means(
        [
            [row.recall for row in rows],
            [row.reciprocal_rank for row in rows],
            [row.ndcg for row in rows],
        ],
        clusters,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
    return RetrievalReport(
        knowledge_base=queryset.knowledge_base,
        org_id=org_id,
        k=k,
        rows=tuple(rows),
        recall=MetricSummary(f"recall@{k}", recall.mean, recall.low, recall.high),
        mrr=MetricSummary("MRR", mrr.mean, mrr.low, mrr.high),
        ndcg=MetricSummary(f"nDCG@{NDCG_DEPTH}", ndcg.mean, ndcg.low, ndcg.high),
        clusters=len(clusters),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )

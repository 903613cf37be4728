"""Retrieval evaluations in the catalog: every statement on ``retrieval_runs``,
``retrieval_scores`` and ``retrieval_results`` (migration 0011).

A run is one ``clearance eval --suites retrieval``; within it, each (retriever
configuration, labelled query set) pair has a summary row (recall@k, MRR and nDCG@10
with their bootstrap intervals) and a row per query. The store takes and returns plain
values: what the numbers mean is :mod:`clearance.knowledge.quality`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from clearance.catalog import tables as t

__all__ = [
    "Interval",
    "QueryRow",
    "RetrievalRunRecord",
    "ScoreRow",
    "finish_run",
    "latest_run_ids",
    "query_rows",
    "run_record",
    "score_rows",
    "start_run",
    "write_scores",
]

_R = t.retrieval_runs.c
_S = t.retrieval_scores.c
_Q = t.retrieval_results.c


@dataclass(frozen=True, slots=True)
class Interval:
    """A metric's mean over queries and its bootstrap interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class RetrievalRunRecord:
    """One stored retrieval evaluation."""

    run_id: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    confidence: float
    resamples: int
    seed: int
    retrievers: tuple[str, ...]
    query_sets: tuple[Mapping[str, str], ...]
    run_by: str


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One retriever configuration's summary on one labelled query set in one run."""

    run_id: str
    retriever: str
    org_id: str
    knowledge_base: str
    config: Mapping[str, Any]
    config_sha256: str
    query_set: str
    query_set_sha256: str
    k: int
    queries: int
    clusters: int
    recall: Interval
    """recall@k."""
    mrr: Interval
    ndcg: Interval
    """nDCG@10."""


@dataclass(frozen=True, slots=True)
class QueryRow:
    """One query's scores under one retriever configuration in one run."""

    query_id: str
    query: str
    """The query's text, from the labelled set (not user traffic)."""
    recall: float
    reciprocal_rank: float
    ndcg: float
    relevant: int
    hits: int
    retrieved: tuple[str, ...]


def start_run(
    connection: Connection,
    *,
    run_id: str,
    started_at: dt.datetime,
    confidence: float,
    resamples: int,
    seed: int,
    retrievers: Sequence[str],
    query_sets: Sequence[Mapping[str, str]],
    run_by: str,
) -> None:
    """Insert a run's row (its ``ended_at`` is set by :func:`finish_run`)."""
    connection.execute(
        insert(t.retrieval_runs).values(
            id=run_id,
            started_at=started_at,
            confidence=confidence,
            resamples=resamples,
            seed=seed,
            retrievers=list(retrievers),
            query_sets=[dict(entry) for entry in query_sets],
            run_by=run_by,
        )
    )


def finish_run(connection: Connection, run_id: str, ended_at: dt.datetime) -> None:
    """Mark the run complete: a run without ``ended_at`` is never judged by the gate."""
    connection.execute(update(t.retrieval_runs).where(_R.id == run_id).values(ended_at=ended_at))


def write_scores(connection: Connection, score: ScoreRow, rows: Sequence[QueryRow]) -> None:
    """Insert a (retriever, query set) summary and its per-query rows."""
    connection.execute(
        insert(t.retrieval_scores).values(
            run_id=score.run_id,
            retriever=score.retriever,
            org_id=score.org_id,
            knowledge_base=score.knowledge_base,
            config=dict(score.config),
            config_sha256=score.config_sha256,
            query_set=score.query_set,
            query_set_sha256=score.query_set_sha256,
            k=score.k,
            queries=score.queries,
            clusters=score.clusters,
            **{
                f"{name}_{part}": getattr(getattr(score, name), part)
                for name in ("recall", "mrr", "ndcg")
                for part in ("mean", "low", "high")
            },
        )
    )
    if rows:
        connection.execute(
            insert(t.retrieval_results),
            [
                {
                    "run_id": score.run_id,
                    "retriever": score.retriever,
                    "org_id": score.org_id,
                    "knowledge_base": score.knowledge_base,
                    "query_id": row.query_id,
                    "query": row.query,
                    "recall": row.recall,
                    "reciprocal_rank": row.reciprocal_rank,
                    "ndcg": row.ndcg,
                    "relevant": row.relevant,
                    "hits": row.hits,
                    "retrieved": list(row.retrieved),
                }
                for row in rows
            ],
        )


def run_record(connection: Connection, run_id: str) -> RetrievalRunRecord | None:
    """The run's row, or ``None``."""
    row = connection.execute(select(t.retrieval_runs).where(_R.id == run_id)).first()
    if row is None:
        return None
    return RetrievalRunRecord(
        run_id=row.id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        confidence=row.confidence,
        resamples=row.resamples,
        seed=row.seed,
        retrievers=tuple(row.retrievers),
        query_sets=tuple(row.query_sets),
        run_by=row.run_by,
    )


def latest_run_ids(connection: Connection, retrievers: Sequence[str] = ()) -> dict[str, str]:
    """Retriever name → the id of the latest complete run that scored it (only the
    ``retrievers`` named, when given)."""
    statement = (
        select(_S.retriever, _S.run_id)
        .join(t.retrieval_runs, _R.id == _S.run_id)
        .where(_R.ended_at.is_not(None))
        .order_by(_R.started_at.desc(), _S.run_id.desc())
    )
    if retrievers:
        statement = statement.where(_S.retriever.in_(list(retrievers)))
    latest: dict[str, str] = {}
    for name, run_id in connection.execute(statement):
        latest.setdefault(str(name), str(run_id))
    return latest


def _score(row: Any) -> ScoreRow:
    return ScoreRow(
        run_id=row.run_id,
        retriever=row.retriever,
        org_id=row.org_id,
        knowledge_base=row.knowledge_base,
        config=dict(row.config),
        config_sha256=row.config_sha256,
        query_set=row.query_set,
        query_set_sha256=row.query_set_sha256,
        k=row.k,
        queries=row.queries,
        clusters=row.clusters,
        recall=Interval(row.recall_mean, row.recall_low, row.recall_high),
        mrr=Interval(row.mrr_mean, row.mrr_low, row.mrr_high),
        ndcg=Interval(row.ndcg_mean, row.ndcg_low, row.ndcg_high),
    )


def score_rows(
    connection: Connection, run_ids: Sequence[str], retrievers: Sequence[str] = ()
) -> list[ScoreRow]:
    """The summaries of the runs (only of ``retrievers``, when given), by retriever,
    org and knowledge base."""
    statement = select(t.retrieval_scores).where(_S.run_id.in_(list(run_ids)))
    if retrievers:
        statement = statement.where(_S.retriever.in_(list(retrievers)))
    statement = statement.order_by(_S.retriever, _S.org_id, _S.knowledge_base, _S.run_id)
    return [_score(row) for row in connection.execute(statement)]


def query_rows(
    connection: Connection, run_id: str, retriever: str, org_id: str, knowledge_base: str
) -> list[QueryRow]:
    """One summary's per-query rows, in the order they were written."""
    statement = (
        select(t.retrieval_results)
        .where(
            _Q.run_id == run_id,
            _Q.retriever == retriever,
            _Q.org_id == org_id,
            _Q.knowledge_base == knowledge_base,
        )
        .order_by(_Q.id)
    )
    return [
        QueryRow(
            query_id=row.query_id,
            query=row.query,
            recall=row.recall,
            reciprocal_rank=row.reciprocal_rank,
            ndcg=row.ndcg,
            relevant=row.relevant,
            hits=row.hits,
            retrieved=tuple(row.retrieved),
        )
        for row in connection.execute(statement)
    ]

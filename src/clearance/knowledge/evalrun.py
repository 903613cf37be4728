"""``clearance eval --suites retrieval``'s work: score every configured retriever on
every configured labelled query set, and store the scores in the catalog.

For each ``[[retrievers]]`` entry (or those named) and each ``[evals] retrieval_sets``
entry (a query set file and the org whose knowledge base it labels), the retriever is
prepared for the org (dense and hybrid embed the chunks that have no vector yet) and
:func:`~clearance.knowledge.quality.evaluate` runs every query at the configuration's
``k``. A run is stored as it goes (``retrieval_runs``, ``retrieval_scores``,
``retrieval_results``) and marked complete at the end: the gate judges complete runs
only.

Before any retriever runs, each query set is checked against its knowledge base: an
org with no documents, or labels naming documents the knowledge base does not hold (a
folder ingested from elsewhere names its documents differently), is refused with the
fix, because scoring against missing documents would report a bad retriever where the
labels are what is wrong.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clearance.catalog import kbstore, retrievalruns
from clearance.errors import ConfigError, InputError
from clearance.knowledge.configured import build_retriever, config_document, config_fingerprint
from clearance.knowledge.labels import QuerySet, load_queryset
from clearance.knowledge.quality import MetricSummary, RetrievalReport, evaluate

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig, RetrieverConfig

__all__ = ["LabelledSet", "RetrievalEvalRun", "RetrieverScore", "load_sets", "run_retrieval_eval"]


@dataclass(frozen=True, slots=True)
class LabelledSet:
    """A configured query set, read, and the org it searches."""

    org_id: str
    path: Path
    queryset: QuerySet
    sha256: str
    """Of the file's bytes."""


@dataclass(frozen=True, slots=True)
class RetrieverScore:
    """One retriever configuration on one labelled set."""

    retriever: RetrieverConfig
    labelled: LabelledSet
    report: RetrievalReport


@dataclass(frozen=True, slots=True)
class RetrievalEvalRun:
    """What :func:`run_retrieval_eval` measured and stored."""

    run_id: str
    started_at: dt.datetime
    ended_at: dt.datetime
    scores: tuple[RetrieverScore, ...]
    embedded: int
    """Chunks embedded on the way (dense and hybrid configurations)."""


def _chosen(config: ClearanceConfig, names: Sequence[str]) -> list[RetrieverConfig]:
    if not config.retrievers:
        raise ConfigError(
            "no retriever configuration is declared",
            source=config.source,
            key="retrievers",
            fix='declare one: [[retrievers]] name = "lexical-k5" kind = "lexical" k = 5',
        )
    return [config.retriever(name) for name in names] if names else list(config.retrievers)


def load_sets(config: ClearanceConfig, catalog: Catalog) -> list[LabelledSet]:
    """The configured query sets, read and checked against their knowledge bases.

    Raises:
        ConfigError: no ``[evals] retrieval_sets``.
        SourceFormatError: a query set that does not load.
        InputError: an org with no documents, or labels naming documents it lacks.
    """
    if not config.evals.retrieval_sets:
        raise ConfigError(
            "no labelled query set is configured",
            source=config.source,
            key="evals.retrieval_sets",
            fix='add retrieval_sets = [{ path = "knowledge/queries.yaml", org = "ORG" }] '
            "under [evals]",
        )
    sets = []
    for entry in config.evals.retrieval_sets:
        path = (config.root / entry.path).resolve()
        queryset = load_queryset(path)
        held = {row.document_id for row in kbstore.document_rows(catalog, entry.org)}
        if not held:
            raise InputError(
                f"org {entry.org!r} has no documents, so {path} cannot be scored",
                fix=f"ingest its knowledge base first: clearance kb ingest {entry.org} PATH...",
            )
        missing = sorted(queryset.relevant_documents() - held)
        if missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise InputError(
                f"{path} labels documents org {entry.org!r} does not hold: {shown}",
                fix="ingest the folder the ids are relative to (the query set's root), "
                "or correct the ids",
            )
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        sets.append(LabelledSet(entry.org, path, queryset, sha))
    return sets


def run_retrieval_eval(
    config: ClearanceConfig,
    catalog: Catalog,
    *,
    retrievers: Sequence[str] = (),
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    run_id: str | None = None,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> RetrievalEvalRun:
    """Score the retrievers (all configured, or those named) on every configured query
    set, storing the run in the catalog.

    Raises:
        ConfigError: no retriever or query set configured; an unknown retriever name;
            a MiniLM configuration without the ``dense`` extra.
        SourceFormatError: a query set that does not load.
        InputError: a knowledge base that does not hold what its labels name.
    """
    chosen = _chosen(config, retrievers)
    sets = load_sets(config, catalog)
    built = [build_retriever(entry, catalog) for entry in chosen]
    run_id = run_id or uuid.uuid4().hex[:16]
    started = now or dt.datetime.now(dt.UTC)
    with catalog.begin() as connection:
        retrievalruns.start_run(
            connection,
            run_id=run_id,
            started_at=started,
            confidence=confidence,
            resamples=resamples,
            seed=seed,
            retrievers=[entry.name for entry in chosen],
            query_sets=[{"path": str(s.path), "org": s.org_id} for s in sets],
            run_by=by or getpass.getuser(),
        )
    scores: list[RetrieverScore] = []
    embedded = 0
    for retriever in built:
        for labelled in sets:
            embedded += retriever.prepare(labelled.org_id)
            report = evaluate(
                retriever,
                labelled.queryset,
                org_id=labelled.org_id,
                k=retriever.k,
                confidence=confidence,
                resamples=resamples,
                seed=seed,
            )
            _store(catalog, run_id, retriever.config, labelled, report)
            scores.append(RetrieverScore(retriever.config, labelled, report))
    ended = dt.datetime.now(dt.UTC) if now is None else now
    with catalog.begin() as connection:
        retrievalruns.finish_run(connection, run_id, ended)
    return RetrievalEvalRun(run_id, started, ended, tuple(scores), embedded)


def _interval(summary: MetricSummary) -> retrievalruns.Interval:
    return retrievalruns.Interval(summary.mean, summary.low, summary.high)


def _store(
    catalog: Catalog,
    run_id: str,
    retriever: RetrieverConfig,
    labelled: LabelledSet,
    report: RetrievalReport,
) -> None:
    texts = {query.id: query.query for query in labelled.queryset.queries}
    score = retrievalruns.ScoreRow(
        run_id=run_id,
        retriever=retriever.name,
        org_id=labelled.org_id,
        knowledge_base=labelled.queryset.knowledge_base,
        config=config_document(retriever),
        config_sha256=config_fingerprint(retriever),
        query_set=str(labelled.path),
        query_set_sha256=labelled.sha256,
        k=report.k,
        queries=len(report.rows),
        clusters=report.clusters,
        recall=_interval(report.recall),
        mrr=_interval(report.mrr),
        ndcg=_interval(report.ndcg),
    )
    rows = [
        retrievalruns.QueryRow(
            query_id=row.query_id,
            query=texts[row.query_id],
            recall=row.recall,
            reciprocal_rank=row.reciprocal_rank,
            ndcg=row.ndcg,
            relevant=row.relevant,
            hits=row.hits,
            retrieved=row.retrieved,
        )
        for row in report.rows
    ]
    with catalog.begin() as connection:
        retrievalruns.write_scores(connection, score, rows)

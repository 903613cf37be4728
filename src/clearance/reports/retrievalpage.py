"""The retrieval page: each retriever configuration, its latest retrieval scores with
their intervals, the gate's decision on it, and its worst queries, in the report's style.

:func:`collect_retrieval` reads what the catalog holds for the configured
``[[retrievers]]``; :func:`render_retrieval_page` renders it with the report's templates
(autoescaped, secrets redacted: a query's text comes from a labelled set, but a page
treats every stored text as untrusted); :func:`retrieval_pages` is what ``clearance
report`` and the demo add beside the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from clearance.catalog import retrievalruns
from clearance.catalog.database import Catalog
from clearance.config import ClearanceConfig, RetrieverConfig
from clearance.gate.retrieval import RetrieverClearance, clearances
from clearance.reports.render import environment, render_common

__all__ = [
    "RETRIEVAL_PAGE",
    "RetrievalPage",
    "RetrieverSection",
    "collect_retrieval",
    "render_retrieval_page",
    "retrieval_pages",
]

RETRIEVAL_PAGE = "retrieval.html"
WORST_QUERIES = 5
"""Queries listed per configuration and query set, lowest nDCG@10 first."""


@dataclass(frozen=True, slots=True)
class ScoredSet:
    """A configuration's scores on one labelled set and its worst queries."""

    score: retrievalruns.ScoreRow
    worst: tuple[retrievalruns.QueryRow, ...]


@dataclass(frozen=True, slots=True)
class RetrieverSection:
    """One configuration on the page."""

    config: RetrieverConfig
    clearance: RetrieverClearance
    serves: tuple[str, ...]
    """Who it is configured for: ``default`` and/or org ids."""
    sets: tuple[ScoredSet, ...]


@dataclass(frozen=True, slots=True)
class RetrievalPage:
    """What the page shows."""

    generated_at: dt.datetime
    sections: tuple[RetrieverSection, ...]
    confidence: float | None
    """The intervals' coverage (of the latest run shown), if any was scored."""


def collect_retrieval(
    config: ClearanceConfig, catalog: Catalog, *, now: dt.datetime | None = None
) -> RetrievalPage | None:
    """The page's data; ``None`` when no retriever configuration is declared."""
    if not config.retrievers:
        return None
    now = now or dt.datetime.now(dt.UTC)
    states = clearances(config, catalog, now=now)
    names = [entry.name for entry in config.retrievers]
    sections = []
    confidence = None
    with catalog.connect() as connection:
        latest = retrievalruns.latest_run_ids(connection, names)
        scores = retrievalruns.score_rows(connection, sorted(set(latest.values())), names)
        for entry in config.retrievers:
            sets = []
            for score in scores:
                if score.retriever != entry.name or latest.get(entry.name) != score.run_id:
                    continue
                rows = retrievalruns.query_rows(
                    connection, score.run_id, score.retriever, score.org_id, score.knowledge_base
                )
                worst = sorted(rows, key=lambda row: (row.ndcg, row.query_id))[:WORST_QUERIES]
                sets.append(ScoredSet(score, tuple(worst)))
                if confidence is None:
                    record = retrievalruns.run_record(connection, score.run_id)
                    confidence = None if record is None else record.confidence
            serves = config.knowledge.served_by(entry.name)
            sections.append(RetrieverSection(entry, states[entry.name], serves, tuple(sets)))
    return RetrievalPage(now, tuple(sections), confidence)


def render_retrieval_page(
    page: RetrievalPage,
    *,
    report_index: str | None = None,
    secrets: Sequence[str] | None = None,
) -> str:
    """The retrieval page's HTML."""
    env = environment(secrets)
    return env.get_template("retrieval.html").render(
        **render_common(page.generated_at),
        page=page,
        report_index=report_index,
        worst_count=WORST_QUERIES,
    )


def retrieval_pages(config: ClearanceConfig, catalog: Catalog) -> dict[str, str]:
    """``{"retrieval.html": html}`` beside the report, or ``{}`` with no retrievers."""
    page = collect_retrieval(config, catalog)
    if page is None:
        return {}
    return {RETRIEVAL_PAGE: render_retrieval_page(page, report_index="index.html")}

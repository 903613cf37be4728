"""``clearance eval --suites retrieval``: score the configured retriever configurations
on the labelled query sets, store the scores, print them with their intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import console, emit_json

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig
    from clearance.knowledge.evalrun import RetrievalEvalRun, RetrieverScore

__all__ = ["eval_retrieval", "interval_text", "retrieval_run_document"]


def interval_text(mean: float, low: float, high: float) -> str:
    """``0.812 [0.741, 0.873]``."""
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def retrieval_run_document(run: RetrievalEvalRun) -> dict[str, Any]:
    """The run as JSON-ready data."""
    return {
        "run_id": run.run_id,
        "suite": "retrieval",
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat(),
        "embedded_chunks": run.embedded,
        "scores": [
            {
                "retriever": score.retriever.name,
                "kind": score.retriever.kind,
                "k": score.retriever.k,
                "embedder": score.retriever.embedder,
                "org": score.labelled.org_id,
                "knowledge_base": score.labelled.queryset.knowledge_base,
                "query_set": str(score.labelled.path),
                "queries": len(score.report.rows),
                "clusters": score.report.clusters,
                "confidence": score.report.confidence,
                **{
                    key: {"mean": s.mean, "low": s.low, "high": s.high}
                    for key, s in zip(
                        ("recall_at_k", "mrr", "ndcg_at_10"), score.report.summaries, strict=True
                    )
                },
            }
            for score in run.scores
        ],
    }


def eval_retrieval(
    config: ClearanceConfig, catalog: Catalog, retrievers: Sequence[str], *, as_json: bool
) -> RetrievalEvalRun:
    """Run, store and print a retrieval evaluation."""
    from clearance.knowledge.evalrun import run_retrieval_eval

    run = run_retrieval_eval(config, catalog, retrievers=retrievers)
    if as_json:
        emit_json(retrieval_run_document(run))
        return run
    confidence = run.scores[0].report.confidence if run.scores else 0.95
    console.print(
        f"retrieval run {escape(run.run_id)}: mean [{confidence:.0%} clustered bootstrap "
        "interval] over the queries"
    )
    sets: dict[tuple[str, str], list[RetrieverScore]] = {}
    for score in run.scores:
        sets.setdefault((score.labelled.org_id, str(score.labelled.path)), []).append(score)
    for scores in sets.values():
        first = scores[0].report
        table = Table(
            title=f"{escape(first.knowledge_base)} (org {escape(first.org_id)}): "
            f"{len(first.rows)} queries in {first.clusters} clusters",
            box=box.SIMPLE_HEAD,
        )
        table.add_column("retriever", no_wrap=True)
        table.add_column("kind")
        table.add_column("k", justify="right")
        for column in ("recall@k", "MRR", "nDCG@10"):
            table.add_column(column)
        for score in scores:
            report = score.report
            kind: str = score.retriever.kind
            if score.retriever.embedder is not None:
                kind += f" ({score.retriever.embedder})"
            table.add_row(
                escape(score.retriever.name),
                escape(kind),
                str(report.k),
                *(interval_text(s.mean, s.low, s.high) for s in report.summaries),
            )
        console.print(table)
    if run.embedded:
        console.print(f"embedded {run.embedded} chunk(s) on the way")
    console.print(
        f"scores stored as retrieval run {escape(run.run_id)}; clear a configuration with "
        "[bold]clearance gate --retrieval[/]"
    )
    return run

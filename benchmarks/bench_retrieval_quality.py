"""Retrieval quality of the lexical retriever (issue 22, figures): recall@5, MRR and nDCG@10
with 95% clustered bootstrap intervals (``clearance.knowledge.quality``), on

- **BFCL tool retrieval** (``clearance.knowledge.bfcl_retrieval``): every single-turn BFCL
  function is a document of one org; each question with a ground truth is a query whose
  relevant documents are the functions it calls. Read from ``../shared/realdata/bfcl``
  (all of it) when that folder exists, else from ``tests/data/realdata/bfcl`` (cut short).
- **the example knowledge base** (``examples/knowledge``): 24 help-centre pages, each
  tagged with its top folder, and its 48 labelled queries.

Each corpus is ingested into a throwaway SQLite catalog (FTS5, BM25) with
``clearance.knowledge.ingest_text``; ``LexicalRetriever`` answers every query. Prints a
Markdown table (and per-category rows for BFCL). Run: ``python
benchmarks/bench_retrieval_quality.py [--resamples N]``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from clearance.catalog.database import Catalog, open_catalog
from clearance.knowledge import (
    LexicalRetriever,
    RetrievalReport,
    bootstrap_means,
    build_bfcl_retrieval,
    evaluate,
    ingest_text,
    load_queryset,
    query_clusters,
)
from clearance.knowledge.chunking import format_for

ROOT = Path(__file__).resolve().parents[1]
SHARED_BFCL = ROOT.parent / "shared" / "realdata" / "bfcl"
TESTS_BFCL = ROOT / "tests" / "data" / "realdata" / "bfcl"
EXAMPLE = ROOT / "examples" / "knowledge" / "queries.yaml"
K = 5
ORG = "bench"


def _row(label: str, documents: int, report: RetrievalReport, seconds: float) -> str:
    cells = [label, str(documents), str(len(report.rows)), str(report.clusters)]
    for summary in report.summaries:
        cells.append(f"{summary.mean:.3f} [{summary.low:.3f}, {summary.high:.3f}]")
    cells.append(f"{1000 * seconds / len(report.rows):.2f}")
    return "| " + " | ".join(cells) + " |"


def _bfcl(catalog: Catalog, resamples: int) -> list[str]:
    folder = SHARED_BFCL if SHARED_BFCL.is_dir() else TESTS_BFCL
    built = build_bfcl_retrieval(folder)
    started = time.perf_counter()
    chunks = 0
    for document in built.documents:
        result = ingest_text(catalog, ORG, document.document_id, document.text, by="bench")
        chunks += result.chunks
    ingest_seconds = time.perf_counter() - started
    retriever = LexicalRetriever(catalog)
    started = time.perf_counter()
    report = evaluate(retriever, built.queryset, org_id=ORG, k=K, resamples=resamples)
    seconds = time.perf_counter() - started
    label = f"BFCL tool retrieval ({'all' if folder == SHARED_BFCL else 'tests/data cut'})"
    rows = [_row(label, len(built.documents), report, seconds)]
    by_category: dict[str, list[int]] = {}
    for index, query in enumerate(built.queryset.queries):
        by_category.setdefault(_category(query.id), []).append(index)
    for category, indices in by_category.items():
        # the same hits, summarized over the category's queries (clustered among them)
        queries = [built.queryset.queries[i] for i in indices]
        scores = [report.rows[i] for i in indices]
        summaries = bootstrap_means(
            [
                [s.recall for s in scores],
                [s.reciprocal_rank for s in scores],
                [s.ndcg for s in scores],
            ],
            query_clusters(queries),
            resamples=resamples,
        )
        cells = [f"  {category}", "", str(len(indices)), str(len(query_clusters(queries)))]
        cells += [f"{m.mean:.3f} [{m.low:.3f}, {m.high:.3f}]" for m in summaries]
        rows.append("| " + " | ".join([*cells, ""]) + " |")
    print(
        f"BFCL: {len(built.documents)} documents, {chunks} chunks ingested in "
        f"{ingest_seconds:.1f} s; {len(built.queryset.queries)} queries in {seconds:.1f} s",
        file=sys.stderr,
    )
    return rows


def _category(query_id: str) -> str:
    head = query_id.split("-", 1)[0]
    return head.rsplit("_", 1)[0]


def _example(catalog: Catalog, resamples: int) -> list[str]:
    queryset = load_queryset(EXAMPLE)
    assert queryset.root is not None
    files = sorted(p for p in queryset.root.rglob("*") if p.is_file())
    for path in files:
        document_id = path.relative_to(queryset.root).as_posix()
        known = format_for(path.suffix)
        assert known is not None, path
        ingest_text(
            catalog,
            ORG,
            document_id,
            path.read_bytes(),
            document_format=known,
            source=str(path),
            tags=(document_id.split("/", 1)[0],),
            by="bench",
        )
    started = time.perf_counter()
    report = evaluate(LexicalRetriever(catalog), queryset, org_id=ORG, k=K, resamples=resamples)
    seconds = time.perf_counter() - started
    return [_row("example KB (examples/knowledge)", len(files), report, seconds)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, {platform.machine()}, SQLite FTS5 (BM25)")
    print(
        f"| set | documents | queries | clusters | recall@{K} | MRR | nDCG@10 "
        "| ms per query |\n|---|---|---|---|---|---|---|---|"
    )
    rows: list[str] = []
    for run in (_bfcl, _example):
        with tempfile.TemporaryDirectory() as folder:
            catalog = open_catalog(f"sqlite:///{folder}/catalog.db")
            try:
                rows.extend(run(catalog, args.resamples))
            finally:
                catalog.dispose()
    print("\n".join(rows))


if __name__ == "__main__":
    main()

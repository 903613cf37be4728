"""The router's added latency per call with knowledge, at 10,000 chunks (issue 22, point 5).

The knowledge base is bench_kb.py's seeded corpus (1,000 Markdown documents of 10
sections, one chunk each: 10,000 chunks of the asking org, plus 1,000 of another org),
ingested into a new catalog on SQLite and, unless ``--no-postgres``, on a throwaway
PostgreSQL server. The provider is an in-process ``httpx.MockTransport`` that answers at
once, so what is timed is the router: ``Router.complete`` with the call log on (rows
written by its background writer, as in production), each call timed alone
(``perf_counter``, as the caller sees it). ``--calls`` calls (default 500) without
knowledge and as many with ``Knowledge(org_id, query, budget_tokens=1500, k=5)``, the
two kinds interleaved so that the machine's load falls on both alike, after 50 warm-up
calls of each; queries are 2-6 words drawn with the corpus's Zipf weights. Reported:
p50 and p95 of each kind, the difference of the p50s and of the p95s (what knowledge
adds), and the retrieval's own time (``result.retrieval.latency_ms``: search and
budget). The load average before and after says how quiet the shared machine was.

    python benchmarks/bench_router_knowledge.py [--calls 500] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_kb import OTHER, SEED, Corpus  # noqa: E402
from synthetic_calls import on_both_back_ends  # noqa: E402

from clearance.catalog.database import Catalog  # noqa: E402
from clearance.catalog.modelstore import ensure_provider, sync_models  # noqa: E402
from clearance.config import load_config  # noqa: E402
from clearance.discovery import parse_model_list  # noqa: E402
from clearance.knowledge import Knowledge, ingest_text  # noqa: E402
from clearance.providers.openai import OpenAICompatibleProvider  # noqa: E402
from clearance.router import Router  # noqa: E402

ORG = "bench-org"
ANSWER = {
    "id": "c",
    "object": "chat.completion",
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 500, "completion_tokens": 5, "total_tokens": 505},
}
ANSWER_BYTES = json.dumps(ANSWER).encode()


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=ANSWER_BYTES, headers={"content-type": "application/json"})


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(backend: str, catalog: Catalog, args: argparse.Namespace) -> dict[str, Any]:
    corpus = Corpus(SEED)
    for i in range(100):
        ingest_text(catalog, OTHER, f"other-{i}.md", corpus.document(10), by="bench")
    chunks = 0
    for i in range(1000):
        chunks += ingest_text(
            catalog, ORG, f"doc-{i:05d}.md", corpus.document(10), by="bench"
        ).chunks
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        models = {"data": [{"id": "m", "pricing": {"prompt": "0.000001", "completion": "0"}}]}
        sync_models(connection, "p", parse_model_list(models, source="bench"), enable_new=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_router_knowledge"))
    (folder / "clearance.toml").write_text(
        '[policy]\ndefault_model = "p:m"\n[gate]\nrequire_decision = false\n'
    )
    config = load_config(environ={}, cwd=folder)
    provider = OpenAICompatibleProvider(
        "p", "https://p.example/v1", api_key="sk-bench", transport=httpx.MockTransport(_answer)
    )
    router = Router(config, catalog, providers={"p": provider})
    queries = [" ".join(corpus.draw(corpus.rng.randint(2, 6))) for _ in range(args.calls + 50)]
    plain: list[float] = []
    knowing: list[float] = []
    retrieval_ms: list[float] = []
    injected = 0
    try:
        for n, query in enumerate(queries):
            messages = [{"role": "user", "content": query}]
            t0 = time.perf_counter()
            router.complete(messages, org=ORG)
            t1 = time.perf_counter()
            knowledge = Knowledge(org_id=ORG, query=query, budget_tokens=1500, k=5)
            result = router.complete(messages, org=ORG, knowledge=knowledge)
            t2 = time.perf_counter()
            if n < 50:
                continue
            plain.append((t1 - t0) * 1000)
            knowing.append((t2 - t1) * 1000)
            assert result.retrieval is not None
            assert result.retrieval.error is None
            retrieval_ms.append(result.retrieval.latency_ms)
            injected += result.retrieval.context.message is not None
    finally:
        router.close()
    print(f"{backend}: done, load average {os.getloadavg()}", file=sys.stderr)
    row: dict[str, Any] = {"backend": backend, "chunks": chunks, "injected": injected}
    for label, values in (("plain", plain), ("knowledge", knowing), ("retrieval", retrieval_ms)):
        row[f"{label}_p50"] = statistics.median(values)
        row[f"{label}_p95"] = _percentile(values, 0.95)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average before {os.getloadavg()}"
    )
    rows, skipped = on_both_back_ends(
        lambda backend, catalog: measure(backend, catalog, args),
        postgres=not args.no_postgres,
        prefix="bench_router_knowledge",
    )
    if skipped:
        print(skipped)
    print(f"load average after {os.getloadavg()}\n")
    print(
        "| back end | chunks | call p50 / p95 without | with knowledge | added p50 / p95"
        " | retrieval p50 / p95 | calls with context |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['chunks']:,}"
            f" | {r['plain_p50']:.2f} / {r['plain_p95']:.2f} ms"
            f" | {r['knowledge_p50']:.2f} / {r['knowledge_p95']:.2f} ms"
            f" | {r['knowledge_p50'] - r['plain_p50']:.2f} /"
            f" {r['knowledge_p95'] - r['plain_p95']:.2f} ms"
            f" | {r['retrieval_p50']:.2f} / {r['retrieval_p95']:.2f} ms"
            f" | {r['injected']}/{args.calls} |"
        )


if __name__ == "__main__":
    main()

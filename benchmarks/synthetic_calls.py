"""A large, realistic ``ai_calls`` table for the SLO and report benchmarks.

``fill_calls(catalog, n, seed=...)`` writes ``n`` call rows spread over the
``span`` (default one hour) before ``until`` (default now), so the default SLO
window sees them all: 12 models with skewed traffic (a few carry most of it), 60
orgs (likewise), served calls with exact Decimal costs from per-model prices (a
few priced at the default price, a few unpriced), latencies drawn per model (a
few missing), fallbacks (with their reason and origin), failures and refusals
(with their kinds), tool calls (a few invalid, with the validation verdicts in
``extra``) and escalations. The same seed gives the same rows.

The rows bypass the call log and SQLAlchemy's per-row processing: on SQLite they
go through ``executemany`` in large batches, with each column's own bind processor
(so the stored text is exactly what the catalog writes); on PostgreSQL through
``COPY``. A million rows take about half a minute on SQLite.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog

__all__ = ["COLUMNS", "MODELS", "ORGS", "fill_calls", "generate_calls", "on_both_back_ends"]

COLUMNS = (
    "call_id",
    "started_at",
    "org_id",
    "session_id",
    "tier",
    "requested_model",
    "served_model",
    "provider",
    "status",
    "error_kind",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "computed_cost",
    "reported_cost",
    "pricing_source",
    "latency_ms",
    "overhead_us",
    "attempts",
    "fallback_reason",
    "fallback_from",
    "tool_calls",
    "tool_calls_valid",
    "escalated",
    "extra",
)

# (model id, share of traffic, prompt USD/token, completion USD/token, median latency ms,
#  failure rate, fallback rate)
MODELS: tuple[tuple[str, float, str, str, float, float, float], ...] = (
    ("openrouter:openai/gpt-4o", 0.22, "0.0000025", "0.00001", 2400, 0.008, 0.02),
    ("openrouter:openai/gpt-4o-mini", 0.20, "0.00000015", "0.0000006", 1200, 0.006, 0.015),
    ("openrouter:anthropic/claude-sonnet-4", 0.16, "0.000003", "0.000015", 3100, 0.012, 0.03),
    ("openrouter:anthropic/claude-3.5-haiku", 0.10, "0.0000008", "0.000004", 1500, 0.01, 0.02),
    ("openrouter:google/gemini-2.5-flash", 0.09, "0.0000003", "0.0000025", 1100, 0.02, 0.05),
    ("openrouter:google/gemini-2.5-pro", 0.06, "0.00000125", "0.00001", 5200, 0.025, 0.04),
    ("groq:llama-3.3-70b-versatile", 0.05, "0.00000059", "0.00000079", 600, 0.04, 0.08),
    ("groq:qwen/qwen3-32b", 0.04, "0.00000029", "0.00000059", 700, 0.03, 0.06),
    ("openrouter:mistralai/mistral-small-3.2", 0.03, "0.0000001", "0.0000003", 1300, 0.015, 0.03),
    ("openrouter:deepseek/deepseek-chat-v3", 0.025, "0.0000003", "0.00000085", 4200, 0.05, 0.1),
    ("openrouter:x-ai/grok-3-mini", 0.015, "0.0000003", "0.0000005", 2600, 0.02, 0.04),
    ("openrouter:meta-llama/llama-4-maverick", 0.01, "0.00000015", "0.0000006", 1800, 0.03, 0.05),
)
ORGS = tuple(f"org-{i:03d}" for i in range(60))
FALLBACK_REASONS = ("rate_limit", "server_error", "timeout", "auth", "context_length")
ERROR_KINDS = ("rate_limit", "server_error", "timeout", "bad_request", "content_policy")
TOOL_ERRORS = ("schema_violation", "invalid_json", "unknown_tool")
DEFAULT_PRICE = (Decimal("0.000005"), Decimal("0.000015"))


def generate_calls(
    n: int, *, seed: int, since: dt.datetime, span: dt.timedelta
) -> Iterator[tuple[Any, ...]]:
    """``n`` rows as tuples in :data:`COLUMNS` order, ``started_at`` in ``[since, since+span)``."""
    rng = random.Random(seed)
    ids = [m[0] for m in MODELS]
    weights = [m[1] for m in MODELS]
    prices = {m[0]: (Decimal(m[2]), Decimal(m[3])) for m in MODELS}
    org_weights = [1 / (i + 1) ** 1.1 for i in range(len(ORGS))]
    unpriced = {ids[-1]}  # one model the catalog has no price for: default-priced
    step = span.total_seconds() / n
    prefix = f"{seed:08x}"
    choice = rng.choices
    for i in range(n):
        started = since + dt.timedelta(seconds=i * step + rng.random() * step)
        model = choice(ids, weights)[0]
        info = MODELS[ids.index(model)]
        org = choice(ORGS, org_weights)[0] if rng.random() < 0.97 else None
        roll = rng.random()
        status = "ok"
        served: str | None = model
        error_kind = fallback_reason = fallback_from = None
        if roll < 0.004:
            status, served = "refused", None
            error_kind = "killed" if rng.random() < 0.5 else "NoModelAvailable"
        elif roll < 0.004 + info[5]:
            status, served = "error", None
            error_kind = rng.choice(ERROR_KINDS)
            if rng.random() < 0.3:
                fallback_reason = error_kind
        elif rng.random() < info[6]:
            fallback_from = model
            fallback_reason = rng.choice(FALLBACK_REASONS)
            served = choice(ids, weights)[0]
            while served == model:
                served = choice(ids, weights)[0]
        prompt = completion = tools = valid = 0
        cost: Decimal | None = None
        source: str | None = None
        latency: float | None = None
        extra: dict[str, Any] | None = None
        escalated = False
        if status == "ok":
            assert served is not None
            prompt = int(rng.lognormvariate(7.2, 0.8))
            completion = int(rng.lognormvariate(5.5, 0.9))
            if served in unpriced:
                rates, source = DEFAULT_PRICE, "default"
            else:
                rates, source = prices[served], "catalog"
            if rng.random() < 0.003:
                source = None  # logged before pricing existed: no cost
            else:
                cost = prompt * rates[0] + completion * rates[1]
            median = MODELS[ids.index(served)][4]
            if rng.random() > 0.005:
                latency = round(median * math.exp(rng.gauss(0, 0.45)), 3)
            if rng.random() < 0.3:
                tools = 1 + int(rng.random() * 3)
                verdicts = [rng.random() > 0.02 for _ in range(tools)]
                valid = sum(verdicts)
                if valid < tools:
                    extra = {
                        "tool_calls": [
                            {"name": "crm_update", "valid": True}
                            if ok
                            else {"name": "crm_update", "valid": False,
                                  "error": rng.choice(TOOL_ERRORS), "pointer": "/amount"}
                            for ok in verdicts
                        ]
                    }  # fmt: skip
            escalated = rng.random() < 0.02
        elif status == "error":
            latency = round(rng.uniform(50, 30000), 3)
        else:
            latency = round(rng.uniform(0.05, 2), 3)
        yield (
            f"{prefix}{i:016x}",
            started,
            org,
            None,
            None,
            model if status != "refused" or rng.random() < 0.5 else None,
            served,
            None if served is None else served.split(":", 1)[0],
            status,
            error_kind,
            "tool_calls" if tools else ("stop" if status == "ok" else None),
            prompt,
            completion,
            0,
            0,
            0,
            cost,
            cost,
            None,
            source,
            latency,
            None if latency is None else round(rng.uniform(40, 400), 1),
            0 if status == "refused" else 1 + (fallback_from is not None),
            fallback_reason,
            fallback_from,
            tools,
            valid,
            escalated,
            extra,
        )


def fill_calls(
    catalog: Catalog,
    n: int,
    *,
    seed: int,
    until: dt.datetime | None = None,
    span: dt.timedelta = dt.timedelta(hours=1),
    batch_size: int = 50_000,
) -> int:
    """Write ``n`` synthetic calls in ``[until - span, until)``; returns ``n``."""
    until = until or dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows = generate_calls(n, seed=seed, since=until - span, span=span)
    if catalog.dialect == "postgresql":
        _copy(catalog, rows)
    else:
        _executemany(catalog, rows, batch_size)
    return n


def _executemany(catalog: Catalog, rows: Iterator[tuple[Any, ...]], batch_size: int) -> None:
    dialect = catalog.engine.dialect
    processors = [t.ai_calls.c[name].type.bind_processor(dialect) for name in COLUMNS]
    statement = (
        f"INSERT INTO ai_calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    )
    raw = catalog.engine.raw_connection()
    try:
        cursor = raw.cursor()
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(
                tuple(
                    value if process is None or value is None else process(value)
                    for process, value in zip(processors, row, strict=True)
                )
            )
            if len(batch) >= batch_size:
                cursor.executemany(statement, batch)
                batch = []
        if batch:
            cursor.executemany(statement, batch)
        raw.commit()
    finally:
        raw.close()


def _copy(catalog: Catalog, rows: Iterator[tuple[Any, ...]]) -> None:
    from psycopg.types.json import Jsonb

    extra = COLUMNS.index("extra")
    raw = catalog.engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        with cursor.copy(f"COPY ai_calls ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                if row[extra] is not None:
                    row = (*row[:extra], Jsonb(row[extra]))
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def on_both_back_ends(
    measure: Callable[[str, Catalog], dict[str, Any]], *, postgres: bool, prefix: str
) -> tuple[list[dict[str, Any]], str | None]:
    """``measure(back end, catalog)`` on a new SQLite catalog, then (unless ``postgres`` is
    false) on a database of a throwaway PostgreSQL server: the rows, and why PostgreSQL
    was skipped (None when it ran)."""
    import tempfile
    import uuid
    from pathlib import Path

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        catalog = open_catalog(f"sqlite:///{Path(folder) / 'catalog.db'}")
        try:
            rows.append(measure("SQLite", catalog))
        finally:
            catalog.dispose()
    if not postgres:
        return rows, None
    from tests.support.postgres import PostgresHarnessError, ThrowawayPostgres, create_database

    try:
        server = ThrowawayPostgres().start()
    except PostgresHarnessError as error:
        return rows, f"PostgreSQL skipped: {error}"
    try:
        catalog = open_catalog(create_database(server.url, f"{prefix}_{uuid.uuid4().hex[:8]}"))
        try:
            rows.append(measure("PostgreSQL", catalog))
        finally:
            catalog.dispose()
    finally:
        server.stop()
    return rows, None

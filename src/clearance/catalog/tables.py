"""The catalog's tables (SQLAlchemy Core).

This is the schema as of the newest migration; Alembic migrations under
``migrations/versions`` are the history that produces it, and a test checks
the two agree. Money columns are :class:`ExactDecimal` (USD); prices are USD
per token unless the column name says otherwise.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from clearance.catalog.types import ExactDecimal, JSONDocument, UTCDateTime

__all__ = [
    "CALL_EXCEPTIONAL",
    "CALL_INVALID_TOOLS",
    "ai_calls",
    "eval_results",
    "eval_runs",
    "fallback_chains",
    "gate_decisions",
    "is_full_text_object",
    "kb_audit",
    "kb_chunks",
    "kb_documents",
    "kb_tags",
    "kb_vectors",
    "kill_switch_audit",
    "kill_switches",
    "metadata",
    "models",
    "operating_costs",
    "org_settings",
    "prices",
    "providers",
    "retrieval_results",
    "retrieval_runs",
    "retrieval_scores",
    "retrievals",
    "retriever_decisions",
    "revenue",
    "session_pins",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

MODEL_ID = String(300)
ID36 = String(36)

providers = Table(
    "providers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("base_url", Text, nullable=True),
    Column("api_key_env", String(128), nullable=True),
    Column("models_format", String(16), nullable=False, default="auto"),
    Column(
        "protocol",
        String(16),
        nullable=False,
        default="openai",
        server_default="openai",
        doc="openai | anthropic | gemini",
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_synced_at", UTCDateTime, nullable=True),
    Column("last_sync_source", Text, nullable=True),
)

models = Table(
    "models",
    metadata,
    Column("id", MODEL_ID, primary_key=True, doc="PROVIDER:NAME"),
    Column("provider", String(64), ForeignKey("providers.name"), nullable=False),
    Column("name", String(256), nullable=False, doc="the provider's own model id"),
    Column("display_name", Text, nullable=True),
    Column("context_length", Integer, nullable=True),
    Column("max_completion_tokens", Integer, nullable=True),
    Column("capabilities", JSONDocument, nullable=False, doc="tools, tool_choice, vision, ..."),
    Column("enabled", Boolean, nullable=False, default=False, doc="platform-enabled for traffic"),
    Column("gate_status", String(16), nullable=False, default="ungated"),
    Column("pricing_status", String(16), nullable=False, default="unknown"),
    Column("discovered_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime, nullable=True, doc="gone from the provider's list"),
    Column("source_metadata", JSONDocument, nullable=True, doc="the entry as discovered"),
    UniqueConstraint("provider", "name"),
)

prices = Table(
    "prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", MODEL_ID, ForeignKey("models.id"), nullable=False),
    Column("source", String(32), nullable=False, doc="provider | litellm | manual"),
    Column("source_detail", Text, nullable=True, doc="URL, file and key it came from"),
    Column("effective_at", UTCDateTime, nullable=False),
    Column("last_confirmed_at", UTCDateTime, nullable=False),
    Column("prompt_per_token", ExactDecimal, nullable=False),
    Column("completion_per_token", ExactDecimal, nullable=False),
    Column("cache_read_per_token", ExactDecimal, nullable=True),
    Column("cache_write_per_token", ExactDecimal, nullable=True),
    Column("reasoning_per_token", ExactDecimal, nullable=True),
    Column("per_request", ExactDecimal, nullable=True),
    Column("per_image", ExactDecimal, nullable=True),
    Column("per_web_search", ExactDecimal, nullable=True),
    Column("tiers", JSONDocument, nullable=True, doc="[{min_prompt_tokens, rates as strings}]"),
    Column("content_hash", String(64), nullable=False),
    Column("reason", Text, nullable=True, doc="manual prices: why it was set"),
    Column("set_by", String(128), nullable=True, doc="manual prices: the user who set it"),
    Column("host", String(255), nullable=True, doc="manual prices: the host it was set from"),
    Index(None, "model_id", "source", "effective_at"),
)

org_settings = Table(
    "org_settings",
    metadata,
    Column("org_id", String(128), primary_key=True),
    Column("enabled_models", JSONDocument, nullable=True, doc="model ids; NULL = not set"),
    Column("default_model_id", MODEL_ID, nullable=True),
    Column("legacy_model", MODEL_ID, nullable=True, doc="the legacy single-model field"),
    Column("updated_at", UTCDateTime, nullable=False),
)

session_pins = Table(
    "session_pins",
    metadata,
    Column("session_id", String(128), primary_key=True),
    Column("org_id", String(128), nullable=True),
    Column("model_id", MODEL_ID, nullable=False),
    Column("pinned_at", UTCDateTime, nullable=False),
)

fallback_chains = Table(
    "fallback_chains",
    metadata,
    Column("model_id", MODEL_ID, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("fallback_model_id", MODEL_ID, nullable=False),
)

kill_switches = Table(
    "kill_switches",
    metadata,
    Column("scope", String(16), primary_key=True, doc="global | provider | model | org"),
    Column("target", String(300), primary_key=True, doc="'' for global"),
    Column("active", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

kill_switch_audit = Table(
    "kill_switch_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),
    Column("target", String(300), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("previous_active", Boolean, nullable=True),
    Column("reason", Text, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("host", String(255), nullable=True),
    Column("at", UTCDateTime, nullable=False),
)

CALL_EXCEPTIONAL = "status != 'ok' OR fallback_from IS NOT NULL"
"""The ``ai_calls`` rows ``ix_ai_calls_exceptional`` holds: failed, refused, fallback-served.
A query states this condition word for word (SQLite matches a partial index's condition
by its terms, literals included) to read them through it."""
CALL_INVALID_TOOLS = "tool_calls_valid < tool_calls"
"""The ``ai_calls`` rows ``ix_ai_calls_invalid_tools`` holds: an invalid tool call."""


CALL_WINDOW_COLUMNS = (
    "served_model",
    "started_at",
    "eval_run_id",
    "status",
    "requested_model",
    "org_id",
    "latency_ms",
    "cost",
    "tool_calls",
    "tool_calls_valid",
    "escalated",
    "pricing_source",
    "price_id",
    "model_snapshot",
    "id",
)
"""The columns of ``ix_ai_calls_served_model_window``: a served model's calls in time order,
with every column the SLO figures, their slowest and costliest examples and the snapshot
counts read (``id`` last: PostgreSQL reads the index alone only when it holds each column
a query names)."""


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, on both dialects."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


ai_calls = Table(
    "ai_calls",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("call_id", ID36, nullable=False, unique=True, doc="idempotency key for spill replay"),
    Column("started_at", UTCDateTime, nullable=False),
    Column("org_id", String(128), nullable=True),
    Column("session_id", String(128), nullable=True),
    Column("tier", String(16), nullable=True),
    Column("requested_model", MODEL_ID, nullable=True),
    Column("served_model", MODEL_ID, nullable=True),
    Column(
        "model_snapshot",
        String(255),
        nullable=True,
        doc="what the provider said answered: model[@system_fingerprint] / modelVersion",
    ),
    Column("provider", String(64), nullable=True),
    Column("status", String(16), nullable=False, doc="ok | error | refused"),
    Column("error_kind", String(48), nullable=True),
    Column("finish_reason", String(16), nullable=True),
    Column("finish_reason_raw", String(64), nullable=True),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cached_tokens", Integer, nullable=False, default=0),
    Column("cache_write_tokens", Integer, nullable=False, default=0),
    Column("reasoning_tokens", Integer, nullable=False, default=0),
    Column("cost", ExactDecimal, nullable=True, doc="USD, the cost used"),
    Column("computed_cost", ExactDecimal, nullable=True, doc="USD, from catalog prices"),
    Column("reported_cost", ExactDecimal, nullable=True, doc="USD, as the provider reported"),
    Column(
        "pricing_source",
        String(16),
        nullable=True,
        doc="provider | catalog | default | estimated (no usage reported: tokens estimated)",
    ),
    Column("price_id", Integer, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("overhead_us", Float, nullable=True, doc="clearance's own time"),
    Column("attempts", Integer, nullable=False, default=1),
    Column("fallback_reason", String(48), nullable=True),
    Column("fallback_from", MODEL_ID, nullable=True),
    Column("policy_reason", String(48), nullable=True),
    Column("tool_calls", Integer, nullable=False, default=0),
    Column("tool_calls_valid", Integer, nullable=False, default=0),
    Column("escalated", Boolean, nullable=False, default=False),
    Column("extra", JSONDocument, nullable=True),
    Column(
        "eval_run_id",
        ID36,
        nullable=True,
        doc="the eval run that made the call; NULL: live traffic (the only kind SLOs count)",
    ),
    Index(None, "started_at"),
    # migration 0007: each served model's calls of a window read from the index alone
    Index("ix_ai_calls_served_model_window", *CALL_WINDOW_COLUMNS),
    Index(None, "org_id", "started_at"),
    # partial (migration 0006): a run's calls only; the SLO check's rare rows only
    Index(None, "eval_run_id", **_where("eval_run_id IS NOT NULL")),
    Index("ix_ai_calls_exceptional", "started_at", **_where(CALL_EXCEPTIONAL)),
    Index("ix_ai_calls_invalid_tools", "started_at", **_where(CALL_INVALID_TOOLS)),
)

operating_costs = Table(
    "operating_costs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("category", String(64), nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False, default="USD"),
    Column("note", Text, nullable=True),
)

revenue = Table(
    "revenue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", String(128), nullable=True),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False, default="USD"),
    Column("note", Text, nullable=True),
)

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", ID36, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("status", String(16), nullable=False, doc="running | complete | stopped | failed"),
    Column("suite_hash", String(64), nullable=True),
    Column("contracts_hash", String(64), nullable=True),
    Column("models", JSONDocument, nullable=False),
    Column("suites", JSONDocument, nullable=True),
    Column("trials", Integer, nullable=False),
    Column("git_commit", String(64), nullable=True),
    Column("record_mode", String(8), nullable=True),
    Column("shards", Integer, nullable=True),
    Column("spend", ExactDecimal, nullable=True),
    Column("cost_cap", ExactDecimal, nullable=True),
    Column("details", JSONDocument, nullable=True),
)

eval_results = Table(
    "eval_results",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", ID36, ForeignKey("eval_runs.id"), nullable=False),
    Column("model_id", MODEL_ID, nullable=False),
    Column("case_id", String(300), nullable=False),
    Column("case_kind", String(16), nullable=False, doc="contract | flow | bfcl"),
    Column("tool", String(128), nullable=True),
    Column("contract_version", String(32), nullable=True),
    Column("criticality", String(16), nullable=True),
    Column("trial", Integer, nullable=False),
    Column("shard", Integer, nullable=True),
    Column("verdict", String(16), nullable=False, doc="pass | fail | infra_error"),
    Column("failure_code", String(32), nullable=True),
    Column("evidence", JSONDocument, nullable=True),
    Column("turns_passed", Integer, nullable=True),
    Column("turns_total", Integer, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("cost", ExactDecimal, nullable=True),
    Column("served_model", MODEL_ID, nullable=True),
    Column("model_snapshot", String(255), nullable=True, doc="as on ai_calls"),
    Column("fallback_served", Boolean, nullable=False, default=False),
    Column("cassette", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("run_id", "model_id", "case_id", "trial"),
    Index(None, "model_id", "case_id"),
)

gate_decisions = Table(
    "gate_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", MODEL_ID, nullable=False),
    Column("decision", String(16), nullable=False, doc="enable | disable | inconclusive"),
    Column("override", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=True),
    Column("checks", JSONDocument, nullable=True),
    Column("policy_path", Text, nullable=True),
    Column("policy_hash", String(64), nullable=True),
    Column("eval_run_ids", JSONDocument, nullable=True),
    Column("contract_versions", JSONDocument, nullable=True, doc="{tool: version}"),
    Column("recordings", JSONDocument, nullable=True, doc="{cassette path: sha256}"),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("stale_reason", Text, nullable=True),
    Column("contract_hashes", JSONDocument, nullable=True, doc="{tool@version | case:id: sha256}"),
    Column("policy_name", String(64), nullable=True),
    Column("baseline_model", MODEL_ID, nullable=True),
    Column("host", String(255), nullable=True),
    Column("stale_at", UTCDateTime, nullable=True),
    Column("snapshots", JSONDocument, nullable=True, doc="{snapshot: results} it was taken on"),
    Index(None, "model_id", "decided_at"),
    # the router's "latest decision and override per model": read from the index alone
    Index(None, "model_id", "override", "id"),
    Index(None, "stale_at"),  # GateCache's change check
)


# -- knowledge bases (migration 0008, issue 22) ----------------------------------------

ORG_ID = String(128)
DOCUMENT_ID = String(512)
_DOCUMENT_KEY = ("kb_documents.org_id", "kb_documents.document_id")

kb_documents = Table(
    "kb_documents",
    metadata,
    Column("org_id", ORG_ID, primary_key=True),
    Column("document_id", DOCUMENT_ID, primary_key=True, doc="unique within the org"),
    Column("source", Text, nullable=True, doc="the path it was read from"),
    Column("title", Text, nullable=True),
    Column("format", String(16), nullable=False, doc="markdown | text | html"),
    Column("sha256", String(64), nullable=False, doc="of the content as read (bytes)"),
    Column("tags", JSONDocument, nullable=False, doc="sorted list; kb_tags indexes it"),
    Column("bytes", Integer, nullable=False, doc="size of the content as read"),
    Column("chunks", Integer, nullable=False),
    Column("ingested_at", UTCDateTime, nullable=False),
    Column("ingested_by", String(128), nullable=False),
)

kb_tags = Table(
    "kb_tags",
    metadata,
    Column("org_id", ORG_ID, primary_key=True),
    Column("tag", String(128), primary_key=True),
    Column("document_id", DOCUMENT_ID, primary_key=True),
    ForeignKeyConstraint(["org_id", "document_id"], list(_DOCUMENT_KEY)),
)

kb_chunks = Table(
    "kb_chunks",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
        doc="the full-text index's row id",
    ),
    Column("org_id", ORG_ID, nullable=False),
    Column("document_id", DOCUMENT_ID, nullable=False),
    Column("ordinal", Integer, nullable=False, doc="position in the document, from 0"),
    Column("heading", Text, nullable=False, doc="heading path ('A > B'), '' for none"),
    Column("text", Text, nullable=False),
    ForeignKeyConstraint(["org_id", "document_id"], list(_DOCUMENT_KEY)),
    UniqueConstraint("org_id", "document_id", "ordinal"),
)

kb_audit = Table(
    "kb_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("host", String(255), nullable=True),
    Column("org_id", ORG_ID, nullable=False),
    Column("action", String(16), nullable=False, doc="ingest | replace | delete"),
    Column("document_id", DOCUMENT_ID, nullable=True, doc="the document, or NULL for a tag"),
    Column("tag", String(128), nullable=True, doc="delete by tag: the tag"),
    Column("documents", Integer, nullable=False),
    Column("chunks", Integer, nullable=False, doc="chunks written (ingest) or removed"),
    Column("sha256", String(64), nullable=True, doc="ingest/replace: the content's"),
    Index(None, "org_id", "at"),
)

retrievals = Table(
    "retrievals",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("call_id", ID36, nullable=True, doc="ai_calls.call_id of the call it served"),
    Column("org_id", ORG_ID, nullable=False),
    Column("retriever", String(128), nullable=False, doc="the retriever configuration's name"),
    Column(
        "query_sha256",
        String(64),
        nullable=False,
        doc="sha256 of the query (its text is user input and is never stored)",
    ),
    Column("query_chars", Integer, nullable=False),
    Column("k", Integer, nullable=False),
    Column("documents", Integer, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("bytes", Integer, nullable=False, doc="UTF-8 bytes of the context injected"),
    Column("tokens", Integer, nullable=False, doc="tokens of the context injected"),
    Column("tags", JSONDocument, nullable=True, doc="source tags of the chunks injected"),
    Column("latency_ms", Float, nullable=False),
    Column("truncated", Boolean, nullable=False, doc="the token budget cut chunks"),
    Column("cut_chunks", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column(
        "tokens_cut",
        Integer,
        nullable=False,
        server_default=text("0"),
        doc="estimated tokens of retrieved text the budget left out (migration 0010)",
    ),
    Column(
        "error",
        String(64),
        nullable=True,
        doc="why the retrieval failed (error class); the call went without context",
    ),
    Index(None, "call_id"),
    Index(None, "org_id", "created_at"),
    Index(None, "created_at"),
)

# -- dense retrieval's vectors (migration 0009, issue 22) ------------------------------

kb_vectors = Table(
    "kb_vectors",
    metadata,
    Column(
        "chunk_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("kb_chunks.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "embedder",
        String(128),
        primary_key=True,
        doc="the embedder's name and version: vectors of two embedders never mix",
    ),
    Column("org_id", ORG_ID, nullable=False, doc="the chunk's org, to filter before scoring"),
    Column("dimensions", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False, doc="little-endian float32, 4 bytes a dimension"),
    Index(None, "org_id", "embedder"),
)

FULL_TEXT_PREFIX = "kb_fts"
"""The full-text index's objects, made by migration 0008 and not described here, as
SQLAlchemy cannot: on SQLite the FTS5 table ``kb_fts`` (with its shadow tables
``kb_fts_data``, ``kb_fts_idx``, ``kb_fts_docsize``, ``kb_fts_config`` and three
triggers), on PostgreSQL the generated ``tsvector`` column ``kb_chunks.kb_fts`` and its
GIN index ``ix_kb_fts``."""


def is_full_text_object(name: str | None) -> bool:
    """Whether a table, column or index name is one of the full-text index's objects
    (schema comparisons leave them out: they are the database's own, per dialect)."""
    return name is not None and name.removeprefix("ix_").startswith(FULL_TEXT_PREFIX)


# -- the retrieval-quality gate (migration 0011, issue 22) -----------------------------

RETRIEVER = String(64)


def _interval(name: str) -> tuple[Column[Any], ...]:
    return (
        Column(f"{name}_mean", Float, nullable=False),
        Column(f"{name}_low", Float, nullable=False, doc="the bootstrap interval's bounds"),
        Column(f"{name}_high", Float, nullable=False),
    )


retrieval_runs = Table(
    "retrieval_runs",
    metadata,
    Column("id", ID36, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("confidence", Float, nullable=False, doc="the bootstrap intervals' coverage"),
    Column("resamples", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("retrievers", JSONDocument, nullable=False, doc="names evaluated"),
    Column("query_sets", JSONDocument, nullable=False, doc="[{path, org}] evaluated"),
    Column("run_by", String(128), nullable=False),
    Index(None, "started_at"),
)

retrieval_scores = Table(
    "retrieval_scores",
    metadata,
    Column("run_id", ID36, ForeignKey("retrieval_runs.id"), primary_key=True),
    Column("retriever", RETRIEVER, primary_key=True),
    Column("org_id", ORG_ID, primary_key=True),
    Column("knowledge_base", String(128), primary_key=True),
    Column("config", JSONDocument, nullable=False, doc="the configuration as evaluated"),
    Column("config_sha256", String(64), nullable=False),
    Column("query_set", Text, nullable=False, doc="the file's path"),
    Column("query_set_sha256", String(64), nullable=False, doc="of the file's bytes"),
    Column("k", Integer, nullable=False),
    Column("queries", Integer, nullable=False),
    Column("clusters", Integer, nullable=False, doc="queries sharing relevant documents"),
    *_interval("recall"),
    *_interval("mrr"),
    *_interval("ndcg"),
    Index(None, "retriever", "run_id"),
)

retrieval_results = Table(
    "retrieval_results",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", ID36, ForeignKey("retrieval_runs.id"), nullable=False),
    Column("retriever", RETRIEVER, nullable=False),
    Column("org_id", ORG_ID, nullable=False),
    Column("knowledge_base", String(128), nullable=False),
    Column("query_id", String(300), nullable=False),
    Column("query", Text, nullable=False, doc="from the labelled query set, not user traffic"),
    Column("recall", Float, nullable=False, doc="recall@k"),
    Column("reciprocal_rank", Float, nullable=False),
    Column("ndcg", Float, nullable=False, doc="nDCG@10"),
    Column("relevant", Integer, nullable=False),
    Column("hits", Integer, nullable=False),
    Column("retrieved", JSONDocument, nullable=False, doc="document ids, best first"),
    UniqueConstraint("run_id", "retriever", "org_id", "knowledge_base", "query_id"),
)

retriever_decisions = Table(
    "retriever_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("retriever", RETRIEVER, nullable=False),
    Column("decision", String(16), nullable=False, doc="enable | disable | inconclusive"),
    Column("reason", Text, nullable=True),
    Column("checks", JSONDocument, nullable=True),
    Column("config", JSONDocument, nullable=False, doc="the configuration it was taken on"),
    Column("config_sha256", String(64), nullable=False),
    Column("policy_name", String(64), nullable=True),
    Column("policy_path", Text, nullable=True),
    Column("policy_hash", String(64), nullable=True),
    Column("run_ids", JSONDocument, nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("host", String(255), nullable=True),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Index(None, "retriever", "id"),
)

"""Initial schema: every table clearance needs, laid out so later migrations stay linear.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:44:20.009986
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import clearance.catalog.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ai_calls",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=128), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("requested_model", sa.String(length=300), nullable=True),
        sa.Column("served_model", sa.String(length=300), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_kind", sa.String(length=48), nullable=True),
        sa.Column("finish_reason", sa.String(length=16), nullable=True),
        sa.Column("finish_reason_raw", sa.String(length=64), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_write_tokens", sa.Integer(), nullable=False),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column("computed_cost", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column("reported_cost", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column("pricing_source", sa.String(length=16), nullable=True),
        sa.Column("price_id", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("overhead_us", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("fallback_reason", sa.String(length=48), nullable=True),
        sa.Column("fallback_from", sa.String(length=300), nullable=True),
        sa.Column("policy_reason", sa.String(length=48), nullable=True),
        sa.Column("tool_calls", sa.Integer(), nullable=False),
        sa.Column("tool_calls_valid", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_calls")),
        sa.UniqueConstraint("call_id", name=op.f("uq_ai_calls_call_id")),
    )
    with op.batch_alter_table("ai_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ai_calls_org_id_started_at"), ["org_id", "started_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ai_calls_served_model_started_at"),
            ["served_model", "started_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_ai_calls_started_at"), ["started_at"], unique=False)

    op.create_table(
        "eval_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("started_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("suite_hash", sa.String(length=64), nullable=True),
        sa.Column("contracts_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "models",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "suites",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("git_commit", sa.String(length=64), nullable=True),
        sa.Column("record_mode", sa.String(length=8), nullable=True),
        sa.Column("shards", sa.Integer(), nullable=True),
        sa.Column("spend", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column("cost_cap", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_runs")),
    )
    op.create_table(
        "fallback_chains",
        sa.Column("model_id", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("fallback_model_id", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "position", name=op.f("pk_fallback_chains")),
    )
    op.create_table(
        "gate_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(length=300), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "checks",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("policy_path", sa.Text(), nullable=True),
        sa.Column("policy_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "eval_run_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "contract_versions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "recordings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stale_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_decisions")),
    )
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gate_decisions_model_id_decided_at"),
            ["model_id", "decided_at"],
            unique=False,
        )

    op.create_table(
        "kill_switch_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("previous_active", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kill_switch_audit")),
    )
    op.create_table(
        "kill_switches",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=128), nullable=False),
        sa.Column("changed_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "target", name=op.f("pk_kill_switches")),
    )
    op.create_table(
        "operating_costs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "period_start", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("period_end", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("amount", clearance.catalog.types.ExactDecimal(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operating_costs")),
    )
    op.create_table(
        "org_settings",
        sa.Column("org_id", sa.String(length=128), nullable=False),
        sa.Column(
            "enabled_models",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("default_model_id", sa.String(length=300), nullable=True),
        sa.Column("legacy_model", sa.String(length=300), nullable=True),
        sa.Column("updated_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_settings")),
    )
    op.create_table(
        "providers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("api_key_env", sa.String(length=128), nullable=True),
        sa.Column("models_format", sa.String(length=16), nullable=False),
        sa.Column("created_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_synced_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_sync_source", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_providers")),
    )
    op.create_table(
        "revenue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=128), nullable=True),
        sa.Column(
            "period_start", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("period_end", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amount", clearance.catalog.types.ExactDecimal(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue")),
    )
    op.create_table(
        "session_pins",
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("org_id", sa.String(length=128), nullable=True),
        sa.Column("model_id", sa.String(length=300), nullable=False),
        sa.Column("pinned_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_pins")),
    )
    op.create_table(
        "eval_results",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("model_id", sa.String(length=300), nullable=False),
        sa.Column("case_id", sa.String(length=300), nullable=False),
        sa.Column("case_kind", sa.String(length=16), nullable=False),
        sa.Column("tool", sa.String(length=128), nullable=True),
        sa.Column("contract_version", sa.String(length=32), nullable=True),
        sa.Column("criticality", sa.String(length=16), nullable=True),
        sa.Column("trial", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("failure_code", sa.String(length=32), nullable=True),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("turns_passed", sa.Integer(), nullable=True),
        sa.Column("turns_total", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("cost", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column("served_model", sa.String(length=300), nullable=True),
        sa.Column("fallback_served", sa.Boolean(), nullable=False),
        sa.Column("cassette", sa.Text(), nullable=True),
        sa.Column("created_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["eval_runs.id"], name=op.f("fk_eval_results_run_id_eval_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_results")),
        sa.UniqueConstraint(
            "run_id",
            "model_id",
            "case_id",
            "trial",
            name=op.f("uq_eval_results_run_id_model_id_case_id_trial"),
        ),
    )
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eval_results_model_id_case_id"), ["model_id", "case_id"], unique=False
        )

    op.create_table(
        "models",
        sa.Column("id", sa.String(length=300), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("context_length", sa.Integer(), nullable=True),
        sa.Column("max_completion_tokens", sa.Integer(), nullable=True),
        sa.Column(
            "capabilities",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("gate_status", sa.String(length=16), nullable=False),
        sa.Column("pricing_status", sa.String(length=16), nullable=False),
        sa.Column(
            "discovered_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("removed_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "source_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["provider"], ["providers.name"], name=op.f("fk_models_provider_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("provider", "name", name=op.f("uq_models_provider_name")),
    )
    op.create_table(
        "prices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_detail", sa.Text(), nullable=True),
        sa.Column(
            "effective_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_confirmed_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "prompt_per_token", clearance.catalog.types.ExactDecimal(length=64), nullable=False
        ),
        sa.Column(
            "completion_per_token", clearance.catalog.types.ExactDecimal(length=64), nullable=False
        ),
        sa.Column(
            "cache_read_per_token", clearance.catalog.types.ExactDecimal(length=64), nullable=True
        ),
        sa.Column(
            "cache_write_per_token", clearance.catalog.types.ExactDecimal(length=64), nullable=True
        ),
        sa.Column(
            "reasoning_per_token", clearance.catalog.types.ExactDecimal(length=64), nullable=True
        ),
        sa.Column("per_request", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column("per_image", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column("per_web_search", clearance.catalog.types.ExactDecimal(length=64), nullable=True),
        sa.Column(
            "tiers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_prices_model_id_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
    )
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prices_model_id_source_effective_at"),
            ["model_id", "source", "effective_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prices_model_id_source_effective_at"))

    op.drop_table("prices")
    op.drop_table("models")
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_results_model_id_case_id"))

    op.drop_table("eval_results")
    op.drop_table("session_pins")
    op.drop_table("revenue")
    op.drop_table("providers")
    op.drop_table("org_settings")
    op.drop_table("operating_costs")
    op.drop_table("kill_switches")
    op.drop_table("kill_switch_audit")
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_decisions_model_id_decided_at"))

    op.drop_table("gate_decisions")
    op.drop_table("fallback_chains")
    op.drop_table("eval_runs")
    with op.batch_alter_table("ai_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ai_calls_started_at"))
        batch_op.drop_index(batch_op.f("ix_ai_calls_served_model_started_at"))
        batch_op.drop_index(batch_op.f("ix_ai_calls_org_id_started_at"))

    op.drop_table("ai_calls")

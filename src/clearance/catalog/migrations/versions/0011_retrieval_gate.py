"""The retrieval-quality gate's tables (issue 22, point 6).

* ``retrieval_runs``: one ``clearance eval --suites retrieval``: when, the bootstrap's
  confidence, resamples and seed, and what it evaluated.
* ``retrieval_scores``: per run, retriever configuration and labelled query set, the
  summary: recall@k, MRR and nDCG@10 (mean and interval), the number of queries and of
  query clusters, the configuration as evaluated and its sha256, and the query set's.
* ``retrieval_results``: per run, retriever, query set and query, that query's scores
  (recall@k, reciprocal rank, nDCG@10), the documents retrieved and the query's text
  (labelled data from the query set file, not user traffic).
* ``retriever_decisions``: the gate's enable / disable / inconclusive for a retriever
  configuration, with the configuration's sha256 it was taken on, the policy's name,
  path and sha256, the runs judged, who decided where, and the expiry. A sibling of
  ``gate_decisions`` rather than rows in it: a retriever is not a catalog model, and
  the router's model resolver reads ``gate_decisions`` for models only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearance.catalog.types import JSONDocument, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _interval(name: str) -> list[sa.Column[float]]:
    return [
        sa.Column(f"{name}_mean", sa.Float(), nullable=False),
        sa.Column(f"{name}_low", sa.Float(), nullable=False),
        sa.Column(f"{name}_high", sa.Float(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "retrieval_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("resamples", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("retrievers", JSONDocument, nullable=False),
        sa.Column("query_sets", JSONDocument, nullable=False),
        sa.Column("run_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retrieval_runs")),
    )
    op.create_index(op.f("ix_retrieval_runs_started_at"), "retrieval_runs", ["started_at"])
    op.create_table(
        "retrieval_scores",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("retriever", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=128), nullable=False),
        sa.Column("knowledge_base", sa.String(length=128), nullable=False),
        sa.Column("config", JSONDocument, nullable=False),
        sa.Column("config_sha256", sa.String(length=64), nullable=False),
        sa.Column("query_set", sa.Text(), nullable=False),
        sa.Column("query_set_sha256", sa.String(length=64), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("queries", sa.Integer(), nullable=False),
        sa.Column("clusters", sa.Integer(), nullable=False),
        *_interval("recall"),
        *_interval("mrr"),
        *_interval("ndcg"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["retrieval_runs.id"],
            name=op.f("fk_retrieval_scores_run_id_retrieval_runs"),
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "retriever", "org_id", "knowledge_base", name=op.f("pk_retrieval_scores")
        ),
    )
    op.create_index(
        op.f("ix_retrieval_scores_retriever_run_id"), "retrieval_scores", ["retriever", "run_id"]
    )
    op.create_table(
        "retrieval_results",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("retriever", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=128), nullable=False),
        sa.Column("knowledge_base", sa.String(length=128), nullable=False),
        sa.Column("query_id", sa.String(length=300), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("recall", sa.Float(), nullable=False),
        sa.Column("reciprocal_rank", sa.Float(), nullable=False),
        sa.Column("ndcg", sa.Float(), nullable=False),
        sa.Column("relevant", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("retrieved", JSONDocument, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["retrieval_runs.id"],
            name=op.f("fk_retrieval_results_run_id_retrieval_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retrieval_results")),
        sa.UniqueConstraint(
            "run_id",
            "retriever",
            "org_id",
            "knowledge_base",
            "query_id",
            name=op.f("uq_retrieval_results_run_id_retriever_org_id_knowledge_base_query_id"),
        ),
    )
    op.create_table(
        "retriever_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("retriever", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("checks", JSONDocument, nullable=True),
        sa.Column("config", JSONDocument, nullable=False),
        sa.Column("config_sha256", sa.String(length=64), nullable=False),
        sa.Column("policy_name", sa.String(length=64), nullable=True),
        sa.Column("policy_path", sa.Text(), nullable=True),
        sa.Column("policy_hash", sa.String(length=64), nullable=True),
        sa.Column("run_ids", JSONDocument, nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("decided_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retriever_decisions")),
    )
    op.create_index(
        op.f("ix_retriever_decisions_retriever_id"), "retriever_decisions", ["retriever", "id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_retriever_decisions_retriever_id"), table_name="retriever_decisions")
    op.drop_table("retriever_decisions")
    op.drop_table("retrieval_results")
    op.drop_index(op.f("ix_retrieval_scores_retriever_run_id"), table_name="retrieval_scores")
    op.drop_table("retrieval_scores")
    op.drop_index(op.f("ix_retrieval_runs_started_at"), table_name="retrieval_runs")
    op.drop_table("retrieval_runs")

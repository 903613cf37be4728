"""The index of ``ai_calls`` by served model holds every column the window's figures read.

``ix_ai_calls_served_model_started_at`` (``served_model``, ``started_at``) becomes
``ix_ai_calls_served_model_window``: the same two leading columns, then the columns the
SLO figures, the slowest and costliest example calls and the snapshot counts read
(``eval_run_id``, ``status``, ``requested_model``, ``org_id``, ``latency_ms``, ``cost``,
``tool_calls``, ``tool_calls_valid``, ``escalated``, ``pricing_source``, ``price_id``,
``model_snapshot``, ``id``). Each served model's calls of a window are then read from
the index alone, in order, on SQLite and PostgreSQL (an index-only scan there, once
vacuum has marked the pages visible) instead of one table row per call; over a million
calls, ``clearance slo check`` read most of its time in those rows. The index is wider
(on SQLite about 150 bytes a call instead of 60), so writing a call costs a little more.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 00:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WINDOW_COLUMNS = [
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
]


def upgrade() -> None:
    op.drop_index("ix_ai_calls_served_model_started_at", table_name="ai_calls")
    op.create_index("ix_ai_calls_served_model_window", "ai_calls", WINDOW_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_ai_calls_served_model_window", table_name="ai_calls")
    op.create_index(
        "ix_ai_calls_served_model_started_at", "ai_calls", ["served_model", "started_at"]
    )

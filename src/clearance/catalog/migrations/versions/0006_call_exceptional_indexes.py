"""Partial indexes on ``ai_calls`` for the SLO check's rare rows; live traffic unindexed
by run.

* ``ix_ai_calls_exceptional`` (``started_at``, only failed, refused or fallback-served
  calls): the SLO breakdowns, the fallback rate's denominator and the example calls of
  an error or fallback breach read a few rows instead of scanning the window;
* ``ix_ai_calls_invalid_tools`` (``started_at``, only calls with an invalid tool call):
  the examples of a tool-success breach;
* ``ix_ai_calls_eval_run_id`` keeps only the calls an eval run made: a run's calls are
  found as before, and live traffic (``eval_run_id IS NULL``, every SLO query) is no
  longer read through an index holding every live call under one key (SQLite chose it
  over the time range).

Few rows enter the two new indexes (what fails or falls back), so writing a call costs
about what it did.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 22:35:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_EXCEPTIONAL = sa.text("status != 'ok' OR fallback_from IS NOT NULL")
_INVALID_TOOLS = sa.text("tool_calls_valid < tool_calls")
_RUN = sa.text("eval_run_id IS NOT NULL")


def _where(clause: sa.TextClause) -> dict[str, Any]:
    return {"sqlite_where": clause, "postgresql_where": clause}


def upgrade() -> None:
    op.drop_index("ix_ai_calls_eval_run_id", table_name="ai_calls")
    op.create_index("ix_ai_calls_eval_run_id", "ai_calls", ["eval_run_id"], **_where(_RUN))
    op.create_index("ix_ai_calls_exceptional", "ai_calls", ["started_at"], **_where(_EXCEPTIONAL))
    op.create_index(
        "ix_ai_calls_invalid_tools", "ai_calls", ["started_at"], **_where(_INVALID_TOOLS)
    )


def downgrade() -> None:
    op.drop_index("ix_ai_calls_invalid_tools", table_name="ai_calls")
    op.drop_index("ix_ai_calls_exceptional", table_name="ai_calls")
    op.drop_index("ix_ai_calls_eval_run_id", table_name="ai_calls")
    op.create_index("ix_ai_calls_eval_run_id", "ai_calls", ["eval_run_id"])

"""Call log: the eval run that made a call (NULL: live traffic).

SLOs are about live traffic; an eval run's calls go through the same router and the
same log, and must not count against production objectives. Existing rows are
live traffic.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ai_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eval_run_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_ai_calls_eval_run_id"), ["eval_run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ai_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ai_calls_eval_run_id"))
        batch_op.drop_column("eval_run_id")

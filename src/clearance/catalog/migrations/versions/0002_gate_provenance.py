"""Gate decisions: contract hashes, policy name, baseline and the deciding host.

A decision goes stale when a contract or flow it was judged on changes; versions
alone miss an in-place edit, so each decision keeps the content hashes too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import clearance.catalog.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contract_hashes", _JSON, nullable=True))
        batch_op.add_column(sa.Column("policy_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("baseline_model", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("stale_at", clearance.catalog.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_gate_decisions_model_id_override_id"),
            ["model_id", "override", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_gate_decisions_stale_at"), ["stale_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_decisions_stale_at"))
        batch_op.drop_index(batch_op.f("ix_gate_decisions_model_id_override_id"))
        batch_op.drop_column("stale_at")
        batch_op.drop_column("host")
        batch_op.drop_column("baseline_model")
        batch_op.drop_column("policy_name")
        batch_op.drop_column("contract_hashes")

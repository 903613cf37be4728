"""Wire protocols per provider; the model snapshot behind every call, result and decision.

A provider speaks one of three wire protocols (``openai``, ``anthropic``, ``gemini``);
existing providers speak OpenAI's. A call and an eval result keep the identity the
provider reported for what answered (OpenAI ``model`` + ``system_fingerprint``,
Anthropic ``model``, Gemini ``modelVersion``), and a gate decision the snapshots its
evidence was taken on, so that live traffic served by another one can be found.
Existing rows have none: NULL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearance.catalog.types import JSONDocument

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("protocol", sa.String(length=16), nullable=False, server_default="openai")
        )
    with op.batch_alter_table("ai_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_snapshot", sa.String(length=255), nullable=True))
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_snapshot", sa.String(length=255), nullable=True))
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snapshots", JSONDocument, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.drop_column("snapshots")
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.drop_column("model_snapshot")
    with op.batch_alter_table("ai_calls", schema=None) as batch_op:
        batch_op.drop_column("model_snapshot")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("protocol")

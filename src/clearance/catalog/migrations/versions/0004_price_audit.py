"""Prices: who set a manual price, on which host, and why.

A manual price is a person's decision, as much as a gate override: it is recorded
with the user name, the host and the reason. Prices from a provider or LiteLLM
leave the three columns NULL; existing rows are such prices.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("set_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_column("host")
        batch_op.drop_column("set_by")
        batch_op.drop_column("reason")

"""Retrieval telemetry the router records beside what 0008 created (issue 22, point 5).

* ``retrievals.tokens_cut``: estimated tokens of the retrieved text the token budget left
  out (dropped chunks and the rest of a cut one); 0 for rows written before.
* ``retrievals.error``: why the retrieval failed (the error's class name, e.g.
  ``CatalogUnavailable``); NULL when it did not. A failed retrieval has its row too, so
  that every call that went without its context is counted.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "retrievals",
        sa.Column("tokens_cut", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("retrievals", sa.Column("error", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("retrievals", "error")
    op.drop_column("retrievals", "tokens_cut")

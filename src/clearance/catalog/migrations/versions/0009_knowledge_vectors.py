"""Dense retrieval's vectors: one embedding per (chunk, embedder) in ``kb_vectors``.

* ``kb_vectors``: the chunk (``kb_chunks.id``, deleted with it: ``ON DELETE CASCADE``, so
  a replaced or deleted document leaves no vector behind), the org (repeated so that a
  dense search filters by org in SQL before it reads a vector), the embedder's name and
  version (``all-MiniLM-L6-v2@53aa5117``: vectors of two embedders never mix), the
  number of dimensions, and the vector as little-endian float32 bytes (4 bytes per
  dimension: 1,536 bytes for 384 dimensions).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_vectors",
        sa.Column("chunk_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("embedder", sa.String(length=128), nullable=False),
        sa.Column("org_id", sa.String(length=128), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["kb_chunks.id"],
            name=op.f("fk_kb_vectors_chunk_id_kb_chunks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chunk_id", "embedder", name=op.f("pk_kb_vectors")),
    )
    op.create_index(op.f("ix_kb_vectors_org_id_embedder"), "kb_vectors", ["org_id", "embedder"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kb_vectors_org_id_embedder"), table_name="kb_vectors")
    op.drop_table("kb_vectors")

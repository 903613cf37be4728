"""Knowledge bases per org, their audit trail, their full-text index, and retrieval telemetry.

Issue 22's tables, in one migration:

* ``kb_documents``: one row per (org, document): where it came from, its title, the
  sha256 of its content (an unchanged re-ingest is a no-op), its tags, size and chunk
  count, who ingested it and when.
* ``kb_tags``: the tags of ``kb_documents`` as rows, so that retrieval filters by tag in
  SQL on both dialects (written in the same transaction as the document).
* ``kb_chunks``: the chunks retrieval returns (heading path and text), by org and document.
* ``kb_audit``: every ingest, replacement and deletion: who, from which host, when, which
  org, which document or tag, how many documents and chunks.
* ``retrievals``: one row per retrieval the router makes (filled by the router): the
  ``ai_calls`` row's ``call_id`` it served, the retriever configuration, the query as a
  sha256 and a length (never its text: a query is user input and may hold personal data),
  what was returned (documents, chunks, bytes, tokens, tags), its latency, and whether the
  token budget cut it (and how many chunks).

The full-text index is the database's own and is not in ``tables.py`` (its objects are
named ``kb_fts*``; see :func:`clearance.catalog.tables.is_full_text_object`):

* SQLite: ``kb_fts``, an FTS5 table with external content (``kb_chunks``, rowid =
  ``kb_chunks.id``) over ``heading`` and ``text`` with the ``porter unicode61
  remove_diacritics 2`` tokenizer, kept in step with ``kb_chunks`` by three triggers;
  ranked by ``bm25()``. A Python whose sqlite3 lacks FTS5 stops here with a
  :class:`~clearance.errors.ConfigError` naming the fix.
* PostgreSQL: ``kb_chunks.kb_fts``, a stored generated ``tsvector`` (``english``
  configuration; the heading weighted A, the text B) with the GIN index ``ix_kb_fts``;
  ranked by ``ts_rank_cd``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 12:00:00
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

from clearance.catalog.types import JSONDocument, UTCDateTime
from clearance.errors import ConfigError

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ORG = sa.String(length=128)
_DOCUMENT = sa.String(length=512)
_DOCUMENT_KEY = ["kb_documents.org_id", "kb_documents.document_id"]

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE kb_fts USING fts5(heading, text, content='kb_chunks', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER kb_fts_insert AFTER INSERT ON kb_chunks BEGIN "
    "INSERT INTO kb_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text); END",
    "CREATE TRIGGER kb_fts_delete AFTER DELETE ON kb_chunks BEGIN "
    "INSERT INTO kb_fts(kb_fts, rowid, heading, text) "
    "VALUES ('delete', old.id, old.heading, old.text); END",
    "CREATE TRIGGER kb_fts_update AFTER UPDATE ON kb_chunks BEGIN "
    "INSERT INTO kb_fts(kb_fts, rowid, heading, text) "
    "VALUES ('delete', old.id, old.heading, old.text); "
    "INSERT INTO kb_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text); END",
]
_POSTGRES_FTS = [
    "ALTER TABLE kb_chunks ADD COLUMN kb_fts tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, heading), 'A') || "
    "setweight(to_tsvector('english'::regconfig, text), 'B')) STORED",
    "CREATE INDEX ix_kb_fts ON kb_chunks USING gin (kb_fts)",
]


def _require_fts5() -> None:
    """Stop with the fix when this Python's sqlite3 was built without FTS5."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
    except sqlite3.OperationalError as error:
        raise ConfigError(
            f"this Python's sqlite3 (SQLite {sqlite3.sqlite_version}) has no FTS5 ({error}), "
            "which knowledge bases on SQLite need",
            source="sqlite3",
            fix="run clearance on a Python whose sqlite3 is built with FTS5 (python.org, "
            "Debian/Ubuntu and Homebrew builds are), or point CLEARANCE_DATABASE_URL at "
            "PostgreSQL",
        ) from None
    finally:
        probe.close()


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _require_fts5()
    op.create_table(
        "kb_documents",
        sa.Column("org_id", _ORG, nullable=False),
        sa.Column("document_id", _DOCUMENT, nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("tags", JSONDocument, nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("ingested_at", UTCDateTime, nullable=False),
        sa.Column("ingested_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "document_id", name=op.f("pk_kb_documents")),
    )
    op.create_table(
        "kb_tags",
        sa.Column("org_id", _ORG, nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.Column("document_id", _DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "document_id"], _DOCUMENT_KEY, name=op.f("fk_kb_tags_org_id_kb_documents")
        ),
        sa.PrimaryKeyConstraint("org_id", "tag", "document_id", name=op.f("pk_kb_tags")),
    )
    op.create_table(
        "kb_chunks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", _ORG, nullable=False),
        sa.Column("document_id", _DOCUMENT, nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "document_id"],
            _DOCUMENT_KEY,
            name=op.f("fk_kb_chunks_org_id_kb_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_chunks")),
        sa.UniqueConstraint(
            "org_id", "document_id", "ordinal", name=op.f("uq_kb_chunks_org_id_document_id_ordinal")
        ),
    )
    op.create_table(
        "kb_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("org_id", _ORG, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("document_id", _DOCUMENT, nullable=True),
        sa.Column("tag", sa.String(length=128), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_audit")),
    )
    op.create_index(op.f("ix_kb_audit_org_id_at"), "kb_audit", ["org_id", "at"])
    op.create_table(
        "retrievals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("org_id", _ORG, nullable=False),
        sa.Column("retriever", sa.String(length=128), nullable=False),
        sa.Column("query_sha256", sa.String(length=64), nullable=False),
        sa.Column("query_chars", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("tags", JSONDocument, nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("cut_chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retrievals")),
    )
    op.create_index(op.f("ix_retrievals_call_id"), "retrievals", ["call_id"])
    op.create_index(op.f("ix_retrievals_org_id_created_at"), "retrievals", ["org_id", "created_at"])
    op.create_index(op.f("ix_retrievals_created_at"), "retrievals", ["created_at"])
    for statement in _SQLITE_FTS if dialect == "sqlite" else _POSTGRES_FTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("kb_fts_update", "kb_fts_delete", "kb_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS kb_fts")
    op.drop_index(op.f("ix_retrievals_created_at"), table_name="retrievals")
    op.drop_index(op.f("ix_retrievals_org_id_created_at"), table_name="retrievals")
    op.drop_index(op.f("ix_retrievals_call_id"), table_name="retrievals")
    op.drop_table("retrievals")
    op.drop_index(op.f("ix_kb_audit_org_id_at"), table_name="kb_audit")
    op.drop_table("kb_audit")
    op.drop_table("kb_chunks")  # PostgreSQL: its kb_fts column and index go with it
    op.drop_table("kb_tags")
    op.drop_table("kb_documents")

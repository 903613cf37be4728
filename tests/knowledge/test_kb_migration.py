"""Migration 0008: the knowledge-base tables and each database's full-text index, up and
down, and a catalog of 0007 upgraded keeps its rows."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.migrate import _SCRIPTS, HEAD, upgrade
from clearance.knowledge import LexicalRetriever, ingest_text

KB_TABLES = {"kb_documents", "kb_tags", "kb_chunks", "kb_audit", "retrievals"}


def _downgrade(catalog: Catalog, revision: str) -> None:
    with catalog.connect() as connection:
        config = Config()
        config.set_main_option("script_location", str(_SCRIPTS))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()


def _full_text_objects(catalog: Catalog) -> set[str]:
    with catalog.connect() as connection:
        if catalog.dialect == "sqlite":
            rows = connection.execute(text("SELECT name FROM sqlite_master")).scalars()
            return {name for name in rows if t.is_full_text_object(name)}
        columns = {c["name"] for c in inspect(connection).get_columns("kb_chunks")}
        indexes = {i["name"] for i in inspect(connection).get_indexes("kb_chunks")}
        return {name for name in columns | indexes if t.is_full_text_object(name)}


def test_0008_up_down_up(catalog: Catalog) -> None:
    expected = (
        {"kb_fts", "kb_fts_data", "kb_fts_idx", "kb_fts_docsize", "kb_fts_config",
         "kb_fts_insert", "kb_fts_delete", "kb_fts_update"}
        if catalog.dialect == "sqlite"
        else {"kb_fts", "ix_kb_fts"}
    )  # fmt: skip
    assert _full_text_objects(catalog) == expected
    ingest_text(catalog, "acme", "a.md", "# A\n\nrefund policy", by="t")
    _downgrade(catalog, "0007")
    with catalog.connect() as connection:
        names = set(inspect(connection).get_table_names())
    assert not names & KB_TABLES
    assert not {n for n in names if t.is_full_text_object(n)}
    assert upgrade(catalog) == ("0007", HEAD)
    assert _full_text_objects(catalog) == expected
    ingest_text(catalog, "acme", "a.md", "# A\n\nrefund policy", by="t")
    assert [h.chunk.text for h in LexicalRetriever(catalog).search("acme", "refunds")] == [
        "refund policy"
    ]


def test_the_full_text_filter_names_only_its_objects() -> None:
    assert t.is_full_text_object("kb_fts_data")
    assert t.is_full_text_object("ix_kb_fts")
    assert not t.is_full_text_object("kb_chunks")
    assert not t.is_full_text_object(None)
    assert not {name for name in t.metadata.tables if t.is_full_text_object(name)}

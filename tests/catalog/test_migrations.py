"""Migrations: the scripts produce exactly the tables module, on both back ends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from clearance.catalog import tables
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.migrate import _SCRIPTS, HEAD, current_revision, upgrade


def test_head_constant_matches_the_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == HEAD
    # linear history: one head, each revision has at most one parent
    assert len(script.get_heads()) == 1


def test_migrated_schema_equals_the_tables_module(catalog: Catalog) -> None:
    with catalog.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, tables.metadata)
        assert differences == []
        assert current_revision(connection) == HEAD
        names = set(inspect(connection).get_table_names())
    assert set(tables.metadata.tables) <= names


def test_upgrade_is_idempotent(catalog_url: str) -> None:
    catalog = open_catalog(catalog_url)
    before, after = upgrade(catalog)
    assert before == after == HEAD
    catalog.dispose()


def test_first_use_migrates_an_empty_database(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite:///{tmp_path / 'new' / 'c.db'}")
    with catalog.connect() as connection:
        assert current_revision(connection) is None
    catalog.ensure_schema()
    with catalog.connect() as connection:
        assert current_revision(connection) == HEAD
        assert connection.execute(text("SELECT count(*) FROM models")).scalar() == 0
    catalog.dispose()


def test_two_processes_migrating_one_new_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    code = (
        "import sys; from clearance.catalog.database import open_catalog; "
        "open_catalog(sys.argv[1]).dispose()"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr.decode()
    catalog = Catalog(url)
    with catalog.connect() as connection:
        assert current_revision(connection) == HEAD
    catalog.dispose()

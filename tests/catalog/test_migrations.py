"""Migrations: the scripts produce exactly the tables module, on both back ends."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from clearance.catalog import tables
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.migrate import _SCRIPTS, HEAD, current_revision, upgrade
from clearance.catalog.pricestore import latest_versions
from clearance.cli import app
from tests.support.postgres import create_database, drop_database


def test_head_constant_matches_the_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == HEAD
    # linear history: one head, each revision has at most one parent
    assert len(script.get_heads()) == 1


def test_migrated_schema_equals_the_tables_module(catalog: Catalog) -> None:
    with catalog.connect() as connection:
        # the full-text index (migration 0008) is each database's own: not in tables.py
        opts = {
            "compare_type": True,
            "include_name": lambda name, _type, _parents: not tables.is_full_text_object(name),
        }
        context = MigrationContext.configure(connection, opts=opts)
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


@pytest.mark.slow
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema at all) on each back end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin, _ = request.getfixturevalue("postgres_template")
    name = f"clearance_e_{uuid.uuid4().hex[:12]}"
    url = create_database(admin, name)
    yield url
    drop_database(admin, name)


def test_db_upgrade_from_0003_keeps_prices_and_adds_the_manual_price_audit(
    empty_catalog_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old = Catalog(empty_catalog_url)
    assert upgrade(old, "0003") == (None, "0003")
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO providers (name, models_format, created_at) "
                "VALUES ('vllm', 'openai', :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO models (id, provider, name, capabilities, enabled, gate_status, "
                "pricing_status, discovered_at, last_seen_at) VALUES ('vllm:llama3', 'vllm', "
                "'llama3', '{}', false, 'ungated', 'unknown', :t, :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO prices (model_id, source, effective_at, last_confirmed_at, "
                "prompt_per_token, completion_per_token, content_hash) VALUES "
                "('vllm:llama3', 'litellm', :t, :t, '0.0000001', '0.0000002', 'h')"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
        assert "reason" not in {c["name"] for c in inspect(connection).get_columns("prices")}
    old.dispose()
    # the command a user runs on a catalog made by the previous release
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", empty_catalog_url)
    result = CliRunner().invoke(app, ["db", "upgrade"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert f"upgraded from 0003 to revision {HEAD}" in result.stdout
    catalog = Catalog(empty_catalog_url)
    with catalog.connect() as connection:
        assert current_revision(connection) == HEAD
        columns = {c["name"] for c in inspect(connection).get_columns("prices")}
        assert {"reason", "set_by", "host"} <= columns
        versions = latest_versions(connection)
    kept = versions["vllm:llama3"]["litellm"]
    assert kept.price.rates.prompt == Decimal("0.0000001")
    assert (kept.reason, kept.set_by, kept.host) == (None, None, None)
    catalog.dispose()

"""A database that is down or unreachable gives a clear error that hides the password."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog, redact_url
from clearance.errors import CatalogError, CatalogUnavailable


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_postgres_down_is_a_clear_error_without_the_password() -> None:
    url = f"postgresql+psycopg://clearance:s3cret-pw@127.0.0.1:{closed_port()}/catalog"
    with pytest.raises(CatalogUnavailable) as caught:
        open_catalog(url)
    error = caught.value
    assert "s3cret-pw" not in str(error)
    assert "***" in error.url
    assert "CLEARANCE_DATABASE_URL" in str(error)
    assert error.cause


def test_sqlite_in_an_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CatalogUnavailable, match="cannot create the folder"):
        open_catalog(f"sqlite:///{blocker}/sub/catalog.db")


def test_not_a_database_file(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogUnavailable, match="not a database"):
        open_catalog(f"sqlite:///{bogus}")


def test_unparseable_url() -> None:
    with pytest.raises(CatalogUnavailable, match="SQLAlchemy URL"):
        open_catalog("not a url")


def test_redact_url() -> None:
    assert redact_url("postgresql+psycopg://u:pw@h:5/d") == "postgresql+psycopg://u:***@h:5/d"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_value_too_long_is_not_an_outage(catalog: Catalog) -> None:
    """PostgreSQL enforces VARCHAR lengths (SQLite does not): the error says which."""
    if catalog.dialect != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    row = {"call_id": "c1", "started_at": dt.datetime.now(dt.UTC), "status": "error"}
    with pytest.raises(CatalogError) as caught, catalog.begin() as connection:
        connection.execute(insert(t.ai_calls).values(**row, error_kind="x" * 49))
    assert not isinstance(caught.value, CatalogUnavailable)
    assert "refused a value: value too long" in caught.value.message
    assert "tables.py" in (caught.value.fix or "")

"""Migration 0007: the index of ``ai_calls`` by served model holds the window's columns.

On both back ends: a catalog at 0006 with calls upgrades to ``ix_ai_calls_served_model_window``
(the old two-column index gone, the calls kept), the SLO queries read that index alone on
SQLite, and downgrading gives the two-column index back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, inspect, select, text

from clearance.catalog import callstats
from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.migrate import _SCRIPTS, HEAD, upgrade
from clearance.slo import CallFilter
from tests.support.postgres import create_database, drop_database

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema at all) on each back end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin, _ = request.getfixturevalue("postgres_template")
    name = f"clearance_w_{uuid.uuid4().hex[:12]}"
    url = create_database(admin, name)
    yield url
    drop_database(admin, name)


def _indexes(catalog: Catalog) -> dict[str, list[str | None]]:
    with catalog.connect() as connection:
        return {
            str(index["name"]): list(index["column_names"])
            for index in inspect(connection).get_indexes("ai_calls")
        }


def _downgrade(catalog: Catalog, revision: str) -> None:
    with catalog.connect() as connection:
        config = Config()
        config.set_main_option("script_location", str(_SCRIPTS))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()


def test_0007_widens_the_served_model_index_and_back(empty_url: str) -> None:
    catalog = Catalog(empty_url)
    assert upgrade(catalog, "0006") == (None, "0006")
    calls = [
        {
            "call_id": f"c{number}",
            "started_at": T0 + dt.timedelta(minutes=number),
            "status": "ok",
            "requested_model": "p:a",
            "served_model": "p:a",
            "latency_ms": 100.0 + number,
            "tool_calls": 0,
            "tool_calls_valid": 0,
            "escalated": False,
        }
        for number in range(10)
    ]
    with catalog.begin() as connection:
        connection.execute(insert(t.ai_calls), calls)
    assert _indexes(catalog)["ix_ai_calls_served_model_started_at"] == [
        "served_model",
        "started_at",
    ]
    assert upgrade(catalog) == ("0006", HEAD)
    indexes = _indexes(catalog)
    assert "ix_ai_calls_served_model_started_at" not in indexes
    assert indexes["ix_ai_calls_served_model_window"] == list(t.CALL_WINDOW_COLUMNS)
    window = CallFilter(T0, T0 + dt.timedelta(hours=1))
    with catalog.connect() as connection:
        (totals,) = callstats.window_totals(connection, window, ("model",), (0.5,))
        assert (totals.model, totals.calls, totals.percentiles) == ("p:a", 10, (104.5,))
        if connection.dialect.name == "sqlite":
            one = select(t.ai_calls.c.cost).where(
                *callstats.where_window(window), t.ai_calls.c.served_model == "p:a"
            )
            compiled = one.compile(connection, compile_kwargs={"literal_binds": True})
            plan = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            assert "COVERING INDEX ix_ai_calls_served_model_window" in str(plan)
    _downgrade(catalog, "0006")
    indexes = _indexes(catalog)
    assert "ix_ai_calls_served_model_window" not in indexes
    assert indexes["ix_ai_calls_served_model_started_at"] == ["served_model", "started_at"]
    with catalog.connect() as connection:
        assert len(connection.execute(select(t.ai_calls.c.call_id)).all()) == 10
    catalog.dispose()

"""`clearance calls replay-spill` and `calls dead-letters`: one bad row never blocks the rest."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from clearance.calllog import CallRecord, _row, _Validators, new_call_id
from clearance.catalog import tables as t
from clearance.catalog.callstore import row_to_json
from clearance.catalog.database import open_catalog
from clearance.cli import app

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect


@pytest.fixture
def cli(project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def spilled_row(**fields: Any) -> str:
    record = CallRecord(
        call_id=new_call_id(),
        started_at=dt.datetime.now(dt.UTC),
        status="ok",
        cost=Decimal("0.001"),
        **fields,
    )
    return row_to_json(_row(record, _Validators()))


def test_replay_spill_sets_the_bad_row_aside_and_dead_letters_lists_it(
    cli: Any, project: Path, catalog_url: str
) -> None:
    assert "no dead letters" in cli("calls", "dead-letters").stdout
    spill = project / ".clearance" / "spill"
    spill.mkdir(parents=True)
    lines = [spilled_row(org_id=f"org-{n}") for n in range(19)]
    lines.insert(7, spilled_row(org_id="x" * 5000))
    (spill / "ai_calls-123.jsonl").write_text("\n".join(lines) + "\n")
    replayed = cli("calls", "replay-spill")
    assert "20 rows: 19 inserted, 0 already present, 1 refused by the database" in (replayed.stdout)
    assert "clearance calls dead-letters" in replayed.stdout
    listed = cli("calls", "dead-letters").stdout
    assert "1 row(s) the database refused" in listed
    assert f"(from the spill, org {'x' * 40}… (5000 characters))" in listed
    assert "ai_calls.org_id is 5000 characters long; the column holds 128" in listed
    (letter,) = json.loads(cli("calls", "dead-letters", "--json").stdout)
    assert (letter["source"], letter["row"]["org_id"]) == ("spill", "x" * 5000)
    assert letter["row"]["cost"] == "0.001"
    catalog = open_catalog(catalog_url)
    with catalog.connect() as connection:
        stored = connection.execute(select(t.ai_calls.c.org_id)).scalars().all()
    catalog.dispose()
    assert sorted(stored) == sorted(f"org-{n}" for n in range(19))
    again = json.loads(cli("calls", "replay-spill", "--json").stdout)
    assert (again["rows"], again["inserted"], again["dead_letters"]) == (0, 0, 0)


def test_call_refuses_a_too_long_org_with_exit_2(cli: Any) -> None:
    refused = cli(
        "call", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--message", "hi",
        "--org", "o" * 129, code=2,
    )  # fmt: skip
    assert "org 'oooo" in refused.stderr
    assert "129 characters long" in refused.stderr

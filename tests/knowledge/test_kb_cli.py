"""``clearance kb ingest | search | stats | delete`` in-process against a real catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from clearance.catalog import kbstore
from clearance.catalog.database import open_catalog
from clearance.cli import app

# Above the store: tests/knowledge/test_kbstore.py runs its SQL on PostgreSQL.
pytestmark = pytest.mark.any_dialect


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog_url: str) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    root = tmp_path / "docs"
    root.mkdir()
    (root / "billing.md").write_text(
        "# Billing\n\n## Refunds\n\nA refund reaches the card within five days."
    )
    (root / "about.txt").write_text("We ship from Rotterdam.")
    return root


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["kb", *args], catch_exceptions=False)


def test_ingest_search_stats_delete(kb: Path, catalog_url: str) -> None:
    first = _run("ingest", "acme", str(kb), "--tags", "help,public", "--by", "ana")
    assert first.exit_code == 0, first.stderr
    assert "ingested  billing.md  (1 chunks" in first.stdout
    assert "2 document(s): 2 ingested, 0 replaced, 0 unchanged" in first.stdout
    (kb / "about.txt").write_text("We ship from Rotterdam and Osaka.")
    second = json.loads(_run("ingest", "acme", str(kb), "--tags", "help,public", "--json").stdout)
    assert {d["document_id"]: d["status"] for d in second} == {
        "about.txt": "replaced",
        "billing.md": "unchanged",
    }

    found = _run("search", "acme", "how long does a refund take?")
    assert found.exit_code == 0
    assert "1. billing.md #0 — Billing > Refunds [help, public]" in found.stdout
    hits = json.loads(_run("search", "acme", "osaka", "--k", "3", "--json").stdout)
    assert [(h["document_id"], h["rank"]) for h in hits] == [("about.txt", 1)]
    assert json.loads(_run("search", "acme", "osaka", "--tags", "nope", "--json").stdout) == []
    assert "no hit" in _run("search", "other-org", "refund").stdout

    table = _run("stats")
    assert "acme" in table.stdout
    assert "help (2), public (2)" in table.stdout
    [stats] = json.loads(_run("stats", "acme", "--json").stdout)
    assert (stats["documents"], stats["chunks"], stats["tags"]) == (2, 2, {"help": 2, "public": 2})

    removed = _run("delete", "acme", "--document", "about.txt", "--by", "bo")
    assert removed.exit_code == 0
    assert "deleted 1 document(s), 1 chunk(s)" in removed.stdout
    by_tag = json.loads(_run("delete", "acme", "--tag", "public", "--json").stdout)
    assert by_tag == {"org_id": "acme", "documents": 1, "chunks": 1}
    catalog = open_catalog(catalog_url)
    actions = [(r.action, r.actor) for r in kbstore.audit_rows(catalog, "acme")]
    catalog.dispose()
    assert actions[:3] == [("ingest", "ana"), ("ingest", "ana"), ("replace", actions[2][1])]
    assert ("delete", "bo") in actions


def test_errors_name_the_fix(kb: Path) -> None:
    missing = _run("delete", "acme", "--document", "nope.md")
    assert missing.exit_code == 2
    assert "no document 'nope.md'" in missing.stderr
    assert "fix:" in missing.stderr
    both = _run("delete", "acme")
    assert both.exit_code == 2
    assert "--document ID" in both.stderr
    unknown = _run("ingest", "acme", str(kb / "x.pdf"))
    assert unknown.exit_code == 2
    assert "no such file" in unknown.stderr
    assert _run("search", "acme", "x", "--k", "0").exit_code == 2
    assert "no knowledge base for org acme" in _run("stats", "acme").stdout

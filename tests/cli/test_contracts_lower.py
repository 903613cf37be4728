"""`clearance contracts lower` and `contracts lint`: what each provider is sent, and what is left.

`lower` reports, per contract and provider, what lowering dropped or changed (a table,
or JSON for scripts) and exits 1 when a provider would still refuse a lowered schema;
`lint` lints the schemas as sent unless told `--as-written`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from clearance.cli import app

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "contracts"


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The starter suite, plus a tool whose parameter name Gemini refuses."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "contracts"
    shutil.copytree(SHIPPED, root, ignore=shutil.ignore_patterns("bfcl"))
    path = root / "tools" / "tag_contact" / "1.0.0.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        """\
name: tag_contact
version: 1.0.0
description: Tag a contact.
criticality: standard
input_schema:
  type: object
  properties:
    contact-id: {type: string, format: uuid}
    score: {type: number, exclusiveMinimum: 0}
  required: [contact-id]
output_schema: {type: object}
"""
    )
    return root


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["contracts", *args])


def test_lower_lists_each_loss_per_contract_and_provider_as_json(suite: Path) -> None:
    result = run("lower", "create_contact", "--root", str(suite), "--provider", "gemini", "--json")
    assert result.exit_code == 0, result.stdout
    (report,) = json.loads(result.stdout)
    assert (report["contract"], report["profile"], report["protocol"]) == (
        "create_contact@1.0.0",
        "gemini",
        "gemini",
    )
    assert [(loss["path"], loss["keyword"], loss["action"]) for loss in report["losses"]] == [
        ("/properties/email", "format", "dropped"),
        ("", "additionalProperties", "dropped"),
    ]
    assert all(loss["loosens"] and loss["detail"] for loss in report["losses"])
    assert report["refused"] == []
    assert "schema" not in report


def test_lower_shows_the_schema_sent_and_every_provider_by_default(suite: Path) -> None:
    result = run("lower", "create_contact@1.0.0", "--root", str(suite), "--json", "--schema")
    assert result.exit_code == 0, result.stdout
    reports = {r["profile"]: r for r in json.loads(result.stdout)}
    assert list(reports) == ["openai-strict", "gemini", "anthropic"]
    assert reports["openai-strict"]["strict"] is True
    assert reports["anthropic"]["losses"] == []
    sent = reports["gemini"]["schema"]["properties"]["email"]
    assert "format" not in sent
    assert sent["pattern"]  # Gemini still gets the pattern


def test_lower_exits_1_when_a_provider_still_refuses_what_lowering_cannot_fix(
    suite: Path,
) -> None:
    result = run("lower", "tag_contact", "--root", str(suite), "--provider", "gemini")
    assert result.exit_code == 1, result.stdout
    text = " ".join(result.stdout.split())  # the table wraps its cells
    assert "exclusiveMinimum" in text
    assert "uuid" in text
    assert "refused tag_contact@1.0.0 [gemini] /input_schema/properties/contact-id" in text
    assert "1 contracts for gemini: 2 losses (2 a model can use" in text
    assert "1 refusals lowering cannot fix" in text


def test_lower_names_an_unknown_contract_or_profile(suite: Path) -> None:
    unknown = run("lower", "create_contcat", "--root", str(suite))
    assert unknown.exit_code == 2
    assert "create_contact" in unknown.stdout + unknown.stderr
    bad = run("lower", "--root", str(suite), "--provider", "gemni")
    assert bad.exit_code == 2
    assert "unknown profile(s) gemni" in bad.stdout + bad.stderr


def test_lint_lints_what_is_sent_unless_asked_for_the_schema_as_written(suite: Path) -> None:
    sent = run("lint", "--root", str(suite), "--json")
    assert sent.exit_code == 1  # Gemini refuses the parameter name however it is sent
    assert {(f["contract"], f["rule"]) for f in json.loads(sent.stdout)} == {
        ("tag_contact@1.0.0", "gemini/parameter-name")
    }
    written = run("lint", "--root", str(suite), "--json", "--as-written")
    rules = {f["rule"] for f in json.loads(written.stdout)}
    assert {"gemini/format", "gemini/unknown-field", "openai-strict/all-required"} <= rules
    text = run("lint", "--root", str(suite), "--profile", "anthropic")
    assert text.exit_code == 0
    assert text.stdout.strip().endswith("0 findings, each schema as sent (lowered)")

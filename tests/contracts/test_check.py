"""`contracts check`: the shipped suites pass, and each kind of mistake is caught."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.cli import app
from clearance.contracts.check import build_lock, check_contracts
from clearance.contracts.lock import read_lock, write_lock
from clearance.errors import ContractError

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "contracts"
BFCL = SHIPPED / "bfcl"


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A copy of the shipped starter suite (without the BFCL import), with its lock."""
    root = tmp_path / "contracts"
    shutil.copytree(SHIPPED, root, ignore=shutil.ignore_patterns("bfcl"))
    return root


def codes(root: Path, **kwargs: object) -> list[tuple[str, str]]:
    report = check_contracts(root, probe=False, **kwargs)  # type: ignore[arg-type]
    return [(f.code, f.subject) for f in report.findings if f.severity == "error"]


def edit(path: Path, change: dict[str, object]) -> None:
    document = yaml.safe_load(path.read_text())
    document.update(change)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_the_shipped_starter_suite_passes_with_its_lock() -> None:
    report = check_contracts(SHIPPED, probe=True)
    assert report.ok, [f for f in report.findings if f.severity == "error"]
    assert report.contracts >= 12
    assert report.flows >= 10
    assert build_lock(SHIPPED).to_json() == (SHIPPED / "contracts.lock").read_text()


def test_the_shipped_bfcl_import_passes_with_its_lock() -> None:
    report = check_contracts(BFCL, probe=False)
    assert report.ok, [f for f in report.findings if f.severity == "error"][:5]
    assert report.contracts > 1000
    assert report.flows == 800


def test_a_contract_changed_in_place_fails(suite: Path) -> None:
    edit(suite / "tools/get_contact/1.0.0.yaml", {"description": "Fetch one contact (edited)."})
    assert ("changed_without_bump", "get_contact@1.0.0") in codes(suite)


def test_a_breaking_change_with_a_minor_bump_fails(suite: Path) -> None:
    source = suite / "tools/search_contacts/1.1.0.yaml"
    target = suite / "tools/search_contacts/1.2.0.yaml"
    document = yaml.safe_load(source.read_text())
    document["version"] = "1.2.0"
    document["input_schema"]["required"] = [*document["input_schema"].get("required", []), "limit"]
    document["examples"] = {"valid": [], "invalid": []}
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    report = check_contracts(suite, probe=False)
    (finding,) = [f for f in report.findings if f.code == "bump_too_small"]
    assert finding.subject == "search_contacts@1.2.0"
    assert "needs a major bump" in finding.message or "need a major bump" in finding.message
    assert "renumber" in (finding.fix or "")


def test_a_new_file_or_a_deleted_one_makes_the_lock_stale(suite: Path) -> None:
    shutil.copy(suite / "flows/case_create_task.yaml", suite / "flows/case_create_task_2.yaml")
    edit(suite / "flows/case_create_task_2.yaml", {"id": "case_create_task_2"})
    assert ("lock_stale", "case_create_task_2") in codes(suite)
    (suite / "flows/case_create_task_2.yaml").unlink()
    shutil.rmtree(suite / "tools/cancel_event")
    for flow in list((suite / "flows").glob("*.yaml")):
        if "cancel_event" in flow.read_text():
            flow.unlink()
    found = codes(suite)
    assert any(
        code == "lock_stale" and subject.startswith("cancel_event@") for code, subject in found
    )


def test_a_flow_any_model_passes_is_reported_broken(suite: Path) -> None:
    (suite / "flows/too_loose.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "too_loose",
                "description": "Anything goes",
                "kind": "case",
                "tools": ["get_contact@1.0.0"],
                "user": "Show me a contact.",
                "steps": [
                    {
                        "expect": {
                            "calls": [
                                {
                                    "tool": "get_contact",
                                    "args": {"contact_id": {"$any": True}},
                                    "allow_extra_args": True,
                                }
                            ]
                        }
                    }
                ],
            }
        )
    )
    write_lock(suite, build_lock(suite))
    report = check_contracts(suite, probe=False)
    (broken,) = [f for f in report.findings if f.code == "flow_broken"]
    assert broken.subject == "too_loose"
    assert "calls_every_tool" in broken.message


def test_an_invalid_file_is_an_error_and_the_lock_is_not_written(suite: Path) -> None:
    edit(suite / "tools/get_contact/1.0.0.yaml", {"criticality": "very"})
    assert any(code == "invalid_file" for code, _ in codes(suite))
    with pytest.raises(ContractError):
        build_lock(suite)


def _offer_a_missing_tool(suite: Path) -> tuple[Path, int]:
    """Add ``ship_order@1.0.0`` (no such contract) to a flow's tools; its file and line."""
    flow = suite / "flows" / "case_create_task.yaml"
    lines = flow.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("tools:")) + 1
    lines.insert(at, "  - ship_order@1.0.0\n")
    flow.write_text("".join(lines))
    return flow, at + 1


@pytest.mark.parametrize("cached", [False, True])
def test_a_flow_naming_a_tool_with_no_contract_is_refused_by_file_and_line(
    suite: Path, tmp_path: Path, cached: bool
) -> None:
    """Before and after a lock alike: the flow's file, the line, and the missing tool."""
    flow, line = _offer_a_missing_tool(suite)
    cache = tmp_path / "cache" if cached else None
    with pytest.raises(ContractError) as refused:
        build_lock(suite)
    assert (refused.value.path, refused.value.line) == (str(flow), line)
    assert "no contract for tool ship_order@1.0.0" in refused.value.message
    before = check_contracts(suite, probe=False, cache_dir=cache)
    invalid = [f for f in before.findings if f.code == "invalid_file"]
    assert [f.subject for f in invalid] == [str(flow)]
    assert f"{flow}:{line} at /tools/" in invalid[0].message
    # the flow file exists: it is invalid, not missing from the lock's point of view
    assert ("lock_stale", "case_create_task") not in codes(suite, cache_dir=cache)
    write_lock(suite, read_lock(suite))  # a lock written by an older, laxer clearance
    after = check_contracts(suite, probe=False, cache_dir=cache)
    assert [(f.code, f.message) for f in after.findings if f.severity == "error"] == [
        (f.code, f.message) for f in before.findings if f.severity == "error"
    ]
    result = CliRunner().invoke(app, ["contracts", "lock", "--root", str(suite)])
    assert result.exit_code == 2
    assert f"{flow}:{line}" in result.stderr


def test_no_lock(suite: Path) -> None:
    (suite / "contracts.lock").unlink()
    assert [c for c, _ in codes(suite)] == ["lock_missing"]
    assert read_lock(suite) is None


def test_stale_results_and_decisions_are_reported(suite: Path, catalog: Catalog) -> None:
    now = dt.datetime.now(dt.UTC)
    with catalog.begin() as connection:
        connection.execute(
            t.eval_runs.insert().values(
                id="run-1", started_at=now, status="complete", models=["m"], trials=1
            )
        )
        for number, version in enumerate(("1.0.0", "1.0.0", "2.0.0")):
            connection.execute(
                t.eval_results.insert().values(
                    run_id="run-1",
                    model_id="m",
                    case_id=f"case-{number}",
                    case_kind="contract",
                    tool="create_event",
                    contract_version=version,
                    trial=0,
                    verdict="pass",
                    created_at=now,
                )
            )
        connection.execute(
            t.gate_decisions.insert().values(
                model_id="m",
                decision="enable",
                override=False,
                decided_by="gate",
                decided_at=now,
                contract_versions={"create_event": "1.0.0", "get_contact": "1.0.0"},
            )
        )
    report = check_contracts(suite, probe=False, catalog=catalog)
    assert report.stale_results == {"create_event@1.0.0": 2}
    (decision,) = report.stale_decisions
    assert decision["stale_contracts"] == {"create_event": "1.0.0"}


def test_cli_check_diff_and_lock(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.chdir(tmp_path)  # the project root, where .clearance/cache/ is kept
    runner = CliRunner()
    ok = runner.invoke(app, ["contracts", "check", "--root", str(suite), "--no-probe", "--json"])
    assert ok.exit_code == 0, ok.stdout
    assert json.loads(ok.stdout)["ok"] is True
    diff = runner.invoke(
        app,
        [
            "contracts",
            "diff",
            "create_event",
            "1.0.0",
            "2.0.0",
            "--root",
            str(suite),
            "--no-probe",
            "--json",
        ],
    )
    assert diff.exit_code == 0, diff.stdout
    document = json.loads(diff.stdout)
    assert (document["required_bump"], document["actual_bump"]) == ("major", "major")
    assert any(c["breaking"] for c in document["changes"])
    edit(suite / "tools/get_contact/1.0.0.yaml", {"description": "Changed in place."})
    failed = runner.invoke(app, ["contracts", "check", "--root", str(suite), "--no-probe"])
    assert failed.exit_code == 1
    assert "changed_without_bump" in failed.stdout
    assert "fix:" in failed.stdout
    relocked = runner.invoke(app, ["contracts", "lock", "--root", str(suite)])
    assert relocked.exit_code == 0
    assert "19 tool versions" in relocked.stdout

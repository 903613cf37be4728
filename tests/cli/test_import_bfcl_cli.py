"""`clearance contracts import-bfcl`: every category of a BFCL folder, with what it skipped
and every ground truth its declaration refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from clearance.cli import app
from clearance.flows import read_scoring_profile

BFCL = Path(__file__).resolve().parents[1] / "data" / "realdata" / "bfcl"


def _folder(tmp_path: Path) -> Path:
    """A BFCL folder: the two relevance categories, parallel (with its answers), multi-turn."""
    folder = tmp_path / "bfcl-data"
    (folder / "possible_answer").mkdir(parents=True)
    for name in ("irrelevance", "live_relevance", "parallel", "multi_turn_base"):
        shutil.copy(BFCL / f"BFCL_v4_{name}.json", folder)
    for name in ("parallel", "multi_turn_base"):
        shutil.copy(BFCL / "possible_answer" / f"BFCL_v4_{name}.json", folder / "possible_answer")
    return folder


def test_every_category_imports_and_multi_turn_is_skipped_with_why(tmp_path: Path) -> None:
    out = tmp_path / "contracts" / "bfcl"
    result = CliRunner().invoke(
        app,
        ["contracts", "import-bfcl", str(_folder(tmp_path)), "--out", str(out), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["by_category"] == {"parallel": 200, "irrelevance": 240, "live_relevance": 16}
    assert report["scoring"] == "bfcl"
    assert read_scoring_profile(out) == "bfcl"
    assert "bfcl-eval" in report["skipped"]["multi_turn_base"]
    conflicts = {(c["case"], c["parameter"], c["kind"]) for c in report["conflicts"]}
    assert ("parallel_152", "mod", "schema") in conflicts


def test_the_human_report_names_the_profile_and_the_conflicts(tmp_path: Path) -> None:
    out = tmp_path / "bfcl"
    result = CliRunner().invoke(
        app,
        ["contracts", "import-bfcl", str(_folder(tmp_path)), "--out", str(out),
         "--category", "parallel,irrelevance"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    text = " ".join(result.stdout.split())
    assert "imported 440 cases (parallel 200, irrelevance 240)" in text
    assert "judged by the bfcl scoring profile" in text
    assert "parallel_152 math.power.mod (schema)" in text
    assert "skipped" not in text  # a category list given: nothing else is looked at

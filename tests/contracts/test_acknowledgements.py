"""Lint findings acknowledged by design in ``lint-acknowledgements.yaml``."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearance.cli import app
from clearance.contracts.acknowledgements import (
    ACKNOWLEDGEMENTS_FILE,
    Acknowledgement,
    read_acknowledgements,
)
from clearance.contracts.check import check_contracts
from clearance.contracts.lint import LintFinding, lint_contracts
from clearance.contracts.loader import load_contracts
from clearance.errors import ContractError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "contracts"
PROFILES = ("openai-strict", "gemini", "anthropic")


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A copy of the shipped starter suite (without the BFCL import), with its lock."""
    root = tmp_path / "contracts"
    shutil.copytree(SHIPPED, root, ignore=shutil.ignore_patterns("bfcl"))
    return root


def write(root: Path, text: str) -> Path:
    path = root / ACKNOWLEDGEMENTS_FILE
    path.write_text(textwrap.dedent(text))
    return path


def finding(
    rule: str, key: str = "send_email@1.0.0", pointer: str = "/input_schema"
) -> LintFinding:
    profile = rule.split("/")[0]
    return LintFinding(key, profile, "warning", pointer, "m", "f", rule)


def test_the_shipped_starter_suite_has_no_unacknowledged_lint_finding() -> None:
    report = check_contracts(SHIPPED, lint_profiles=PROFILES, probe=False)
    lint = [f for f in report.findings if f.code == "lint"]
    assert len(lint) >= 80
    assert report.warnings == []
    assert report.acknowledged == lint
    assert all(f.acknowledgement and f.rule for f in lint)


def test_the_shipped_bfcl_import_acknowledges_only_what_cannot_fail_a_request() -> None:
    acknowledged = {a.rule for a in read_acknowledgements(SHIPPED / "bfcl")}
    assert acknowledged == {"openai-strict/additional-properties", "openai-strict/all-required"}


def test_every_acknowledged_gemini_format_has_a_pattern_gemini_takes() -> None:
    """The reason the starter suite gives for gemini/format holds for every finding."""
    contracts = load_contracts(SHIPPED)
    formats = [f for f in lint_contracts(contracts, ("gemini",)) if f.rule == "gemini/format"]
    assert formats
    for found in formats:
        node: object = {"input_schema": contracts.resolve(found.contract_key).input_schema}
        for token in found.pointer.strip("/").split("/")[:-1]:
            assert isinstance(node, dict)
            node = node[token]
        assert isinstance(node, dict)
        assert "pattern" in node, found


def test_an_acknowledgement_covers_its_rule_tools_and_pointers(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        acknowledge:
          gemini:
            - rule: gemini/format
              tools: [send_email, "create_*@1.0.0"]
              pointers: ["*/email/format"]
              reason: >-
                  a pattern
                  says it
        """,
    )
    (ack,) = read_acknowledgements(tmp_path)
    assert isinstance(ack, Acknowledgement)
    assert (ack.profile, ack.rule, ack.reason) == ("gemini", "gemini/format", "a pattern says it")
    assert ack.where.endswith(f"{ACKNOWLEDGEMENTS_FILE}#/acknowledge/gemini/0")
    email = "/input_schema/properties/email/format"
    assert ack.covers(finding("gemini/format", "send_email@2.0.0", email))
    assert ack.covers(finding("gemini/format", "create_contact@1.0.0", email))
    assert not ack.covers(finding("gemini/format", "create_contact@2.0.0", email))
    assert not ack.covers(finding("gemini/format", "send_email@1.0.0", "/input_schema/x/format"))
    assert not ack.covers(finding("gemini/additional-properties", "send_email@1.0.0", email))


def test_no_file_or_a_blank_one_acknowledges_nothing(tmp_path: Path) -> None:
    assert read_acknowledgements(tmp_path) == ()
    write(tmp_path, "# nothing yet\n")
    assert read_acknowledgements(tmp_path) == ()


@pytest.mark.parametrize(
    ("text", "pointer", "words"),
    [
        ("acknowledge:\n  gemni: []\n", "/acknowledge/gemni", "did you mean 'gemini'"),
        (
            "acknowledge:\n  gemini:\n    - {rule: openai-strict/format, reason: r}\n",
            "/acknowledge/gemini/0/rule",
            "did you mean 'gemini/format'",
        ),
        (
            "acknowledge:\n  gemini:\n    - {rule: gemini/format}\n",
            "/acknowledge/gemini/0",
            "say in reason:",
        ),
        (
            "acknowledge:\n  gemini:\n    - {rule: gemini/format, reason: r, tool: [a]}\n",
            "/acknowledge/gemini/0/tool",
            "did you mean 'tools'",
        ),
        (
            "acknowledge:\n  gemini:\n    - {rule: gemini/format, reason: r, tools: a}\n",
            "/acknowledge/gemini/0/tools",
            "non-empty list of strings",
        ),
        ("acknowledged: {}\n", "/acknowledged", "one key, acknowledge"),
    ],
)
def test_a_wrong_file_names_the_line_the_pointer_and_the_fix(
    tmp_path: Path, text: str, pointer: str, words: str
) -> None:
    write(tmp_path, text)
    with pytest.raises(ContractError) as raised:
        read_acknowledgements(tmp_path)
    error = raised.value
    assert error.pointer == pointer
    assert error.line is not None
    assert words in f"{error.message} {error.fix}"


def test_check_reports_a_wrong_file_as_an_error(suite: Path) -> None:
    write(suite, "acknowledge:\n  gemni: []\n")
    report = check_contracts(suite, lint_profiles=PROFILES, probe=False)
    (error,) = report.errors
    assert error.code == "invalid_file"
    assert error.subject.endswith(ACKNOWLEDGEMENTS_FILE)
    assert len(report.warnings) >= 80  # nothing acknowledged


def test_an_acknowledgement_that_matches_nothing_is_a_warning(suite: Path) -> None:
    path = suite / ACKNOWLEDGEMENTS_FILE
    path.write_text(
        path.read_text()
        + "  anthropic:\n    - {rule: anthropic/remote-ref, reason: none are remote}\n"
    )
    report = check_contracts(suite, lint_profiles=PROFILES, probe=False)
    (unused,) = report.warnings
    assert unused.code == "acknowledgement_unused"
    assert unused.subject.endswith("#/acknowledge/anthropic/0")
    assert "remove it" in (unused.fix or "")
    # a profile that is not linted is not judged
    assert check_contracts(suite, lint_profiles=("gemini",), probe=False).warnings == []


def test_the_cli_groups_warnings_by_rule_and_verbose_lists_them_all(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (suite / ACKNOWLEDGEMENTS_FILE).unlink()
    runner = CliRunner()
    args = ["contracts", "check", "--root", str(suite), "--no-probe", "--no-stale"]
    grouped = runner.invoke(app, args)
    assert grouped.exit_code == 0, grouped.stdout
    lines = grouped.stdout.splitlines()
    warnings = [line for line in lines if line.startswith("warning")]
    rules = {"all-required", "undocumented-keyword", "additional-properties", "format"}
    assert len(warnings) == len(rules)  # one line per rule
    assert any("[lint gemini/format] 14 findings in 11 contracts, e.g. " in w for w in warnings)
    assert "(--verbose lists every warning)" in lines
    assert lines[-1].endswith("0 errors, 86 warnings")

    verbose = runner.invoke(app, [*args, "--verbose"])
    assert len([line for line in verbose.stdout.splitlines() if line.startswith("warning")]) == 86


def test_the_cli_counts_acknowledged_findings_and_json_keeps_them(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["contracts", "check", "--root", str(suite), "--no-probe", "--no-stale"]
    quiet = runner.invoke(app, args)
    assert quiet.exit_code == 0, quiet.stdout
    assert quiet.stdout.splitlines()[:-1] == []
    assert quiet.stdout.splitlines()[-1].endswith("0 errors, 0 warnings, 86 acknowledged by design")

    verbose = runner.invoke(app, [*args, "-v"]).stdout.splitlines()
    headers = [line for line in verbose if line.startswith("acknowledged")]
    assert len(headers) == 4
    assert any(line.startswith("acknowledged [gemini/format] 14 findings: ") for line in headers)
    assert len([line for line in verbose if line.startswith("    ")]) == 86

    document = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert (document["errors"], document["warnings"], document["acknowledged"]) == (0, 0, 86)
    lint = [f for f in document["findings"] if f["code"] == "lint"]
    assert len(lint) == 86
    assert all(f["acknowledged"] and f["acknowledgement"] and f["rule"] for f in lint)
    assert {f["pointer"].split("/")[1] for f in lint} == {"input_schema"}

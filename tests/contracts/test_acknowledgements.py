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
from clearance.contracts.check import build_lock, check_contracts
from clearance.contracts.lint import LintFinding, lint_contracts
from clearance.contracts.loader import load_contracts
from clearance.contracts.lock import write_lock
from clearance.contracts.lowered import lower_contracts
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


# Two tools whose parameter names Gemini refuses: lowering cannot rename a parameter, so
# the lint of the schema as sent keeps them (4 findings of one rule in 2 contracts).
BAD_NAMES = """\
name: {name}
version: 1.0.0
description: A tool whose parameter names Gemini refuses.
criticality: standard
input_schema:
  type: object
  properties:
    first-name: {{type: string}}
    last.name: {{type: string}}
  required: [first-name]
  additionalProperties: false
output_schema: {{type: object}}
"""


def with_bad_names(root: Path) -> Path:
    """``root`` with two tools Gemini refuses as sent, and its lock rewritten."""
    for name in ("tag_contact", "untag_contact"):
        path = root / "tools" / name / "1.0.0.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(BAD_NAMES.format(name=name))
    write_lock(root, build_lock(root))
    return root


def test_the_shipped_starter_suite_is_sent_with_no_lint_finding_and_its_losses_as_facts() -> None:
    report = check_contracts(SHIPPED, lint_profiles=PROFILES, probe=False)
    assert [f for f in report.findings if f.code == "lint"] == []
    assert report.warnings == []
    assert report.acknowledged == []
    assert read_acknowledgements(SHIPPED) == ()  # the file is comments only
    # the former lint warnings are now facts about what is sent
    lost = {(r.profile, loss.keyword) for r in report.lowering for loss in r.lowered.losses}
    assert lost == {
        ("openai-strict", "type"),  # optional arguments sent required and nullable
        ("openai-strict", "minLength"),
        ("openai-strict", "maxLength"),
        ("openai-strict", "minProperties"),
        ("gemini", "additionalProperties"),
        ("gemini", "format"),
    }
    assert all(r.profile != "anthropic" for r in report.lowering)


def test_the_shipped_bfcl_import_needs_no_acknowledgement_once_lowered() -> None:
    assert read_acknowledgements(SHIPPED / "bfcl") == ()
    assert lint_contracts(load_contracts(SHIPPED / "bfcl"), PROFILES, as_sent=True) == []


def test_every_format_gemini_is_not_sent_has_a_pattern_gemini_takes() -> None:
    """What the starter suite's acknowledgements file says of the gemini losses holds."""
    contracts = load_contracts(SHIPPED)
    formats = [
        (report.contract_key, loss)
        for report in lower_contracts(contracts, ("gemini",))
        for loss in report.lowered.losses
        if loss.keyword == "format"
    ]
    assert len(formats) == 14
    for key, loss in formats:
        node: object = contracts.resolve(key).input_schema
        for token in loss.path.strip("/").split("/"):
            assert isinstance(node, dict)
            node = node[token]
        assert isinstance(node, dict)
        assert "pattern" in node, (key, loss)
        # ...and Gemini is sent the pattern, with the format said in the description
        sent = next(
            r.lowered.schema for r in lower_contracts([contracts.resolve(key)], ("gemini",))
        )
        for token in loss.path.strip("/").split("/"):
            sent = sent[token]
        assert sent["pattern"] == node["pattern"]
        assert f"format: {node['format']}" in sent["description"].lower()


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
    write(with_bad_names(suite), "acknowledge:\n  gemni: []\n")
    report = check_contracts(suite, lint_profiles=PROFILES, probe=False)
    (error,) = report.errors
    assert error.code == "invalid_file"
    assert error.subject.endswith(ACKNOWLEDGEMENTS_FILE)
    assert len(report.warnings) == 4  # nothing acknowledged


def test_an_acknowledgement_that_matches_nothing_is_a_warning(suite: Path) -> None:
    write(
        suite,
        """
        acknowledge:
          anthropic:
            - {rule: anthropic/remote-ref, reason: none are remote}
        """,
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
    with_bad_names(suite)
    runner = CliRunner()
    args = ["contracts", "check", "--root", str(suite), "--no-probe", "--no-stale"]
    grouped = runner.invoke(app, args)
    assert grouped.exit_code == 0, grouped.stdout
    lines = grouped.stdout.splitlines()
    warnings = [line for line in lines if line.startswith("warning")]
    assert len(warnings) == 1  # one line per rule
    assert "[lint gemini/parameter-name] 4 findings in 2 contracts, e.g. " in warnings[0]
    assert "(--verbose lists every warning)" in lines
    assert lines[-1].endswith("0 errors, 4 warnings")
    # what lowering changes is stated as facts, one line per profile, not as warnings
    facts = [line for line in lines if line.startswith("lowering")]
    assert [line.split("]")[0] for line in facts] == ["lowering [openai-strict", "lowering [gemini"]
    assert "(additionalProperties 22, format 14)" in facts[1]

    verbose = runner.invoke(app, [*args, "--verbose"])
    assert len([line for line in verbose.stdout.splitlines() if line.startswith("warning")]) == 4


def test_the_cli_counts_acknowledged_findings_and_json_keeps_them(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        with_bad_names(suite),
        """
        acknowledge:
          gemini:
            - rule: gemini/parameter-name
              tools: ["*tag_contact"]
              reason: these tools are never offered to Gemini
        """,
    )
    runner = CliRunner()
    args = ["contracts", "check", "--root", str(suite), "--no-probe", "--no-stale"]
    quiet = runner.invoke(app, args)
    assert quiet.exit_code == 0, quiet.stdout
    assert [line for line in quiet.stdout.splitlines() if line.startswith("warning")] == []
    assert quiet.stdout.splitlines()[-1].endswith("0 errors, 0 warnings, 4 acknowledged by design")

    verbose = runner.invoke(app, [*args, "-v"]).stdout.splitlines()
    headers = [line for line in verbose if line.startswith("acknowledged")]
    assert headers == [
        "acknowledged [gemini/parameter-name] 4 findings: these tools are never offered to Gemini"
    ]

    document = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert (document["errors"], document["warnings"], document["acknowledged"]) == (0, 0, 4)
    lint = [f for f in document["findings"] if f["code"] == "lint"]
    assert len(lint) == 4
    assert all(f["acknowledged"] and f["acknowledgement"] and f["rule"] for f in lint)
    assert {f["pointer"] for f in lint} == {
        "/input_schema/properties/first-name",
        "/input_schema/properties/last.name",
    }
    # every loss is in the JSON, per contract and profile
    lowering = {(r["contract"], r["profile"]): r["losses"] for r in document["lowering"]}
    assert {"path": "/properties/email", "keyword": "format", "action": "dropped"}.items() <= (
        lowering[("create_contact@1.0.0", "gemini")][0].items()
    )

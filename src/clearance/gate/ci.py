"""A :class:`~clearance.gate.run.GateRun` rendered for CI: JUnit XML and a Markdown summary.

:func:`junit_xml` gives a report that GitHub, GitLab and Jenkins test reporters read:
one test suite per judged model, one test case per check, plus suites for required
models with no results and for models whose evidence went stale.
:func:`markdown_summary` gives the page GitHub shows for ``$GITHUB_STEP_SUMMARY``,
and :func:`write_ci_outputs` writes both where CI looks for them.

Model ids, case ids, details and reasons come from data and are treated as untrusted
text: the XML is built with :mod:`xml.etree.ElementTree` (so it is escaped), characters
XML 1.0 cannot hold are replaced by escapes, and the Markdown escapes every character
that could start markup or break out of a table cell or code fence.
"""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path

from clearance.gate.decide import Check
from clearance.gate.run import GateRun, ModelVerdict

__all__ = ["junit_xml", "markdown_summary", "write_ci_outputs"]

_SHOWN_CASES = 10
"""Failing case ids listed per check in the Markdown summary."""
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_MARKDOWN_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")
_ISSUES = ("fail", "inconclusive")
_DECISION_LABEL = {"enable": "✅ enable", "disable": "❌ disable", "inconclusive": "⚠️ inconclusive"}


# --- formatting ----------------------------------------------------------------------------


def _value(value: float | str | None) -> str:
    """A measured value or threshold: floats to 3 decimals, strings as they are."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:.3f}"


def _interval(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "—"
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def _hash(run: GateRun) -> str:
    digest = run.policy.source_hash
    return "none (built in code)" if digest is None else digest


def _eval_command(model_id: str) -> str:
    return f"clearance eval --models {shlex.quote(model_id)}"


def _issues(verdict: ModelVerdict) -> list[Check]:
    """The failed and inconclusive checks, in the order they were made."""
    return [check for check in verdict.result.checks if check.verdict in _ISSUES]


# --- JUnit XML -----------------------------------------------------------------------------


def _x(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold (controls, lone surrogates)
    replaced by a visible escape, so the document stays well-formed."""
    return _ILLEGAL_XML.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: _x(value) for key, value in attrs.items()})
    if text is not None:
        element.text = _x(text)
    return element


def _failure_body(check: Check, repro: Iterable[str]) -> str:
    lines = [
        f"check: {check.name} ({check.verdict})",
        f"measured: {_value(check.measured)}",
        f"interval: {_interval(check.interval)}",
        f"threshold: {_value(check.threshold)}",
        f"detail: {check.detail}",
    ]
    if check.more_trials is not None:
        lines.append(f"more trials: about {check.more_trials} would settle it")
    if check.cases:
        lines.append(f"cases ({len(check.cases)}): {', '.join(check.cases)}")
    commands = list(repro)
    if commands:
        lines.append("reproduce locally:")
        lines.extend(f"  {command}" for command in commands)
    return "\n".join(lines)


def _testcase(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return _element(suite, "testcase", classname=classname, name=name)


def _verdict_suite(root: ET.Element, verdict: ModelVerdict, run: GateRun) -> None:
    model = verdict.model_id
    suite = _element(root, "testsuite", name=f"gate: {model}")
    properties = _element(suite, "properties")
    values = {
        "decision": verdict.result.decision,
        "required": "true" if verdict.required else "false",
        "policy.name": run.policy.name,
        "policy.hash": _hash(run),
        "run_ids": ",".join(run.run_ids),
        "baseline": "none" if verdict.baseline_id is None else verdict.baseline_id,
        "decided_at": run.decided_at.isoformat(),
        "expires_at": "never" if run.expires_at is None else run.expires_at.isoformat(),
    }
    if verdict.state is not None:
        values["effective"] = f"{verdict.state.label}: {verdict.state.detail}"
    if verdict.result.snapshots:
        values["snapshots"] = json.dumps(dict(verdict.result.snapshots), ensure_ascii=False)
    for key, value in values.items():
        _element(properties, "property", name=key, value=value)
    for check in verdict.result.checks:
        case = _testcase(suite, f"clearance.gate.{model}", check.name)
        if check.verdict in ("fail", "inconclusive") and verdict.required:
            body = _failure_body(check, verdict.repro)
            _element(case, "failure", body, message=check.detail, type=check.verdict)
        elif check.verdict in ("fail", "inconclusive"):
            # A model the gate does not require cannot fail the build, so its report
            # must not turn CI red either: the check is shown, as skipped, with why.
            message = f"{check.verdict} (model not required): {check.detail}"
            _element(case, "skipped", message=message)
        elif check.verdict == "skipped":
            _element(case, "skipped", message=check.detail)


def _missing_suite(root: ET.Element, run: GateRun) -> None:
    suite = _element(root, "testsuite", name="gate: missing")
    runs = ", ".join(run.run_ids)
    for model in run.missing:
        case = _testcase(suite, "clearance.gate.missing", model)
        command = _eval_command(model)
        message = f"required model {model} has no results in run(s) {runs}; run `{command}`"
        body = f"{message}\nthen re-run `clearance gate`"
        _element(case, "failure", body, message=message, type="missing")


def _stale_suite(root: ET.Element, run: GateRun) -> None:
    suite = _element(root, "testsuite", name="gate: stale evidence")
    for model, changes in run.stale.items():
        case = _testcase(suite, "clearance.gate.stale", model)
        message = (
            f"the results of {model} were judged on contracts or flows that changed since; "
            f"re-run `{_eval_command(model)}`, then `clearance gate`"
        )
        body = "\n".join(["what changed:", *(f"  {change}" for change in changes), message])
        if model in run.optional:  # not required: reported, but it cannot turn CI red
            _element(case, "skipped", message=f"stale (model not required): {message}")
        else:
            _element(case, "failure", body, message=message, type="stale")


def _count(root: ET.Element) -> None:
    """Set ``tests``, ``failures``, ``errors`` and ``skipped`` from the elements present."""
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root.iter("testsuite"):
        counts = {
            "tests": len(suite.findall("testcase")),
            "failures": len(suite.findall("testcase/failure")),
            "errors": len(suite.findall("testcase/error")),
            "skipped": len(suite.findall("testcase/skipped")),
        }
        for key, number in counts.items():
            suite.set(key, str(number))
            totals[key] += number
    for key, number in totals.items():
        root.set(key, str(number))


def junit_xml(run: GateRun) -> str:
    """The gate run as a JUnit XML document (with its XML declaration).

    One ``<testsuite name="gate: MODEL">`` per judged model, with the decision and its
    provenance as ``<properties>`` and one ``<testcase>`` per check: a failed or
    inconclusive check (not enough evidence is not a pass) is a ``<failure>`` for a
    required model and ``<skipped>``, saying so, for one the gate does not require (so
    the report's colour agrees with the exit code); a skipped check is ``<skipped>``.
    Required models with no results and models with stale evidence each get a failing
    test case in the suites ``gate: missing`` and ``gate: stale evidence``.
    """
    root = ET.Element("testsuites", {"name": "clearance gate"})
    for verdict in run.verdicts:
        _verdict_suite(root, verdict, run)
    if run.missing:
        _missing_suite(root, run)
    if run.stale:
        _stale_suite(root, run)
    _count(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


# --- Markdown ------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Untrusted ``text`` as inert Markdown on one line: HTML and Markdown-significant
    characters escaped, line breaks turned into spaces (so it is safe in a table cell),
    other control characters shown as escapes."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _NEWLINES.sub(" ", text)
    return _MARKDOWN_CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _fenced(commands: Iterable[str], info: str = "sh") -> list[str]:
    """A fenced code block that no backtick run inside it can close."""
    lines = [line for command in commands for line in _NEWLINES.split(command)]
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *lines, fence]


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _check_lines(check: Check) -> list[str]:
    lines = [
        f"- **{_md(check.name)}** ({check.verdict}): measured {_md(_value(check.measured))}, "
        f"interval {_interval(check.interval)}, threshold {_md(_value(check.threshold))}",
        f"  - {_md(check.detail)}",
    ]
    if check.more_trials is not None:
        lines.append(f"  - about {check.more_trials} more trials would settle it")
    if check.cases:
        shown = ", ".join(_md(case) for case in check.cases[:_SHOWN_CASES])
        more = len(check.cases) - _SHOWN_CASES
        extra = f" and {more} more" if more > 0 else ""
        lines.append(f"  - failing cases: {shown}{extra}")
    return lines


def _model_section(verdict: ModelVerdict) -> list[str]:
    required = "required" if verdict.required else "not required: does not affect the exit code"
    decision = _DECISION_LABEL[verdict.result.decision]
    lines = [f"### {_md(verdict.model_id)}: {decision} ({required})", ""]
    if verdict.state is not None:
        lines += [f"Effective state: {_md(verdict.state.label)}: {_md(verdict.state.detail)}", ""]
    for check in _issues(verdict):
        lines += _check_lines(check)
    if verdict.repro:
        lines += ["", "Reproduce locally:", "", *_fenced(verdict.repro)]
    lines.append("")
    return lines


def _snapshot_section(run: GateRun) -> list[str]:
    """The model snapshots each decision was taken on (nothing when none reported one)."""
    judged = [verdict for verdict in run.verdicts if verdict.result.snapshots]
    if not judged:
        return []
    lines = ["### Model snapshots the results were taken on", ""]
    for verdict in judged:
        shown = ", ".join(
            f"{_md(name)} ({count})" for name, count in verdict.result.snapshots.items()
        )
        lines.append(f"- {_md(verdict.model_id)}: {shown}")
    return [*lines, ""]


def markdown_summary(run: GateRun) -> str:
    """The gate run as GitHub-flavoured Markdown, for ``$GITHUB_STEP_SUMMARY``.

    A heading with the result and exit code, the policy and runs, a table of the
    models, then, for each model the gate did not enable, its failed and inconclusive
    checks with the commands that reproduce them; then missing and stale models with
    their fix. All text from data is escaped with :func:`_md`.
    """
    code = run.exit_code
    outcome = "✅ clearance gate passed" if code == 0 else "❌ clearance gate failed"
    digest = run.policy.source_hash
    policy = f"{_md(run.policy.name)} ({'built in code' if digest is None else digest[:12]})"
    expires = "never" if run.expires_at is None else run.expires_at.isoformat()
    runs = ", ".join(_md(run_id) for run_id in run.run_ids) or "—"
    lines = [
        f"## {outcome} (exit code {code})",
        "",
        f"- Policy: {policy}",
        f"- Eval runs: {runs}",
        f"- Decided at: {run.decided_at.isoformat()}",
        f"- Expires: {expires}",
    ]
    if not run.written:
        lines.append("- Dry run: the decisions were not written to the catalog")
    lines.append("")
    if run.verdicts:
        lines += [
            _row("Model", "Required", "Decision", "Failing / inconclusive checks"),
            _row("---", "---", "---", "---"),
        ]
        for verdict in run.verdicts:
            issues = ", ".join(f"{_md(check.name)} ({check.verdict})" for check in _issues(verdict))
            lines.append(
                _row(
                    _md(verdict.model_id),
                    "yes" if verdict.required else "no",
                    _DECISION_LABEL[verdict.result.decision],
                    issues or "—",
                )
            )
        lines.append("")
    lines += _snapshot_section(run)
    for verdict in run.verdicts:
        if verdict.result.decision != "enable":
            lines += _model_section(verdict)
    if run.missing:
        lines += ["### Required models with no results", ""]
        lines += [f"- {_md(model)}" for model in run.missing]
        lines += ["", "Evaluate them, then gate again:", ""]
        lines += _fenced([*(_eval_command(model) for model in run.missing), "clearance gate"])
        lines.append("")
    if run.stale:
        lines += [
            "### Stale evidence",
            "",
            "These results were judged on contracts or flows that changed since; "
            "no decision was made for them.",
            "",
        ]
        for model, changes in run.stale.items():
            lines.append(f"- {_md(model)}")
            lines += [f"  - {_md(change)}" for change in changes]
        lines += ["", "Re-evaluate them, then gate again:", ""]
        lines += _fenced([*(_eval_command(model) for model in run.stale), "clearance gate"])
        lines.append("")
    return "\n".join(lines)


# --- files ---------------------------------------------------------------------------------


def write_ci_outputs(
    run: GateRun,
    *,
    junit_path: Path,
    summary_path: Path | None,
    environ: Mapping[str, str],
) -> list[Path]:
    """Write the JUnit report and the Markdown summary; return the paths written.

    Args:
        run: the gate run.
        junit_path: where the JUnit XML goes (parent folders are created).
        summary_path: where the Markdown goes (``None``: nowhere but the step summary).
        environ: the environment; when ``GITHUB_STEP_SUMMARY`` names a file, the
            Markdown is appended to it (GitHub's convention: never overwrite it).
    """
    written: list[Path] = []
    junit_path.parent.mkdir(parents=True, exist_ok=True)
    junit_path.write_text(junit_xml(run), encoding="utf-8")
    written.append(junit_path)
    summary = markdown_summary(run)
    step_name = environ.get("GITHUB_STEP_SUMMARY", "")
    step = Path(step_name) if step_name else None
    same = (
        step is not None and summary_path is not None and step.resolve() == summary_path.resolve()
    )
    if summary_path is not None and not same:
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(summary, encoding="utf-8")
        written.append(summary_path)
    if step is not None:
        separator = "\n" if step.is_file() and step.stat().st_size > 0 else ""
        with step.open("a", encoding="utf-8") as handle:
            handle.write(separator + summary)
        written.append(step)
    return written

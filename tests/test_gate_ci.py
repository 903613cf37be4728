"""CI outputs of the gate: JUnit XML, the Markdown step summary, and the files written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from clearance.gate.ci import junit_xml, markdown_summary, write_ci_outputs
from clearance.gate.decide import Check, Decision, GateResult
from clearance.gate.policy import GatePolicy
from clearance.gate.run import GateRun, ModelVerdict

HASH = "0123456789abcdef" * 4
POLICY = GatePolicy(
    version=1,
    name="ci-policy",
    criticality={"critical": {"min_lower_bound": 0.9}},  # type: ignore[arg-type]
    source_hash=HASH,
)
DECIDED = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
EXPIRES = DECIDED + dt.timedelta(days=30)

DISABLED = "openrouter:acme/disabled"
OPTIONAL = "openrouter:acme/optional"
UNSURE = "openrouter:acme/unsure"
ABSENT = "openrouter:acme/absent"
OLD = "openrouter:acme/old"
HOSTILE = 'evil<script>alert(1)</script>"|```\\|x'

FAILING_CASES = tuple(f"case-{i:02d}" for i in range(13))


def passed(name: str = "criticality.critical") -> Check:
    return Check(name, "pass", 0.95, (0.91, 0.98), 0.9, "48/50 passed ≥ 0.9")


def failed(cases: tuple[str, ...] = FAILING_CASES, detail: str = "12/24 passed < 0.9") -> Check:
    return Check("criticality.critical", "fail", 0.5, (0.4, 0.6), 0.9, detail, cases=cases)


def unsure() -> Check:
    return Check(
        "flows", "inconclusive", 0.85, (0.8, 0.93), 0.9, "bounds straddle 0.9", 40, ("flow-1",)
    )


def skipped() -> Check:
    return Check("latency.p95_ms", "skipped", None, None, None, "latency not in the policy")


def cost() -> Check:
    return Check("cost.per_successful_task", "pass", "0.0125", None, "0.02", "cheap enough")


def repro(model_id: str, cases: tuple[str, ...] = ()) -> tuple[str, ...]:
    selected = f" --cases {shlex.quote(','.join(cases))}" if cases else ""
    return (
        f"clearance eval --models {shlex.quote(model_id)}{selected} --record-mode none",
        f"clearance gate --policy ci-policy --models {shlex.quote(model_id)} --dry-run",
    )


def verdict(
    model_id: str, decision: Decision, checks: tuple[Check, ...], *, required: bool = True
) -> ModelVerdict:
    cases = tuple(sorted({case for check in checks for case in check.cases}))
    result = GateResult(model_id, decision, checks, HASH, ())
    return ModelVerdict(result, required, "openrouter:acme/base", repro(model_id, cases))


def gate_run(
    *verdicts: ModelVerdict,
    missing: tuple[str, ...] = (),
    stale: dict[str, tuple[str, ...]] | None = None,
) -> GateRun:
    return GateRun(
        policy=POLICY,
        run_ids=("run-1", "run-2"),
        verdicts=verdicts,
        decided_at=DECIDED,
        expires_at=EXPIRES,
        written=True,
        missing=missing,
        stale=stale or {},
    )


def passing_run() -> GateRun:
    return gate_run(verdict("openrouter:acme/good", "enable", (passed(), skipped(), cost())))


def mixed_run() -> GateRun:
    return gate_run(
        verdict(DISABLED, "disable", (failed(), unsure(), skipped())),
        verdict(OPTIONAL, "inconclusive", (passed(), unsure()), required=False),
        verdict(UNSURE, "inconclusive", (unsure(), cost())),
        missing=(ABSENT,),
        stale={OLD: ("case c-1 was judged on lookup@1; it is at 2 now",)},
    )


def parse(run: GateRun) -> ET.Element:
    text = junit_xml(run)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text)


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.get("name", ""): suite for suite in root.findall("testsuite")}


def assert_counts(root: ET.Element) -> None:
    """Every count attribute equals the number of elements it counts."""
    for node, prefix in [(root, "testsuite/"), *((s, "") for s in root.findall("testsuite"))]:
        assert node.get("tests") == str(len(node.findall(f"{prefix}testcase")))
        assert node.get("failures") == str(len(node.findall(f"{prefix}testcase/failure")))
        assert node.get("errors") == str(len(node.findall(f"{prefix}testcase/error")))
        assert node.get("skipped") == str(len(node.findall(f"{prefix}testcase/skipped")))


def cells(row: str) -> list[str]:
    """A GFM table row's cells: a backslash escapes the next character, ``|`` splits."""
    found: list[str] = []
    current = ""
    chars = iter(row.strip())
    for char in chars:
        if char == "\\":
            current += char + next(chars, "")
        elif char == "|":
            found.append(current)
            current = ""
        else:
            current += char
    found.append(current)
    assert found[0].strip() == ""
    assert found[-1].strip() == ""
    return [cell.strip() for cell in found[1:-1]]


def outside_fences(markdown: str) -> str:
    """The Markdown with its fenced code blocks left out (a fence closes on a fence of
    at least the same length)."""
    kept: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        opening = re.match(r"^(`{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and re.fullmatch(rf"`{{{len(fence)},}}\s*", line):
            fence = None
        elif fence is None:
            kept.append(line)
    assert fence is None, "a code fence is never closed"
    return "\n".join(kept)


def fenced_blocks(markdown: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        opening = re.match(r"^(`{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
            blocks.append([])
        elif fence is not None and re.fullmatch(rf"`{{{len(fence)},}}\s*", line):
            fence = None
        elif fence is not None:
            blocks[-1].append(line)
    return blocks


def table_rows(markdown: str) -> list[list[str]]:
    return [cells(line) for line in markdown.split("\n") if line.startswith("|")]


# --- JUnit ---------------------------------------------------------------------------------


def test_passing_run_has_no_failures() -> None:
    root = parse(passing_run())

    assert root.tag == "testsuites"
    assert root.get("name") == "clearance gate"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "0", "1")
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "gate: openrouter:acme/good"
    names = [case.get("name") for case in suite.findall("testcase")]
    assert names == ["criticality.critical", "latency.p95_ms", "cost.per_successful_task"]
    assert {case.get("classname") for case in suite.findall("testcase")} == {
        "clearance.gate.openrouter:acme/good"
    }
    assert suite.find("testcase[@name='latency.p95_ms']/skipped") is not None
    assert suite.find("testcase/skipped").get("message") == "latency not in the policy"  # type: ignore[union-attr]
    assert_counts(root)


def test_properties_carry_the_provenance() -> None:
    root = parse(passing_run())

    properties = {
        p.get("name"): p.get("value") for p in root.findall("testsuite/properties/property")
    }
    assert properties["decision"] == "enable"
    assert properties["required"] == "true"
    assert properties["policy.name"] == "ci-policy"
    assert properties["policy.hash"] == HASH
    assert properties["run_ids"] == "run-1,run-2"
    assert properties["baseline"] == "openrouter:acme/base"
    assert properties["expires_at"] == EXPIRES.isoformat()


def test_mixed_run_maps_every_verdict() -> None:
    root = parse(mixed_run())
    found = suites(root)

    assert list(found) == [
        f"gate: {DISABLED}",
        f"gate: {OPTIONAL}",
        f"gate: {UNSURE}",
        "gate: missing",
        "gate: stale evidence",
    ]
    assert_counts(root)
    # disabled: fail + inconclusive (required) failures, a skipped check;
    # optional: inconclusive is skipped; unsure: inconclusive (required) fails;
    # one missing, one stale.
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("9", "5", "0")
    assert root.get("skipped") == "2"

    disabled = found[f"gate: {DISABLED}"]
    failure = disabled.find("testcase[@name='criticality.critical']/failure")
    assert failure is not None
    assert failure.get("type") == "fail"
    assert failure.get("message") == "12/24 passed < 0.9"
    body = failure.text or ""
    assert "measured: 0.500" in body
    assert "interval: [0.400, 0.600]" in body
    assert "threshold: 0.900" in body
    assert f"cases (13): {', '.join(FAILING_CASES)}" in body
    for command in repro(DISABLED, (*FAILING_CASES, "flow-1")):
        assert command in body
    flows = disabled.find("testcase[@name='flows']/failure")
    assert flows is not None
    assert flows.get("type") == "inconclusive"
    assert "more trials: about 40" in (flows.text or "")

    optional = found[f"gate: {OPTIONAL}"]
    assert optional.findall("testcase/failure") == []
    skip = optional.find("testcase[@name='flows']/skipped")
    assert skip is not None
    assert "not required" in (skip.get("message") or "")
    assert "bounds straddle 0.9" in (skip.get("message") or "")

    required = found[f"gate: {UNSURE}"]
    (only,) = required.findall("testcase/failure")
    assert only.get("type") == "inconclusive"

    (absent,) = found["gate: missing"].findall("testcase")
    assert absent.get("name") == ABSENT
    message = absent.find("failure").get("message")  # type: ignore[union-attr]
    assert f"clearance eval --models {ABSENT}" in (message or "")

    (old,) = found["gate: stale evidence"].findall("testcase")
    assert old.get("name") == OLD
    stale = old.find("failure")
    assert stale is not None
    assert stale.get("type") == "stale"
    assert "case c-1 was judged on lookup@1; it is at 2 now" in (stale.text or "")
    assert f"clearance eval --models {OLD}" in (stale.text or "")
    assert "clearance gate" in (stale.get("message") or "")


def test_hostile_text_round_trips_in_xml() -> None:
    detail = f"bad {HOSTILE}\nsecond line & more"
    case_id = f"case-{HOSTILE}"
    run = gate_run(verdict(HOSTILE, "disable", (failed((case_id,), detail),)))

    root = parse(run)

    (suite,) = root.findall("testsuite")
    assert suite.get("name") == f"gate: {HOSTILE}"
    testcase = suite.find("testcase")
    assert testcase is not None
    assert testcase.get("classname") == f"clearance.gate.{HOSTILE}"
    failure = testcase.find("failure")
    assert failure is not None
    assert failure.get("message") == detail
    assert f"cases (1): {case_id}" in (failure.text or "")
    assert f"detail: {detail}" in (failure.text or "")
    assert_counts(root)


def test_control_characters_keep_the_xml_well_formed() -> None:
    run = gate_run(verdict("m", "disable", (failed(detail="bell\x07 escape\x1b end"),)))

    root = parse(run)

    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "bell\\u0007 escape\\u001b end"


@given(text=st.text())
def test_any_text_gives_well_formed_xml_and_one_row(text: str) -> None:
    run = gate_run(verdict(text, "disable", (failed((text,), text),)))

    root = parse(run)
    rows = table_rows(markdown_summary(run))

    legal = not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", text)
    if legal:
        assert root.find("testsuite/testcase/failure").get("message") == text  # type: ignore[union-attr]
    assert len(rows) == 3
    assert all(len(row) == 4 for row in rows)
    assert "<" not in rows[2][0]
    assert "\n" not in rows[2][0]


# --- Markdown ------------------------------------------------------------------------------


def test_passing_summary() -> None:
    markdown = markdown_summary(passing_run())

    assert markdown.startswith("## ✅ clearance gate passed (exit code 0)\n")
    assert f"ci-policy ({HASH[:12]})" in markdown
    assert HASH not in markdown
    assert "run-1, run-2" in markdown
    assert DECIDED.isoformat() in markdown
    assert EXPIRES.isoformat() in markdown
    assert table_rows(markdown) == [
        ["Model", "Required", "Decision", "Failing / inconclusive checks"],
        ["---", "---", "---", "---"],
        ["openrouter:acme/good", "yes", "✅ enable", "—"],
    ]
    assert "###" not in markdown
    assert "Reproduce locally" not in markdown


def test_failing_summary_explains_each_model() -> None:
    markdown = markdown_summary(mixed_run())

    assert markdown.startswith("## ❌ clearance gate failed (exit code 1)\n")
    rows = table_rows(markdown)[2:]
    assert rows == [
        [
            DISABLED,
            "yes",
            "❌ disable",
            "criticality.critical (fail), flows (inconclusive)",
        ],
        [OPTIONAL, "no", "⚠️ inconclusive", "flows (inconclusive)"],
        [UNSURE, "yes", "⚠️ inconclusive", "flows (inconclusive)"],
    ]
    headings = [line for line in markdown.split("\n") if line.startswith("### ")]
    assert headings == [
        f"### {DISABLED}: ❌ disable (required)",
        f"### {OPTIONAL}: ⚠️ inconclusive (not required: does not affect the exit code)",
        f"### {UNSURE}: ⚠️ inconclusive (required)",
        "### Required models with no results",
        "### Stale evidence",
    ]
    section = markdown.split(f"### {DISABLED}")[1].split("### ")[0]
    assert (
        "- **criticality.critical** (fail): measured 0.500, interval [0.400, 0.600], "
        "threshold 0.900"
    ) in section
    assert "  - 12/24 passed &lt; 0.9" in section
    shown = ", ".join(FAILING_CASES[:10])
    assert f"failing cases: {shown} and 3 more" in section
    assert "case-10" not in section.replace(r"\_", "_").split("Reproduce locally")[0]
    assert "about 40 more trials would settle it" in section
    assert "Reproduce locally:" in section
    blocks = fenced_blocks(markdown)
    assert blocks[0] == list(repro(DISABLED, (*FAILING_CASES, "flow-1")))
    assert "```sh" in section
    # missing and stale: each with the commands that fix it
    assert blocks[-2] == [f"clearance eval --models {ABSENT}", "clearance gate"]
    assert blocks[-1] == [f"clearance eval --models {OLD}", "clearance gate"]
    assert "  - case c-1 was judged on lookup@1; it is at 2 now" in markdown


def test_measured_values_are_formatted() -> None:
    check = Check("cost.per_successful_task", "fail", "0.0125", None, "0.01", "too dear")
    unmeasured = Check("latency.p95_ms", "inconclusive", None, None, 1500.0, "no latency")
    markdown = markdown_summary(gate_run(verdict("m", "disable", (check, unmeasured))))

    assert "measured 0.0125, interval —, threshold 0.01" in markdown
    assert "measured —, interval —, threshold 1500.000" in markdown


def test_hostile_text_is_inert_markdown() -> None:
    detail = f"bad {HOSTILE}\n# not a heading *bold* _em_ [link](x) & `code`"
    case_id = f"case-{HOSTILE}"
    run = gate_run(verdict(HOSTILE, "disable", (failed((case_id,), detail),)))

    markdown = markdown_summary(run)

    text = outside_fences(markdown)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "```" not in text.replace(r"\`", "")
    assert r"\# not a heading" in text  # the newline cannot start a heading
    assert not [line for line in text.split("\n") if line.startswith("# ")]
    assert "[link](x)" not in text
    assert "*bold*" not in text
    rows = table_rows(markdown)
    assert len(rows) == 3
    assert len(rows[2]) == 4
    assert rows[2][1:3] == ["yes", "❌ disable"]
    # the repro commands quote the model id; the fence outlasts the backticks in them
    blocks = fenced_blocks(markdown)
    assert blocks == [list(run.verdicts[0].repro)]
    fence = next(line for line in markdown.split("\n") if line.startswith("```"))
    assert fence == "````sh"


def test_untrusted_markdown_escapes() -> None:
    run = gate_run(verdict("a|b*c_d[e]`f<g>&h\ni", "disable", (failed(),)))

    (row,) = table_rows(markdown_summary(run))[2:]

    assert row[0] == r"a\|b\*c\_d\[e\]\`f&lt;g&gt;&amp;h i"


# --- files ---------------------------------------------------------------------------------


def test_write_ci_outputs_appends_to_the_step_summary(tmp_path: Path) -> None:
    step = tmp_path / "step_summary.md"
    step.write_text("## earlier step\n\nkept\n", encoding="utf-8")
    junit = tmp_path / "reports" / "ci" / "gate.xml"
    summary = tmp_path / "out" / "gate.md"
    run = mixed_run()

    written = write_ci_outputs(
        run, junit_path=junit, summary_path=summary, environ={"GITHUB_STEP_SUMMARY": str(step)}
    )
    write_ci_outputs(
        run, junit_path=junit, summary_path=None, environ={"GITHUB_STEP_SUMMARY": str(step)}
    )

    assert written == [junit, summary, step]
    assert ET.parse(junit).getroot().get("failures") == "5"
    assert summary.read_text(encoding="utf-8") == markdown_summary(run)
    content = step.read_text(encoding="utf-8")
    assert content.startswith("## earlier step\n\nkept\n")
    assert content.count("## ❌ clearance gate failed (exit code 1)") == 2
    assert content.endswith(markdown_summary(run))


def test_write_ci_outputs_without_github(tmp_path: Path) -> None:
    junit = tmp_path / "deep" / "er" / "junit.xml"

    written = write_ci_outputs(passing_run(), junit_path=junit, summary_path=None, environ={})

    assert written == [junit]
    assert junit.read_text(encoding="utf-8") == junit_xml(passing_run())
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["junit.xml"]


def test_summary_path_that_is_the_step_summary_is_appended_once(tmp_path: Path) -> None:
    step = tmp_path / "summary.md"
    step.write_text("before\n", encoding="utf-8")

    written = write_ci_outputs(
        passing_run(),
        junit_path=tmp_path / "junit.xml",
        summary_path=step,
        environ={"GITHUB_STEP_SUMMARY": str(step)},
    )

    assert written == [tmp_path / "junit.xml", step]
    assert step.read_text(encoding="utf-8") == "before\n\n" + markdown_summary(passing_run())


def test_models_the_gate_does_not_require_never_fail_the_junit_report() -> None:
    run = dataclasses.replace(
        gate_run(
            verdict(OPTIONAL, "disable", (failed(), passed()), required=False),
            stale={OLD: ("case c-1 changed since run run-1",)},
        ),
        optional=(OLD,),
    )
    assert run.exit_code == 0
    root = parse(run)
    assert_counts(root)
    assert root.get("failures") == "0"  # the colour agrees with the exit code
    found = suites(root)
    (failed_check,) = [
        case
        for case in found[f"gate: {OPTIONAL}"].iter("testcase")
        if case.find("skipped") is not None
    ]
    skipped_message = failed_check.find("skipped")
    assert skipped_message is not None
    assert skipped_message.get("message", "").startswith("fail (model not required): ")
    stale_case = found["gate: stale evidence"].find("testcase/skipped")
    assert stale_case is not None
    assert stale_case.get("message", "").startswith("stale (model not required): ")

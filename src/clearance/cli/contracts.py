"""``clearance contracts``: versioned tool contracts and flows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import EXIT_FAILURE, EXIT_USAGE, console, emit_json, fail, handle_errors
from clearance.cli._options import App, split_list

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.contracts.check import CheckFinding, CheckReport
    from clearance.contracts.lowered import LoweringReport
    from clearance.providers.lowering import Loss

app = App(help="Versioned tool contracts and multi-turn flows.", no_args_is_help=True)


def _bracketed(text: str) -> str:
    """``[text]`` shown literally (rich would read it as a style tag)."""
    return escape(f"[{text}]")


def _root(root: Path | None) -> Path:
    from clearance.config import load_config

    return root if root is not None else load_config().contracts_root()


RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root", metavar="FOLDER", help="The contracts folder (default: contracts.root)."
    ),
]


@app.command("list")
@handle_errors
def list_(
    root: RootOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every tool contract version and flow."""
    from clearance.contracts.check import load_all

    folder = _root(root)
    contracts, flows, errors = load_all(folder)
    if as_json:
        emit_json(
            {
                "tools": [
                    {
                        "name": c.name,
                        "version": str(c.version),
                        "criticality": c.criticality,
                        "path": str(c.path),
                    }
                    for c in contracts
                ],
                "flows": [
                    {"id": f.id, "kind": f.kind, "steps": len(f.steps), "tools": list(f.tools)}
                    for f in flows
                ],
                "errors": [str(e) for e in errors],
            }
        )
        return
    table = Table(title=f"tool contracts in {folder}")
    for column in ("tool", "versions", "criticality"):
        table.add_column(column)
    for name in sorted({c.name for c in contracts}):
        versions = contracts.versions(name)
        table.add_row(
            escape(name), ", ".join(str(v.version) for v in versions), versions[-1].criticality
        )
    console.print(table)
    console.print(f"{len(flows)} flows and cases; {len(errors)} invalid files")
    for error in errors:
        console.print(f"[red]{escape(str(error))}[/]")


@app.command("lock")
@handle_errors
def lock(
    root: RootOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was written as JSON.")
    ] = False,
) -> None:
    """Write contracts.lock from the files (refused while a file is invalid)."""
    from clearance.contracts.check import build_lock
    from clearance.contracts.lock import write_lock

    folder = _root(root)
    built = build_lock(folder)
    path = write_lock(folder, built)
    if as_json:
        emit_json({"lock": str(path), "tool_versions": len(built.tools), "flows": len(built.flows)})
        return
    console.print(
        f"wrote {escape(str(path))}: {len(built.tools)} tool versions, {len(built.flows)} flows"
    )


def _has_live_decisions(catalog: Catalog) -> bool:
    """Whether a gate decision could be marked stale (else refreshing would read every
    suite, the BFCL import included, to change nothing)."""
    from clearance.catalog.gatestore import latest_decisions

    with catalog.connect() as connection:
        gate, _ = latest_decisions(connection)
    # the rows refresh_staleness (gatestore.mark_stale) considers
    return any(row.stale_reason is None and row.contract_hashes for row in gate.values())


@app.command("check")
@handle_errors
def check(
    root: RootOption = None,
    probe: Annotated[
        bool, typer.Option(help="Run the hypothesis second opinion on version diffs.")
    ] = True,
    stale: Annotated[
        bool, typer.Option(help="Look up eval results and gate decisions made stale.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="List every warning, and every acknowledged finding with its reason.",
        ),
    ] = False,
) -> None:
    """Check contracts and flows (for CI): versions, bumps, lock, negative controls.

    Warnings are grouped by rule, with a count and one example (--verbose lists them
    all). Lint findings acknowledged in lint-acknowledgements.yaml are counted, not shown.
    """
    from clearance.catalog.database import Catalog
    from clearance.config import load_config
    from clearance.contracts.check import check_contracts
    from clearance.errors import CatalogUnavailable

    config = load_config()
    folder = _root(root)
    catalog = None
    if stale:
        catalog = Catalog(config.resolved_database_url())
        try:
            catalog.ensure_schema()
        except CatalogUnavailable as error:
            console.print(f"[yellow]note:[/] stale results not looked up: {escape(error.cause)}")
            catalog = None
    marks = []
    try:
        report = check_contracts(
            folder,
            lint_profiles=config.contracts.lint_profiles,
            catalog=catalog,
            probe=probe,
            cache_dir=config.root / ".clearance" / "cache",
        )
        if (
            catalog is not None
            and report.ok
            and folder.resolve() == config.contracts_root()
            and _has_live_decisions(catalog)
        ):
            from clearance.gate.run import refresh_staleness

            marks = refresh_staleness(config, catalog)
    finally:
        if catalog is not None:
            catalog.dispose()
    if as_json:
        document = report.to_dict()
        document["marked_stale"] = [
            {"decision_id": m.decision_id, "model": m.model_id, "reason": m.reason} for m in marks
        ]
        emit_json(document)
    else:
        for finding in report.errors:
            _print_finding(finding)
            if finding.fix:
                console.print(f"    fix: {escape(finding.fix)}")
        _print_warnings(report.warnings, verbose=verbose)
        if verbose:
            _print_acknowledged(report.acknowledged)
        _print_losses(report, verbose=verbose)
        for key, count in sorted(report.stale_results.items()):
            console.print(f"stale: {count} eval results recorded against {escape(key)}")
        for decision in report.stale_decisions:
            console.print(
                f"stale: gate decision {decision['id']} for "
                f"{escape(str(decision['model']))} judged "
                f"{escape(str(decision['stale_contracts']))}"
            )
        for mark in marks:
            console.print(
                f"[yellow]marked stale[/]: gate decision {mark.decision_id} for "
                f"{escape(mark.model_id)} ({escape(mark.reason)}); the router stops serving "
                "it until it is evaluated and gated again"
            )
        verdict = "[green]ok[/]" if report.ok else "[red]FAILED[/]"
        acknowledged = (
            f", {len(report.acknowledged)} acknowledged by design" if report.acknowledged else ""
        )
        console.print(
            f"{verdict}: {report.contracts} contracts, {report.flows} flows; "
            f"{len(report.errors)} errors, {len(report.warnings)} warnings{acknowledged}"
        )
    if not report.ok:
        raise SystemExit(EXIT_FAILURE)


def _print_finding(finding: CheckFinding, prefix: str = "") -> None:
    colour = "red" if finding.severity == "error" else "yellow"
    code = finding.code if finding.rule is None else f"{finding.code} {finding.rule}"
    console.print(
        f"[{colour}]{finding.severity}[/] {_bracketed(code)} {prefix}"
        f"{escape(finding.subject)}: {escape(finding.message)}"
    )


def _groups(findings: list[CheckFinding]) -> dict[str, list[CheckFinding]]:
    groups: dict[str, list[CheckFinding]] = {}
    for finding in findings:
        groups.setdefault(finding.group, []).append(finding)
    return groups


def _print_warnings(warnings: list[CheckFinding], *, verbose: bool) -> None:
    """Each warning (verbose), or one line per rule: the count and the first example."""
    if verbose:
        for finding in warnings:
            _print_finding(finding)
        return
    groups = _groups(warnings)
    for group in groups.values():
        first = group[0]
        if len(group) == 1:
            _print_finding(first)
        else:
            where = (
                f" in {len({f.subject for f in group})} contracts"
                if first.code in ("lint", "diff_disagreement")
                else ""
            )
            _print_finding(first, prefix=f"{len(group)} findings{where}, e.g. ")
        if first.fix:
            console.print(f"    fix: {escape(first.fix)}")
    if any(len(group) > 1 for group in groups.values()):
        console.print("(--verbose lists every warning)")


def _print_losses(report: CheckReport, *, verbose: bool) -> None:
    """Per profile, what lowering does not send as written (facts, not findings)."""
    from collections import Counter

    by_profile: dict[str, list[tuple[str, Loss]]] = {}
    for lowered in report.lowering:
        for loss in lowered.lowered.losses:
            by_profile.setdefault(lowered.profile, []).append((lowered.contract_key, loss))
    for profile, items in by_profile.items():
        usable = [(key, loss) for key, loss in items if loss.loosens]
        kinds = Counter(loss.keyword for _, loss in usable)
        listed = ", ".join(f"{keyword} {count}" for keyword, count in kinds.most_common())
        console.print(
            f"lowering {_bracketed(profile)}: {len(usable)} constraints not sent, which a "
            f"model may exploit, in {len({key for key, _ in usable})} contracts"
            + (f" ({escape(listed)})" if listed else "")
            + f"; {len(items) - len(usable)} other changes; "
            f"`clearance contracts lower --provider {profile}` lists them"
        )
        if verbose:
            for key, loss in items:
                console.print(
                    f"    {escape(key)} {escape(loss.path or '/')} {escape(loss.keyword)} "
                    f"{loss.action}: {escape(loss.detail)}"
                )


def _print_acknowledged(findings: list[CheckFinding]) -> None:
    """Acknowledged findings under the reason given for them, one group per rule."""
    for rule, group in _groups(findings).items():
        reasons = sorted({f.acknowledgement or "" for f in group})
        console.print(
            f"[dim]acknowledged[/] {_bracketed(rule)} {len(group)} findings: "
            f"{escape(' / '.join(reasons))}"
        )
        for finding in group:
            console.print(f"    {escape(finding.subject)}: {escape(finding.message)}")


@app.command("diff")
@handle_errors
def diff(
    tool: Annotated[str, typer.Argument(metavar="TOOL", help="The tool name.")],
    old: Annotated[str, typer.Argument(metavar="OLD", help="The old version.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The new version.")],
    root: RootOption = None,
    probe: Annotated[bool, typer.Option(help="Run the hypothesis second opinion.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Classify every change between two versions of a tool, and the bump it needs."""
    from clearance.contracts.bump import diff_contracts, format_diff
    from clearance.contracts.loader import load_contracts
    from clearance.contracts.lock import read_document

    contracts = load_contracts(_root(root))
    before = contracts.resolve(f"{tool}@{old}")
    after = contracts.resolve(f"{tool}@{new}")
    result = diff_contracts(read_document(before.path), read_document(after.path), probe=probe)
    if as_json:
        emit_json(
            {
                "tool": tool,
                "old": old,
                "new": new,
                "required_bump": result.required_bump,
                "actual_bump": result.actual_bump,
                "ok": result.ok,
                "changes": [
                    {
                        "pointer": c.pointer,
                        "kind": c.kind,
                        "breaking": c.breaking,
                        "detail": c.detail,
                    }
                    for c in result.changes
                ],
                "disagreements": list(result.disagreements),
            }
        )
    else:
        console.print(escape(format_diff(result)))
    if not result.ok:
        raise SystemExit(EXIT_FAILURE)


ProfileOption = Annotated[
    list[str] | None,
    typer.Option(
        "--profile",
        "--provider",
        metavar="PROFILE,...",
        help="openai-strict, gemini, anthropic; repeat or separate with commas (default: all).",
    ),
]


def _profiles(profile: list[str] | None) -> tuple[str, ...]:
    from clearance.providers.profiles import PROFILES

    profiles = tuple(split_list(profile) or PROFILES)
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        fail(
            f"unknown profile(s) {', '.join(unknown)}; known: {', '.join(PROFILES)}",
            code=EXIT_USAGE,
        )
    return profiles


@app.command("lint")
@handle_errors
def lint(
    root: RootOption = None,
    profile: ProfileOption = None,
    as_written: Annotated[
        bool,
        typer.Option(
            "--as-written",
            help="Lint each schema as the contract writes it, not as it is sent (lowered).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find schema features a provider family does not accept, before money is spent.

    Each schema is linted as it is sent: lowered for the provider, so what is left is what
    lowering cannot fix (`clearance contracts lower` lists what lowering changes).
    """
    from clearance.contracts.lint import lint_contracts
    from clearance.contracts.loader import load_contracts

    profiles = _profiles(profile)
    findings = lint_contracts(load_contracts(_root(root)), profiles, as_sent=not as_written)
    if as_json:
        emit_json(
            [
                {
                    "contract": f.contract_key,
                    "profile": f.profile,
                    "severity": f.severity,
                    "pointer": f.pointer,
                    "message": f.message,
                    "fix": f.fix,
                    "rule": f.rule,
                }
                for f in findings
            ]
        )
    else:
        for f in findings:
            colour = "red" if f.severity == "error" else "yellow"
            console.print(
                f"[{colour}]{f.severity}[/] {escape(f.contract_key)} "
                f"{_bracketed(f.profile)} {escape(f.pointer)}: {escape(f.message)}"
            )
        what = "as written" if as_written else "as sent (lowered)"
        console.print(f"{len(findings)} findings, each schema {what}")
    if any(f.severity == "error" for f in findings):
        raise SystemExit(EXIT_FAILURE)


@app.command("lower")
@handle_errors
def lower(
    contract: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[CONTRACT]...", help="NAME (its latest version) or NAME@VERSION; default: all."
        ),
    ] = None,
    root: RootOption = None,
    profile: ProfileOption = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Show each schema as it is sent, too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What each provider is sent in place of each contract's schema, and what it lost.

    Every keyword dropped or changed on the way is listed with what a model may now get
    away with; arguments are still validated against the contract, and a model that uses
    the freedom fails with dropped_constraint. Exit 1 when a provider would still refuse
    a lowered schema (what lowering cannot fix, e.g. a Gemini parameter name).
    """
    from clearance.contracts.loader import load_contracts
    from clearance.contracts.lowered import lower_contracts

    profiles = _profiles(profile)
    contracts = load_contracts(_root(root))
    chosen = [contracts.resolve(ref) for ref in contract] if contract else list(contracts)
    reports = lower_contracts(chosen, profiles)
    refused = [f for r in reports for f in r.refused]
    if as_json:
        emit_json(
            [
                {
                    "contract": r.contract_key,
                    "profile": r.profile,
                    "protocol": r.lowered.protocol,
                    "strict": r.lowered.strict,
                    "losses": [loss.as_dict() for loss in r.lowered.losses],
                    "refused": [
                        {"rule": f.rule, "pointer": f.pointer, "message": f.message, "fix": f.fix}
                        for f in r.refused
                    ],
                    **({"schema": r.lowered.schema} if schema else {}),
                }
                for r in reports
            ]
        )
    else:
        _print_lowering(reports, show_schema=schema)
    if refused:
        raise SystemExit(EXIT_FAILURE)


def _print_lowering(reports: list[LoweringReport], *, show_schema: bool) -> None:
    import json

    table = Table(title="what each provider is sent, and what it lost")
    for column in ("contract", "provider", "where", "keyword", "action", "what the model may do"):
        table.add_column(column, overflow="fold")
    losses = loosening = 0
    for report in reports:
        for loss in report.lowered.losses:
            losses += 1
            loosening += loss.loosens
            table.add_row(
                escape(report.contract_key),
                report.profile,
                escape(loss.path or "/"),
                escape(loss.keyword),
                loss.action,
                escape(loss.detail),
                style=None if loss.loosens else "dim",
            )
    if losses:
        console.print(table)
    for report in reports:
        for finding in report.refused:
            console.print(
                f"[red]refused[/] {escape(report.contract_key)} {_bracketed(report.profile)} "
                f"{escape(finding.pointer)}: {escape(finding.message)}"
            )
        if show_schema:
            console.print(f"{escape(report.contract_key)} {_bracketed(report.profile)}:")
            console.print(escape(json.dumps(report.lowered.schema, indent=2, ensure_ascii=False)))
    contracts = len({r.contract_key for r in reports})
    refused = sum(len(r.refused) for r in reports)
    console.print(
        f"{contracts} contracts for {', '.join(dict.fromkeys(r.profile for r in reports))}: "
        f"{losses} losses ({loosening} a model can use; the others are dimmed), "
        f"{refused} refusals lowering cannot fix"
    )


@app.command("import-bfcl")
@handle_errors
def import_bfcl(
    directory: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="A folder of BFCL question files.")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", metavar="FOLDER", help="The folder to write tools/ and flows/ into."),
    ] = Path("contracts/bfcl"),
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            metavar="CATEGORY,...",
            help="BFCL categories (simple_python, live_multiple, irrelevance...); repeat or "
            "separate with commas (default: every single-turn one in FOLDER).",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", help="Cases per category at most.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Convert Berkeley Function Calling Leaderboard data into contracts and cases.

    The folder is judged by the bfcl scoring profile (suite.yaml); ground truth that its
    own declaration refuses is kept and listed.
    """
    from collections import Counter

    from clearance.contracts import bfcl

    report = bfcl.import_bfcl(
        directory, out, categories=tuple(split_list(category)) or None, limit=limit
    )
    conflicts = [
        {
            "case": c.case_id,
            "call": c.call,
            "tool": c.tool,
            "parameter": c.parameter,
            "kind": c.kind,
            "message": c.message,
        }
        for c in report.conflicts
    ]
    if as_json:
        emit_json(
            {
                "out": str(out),
                "scoring": report.scoring,
                "cases": report.cases,
                "by_category": report.by_category,
                "skipped": report.skipped or {},
                "tools": report.tools,
                "shared": report.shared,
                "renamed": {r.contract_name: r.original for r in report.renamed},
                "without_valid_example": list(report.without_valid_example),
                "loose_matchers": list(report.loose_matchers),
                "conflicts": conflicts,
                "quirks": [
                    {"case": q.case_id, "kind": q.kind, "detail": q.detail} for q in report.quirks
                ],
            }
        )
        return
    per_category = ", ".join(f"{k} {v}" for k, v in report.by_category.items())
    console.print(
        f"imported {report.cases} cases ({per_category}) and {report.tools} tool contracts into "
        f"{escape(str(out))}, judged by the {report.scoring} scoring profile (suite.yaml); "
        f"{report.shared} offers reused a definition, {len(report.renamed)} tools renamed "
        "because BFCL defines the same name differently"
    )
    for skipped, reason in (report.skipped or {}).items():
        console.print(f"[yellow]skipped[/] {escape(skipped)}: {escape(reason)}")
    if report.conflicts:
        kinds = ", ".join(
            f"{n} {k}" for k, n in sorted(Counter(c.kind for c in report.conflicts).items())
        )
        cases = len({c.case_id for c in report.conflicts})
        console.print(
            f"ground truth its own declaration refuses, kept as BFCL wrote it ({kinds}; "
            f"{cases} cases; --json lists each):"
        )
        for conflict in report.conflicts[:10]:
            console.print(
                f"  {escape(conflict.case_id)} {escape(conflict.tool)}.{escape(conflict.parameter)}"
                f" ({conflict.kind}): {escape(conflict.message)}"
            )
        if len(report.conflicts) > 10:
            console.print(f"  ... and {len(report.conflicts) - 10} more")
    for quirk in report.quirks:
        console.print(f"{escape(quirk.case_id)}: {escape(quirk.detail)} ({quirk.kind})")
    console.print(f"next: `clearance contracts lock --root {escape(str(out))}`")

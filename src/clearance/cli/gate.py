"""``clearance gate`` (judge evaluated models, write the decisions) and ``clearance decisions``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import console, emit_json, handle_errors, load
from clearance.cli._options import App, split_list

if TYPE_CHECKING:
    from clearance.gate.run import GateRun

__all__ = ["decisions_app", "gate_command"]

decisions_app = App(
    help="Gate decisions and overrides stored in the catalog.", no_args_is_help=True
)

_STYLE = {"enable": "green", "disable": "red", "inconclusive": "yellow"}
_SHOWN_SNAPSHOTS = 3


def _snapshots(snapshots: Mapping[str, int] | None) -> str:
    """``gpt-4o@fp_a (12), gpt-4o@fp_b (3)``: what results were taken on (not escaped)."""
    if snapshots is None:
        return "not recorded"
    if not snapshots:
        return "none reported"
    shown = [f"{name} ({count})" for name, count in list(snapshots.items())[:_SHOWN_SNAPSHOTS]]
    more = len(snapshots) - _SHOWN_SNAPSHOTS
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _print_run(run: GateRun) -> None:
    policy = run.policy
    digest = (policy.source_hash or "built in code")[:12]
    console.print(
        f"gate policy [bold]{escape(policy.name)}[/] ({digest}) on run(s) "
        f"{escape(', '.join(run.run_ids))}"
    )
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("model", "required", "decision", "checks not passed", "snapshots"):
        table.add_column(column)
    for verdict in run.verdicts:
        decision = verdict.result.decision
        flagged = [
            f"{c.name} ({c.verdict})"
            for c in verdict.result.checks
            if c.verdict in ("fail", "inconclusive")
        ]
        table.add_row(
            escape(verdict.model_id),
            "yes" if verdict.required else "no",
            f"[{_STYLE[decision]}]{decision}[/]",
            escape(", ".join(flagged) or "-"),
            escape(_snapshots(verdict.result.snapshots)),
        )
    console.print(table)
    for verdict in run.verdicts:
        if verdict.passed:
            continue
        console.print(f"[bold]{escape(verdict.model_id)}[/]: {verdict.result.decision}")
        for check in verdict.result.checks:
            if check.verdict in ("fail", "inconclusive"):
                console.print(f"  {check.name} {check.verdict}: {escape(check.detail)}")
                if check.cases:
                    shown = ", ".join(check.cases[:8])
                    more = f" and {len(check.cases) - 8} more" if len(check.cases) > 8 else ""
                    console.print(f"    cases: {escape(shown)}{more}")
        for command in verdict.repro:
            console.print(f"  reproduce: {escape(command)}")
        if verdict.state is not None and verdict.state.allows != verdict.passed:
            console.print(f"  [bold]in force instead:[/] {escape(verdict.state.detail)}")
    for model in run.missing:
        console.print(
            f"[red]required model {escape(model)} has no results in the run(s)[/]: "
            f"run `clearance eval --models {escape(model)}`"
        )
    for model, changes in run.stale.items():
        colour = "yellow" if model in run.optional else "red"
        console.print(
            f"[{colour}]{escape(model)}: its results were judged on what has changed since[/] "
            f"({escape('; '.join(changes))}): re-run `clearance eval --models {escape(model)}`"
        )
    if run.written:
        expiry = "never" if run.expires_at is None else run.expires_at.isoformat()
        console.print(f"decisions written to the catalog (they expire: {expiry})")
    else:
        console.print("dry run: nothing written to the catalog")
    state = "[green]passed[/]" if run.exit_code == 0 else "[red]failed[/]"
    console.print(f"gate {state}")


@handle_errors
def gate_command(
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            metavar="POLICY",
            help="A policy name in gates/, or a YAML path (default: gate.policy).",
        ),
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            metavar="RUN_ID,...",
            help="The eval runs to judge, pooled; repeat or separate with commas "
            "(default: the latest).",
        ),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            metavar="MODEL_ID,...",
            help="Models to judge; repeat or separate with commas (default: all).",
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(
            "--org", metavar="ORG", help="Whose default model is the regression baseline."
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", metavar="MODEL_ID", help="A baseline model instead of the policy's."
        ),
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            metavar="MODEL_ID,...",
            help=(
                "Models the exit code answers for, instead of the policy's required_models "
                "(every judged model is still decided and written)."
            ),
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide and print, but write nothing to the catalog.")
    ] = False,
    ci: Annotated[
        bool,
        typer.Option(
            "--ci", help="Also write JUnit XML and a Markdown summary (and $GITHUB_STEP_SUMMARY)."
        ),
    ] = False,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit", metavar="FILE", help="JUnit XML path (default: reports/gate-junit.xml)."
        ),
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary", metavar="FILE", help="Markdown path (default: reports/gate-summary.md)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    retrieval: Annotated[
        bool,
        typer.Option(
            "--retrieval",
            help="Judge retriever configurations (their retrieval scores) instead of models.",
        ),
    ] = False,
    retrievers: Annotated[
        list[str] | None,
        typer.Option(
            "--retrievers",
            metavar="NAME,...",
            help="With --retrieval: the \\[\\[retrievers]] to judge (default: all).",
        ),
    ] = None,
) -> None:
    """Judge evaluated models (or, with --retrieval, retriever configurations) against a
    gate policy and write the decisions to the catalog.

    Exit 0 when every required model is enabled, 1 when one is not (disabled,
    inconclusive, missing from the runs, or judged on changed contracts), 2 on a
    usage or configuration error. With --retrieval: 0 when every configuration judged
    is enabled, 1 otherwise.
    """
    from clearance.gate.run import find_policy, run_gate

    config, catalog = load()
    chosen = find_policy(config, policy)
    if retrieval or retrievers:
        from clearance.cli.retrievalgate import retrieval_gate

        code = retrieval_gate(
            config,
            catalog,
            chosen,
            retrievers=split_list(retrievers),
            run_ids=split_list(run),
            write=not dry_run,
            as_json=as_json,
        )
        raise typer.Exit(code)
    outcome = run_gate(
        config,
        catalog,
        policy=chosen,
        run_ids=split_list(run),
        models=split_list(models),
        org_id=org,
        baseline=baseline,
        require=split_list(require) or None,
        write=not dry_run,
    )
    if ci or junit is not None or summary is not None:
        from clearance.gate.ci import write_ci_outputs

        reports = config.root / "reports"
        written = write_ci_outputs(
            outcome,
            junit_path=junit or reports / "gate-junit.xml",
            summary_path=summary or reports / "gate-summary.md",
            environ=os.environ,
        )
        if not as_json:
            for path in written:
                console.print(f"wrote {escape(str(path))}")
    if as_json:
        emit_json(outcome.to_json())
    else:
        _print_run(outcome)
    raise typer.Exit(outcome.exit_code)


@decisions_app.command("list")
@handle_errors
def decisions_list(
    retrievers: Annotated[
        bool,
        typer.Option(
            "--retrievers",
            help="List the retriever configurations instead: their retrieval-gate state, "
            "whom each serves, and whether the router uses it now.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every model's effective gate state: decision, override, staleness, expiry; then
    every retriever configuration's (alone with --retrievers)."""
    from clearance.catalog.gatestore import gate_states, state_of
    from clearance.catalog.modelstore import list_models
    from clearance.cli.retrievalgate import list_retrievers

    config, catalog = load()
    if retrievers:
        list_retrievers(config, catalog, as_json=as_json, alone=True)
        return
    require = config.gate.require_decision
    with catalog.connect() as connection:
        states = gate_states(connection, require_decision=require, provenance=as_json)
        known = [m.id for m in list_models(connection)]

    rows = [state_of(states, model_id, require_decision=require) for model_id in known]
    if as_json:
        emit_json(
            [
                {
                    "model_id": s.model_id,
                    "allows": s.allows,
                    "label": s.label,
                    "detail": s.detail,
                    "decision": None if s.decision is None else s.decision.to_json(),
                    "override": None if s.override is None else s.override.to_json(),
                }
                for s in rows
            ]
        )
        return
    table = Table(box=box.SIMPLE_HEAD, title=f"gate state of {len(rows)} models")
    for column in ("model", "served", "state", "why"):
        table.add_column(column)
    for state in rows:
        served = "[green]yes[/]" if state.allows else "[red]no[/]"
        table.add_row(escape(state.model_id), served, state.label, escape(state.detail))
    console.print(table)
    list_retrievers(config, catalog, as_json=False, alone=False)


@decisions_app.command("show")
@handle_errors
def decisions_show(
    model: Annotated[
        str,
        typer.Argument(metavar="MODEL_ID", help="PROVIDER:NAME, or a NAME unique in the catalog."),
    ],
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, help="How many rows, newest first.")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A model's decisions and overrides, newest first, with their checks and provenance."""
    from clearance.catalog.gatestore import history
    from clearance.catalog.modelstore import resolve_model_id

    config, catalog = load()
    with catalog.connect() as connection:
        model_id = resolve_model_id(connection, model, config.provider_names)
        rows = history(connection, model_id, limit=limit)
    if as_json:
        emit_json([row.to_json() for row in rows])
        return
    if not rows:
        console.print(f"{escape(model_id)}: no gate decision or override yet")
        return
    for row in rows:
        kind = "override" if row.override else f"gate ({row.policy_name})"
        console.print(
            f"[bold]#{row.id}[/] {row.decided_at:%Y-%m-%d %H:%M} UTC {kind}: "
            f"[bold]{row.decision}[/] by {escape(row.decided_by)}"
            + (f" on {escape(row.host)}" if row.host else "")
        )
        if row.reason:
            for line in row.reason.splitlines():
                console.print(f"  {escape(line)}")
        if row.stale_reason:
            console.print(f"  [red]stale[/]: {escape(row.stale_reason)}")
        if row.expires_at is not None:
            console.print(f"  expires {row.expires_at:%Y-%m-%d %H:%M} UTC")
        if row.eval_run_ids:
            console.print(
                f"  runs {escape(', '.join(row.eval_run_ids))}; policy hash "
                f"{(row.policy_hash or '?')[:12]}; {len(row.contract_hashes)} contract/case "
                f"hashes; {len(row.recordings)} recordings"
            )
        if not row.override:
            console.print(f"  model snapshots: {escape(_snapshots(row.snapshots))}")

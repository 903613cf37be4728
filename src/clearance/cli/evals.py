"""``clearance eval`` (a thin command over the eval engine) and ``clearance runs``."""

from __future__ import annotations

import gc
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from clearance.cli._common import (
    EXIT_FAILURE,
    EXIT_UNAVAILABLE,
    console,
    emit_json,
    errors,
    handle_errors,
    load,
)
from clearance.cli._options import App, split_list
from clearance.errors import InputError

__all__ = ["eval_command", "runs_app"]

runs_app = App(help="Stored eval runs: list, summarize, export.", no_args_is_help=True)


@handle_errors
def eval_command(
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            metavar="MODEL_ID,...",
            help="Candidate models; repeat or separate with commas (default: evals.models).",
        ),
    ] = None,
    suites: Annotated[
        list[str] | None,
        typer.Option(
            "--suites",
            metavar="SUITE,...",
            help="contracts, flows, bfcl, retrieval; repeat or separate with commas "
            "(default: evals.suites).",
        ),
    ] = None,
    retrievers: Annotated[
        list[str] | None,
        typer.Option(
            "--retrievers",
            metavar="NAME,...",
            help="With --suites retrieval: the \\[\\[retrievers]] to score (default: all).",
        ),
    ] = None,
    cases: Annotated[
        list[str] | None,
        typer.Option(
            "--cases",
            metavar="CASE,...",
            help="Case ids or wildcards; repeat or separate with commas (default: all).",
        ),
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", metavar="N", min=1, help="Trials per case.")
    ] = None,
    record_mode: Annotated[
        str | None,
        typer.Option(
            "--record-mode",
            metavar="MODE",
            help="none (replay only; default when CI is set), once, new, all.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", metavar="N", min=1, help="Requests in flight at once, per model."
        ),
    ] = None,
    cost_cap: Annotated[
        str | None,
        typer.Option("--cost-cap", metavar="USD", help="Stop starting cases past this spend."),
    ] = None,
    shard: Annotated[
        str | None, typer.Option("--shard", metavar="I/N", help="Run part I of N.")
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id", metavar="RUN_ID", help="The run id every shard of one run shares."
        ),
    ] = None,
    jsonl: Annotated[
        Path | None,
        typer.Option("--jsonl", metavar="FILE", help="Also write the results as JSON Lines."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the planned items and exit.")
    ] = False,
    until_decided: Annotated[
        bool,
        typer.Option(
            "--until-decided",
            help="Play trials in rounds, each to the cases that can still move the gate's "
            "decision, until every model is decided (gates/README.md, Adaptive trials).",
        ),
    ] = False,
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget", metavar="USD", help="With --until-decided: start no round past this spend."
        ),
    ] = None,
    max_trials: Annotated[
        int | None,
        typer.Option(
            "--max-trials",
            metavar="N",
            min=1,
            help="With --until-decided: the most trials of a case (default: --trials).",
        ),
    ] = None,
) -> None:
    """Run every case of the suites against the candidate models (replaying or recording).

    Exits 1 when a recording problem stopped items, or when every item of a model failed
    on infrastructure (nothing of it was judged).
    """
    from clearance.evaluation.cases import load_suites, select_cases
    from clearance.evaluation.engine import Evaluation, parse_shard
    from clearance.evaluation.simulator import SimulatorProviders

    config, catalog = load()
    if record_mode is not None and record_mode not in ("none", "once", "new", "all"):
        raise InputError(
            f"--record-mode {record_mode!r} is not a record mode",
            fix="choose none, once, new or all",
        )
    try:
        cap = Decimal(cost_cap) if cost_cap else None
    except InvalidOperation:
        raise InputError(
            f"--cost-cap {cost_cap!r} is not a number", fix="write USD, e.g. --cost-cap 5.00"
        ) from None
    if not until_decided and (budget is not None or max_trials is not None):
        raise InputError(
            "--budget and --max-trials are options of --until-decided",
            fix="add --until-decided, or use --cost-cap and --trials for a fixed run",
        )
    if budget is not None:
        try:
            cap = Decimal(budget)
        except InvalidOperation:
            raise InputError(
                f"--budget {budget!r} is not a number", fix="write USD, e.g. --budget 5.00"
            ) from None
    chosen_suites = split_list(suites) or list(config.evals.suites)
    if "retrieval" in chosen_suites:
        from clearance.cli.retrievaleval import eval_retrieval

        chosen_suites = [name for name in chosen_suites if name != "retrieval"]
        if as_json and chosen_suites:
            raise InputError(
                "--json prints one document: the retrieval suite and the model suites are two runs",
                fix="run `clearance eval --suites retrieval --json` on its own",
            )
        eval_retrieval(config, catalog, split_list(retrievers), as_json=as_json)
        if not chosen_suites:
            return
    elif retrievers:
        raise InputError(
            "--retrievers chooses what the retrieval suite scores",
            fix="add --suites retrieval",
        )
    suite = load_suites(config, chosen_suites)  # type: ignore[arg-type]
    chosen = select_cases(suite.cases, split_list(cases))
    progress = _progress(as_json)
    tasks: list[TaskID] = []

    def on_outcome(outcome: Any, spend: Decimal) -> None:
        verdict = outcome.result.verdict
        tally["judged"] += verdict != "infra_error"
        tally["passed"] += verdict == "pass"
        tally["infra"] += verdict == "infra_error"
        if progress is not None and tasks:
            rate = tally["passed"] / tally["judged"] if tally["judged"] else 0.0
            progress.update(
                tasks[0],
                advance=1,
                rate=f"pass {rate:.0%}" if tally["judged"] else "pass -",
                spend=f"{spend:.4f} USD",
                infra=f"infra {tally['infra']}",
            )

    tally = {"judged": 0, "passed": 0, "infra": 0}
    evaluation = Evaluation(
        config,
        catalog,
        suite,
        split_list(models) or list(config.evals.models),
        cases=chosen,
        trials=trials,
        concurrency=concurrency,
        cost_cap=cap,
        record_mode=record_mode,  # type: ignore[arg-type]
        shard=parse_shard(shard),
        run_id=run_id,
        on_outcome=on_outcome,
        providers=SimulatorProviders(),
        rounds=None if not until_decided else _rounds(config, catalog, max_trials or trials),
    )
    if list_only:
        for item in evaluation.items:
            console.print(escape(item.label))
        return
    if progress is not None:
        with progress:
            task = progress.add_task(
                f"eval {evaluation.run_id} ({evaluation.record_mode})",
                total=len(evaluation.items),
                rate="pass -",
                spend="0 USD",
                infra="infra 0",
            )
            tasks.append(task)
            run = evaluation.run()
    else:
        run = evaluation.run()
    # What is left is printing and the interpreter's exit, whose last collection would
    # walk the whole heap (~0.3 s after a 2,000-item run): none of it is garbage now.
    gc.freeze()
    if jsonl is not None:
        from clearance.catalog.runstore import ResultStore

        ResultStore(catalog).export_jsonl(run.run_id, jsonl)
    problems = [o for o in run.outcomes.values() if o.recording_problem]
    unjudged = run.unjudged_models()
    if as_json:
        emit_json({**_run_document(run), "unjudged_models": unjudged})
    else:
        _print_run(run)
        for outcome in problems[:20]:
            errors.print(escape(outcome.explain()), soft_wrap=True)
        if len(problems) > 20:
            errors.print(f"... and {len(problems) - 20} more recording problems")
    if evaluation.rounds is not None and not as_json:
        _print_adaptive(evaluation, catalog)
    for reason in unjudged.values():
        errors.print(f"error: {escape(reason)}", soft_wrap=True)
    if unjudged:
        errors.print(
            f"fix: `clearance runs show {run.run_id}` lists each error's status and message; "
            "fix the provider (its key, its credit, its URL), then run the eval again",
            soft_wrap=True,
        )
    if problems:
        raise SystemExit(EXIT_FAILURE)
    if unjudged:
        raise SystemExit(EXIT_UNAVAILABLE)  # nothing of a model judged: its provider failed


def _rounds(config: Any, catalog: Any, most: int | None) -> Any:
    """The gate's round planner for ``--until-decided`` (the configured policy decides)."""
    from clearance.gate.adaptive import GateRounds, StoppingRule
    from clearance.gate.run import find_policy

    policy = find_policy(config)
    rule = StoppingRule(most or config.evals.trials, policy.min_trials_per_case)
    return GateRounds(config, catalog, policy, (), rule)


def _print_adaptive(evaluation: Any, catalog: Any) -> None:
    """Each model's decision where the adaptive run stopped, and the trials it saved."""
    planner = evaluation.rounds
    results = planner.judge(evaluation.run_id)
    fixed = len(evaluation.models) * len(evaluation.cases) * evaluation.trials
    frame = _run_frame(catalog, evaluation.run_id)
    played = len(frame[["model_id", "case_id", "trial"]].drop_duplicates())
    rule = planner.rule
    console.print(
        f"until decided ({escape(planner.policy.name)} policy, {rule.to_json()['method']}: "
        f"enable at one-sided {rule.enable_level(planner.policy.confidence):.4g}, disable at "
        f"{rule.disable_level(planner.policy.confidence):.4g}): {evaluation.looks} rounds"
    )
    for model_id in sorted(results):
        result = results[model_id]
        console.print(f"  {escape(model_id)}: {result.decision}")
        if result.decision == "inconclusive":
            for reason in result.reasons[:3]:
                console.print(f"    {escape(reason)}", soft_wrap=True)
    if evaluation.budget_note:
        console.print(f"  stopped: {escape(evaluation.budget_note)}")
    saved = fixed - played
    share = saved / fixed if fixed else 0.0
    console.print(
        f"  {played} trials where a fixed run of {evaluation.trials} per case makes {fixed}: "
        f"{saved} saved ({share:.0%})"
    )


def _run_frame(catalog: Any, run_id: str) -> Any:
    from clearance.evaluation.results import ResultStore

    return ResultStore(catalog).results([run_id], evidence=False)


def _progress(quiet: bool) -> Progress | None:
    if quiet:
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[infra]}"),
        TextColumn("{task.fields[spend]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=not sys.stdout.isatty(),
        disable=not sys.stdout.isatty(),
    )


def _run_document(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "status": run.status,
        "note": run.note,
        "planned": run.planned,
        "counts": run.counts,
        "spend": run.spend,
        "elapsed_s": round(run.elapsed_s, 3),
        "models": run.per_model(),
        "summary": f"clearance runs show {run.run_id} --json",
    }


def _print_run(run: Any) -> None:
    counts = run.counts
    console.print(
        f"run {run.run_id}: {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['infra_error']} infra errors, {counts['not_run']} not run; "
        f"{run.spend} USD, {run.elapsed_s:.1f} s ({run.status})"
    )
    if run.note:
        console.print(f"[bold yellow]{escape(run.note)}[/]")
    for model_id, tally in sorted(run.per_model().items()):
        share = tally["passed_share"]
        console.print(
            f"  {escape(model_id)}: {tally['pass']} passed, {tally['fail']} failed, "
            f"{tally['infra_error']} infra errors"
            + (f" ({share:.1%} of judged items passed)" if share is not None else "")
        )
    console.print(
        f"pass@1, pass^k, per tool and per flow: [bold]clearance runs show {run.run_id}[/]"
    )


def _print_summary(run_id: str, catalog: Any) -> None:
    from clearance.catalog.runstore import ResultStore
    from clearance.evaluation.metrics import summarize

    frame = ResultStore(catalog).results(run_id)
    if frame.empty:
        console.print("no results stored for this run")
        return
    summary = summarize(frame)
    table = Table(title=f"run {escape(run_id)}", box=box.SIMPLE_HEAD)
    for column in ("model", "items", "pass@1", "pass^k", "infra", "cost (USD)", "top failures"):
        table.add_column(column, justify="left" if column in ("model", "top failures") else "right")
    for model in summary.models:
        hat = ", ".join(
            f"^{k} {v.value:.2f}"
            for k, v in sorted(model.pass_hat_k.items())
            if k > 1 and v.value is not None
        )
        failures = ", ".join(
            f"{code} {count}"
            for code, count in sorted(model.failure_codes.items(), key=lambda kv: -kv[1])[:3]
        )
        table.add_row(
            escape(model.model_id),
            str(model.items),
            f"{model.pass_at_1:.2f}" if model.pass_at_1 is not None else "-",
            hat or "-",
            f"{model.infra_errors} ({model.infra_share:.0%})",
            f"{model.total_cost:f}",
            escape(failures) or "-",
        )
    console.print(table)
    _print_infra(summary)


def _print_infra(summary: Any) -> None:
    """Each model's infrastructure errors by kind and HTTP status, with the provider's
    messages (redacted) and the fix, when the errors named one."""
    models = [model for model in summary.models if model.infra_causes]
    if not models:
        return
    table = Table(
        title="infrastructure errors (not the models' failures; left out of every rate)",
        box=box.SIMPLE_HEAD,
    )
    for column in ("model", "kind", "HTTP", "trials", "provider's message", "cases"):
        table.add_column(column, justify="right" if column in ("HTTP", "trials") else "left")
    fixes: dict[str, None] = {}
    for model in models:
        for group in model.infra_causes:
            messages = [
                f"{m.message} ({m.trials}x)" if len(group.messages) > 1 else m.message
                for m in group.messages
            ]
            if group.other_messages:
                messages.append(f"… {group.other_messages} other message(s)")
            trials = str(group.trials)
            if group.from_recording:
                trials += f" ({group.from_recording} replayed)"
            cases = ", ".join(group.cases[:5])
            if len(group.cases) > 5:
                cases += f" … {len(group.cases) - 5} more"
            table.add_row(
                escape(model.model_id),
                escape(group.kind),
                str(group.status_code) if group.status_code is not None else "-",
                trials,
                escape("\n".join(messages)) or "-",
                escape(cases),
            )
            if group.fix:
                fixes.setdefault(group.fix)
    console.print(table)
    for fix in list(fixes)[:5]:
        console.print(f"fix: {escape(fix)}", soft_wrap=True)


@runs_app.command("list")
@handle_errors
def runs_list(
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, help="How many, newest first.")
    ] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List stored eval runs, newest first."""
    from clearance.catalog.runstore import ResultStore

    _, catalog = load()
    runs = ResultStore(catalog).runs(limit=limit)
    if as_json:
        emit_json([_run_json(r) for r in runs])
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("run", "status", "started", "models", "trials", "mode", "spend"):
        table.add_column(column)
    for r in runs:
        table.add_row(
            escape(r.run_id),
            r.status,
            r.started_at.isoformat(timespec="seconds"),
            escape(", ".join(r.models)),
            str(r.trials),
            str(r.record_mode),
            f"{r.spend:f}" if r.spend is not None else "-",
        )
    console.print(table)


def _run_json(record: Any) -> dict[str, Any]:
    document: dict[str, Any] = record.to_json()
    return document


@runs_app.command("show")
@handle_errors
def runs_show(
    run_id: Annotated[
        str | None, typer.Argument(metavar="RUN_ID", help="The run (default: the latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Summarize a stored run: pass@1, pass^k, per tool and flow, failures, cost."""
    from clearance.catalog.runstore import ResultStore
    from clearance.evaluation.metrics import summarize, summary_to_dict

    _, catalog = load()
    store = ResultStore(catalog)
    run_id = run_id or store.latest_run_id()
    if run_id is None or store.run(run_id) is None:
        raise InputError(
            f"no eval run {run_id!r}" if run_id else "no eval run is stored yet",
            fix="run `clearance eval` (or `pytest evals`); `clearance runs list` shows runs",
        )
    if as_json:
        emit_json(summary_to_dict(summarize(store.results(run_id))))
        return
    _print_summary(run_id, catalog)


@runs_app.command("export")
@handle_errors
def runs_export(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="The JSON Lines file ('-': stdout).")
    ],
) -> None:
    """Write a run's results as JSON Lines (one object per result)."""
    from clearance.catalog.runstore import ResultStore

    _, catalog = load()
    store = ResultStore(catalog)
    if store.run(run_id) is None:
        raise InputError(f"no eval run {run_id!r}", fix="`clearance runs list` shows runs")
    if str(out) == "-":
        lines = store.export_jsonl(run_id, sys.stdout)
    else:
        lines = store.export_jsonl(run_id, out)
        console.print(f"{lines} line(s) written to {escape(str(out))}")

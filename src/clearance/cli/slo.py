"""``clearance slo check`` and ``slo report``: the objectives of ``gates/slo.yaml`` on live
traffic, and the model snapshots serving it, as an alarm (exit code) and as a page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import console, emit_json, handle_errors, load
from clearance.cli._options import App
from clearance.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig
    from clearance.slo import (
        RetrievalCheck,
        RetrievalResult,
        SloReport,
        SloResult,
        SnapshotCheck,
    )

__all__ = ["app", "check", "report_page"]

app = App(
    help="Service-level objectives on live traffic (the ai_calls table).", no_args_is_help=True
)

_STYLE = {"ok": "green", "breach": "bold red", "insufficient_data": "yellow", "no_data": "dim"}


def _instant(text: str | None, option: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option}: {text!r} is not an ISO 8601 time",
            fix=f"write e.g. {option} 2026-01-31T09:00Z (no offset means UTC)",
        ) from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _model_id(connection: Connection, text: str | None, config: ClearanceConfig) -> str | None:
    """A bare catalog name becomes its ``PROVIDER:NAME`` id; anything else is kept as logged."""
    if text is None or ":" in text:
        return text
    from clearance.catalog.modelstore import resolve_model_id
    from clearance.errors import InvalidModelId, UnknownModel

    try:
        return resolve_model_id(connection, text, config.provider_names)
    except (InvalidModelId, UnknownModel):
        return text  # an ad-hoc model, or a refused request's raw text


_FORMATS = {
    "rate": ("{:.2%}", "{:.4%}", "{:.6%}"),
    "ms": ("{:,.0f} ms", "{:,.3f} ms"),
    "usd": ("{:.6g} USD", "{:.12g} USD", "{} USD"),
}


def _form(result: SloResult) -> str:
    """The format of ``result``'s figures: the fewest digits that still tell a breached
    measure from its bound (a breach never prints as ``0.1 USD (objective ≤ 0.1 USD)``)."""
    formats = _FORMATS[result.objective.info.unit]
    measured = result.measured
    if result.status != "breach" or measured is None:
        return formats[0]
    bound = type(measured)(result.threshold)
    return next(
        (form for form in formats if _shown(form, measured) != _shown(form, bound)), formats[-1]
    )


def _shown(form: str, value: float | Decimal) -> Decimal:
    """The number ``form`` prints for ``value`` (``0.100000`` and ``0.1`` are the same)."""
    text = form.format(value).split()[0].replace(",", "").rstrip("%")
    return Decimal(text)


def _value(result: SloResult, value: float | Decimal | None) -> str:
    return "-" if value is None else _form(result).format(value)


def _objective(result: SloResult) -> str:
    sign = "≥" if result.objective.info.bound == "min" else "≤"
    threshold = result.threshold
    if result.objective.info.unit == "usd":
        return f"{sign} {threshold} USD"
    measured = result.measured
    return f"{sign} {_value(result, threshold if measured is None else type(measured)(threshold))}"


def _print(report: SloReport) -> None:
    policy = report.policy
    source = policy.path or "objectives built in code"
    filters = "".join(
        f", {name} {escape(value)}"
        for name, value in (("org", report.org), ("model", report.model))
        if value
    )
    console.print(
        f"SLO check of {escape(str(source))}: {report.since:%Y-%m-%d %H:%M} to "
        f"{report.until:%Y-%m-%d %H:%M} UTC, grouped by {policy.group_label}{filters}: "
        f"{report.calls:,} calls in {len(report.groups)} group(s)"
    )
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("group", "metric", "measured", "objective", "n", "status"):
        table.add_column(column, justify="right" if column in ("measured", "n") else "left")
    for result in report.results:
        table.add_row(
            escape(result.group.label),
            result.objective.metric,
            _value(result, result.measured),
            _objective(result),
            f"{result.n:,}",
            f"[{_STYLE[result.status]}]{result.status}[/]",
        )
    console.print(table)
    for result in report.breaches:
        evidence = result.evidence
        console.print(
            f"[bold red]breach[/] [bold]{escape(result.group.label)}[/] "
            f"{result.objective.metric} {_value(result, result.measured)} "
            f"(objective {_objective(result)}): {escape(evidence.detail)}"
        )
        if evidence.reasons:
            reasons = ", ".join(f"{name}: {count}" for name, count in evidence.reasons[:5])
            console.print(f"  why: {escape(reasons)}")
        for example in evidence.examples:
            console.print(
                f"  call {escape(example.call_id)} at {example.started_at:%Y-%m-%d %H:%M:%S}: "
                f"{escape(example.detail)}"
            )
    if report.retrieval is not None:
        _print_retrieval(report.retrieval)
    if report.snapshots is not None and report.snapshots.models:
        _print_snapshots(report.snapshots)
    counts = report.status_counts()
    if report.retrieval is not None:
        for status, count in report.retrieval.status_counts().items():
            counts[status] += count  # type: ignore[index]  # the same four statuses
    waiting = counts["insufficient_data"] + counts["no_data"]
    if waiting:
        console.print(
            f"{counts['insufficient_data']} insufficient_data (fewer calls than min_calls) and "
            f"{counts['no_data']} no_data (nothing to measure): neither is a breach"
        )
    if report.breached:
        console.print(f"[red]{counts['breach']} objective(s) breached[/]")
    else:
        console.print(f"[green]no objective breached[/] ({counts['ok']} met)")
    if report.unverified:
        console.print(f"[red]{len(report.unverified)} unverified model snapshot(s)[/]")


def _rate_or_ms(result: RetrievalResult, value: float | Decimal | None) -> str:
    if value is None:
        return "-"
    if result.objective.info.unit == "ms":
        return f"{float(value):,.1f} ms"
    return f"{float(value):.2%}"


def _print_retrieval(check: RetrievalCheck) -> None:
    """The retrieval objectives by group, then each breach with its example retrievals
    (named by call id: a query's text is never stored)."""
    objectives = check.objectives
    console.print(
        f"retrieval objectives, grouped by {objectives.group_label}: {check.retrievals:,} "
        f"retrieval(s) in {len(check.groups)} group(s)"
    )
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("group", "metric", "measured", "objective", "n", "status"):
        table.add_column(column, justify="right" if column in ("measured", "n") else "left")
    for result in check.results:
        table.add_row(
            escape(result.group.label),
            result.objective.metric,
            _rate_or_ms(result, result.measured),
            f"≤ {_rate_or_ms(result, result.threshold)}",
            f"{result.n:,}",
            f"[{_STYLE[result.status]}]{result.status}[/]",
        )
    console.print(table)
    for result in check.breaches:
        console.print(
            f"[bold red]breach[/] retrieval [bold]{escape(result.group.label)}[/] "
            f"{result.objective.metric} {_rate_or_ms(result, result.measured)} (objective "
            f"≤ {_rate_or_ms(result, result.threshold)}): {escape(result.evidence.detail)}"
        )
        for example in result.evidence.examples:
            console.print(
                f"  call {escape(example.call_id or '(none)')} at "
                f"{example.created_at:%Y-%m-%d %H:%M:%S}: {escape(example.detail)}"
            )


def _verified(snapshots: dict[str, int] | None) -> str:
    if not snapshots:
        return "no snapshot"
    shown = ", ".join(f"{name} ({count})" for name, count in list(snapshots.items())[:3])
    return shown + (f" and {len(snapshots) - 3} more" if len(snapshots) > 3 else "")


def _print_snapshots(check: SnapshotCheck) -> None:
    """The gated models' live calls by model snapshot (when a model has an enabling
    decision); every unverified one, and what was done about it. Snapshots are a
    provider's text: escaped."""
    calls = sum(model.calls for model in check.models)
    found = check.unverified
    console.print(
        f"model snapshots: {len(check.models)} model(s) with an enabling decision served "
        f"{calls:,} live call(s); "
        + (f"[bold red]{len(found)} unverified snapshot(s)[/]" if found else "none unverified")
    )
    marked = {mark.decision_id for mark in check.marked}
    for model in check.models:
        for item in model.unverified:
            console.print(
                f"[bold red]unverified snapshot[/] [bold]{escape(item.model_id)}[/]: "
                f"{escape(item.snapshot)} served {item.calls:,} call(s) from "
                f"{item.first_seen:%Y-%m-%d %H:%M} to {item.last_seen:%Y-%m-%d %H:%M} UTC; "
                f"decision #{model.decision_id} was taken on "
                f"{escape(_verified(dict(model.verified or {})))}"
            )
        if not model.unverified:
            continue
        model_id = escape(model.model_id)
        if model.decision_id in marked:
            console.print(
                f"  decision #{model.decision_id} marked stale (its policy says "
                f"on_unverified: stale): the router no longer serves {model_id}; "
                f"re-run `clearance eval --models {model_id}` and `clearance gate`"
            )
        elif model.stale_reason is not None:
            console.print(f"  decision #{model.decision_id} is stale already")
        else:
            console.print(
                f"  its policy says on_unverified: {model.on_unverified or 'warn'}: re-verify "
                f"with `clearance eval --models {model_id}` and `clearance gate`"
            )
    if check.unknown_calls:
        console.print(
            f"{check.unknown_calls:,} live call(s) reported no snapshot: counted as unknown, "
            "not flagged"
        )
    for model_id in check.unrecorded:
        console.print(
            f"{escape(model_id)}: its enabling decision records no snapshot (taken before "
            "snapshots were kept), so it verifies none; gate it again to record them"
        )


_WINDOW = typer.Option(
    "--window",
    metavar="DURATION",
    help="How far back: 15m, 1h, 24h, 7d (default: the file's window).",
)
_SINCE = typer.Option(
    "--since",
    metavar="TIME",
    help="Start, ISO 8601 (UTC without an offset); alone: up to now, with --window: "
    "that long from then.",
)
_UNTIL = typer.Option("--until", metavar="TIME", help="End (excluded), ISO 8601; default: now.")
_ORG = typer.Option("--org", metavar="ORG", help="Only this org's calls.")
_MODEL = typer.Option(
    "--model", metavar="MODEL_ID", help="Only this model's calls (PROVIDER:NAME, or a NAME)."
)
_FILE = typer.Option(
    "--file", metavar="FILE", help="The objectives file (default: gates/slo.yaml)."
)
_BY = typer.Option(
    "--by",
    metavar="GROUPING",
    help="Group by model, org, model+org or all (default: the file's group_by).",
)
_EVALS = typer.Option(
    "--include-evals",
    help="Also count the calls eval runs made (not live traffic) in the objectives; model "
    "snapshots are checked on live calls alone.",
)


def _judge(
    window: str | None,
    since: str | None,
    until: str | None,
    org: str | None,
    model: str | None,
    file: Path | None,
    include_evals: bool,
    by: str | None,
) -> tuple[SloReport, ClearanceConfig, Catalog]:
    """Read the objectives and judge them over the window the options give."""
    from clearance.slo import check_window, load_slo_policy, parse_duration, regroup, slo_path

    config, catalog = load()
    policy = load_slo_policy(file or slo_path(config.root, config.gate.root))
    if by is not None:
        policy = regroup(policy, by)
    with catalog.connect() as connection:
        model_id = _model_id(connection, model, config)
    report = check_window(
        catalog,
        policy,
        window=None if window is None else parse_duration(window, where="--window"),
        since=_instant(since, "--since"),
        until=_instant(until, "--until"),
        org=org,
        model=model_id,
        include_evals=include_evals,
    )
    return report, config, catalog


@app.command("check")
@handle_errors
def check(
    window: Annotated[str | None, _WINDOW] = None,
    since: Annotated[str | None, _SINCE] = None,
    until: Annotated[str | None, _UNTIL] = None,
    org: Annotated[str | None, _ORG] = None,
    model: Annotated[str | None, _MODEL] = None,
    file: Annotated[Path | None, _FILE] = None,
    include_evals: Annotated[bool, _EVALS] = False,
    by: Annotated[str | None, _BY] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Judge the objectives of gates/slo.yaml on the live calls of a window, and the model
    snapshots that served them against those the gate decisions were taken on.

    Exit 0 when no objective is breached (insufficient_data and no_data are not
    breaches) and no live call was served by an unverified model snapshot, 1 on either,
    2 on a bad objectives file or argument. A gate policy with
    ``snapshots: {on_unverified: stale}`` also has the decision marked stale.
    """
    report, config, catalog = _judge(window, since, until, org, model, file, include_evals, by)
    if report.unverified:
        report = _enforce(report, config, catalog)
    if as_json:
        emit_json(report.to_json())
    else:
        _print(report)
    raise typer.Exit(report.exit_code)


def _enforce(report: SloReport, config: ClearanceConfig, catalog: Catalog) -> SloReport:
    """What each flagged decision's gate policy says of an unverified snapshot, done."""
    from dataclasses import replace

    from clearance.gate.run import snapshot_rules
    from clearance.slo import enforce_snapshots

    assert report.snapshots is not None
    rules = snapshot_rules(config)
    with catalog.begin() as connection:
        done = enforce_snapshots(connection, report.snapshots, rules, now=report.checked_at)
    return replace(report, snapshots=done)


@app.command("report")
@handle_errors
def report_page(
    window: Annotated[str | None, _WINDOW] = None,
    since: Annotated[str | None, _SINCE] = None,
    until: Annotated[str | None, _UNTIL] = None,
    org: Annotated[str | None, _ORG] = None,
    model: Annotated[str | None, _MODEL] = None,
    file: Annotated[Path | None, _FILE] = None,
    include_evals: Annotated[bool, _EVALS] = False,
    by: Annotated[str | None, _BY] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="The HTML file (default: reports/slo.html)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report and the page's path as JSON.")
    ] = False,
) -> None:
    """Write the SLO page (HTML, self-contained): objectives per group, breaches with
    their evidence, figures, and the fallback reasons and error kinds behind them.

    Exit 0 once written, whatever it shows (`clearance slo check` is the alarm).
    """
    from clearance.evaluation.cassettes import write_atomic
    from clearance.reports.slopage import render_slo_page

    report, config, catalog = _judge(window, since, until, org, model, file, include_evals, by)
    path = out or config.root / "reports" / "slo.html"
    write_atomic(path, render_slo_page(report, catalog=catalog).encode("utf-8"))
    if as_json:
        emit_json({"page": str(path), **report.to_json()})
        return
    counts = report.status_counts()
    console.print(
        f"{report.calls} calls, {counts['breach']} objective(s) breached, {counts['ok']} met; "
        f"SLO page: {escape(str(path))}"
    )

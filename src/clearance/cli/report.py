"""``clearance report``: the HTML reliability report of an eval run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from clearance.cli._common import console, emit_json, handle_errors, load
from clearance.cli._options import split_list
from clearance.errors import ConfigError

__all__ = ["DEFAULT_OUT", "report_command"]

DEFAULT_OUT = Path("reports") / "html"
"""Where the report goes, under the project root, unless ``--out`` says otherwise."""


@handle_errors
def report_command(
    run: Annotated[
        str | None,
        typer.Option(
            "--run", metavar="RUN_ID", help="The eval run (default: the newest complete run)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FOLDER",
            help="The report's folder, replaced whole (default: reports/html).",
        ),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            metavar="MODEL_ID,...",
            help="Only these models; repeat or separate with commas (default: all).",
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            metavar="POLICY",
            help="Gate policy for dry-run verdicts (default: the configured one).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was written as JSON.")
    ] = False,
) -> None:
    """Write the HTML reliability report: verdicts, intervals, failures, costs, trends.

    The folder holds index.html, one page per model (failing cases paged) and, when
    gates/slo.yaml exists, slo.html (the SLOs over its window), and, when \\[\\[retrievers]]
    are declared, retrieval.html (their scores and gate decisions); it is self-contained
    (no network, no scripts) and opens from disk.
    """
    from clearance.gate.run import find_policy
    from clearance.reports import collect_report, write_report
    from clearance.reports.slopage import configured_slo_report, slo_pages

    config, catalog = load()
    chosen = find_policy(config, policy) if policy else None
    wanted = split_list(models)
    data = collect_report(config, catalog, run_id=run, policy=chosen, models=wanted)
    folder = out or config.root / DEFAULT_OUT
    try:
        pages = slo_pages(configured_slo_report(config, catalog), catalog=catalog)
    except ConfigError as error:  # the release report still stands; say what is missing
        pages = {}
        problem = f"the SLO page was not written: {error.message}"
        data = dataclasses.replace(data, notes=(*data.notes, problem))
        typer.echo(f"warning: {problem}" + (f"\n  fix: {error.fix}" if error.fix else ""), err=True)
    from clearance.reports.retrievalpage import retrieval_pages

    pages = {**pages, **retrieval_pages(config, catalog)}
    files = write_report(data, folder, catalog=catalog, extra_pages=pages)
    if as_json:
        emit_json(
            {
                "index": str(files.index),
                "files": len(files.pages),
                "bytes": files.bytes,
                "run_id": None if data.run is None else data.run.run_id,
                "models": [
                    {"model_id": m.model_id, "verdict": m.verdict, "simulated": m.simulated}
                    for m in data.models
                ],
            }
        )
        return
    if not data.models:
        console.print("nothing to report yet: the catalog holds no eval results")
        console.print("run `clearance eval` (or `pytest evals`) and `clearance gate` first")
    else:
        verdicts = ", ".join(f"{m.model_id} {m.verdict}" for m in data.models)
        console.print(f"run {escape(data.run.run_id if data.run else '-')}: {escape(verdicts)}")
    console.print(
        f"report: {escape(str(files.index))} ({len(files.pages)} files, {files.bytes:,} bytes)"
    )

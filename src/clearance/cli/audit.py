"""``clearance audit``: tool calls in recorded third-party traffic, judged per model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import EXIT_USAGE, console, emit_json, errors, fail, handle_errors
from clearance.errors import InputError

if TYPE_CHECKING:
    from clearance.evaluation.audit import AuditReport

__all__ = ["audit"]


def _counts(counts: dict[str, int]) -> str:
    return "\n".join(f"{name}={count}" for name, count in counts.items()) or "-"


def _table(report: AuditReport) -> Table:
    table = Table(
        title=f"tool calls in {escape(str(report.directory))}",
        caption="json: not a JSON object; schema: breaks the schema sent; "
        "unk: a tool not offered; nosch: no usable schema was sent; rej: refused by the provider",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("model", overflow="fold", min_width=24)
    for column in ("resp", "calls", "ok", "json", "schema", "unk", "nosch", "rej"):
        table.add_column(column, justify="right")
    table.add_column("quirks", overflow="fold", max_width=23)
    table.add_column("errors", overflow="fold", min_width=19)
    for row in report.by_model():
        model = row.model
        if row.served_as:
            model += "".join(f"\n= {served}" for served in row.served_as)
        table.add_row(
            escape(model),
            *(
                str(value)
                for value in (
                    row.responses,
                    row.tool_calls,
                    row.valid,
                    row.invalid_json,
                    row.schema_violation,
                    row.unknown_tool,
                    row.unusable_schema,
                )
            ),
            str(row.rejected),
            escape(_counts(row.quirks)),
            escape(_counts(row.errors)),
        )
    return table


@handle_errors
def audit(
    directory: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="A folder of VCR.py cassettes (*.yaml).")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the full report as JSON instead of the table.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Also write the full report (JSON) to FILE."),
    ] = None,
) -> None:
    """Check every recorded tool call against the schema sent with its request.

    Exit 2 when any cassette could not be read (each is named, with its line when the
    YAML parser knows it); the report still covers the others.
    """
    from clearance.evaluation.audit import audit_cassettes

    report = audit_cassettes(directory)
    document = report.to_dict()
    if out is not None:
        try:
            out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise InputError(
                f"cannot write the report to {out}: {error}",
                fix="give --out a path in a folder you can write to",
            ) from None
    if as_json:
        emit_json(document)
        _exit_if_unreadable(report)
        return
    calls = report.calls()
    console.print(
        f"{report.files} cassette(s), {len(report.exchanges())} model response(s), "
        f"{len(calls)} tool call(s), {sum(c.verdict == 'valid' for c in calls)} valid"
    )
    console.print(_table(report))
    for unreadable in report.unreadable:
        errors.print(f"[bold yellow]unreadable:[/] {escape(unreadable.reason)}", soft_wrap=True)
    if out is not None:
        console.print(f"report written to {escape(str(out))}")
    _exit_if_unreadable(report)


def _exit_if_unreadable(report: AuditReport) -> None:
    """Exit 2 when a cassette could not be read: the audit is of the others only."""
    if report.unreadable:
        fail(
            f"{len(report.unreadable)} of {report.files} cassette(s) could not be read "
            f"(the first: {report.unreadable[0].reason}); the figures cover the others",
            fix="repair or remove those files (a half-written cassette is usually the last "
            "one a killed recorder wrote), then run the audit again",
            code=EXIT_USAGE,
        )

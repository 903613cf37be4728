"""``clearance gate --retrieval``: judge retriever configurations on their stored
retrieval scores, write the decisions, print them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import console, emit_json

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig
    from clearance.gate.policy import GatePolicy
    from clearance.gate.retrieval import RetrievalGateRun

__all__ = ["print_retrieval_gate", "retrieval_gate"]

_STYLE = {"enable": "green", "disable": "red", "inconclusive": "yellow"}


def print_retrieval_gate(run: RetrievalGateRun) -> None:
    """The decisions, a table and the reasons of what was not enabled."""
    policy = run.policy
    digest = (policy.source_hash or "built in code")[:12]
    console.print(f"retrieval gate, policy [bold]{escape(policy.name)}[/] ({digest})")
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("retriever", "decision", "checks", "runs"):
        table.add_column(column)
    for verdict in run.verdicts:
        decision = verdict.decision or "not judged"
        style = _STYLE.get(decision, "red")
        passed = sum(check.verdict == "pass" for check in verdict.checks)
        table.add_row(
            escape(verdict.retriever),
            f"[{style}]{decision}[/]",
            f"{passed}/{len(verdict.checks)} passed",
            escape(", ".join(verdict.run_ids) or "-"),
        )
    console.print(table)
    for verdict in run.verdicts:
        if verdict.passed:
            continue
        console.print(f"[bold]{escape(verdict.retriever)}[/]: {verdict.decision or 'not judged'}")
        for reason in verdict.reasons:
            console.print(f"  {escape(reason)}", soft_wrap=True)
    if run.written:
        expiry = "never" if run.expires_at is None else run.expires_at.isoformat()
        console.print(f"decisions written to the catalog (they expire: {expiry})")
    else:
        console.print("dry run: nothing written to the catalog")
    state = "[green]passed[/]" if run.exit_code == 0 else "[red]failed[/]"
    console.print(f"retrieval gate {state}")


def retrieval_gate(
    config: ClearanceConfig,
    catalog: Catalog,
    policy: GatePolicy,
    *,
    retrievers: Sequence[str],
    run_ids: Sequence[str],
    write: bool,
    as_json: bool,
) -> int:
    """Run, print and return the exit code of a retrieval gate."""
    from clearance.gate.retrieval import run_retrieval_gate

    run = run_retrieval_gate(
        config, catalog, policy=policy, retrievers=retrievers, run_ids=run_ids, write=write
    )
    if as_json:
        emit_json(run.to_json())
    else:
        print_retrieval_gate(run)
    return run.exit_code

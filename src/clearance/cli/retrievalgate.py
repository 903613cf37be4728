"""``clearance gate --retrieval``: judge retriever configurations on their stored
retrieval scores, write the decisions, print them; and the retriever part of
``clearance decisions list``: each configuration's state for the router now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.markup import escape
from rich.table import Table

from clearance.cli._common import console, emit_json

if TYPE_CHECKING:
    from clearance.catalog.database import Catalog
    from clearance.config import ClearanceConfig
    from clearance.gate.policy import GatePolicy
    from clearance.gate.retrieval import RetrievalGateRun, RetrieverClearance

__all__ = ["list_retrievers", "print_retrieval_gate", "retrieval_gate", "retriever_states"]

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


def retriever_states(
    config: ClearanceConfig, catalog: Catalog, *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Every declared configuration's state as the router sees it now (cleared or not, and
    why), then every configuration with a stored decision that is no longer declared."""
    from clearance.catalog.retrieverdecisions import latest_retriever_decisions
    from clearance.gate.retrieval import RetrieverClearance, retriever_clearance

    now = now or dt.datetime.now(dt.UTC)
    with catalog.connect() as connection:
        latest = latest_retriever_decisions(connection)
    states: list[dict[str, Any]] = []

    def add(state: RetrieverClearance, declared: bool, kind: str | None) -> None:
        decision = state.decision
        states.append(
            {
                "retriever": state.retriever,
                "declared": declared,
                "kind": kind,
                "serves": list(config.knowledge.served_by(state.retriever)) if declared else [],
                "allows": state.allows,
                "label": state.label,
                "detail": state.detail,
                "decision": None if decision is None else decision.to_json(),
            }
        )

    for entry in config.retrievers:
        add(retriever_clearance(entry, latest.get(entry.name), now=now), True, entry.kind)
    declared = {entry.name for entry in config.retrievers}
    for name in sorted(set(latest) - declared):
        row = latest[name]
        detail = (
            f"{name}: {row.decision} by the gate ({row.policy_name}) on "
            f"{row.decided_at:%Y-%m-%d}; no longer in [[retrievers]], so never used"
        )
        label: Any = row.decision
        add(RetrieverClearance(name, False, label, detail, row), False, row.config.get("kind"))
    return states


def list_retrievers(
    config: ClearanceConfig, catalog: Catalog, *, as_json: bool, alone: bool
) -> None:
    """Print :func:`retriever_states` (a table, or JSON); ``alone``: say so when there are
    none (beside the models' table, an empty section is left out)."""
    states = retriever_states(config, catalog)
    if as_json:
        emit_json(states)
        return
    if not states:
        if alone:
            console.print(
                "no retriever configuration: declare [[retrievers]] in clearance.toml, then "
                "clearance eval --suites retrieval and clearance gate --retrieval",
                markup=False,
            )
        return
    table = Table(box=box.SIMPLE_HEAD, title=f"retrieval-gate state of {len(states)} retrievers")
    for column in ("retriever", "kind", "serves", "used", "state", "why"):
        table.add_column(column)
    for state in states:
        used = "[green]yes[/]" if state["allows"] else "[red]no[/]"
        table.add_row(
            escape(state["retriever"]),
            escape(state["kind"] or "-"),
            escape(", ".join(state["serves"]) or "-"),
            used,
            state["label"],
            escape(state["detail"]),
        )
    console.print(table)

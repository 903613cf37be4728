"""Everything one report shows, read from the catalog.

One module just past 600 lines, on purpose: :func:`collect_report` reads one run's
figures, decisions and calls for every section in one pass over one results frame; the
figures themselves are computed in :mod:`~clearance.reports.figures` and the turns in
:mod:`~clearance.reports.turns`.

:func:`collect_report` reads one eval run (default: the latest complete one) and,
per model in it: the gate's verdict on that run (the recorded decision when the
gate judged this run, else what the configured policy says of it, marked as a dry
run), the decision before it and what moved since, the tool × model cells with
their intervals, pass^k, flows, trends over earlier runs, failures grouped by
code, flaky cases, infra errors and fallbacks apart, cost and latency (with
calls priced by the default price, and calls priced from estimated tokens because
the answer reported no usage, counted from the call log), and the model snapshots
its judged trials were answered by.

Evidence (transcripts) is not read here: the failing cases are listed by
reference, and :func:`load_failing` reads one page of them at a time.

The SQL is the stores': :mod:`clearance.catalog.reportstore` (models' metadata,
evidence) and :mod:`clearance.catalog.callstats` (the run's logged calls).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from clearance.catalog.callstats import run_call_pricing
from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import DecisionRow, GateState, gate_states, history, state_of
from clearance.catalog.reportstore import flagged_evidence, models_metadata, trial_evidence
from clearance.config import ClearanceConfig
from clearance.errors import ClearanceError, InputError
from clearance.evaluation.infra import InfraGroup, group_infra
from clearance.evaluation.metrics import ModelSummary, mark_judged, summarize
from clearance.evaluation.results import ResultStore, RunRecord
from clearance.gate.decide import decide, result_snapshots
from clearance.gate.policy import GatePolicy
from clearance.reports.drilldown import FailingCase, failing_case
from clearance.reports.figures import (
    FLOWS,
    Cell,
    Change,
    FlakyCase,
    TrendPoint,
    cell_changes,
    cells,
    check_changes,
    flaky_cases,
    trends,
)
from clearance.reports.leaderboard import BfclLeaderboard, bfcl_leaderboard
from clearance.reports.settle import SettlePlan, settle_plan
from clearance.reports.turns import FlowScripts, load_flow_scripts, pooled_note, tool_turns

__all__ = [
    "CaseRef",
    "CostFigures",
    "FlowRow",
    "InfraGroup",
    "ModelReport",
    "ReportData",
    "collect_report",
    "load_failing",
    "simulated_models",
]

TREND_RUNS = 20
"""Runs a trend goes back over."""


@dataclass(frozen=True, slots=True)
class CostFigures:
    """What a model cost in the run, and how fast it answered."""

    spend: Decimal
    """USD over the priced trials (a lower bound when ``unpriced`` is not 0)."""
    priced: int
    unpriced: int
    cost_per_success: Decimal | None
    """spend / passed trials (the cost of one successful task)."""
    p50_ms: float | None
    p95_ms: float | None
    logged_calls: int
    """Calls of this model in the call log while the run ran."""
    default_priced_calls: int
    """Of those, calls priced by the default price (the catalog had no price)."""
    estimated_calls: int = 0
    """Of those, calls priced from estimated tokens (the answer reported no usage)."""
    estimated_spend: Decimal = Decimal(0)
    """USD those calls cost, as logged: the estimated part of the spend."""


@dataclass(frozen=True, slots=True)
class FlowRow:
    """One flow of one model: trials passed and turns passed."""

    case_id: str
    passes: int
    trials: int
    infra: int
    turns_passed: int
    turns_total: int


@dataclass(frozen=True, slots=True)
class CaseRef:
    """A failing case: which trial to show and how often it failed."""

    case_id: str
    case_kind: str
    tool: str | None
    codes: tuple[str, ...]
    """The failure codes of its failing trials, most frequent first."""
    trial: int
    """The first failing trial (its evidence is shown)."""
    run_id: str
    failed: int
    trials: int


@dataclass(frozen=True, slots=True)
class ModelReport:
    """One model's part of the report."""

    model_id: str
    simulated: bool
    """Served by clearance's reference provider: a SIMULATOR, never a real model."""
    summary: ModelSummary
    verdict: str
    """enable | disable | inconclusive | not judged."""
    reasons: tuple[str, ...]
    checks: tuple[Mapping[str, Any], ...]
    """As stored in ``gate_decisions.checks`` (name, verdict, measured, interval, ...)."""
    recorded: DecisionRow | None
    """The gate decision recorded on this run; ``None``: the verdict is a dry run."""
    previous: DecisionRow | None
    """The decision before this run's, for the diff."""
    state: GateState
    """What the router does with the model now (overrides and expiry included)."""
    check_diff: tuple[Change, ...]
    cell_diff: tuple[Change, ...]
    cells: Mapping[str, Cell]
    flows: tuple[FlowRow, ...]
    trends: Mapping[str, Sequence[TrendPoint]]
    failure_codes: Mapping[str, int]
    failing: tuple[CaseRef, ...]
    """Failing cases that are not flaky, ordered by their commonest failure code."""
    flaky: tuple[FlakyCase, ...]
    flaky_failing: tuple[CaseRef, ...]
    """The flaky cases' failing trials (their evidence is shown apart)."""
    infra: tuple[InfraGroup, ...]
    cost: CostFigures
    history: tuple[DecisionRow, ...]
    dry_run_error: str | None = None
    snapshots: Mapping[str, int] = field(default_factory=dict)
    """The model snapshots its judged trials in the run were answered by, to how many
    (provider text: untrusted), as the gate counts them."""
    snapshot_unknown: int = 0
    """Judged trials whose answer named no snapshot."""
    bfcl: BfclLeaderboard | None = None
    """BFCL's leaderboard figures, when the run judged an imported BFCL suite."""
    settle: SettlePlan | None = None
    """For an inconclusive verdict: how many more trials of which cases would settle it."""


@dataclass(frozen=True, slots=True)
class ReportData:
    """The whole report (``run`` is ``None`` when the catalog holds no eval run)."""

    generated_at: dt.datetime
    run: RunRecord | None
    policy: GatePolicy | None
    policy_error: str | None
    models: tuple[ModelReport, ...] = ()
    tools: tuple[str, ...] = ()
    """Rows of the tool matrix (tools, then :data:`FLOWS` if any model ran flows)."""
    trend_runs: tuple[RunRecord, ...] = ()
    notes: tuple[str, ...] = field(default=())
    scoring: Mapping[str, str] = field(default_factory=dict)
    """Suite → the scoring profile that judged it (older runs: empty)."""

    def model(self, model_id: str) -> ModelReport:
        """One model's part.

        Raises:
            KeyError: the model is not in the report.
        """
        for entry in self.models:
            if entry.model_id == model_id:
                return entry
        raise KeyError(model_id)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def simulated_models(connection: Any, model_ids: Sequence[str]) -> set[str]:
    """Those of ``model_ids`` that clearance's reference provider serves (SIMULATORS)."""
    found = set()
    for model_id, metadata in models_metadata(connection, model_ids).items():
        description = str((metadata or {}).get("description") or "")
        if "SIMULATOR" in description:
            found.add(model_id)
    return found


@dataclass(frozen=True, slots=True)
class _Logged:
    """A model's calls in the call log during a run, by how they were priced."""

    calls: int = 0
    default_priced: int = 0
    estimated: int = 0
    estimated_spend: Decimal = Decimal(0)


def _call_counts(connection: Any, run: RunRecord, model_ids: Sequence[str]) -> dict[str, _Logged]:
    """served model -> the calls the run made, by how they were priced.

    Default-priced: ``pricing_source = 'default'``, or ``'estimated'`` without a catalog
    ``price_id`` (tokens estimated, then priced at the default). Which calls are the run's:
    :func:`~clearance.catalog.callstats.run_call_pricing`.
    """
    pricing = run_call_pricing(
        connection,
        run.run_id,
        started_at=run.started_at,
        ended_at=run.ended_at or _now(),
        models=model_ids,
    )
    out: dict[str, _Logged] = {}
    for count in pricing.counts:
        seen = out.get(count.served_model, _Logged())
        estimated = count.pricing_source == "estimated"
        default = count.pricing_source == "default" or (estimated and count.without_price_id)
        out[count.served_model] = _Logged(
            seen.calls + count.calls,
            seen.default_priced + (count.calls if default else 0),
            seen.estimated + (count.calls if estimated else 0),
            seen.estimated_spend,
        )
    # estimated costs are few (answers without usage): summed here, exactly
    for cost in pricing.estimated_costs:
        seen = out[cost.served_model]
        out[cost.served_model] = replace(seen, estimated_spend=seen.estimated_spend + cost.cost)
    return out


def _decisions(
    rows: Sequence[DecisionRow], run_id: str, newer: set[str]
) -> tuple[DecisionRow | None, DecisionRow | None]:
    """(the newest gate decision on this run, the newest gate decision before it).

    ``rows``: the model's gate decisions (no overrides), newest first. ``newer``: runs
    started after this one; a decision on any of them is not before it.
    """
    current = next((row for row in rows if run_id in row.eval_run_ids), None)
    before = [
        row
        for row in rows
        if run_id not in row.eval_run_ids and not newer.intersection(row.eval_run_ids)
    ]
    if current is not None:
        before = [row for row in before if row.id < current.id]
    return current, (before[0] if before else None)


def _flows(rows: pd.DataFrame) -> tuple[FlowRow, ...]:
    flows = rows[rows["case_kind"] == "flow"]
    if flows.empty:
        return ()
    # one grouped sum over every flow (a loop over the groups cost seconds at 100k rows)
    sums = (
        pd.DataFrame(
            {
                "case_id": flows["case_id"],
                "passes": flows["_pass"].astype("int64"),
                "trials": flows["_judged"].astype("int64"),
                "infra": (~flows["_judged"]).astype("int64"),
                "turns_passed": flows["turns_passed"].fillna(0).astype("int64"),
                "turns_total": flows["turns_total"].fillna(0).astype("int64"),
            }
        )
        .groupby("case_id", sort=True)
        .sum()
    )
    return tuple(
        FlowRow(str(case_id), int(passes), int(trials), int(infra), int(passed), int(total))
        for case_id, passes, trials, infra, passed, total in zip(
            sums.index,
            sums["passes"],
            sums["trials"],
            sums["infra"],
            sums["turns_passed"],
            sums["turns_total"],
            strict=True,
        )
    )


def _by_model(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Model id -> its rows of ``frame`` (in the frame's order, index kept)."""
    return {str(model_id): part for model_id, part in frame.groupby("model_id", sort=False)}


def _failing(rows: pd.DataFrame) -> tuple[CaseRef, ...]:
    failed = rows[rows["_fail"]].sort_values(["case_id", "run_id", "trial"])
    if failed.empty:
        return ()
    judged_trials = rows[rows["_judged"]].groupby("case_id").size()
    codes = (
        failed.assign(_code=failed["failure_code"].fillna("").astype(str))
        .groupby(["case_id", "_code"])
        .size()
        .reset_index(name="n")
        .sort_values(["case_id", "n", "_code"], ascending=[True, False, True])
    )
    by_case: dict[str, list[str]] = {}
    for case_id, code in zip(codes["case_id"], codes["_code"], strict=True):
        by_case.setdefault(str(case_id), []).append(str(code))
    # plain dicts: a Series label lookup per case cost more than the grouping
    counts = {key: int(n) for key, n in failed.groupby("case_id").size().items()}
    judged = {key: int(n) for key, n in judged_trials.items()}
    first = failed.drop_duplicates("case_id")
    columns = ("case_id", "case_kind", "tool", "trial", "run_id")
    out = [
        CaseRef(
            str(case_id),
            str(kind),
            tool if isinstance(tool, str) else None,
            tuple(by_case[str(case_id)]),
            int(trial),
            str(run_id),
            counts[case_id],
            judged.get(case_id, counts[case_id]),
        )
        for case_id, kind, tool, trial, run_id in zip(
            *(first[column] for column in columns), strict=True
        )
    ]
    return tuple(sorted(out, key=lambda ref: (ref.codes[0] if ref.codes else "", ref.case_id)))


_INFRA_EVIDENCE_LIMIT = 20_000
"""Infra rows whose evidence is read to name their cause; past it, the code is shown."""


def _infra_evidence(catalog: Catalog, run_id: str) -> dict[int, Mapping[str, Any]]:
    """Result id -> evidence of the run's infra-error and fallback-served rows."""
    return flagged_evidence(catalog, run_id, limit=_INFRA_EVIDENCE_LIMIT)


def _infra(
    rows: pd.DataFrame, evidence: Mapping[int, Mapping[str, Any]], model_id: str
) -> tuple[InfraGroup, ...]:
    """The model's trials not judged, by kind and HTTP status, with the provider's messages
    (redacted) and, for recordings of a failure, the command that records them again."""
    infra = rows[~rows["_judged"]]
    if infra.empty:
        return ()
    return group_infra(
        (
            (
                str(case_id),
                evidence.get(int(row_id)),
                None if code is None or code != code else str(code),  # NaN: no code
                bool(served),
            )
            for row_id, code, served, case_id in zip(
                infra["id"],
                infra["failure_code"],
                infra["fallback_served"],
                infra["case_id"],
                strict=True,
            )
        ),
        model_id=model_id,
    )


def _reasons(checks: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """``name: detail`` of the failing checks, else of the inconclusive ones (as the gate)."""
    for verdict in ("fail", "inconclusive"):
        found = tuple(
            f"{check.get('name')}: {check.get('detail')}"
            for check in checks
            if check.get("verdict") == verdict
        )
        if found:
            return found
    return ()


def _dry_run(
    frame: pd.DataFrame,
    policy: GatePolicy | None,
    model_id: str,
    baseline: str | None,
    policy_error: str | None,
) -> tuple[str, tuple[str, ...], tuple[Mapping[str, Any], ...], str | None]:
    if policy is None:
        return "not judged", (), (), f"no gate policy loaded: {policy_error or 'none given'}"
    try:
        result = decide(frame, policy, model_id=model_id, baseline_id=baseline)
    except (ClearanceError, ValueError, TypeError) as error:
        return "not judged", (), (), f"{type(error).__name__}: {error}"
    data = result.to_json()
    return result.decision, result.reasons, tuple(data["checks"]), None


def collect_report(
    config: ClearanceConfig,
    catalog: Catalog,
    *,
    run_id: str | None = None,
    policy: GatePolicy | None = None,
    models: Sequence[str] = (),
    now: dt.datetime | None = None,
    flow_scripts: FlowScripts | None = None,
) -> ReportData:
    """Read everything the report shows for one eval run.

    Args:
        config: the configuration (the gate policy and decision rules).
        catalog: where runs, results, decisions and calls are read.
        run_id: the run (default: the newest complete run, else the newest run).
        policy: the policy for dry-run verdicts (default: the configured one).
        models: only these models (default: every model in the run).
        now: the report's time (tests).
        flow_scripts: which tools each flow's turns call (default: read from the
            project's flows), to pool flow turns into the tool cells.

    Raises:
        InputError: ``run_id`` is not in the catalog.
    """
    from clearance.gate.run import find_policy

    now = now or _now()
    policy_error = None
    if policy is None:
        try:
            policy = find_policy(config)
        except ClearanceError as error:
            policy_error = error.message
    store = ResultStore(catalog)
    runs = store.runs(limit=1000)
    if run_id is None:
        chosen = next((run for run in runs if run.status == "complete"), None)
        chosen = chosen or (runs[0] if runs else None)
        if chosen is None:
            return ReportData(now, None, policy, policy_error)
    else:
        chosen = store.run(run_id)
        if chosen is None:
            raise InputError(
                f"no eval run {run_id!r} in the catalog", fix="see `clearance runs list`"
            )
    frame = store.results(chosen.run_id, evidence=False)
    if models:
        present = set(frame["model_id"].unique())
        unknown = [model for model in models if model not in present]
        if unknown:
            raise InputError(
                f"run {chosen.run_id} has no results for {', '.join(map(repr, unknown))}",
                fix=f"models in that run: {', '.join(sorted(map(str, present))) or 'none'}",
            )
        frame = frame[frame["model_id"].isin(list(models))]
    model_ids = sorted(str(m) for m in frame["model_id"].unique())
    notes = []
    if chosen.status != "complete":
        notes.append(f"run {chosen.run_id} is {chosen.status}: its figures may be partial")
    if frame.empty:
        return ReportData(
            now, chosen, policy, policy_error, notes=(*notes, "the run holds no results")
        )

    # runs started after the chosen one (a run still going, say) are not its history
    newer = {run.run_id for run in runs if run.started_at > chosen.started_at}
    earlier = [run for run in runs if run.run_id not in newer]
    trend_runs = tuple(
        run
        for run in earlier[:TREND_RUNS]
        if set(run.models) & set(model_ids) or run.run_id == chosen.run_id
    )
    with catalog.connect() as connection:
        simulated = simulated_models(connection, model_ids)
        histories = {m: tuple(history(connection, m, limit=20)) for m in model_ids}
        decisions = {m: tuple(history(connection, m, overrides=False)) for m in model_ids}
        states = gate_states(
            connection,
            require_decision=config.gate.require_decision,
            now=now,
            model_ids=model_ids,
        )
        logged = _call_counts(connection, chosen, model_ids)

    wanted_runs = {run.run_id for run in trend_runs}
    previous: dict[str, DecisionRow | None] = {}
    recorded: dict[str, DecisionRow | None] = {}
    for model_id in model_ids:
        recorded[model_id], previous[model_id] = _decisions(
            decisions[model_id], chosen.run_id, newer
        )
        if previous[model_id] is not None:
            wanted_runs.update(previous[model_id].eval_run_ids)  # type: ignore[union-attr]
    wanted_runs.discard(chosen.run_id)
    others = store.results(sorted(wanted_runs), evidence=False) if wanted_runs else frame.iloc[0:0]
    others = others[others["model_id"].isin(model_ids)]
    history_frame = pd.concat([frame, others], ignore_index=True)
    started = {run.run_id: run.started_at for run in runs}
    turns = None
    if (history_frame["case_kind"] == "flow").any():
        scripts = flow_scripts if flow_scripts is not None else load_flow_scripts(config)
        turns, skipped = tool_turns(history_frame, scripts)
        in_run = set(frame.loc[frame["case_kind"] == "flow", "case_id"].astype(str))
        note = pooled_note([case for case in skipped if case in in_run], scripts)
        if note is not None:
            notes.append(note)
    current_cells = cells(frame, policy, turns)

    summary = summarize(frame)
    # each model's rows, split once: every per-model figure reads only its own (and the
    # dry run its baseline's), and filtering the whole frame per model and figure was
    # most of the time over 100,000 results
    own = _by_model(frame)
    rows_by_model = {model_id: mark_judged(part) for model_id, part in own.items()}
    trend_ids = {r.run_id for r in trend_runs}
    trend_frame = _by_model(history_frame[history_frame["run_id"].isin(trend_ids)])
    history_by_model = _by_model(history_frame)
    scoring = {str(k): str(v) for k, v in (chosen.spec.details.get("scoring") or {}).items()}
    infra_evidence = _infra_evidence(catalog, chosen.run_id)
    entries = []
    for model_id in model_ids:
        rows = rows_by_model[model_id]
        stored = recorded[model_id]
        baseline = stored.baseline_model if stored is not None else None
        judged = own[model_id]
        if baseline is not None and baseline != model_id:
            judged = frame[frame["model_id"].isin([model_id, baseline])]
        verdict, reasons, checks, problem = _dry_run(
            judged, policy, model_id, baseline, policy_error
        )
        if stored is not None:
            verdict = stored.decision
            checks = tuple(stored.checks or ())
            reasons = _reasons(checks) or ((stored.reason,) if stored.reason else ())
        settle = None
        if verdict == "inconclusive":
            settle = settle_plan(
                own[model_id],
                checks,
                model_id=model_id,
                pass_hat_k=None
                if policy is None or policy.pass_hat_k is None
                else policy.pass_hat_k.k,
                simulated=model_id in simulated,
                replayed=chosen.record_mode == "none",
            )
        before = previous[model_id]
        check_diff: list[Change] = []
        cell_diff: list[Change] = []
        if before is not None:
            check_diff = check_changes(before.checks or (), checks)
            mine = history_by_model.get(model_id, history_frame.iloc[0:0])
            old = mine[mine["run_id"].isin(before.eval_run_ids)]
            old_cells = cells(old, policy, turns) if not old.empty else {}
            cell_diff = cell_changes(
                {name: cell for (m, name), cell in old_cells.items() if m == model_id},
                {name: cell for (m, name), cell in current_cells.items() if m == model_id},
            )
        flaky = flaky_cases(own[model_id], model_id)
        flaky_ids = {case.case_id for case in flaky}
        refs = _failing(rows)
        model_summary = summary.model(model_id)
        snapshots = result_snapshots(own[model_id], model_id)
        counted = logged.get(model_id, _Logged())
        entries.append(
            ModelReport(
                model_id=model_id,
                simulated=model_id in simulated,
                summary=model_summary,
                verdict=verdict,
                reasons=tuple(reasons),
                checks=checks,
                recorded=stored,
                previous=before,
                state=state_of(states, model_id, require_decision=config.gate.require_decision),
                check_diff=tuple(check_diff),
                cell_diff=tuple(cell_diff),
                cells={name: cell for (m, name), cell in current_cells.items() if m == model_id},
                flows=_flows(rows),
                trends=trends(
                    trend_frame.get(model_id, history_frame.iloc[0:0]), started, model_id, turns
                ),
                failure_codes=model_summary.failure_codes,
                failing=tuple(ref for ref in refs if ref.case_id not in flaky_ids),
                flaky=tuple(flaky),
                flaky_failing=tuple(ref for ref in refs if ref.case_id in flaky_ids),
                infra=_infra(rows, infra_evidence, model_id),
                cost=CostFigures(
                    spend=model_summary.total_cost,
                    priced=model_summary.priced_items,
                    unpriced=model_summary.unpriced_items,
                    # nothing priced: no figure (0 would read as free)
                    cost_per_success=model_summary.cost_per_pass
                    if model_summary.priced_items
                    else None,
                    p50_ms=model_summary.latency_p50_ms,
                    p95_ms=model_summary.latency_p95_ms,
                    logged_calls=counted.calls,
                    default_priced_calls=counted.default_priced,
                    estimated_calls=counted.estimated,
                    estimated_spend=counted.estimated_spend,
                ),
                history=histories[model_id],
                dry_run_error=problem,
                snapshots=snapshots,
                snapshot_unknown=int(rows["_judged"].sum()) - sum(snapshots.values()),
                bfcl=bfcl_leaderboard(
                    rows,
                    model_id,
                    scoring=scoring.get("bfcl", "clearance"),
                    level=policy.confidence if policy is not None else 0.95,
                    method=policy.interval if policy is not None else "wilson",
                ),
                settle=settle,
            )
        )
    tools = sorted({name for (_, name) in current_cells if name != FLOWS})
    if any(name == FLOWS for (_, name) in current_cells):
        tools.append(FLOWS)
    return ReportData(
        generated_at=now,
        run=chosen,
        policy=policy,
        policy_error=policy_error,
        models=tuple(entries),
        tools=tuple(tools),
        trend_runs=tuple(sorted(trend_runs, key=lambda run: run.started_at)),
        notes=tuple(notes),
        scoring=scoring,
    )


def load_failing(catalog: Catalog, model_id: str, refs: Sequence[CaseRef]) -> list[FailingCase]:
    """The evidence of ``refs`` (one page of a model's failing cases), in their order."""
    if not refs:
        return []
    found = trial_evidence(
        catalog, model_id, {(ref.run_id, ref.case_id, ref.trial) for ref in refs}
    )
    return [
        failing_case(
            ref.case_id,
            ref.case_kind,
            ref.trial,
            found.get((ref.run_id, ref.case_id, ref.trial)),
            failed_trials=ref.failed,
            trials=ref.trials,
        )
        for ref in refs
    ]

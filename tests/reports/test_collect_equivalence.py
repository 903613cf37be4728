"""The report's figures, computed the fast way, equal the ones computed the plain way.

``collect_report`` splits the results frame by model once and computes every per-model
figure on that model's rows (its baseline's too, for the dry run), with grouped sums;
``ResultStore.results`` reads rows as tuples. Before (issue 20, target 7) each figure
filtered the whole frame per model, the flows were summed in a loop over their groups
and the frame was built from one dict per row. The plain code is kept here as the
oracle, and both run on one seeded store: several models and runs, flows and single
turns, flaky cases, infra errors, fallback-served trials, decisions with a baseline.

The reads of ``ResultStore.results`` run on SQLite and PostgreSQL; the report on SQLite
(its SQL is the stores', tested on both).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pytest
from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import Provenance, record_decision
from clearance.catalog.modelstore import ensure_provider
from clearance.catalog.runstore import RESULT_COLUMNS
from clearance.config import ClearanceConfig
from clearance.evaluation.metrics import mark_judged
from clearance.evaluation.results import ItemResult, ResultStore, RunSpec
from clearance.gate.decide import decide, result_snapshots
from clearance.gate.policy import GatePolicy
from clearance.reports import ReportData, collect_report
from clearance.reports.collect import FlowRow
from clearance.reports.figures import cell_changes, cells, flaky_cases, trends

pytestmark = pytest.mark.any_dialect

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MODELS = ("p:m0", "p:m1", "p:m2", "p:m3")
RUNS = ("r0", "r1", "r2")
POLICY = GatePolicy.model_validate(
    {
        "version": 1,
        "name": "release",
        "confidence": 0.9,
        "min_trials_per_case": 3,
        "criticality": {"critical": {"min_lower_bound": 0.6}},
        "flows": {"min_lower_bound": 0.5},
        "regression": {"baseline": "org_default", "max_drop": 0.05},
    }
)


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _items(model: str, skill: float, rng: random.Random) -> list[ItemResult]:
    out = []
    for case in range(24):
        kind = "flow" if case % 4 == 0 else "contract"
        case_rate = min(1.0, max(0.0, rng.gauss(skill, 0.3)))
        for trial in range(1, 4):
            roll = rng.random()
            infra, fallback = roll < 0.05, 0.05 <= roll < 0.1
            passed = rng.random() < case_rate
            code = None if passed else rng.choice(["wrong_tool", "missing_call", None])
            out.append(
                ItemResult(
                    model_id=model,
                    case_id=f"{kind}_{case:02d}",
                    case_kind=kind,  # type: ignore[arg-type]
                    trial=trial,
                    verdict="infra_error" if infra else "pass" if passed else "fail",
                    tool=None if case == 5 else f"tool_{case % 3}",
                    criticality="critical" if case % 3 == 1 else "standard",
                    failure_code="infra_error" if infra else code,
                    evidence={"kind": "server_error", "message": "HTTP 503"} if infra else None,
                    turns_passed=(2 if passed else rng.randint(0, 1)) if kind == "flow" else None,
                    turns_total=2 if kind == "flow" else None,
                    latency_ms=rng.uniform(50, 500),
                    cost=None if infra else Decimal(rng.randint(1, 900)) / Decimal(100_000),
                    served_model="p:other" if fallback else model,
                    fallback_served=fallback,
                    model_snapshot=rng.choice([None, f"{model}@a", f"{model}@b"]),
                )
            )
    return out


@pytest.fixture
def store(catalog: Catalog) -> ResultStore:
    rng = random.Random(20)
    clock = _Clock()
    store = ResultStore(catalog, clock=clock)
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1", now=T0)
        connection.execute(
            insert(t.models),
            [
                {
                    "id": model,
                    "provider": "p",
                    "name": model.split(":", 1)[1],
                    "capabilities": {"tools": True},
                    "discovered_at": T0,
                    "last_seen_at": T0,
                }
                for model in MODELS
            ],
        )
    for number, run_id in enumerate(RUNS):
        clock.now = T0 + dt.timedelta(days=number)
        spec = RunSpec(
            run_id=run_id,
            suites=("contracts",),
            models=MODELS,
            trials=3,
            record_mode="none",
            suite_hash="s" * 64,
            contracts_hash="c" * 64,
        )
        store.start_run(spec, shard=None)
        for index, model in enumerate(MODELS):
            store.add_results(run_id, _items(model, 0.4 + 0.15 * index, rng))
        clock.now += dt.timedelta(hours=1)
        store.finish(run_id, shard=None, status="complete", spend=Decimal(0))
        frame = store.results(run_id, evidence=False)
        with catalog.begin() as connection:
            for index, model in enumerate(MODELS if number < 2 else ()):
                baseline = MODELS[0] if model != MODELS[0] else None
                result = decide(frame, POLICY, model_id=model, baseline_id=baseline)
                record_decision(
                    connection,
                    model_id=model,
                    decision=result.decision,
                    reasons=result.reasons,
                    checks=result.to_json()["checks"],
                    provenance=Provenance(
                        "release", "ab" * 32, eval_run_ids=(run_id,), baseline_model=baseline
                    ),
                    decided_by="ci",
                    host=None,
                    decided_at=clock.now + dt.timedelta(minutes=5 + index),
                )
    return store


def _plain_results(store: ResultStore, run_id: str | list[str]) -> pd.DataFrame:
    """``ResultStore.results(evidence=False)`` as it read before: one dict per row."""
    from clearance.catalog.runstore import _TEXT_COLUMNS

    query = store._select(run_id, None, False)
    with store.catalog.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    frame = pd.DataFrame.from_records(rows, columns=list(RESULT_COLUMNS))
    for name in ("shard", "turns_passed", "turns_total", "prompt_tokens", "completion_tokens"):
        frame[name] = frame[name].astype("Int64")
    for name in ("id", "trial"):
        frame[name] = frame[name].astype("int64")
    frame["latency_ms"] = frame["latency_ms"].astype("float64")
    frame["fallback_served"] = frame["fallback_served"].astype(bool)
    for name in ("cost", "evidence", *_TEXT_COLUMNS):
        frame[name] = pd.Series([row[name] for row in rows], index=frame.index, dtype=object)
    return frame


def _plain_flows(rows: pd.DataFrame) -> tuple[FlowRow, ...]:
    flows = rows[rows["case_kind"] == "flow"]
    return tuple(
        FlowRow(
            str(case_id),
            int(group["_pass"].sum()),
            int(group["_judged"].sum()),
            int((~group["_judged"]).sum()),
            int(group["turns_passed"].fillna(0).sum()),
            int(group["turns_total"].fillna(0).sum()),
        )
        for case_id, group in flows.groupby("case_id", sort=True)
    )


def test_a_recorded_decision_with_a_baseline_is_shown_as_recorded(
    store: ResultStore, tmp_path: Path
) -> None:
    data = collect_report(
        ClearanceConfig(root=tmp_path),
        store.catalog,
        run_id="r1",
        policy=POLICY,
        now=T0 + dt.timedelta(days=5),
    )
    frame = _plain_results(store, "r1")
    for model in data.models:
        assert model.recorded is not None
        assert model.dry_run_error is None
        baseline = model.recorded.baseline_model
        assert baseline == (None if model.model_id == MODELS[0] else MODELS[0])
        dry = decide(frame, POLICY, model_id=model.model_id, baseline_id=baseline)
        assert model.checks == tuple(dry.to_json()["checks"])
        assert model.previous is not None
        assert model.previous.eval_run_ids == ["r0"]


@pytest.mark.each_dialect  # ResultStore.results' SQL and its types
def test_results_read_as_tuples_equal_the_dict_read(store: ResultStore) -> None:
    for run_id in ("r2", ["r0", "r1"]):
        fast = store.results(run_id, evidence=False)
        plain = _plain_results(store, run_id)
        pd.testing.assert_frame_equal(fast, plain, check_exact=True)
        assert list(fast.dtypes) == list(plain.dtypes)
        assert all(type(a) is type(b) for a, b in zip(fast["cost"], plain["cost"], strict=True)), (
            "costs stay Decimal (or None), never float"
        )


@pytest.mark.each_dialect  # ResultStore.results' SQL and its types
def test_an_empty_selection_keeps_the_columns_and_types(store: ResultStore) -> None:
    fast = store.results("no-such-run", evidence=False)
    pd.testing.assert_frame_equal(fast, _plain_results(store, "no-such-run"), check_exact=True)
    assert list(fast.columns) == list(RESULT_COLUMNS)


def test_every_per_model_figure_equals_the_whole_frame_one(
    store: ResultStore, tmp_path: Path
) -> None:
    config = ClearanceConfig(root=tmp_path)
    data: ReportData = collect_report(
        config, store.catalog, policy=POLICY, now=T0 + dt.timedelta(days=5)
    )
    frame = _plain_results(store, "r2")
    history = _plain_results(store, list(RUNS))
    started = {run.run_id: run.started_at for run in data.trend_runs}
    whole = mark_judged(frame)
    assert [m.model_id for m in data.models] == list(MODELS)
    assert sum(len(m.flaky) for m in data.models) > 0, "the store has flaky cases"
    assert any(m.cell_diff for m in data.models), "and cells that moved since a decision"
    for model in data.models:
        rows = whole[whole["model_id"] == model.model_id]
        assert model.flows == _plain_flows(rows)
        assert list(model.flaky) == flaky_cases(frame, model.model_id)
        assert dict(model.snapshots) == result_snapshots(frame, model.model_id)
        assert model.trends == trends(history, started, model.model_id)
        assert model.recorded is None, "r2 has no decision: its verdicts are dry runs"
        dry = decide(frame, POLICY, model_id=model.model_id)
        assert (model.verdict, model.checks) == (dry.decision, tuple(dry.to_json()["checks"]))
        assert model.previous is not None
        assert model.previous.eval_run_ids == ["r1"]
        old = history[history["run_id"].isin(model.previous.eval_run_ids)]
        before = cells(old[old["model_id"] == model.model_id], POLICY)
        now = cells(frame, POLICY)
        expected = cell_changes(
            {name: cell for (m, name), cell in before.items() if m == model.model_id},
            {name: cell for (m, name), cell in now.items() if m == model.model_id},
        )
        assert list(model.cell_diff) == expected
        failing = {ref.case_id for ref in (*model.failing, *model.flaky_failing)}
        failed = rows[rows["_fail"]]
        assert failing == set(failed["case_id"])
        for ref in (*model.failing, *model.flaky_failing):
            mine = failed[failed["case_id"] == ref.case_id].sort_values(["run_id", "trial"])
            assert (ref.failed, ref.trial) == (len(mine), int(mine["trial"].iloc[0]))
            judged = rows[(rows["case_id"] == ref.case_id) & rows["_judged"]]
            assert ref.trials == len(judged)

"""The same recordings give the same gate decisions, byte for byte (issue 21, point 4).

A small project is made in ``tmp_path`` from what this repository ships: the contracts
and flows, and the recordings in ``evals/cassettes/`` of a few of the root
``clearance.toml``'s simulated models (one per wire protocol, the sloppy one, and the
flaky one whose recordings hold rate limits and retries) on single-turn cases and flows.
Each test replays them (record mode ``none``, no network) and gates the run, then
compares the ``gate_decisions`` rows it wrote: twice in one process, in a separate
process with another hash seed (the ``clearance`` command), and on SQLite against
PostgreSQL.

The policy (:data:`POLICY`) runs every check the gate has, the paired regression test
against ``ref:ref/steady`` included, so that every number a check computes is compared.

A row is compared with every column but those that are meant to differ between two
gates of the same evidence (:data:`SET_ASIDE`, each with its reason) and with the
policy's path relative to the project. Within one dialect the JSON documents are
compared with their keys in the order the catalog gives them back (on SQLite, the order
they were written in); across dialects with sorted keys, since PostgreSQL's ``jsonb``
keeps its own order.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.runstore import ResultStore
from clearance.config import ClearanceConfig, load_config
from clearance.evaluation.cases import load_suites
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.recording import cassette_path
from clearance.evaluation.simulator import SimulatorProviders
from clearance.gate.run import find_policy, run_gate

ROOT = Path(__file__).resolve().parents[1]

MODELS = (
    "ref:ref/steady",  # OpenAI chat completions
    "ref:ref/sloppy",  # fails cases: failing case lists, fail verdicts
    "ref:ref/flaky",  # 429 then 503 before each answer: retries replayed
    "ref-anthropic:ref-steady",  # Anthropic Messages
    "ref-gemini:ref-3-steady",  # Gemini
)
CASES = (
    "case_create_deal",  # single-turn, critical
    "case_no_tool_needed",  # single-turn, no call expected
    "case_search_by_email",  # single-turn, standard
    "cancel_meeting",  # a flow, critical
    "pipeline_review_parallel",  # a flow with parallel calls
    "schedule_followup",  # a flow, standard
)
POLICY = """\
version: 1
name: repro
confidence: 0.9
interval: wilson
criticality:
  critical: {min_lower_bound: 0.3}
  standard: {min_lower_bound: 0.3}
flows: {min_lower_bound: 0.6}
pass_hat_k: {k: 3, min: 0.5}
min_trials_per_case: 3
max_infra_error_share: 0.5
latency: {p95_ms_max: 8000}
cost: {per_successful_task_max_usd: "0.01"}
regression: {baseline: "ref:ref/steady", max_drop: 0.2, level: 0.9}
expires_after_days: 30
"""

SET_ASIDE = {
    "id": "the catalog's autoincrement key: counts every row the table ever held",
    "decided_at": "the clock when the gate ran (expires_at - decided_at is compared instead)",
    "expires_at": "decided_at plus the policy's expires_after_days",
    "stale_at": "the clock when a later change made the decision stale (whether it is "
    "set is compared instead)",
    "eval_run_ids": "each eval run gets a fresh random id (checked to be the judged run's)",
    "decided_by": "the user who ran the gate",
    "host": "the machine the gate ran on",
}
"""The ``gate_decisions`` columns that legitimately differ between two gates of the
same recordings, and why."""


@dataclass(frozen=True)
class Project:
    """A project made from the shipped files, with its catalog."""

    root: Path
    config: ClearanceConfig
    catalog: Catalog


def _make_project(root: Path, database_url: str) -> Project:
    shipped = load_config(ROOT / "clearance.toml", environ={})
    absent = [m for m in MODELS if m not in shipped.evals.models]
    assert not absent, f"the root clearance.toml no longer evaluates {absent}"
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "contracts", root / "contracts", ignore=shutil.ignore_patterns("bfcl"))
    for model_id in MODELS:
        for case_id in CASES:
            source = cassette_path(shipped.cassettes_dir(), model_id, case_id)
            target = root / "evals" / "cassettes" / source.relative_to(shipped.cassettes_dir())
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    (root / "gates").mkdir()
    (root / "gates" / "repro.yaml").write_text(POLICY, encoding="utf-8")
    models = ", ".join(json.dumps(m) for m in MODELS)
    (root / "clearance.toml").write_text(
        f"[catalog]\ndatabase_url = {json.dumps(database_url)}\n\n"
        f'[evals]\nmodels = [{models}]\nsuites = ["contracts", "flows"]\ntrials = 3\n\n'
        '[gate]\npolicy = "repro"\n',
        encoding="utf-8",
    )
    config = load_config(root / "clearance.toml", environ={})
    return Project(root, config, open_catalog(config.resolved_database_url()))


def replay_and_gate(project: Project) -> str:
    """Replay the recordings of :data:`MODELS` on :data:`CASES`, gate the run; its id."""
    suite = load_suites(project.config, ["contracts", "flows"])
    run = Evaluation(
        project.config,
        project.catalog,
        suite,
        list(MODELS),
        cases=[case for case in suite.cases if case.id in CASES],
        record_mode="none",
        environ={},
        providers=SimulatorProviders(),
    ).run()
    assert not [o for o in run.outcomes.values() if o.recording_problem]
    gate = run_gate(project.config, project.catalog, policy=find_policy(project.config))
    assert gate.run_ids == (run.run_id,)
    assert sorted(v.model_id for v in gate.verdicts) == sorted(MODELS)
    return str(run.run_id)


def decision_rows(project: Project, run_id: str) -> list[dict[str, Any]]:
    """The decisions gating ``run_id`` wrote, in the order written, without :data:`SET_ASIDE`."""
    with project.catalog.connect() as connection:
        stored = (
            connection.execute(select(t.gate_decisions).order_by(t.gate_decisions.c.id))
            .mappings()
            .all()
        )
    rows = []
    for row in stored:
        if row["eval_run_ids"] != [run_id]:
            continue
        kept = {name: value for name, value in row.items() if name not in SET_ASIDE}
        assert set(kept) | set(SET_ASIDE) == set(t.gate_decisions.c.keys())
        kept["valid_for"] = str(row["expires_at"] - row["decided_at"])
        kept["stale"] = row["stale_at"] is not None
        kept["policy_path"] = Path(row["policy_path"]).relative_to(project.root).as_posix()
        rows.append(kept)
    assert [row["model_id"] for row in rows] == sorted(MODELS)
    return rows


def as_stored(rows: list[dict[str, Any]]) -> str:
    """The rows as JSON, each document's keys in the order the catalog returned them."""
    return json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def canonical(rows: list[dict[str, Any]]) -> str:
    """The rows as canonical JSON: sorted keys, no whitespace."""
    return json.dumps(
        rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"), sort_keys=True
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, str]]:
    """A SQLite project whose recordings were replayed and gated once: (project, run id)."""
    root = tmp_path_factory.mktemp("reference") / "project"
    project = _make_project(root, f"sqlite:///{root.parent / 'catalog.db'}")
    run_id = replay_and_gate(project)
    yield project, run_id
    project.catalog.dispose()


@pytest.fixture
def fresh(tmp_path: Path, catalog_url: str) -> Iterator[Project]:
    """A new project on each dialect's catalog."""
    project = _make_project(tmp_path / "project", catalog_url)
    yield project
    project.catalog.dispose()


def test_the_rows_judge_every_check_so_the_comparison_covers_them(
    reference: tuple[Project, str],
) -> None:
    project, run_id = reference
    rows = decision_rows(project, run_id)
    decisions = {row["model_id"]: row["decision"] for row in rows}
    assert (decisions["ref:ref/steady"], decisions["ref:ref/sloppy"]) == ("enable", "disable")
    judged = {(c["name"], c["verdict"]) for row in rows for c in row["checks"]}
    assert {verdict for _, verdict in judged} >= {"pass", "fail", "inconclusive"}
    # every check judged some model (the baseline skips only its own regression check)
    assert {name for name, verdict in judged if verdict != "skipped"} == {
        name for name, _ in judged
    }
    assert any(c["cases"] for row in rows for c in row["checks"])
    assert all(row["recordings"] and row["contract_hashes"] for row in rows)
    assert {row["policy_path"] for row in rows} == {"gates/repro.yaml"}
    assert {row["valid_for"] for row in rows} == {str(dt.timedelta(days=30))}


def test_a_replayed_trial_reports_the_recorded_provider_time_alone(
    reference: tuple[Project, str],
) -> None:
    # the fix behind these tests: the overhead a replay measures is the replaying
    # machine's, and made the gate's p95 latency (and so its rows) differ run to run
    project, run_id = reference
    frame = ResultStore(project.catalog).results(run_id, evidence=False)
    for model_id in MODELS:
        path = cassette_path(project.config.cassettes_dir(), model_id, "cancel_meeting")
        document = json.loads(path.read_text(encoding="utf-8"))
        recorded: dict[int, float] = {}
        for interaction in document["interactions"]:
            trial = interaction["trial"]
            recorded[trial] = recorded.get(trial, 0.0) + interaction["elapsed_ms"]
        rows = frame[(frame["model_id"] == model_id) & (frame["case_id"] == "cancel_meeting")]
        replayed = dict(zip(rows["trial"].astype(int), rows["latency_ms"], strict=True))
        assert replayed == {trial: round(ms, 3) for trial, ms in recorded.items()}, model_id


def test_two_gates_in_one_process_store_identical_rows(fresh: Project) -> None:
    first = replay_and_gate(fresh)
    second = replay_and_gate(fresh)
    assert first != second
    assert as_stored(decision_rows(fresh, second)) == as_stored(decision_rows(fresh, first))


def test_sqlite_and_postgresql_store_the_rows_of_a_separate_sqlite_project(
    fresh: Project, reference: tuple[Project, str]
) -> None:
    project, run_id = reference
    rows = decision_rows(fresh, replay_and_gate(fresh))
    assert canonical(rows) == canonical(decision_rows(project, run_id))


CLI = "import sys; from clearance.cli import main; sys.argv[0] = 'clearance'; main()"


def _clearance(project: Project, *args: str) -> dict[str, Any]:
    """Run the ``clearance`` command in the project; its JSON output (exit code 1 is the
    gate failing a model, and is its document's ``exit_code``)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_")}
    environment["CLEARANCE_CONFIG"] = str(project.root / "clearance.toml")
    # another hash seed than this process's: set and dict orders of str keys change
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    environment["PYTHONHASHSEED"] = seed
    done = subprocess.run(
        [sys.executable, "-c", CLI, *args, "--json"],
        cwd=project.root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    assert document.get("exit_code", 0) == done.returncode, done.stderr
    return document


def test_a_gate_in_another_process_and_hash_seed_stores_identical_rows(
    reference: tuple[Project, str],
) -> None:
    project, run_id = reference
    replayed = _clearance(
        project,
        "eval",
        "--record-mode",
        "none",
        "--models",
        ",".join(MODELS),
        "--cases",
        ",".join(CASES),
    )
    other = str(replayed["run_id"])
    gated = _clearance(project, "gate", "--run", other)
    assert gated["run_ids"] == [other]
    assert as_stored(decision_rows(project, other)) == as_stored(decision_rows(project, run_id))

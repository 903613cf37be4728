"""``run_gate`` end to end: real eval runs stored in the catalog, judged, and written back.

The eval project is :mod:`tests.support.evalproject`'s; the network is scripted per
model: ``ref/steady`` and ``ref/flaky`` answer every case right, ``ref/sloppy`` answers
each case the way its prompt names (so it passes only ``ok`` and ``flow_ok``, and gets a
500 on ``server_error``). ``turn_limit`` (a three-turn flow capped at two turns) is left
out of every run: no model can pass it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.gatestore import gate_states, history
from clearance.catalog.modelstore import get_model
from clearance.catalog.orgstore import load_policy_snapshot, set_org
from clearance.catalog.runstore import ResultStore
from clearance.config import ClearanceConfig
from clearance.errors import InputError, NoModelAvailable, UnknownModel
from clearance.evaluation.cases import load_suites
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.simulator import SimulatorProviders
from clearance.gate.policy import GatePolicy, Regression, Threshold
from clearance.gate.run import (
    GateRun,
    ModelVerdict,
    current_hashes,
    find_policy,
    refresh_staleness,
    run_gate,
)
from clearance.gate.stats import mean_lower_bound, mean_upper_bound
from clearance.modelpolicy import RouteRequest, resolve_model
from tests.support.evalproject import SLOPPY, STEADY, _completion, scripted

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

FLAKY = "ref:ref/flaky"
RIGHT = {"ref/steady", "ref/flaky"}
NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)  # decisions must be in force
CASES = (
    "argument_mismatch",
    "extra_call",
    "final_answer_mismatch",
    "flow_ok",
    "invalid_json",
    "invented_tool",
    "missing_call",
    "no_final_answer",
    "ok",
    "schema_violation",
    "server_error",
    "wrong_tool",
)
SLOPPY_FAILS = (  # single-turn cases ref/sloppy answers wrong (server_error is infra)
    "argument_mismatch",
    "extra_call",
    "invalid_json",
    "invented_tool",
    "missing_call",
    "no_final_answer",
    "schema_violation",
    "wrong_tool",
)
POLICY = """\
version: 1
name: release
confidence: 0.9
criticality:
  critical: {min_lower_bound: 0.6}
flows: {min_lower_bound: 0.3}
min_trials_per_case: 3
expires_after_days: 7
"""
CHECKS = [
    "infra_error_share",
    "min_trials_per_case",
    "criticality.critical",
    "criticality.standard",
    "flows",
    "pass_hat_k",
    "latency.p95_ms",
    "cost.per_successful_task",
    "regression",
]


def answer(request: httpx.Request) -> httpx.Response:
    """The scripted provider: right answers for steady and flaky, the named script else."""
    body = json.loads(request.content)
    model = body["model"]
    first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    script = first_user.split("]")[0].removeprefix("[script:")
    turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
    if model in RIGHT:
        if script == "no_final_answer":
            return httpx.Response(200, json=_completion(model, {"content": "I book meetings."}))
        script = "flow_ok" if script in ("final_answer_mismatch", "flow_ok") else "ok"
    elif script == "server_error":
        return httpx.Response(500, json={"error": {"message": "upstream broke"}})
    return httpx.Response(200, json=_completion(model, scripted(script, turn)))


class Project:
    """The eval project, its catalog, and helpers to evaluate and to gate."""

    def __init__(self, root: Path, config: ClearanceConfig, catalog: Catalog) -> None:
        self.root = root
        self.config = config
        self.catalog = catalog
        self.policy_path = root / "gates" / "release.yaml"

    def evaluate(self, models: Sequence[str], *, trials: int = 3, **options: Any) -> str:
        suite = load_suites(self.config, ["contracts", "flows"])
        outcome = Evaluation(
            self.config,
            self.catalog,
            suite,
            list(models),
            cases=[case for case in suite.cases if case.id != "turn_limit"],
            trials=trials,
            record_mode="all",
            network=httpx.MockTransport(answer),
            environ={},
            providers=SimulatorProviders(),
            **options,
        ).run()
        return str(outcome.run_id)

    def policy(self, **changes: Any) -> GatePolicy:
        loaded = find_policy(self.config, "release")
        return loaded.model_copy(update=changes)

    def gate(self, **options: Any) -> GateRun:
        options.setdefault("policy", self.policy())
        options.setdefault("now", NOW)
        options.setdefault("decided_by", "ci-bot")
        return run_gate(self.config, self.catalog, **options)

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))


def _project(root: Path, url: str) -> Iterator[Project]:
    from tests.support.evalproject import make_project

    config = make_project(root, url)
    (root / "gates").mkdir()
    (root / "gates" / "release.yaml").write_text(POLICY)
    catalog = open_catalog(config.resolved_database_url())
    yield Project(root, config, catalog)
    catalog.dispose()


@pytest.fixture
def proj(project: Path, catalog_url: str) -> Iterator[Project]:
    """The project on each back end: for what writes to or reads back from the catalog."""
    yield from _project(project, catalog_url)


@pytest.fixture
def lite(project: Path) -> Iterator[Project]:
    """The project on SQLite only: for the judgement, which the back end does not change."""
    yield from _project(project, f"sqlite:///{project / 'catalog.db'}")


def by_model(run: GateRun) -> dict[str, ModelVerdict]:
    return {verdict.model_id: verdict for verdict in run.verdicts}


def check(verdict: ModelVerdict, name: str) -> Any:
    return next(c for c in verdict.result.checks if c.name == name)


# --- enable, disable, inconclusive ---------------------------------------------------------


def test_the_gate_enables_the_good_model_and_disables_the_bad_one(proj: Project) -> None:
    run_id = proj.evaluate([STEADY, SLOPPY])
    outcome = proj.gate(policy=proj.policy(required_models=(STEADY,)))
    assert outcome.run_ids == (run_id,)
    assert (outcome.exit_code, outcome.written, outcome.missing, dict(outcome.stale)) == (
        0,
        True,
        (),
        {},
    )
    assert (outcome.decided_at, outcome.expires_at) == (NOW, NOW + dt.timedelta(days=7))
    verdicts = by_model(outcome)
    assert list(verdicts) == [SLOPPY, STEADY]

    steady = verdicts[STEADY]
    assert (steady.result.decision, steady.required, steady.passed) == ("enable", True, True)
    critical = check(steady, "criticality.critical")
    assert (critical.verdict, critical.measured) == ("pass", 1.0)
    assert critical.detail.startswith("30/30 passed over 10 cases")
    assert check(steady, "flows").detail.startswith("6/6 passed over 2 cases")
    assert steady.result.reasons == ()
    assert steady.state is not None
    assert (steady.state.allows, steady.state.label) == (True, "enable")

    sloppy = verdicts[SLOPPY]
    assert (sloppy.result.decision, sloppy.required) == ("disable", False)
    assert sloppy.result.reasons[0].startswith("criticality.critical: 3/27 passed over 9 cases")
    assert check(sloppy, "criticality.critical").cases == SLOPPY_FAILS
    assert check(sloppy, "flows").cases == ("final_answer_mismatch",)
    # no judged trial of server_error: too little evidence, on top of the failures
    assert check(sloppy, "min_trials_per_case").cases == ("server_error",)
    failing = sorted({*SLOPPY_FAILS, "final_answer_mismatch", "server_error"})
    assert sloppy.repro == (
        f"clearance eval --models ref:ref/sloppy --cases {','.join(failing)} --record-mode none",
        "clearance gate --policy release --models ref:ref/sloppy --dry-run",
    )
    assert sloppy.state is not None
    assert (sloppy.state.allows, sloppy.state.label) == (False, "disable")
    assert sloppy.state.detail.startswith(
        f"gate policy release decided disable at {NOW:%Y-%m-%d %H:%M} UTC: criticality.critical: "
    )

    with proj.catalog.connect() as connection:
        assert (
            get_model(connection, STEADY).enabled,
            get_model(connection, STEADY).gate_status,
        ) == (
            True,
            "enable",
        )
        assert get_model(connection, SLOPPY).gate_status == "disable"
        assert not get_model(connection, SLOPPY).enabled
        snapshot = load_policy_snapshot(connection, proj.config)
    assert resolve_model(RouteRequest(model=STEADY), snapshot).model_id == STEADY
    with pytest.raises(NoModelAvailable) as raised:
        resolve_model(RouteRequest(model=SLOPPY), snapshot)
    assert [r.reason for r in raised.value.rejections] == ["gate_refused"]

    document = json.loads(json.dumps(outcome.to_json()))
    assert document["exit_code"] == 0
    assert [m["model_id"] for m in document["models"]] == [SLOPPY, STEADY]
    assert document["models"][1]["effective"]["label"] == "enable"


def test_every_evaluated_model_is_required_when_the_policy_names_none(lite: Project) -> None:
    lite.evaluate([STEADY, SLOPPY])
    outcome = lite.gate()
    assert [v.required for v in outcome.verdicts] == [True, True]
    assert [v.model_id for v in outcome.failed] == [SLOPPY]
    assert outcome.exit_code == 1


def test_required_replaces_the_policys_list_for_the_exit_code_only(lite: Project) -> None:
    lite.evaluate([STEADY, SLOPPY])
    policy = lite.policy(required_models=(SLOPPY,))
    outcome = lite.gate(policy=policy, require=["ref/steady"])
    # both judged and decided as before; only STEADY answers for the exit code
    assert [(v.model_id, v.result.decision, v.required) for v in outcome.verdicts] == [
        (SLOPPY, "disable", False),
        (STEADY, "enable", True),
    ]
    assert outcome.failed == ()
    assert outcome.exit_code == 0
    # a required model with no results still fails it; an unknown one is refused
    outcome = lite.gate(policy=policy, require=[STEADY, "ref/flaky"])
    assert (outcome.missing, outcome.exit_code) == ((FLAKY,), 1)
    with pytest.raises(UnknownModel, match="ref/no-such-model"):
        lite.gate(policy=policy, require=["ref/no-such-model"])


def test_a_decision_stores_what_it_was_judged_on(proj: Project) -> None:
    run_id = proj.evaluate([STEADY])
    proj.gate()
    current, latest = current_hashes(proj.config)
    with proj.catalog.connect() as connection:
        (row,) = history(connection, STEADY)
    assert (row.decision, row.override) == ("enable", False)
    assert row.eval_run_ids == [run_id]
    assert row.policy_name == "release"
    assert row.policy_hash == hashlib.sha256(POLICY.encode()).hexdigest()
    assert row.policy_path == str(proj.policy_path)
    assert row.contract_versions == {"book": "1.0.0", "find_person": "1.0.0"}
    keys = {f"case:{case}" for case in CASES} | {"book@1.0.0", "find_person@1.0.0"}
    assert set(row.contract_hashes) == keys
    assert row.contract_hashes == {key: current[key] for key in keys}
    assert "case:turn_limit" in current  # in the suite, but never run: not in provenance
    assert latest == {"book": "1.0.0", "find_person": "1.0.0"}
    assert set(row.recordings) == {f"evals/cassettes/ref/ref/steady/{case}.json" for case in CASES}
    for path, digest in row.recordings.items():
        assert digest == hashlib.sha256((proj.root / path).read_bytes()).hexdigest()
    assert (row.decided_at, row.expires_at) == (NOW, NOW + dt.timedelta(days=7))
    assert (row.decided_by, row.host) == ("ci-bot", socket.gethostname())
    assert row.checks is not None
    assert [c["name"] for c in row.checks] == CHECKS
    assert row.baseline_model is None
    assert row.reason is None


def test_too_few_trials_per_case_is_inconclusive(lite: Project) -> None:
    lite.evaluate([STEADY], trials=2)
    outcome = lite.gate()
    (steady,) = outcome.verdicts
    assert steady.result.decision == "inconclusive"
    short = check(steady, "min_trials_per_case")
    assert (short.verdict, short.measured, short.threshold) == ("inconclusive", 2.0, 3.0)
    assert short.cases == CASES
    assert short.detail.startswith("12 of 12 cases have fewer than 3 judged trials")
    assert steady.result.reasons == (f"min_trials_per_case: {short.detail}",)
    assert steady.state is not None
    assert (steady.state.allows, steady.state.label) == (False, "inconclusive")
    assert outcome.exit_code == 1


def test_an_interval_straddling_the_bar_is_inconclusive(lite: Project) -> None:
    lite.evaluate([STEADY])
    bar = lite.policy().criticality
    assert bar is not None
    strict = bar.model_copy(update={"critical": Threshold(min_lower_bound=0.9)})
    outcome = lite.gate(policy=lite.policy(criticality=strict))
    (steady,) = outcome.verdicts
    critical = check(steady, "criticality.critical")
    assert critical.verdict == "inconclusive"
    assert critical.interval is not None
    low, high = critical.interval
    assert low < 0.9 <= high == 1.0
    assert critical.more_trials is not None
    assert critical.more_trials > 0
    assert steady.result.decision == "inconclusive"
    assert outcome.exit_code == 1


# --- regression against a baseline ---------------------------------------------------------


def regression_policy(proj: Project) -> GatePolicy:
    return proj.policy(regression=Regression(baseline="org_default", max_drop=0.05, level=0.9))


# Over 11 paired cases, 9 won (or lost) outright and 2 tied, at level 0.9 (each part of
# the paired-split-kl bounds at 0.95): the side with no case is the exact bound for 0 of 11,
# 1 − 0.05^(1/11); the other is the lower bound on a mean of 9/11.
NONE = 1 - 0.05 ** (1 / 11)
NINE = mean_lower_bound(9 / 11, 11, level=0.95)


def test_regression_against_a_weaker_baseline_passes(proj: Project) -> None:
    proj.evaluate([STEADY, SLOPPY])
    outcome = proj.gate(policy=regression_policy(proj), baseline="ref/sloppy")
    verdicts = by_model(outcome)
    steady = verdicts[STEADY]
    assert steady.baseline_id == SLOPPY
    regression = check(steady, "regression")
    # paired on the 11 cases both judged (sloppy has no judged server_error trial):
    # sloppy passes 2 of them, steady all, so the mean drop is 2/11 - 1 = -9/11
    assert regression.verdict == "pass"
    assert regression.measured == pytest.approx(-9 / 11)
    assert regression.interval == pytest.approx(
        (-mean_upper_bound(9 / 11, 11, level=0.95), NONE - NINE)
    )
    assert regression.interval == pytest.approx((-0.9821, -0.2222), abs=1e-4)
    assert regression.method == "paired-split-kl"
    assert "over 11 paired cases" in regression.detail
    assert steady.result.decision == "enable"
    # the baseline itself is not compared with itself
    assert verdicts[SLOPPY].baseline_id is None
    assert check(verdicts[SLOPPY], "regression").detail == "no baseline given"
    with proj.catalog.connect() as connection:
        assert history(connection, STEADY)[0].baseline_model == SLOPPY
        assert history(connection, SLOPPY)[0].baseline_model is None


def test_regression_against_a_stronger_or_equal_baseline_fails_or_is_inconclusive(
    lite: Project,
) -> None:
    lite.evaluate([STEADY, SLOPPY, FLAKY])
    outcome = lite.gate(policy=regression_policy(lite), baseline=STEADY, write=False)
    verdicts = by_model(outcome)
    worse = check(verdicts[SLOPPY], "regression")
    assert worse.verdict == "fail"
    assert worse.measured == pytest.approx(9 / 11)
    assert worse.interval is not None
    assert worse.interval[0] == pytest.approx(NINE - NONE)
    assert worse.interval[0] > 0.05
    assert worse.cases == tuple(sorted({*SLOPPY_FAILS, "final_answer_mismatch"}))

    equal = check(verdicts[FLAKY], "regression")  # answers exactly as the baseline does
    assert equal.verdict == "inconclusive"
    assert equal.measured == 0.0
    margin = 1 - 0.05 ** (1 / 12)  # both judged all 12 cases, no case lost or won
    assert equal.interval == pytest.approx((-margin, margin))
    assert equal.cases == ()
    assert verdicts[FLAKY].result.decision == "inconclusive"
    assert verdicts[FLAKY].result.reasons == (f"regression: {equal.detail}",)


def test_the_baseline_is_the_orgs_default_and_may_come_from_another_run(
    lite: Project,
) -> None:
    earlier = lite.evaluate([SLOPPY])
    later = lite.evaluate([STEADY])
    with lite.catalog.begin() as connection:
        set_org(connection, "acme", default_model_id=SLOPPY)
    outcome = lite.gate(policy=regression_policy(lite), org_id="acme", write=False)
    assert outcome.run_ids == (later,)  # the latest run is judged; the baseline's is read
    (steady,) = outcome.verdicts
    assert steady.baseline_id == SLOPPY
    regression = check(steady, "regression")
    assert (regression.verdict, regression.measured) == ("pass", pytest.approx(-9 / 11))
    assert earlier != later

    # no org and no platform default: no baseline, so no regression check
    alone = lite.gate(policy=regression_policy(lite), write=False)
    assert alone.verdicts[0].baseline_id is None
    assert check(alone.verdicts[0], "regression").verdict == "skipped"
    with pytest.raises(InputError, match="no org 'nobody' in the catalog"):
        lite.gate(policy=regression_policy(lite), org_id="nobody", write=False)


# --- dry run, missing models, errors -------------------------------------------------------


def test_a_dry_run_decides_but_writes_nothing(proj: Project) -> None:
    proj.evaluate([STEADY, SLOPPY])
    outcome = proj.gate(write=False)
    assert outcome.written is False
    assert [v.result.decision for v in outcome.verdicts] == ["disable", "enable"]
    assert [v.state for v in outcome.verdicts] == [None, None]
    assert outcome.exit_code == 1
    with proj.catalog.connect() as connection:
        assert history(connection, STEADY) == []
        assert history(connection, SLOPPY) == []
        assert gate_states(connection, require_decision=True) == {}
        assert get_model(connection, STEADY).gate_status == "ungated"


def test_a_required_model_with_no_results_fails_the_gate(lite: Project) -> None:
    lite.evaluate([STEADY])
    outcome = lite.gate(policy=lite.policy(required_models=(STEADY, "ref/flaky")))
    assert outcome.missing == (FLAKY,)
    assert [v.model_id for v in outcome.verdicts] == [STEADY]
    assert outcome.verdicts[0].passed
    assert outcome.failed == ()
    assert outcome.exit_code == 1
    assert outcome.to_json()["missing"] == [FLAKY]


def test_nothing_to_judge_is_an_input_error(lite: Project) -> None:
    with pytest.raises(InputError, match="no complete eval run to judge"):
        lite.gate()
    lite.evaluate([STEADY], trials=1)
    with pytest.raises(InputError, match="no eval run 'nope' in the catalog"):
        lite.gate(run_ids=["nope"])


def test_the_decider_defaults_to_the_user_running_it(lite: Project) -> None:
    import getpass

    lite.evaluate([STEADY])
    run_gate(lite.config, lite.catalog, policy=lite.policy())
    with lite.catalog.connect() as connection:
        (row,) = history(connection, STEADY)
    assert row.decided_by == getpass.getuser()
    assert abs(row.decided_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_by_default_the_latest_complete_run_is_judged(lite: Project) -> None:
    complete = lite.evaluate([STEADY])
    lite.evaluate([STEADY], cost_cap=Decimal("0.002"), concurrency=1)  # stops early
    stopped = ResultStore(lite.catalog).latest_run_id()
    record = ResultStore(lite.catalog).run(str(stopped))
    assert record is not None
    assert record.status == "stopped"
    assert lite.gate(write=False).run_ids == (complete,)


# --- staleness -----------------------------------------------------------------------------


def bump_book(proj: Project) -> None:
    """Publish book 2.0.0 and move every case onto it."""
    old = proj.root / "contracts" / "tools" / "book" / "1.0.0.yaml"
    text = old.read_text().replace("version: 1.0.0", "version: 2.0.0")
    (old.parent / "2.0.0.yaml").write_text(text)
    for path in (proj.root / "contracts" / "flows").glob("*.yaml"):
        path.write_text(path.read_text().replace("book@1.0.0", "book@2.0.0"))


def test_results_judged_on_an_older_contract_version_are_stale(lite: Project) -> None:
    run_id = lite.evaluate([STEADY])
    bump_book(lite)
    (lite.root / "contracts" / "flows" / "wrong_tool.yaml").unlink()
    outcome = lite.gate()
    assert outcome.verdicts == ()
    assert list(outcome.stale) == [STEADY]
    changes = outcome.stale[STEADY]
    assert "case wrong_tool no longer exists" in changes
    # every other case it was judged on changed under it
    named = {change.split()[1] for change in changes}
    assert named == set(CASES)
    assert any(run_id in change or "book@1.0.0" in change for change in changes)
    assert outcome.exit_code == 1
    with lite.catalog.connect() as connection:
        assert history(connection, STEADY) == []  # no decision on stale evidence


def test_results_judged_before_a_contract_changed_in_place_are_stale(proj: Project) -> None:
    proj.evaluate([STEADY])
    proj.edit("contracts/tools/book/1.0.0.yaml", "Book a meeting", "Book one meeting")
    outcome = proj.gate()
    assert outcome.verdicts == ()
    assert STEADY in outcome.stale
    assert "case ok " in " ".join(outcome.stale[STEADY]) + " "
    assert outcome.exit_code == 1
    with proj.catalog.connect() as connection:
        assert history(connection, STEADY) == []


def test_refresh_staleness_marks_a_decision_whose_flow_changed_and_it_is_refused(
    proj: Project,
) -> None:
    proj.evaluate([STEADY, SLOPPY])
    proj.gate(policy=proj.policy(required_models=(STEADY,)))
    assert refresh_staleness(proj.config, proj.catalog) == []  # nothing changed yet
    proj.edit("contracts/flows/flow_ok.yaml", "look up, then book", "find, then book")

    marks = refresh_staleness(proj.config, proj.catalog)
    assert {(m.model_id, m.reason) for m in marks} == {
        (STEADY, "case flow_ok changed"),
        (SLOPPY, "case flow_ok changed"),
    }
    assert refresh_staleness(proj.config, proj.catalog) == []  # marked once
    with proj.catalog.connect() as connection:
        state = gate_states(connection, require_decision=True)[STEADY]
        assert get_model(connection, STEADY).gate_status == "stale"
        snapshot = load_policy_snapshot(connection, proj.config)
    assert (state.allows, state.label) == (False, "stale")
    with pytest.raises(NoModelAvailable) as raised:
        resolve_model(RouteRequest(model=STEADY), snapshot)
    (rejection,) = raised.value.rejections
    assert rejection.reason == "gate_refused"
    assert "is stale (case flow_ok changed)" in rejection.detail

    # gating the same run again cannot revive it: its evidence predates the change
    again = proj.gate(policy=proj.policy(required_models=(STEADY,)))
    assert STEADY in again.stale
    assert again.exit_code == 1
    with proj.catalog.connect() as connection:
        assert len(history(connection, STEADY)) == 1


def test_stale_evidence_of_a_model_the_gate_does_not_require_does_not_fail_it(
    proj: Project,
) -> None:
    older = proj.evaluate([SLOPPY])
    proj.edit("contracts/flows/flow_ok.yaml", "look up, then book", "find, then book")
    newer = proj.evaluate([STEADY])  # judged on the flow as it is now
    outcome = proj.gate(policy=proj.policy(required_models=(STEADY,)), run_ids=[older, newer])
    assert list(outcome.stale) == [SLOPPY]
    assert outcome.stale[SLOPPY] == (
        f"case flow_ok changed since run {older} (its file or a contract it offers)",
    )
    assert [v.model_id for v in outcome.verdicts] == [STEADY]
    assert outcome.verdicts[0].passed
    assert outcome.exit_code == 0


def test_a_decision_on_a_superseded_contract_version_names_the_new_one(lite: Project) -> None:
    lite.evaluate([STEADY])
    lite.gate()
    bump_book(lite)
    (lite.root / "contracts" / "tools" / "book" / "1.0.0.yaml").unlink()
    (mark,) = refresh_staleness(lite.config, lite.catalog)
    assert mark.reason.startswith("book is at 2.0.0, not 1.0.0; case argument_mismatch changed")

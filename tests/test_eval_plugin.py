"""``pytest evals``: the plugin replays recordings, one item per (model, case, trial).

The recordings are made first by the engine against the scripted endpoint of
``tests/support/evalproject.py``; then pytest runs the project's ``evals/`` folder in
replay-only mode (as CI does) through pytester, and the test checks each item's
outcome, the loud failure of a missing recording, the xfail mode and sharding.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas  # noqa: F401  (see below)
import pytest

from clearance.catalog.database import open_catalog
from clearance.catalog.runstore import ResultStore
from clearance.evaluation.cases import load_suites
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.simulator import SimulatorProviders
from tests.support.evalproject import STEADY, ScriptedNetwork, make_project

pytest_plugins = ["pytester"]
# pytester's in-process runs restore sys.modules afterwards; pandas (numpy) first imported
# inside one would be dropped, and numpy refuses to load twice in a process. Importing it
# here keeps it out of the snapshot's reach, whatever order the tests run in.

EVALS_TEST = Path(__file__).resolve().parents[1] / "evals" / "test_evals.py"


@pytest.fixture
def recorded(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = pytester.path
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    config = make_project(root, url, extra=f'models = ["{STEADY}"]')
    catalog = open_catalog(config.resolved_database_url())
    try:
        suite = load_suites(config, ["contracts", "flows"])
        Evaluation(
            config,
            catalog,
            suite,
            [STEADY],
            record_mode="all",
            network=ScriptedNetwork().transport,
            environ={},
            providers=SimulatorProviders(),
        ).run()
    finally:
        catalog.dispose()
    (root / "evals").mkdir(exist_ok=True)
    shutil.copyfile(EVALS_TEST, root / "evals" / "test_evals.py")
    monkeypatch.setenv("CLEARANCE_CONFIG", str(root / "clearance.toml"))
    return root


def test_replay_gives_one_item_per_model_case_and_trial(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    result = pytester.runpytest("evals", "--clearance-record-mode=none", "-rs")
    outcomes = result.parseoutcomes()
    # 13 cases x 2 trials: ok and flow_ok pass, server_error is an infra error (skipped)
    assert outcomes == {"passed": 4, "failed": 20, "skipped": 2}
    result.stdout.fnmatch_lines(
        [
            "*_ test_eval?ref:ref/steady-wrong_tool-t1? _*",
            "*ref:ref/steady / wrong_tool / trial 1: fail*",
            "*wrong_tool (turn 1): expected_tool=book, actual_tool=find_person*",
            "*clearance evals*",
            "*ref:ref/steady: 16.7% of judged items passed (4/24)*",
        ]
    )
    assert "infra_error, not the model's failure" in result.stdout.str()


def test_model_failures_can_be_left_to_the_gate(pytester: pytest.Pytester, recorded: Path) -> None:
    result = pytester.runpytest(
        "evals", "--clearance-record-mode=none", "--clearance-model-failures=xfail"
    )
    assert result.ret == 0
    assert result.parseoutcomes() == {"passed": 4, "xfailed": 20, "skipped": 2}


def test_a_missing_recording_fails_its_items_loudly(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    cassette = next((recorded / "evals" / "cassettes").rglob("ok.json"))
    cassette.unlink()
    result = pytester.runpytest(
        "evals",
        "--clearance-record-mode=none",
        "--clearance-model-failures=xfail",
        "--clearance-cases=ok,flow_ok",
    )
    assert result.ret == 1
    assert result.parseoutcomes() == {"passed": 2, "failed": 2}
    text = result.stdout.str()
    assert "ref:ref/steady / ok / trial 1" in text
    assert "clearance eval --models ref:ref/steady --cases ok --record-mode new" in text


def test_a_model_none_of_whose_items_was_judged_fails_the_session(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    # server_error was recorded while the provider answered 500: both its trials are
    # infrastructure errors, so nothing of the model is judged in this selection
    result = pytester.runpytest(
        "evals",
        "--clearance-record-mode=none",
        "--clearance-model-failures=xfail",
        "--clearance-cases=server_error",
    )
    assert result.ret == 1
    assert result.parseoutcomes() == {"failed": 2}
    reason = (
        "ref:ref/steady: all 2 items failed on infrastructure (HTTP 500 from provider: "
        "upstream broke [replayed from a recording]); nothing was judged"
    )
    text = result.stdout.str()
    assert f"FAILED {reason}" in text  # in the clearance evals section
    assert "holds a provider failure, not the model's answer" in text
    # with one judged item beside them, the infrastructure errors are skipped
    mixed = pytester.runpytest(
        "evals", "--clearance-record-mode=none", "--clearance-cases=server_error,ok"
    )
    assert mixed.ret == 0
    assert mixed.parseoutcomes() == {"passed": 2, "skipped": 2}


def test_two_shards_run_disjoint_halves_of_one_run(
    pytester: pytest.Pytester, recorded: Path, tmp_path: Path
) -> None:
    common = ["evals", "--clearance-record-mode=none", "--clearance-model-failures=xfail"]
    first = pytester.runpytest(*common, "--clearance-shard=1/2", "--clearance-run-id=pr-7")
    second = pytester.runpytest(*common, "--clearance-shard=2/2", "--clearance-run-id=pr-7")
    total = [sum(r.parseoutcomes().values()) for r in (first, second)]
    assert sum(total) == 26
    assert abs(total[0] - total[1]) <= 2  # pairs of two trials each
    catalog = open_catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    try:
        store = ResultStore(catalog)
        assert store.run("pr-7").status == "complete"
        assert len(store.results("pr-7")) == 26
    finally:
        catalog.dispose()


def test_a_bad_option_stops_the_run_with_its_fix(pytester: pytest.Pytester, recorded: Path) -> None:
    result = pytester.runpytest("evals", "--clearance-cases=no_such_case")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error: nothing runs
    result.stdout.fnmatch_lines(["*clearance evals: no case matches 'no_such_case'*"])


def _reports(recorder: pytest.HookRecorder) -> dict[str, tuple[str, ...]]:
    """Each item's (setup, call, teardown) outcomes, as the report hooks saw them."""
    seen: dict[str, list[str]] = {}
    for report in recorder.getreports("pytest_runtest_logreport"):
        seen.setdefault(report.nodeid.rpartition("[")[2], []).append(
            f"{report.when}:{report.outcome}"
        )
    return {key: tuple(value) for key, value in seen.items()}


def test_a_plain_item_runs_in_one_step_with_the_reports_pytest_makes(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    """The one-step protocol and pytest's own (forced by a second fixture) report the
    same outcomes, phase by phase; the call's output is captured either way."""
    body = (
        "def test_eval(clearance_item{extra}):\n"
        "    print('checking', clearance_item.item.label)\n"
        "    clearance_item.check()\n"
    )
    (recorded / "evals" / "test_evals.py").write_text(body.format(extra=""))
    fast = pytester.inline_run("evals", "--clearance-record-mode=none", "-p", "no:cacheprovider")
    (recorded / "evals" / "test_evals.py").write_text(body.format(extra=", tmp_path"))
    slow = pytester.inline_run("evals", "--clearance-record-mode=none", "-p", "no:cacheprovider")
    assert [len(group) for group in fast.listoutcomes()] == [4, 2, 20]
    assert [len(group) for group in slow.listoutcomes()] == [4, 2, 20]
    # one step: no per-phase hooks (fixture set-up, capture, logging) for the fast run
    assert (
        len(fast.getcalls("pytest_runtest_setup")),
        len(slow.getcalls("pytest_runtest_setup")),
    ) == (0, 26)
    fast_reports, slow_reports = _reports(fast), _reports(slow)
    assert fast_reports == slow_reports
    assert fast_reports["ref:ref/steady-ok-t1]"] == (
        "setup:passed",
        "call:passed",
        "teardown:passed",
    )
    assert fast_reports["ref:ref/steady-server_error-t1]"][1] == "call:skipped"
    failed = next(r for r in fast.getreports("pytest_runtest_logreport") if r.failed)
    assert ("Captured stdout call", f"checking {failed.nodeid.rpartition('[')[2][:-1]}\n") in (
        failed.sections
    )


def test_a_plain_item_keeps_x_and_junit_xml(pytester: pytest.Pytester, recorded: Path) -> None:
    junit = recorded / "junit.xml"
    result = pytester.runpytest(
        "evals",
        "--clearance-record-mode=none",
        "-x",
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
    )
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1  # -x stopped the session at the first failure
    text = junit.read_text()
    assert text.count("<testcase ") == sum(outcomes.values())
    assert "<failure" in text

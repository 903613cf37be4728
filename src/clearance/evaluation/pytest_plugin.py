"""The pytest plugin behind ``pytest evals`` (registered through the ``pytest11`` entry point).

A test that asks for the ``clearance_item`` fixture is parametrized with every
(model, case, trial) of the run: one item each, with a readable id such as
``test_eval[ref:ref/steady-cancel_meeting-t2]``. The first such item runs the whole
(possibly sharded) selection through the eval engine, concurrently, and stores the
run in the catalog; each item then reports its own verdict:

- ``pass``: passes;
- ``fail``: fails with every failure code and its evidence (``xfail`` instead with
  ``--clearance-model-failures=xfail``, for runs whose verdicts the gate judges);
- a recording that is missing, stale, broken or mismatched: fails, naming the
  model, case, trial and the command that re-records;
- any other ``infra_error`` (timeouts, 5xx after retries, a fallback-served answer, a
  recording of one): skipped with the reason, never counted as the model's failure;
  but when every item of a model is one, nothing of it was judged and its items fail,
  each saying so ("all 3 items failed on infrastructure (HTTP 500 from provider: ...);
  nothing was judged"), so the session fails;
- not run because the cost cap stopped the run: skipped, saying so.

A provider whose API key must be used to record and is not set stops the session
before any item runs, with pytest's usage-error exit code and the variable named.

Options mirror ``clearance eval``; defaults come from ``[evals]`` in clearance.toml.

An eval item whose test asks for nothing but ``clearance_item`` (no other fixture, no
autouse one, no mark but the parametrization), in a session without ``--pdb`` or the
``--setup-*`` options, runs in one step (:func:`pytest_runtest_protocol`): its value is
made without pytest's fixture machinery, and its setup, call and teardown reports are
made and logged by the same hooks as always (so the terminal, ``-x``, JUnit XML and
xfail see what they always see; output of the call is captured as always), without the
per-phase set-up that costs more than a replayed item (2,000 of them: seconds). Any
other item runs pytest's own protocol.

Once the run is done (it collects its own garbage at its end), what is alive (the
session, its items, the run's outcomes: all kept to the session's end) is frozen out of
the garbage collector's sight: the full collections the items' reports trigger, the two
pytest makes at its end to find unraisable exceptions and the interpreter's last one
would otherwise each walk all of it again (~0.3-0.5 s each after 2,000 items). A
session run inside another process (pytester's in-process runs) leaves those objects
frozen in that process, which keeps them until it exits.
"""

from __future__ import annotations

import functools
import gc
import inspect
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from clearance.errors import ClearanceError, MissingApiKey

__all__ = ["EvalFailed", "ItemCheck"]

_PLAN = pytest.StashKey[Any]()
_SELECTED = pytest.StashKey[list[Any]]()
_RUN = pytest.StashKey[Any]()
_UNJUDGED = pytest.StashKey[dict[str, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("clearance", "clearance evals (contracts and flows against models)")
    group.addoption(
        "--clearance-models",
        help="candidate models, comma-separated (default: [evals] models)",
    )
    group.addoption(
        "--clearance-suites", help="contracts, flows, bfcl; comma-separated (default: [evals])"
    )
    group.addoption("--clearance-cases", help="case ids or wildcards, comma-separated")
    group.addoption("--clearance-trials", type=int, help="trials per case (default: [evals])")
    group.addoption(
        "--clearance-record-mode",
        choices=("none", "once", "new", "all"),
        help="none replays only (default when CI is set), once, new, all",
    )
    group.addoption(
        "--clearance-concurrency", type=int, help="requests in flight per model (default: [evals])"
    )
    group.addoption("--clearance-cost-cap", help="stop starting cases past this spend (USD)")
    group.addoption("--clearance-shard", help="run part I of N of the run, as I/N")
    group.addoption("--clearance-run-id", help="the run id every shard of one run shares")
    group.addoption("--clearance-jsonl", help="also write the run's results as JSON Lines here")
    group.addoption(
        "--clearance-model-failures",
        choices=("fail", "xfail"),
        default="fail",
        help="how a model's failed case is reported (xfail: leave judging to the gate)",
    )


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class _Plan:
    """Everything the options decide, built once per session."""

    def __init__(self, config: pytest.Config) -> None:
        from clearance.catalog.database import Catalog
        from clearance.config import load_config
        from clearance.evaluation.cases import load_suites, select_cases
        from clearance.evaluation.engine import Evaluation, parse_shard
        from clearance.evaluation.simulator import SimulatorProviders

        option = config.getoption
        settings = load_config()
        self.catalog = Catalog(settings.resolved_database_url())
        self.catalog.ensure_schema()
        suites = _csv(option("--clearance-suites")) or list(settings.evals.suites)
        suite = load_suites(settings, suites)  # type: ignore[arg-type]
        cases = select_cases(suite.cases, _csv(option("--clearance-cases")))
        cap_text = option("--clearance-cost-cap")
        try:
            cost_cap = Decimal(cap_text) if cap_text else None
        except InvalidOperation as error:
            raise pytest.UsageError(f"--clearance-cost-cap {cap_text!r} is not a number") from error
        self.evaluation = Evaluation(
            settings,
            self.catalog,
            suite,
            _csv(option("--clearance-models")) or list(settings.evals.models),
            cases=cases,
            trials=option("--clearance-trials"),
            concurrency=option("--clearance-concurrency"),
            cost_cap=cost_cap,
            record_mode=option("--clearance-record-mode"),
            shard=parse_shard(option("--clearance-shard")),
            run_id=option("--clearance-run-id"),
            providers=SimulatorProviders(),
        )
        self.xfail_model_failures = option("--clearance-model-failures") == "xfail"
        self.jsonl = option("--clearance-jsonl")


def _plan(config: pytest.Config) -> _Plan:
    plan = config.stash.get(_PLAN, None)
    if plan is None:
        try:
            plan = _Plan(config)
        except ClearanceError as error:
            raise pytest.UsageError(f"clearance evals: {error}") from error
        config.stash[_PLAN] = plan
    return plan


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "clearance_item" not in metafunc.fixturenames:
        return
    items = _plan(metafunc.config).evaluation.items
    metafunc.parametrize("clearance_item", items, ids=[item.label for item in items], indirect=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "clearance_item" in callspec.params:
            selected.append(callspec.params["clearance_item"])
    config.stash[_SELECTED] = selected


class ItemCheck:
    """The ``clearance_item`` fixture: one item's outcome, and the assertion on it."""

    def __init__(
        self, item: Any, outcome: Any, plan: _Plan, note: str | None, unjudged: str | None = None
    ) -> None:
        self.item = item
        self.outcome = outcome
        self._plan = plan
        self._note = note
        self._unjudged = unjudged

    def check(self) -> None:
        """Pass, fail, xfail or skip the test as the module docstring says."""
        outcome = self.outcome
        if outcome is None:
            pytest.skip(f"not run: {self._note or 'left out of the run'}")
        verdict = outcome.result.verdict
        if verdict == "pass":
            return
        if outcome.recording_problem:
            raise EvalFailed(outcome.explain(), xfail=False)
        if verdict == "infra_error" and self._unjudged is not None:
            raise EvalFailed(f"{self._unjudged}\n{outcome.explain()}", xfail=False)
        if verdict == "infra_error":
            pytest.skip(f"infra_error, not the model's failure: {outcome.explain()}")
        raise EvalFailed(outcome.explain(), xfail=self._plan.xfail_model_failures)


class EvalFailed(AssertionError):
    """A failed item; reported with its explanation only (no traceback, no source)."""

    def __init__(self, message: str, *, xfail: bool) -> None:
        super().__init__(message)
        self.message = message
        self.xfail = xfail


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """The report of a failed eval item, built without pytest's traceback rendering.

    pytest renders a failure by parsing the source of every frame, which for thousands
    of failing items costs more than running them; the explanation already says all.
    """
    excinfo = call.excinfo
    if call.when != "call" or excinfo is None or not isinstance(excinfo.value, EvalFailed):
        return None
    from _pytest.reports import TestReport

    failed = excinfo.value
    sections = [(f"Captured {key} {when}", content) for when, key, content in item._report_sections]
    report = TestReport(
        item.nodeid,
        item.location,
        dict.fromkeys(item.keywords, 1),
        "skipped" if failed.xfail else "failed",
        None if failed.xfail else failed.message,
        "call",
        sections,
        call.duration,
        call.start,
        call.stop,
        item.user_properties,
    )
    if failed.xfail:
        report.wasxfail = failed.message
    return report


@pytest.fixture
def clearance_item(request: pytest.FixtureRequest) -> ItemCheck:
    """One (model, case, trial): its outcome, run with the others on first use."""
    return _item_check(request.config, request.param)


def _item_check(config: pytest.Config, item: Any) -> ItemCheck:
    """The ``clearance_item`` value of ``item``; the first one asked for runs the run."""
    plan = _plan(config)
    run = config.stash.get(_RUN, None)
    if run is None:
        evaluation = plan.evaluation
        selected = config.stash.get(_SELECTED, None)
        if selected is not None:
            wanted = {item.key for item in selected}
            evaluation.items = [item for item in evaluation.items if item.key in wanted]
        try:
            run = evaluation.run()
        except MissingApiKey as error:  # raised before any item ran: the invocation is wrong
            pytest.exit(f"clearance evals: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
        config.stash[_RUN] = run
        gc.freeze()  # the run collected its garbage at its end (Evaluation.run)
        if plan.jsonl:
            from clearance.catalog.runstore import ResultStore

            ResultStore(plan.catalog).export_jsonl(run.run_id, Path(plan.jsonl))
    unjudged = _unjudged(config, run).get(item.model_id)
    return ItemCheck(item, run.outcomes.get(item.key), plan, run.note, unjudged)


_PLAIN_MARKS = frozenset({"parametrize"})
_SLOW_OPTIONS = ("usepdb", "setupshow", "setuponly", "setupplan")
"""Options that need pytest's own protocol (a debugger, fixture set-up shown or planned)."""


_PLAIN_FIXTURES = frozenset({"clearance_item", "request"})
"""What a plain item may use: its value, and the ``request`` the fixture reads it from."""


@functools.lru_cache(maxsize=64)
def _parameters(function: Any) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters)


def _plain(item: pytest.Item) -> bool:
    """Whether ``item`` is an eval item that may run in one step (see the module doc)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "clearance_item" not in callspec.params:
        return False
    if not isinstance(item, pytest.Function) or not _PLAIN_FIXTURES.issuperset(item.fixturenames):
        return False
    if _parameters(item.obj) != ("clearance_item",):
        return False
    if any(mark.name not in _PLAIN_MARKS for mark in item.iter_markers()):
        return False
    return not any(item.config.getoption(name, False) for name in _SLOW_OPTIONS)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Run a plain eval item in one step: its value made directly, its test called, its
    three reports made and logged by the usual hooks (``None``: pytest's protocol)."""
    if not _plain(item):
        return None
    assert isinstance(item, pytest.Function)  # _plain checked it
    from _pytest.runner import CallInfo

    ihook = item.ihook
    reraise = (pytest.exit.Exception, KeyboardInterrupt)
    capture = item.config.pluginmanager.getplugin("capturemanager")

    def setup() -> None:
        item.funcargs["clearance_item"] = _item_check(
            item.config, item.callspec.params["clearance_item"]
        )

    def call() -> None:
        if capture is None:
            item.runtest()
            return
        with capture.item_capture("call", item):
            item.runtest()

    def teardown() -> None:
        item.session._setupstate.teardown_exact(nextitem)

    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    passed = True
    for when, step in (("setup", setup), ("call", call), ("teardown", teardown)):
        if when == "call" and not passed:
            continue
        info = CallInfo.from_call(step, when=when, reraise=reraise)  # type: ignore[arg-type]
        report = ihook.pytest_runtest_makereport(item=item, call=info)
        ihook.pytest_runtest_logreport(report=report)
        if when == "setup":
            passed = report.passed
    item.funcargs.clear()
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _unjudged(config: pytest.Config, run: Any) -> dict[str, str]:
    """Models none of whose items was judged, and why (computed once per session)."""
    found = config.stash.get(_UNJUDGED, None)
    if found is None:
        found = config.stash[_UNJUDGED] = run.unjudged_models()
    return found


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is None:
        return
    counts = run.counts
    write = terminalreporter.write_line
    terminalreporter.section("clearance evals")
    write(
        f"run {run.run_id}: {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['infra_error']} infra errors, {counts['not_run']} not run; "
        f"{run.spend} USD in {run.elapsed_s:.1f} s ({run.status})"
    )
    if run.note:
        write(run.note)
    for model_id, tally in sorted(run.per_model().items()):
        share = tally["passed_share"]
        rate = f"{share:.1%}" if share is not None else "n/a"
        write(f"  {model_id}: {rate} of judged items passed ({tally['pass']}/{tally['judged']})")
    for reason in _unjudged(config, run).values():
        write(f"FAILED {reason}", red=True, bold=True)
    write(f"stored in the catalog: `clearance runs show {run.run_id}`")


def pytest_unconfigure(config: pytest.Config) -> None:
    plan = config.stash.get(_PLAN, None)
    if plan is not None:
        plan.catalog.dispose()

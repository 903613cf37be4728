"""Evaluation: every case of the suites against candidate models, recorded and replayed.

- :mod:`~clearance.evaluation.cases`: the suites' cases and what their recordings are
  keyed to;
- :mod:`~clearance.evaluation.recording`: vcrpy cassettes, one per (model, case),
  replayed strictly, secrets scrubbed;
- :mod:`~clearance.evaluation.engine`: the run, concurrent, through the router, with a
  cost cap and shards;
- :mod:`~clearance.evaluation.simulator`: the reference simulator as the provider factory
  the CLI and ``pytest evals`` hand the engine (which names no simulator);
- :mod:`~clearance.evaluation.metrics`: the rates computed from the runs and per-item
  results the catalog keeps (:mod:`clearance.catalog.runstore`;
  :mod:`~clearance.evaluation.results` re-exports its names);
- :mod:`~clearance.evaluation.pytest_plugin`: ``pytest evals``;
- :mod:`~clearance.evaluation.audit`: tool calls in third-party cassettes, judged.

The engine is exported here (:data:`__all__`): a run (:class:`Evaluation`, what it
takes and what it returns), the simulator as a provider factory, the records and the
store of runs and results, the rates, and the audit. Names are imported on first use
(vcrpy and pandas are slow to import), as in :mod:`clearance`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearance._lazy import homes, lazy_exports

# The one list of exports, module -> names; ``__all__`` and ``__getattr__`` derive from it.
# The TYPE_CHECKING block at the end repeats it for type checkers, checked by a test (why:
# see clearance/__init__.py).
_EXPORTS: dict[str, tuple[str, ...]] = {
    # a run: what it takes, returns and may start
    "clearance.evaluation.engine": (
        "EvalItem",
        "Evaluation",
        "ProviderFactory",
        "RoundPlanner",
        "RunOutcome",
        "TrialOutcome",
    ),
    "clearance.evaluation.simulator": ("SimulatorProviders",),
    "clearance.evaluation.cases": ("CaseKind", "EvalCase", "SuiteSet", "load_suites"),
    "clearance.evaluation.recording": (
        "CaseCassette",
        "CassetteLibrary",
        "RecordMode",
        "RecordingTransport",
    ),
    # runs and per-item results, as the catalog keeps them
    "clearance.catalog.runrecords": (
        "FinishStatus",
        "ItemResult",
        "RunRecord",
        "RunSpec",
        "RunState",
        "RunStatus",
        "ShardState",
        "Verdict",
    ),
    "clearance.catalog.runstore": ("ResultStore",),
    # the rates, and why items were not judged
    "clearance.evaluation.metrics": (
        "GroupRate",
        "ModelSummary",
        "PassHatK",
        "Summary",
        "pass_hat_k",
        "summarize",
    ),
    "clearance.evaluation.infra": ("InfraGroup", "InfraMessage"),
    # tool calls in third-party cassettes, judged
    "clearance.evaluation.audit": (
        "AuditReport",
        "CallVerdict",
        "CassetteAudit",
        "ExchangeAudit",
        "ModelRow",
        "UnreadableCassette",
        "audit_cassettes",
    ),
}

# Hidden from type checkers, which read the imports at the end instead: the ``Any`` its
# ``__getattr__`` returns would let a misspelt or missing name through unnoticed.
_HOME = homes(_EXPORTS)

__all__ = sorted(_HOME)

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports("clearance.evaluation", _HOME, globals())


if TYPE_CHECKING:  # pragma: no cover
    from clearance.catalog.runrecords import FinishStatus as FinishStatus
    from clearance.catalog.runrecords import ItemResult as ItemResult
    from clearance.catalog.runrecords import RunRecord as RunRecord
    from clearance.catalog.runrecords import RunSpec as RunSpec
    from clearance.catalog.runrecords import RunState as RunState
    from clearance.catalog.runrecords import RunStatus as RunStatus
    from clearance.catalog.runrecords import ShardState as ShardState
    from clearance.catalog.runrecords import Verdict as Verdict
    from clearance.catalog.runstore import ResultStore as ResultStore
    from clearance.evaluation.audit import AuditReport as AuditReport
    from clearance.evaluation.audit import CallVerdict as CallVerdict
    from clearance.evaluation.audit import CassetteAudit as CassetteAudit
    from clearance.evaluation.audit import ExchangeAudit as ExchangeAudit
    from clearance.evaluation.audit import ModelRow as ModelRow
    from clearance.evaluation.audit import UnreadableCassette as UnreadableCassette
    from clearance.evaluation.audit import audit_cassettes as audit_cassettes
    from clearance.evaluation.cases import CaseKind as CaseKind
    from clearance.evaluation.cases import EvalCase as EvalCase
    from clearance.evaluation.cases import SuiteSet as SuiteSet
    from clearance.evaluation.cases import load_suites as load_suites
    from clearance.evaluation.engine import EvalItem as EvalItem
    from clearance.evaluation.engine import Evaluation as Evaluation
    from clearance.evaluation.engine import ProviderFactory as ProviderFactory
    from clearance.evaluation.engine import RoundPlanner as RoundPlanner
    from clearance.evaluation.engine import RunOutcome as RunOutcome
    from clearance.evaluation.engine import TrialOutcome as TrialOutcome
    from clearance.evaluation.infra import InfraGroup as InfraGroup
    from clearance.evaluation.infra import InfraMessage as InfraMessage
    from clearance.evaluation.metrics import GroupRate as GroupRate
    from clearance.evaluation.metrics import ModelSummary as ModelSummary
    from clearance.evaluation.metrics import PassHatK as PassHatK
    from clearance.evaluation.metrics import Summary as Summary
    from clearance.evaluation.metrics import pass_hat_k as pass_hat_k
    from clearance.evaluation.metrics import summarize as summarize
    from clearance.evaluation.recording import CaseCassette as CaseCassette
    from clearance.evaluation.recording import CassetteLibrary as CassetteLibrary
    from clearance.evaluation.recording import RecordingTransport as RecordingTransport
    from clearance.evaluation.recording import RecordMode as RecordMode
    from clearance.evaluation.simulator import SimulatorProviders as SimulatorProviders

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

Submodules are imported on use (vcrpy and pandas are slow to import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AuditReport",
    "CallVerdict",
    "CassetteAudit",
    "ExchangeAudit",
    "ModelRow",
    "UnreadableCassette",
    "audit_cassettes",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'clearance.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module("clearance.evaluation.audit"), name)


if TYPE_CHECKING:  # pragma: no cover
    from clearance.evaluation.audit import (
        AuditReport,
        CallVerdict,
        CassetteAudit,
        ExchangeAudit,
        ModelRow,
        UnreadableCassette,
        audit_cassettes,
    )

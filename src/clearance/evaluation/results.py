"""Eval runs and their per-item results: the names this module used to define.

The record types (:class:`RunSpec`, :class:`ItemResult`, :class:`RunRecord`, ...) live in
:mod:`clearance.catalog.runrecords` and the store that reads and writes them,
:class:`ResultStore`, in :mod:`clearance.catalog.runstore`: the catalog owns every SQL
statement on its tables, and a store imports nothing of the evaluation above it. They
are re-exported here so that ``from clearance.evaluation.results import ...`` keeps
working; new code imports them from the catalog.
"""

from __future__ import annotations

from clearance.catalog.runrecords import (
    CaseKind,
    FinishStatus,
    ItemResult,
    RunRecord,
    RunSpec,
    RunState,
    RunStatus,
    ShardState,
    Verdict,
    new_run_id,
)
from clearance.catalog.runstore import RESULT_COLUMNS, ResultStore

__all__ = [
    "RESULT_COLUMNS",
    "CaseKind",
    "FinishStatus",
    "ItemResult",
    "ResultStore",
    "RunRecord",
    "RunSpec",
    "RunState",
    "RunStatus",
    "ShardState",
    "Verdict",
    "new_run_id",
]

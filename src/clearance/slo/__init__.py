"""Service-level objectives on live traffic, measured from the ``ai_calls`` table.

- :mod:`~clearance.slo.objectives`: the objectives file (``gates/slo.yaml``): metrics,
  bounds, window, minimum sample, grouping; durations (``15m``, ``1h``, ``7d``);
- :mod:`~clearance.slo.aggregate`: per-group figures computed in the database (exact
  spend, ``percentile_cont`` latency on SQLite and PostgreSQL alike), the reasons
  behind each rate, and example calls;
- :mod:`~clearance.slo.examples`: the calls behind a breach, by call id;
- :mod:`~clearance.slo.sqlite_aggregates`: the exact decimal sum and ``percentile_cont``
  that SQLite lacks;
- :mod:`~clearance.slo.snapshots`: the gated models' live calls by model snapshot, and
  the snapshots no enabling decision was taken on (what a gate policy's
  ``snapshots.on_unverified`` does about them);
- :mod:`~clearance.slo.retrieval`: the retrieval objectives (empty results, truncation,
  failures, latency of knowledge retrievals) judged on the ``retrievals`` table;
- :mod:`~clearance.slo.check`: every objective judged per group (ok, breach,
  insufficient_data, no_data) with its evidence, and the snapshots, as an
  :class:`SloReport`.
"""

from __future__ import annotations

from clearance.slo.aggregate import (
    QUANTILES,
    Breakdown,
    CallFilter,
    Counts,
    Group,
    GroupStats,
    aggregate_calls,
    breakdown_calls,
)
from clearance.slo.check import (
    Evidence,
    SloReport,
    SloResult,
    SloStatus,
    check_slos,
    check_window,
    window_bounds,
)
from clearance.slo.examples import ExampleCall, Offenders, offending_calls, slower_than
from clearance.slo.objectives import (
    DIMENSIONS,
    METRICS,
    RETRIEVAL_DIMENSIONS,
    RETRIEVAL_METRICS,
    Dimension,
    Metric,
    MetricInfo,
    Objective,
    RetrievalDimension,
    RetrievalMetric,
    RetrievalObjective,
    RetrievalObjectives,
    SloPolicy,
    format_duration,
    load_slo_policy,
    parse_duration,
    regroup,
    slo_path,
)
from clearance.slo.retrieval import (
    RetrievalCheck,
    RetrievalEvidence,
    RetrievalExample,
    RetrievalGroup,
    RetrievalResult,
    RetrievalStats,
    aggregate_retrievals,
    check_retrievals,
)
from clearance.slo.snapshots import (
    ModelSnapshots,
    SnapshotCheck,
    SnapshotUse,
    UnverifiedSnapshot,
    check_snapshots,
    enforce_snapshots,
    unverified_reason,
)
from clearance.slo.sqlite_aggregates import decimal_sum, percentile_cont

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "QUANTILES",
    "RETRIEVAL_DIMENSIONS",
    "RETRIEVAL_METRICS",
    "Breakdown",
    "CallFilter",
    "Counts",
    "Dimension",
    "Evidence",
    "ExampleCall",
    "Group",
    "GroupStats",
    "Metric",
    "MetricInfo",
    "ModelSnapshots",
    "Objective",
    "Offenders",
    "RetrievalCheck",
    "RetrievalDimension",
    "RetrievalEvidence",
    "RetrievalExample",
    "RetrievalGroup",
    "RetrievalMetric",
    "RetrievalObjective",
    "RetrievalObjectives",
    "RetrievalResult",
    "RetrievalStats",
    "SloPolicy",
    "SloReport",
    "SloResult",
    "SloStatus",
    "SnapshotCheck",
    "SnapshotUse",
    "UnverifiedSnapshot",
    "aggregate_calls",
    "aggregate_retrievals",
    "breakdown_calls",
    "check_retrievals",
    "check_slos",
    "check_snapshots",
    "check_window",
    "decimal_sum",
    "enforce_snapshots",
    "format_duration",
    "load_slo_policy",
    "offending_calls",
    "parse_duration",
    "percentile_cont",
    "regroup",
    "slo_path",
    "slower_than",
    "unverified_reason",
    "window_bounds",
]

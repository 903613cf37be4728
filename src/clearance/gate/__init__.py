"""Release gates: pass rates turned into enable / disable / inconclusive decisions.

- :mod:`~clearance.gate.decide`: one model's eval results judged against a policy:
  ``enable``, ``disable`` or ``inconclusive``, with every check as data and the model
  snapshots the results were taken on;
- :mod:`~clearance.gate.policy`: the gate policy files in ``gates/`` (thresholds per
  criticality, flows, pass^k, trials, infrastructure errors, latency, cost, the
  regression rule, what an unverified model snapshot does, the retrieval bars),
  validated, each with the hash of its bytes;
- :mod:`~clearance.gate.stats`: confidence intervals and bounds for pass rates
  (Wilson, Clopper–Pearson), the clustering of trials within a case, and how many
  more trials would settle an inconclusive gate, and the paired bounds on a candidate's
  drop from its baseline (case by case, valid at every sample size).
"""

from __future__ import annotations

from clearance.gate.decide import Check, GateResult, decide, result_snapshots
from clearance.gate.policy import (
    Cost,
    Criticality,
    GatePolicy,
    Latency,
    OnUnverified,
    PassHatK,
    Regression,
    RetrievalBar,
    RetrievalChecks,
    SnapshotRule,
    Threshold,
    load_policies,
    load_policy,
    policy_hash,
)
from clearance.gate.stats import (
    PAIRED_METHOD,
    ClusteredRate,
    Interval,
    Method,
    PairedDrop,
    clopper_pearson_interval,
    clustered_interval,
    clustered_rate,
    lower_bound,
    mean_lower_bound,
    mean_upper_bound,
    paired_drop_bounds,
    trials_to_settle,
    upper_bound,
    wilson_interval,
)

__all__ = [
    "PAIRED_METHOD",
    "Check",
    "ClusteredRate",
    "Cost",
    "Criticality",
    "GatePolicy",
    "GateResult",
    "Interval",
    "Latency",
    "Method",
    "OnUnverified",
    "PairedDrop",
    "PassHatK",
    "Regression",
    "RetrievalBar",
    "RetrievalChecks",
    "SnapshotRule",
    "Threshold",
    "clopper_pearson_interval",
    "clustered_interval",
    "clustered_rate",
    "decide",
    "load_policies",
    "load_policy",
    "lower_bound",
    "mean_lower_bound",
    "mean_upper_bound",
    "paired_drop_bounds",
    "policy_hash",
    "result_snapshots",
    "trials_to_settle",
    "upper_bound",
    "wilson_interval",
]

"""HTML reliability reports: what the gate decided, why, and what changed.

``collect`` reads the catalog into :class:`ReportData` (pandas does the
aggregation, :mod:`figures` holds the arithmetic), ``drilldown`` turns a failing
trial's evidence into argument diffs, and ``render`` writes self-contained HTML
with the jinja2 templates shipped in ``templates/``; ``leaderboard`` computes BFCL's
own figures for an imported BFCL suite; ``settle`` says how many more trials of which
cases would settle an inconclusive gate, and what they would cost.
"""

from clearance.reports.collect import (
    CaseRef,
    CostFigures,
    FlowRow,
    InfraGroup,
    ModelReport,
    ReportData,
    collect_report,
    load_failing,
)
from clearance.reports.figures import FLOWS, Cell, Change, FlakyCase, TrendPoint
from clearance.reports.leaderboard import (
    BfclCategoryScore,
    BfclLeaderboard,
    BfclSummary,
    bfcl_leaderboard,
)
from clearance.reports.render import ReportFiles, environment, model_slug, write_report
from clearance.reports.settle import SettleCase, SettlePlan, SettleRule, SettleStep, settle_plan
from clearance.reports.turns import FlowScripts

__all__ = [
    "FLOWS",
    "BfclCategoryScore",
    "BfclLeaderboard",
    "BfclSummary",
    "CaseRef",
    "Cell",
    "Change",
    "CostFigures",
    "FlakyCase",
    "FlowRow",
    "FlowScripts",
    "InfraGroup",
    "ModelReport",
    "ReportData",
    "ReportFiles",
    "SettleCase",
    "SettlePlan",
    "SettleRule",
    "SettleStep",
    "TrendPoint",
    "bfcl_leaderboard",
    "collect_report",
    "environment",
    "load_failing",
    "model_slug",
    "settle_plan",
    "write_report",
]

"""HTML reliability reports: what the gate decided, why, and what changed.

``collect`` reads the catalog into :class:`ReportData` (pandas does the
aggregation, :mod:`figures` holds the arithmetic), ``drilldown`` turns a failing
trial's evidence into argument diffs, and ``render`` writes self-contained HTML
with the jinja2 templates shipped in ``templates/``.
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
from clearance.reports.render import ReportFiles, environment, model_slug, write_report
from clearance.reports.turns import FlowScripts

__all__ = [
    "FLOWS",
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
    "TrendPoint",
    "collect_report",
    "environment",
    "load_failing",
    "model_slug",
    "write_report",
]

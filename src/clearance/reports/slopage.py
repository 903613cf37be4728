"""The SLO page: objectives, figures and the reasons behind them, in the report's style.

With a ``retrieval:`` section in ``gates/slo.yaml``, the page has a retrieval section: the
retrieval objectives by group, each breach with its example retrievals (by call id), and
each group's retrieval figures.

:func:`render_slo_page` turns a :class:`clearance.slo.SloReport` into HTML with the
report's templates (same escaping and secret redaction); :func:`configured_slo_report` runs
the project's check over its window for ``clearance report`` and the demo.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from clearance.catalog.database import Catalog
from clearance.config import ClearanceConfig
from clearance.reports.render import environment, money_text, render_common
from clearance.slo import (
    METRICS,
    RETRIEVAL_METRICS,
    RetrievalResult,
    SloReport,
    SloResult,
    check_window,
    format_duration,
    load_slo_policy,
    slo_path,
)

__all__ = ["SLO_PAGE", "configured_slo_report", "render_slo_page", "slo_pages"]

SLO_PAGE = "slo.html"


def _value(value: Any, metric: str, retrieval: bool = False) -> str:
    """A measured value or bound in its metric's unit (``retrieval``: a retrieval metric)."""
    if value is None:
        return "-"
    unit = (RETRIEVAL_METRICS if retrieval else METRICS)[metric].unit
    if unit == "usd":
        return f"{money_text(Decimal(str(value)))} USD"
    if unit == "ms":
        return f"{float(value):.1f} ms"
    return f"{float(value):.4f}"


def _table(report: SloReport) -> list[tuple[str, list[SloResult | None]]]:
    """One row per group, one column per objective."""
    rows: dict[str, list[SloResult | None]] = {}
    for result in report.results:
        row = rows.setdefault(result.group.label, [None] * len(report.policy.objectives))
        row[result.index] = result
    return list(rows.items())


def _retrieval_table(report: SloReport) -> list[tuple[str, list[RetrievalResult | None]]]:
    """The retrieval objectives: one row per group, one column per objective."""
    check = report.retrieval
    if check is None:
        return []
    rows: dict[str, list[RetrievalResult | None]] = {}
    for result in check.results:
        row = rows.setdefault(result.group.label, [None] * len(check.objectives.objectives))
        row[result.index] = result
    return list(rows.items())


def _simulated(catalog: Catalog | None, report: SloReport) -> set[str]:
    if catalog is None:
        return set()
    from clearance.reports.collect import simulated_models

    models = sorted({g.group.model for g in report.groups if g.group.model})
    with catalog.connect() as connection:
        return simulated_models(connection, models)


def render_slo_page(
    report: SloReport,
    *,
    catalog: Catalog | None = None,
    report_index: str | None = None,
    secrets: Sequence[str] | None = None,
) -> str:
    """The SLO page's HTML.

    Args:
        report: from :func:`clearance.slo.check_slos`.
        catalog: to mark the models served by the reference provider (SIMULATOR).
        report_index: link back to the reliability report (relative), if beside it.
        secrets: values to redact (default: the secret-looking environment variables).
    """
    env = environment(secrets)
    env.filters["slo_value"] = _value
    return env.get_template("slo.html").render(
        **render_common(report.checked_at),
        slo=report,
        table=_table(report),
        retrieval_table=_retrieval_table(report),
        retrieval_metrics=RETRIEVAL_METRICS,
        window=format_duration(report.window),
        policy_path=report.policy.path or "(built in code)",
        metrics=METRICS,
        simulated=_simulated(catalog, report),
        report_index=report_index,
    )


def configured_slo_report(
    config: ClearanceConfig,
    catalog: Catalog,
    *,
    window: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> SloReport | None:
    """The project's objectives (``gates/slo.yaml``) judged over their window; ``None``
    when the project has none.

    Raises:
        ConfigError: the objectives file does not validate.
    """
    path = slo_path(config.root, config.gate.root)
    if not path.is_file():
        return None
    return check_window(catalog, load_slo_policy(path), window=window, now=now)


def slo_pages(report: SloReport | None, *, catalog: Catalog | None = None) -> dict[str, str]:
    """``{"slo.html": html}`` for the report's folder (empty without a report)."""
    if report is None:
        return {}
    return {SLO_PAGE: render_slo_page(report, catalog=catalog, report_index="index.html")}

"""The SLO page: objectives, figures and the reasons behind them, in the report's style.

:func:`render_slo_page` turns a :class:`clearance.slo.SloReport` into HTML with the
report's templates (same escaping and secret redaction); :func:`slo_pages` runs the
check over the objectives file's window for ``clearance report`` and the demo.
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
    CallFilter,
    SloReport,
    SloResult,
    check_slos,
    format_duration,
    load_slo_policy,
    slo_path,
    window_bounds,
)

__all__ = ["SLO_PAGE", "render_slo_page", "slo_pages"]

SLO_PAGE = "slo.html"


def _value(value: Any, metric: str) -> str:
    """A measured value or bound in its metric's unit."""
    if value is None:
        return "-"
    unit = METRICS[metric].unit
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
        window=format_duration(report.window),
        policy_path=report.policy.path or "(built in code)",
        metrics=METRICS,
        simulated=_simulated(catalog, report),
        report_index=report_index,
    )


def slo_pages(
    config: ClearanceConfig,
    catalog: Catalog,
    *,
    window: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """``{"slo.html": html}`` over the objectives file's window, for the report's folder;
    empty when the project has no ``slo.yaml``.

    Raises:
        ConfigError: the objectives file does not validate.
    """
    path = slo_path(config.root, config.gate.root)
    if not path.is_file():
        return {}
    policy = load_slo_policy(path)
    since, until = window_bounds(policy, window=window, now=now)
    with catalog.connect() as connection:
        report = check_slos(connection, policy, CallFilter(since, until), now=now)
    return {SLO_PAGE: render_slo_page(report, catalog=catalog, report_index="index.html")}

"""The SLO page: money as the report shows it, and groups with nothing to measure.

The calls are written by hand with the helpers of tests/test_slo.py; the page is read
back with the standard library's HTML parser.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from clearance.catalog.database import Catalog
from clearance.reports.slopage import render_slo_page
from clearance.slo import check_slos
from tests.support.html import Node, assert_self_contained, parse
from tests.test_slo import HOUR, ok, policy, seed

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

DOWN, UP = "p:down", "p:up"
OBJECTIVES = """\
version: 1
min_calls: 1
objectives:
  - {metric: error_rate, max: 0.2}
  - {metric: fallback_rate, max: 0.5}
  - {metric: avg_cost_per_message_usd, max: "0.02"}
  - {metric: spend_usd, max: "0.1"}
"""
# p:up spends 0.1000001 USD over 3 served calls (0.0333333666... each), and answers for
# p:down, which the router chose once and which served nothing itself
CALLS = [
    ("u1", 0, ok(UP, cost=Decimal("0.05"), pricing_source="catalog", latency_ms=10.0)),
    ("u2", 1, ok(UP, cost=Decimal("0.05"), pricing_source="catalog", latency_ms=10.0)),
    ("u3", 2, ok(UP, requested_model=DOWN, fallback_from=DOWN, fallback_reason="server_error",
                 cost=Decimal("0.0000001"), pricing_source="catalog", latency_ms=10.0)),
]  # fmt: skip


def page(catalog: Catalog, tmp_path: Path) -> Node:
    seed(catalog, CALLS)
    with catalog.connect() as connection:
        report = check_slos(connection, policy(OBJECTIVES, tmp_path), HOUR)
    out = tmp_path / "slo.html"
    out.write_text(render_slo_page(report), encoding="utf-8")
    assert_self_contained([out])
    return parse(out)


def cells(found: Node, group: str) -> list[Node]:
    return found.one("tr", data_group=group).all("td")


def test_a_group_with_no_calls_reads_no_data_in_every_column(
    catalog: Catalog, tmp_path: Path
) -> None:
    found = page(catalog, tmp_path)
    down = cells(found, DOWN)
    # fallback_rate is measured (the router chose p:down once); the rest have no call
    assert [td.attrs["data-status"] for td in down] == ["no_data", "breach", "no_data", "no_data"]
    for td in (down[0], down[2], down[3]):
        assert td.one("span", class_="badge b-no_data").words() == "no data"
        assert td.one("div").words() == "n=0"
        assert td.words() == "no data" + "n=0"  # no figure beside it: no "0 USD", no "-"
    counts = next(p.words() for p in found.all("p") if p.all("span", class_="badge b-breach"))
    assert "no data 3 (nothing to measure)" in counts
    assert "insufficient data 0" in counts


def test_usd_is_shown_short_with_the_exact_amount_in_its_title(
    catalog: Catalog, tmp_path: Path
) -> None:
    found = page(catalog, tmp_path)
    up = cells(found, UP)
    average = up[2].one("span", class_="money")
    exact = Decimal("0.1000001") / 3
    assert (average.words(), average.attrs["title"]) == ("0.0333334", format(exact, "f"))
    # a breach shows the digits that tell it from its bound, never "0.1 USD ≤ 0.1 USD"
    spend = up[3].one("span", class_="money")
    assert (up[3].attrs["data-status"], spend.words()) == ("breach", "0.1000001")
    heading = found.one("div", data_breach="spend_usd").one("h3").words()
    assert heading == "p:up: spend_usd 0.1000001 USD, objective ≤ 0.1 USD"
    row = next(tr for tr in found.one("table", class_="figures").all("tr") if UP in tr.words())
    spent = row.all("td")[7].one("span", class_="money")  # a figure, not judged: 6 digits
    assert (spent.words(), spent.attrs["title"]) == ("0.1", "0.1000001")


def test_estimated_spend_is_shown_apart(catalog: Catalog, tmp_path: Path) -> None:
    seed(
        catalog,
        [
            ("c1", 0, ok(UP, cost=Decimal("0.001"), pricing_source="catalog", latency_ms=10.0)),
            ("e1", 1, ok(UP, cost=Decimal("0.0004"), pricing_source="estimated", latency_ms=10.0)),
        ],
    )
    with catalog.connect() as connection:
        report = check_slos(connection, policy(OBJECTIVES, tmp_path), HOUR)
    out = tmp_path / "slo.html"
    out.write_text(render_slo_page(report), encoding="utf-8")
    flag = parse(out).one("div", data_flag="estimated")
    assert flag.words() == "of which 0.0004 estimated (1 call without usage)"

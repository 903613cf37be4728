"""The SLO page's retrieval section, read back with the standard library's HTML parser.

The retrievals are the hand-made set of tests/test_slo_retrieval.py (its figures are
checked there, on both dialects).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance.catalog.database import Catalog
from clearance.reports.slopage import render_slo_page
from clearance.slo import check_slos, load_slo_policy
from tests.support.html import Node, assert_self_contained, parse
from tests.test_slo import HOUR
from tests.test_slo_retrieval import OBJECTIVES, seed_retrievals, slo_file

# Above the stores: tests/test_slo_retrieval.py runs this SQL on PostgreSQL.
pytestmark = pytest.mark.any_dialect


def page(catalog: Catalog, tmp_path: Path, section: str = OBJECTIVES) -> Node:
    seed_retrievals(catalog)
    policy = load_slo_policy(slo_file(tmp_path, section))
    with catalog.connect() as connection:
        report = check_slos(connection, policy, HOUR, snapshots=False)
    out = tmp_path / "slo.html"
    out.write_text(render_slo_page(report), encoding="utf-8")
    assert_self_contained([out])
    return parse(out)


def test_the_retrieval_section_shows_objectives_figures_and_breaches(
    catalog: Catalog, tmp_path: Path
) -> None:
    found = page(catalog, tmp_path)
    section = found.one("section", id="retrieval")
    assert section.one("h2").words() == "Knowledge retrieval breach"
    assert [a.attrs["href"] for a in found.all("a") if a.attrs.get("href") == "#retrieval"]
    hybrid = section.one("tr", data_retrieval_group="hybrid").all("td")
    assert [td.attrs.get("data-status") for td in hybrid] == [
        "breach",
        "breach",
        "ok",
        None,  # error_rate names lexical and dense only
        "insufficient_data",
    ]
    assert hybrid[0].words() == "breach 0.5000n=2"
    assert hybrid[1].words() == "breach 290.0 msn=2"
    dense = section.one("tr", data_retrieval_group="dense").all("td")
    assert dense[3].attrs["data-status"] == "no_data"
    figures = section.one("tr", data_retrieval_figures="lexical").all("td")
    assert [td.words() for td in figures[:4]] == ["5", "1", "1/4", "1/4"]
    breach = section.one("div", data_retrieval_breach="empty_result_rate")
    assert breach.one("h3").words() == ("hybrid: empty_result_rate 0.5000, objective ≤ 0.2500")
    rows = [[td.words() for td in tr.all("td")] for tr in breach.one("tbody").all("tr")]
    assert [(row[0], row[2]) for row in rows] == [("h2", "nothing found (k=5)")]
    slow = section.one("div", data_retrieval_breach="p95_latency_ms")
    assert "1 slower than 200 ms" in slow.one("p").words()
    assert "a query's text is never stored" in section.words()


def test_without_a_retrieval_section_the_page_has_none(catalog: Catalog, tmp_path: Path) -> None:
    found = page(catalog, tmp_path, section="")
    assert found.all("section", id="retrieval") == []
    assert [a for a in found.all("a") if a.attrs.get("href") == "#retrieval"] == []

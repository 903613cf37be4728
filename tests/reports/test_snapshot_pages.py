"""Model snapshots in the reports: the snapshots each model's judged trials were answered
by (model page and overview), and on the SLO page the live snapshots of the gated models,
unverified ones marked. Snapshots are a provider's text: shown as text, never as markup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import Provenance, record_decision
from clearance.config import ClearanceConfig
from clearance.evaluation.results import ResultStore
from clearance.reports import collect_report, model_slug, write_report
from clearance.reports.slopage import render_slo_page
from clearance.slo import CallFilter, SloPolicy, check_slos
from tests.reports.test_report import BAD, NOW_START, POLICY, Clock, Trials, add_models, run
from tests.support.html import assert_self_contained, parse

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

HOSTILE = "m@fp_<script>alert(1)</script>"


def test_the_model_page_and_the_overview_show_the_snapshots_as_text(
    catalog: Catalog, tmp_path: Path
) -> None:
    clock = Clock()
    add_models(catalog, BAD)
    snapshots = iter([HOSTILE, "m@fp_a", "m@fp_a", None, "m@fp_z"])
    items = [
        replace(item, model_snapshot=next(snapshots))
        for item in [
            *Trials(BAD, "b1", "PFP", "missing_call").items(None),
            *Trials(BAD, "b2", "PI", "missing_call").items(None),  # the infra one: m@fp_z
        ]
    ]
    run(ResultStore(catalog, clock=clock), clock, "r-s", NOW_START, items, [BAD])
    with catalog.begin() as connection:
        record_decision(
            connection,
            model_id=BAD,
            decision="enable",
            reasons=(),
            checks=[],
            provenance=Provenance(
                "release", None, eval_run_ids=("r-s",), snapshots={"m@fp_a": 2, HOSTILE: 1}
            ),
            decided_by="ci",
            host=None,
            decided_at=NOW_START + dt.timedelta(hours=2),
        )
    data = collect_report(ClearanceConfig(root=tmp_path), catalog, policy=POLICY)
    model = data.model(BAD)
    assert dict(model.snapshots) == {"m@fp_a": 2, HOSTILE: 1}  # judged trials only
    assert model.snapshot_unknown == 1
    files = write_report(data, tmp_path / "report", catalog=catalog)
    page_file = tmp_path / "report" / "models" / f"{model_slug(BAD)}.html"
    assert_self_contained([page_file, files.index])
    page = parse(page_file)
    shown = [code.text() for code in page.all("code", data_snapshot=None)]
    assert shown == ["m@fp_a", HOSTILE]
    assert "named none" in page.words()
    assert "The recorded decision was taken on m@fp_a (2), " + HOSTILE + " (1)" in page.words()
    assert not page.all("script")  # the provider's text never became markup
    assert "<script>alert" not in page_file.read_text(encoding="utf-8")
    overview = parse(files.index).one("div", data_snapshots=BAD)
    assert overview.words() == f"on m@fp_a (2), {HOSTILE} (1)"


def test_a_failing_trial_answered_by_several_snapshots_lists_them_call_by_call(
    catalog: Catalog, tmp_path: Path
) -> None:
    clock = Clock()
    add_models(catalog, BAD)
    (item,) = Trials(BAD, "flow_x", "F", "final_answer_mismatch").items(None)
    evidence = {**dict(item.evidence or {}), "snapshots": ["m@fp_a", None, HOSTILE]}
    items = [replace(item, evidence=evidence, model_snapshot=HOSTILE)]
    run(ResultStore(catalog, clock=clock), clock, "r-m", NOW_START, items, [BAD])
    data = collect_report(ClearanceConfig(root=tmp_path), catalog, policy=POLICY)
    write_report(data, tmp_path / "report", catalog=catalog)
    page = parse(tmp_path / "report" / "models" / f"{model_slug(BAD)}.html")
    listed = page.one("div", data_case="flow_x").one("p", class_="snapshots")
    assert listed.words() == (
        "Its calls were answered by different model snapshots, in order: "
        f"m@fp_a, none reported, {HOSTILE}."
    )
    assert not page.all("script")


T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
A, B = "p:a", "p:b"


def test_the_slo_page_lists_the_live_snapshots_and_marks_the_unverified(
    catalog: Catalog, tmp_path: Path
) -> None:
    add_models(catalog, A, B)
    with catalog.begin() as connection:
        for model_id, snapshots in ((A, {"a@fp_1": 4}), (B, {})):
            record_decision(
                connection,
                model_id=model_id,
                decision="enable",
                reasons=(),
                checks=[],
                provenance=Provenance("release", None, snapshots=snapshots),
                decided_by="ci",
                host=None,
                decided_at=T0 - dt.timedelta(days=1),
            )
        calls = [
            ("a1", A, "a@fp_1"),
            ("a2", A, HOSTILE),
            ("a3", A, HOSTILE),
            ("a4", A, None),
            ("b1", B, "b@1"),
        ]
        connection.execute(
            insert(t.ai_calls),
            [
                {
                    "call_id": call_id,
                    "started_at": T0 + dt.timedelta(minutes=n),
                    "status": "ok",
                    "served_model": model,
                    "model_snapshot": snapshot,
                }
                for n, (call_id, model, snapshot) in enumerate(calls)
            ],
        )
    policy = SloPolicy.model_validate(
        {"version": 1, "min_calls": 1000, "objectives": [{"metric": "error_rate", "max": 0.5}]}
    )
    with catalog.connect() as connection:
        report = check_slos(connection, policy, CallFilter(T0, T0 + dt.timedelta(hours=1)))
    out = tmp_path / "slo.html"
    out.write_text(render_slo_page(report), encoding="utf-8")
    assert_self_contained([out])
    page = parse(out)
    assert "unverified snapshot" in page.one("h1").words()
    section = page.one("section", id="snapshots")
    rows = {
        (row.attrs["data-model"], row.attrs["data-snapshot"]): [c.words() for c in row.all("td")]
        for row in section.all("tr", data_model=None)
    }
    assert rows == {
        (A, "a@fp_1"): ["a@fp_1", "1", "2026-03-01 12:00 UTC", "2026-03-01 12:00 UTC", "verified"],
        (A, HOSTILE): [HOSTILE, "2", "2026-03-01 12:01 UTC", "2026-03-01 12:02 UTC", "unverified"],
        (A, ""): ["none reported", "1", "", "", "unknown"],
        (B, "b@1"): ["b@1", "1", "2026-03-01 12:04 UTC", "2026-03-01 12:04 UTC", "not recorded"],
    }
    assert "1 model snapshot(s) served live calls" in section.words()
    assert f"verify none: {B}" in section.words()
    assert not page.all("script")

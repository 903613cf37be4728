"""The model snapshots a gate decision was taken on: counted from the judged results,
stored with the decision, shown by ``clearance gate``, its CI outputs and the decision
history; and a decision marked stale for one (the store, on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import (
    Provenance,
    StaleMark,
    gate_states,
    history,
    latest_decisions,
    mark_stale_decision,
    record_decision,
    record_override,
)
from clearance.catalog.modelstore import ensure_provider, get_model, sync_models
from clearance.discovery import parse_model_list
from clearance.errors import ConfigError
from clearance.gate.ci import junit_xml, markdown_summary
from clearance.gate.decide import GateResult, result_snapshots
from clearance.gate.policy import load_policy
from clearance.gate.run import GateRun, ModelVerdict
from tests.cli.test_gate_cli import Gated, as_json, invoke
from tests.support.evalproject import STEADY
from tests.test_gate_run import answer

T0 = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)


def rows(*spec: tuple[str, str | None, bool]) -> pd.DataFrame:
    """(verdict, snapshot, fallback_served) per result of model m."""
    return pd.DataFrame(
        [
            {"model_id": "m", "verdict": verdict, "model_snapshot": snap, "fallback_served": fell}
            for verdict, snap, fell in spec
        ]
    )


# --- counting ------------------------------------------------------------------------------


def test_only_judged_results_count_most_first_and_results_without_one_are_left_out() -> None:
    frame = rows(
        ("pass", "m@fp_b", False),
        ("fail", "m@fp_a", False),
        ("pass", "m@fp_a", False),
        ("infra_error", "m@fp_c", False),  # not the model's answer
        ("pass", "other@fp_d", True),  # a fallback answered
        ("pass", None, False),  # the provider named nothing
    )
    other = pd.DataFrame(
        [{"model_id": "x", "verdict": "pass", "model_snapshot": "m@fp_x", "fallback_served": False}]
    )
    assert result_snapshots(pd.concat([frame, other]), "m") == {"m@fp_a": 2, "m@fp_b": 1}
    assert result_snapshots(frame.drop(columns=["model_snapshot"]), "m") == {}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["pass", "fail", "infra_error"]),
            st.one_of(st.none(), st.sampled_from(["a", "b", "c@fp"])),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_the_counts_add_up_to_the_judged_results_that_name_a_snapshot(
    spec: list[tuple[str, str | None, bool]],
) -> None:
    counts = result_snapshots(rows(*spec), "m")
    judged = [s for v, s, fell in spec if v != "infra_error" and not fell and s is not None]
    assert sum(counts.values()) == len(judged)
    assert set(counts) == set(judged)
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


# --- the policy option ---------------------------------------------------------------------


def test_the_policy_option_defaults_to_warn_and_reads_stale(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nname: p\nflows: {min_lower_bound: 0.5}\n")
    assert load_policy(path).snapshots.on_unverified == "warn"
    path.write_text(path.read_text() + "snapshots: {on_unverified: stale}\n")
    assert load_policy(path).snapshots.on_unverified == "stale"
    shipped = Path(__file__).resolve().parents[1] / "gates" / "default.yaml"
    assert load_policy(shipped).snapshots.on_unverified == "warn"


def test_a_misspelt_option_names_the_key_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nname: p\nflows: {min_lower_bound: 0.5}\n")
    text = path.read_text()
    path.write_text(text + "snapshots: {on_unverified: stail}\n")
    with pytest.raises(ConfigError) as bad_value:
        load_policy(path)
    assert bad_value.value.key == "snapshots.on_unverified"
    assert "'stale'" in (bad_value.value.fix or "")
    path.write_text(text + "snapshots: {on_unverifed: stale}\n")
    with pytest.raises(ConfigError) as bad_key:
        load_policy(path)
    assert "did you mean 'on_unverified'?" in (bad_key.value.fix or "")


# --- clearance gate, its CI outputs and the decision history -------------------------------

ODD = "ref/steady@fp_[bold]<b>"


def fingerprinted(request: httpx.Request) -> httpx.Response:
    """The gate tests' scripted provider, reporting a fingerprint: ``fp_a`` on first turns,
    an odd (markup-like) one after, as a provider's text may be."""
    response = answer(request)
    if response.status_code != 200:
        return response
    body = json.loads(request.content)
    turns = sum(1 for m in body["messages"] if m["role"] == "assistant")
    document = response.json()
    document["system_fingerprint"] = "fp_a" if turns == 0 else "fp_[bold]<b>"
    return httpx.Response(200, json=document)


@pytest.fixture
def gated(project: Path, monkeypatch: pytest.MonkeyPatch) -> Gated:
    made = Gated(project)  # with the policy REQUIRE_STEADY
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr("tests.cli.test_gate_cli.answer", fingerprinted)
    return made


def test_the_gate_records_shows_and_keeps_the_snapshots_of_its_decision(gated: Gated) -> None:
    gated.evaluate(models=(STEADY,))
    document = as_json("gate", "--policy", "release")
    (model,) = document["models"]
    # single-turn cases end on a first turn (fp_a); flows end on their third (the odd one)
    assert set(model["snapshots"]) == {"ref/steady@fp_a", ODD}
    assert model["snapshots"]["ref/steady@fp_a"] > model["snapshots"][ODD] > 0

    (row,) = as_json("decisions", "show", STEADY)
    assert row["snapshots"] == model["snapshots"]

    out, _ = invoke("gate", "--policy", "release")
    assert "ref/steady@fp_a" in out
    assert "fp_[bold]<b>" in out  # shown as text: rich did not read it as markup
    out, _ = invoke("decisions", "show", STEADY)
    assert "model snapshots: ref/steady@fp_a" in out
    assert "fp_[bold]<b>" in out


def verdict_with(snapshots: dict[str, int]) -> GateRun:
    from clearance.gate.policy import GatePolicy, Threshold

    result = GateResult("p:m", "enable", (), None, (), snapshots)
    policy = GatePolicy(version=1, name="ci", flows=Threshold(min_lower_bound=0.5))
    return GateRun(policy, ("r1",), (ModelVerdict(result, True, None, ()),), T0, None, True)


def test_the_ci_outputs_carry_the_snapshots_as_inert_text() -> None:
    run = verdict_with({"gpt-4o@fp_<script>|x": 3, "gpt-4o@fp_b": 1})
    root = ET.fromstring(junit_xml(run))
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert json.loads(properties["snapshots"] or "") == {
        "gpt-4o@fp_<script>|x": 3,
        "gpt-4o@fp_b": 1,
    }
    markdown = markdown_summary(run)
    assert "### Model snapshots the results were taken on" in markdown
    assert "- p:m: gpt-4o@fp\\_&lt;script&gt;\\|x (3), gpt-4o@fp\\_b (1)" in markdown
    assert "Model snapshots" not in markdown_summary(verdict_with({}))


# --- the store (both dialects) -------------------------------------------------------------


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        sync_models(
            connection, "p", parse_model_list({"data": [{"id": "a"}]}, source="t"), enable_new=True
        )
    return catalog


def enable(catalog: Catalog, snapshots: dict[str, int], at: dt.datetime = T0) -> int:
    with catalog.begin() as connection:
        record_decision(
            connection,
            model_id="p:a",
            decision="enable",
            reasons=(),
            checks=[],
            provenance=Provenance(policy_name="release", policy_hash=None, snapshots=snapshots),
            decided_by="ci",
            host=None,
            decided_at=at,
        )
        gate, _ = latest_decisions(connection)
    return gate["p:a"].id


def test_the_decision_stores_its_snapshots_and_the_router_s_read_skips_them(
    seeded: Catalog,
) -> None:
    enable(seeded, {"a@fp_1": 5, "a@fp_2": 1})
    with seeded.connect() as connection:
        full, _ = latest_decisions(connection)
        light, _ = latest_decisions(connection, provenance=False)
        (shown,) = history(connection, "p:a")
    assert full["p:a"].snapshots == {"a@fp_1": 5, "a@fp_2": 1}
    assert light["p:a"].snapshots is None
    assert shown.to_json()["snapshots"] == {"a@fp_1": 5, "a@fp_2": 1}


def test_marking_a_decision_stale_refuses_the_model_once_and_keeps_the_first_reason(
    seeded: Catalog,
) -> None:
    decision_id = enable(seeded, {"a@fp_1": 5})
    later = T0 + dt.timedelta(hours=1)
    with seeded.begin() as connection:
        mark = mark_stale_decision(
            connection, decision_id, "unverified snapshot 'a@fp_9'", now=later
        )
        again = mark_stale_decision(connection, decision_id, "another reason", now=later)
    assert mark == StaleMark(decision_id, "p:a", "unverified snapshot 'a@fp_9'")
    assert again is None
    with seeded.connect() as connection:
        state = gate_states(connection, require_decision=True, now=later)["p:a"]
        model = get_model(connection, "p:a")
    assert (state.allows, state.label) == (False, "stale")
    assert "unverified snapshot 'a@fp_9'" in state.detail
    assert state.decision is not None
    assert state.decision.stale_at == later
    assert (model.enabled, model.gate_status) == (False, "stale")


def test_an_override_row_is_never_marked(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        record_override(
            connection,
            model_id="p:a",
            action="enable",
            reason="trusted",
            decided_by="ops",
            host=None,
            decided_at=T0,
        )
        (row,) = history(connection, "p:a")
        assert mark_stale_decision(connection, row.id, "unverified", now=T0) is None
        (after,) = history(connection, "p:a")
    assert after.stale_reason is None

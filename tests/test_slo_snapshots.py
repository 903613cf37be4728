"""Unverified model snapshots on live traffic: found by ``clearance slo check``, and what a
gate policy's ``snapshots.on_unverified`` does to the decision.

The end-to-end test is the issue's "done when": a model is evaluated and gated through
the real engine and gate (its answers report ``system_fingerprint`` ``fp_a``), then live
traffic goes through the real router to an OpenAI-compatible endpoint
(``httpx.MockTransport``) whose fingerprint changes to ``fp_b`` mid-way; ``slo check``
flags ``fp_b`` with its counts, and with ``on_unverified: stale`` the decision goes stale
and the router stops serving the model.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog, open_catalog
from clearance.catalog.gatestore import (
    Provenance,
    gate_states,
    latest_decisions,
    record_decision,
)
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.cli import app
from clearance.config import load_config
from clearance.discovery import parse_model_list
from clearance.errors import NoModelAvailable
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router
from clearance.slo import (
    CallFilter,
    SloPolicy,
    UnverifiedSnapshot,
    check_slos,
    check_snapshots,
    enforce_snapshots,
    unverified_reason,
)
from tests.cli.test_gate_cli import REQUIRE_STEADY, Gated
from tests.support.evalproject import STEADY
from tests.test_gate_run import answer

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOUR = CallFilter(T0, T0 + dt.timedelta(hours=1))
A, B, C = "p:a", "p:b", "p:c"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


# --- the check and the rule, on both dialects ----------------------------------------------


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    """p:a enabled on snapshot a@fp_1; p:b enabled by a decision that records none; p:c
    disabled; their live calls (and an eval run's) in the hour from T0."""
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        models = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
        sync_models(
            connection, "p", parse_model_list({"data": models}, source="t"), enable_new=True
        )
        for model_id, decision, snapshots in (
            (A, "enable", {"a@fp_1": 5}),
            (B, "enable", {}),
            (C, "disable", {"c@1": 3}),
        ):
            record_decision(
                connection,
                model_id=model_id,
                decision=decision,
                reasons=(),
                checks=[],
                provenance=Provenance("release", None, snapshots=snapshots),
                decided_by="ci",
                host=None,
                decided_at=T0 - dt.timedelta(days=1),
                require_decision=False,
            )
        calls: list[tuple[str, float, str, str | None, str | None]] = [
            ("a1", 1, A, "a@fp_1", None),
            ("a2", 2, A, "a@fp_2", None),
            ("a3", 7, A, "a@fp_2", None),
            ("a4", 8, A, None, None),  # reported none: unknown, not flagged
            ("a5", 9, A, "a@fp_3", "run-1"),  # an eval run's call: never live traffic
            ("b1", 3, B, "b@fp_x", None),  # its decision verifies nothing: not flagged
            ("c1", 4, C, "c@2", None),  # disabled: no enabling decision to compare with
        ]
        connection.execute(
            insert(t.ai_calls),
            [
                {
                    "call_id": call_id,
                    "started_at": at(minutes),
                    "status": "ok",
                    "served_model": model,
                    "model_snapshot": snapshot,
                    "eval_run_id": run,
                }
                for call_id, minutes, model, snapshot, run in calls
            ],
        )
    return catalog


def test_a_snapshot_no_enabling_decision_was_taken_on_is_flagged_with_its_counts(
    seeded: Catalog,
) -> None:
    with seeded.connect() as connection:
        check = check_snapshots(connection, HOUR)
        decision_id = latest_decisions(connection)[0][A].id
    assert check.unverified == (UnverifiedSnapshot(A, "a@fp_2", 2, at(2), at(7), decision_id),)
    assert check.unknown_calls == 1
    assert check.unrecorded == (B,)
    assert [model.model_id for model in check.models] == [A, B]
    entry = check.model(A)
    assert entry is not None
    assert [(use.snapshot, use.calls) for use in entry.live] == [("a@fp_1", 1), ("a@fp_2", 2)]
    document = check.to_json()
    assert document["unverified"][0]["snapshot"] == "a@fp_2"
    assert document["models"][0]["live"][0] == {
        "snapshot": "a@fp_1",
        "calls": 1,
        "first_seen": at(1).isoformat(),
        "last_seen": at(1).isoformat(),
        "verified": True,
    }


def test_the_stale_rule_marks_the_decision_once_and_warn_leaves_it(seeded: Catalog) -> None:
    later = T0 + dt.timedelta(hours=2)
    with seeded.begin() as connection:
        check = check_snapshots(connection, HOUR)
        warned = enforce_snapshots(connection, check, lambda name: "warn", now=later)
    assert warned.marked == ()
    assert [found.on_unverified for found in warned.unverified] == ["warn"]
    with seeded.connect() as connection:
        assert gate_states(connection, require_decision=True, now=later)[A].allows

    asked: list[str | None] = []

    def stale(name: str | None) -> Any:
        asked.append(name)
        return "stale"

    with seeded.begin() as connection:
        done = enforce_snapshots(connection, check_snapshots(connection, HOUR), stale, now=later)
        again = enforce_snapshots(connection, check_snapshots(connection, HOUR), stale, now=later)
    assert asked == ["release", "release"]  # asked for flagged models only (not p:b)
    (mark,) = done.marked
    assert mark.model_id == A
    assert mark.reason == (
        "live traffic served by unverified model snapshot 'a@fp_2' "
        "(2 calls, 2026-03-01 12:02 UTC to 2026-03-01 12:07 UTC)"
    )
    assert again.marked == ()  # stale already: keeps its first reason
    with seeded.connect() as connection:
        state = gate_states(connection, require_decision=True, now=later)[A]
    assert (state.allows, state.label) == (False, "stale")
    assert "unverified model snapshot 'a@fp_2'" in state.detail


def test_the_slo_report_fails_on_an_unverified_snapshot_and_says_so_in_json(
    seeded: Catalog,
) -> None:
    policy = SloPolicy.model_validate(
        {"version": 1, "min_calls": 1000, "objectives": [{"metric": "error_rate", "max": 0.5}]}
    )
    with seeded.connect() as connection:
        report = check_slos(connection, policy, HOUR)
        quiet = check_slos(connection, policy, HOUR, snapshots=False)
    assert not report.breached
    assert report.exit_code == 1
    assert [found.snapshot for found in report.unverified] == ["a@fp_2"]
    document = json.loads(json.dumps(report.to_json()))
    assert document["exit_code"] == 1
    assert document["snapshots"]["unverified"][0]["calls"] == 2
    assert (quiet.snapshots, quiet.exit_code) == (None, 0)


def test_a_stale_reason_quotes_the_provider_s_text_and_counts_what_it_leaves_out() -> None:
    def found(snapshot: str, calls: int = 1) -> UnverifiedSnapshot:
        return UnverifiedSnapshot(A, snapshot, calls, at(0), at(1), 1)

    reason = unverified_reason(
        (found("nul\x00and'quote"), found("x" * 200, 3), found("c"), found("d"), found("e"))
    )
    assert reason.startswith(
        'live traffic served by unverified model snapshots "nul\\x00and\'quote" (1 call, '
    )
    assert "\x00" not in reason
    assert f"'{'x' * 80}…' (3 calls" in reason
    assert reason.endswith("'c' (1 call, 2026-03-01 12:00 UTC to 2026-03-01 12:01 UTC), and 2 more")


# --- done when: live traffic with a changed snapshot, end to end ----------------------------

SLO = """\
version: 1
window: 1h
min_calls: 1000
objectives:
  - {metric: error_rate, max: 0.5}
"""


def fingerprint_a(request: httpx.Request) -> httpx.Response:
    """The gate tests' scripted provider, reporting ``system_fingerprint`` ``fp_a``."""
    response = answer(request)
    if response.status_code != 200:
        return response
    return httpx.Response(200, json={**response.json(), "system_fingerprint": "fp_a"})


class Live:
    """An OpenAI-compatible endpoint for live traffic whose backend changes after two
    calls: ``fp_a`` (what the eval saw), then ``fp_b``."""

    def __init__(self) -> None:
        self.calls = 0

    def respond(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        model = json.loads(request.content)["model"]
        return httpx.Response(
            200,
            json={
                "id": f"c{self.calls}",
                "object": "chat.completion",
                "model": model,
                "system_fingerprint": "fp_a" if self.calls <= 2 else "fp_b",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "hello"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
        )

    def router(self, root: Path, catalog: Catalog) -> Router:
        provider = OpenAICompatibleProvider(
            "ref",
            "https://ref.example/v1",
            api_key=None,
            transport=httpx.MockTransport(self.respond),
            async_transport=httpx.MockTransport(self.respond),
        )
        config = load_config(root / "clearance.toml", environ={})
        return Router(config, catalog, providers={"ref": provider})


def slo_check() -> tuple[int, dict[str, Any], str]:
    runner = CliRunner()
    result = runner.invoke(app, ["slo", "check", "--json"], catch_exceptions=False)
    text = runner.invoke(app, ["slo", "check"], catch_exceptions=False)
    assert text.exit_code == result.exit_code
    return result.exit_code, json.loads(result.stdout), text.stdout


def test_live_traffic_on_a_changed_snapshot_is_flagged_and_with_stale_the_model_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = Gated(project)  # gates/release.yaml: REQUIRE_STEADY
    (project / "gates" / "slo.yaml").write_text(SLO)
    monkeypatch.setenv("CLEARANCE_CONFIG", str(project / "clearance.toml"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr("tests.cli.test_gate_cli.answer", fingerprint_a)
    gated.evaluate(models=(STEADY,))
    gate = CliRunner().invoke(app, ["gate", "--policy", "release", "--json"])
    assert gate.exit_code == 0, gate.stdout
    verified = json.loads(gate.stdout)["models"][0]["snapshots"]
    assert set(verified) == {"ref/steady@fp_a"}

    catalog = open_catalog(gated.config.resolved_database_url())
    live = Live()
    router = live.router(project, catalog)
    try:
        ask = [{"role": "user", "content": "hi"}]
        for _ in range(5):  # two answered by fp_a, then three by fp_b
            assert router.complete(ask, model=STEADY).served_model == STEADY
        assert router.calllog is not None
        router.calllog.flush()

        code, document, text = slo_check()
        assert code == 1  # no objective breached: the snapshot alone fails the check
        assert document["breached"] is False
        (found,) = document["snapshots"]["unverified"]
        assert (found["model_id"], found["snapshot"], found["calls"]) == (
            STEADY,
            "ref/steady@fp_b",
            3,
        )
        assert found["first_seen"] <= found["last_seen"]
        assert found["on_unverified"] == "warn"
        assert document["snapshots"]["marked_stale"] == []
        (model,) = document["snapshots"]["models"]
        assert [(u["snapshot"], u["calls"], u["verified"]) for u in model["live"]] == [
            ("ref/steady@fp_a", 2, True),
            ("ref/steady@fp_b", 3, False),
        ]
        assert "unverified snapshot ref:ref/steady: ref/steady@fp_b served 3 call(s)" in text
        router.refresh()  # warn: the decision stays in force
        assert router.complete(ask, model=STEADY).served_model == STEADY

        # the policy now says stale: the next check marks the decision stale
        gated.write_policy(REQUIRE_STEADY + "snapshots: {on_unverified: stale}\n")
        router.calllog.flush()
        code, document, _ = slo_check()
        assert code == 1
        (mark,) = document["snapshots"]["marked_stale"]
        assert mark["model_id"] == STEADY
        assert "unverified model snapshot 'ref/steady@fp_b' (4 calls" in mark["reason"]
        with catalog.connect() as connection:
            (row,) = list(latest_decisions(connection)[0].values())
        assert row.stale_reason == mark["reason"]
        shown = CliRunner().invoke(app, ["decisions", "show", STEADY])
        assert "stale: live traffic served by unverified model snapshot" in shown.stdout

        router.refresh()  # the router treats it as any stale decision
        with pytest.raises(NoModelAvailable) as refused:
            router.complete(ask, model=STEADY)
        (rejection,) = refused.value.rejections
        assert rejection.reason == "gate_refused"
        assert "stale" in rejection.detail
        assert live.calls == 6  # the refused call never reached the provider
    finally:
        router.close()
        catalog.dispose()

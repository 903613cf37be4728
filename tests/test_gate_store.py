"""Gate decisions and overrides in the catalog, and the resolver and router obeying them.

Every test runs on SQLite and PostgreSQL (the ``catalog`` fixture). Decision times are
fixed (``decided_at=`` / ``now=``), so expiry is tested without waiting.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import (
    GateState,
    Provenance,
    StaleMark,
    apply_gate,
    gate_states,
    history,
    judged_decisions,
    latest_decisions,
    mark_stale,
    record_decision,
    record_override,
    state_of,
)
from clearance.catalog.modelstore import ensure_provider, get_model, sync_models
from clearance.catalog.orgstore import load_policy_snapshot
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.errors import NoModelAvailable, UnknownModel
from clearance.modelpolicy import ModelState, RouteRequest, resolve_model
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router

A, B, C = "p:a", "p:b", "p:c"
T0 = dt.datetime(2025, 3, 4, 5, 6, tzinfo=dt.UTC)
WHEN = "2025-03-04 05:06 UTC"
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
POLICY_HASH = "ab" * 32
REASONS = (
    "criticality.critical: 3/27 passed over 9 cases; one-sided 0.9 bounds [0.034, 0.308] < 0.6",
    "flows: 1/6 passed over 2 cases",
)


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    """Models p:a, p:b and p:c, all enabled on the platform and never gated."""
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        sync_models(
            connection,
            "p",
            parse_model_list({"data": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}, source="t"),
            enable_new=True,
        )
    return catalog


def provenance(**changes: Any) -> Provenance:
    values: dict[str, Any] = {
        "policy_name": "default",
        "policy_hash": POLICY_HASH,
        "policy_path": "gates/default.yaml",
        "eval_run_ids": ("run-1", "run-2"),
        "contract_versions": {"book": "1.0.0"},
        "contract_hashes": {"book@1.0.0": "h-book", "case:ok": "d-ok"},
        "recordings": {"evals/cassettes/ok.json": "c" * 64},
        "baseline_model": None,
    }
    return Provenance(**{**values, **changes})


def decide(
    connection: Connection,
    model_id: str,
    decision: str,
    *,
    at: dt.datetime = T0,
    expires_at: dt.datetime | None = None,
    reasons: tuple[str, ...] = REASONS,
    **changes: Any,
) -> GateState:
    return record_decision(
        connection,
        model_id=model_id,
        decision=decision,
        reasons=() if decision == "enable" else reasons,
        checks=[{"name": "flows", "verdict": "pass" if decision == "enable" else "fail"}],
        provenance=provenance(**changes),
        decided_by="ci-bot",
        host="runner-7",
        decided_at=at,
        expires_at=expires_at,
    )


def override(
    connection: Connection,
    model_id: str,
    action: Any,
    *,
    at: dt.datetime,
    reason: str = "vendor fixed the outage",
    expires_at: dt.datetime | None = None,
) -> tuple[GateState, GateState]:
    return record_override(
        connection,
        model_id=model_id,
        action=action,
        reason=reason,
        decided_by="alice",
        host="laptop",
        decided_at=at,
        expires_at=expires_at,
    )


def flags(connection: Connection, model_id: str) -> tuple[bool, str]:
    model = get_model(connection, model_id)
    return model.enabled, model.gate_status


def config_with(tmp_path: Path, text: str = "") -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(text)
    return load_config(environ={}, cwd=tmp_path)


# --- gate decisions ------------------------------------------------------------------------


def test_a_gate_enable_allows_the_model_and_stores_its_provenance(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        state = decide(connection, A, "enable", expires_at=T0 + 30 * DAY)
        assert (state.allows, state.label) == (True, "enable")
        assert state.detail == f"enabled by gate policy default at {WHEN}"
        assert flags(connection, A) == (True, "enable")
        states = gate_states(connection, require_decision=True, now=T0 + HOUR)
        (row,) = history(connection, A)
    assert set(states) == {A}  # models with no row are left to the caller
    assert states[A].allows
    decided = states[A].decision
    assert decided is not None
    # what the state carries (its provenance may be left out: deciding needs none of it)
    assert (decided.id, decided.decision, decided.policy_name) == (row.id, "enable", "default")
    assert (decided.decided_at, decided.expires_at) == (T0, T0 + 30 * DAY)
    assert states[A].override is None
    assert (row.decision, row.override, row.reason) == ("enable", False, None)
    assert row.checks == [{"name": "flows", "verdict": "pass"}]
    assert (row.policy_name, row.policy_hash, row.policy_path) == (
        "default",
        POLICY_HASH,
        "gates/default.yaml",
    )
    assert row.eval_run_ids == ["run-1", "run-2"]
    assert row.contract_versions == {"book": "1.0.0"}
    assert row.contract_hashes == {"book@1.0.0": "h-book", "case:ok": "d-ok"}
    assert row.recordings == {"evals/cassettes/ok.json": "c" * 64}
    assert (row.decided_by, row.host) == ("ci-bot", "runner-7")
    assert (row.decided_at, row.expires_at) == (T0, T0 + 30 * DAY)
    assert (row.stale_reason, row.stale_at) == (None, None)
    data = json.loads(json.dumps(row.to_json()))
    assert data["decided_at"] == T0.isoformat()
    assert data["expires_at"] == (T0 + 30 * DAY).isoformat()


@pytest.mark.parametrize("decision", ["disable", "inconclusive"])
def test_a_gate_disable_or_inconclusive_refuses_the_model(seeded: Catalog, decision: str) -> None:
    with seeded.begin() as connection:
        state = decide(connection, B, decision)
        states = gate_states(connection, require_decision=False, now=T0 + HOUR)
        assert flags(connection, B) == (False, decision)
        assert flags(connection, A) == (True, "ungated")  # other models untouched
        (row,) = history(connection, B)
    assert (state.allows, state.label) == (False, decision)
    # the policy and the first reason only; the second line stays in the row
    assert state.detail == f"gate policy default decided {decision} at {WHEN}: {REASONS[0]}"
    assert states[B] == state
    assert row.reason == "\n".join(REASONS)


def test_record_decision_rejects_an_unknown_decision_or_model(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        with pytest.raises(ValueError, match="'maybe' is not enable, disable or inconclusive"):
            decide(connection, A, "maybe")
        with pytest.raises(UnknownModel) as raised:
            decide(connection, "p:nope", "enable")
        assert raised.value.model_id == "p:nope"
        assert history(connection, A) == []


def test_the_latest_gate_decision_is_the_one_that_counts(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "disable")
        later = decide(connection, A, "enable", at=T0 + HOUR)
        gate, overrides = latest_decisions(connection)
        assert [row.decision for row in history(connection, A)] == ["enable", "disable"]
        assert [row.decision for row in history(connection, A, limit=1)] == ["enable"]
    assert later.label == "enable"
    assert gate[A].decided_at == T0 + HOUR
    assert overrides == {}


def test_history_without_overrides_reaches_past_a_run_of_them(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "disable")
        for _ in range(3):
            override(connection, A, "enable", at=T0 + HOUR)
        assert [row.override for row in history(connection, A, limit=3)] == [True] * 3
        (gate,) = history(connection, A, limit=3, overrides=False)
        assert (gate.decision, gate.override) == ("disable", False)


def test_judged_decisions_are_every_gate_decision_with_its_contract_versions(
    seeded: Catalog,
) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "disable", contract_versions={"book": "1.0.0"})
        override(connection, A, "enable", at=T0 + HOUR)
        decide(connection, B, "enable", at=T0 + HOUR, contract_versions={"book": "2.0.0"})
        decide(connection, A, "enable", at=T0 + DAY, contract_versions={})
        rows = judged_decisions(connection)
    assert [(r.model_id, r.decision, r.override) for r in rows] == [
        (A, "disable", False),  # not only the latest: every decision, oldest first
        (B, "enable", False),
        (A, "enable", False),
    ]
    assert [r.contract_versions for r in rows] == [{"book": "1.0.0"}, {"book": "2.0.0"}, {}]
    assert [r.decided_at for r in rows] == [T0, T0 + HOUR, T0 + DAY]


# --- expiry --------------------------------------------------------------------------------


def test_an_expired_decision_no_longer_allows_the_model(seeded: Catalog) -> None:
    expires = T0 + DAY
    with seeded.begin() as connection:
        decide(connection, A, "enable", expires_at=expires)
        before = gate_states(connection, require_decision=True, now=expires - HOUR)[A]
        at = gate_states(connection, require_decision=True, now=expires)[A]
        after = gate_states(connection, require_decision=False, now=expires + DAY)[A]
    assert (before.allows, before.label) == (True, "enable")
    assert (at.allows, at.label) == (False, "expired")  # expiry is inclusive
    assert (after.allows, after.label) == (False, "expired")
    assert after.detail == (
        f"its gate decision of {WHEN} expired at 2025-03-05 05:06 UTC; "
        "re-run `clearance eval` and `clearance gate`"
    )
    assert after.decision is not None
    assert after.decision.decision == "enable"


# --- staleness -----------------------------------------------------------------------------

CURRENT = {
    "book@1.0.0": "h-book-2",  # changed in place
    "book@2.0.0": "h-book-v2",
    "case:ok": "d-ok",
    "case:flow_ok": "d-flow-2",  # changed
    "find_person@1.0.0": "h-find",
}


def test_mark_stale_names_what_changed_and_refuses_the_model(seeded: Catalog) -> None:
    later = T0 + DAY
    with seeded.begin() as connection:
        # a: its tool moved on (1.0.0 is gone); b: a case was removed and one changed;
        # c: judged on exactly what is there now
        decide(connection, A, "enable", contract_hashes={"find_person@0.9.0": "h-old"})
        decide(connection, B, "enable", contract_hashes={"case:gone": "d", "case:flow_ok": "d"})
        decide(
            connection, C, "enable", contract_hashes={"case:ok": "d-ok", "book@2.0.0": "h-book-v2"}
        )
        marks = mark_stale(connection, CURRENT, tools={"find_person": "1.0.0"}, now=later)
        states = gate_states(connection, require_decision=False, now=later)
        assert flags(connection, A) == (False, "stale")
        assert flags(connection, B) == (False, "stale")
        assert flags(connection, C) == (True, "enable")
        (row_b,) = history(connection, B)
        # already-stale rows are not marked again, nor is their time moved
        assert mark_stale(connection, CURRENT, now=later + DAY) == []
        assert history(connection, B)[0].stale_at == later
    ids = {mark.model_id: mark.decision_id for mark in marks}
    assert marks == [
        StaleMark(ids[A], A, "find_person is at 1.0.0, not 0.9.0"),
        StaleMark(ids[B], B, "case flow_ok changed; case gone was removed"),
    ]
    assert (row_b.stale_reason, row_b.stale_at) == (
        "case flow_ok changed; case gone was removed",
        later,
    )
    assert (states[B].allows, states[B].label) == (False, "stale")
    assert states[B].detail == (
        f"its gate decision of {WHEN} is stale (case flow_ok changed; case gone was removed); "
        "re-run `clearance eval` and `clearance gate`"
    )
    assert states[C].allows


def test_mark_stale_reports_in_place_changes_and_removed_tools(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "enable", contract_hashes={"book@1.0.0": "h-book"})
        decide(connection, B, "enable", contract_hashes={"teleport@1.0.0": "h"})
        decide(connection, C, "disable", contract_hashes={})  # nothing to compare: left alone
        marks = mark_stale(connection, CURRENT, now=T0)
        (row_c,) = history(connection, C)
    assert [(m.model_id, m.reason) for m in marks] == [
        (A, "book@1.0.0 changed in place"),
        (B, "teleport was removed"),
    ]
    assert row_c.stale_reason is None


def test_mark_stale_only_touches_the_latest_gate_decision(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "disable")  # judged on book@1.0.0 as it was: would be stale
        decide(connection, A, "enable", at=T0 + HOUR, contract_hashes={"case:ok": "d-ok"})
        override(connection, A, "disable", at=T0 + 2 * HOUR)
        assert mark_stale(connection, CURRENT, now=T0 + DAY) == []  # the latest is current
        rows = history(connection, A)
    assert [(r.override, r.decision, r.stale_reason) for r in rows] == [
        (True, "disable", None),
        (False, "enable", None),
        (False, "disable", None),  # an older decision is never re-judged
    ]


def test_an_override_in_force_survives_its_gate_decision_going_stale(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "disable")
        override(connection, A, "enable", at=T0 + HOUR)
        (mark,) = mark_stale(connection, {}, now=T0 + DAY)
        state = gate_states(connection, require_decision=True, now=T0 + DAY)[A]
        rows = history(connection, A)
        assert flags(connection, A) == (True, "override:enable")
    assert mark.model_id == A
    assert (state.allows, state.label) == (True, "override:enable")
    assert state.decision is not None
    assert state.decision.stale_reason is not None
    # the override row itself is never marked
    assert [(r.override, r.stale_reason is None) for r in rows] == [(True, True), (False, False)]


# --- overrides -----------------------------------------------------------------------------


def test_an_override_wins_until_cleared_and_a_later_gate_run_does_not_undo_it(
    seeded: Catalog,
) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "disable")
        before, after = override(connection, A, "enable", at=T0 + HOUR)
        assert (before.label, after.label) == ("disable", "override:enable")
        assert after.allows
        assert after.detail == (
            "enabled by hand by alice at 2025-03-04 06:06 UTC (override: vendor fixed the outage)"
        )
        assert flags(connection, A) == (True, "override:enable")

        nightly = decide(connection, A, "disable", at=T0 + DAY)
        assert (nightly.allows, nightly.label) == (True, "override:enable")
        assert nightly.decision is not None
        assert nightly.decision.decided_at == T0 + DAY
        assert flags(connection, A) == (True, "override:enable")

        cleared_before, cleared = override(connection, A, "clear", at=T0 + 2 * DAY)
        assert cleared_before.label == "override:enable"
        assert (cleared.allows, cleared.label) == (False, "disable")
        assert cleared.override is None
        assert cleared.detail.startswith("gate policy default decided disable at 2025-03-05")
        assert flags(connection, A) == (False, "disable")
        rows = history(connection, A)
    assert [(r.override, r.decision) for r in rows] == [
        (True, "clear"),
        (False, "disable"),
        (True, "enable"),
        (False, "disable"),
    ]
    assert (rows[0].decided_by, rows[0].host, rows[0].reason) == (
        "alice",
        "laptop",
        "vendor fixed the outage",
    )
    assert rows[0].eval_run_ids == []
    assert rows[0].policy_name is None


def test_an_override_disable_wins_over_a_gate_enable(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        decide(connection, B, "enable")
        _, after = override(connection, B, "disable", at=T0 + HOUR, reason="bad outputs seen")
        assert flags(connection, B) == (False, "override:disable")
    assert (after.allows, after.label) == (False, "override:disable")
    assert after.detail.startswith("disabled by hand by alice at 2025-03-04 06:06 UTC")
    assert after.detail.endswith("(override: bad outputs seen)")


def test_an_override_lapses_at_its_expiry(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "enable")
        _, pinned = override(connection, A, "disable", at=T0, expires_at=T0 + DAY)
        during = gate_states(connection, require_decision=True, now=T0 + HOUR)[A]
        lapsed = gate_states(connection, require_decision=True, now=T0 + DAY)[A]
    assert pinned.label == "override:disable"
    assert (during.allows, during.label) == (False, "override:disable")
    assert (lapsed.allows, lapsed.label) == (True, "enable")
    assert lapsed.override is None


def test_an_override_lapsing_on_an_ungated_model_leaves_it_ungated(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        override(connection, C, "enable", at=T0, expires_at=T0 + HOUR)
        lapsed = gate_states(connection, require_decision=True, now=T0 + DAY)[C]
    assert (lapsed.allows, lapsed.label) == (False, "ungated")
    assert lapsed.decision is None
    assert lapsed.override is None


def test_an_override_needs_a_reason_a_known_action_and_a_known_model(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        with pytest.raises(ValueError, match="an override needs a reason"):
            override(connection, A, "enable", at=T0, reason="  ")
        with pytest.raises(ValueError, match="'pin' is not enable, disable or clear"):
            override(connection, A, "pin", at=T0)
        with pytest.raises(UnknownModel):
            override(connection, "p:nope", "enable", at=T0)
        assert history(connection, A) == []


# --- require_decision ----------------------------------------------------------------------


def test_a_model_with_no_row_is_allowed_only_when_no_decision_is_required(
    seeded: Catalog,
) -> None:
    models = {m: ModelState(m, enabled=True) for m in (A, B, C)}
    with seeded.begin() as connection:
        decide(connection, A, "enable")
        decide(connection, B, "disable")
        strict = apply_gate(connection, models, require_decision=True, now=T0 + HOUR)
        lenient = apply_gate(connection, models, require_decision=False, now=T0 + HOUR)
        states = gate_states(connection, require_decision=True, now=T0 + HOUR)
    no_decision = (
        "model 'p:c' has no gate decision; run `clearance eval` and `clearance gate` for it "
        "(or `clearance models enable --override`)"
    )
    assert strict[C] == ModelState(C, enabled=True, gate_allows=False, gate_detail=no_decision)
    assert lenient[C] is models[C]  # allowed and unchanged
    for gated in (strict, lenient):
        assert gated[A] is models[A]
        assert not gated[B].gate_allows
        assert gated[B].gate_detail == (
            f"gate policy default decided disable at {WHEN}: {REASONS[0]}"
        )
    ungated = state_of(states, C, require_decision=True)
    assert (ungated.allows, ungated.label, ungated.detail) == (False, "ungated", no_decision)
    free = state_of(states, C, require_decision=False)
    assert (free.allows, free.label) == (True, "ungated")
    assert state_of(states, A, require_decision=True) is states[A]


# --- the resolver and the router obey the gate ---------------------------------------------


def test_the_policy_snapshot_refuses_a_gate_disabled_model(seeded: Catalog, tmp_path: Path) -> None:
    config = config_with(tmp_path, '[policy]\ndefault_model = "p:a"\n')
    assert config.gate.require_decision  # the shipped default
    with seeded.begin() as connection:
        decide(connection, A, "enable")
        decide(connection, B, "disable")
        snapshot = load_policy_snapshot(connection, config)
    served = resolve_model(RouteRequest(model=A), snapshot)
    assert (served.model_id, served.reason, served.rejected) == (A, "requested", ())

    fell_back = resolve_model(RouteRequest(model=B), snapshot)
    assert (fell_back.model_id, fell_back.reason) == (A, "platform_default")
    (refused,) = fell_back.rejected
    assert (refused.model_id, refused.role, refused.reason) == (B, "requested", "gate_refused")
    assert refused.detail == (
        f"The gate refuses model 'p:b': gate policy default decided disable at {WHEN}: "
        f"{REASONS[0]}."
    )
    # never gated, under require_decision: refused with the commands that fix it
    with pytest.raises(NoModelAvailable) as raised:
        resolve_model(RouteRequest(model=C), config_snapshot(seeded, tmp_path))
    assert [(r.model_id, r.reason) for r in raised.value.rejections] == [(C, "gate_refused")]
    assert "has no gate decision" in raised.value.rejections[0].detail


def config_snapshot(catalog: Catalog, tmp_path: Path) -> Any:
    """A snapshot with no platform default (so a refused request has nowhere to go)."""
    config = config_with(tmp_path)
    with catalog.connect() as connection:
        return load_policy_snapshot(connection, config)


def test_the_policy_snapshot_refuses_an_expired_enable(seeded: Catalog, tmp_path: Path) -> None:
    with seeded.begin() as connection:  # decided in 2025 for a day: long expired now
        decide(connection, A, "enable", expires_at=T0 + DAY)
        assert flags(connection, A) == (True, "enable")  # the flag alone would serve it
    with pytest.raises(NoModelAvailable) as raised:
        resolve_model(RouteRequest(model=A), config_snapshot(seeded, tmp_path))
    (rejection,) = raised.value.rejections
    assert rejection.reason == "gate_refused"
    assert "expired at 2025-03-05 05:06 UTC" in rejection.detail


def test_an_expired_override_disable_hands_the_model_back_to_the_resolver(
    seeded: Catalog, tmp_path: Path
) -> None:
    with seeded.begin() as connection:
        decide(connection, A, "enable")
        override(connection, A, "disable", at=T0, expires_at=T0 + DAY)
        assert gate_states(connection, require_decision=True)[A].label == "enable"
        assert flags(connection, A) == (False, "override:disable")  # as last written
    # the stored flag is out of date; the gate decision in force serves it again
    decision = resolve_model(RouteRequest(model=A), config_snapshot(seeded, tmp_path))
    assert (decision.model_id, decision.rejected) == (A, ())


class Provider:
    """A fake OpenAI-compatible provider that answers every call and counts them."""

    def __init__(self) -> None:
        self.models: list[str] = []

    def respond(self, request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        self.models.append(model)
        message = {"role": "assistant", "content": f"hi from {model}"}
        return httpx.Response(
            200,
            json={
                "id": "c1",
                "object": "chat.completion",
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
        )

    def provider(self) -> OpenAICompatibleProvider:
        return OpenAICompatibleProvider(
            "p",
            "https://p.example/v1",
            api_key="sk-test",
            transport=httpx.MockTransport(self.respond),
            async_transport=httpx.MockTransport(self.respond),
        )


def test_the_router_refuses_a_gate_disabled_model_before_any_call(
    seeded: Catalog, tmp_path: Path
) -> None:
    config = config_with(tmp_path)
    fake = Provider()
    with seeded.begin() as connection:
        decide(connection, A, "enable")
        decide(connection, B, "disable")
    router = Router(config, seeded, providers={"p": fake.provider()}, log_calls=False)
    try:
        served = router.complete([{"role": "user", "content": "hello"}], model=A)
        assert served.served_model == A
        with pytest.raises(NoModelAvailable) as raised:
            router.complete([{"role": "user", "content": "hello"}], model=B)
        (rejection,) = raised.value.rejections
        assert (rejection.model_id, rejection.reason) == (B, "gate_refused")
        assert f"decided disable at {WHEN}" in rejection.detail
        assert fake.models == ["a"]  # the refused call never reached the provider

        # a person's override takes effect on the router's next read of the catalog
        with seeded.begin() as connection:
            override(connection, B, "enable", at=T0 + HOUR)
        router.refresh()
        assert router.complete([{"role": "user", "content": "x"}], model=B).served_model == B
        assert fake.models == ["a", "b"]
    finally:
        router.close()


def test_gate_decisions_rows_are_plain_table_rows(seeded: Catalog) -> None:
    """What other readers of the catalog (dashboards, SQL) see."""
    with seeded.begin() as connection:
        decide(connection, A, "inconclusive")
        override(connection, A, "enable", at=T0 + HOUR)
        rows = connection.execute(
            select(
                t.gate_decisions.c.model_id,
                t.gate_decisions.c.decision,
                t.gate_decisions.c.override,
                t.gate_decisions.c.policy_name,
            ).order_by(t.gate_decisions.c.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        (A, "inconclusive", False, "default"),
        (A, "enable", True, None),
    ]

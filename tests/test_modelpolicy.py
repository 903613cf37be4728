"""Tests for clearance.modelpolicy: the model-policy resolver."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.config import Tier
from clearance.errors import NoModelAvailable, UnknownOrg
from clearance.modelpolicy import (
    ModelState,
    OrgPolicy,
    PolicySnapshot,
    Rejection,
    RouteDecision,
    RouteRequest,
    SessionPin,
    fallback_chain,
    org_default,
    resolve_model,
)

DEFAULT = "p:default"
LEGACY = "p:legacy"
OTHER = "p:other"
FB1 = "p:fb1"
FB2 = "p:fb2"
STRONG = "p:strong"
PLATFORM = "p:platform"
ALL_MODELS = (DEFAULT, LEGACY, OTHER, FB1, FB2, STRONG, PLATFORM)


def models(**overrides: ModelState) -> dict[str, ModelState]:
    """Every test model enabled, with some replaced by keyword (model id without 'p:')."""
    states = {m: ModelState(m, enabled=True) for m in ALL_MODELS}
    for name, state in overrides.items():
        states[f"p:{name}"] = state
    return states


def org(
    org_id: str = "acme",
    *,
    enabled: tuple[str, ...] | None = (DEFAULT, OTHER, FB1, FB2),
    default: str | None = DEFAULT,
    legacy: str | None = None,
) -> OrgPolicy:
    return OrgPolicy(org_id, enabled_models=enabled, default_model_id=default, legacy_model=legacy)


def snapshot(
    *,
    model_states: Mapping[str, ModelState] | None = None,
    orgs: tuple[OrgPolicy, ...] = (),
    pins: tuple[SessionPin, ...] = (),
    tiers: Mapping[Tier, str] | None = None,
    fallbacks: Mapping[str, tuple[str, ...]] | None = None,
    platform_default: str | None = PLATFORM,
    unknown_org: Any = "platform_default",
) -> PolicySnapshot:
    return PolicySnapshot(
        models=models() if model_states is None else model_states,
        orgs={o.org_id: o for o in (orgs or (org(),))},
        pins={p.session_id: p for p in pins},
        tiers={"strong": STRONG} if tiers is None else tiers,
        fallbacks={DEFAULT: (FB1, FB2)} if fallbacks is None else fallbacks,
        platform_default=platform_default,
        unknown_org=unknown_org,
    )


def reasons(decision: RouteDecision) -> list[tuple[str, str, str]]:
    return [(r.model_id, r.role, r.reason) for r in decision.rejected]


# -- org defaults -----------------------------------------------------------------------------


def test_org_default_is_used_when_nothing_is_requested() -> None:
    decision = resolve_model(RouteRequest(org_id="acme"), snapshot())
    assert decision.model_id == DEFAULT
    assert decision.reason == "org_default"
    assert decision.org_known is True
    assert decision.rejected == ()
    assert decision.fallbacks == (FB1, FB2)
    assert decision.pin is None  # no session, nothing to pin


def test_legacy_only_settings_serve_the_legacy_model() -> None:
    legacy_org = org(enabled=None, default=None, legacy=LEGACY)
    decision = resolve_model(RouteRequest(org_id="acme"), snapshot(orgs=(legacy_org,)))
    assert decision.model_id == LEGACY
    assert decision.reason == "legacy_default"
    assert org_default(legacy_org) == (LEGACY, "legacy_default")


def test_legacy_only_org_permits_only_its_legacy_model() -> None:
    legacy_org = org(enabled=None, default=None, legacy=LEGACY)
    decision = resolve_model(RouteRequest(org_id="acme", model=OTHER), snapshot(orgs=(legacy_org,)))
    assert decision.model_id == LEGACY
    assert reasons(decision) == [(OTHER, "requested", "not_enabled_for_org")]


def test_default_model_id_wins_over_legacy_model() -> None:
    both = org(default=DEFAULT, legacy=LEGACY)
    assert org_default(both) == (DEFAULT, "org_default")
    assert resolve_model(RouteRequest(org_id="acme"), snapshot(orgs=(both,))).model_id == DEFAULT


def test_org_default_is_permitted_even_when_missing_from_its_enabled_list() -> None:
    decision = resolve_model(
        RouteRequest(org_id="acme", model=DEFAULT),
        snapshot(orgs=(org(enabled=(OTHER,), default=DEFAULT),), fallbacks={}),
    )
    assert (decision.model_id, decision.reason) == (DEFAULT, "requested")
    assert decision.rejected == ()


# -- requested models -------------------------------------------------------------------------


def test_requested_model_in_enabled_list_is_served() -> None:
    decision = resolve_model(RouteRequest(org_id="acme", model=OTHER), snapshot())
    assert (decision.model_id, decision.reason) == (OTHER, "requested")
    assert decision.rejected == ()


def test_requested_model_not_enabled_for_org_falls_back_to_org_default() -> None:
    decision = resolve_model(RouteRequest(org_id="acme", model=STRONG), snapshot())
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert reasons(decision) == [(STRONG, "requested", "not_enabled_for_org")]
    assert STRONG in decision.rejected[0].detail


def test_empty_enabled_list_permits_only_the_default_and_says_so() -> None:
    decision = resolve_model(
        RouteRequest(org_id="acme", model=OTHER), snapshot(orgs=(org(enabled=()),))
    )
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert reasons(decision)[0] == (OTHER, "requested", "org_enabled_list_empty")
    # Its fallbacks are not permitted either.
    assert decision.fallbacks == ()
    assert (FB1, "fallback", "org_enabled_list_empty") in reasons(decision)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (ModelState(OTHER, enabled=False), "disabled_on_platform"),
        (ModelState(OTHER, enabled=True, removed=True), "removed_by_provider"),
        (ModelState(OTHER, enabled=True, killed=True), "killed"),
        (ModelState(OTHER, enabled=True, gate_allows=False), "gate_refused"),
        # The first failing condition is the one reported.
        (ModelState(OTHER, enabled=False, removed=True, killed=True), "disabled_on_platform"),
        (ModelState(OTHER, enabled=True, removed=True, killed=True), "removed_by_provider"),
        (ModelState(OTHER, enabled=True, killed=True, gate_allows=False), "killed"),
    ],
)
def test_unavailable_requested_model_is_rejected_with_its_reason(
    state: ModelState, reason: str
) -> None:
    decision = resolve_model(
        RouteRequest(org_id="acme", model=OTHER), snapshot(model_states=models(other=state))
    )
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert reasons(decision) == [(OTHER, "requested", reason)]


def test_unknown_requested_model() -> None:
    decision = resolve_model(RouteRequest(org_id="acme", model="p:nope"), snapshot())
    assert decision.model_id == DEFAULT
    assert reasons(decision) == [("p:nope", "requested", "unknown_model")]
    assert "'p:nope'" in decision.rejected[0].detail


# -- session pins -----------------------------------------------------------------------------


def test_new_session_is_pinned_to_the_chosen_model() -> None:
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snapshot())
    assert decision.model_id == DEFAULT
    assert decision.pin == DEFAULT


def test_pinned_session_keeps_its_model_when_the_org_default_changes() -> None:
    pin = SessionPin("s1", DEFAULT, "acme")
    changed = org(default=OTHER)
    decision = resolve_model(
        RouteRequest(org_id="acme", session_id="s1"), snapshot(orgs=(changed,), pins=(pin,))
    )
    assert (decision.model_id, decision.reason) == (DEFAULT, "session_pin")
    assert decision.pin is None  # already pinned to it: nothing to write


def test_pinned_model_later_disabled_gets_org_default_and_a_new_pin() -> None:
    pin = SessionPin("s1", OTHER, "acme")
    snap = snapshot(model_states=models(other=ModelState(OTHER, enabled=False)), pins=(pin,))
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snap)
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert decision.pin == DEFAULT
    assert reasons(decision) == [(OTHER, "session_pin", "disabled_on_platform")]


def test_pinned_model_later_killed_gets_org_default_and_a_new_pin() -> None:
    pin = SessionPin("s1", OTHER, "acme")
    snap = snapshot(
        model_states=models(other=ModelState(OTHER, enabled=True, killed=True)), pins=(pin,)
    )
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snap)
    assert decision.model_id == DEFAULT
    assert decision.pin == DEFAULT
    assert reasons(decision) == [(OTHER, "session_pin", "killed")]


def test_pinned_model_no_longer_enabled_for_org_is_rejected() -> None:
    pin = SessionPin("s1", OTHER, "acme")
    snap = snapshot(orgs=(org(enabled=(DEFAULT,)),), pins=(pin,), fallbacks={})
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snap)
    assert decision.model_id == DEFAULT
    assert decision.pin == DEFAULT
    assert reasons(decision) == [(OTHER, "session_pin", "not_enabled_for_org")]


def test_pin_belonging_to_another_org_is_ignored() -> None:
    pin = SessionPin("s1", OTHER, "globex")
    snap = snapshot(orgs=(org(), org("globex")), pins=(pin,))
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snap)
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert decision.rejected == ()
    assert decision.pin == DEFAULT  # the foreign pin counts as none


def test_pin_without_org_applies_to_any_org() -> None:
    pin = SessionPin("s1", OTHER, None)
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snapshot(pins=(pin,)))
    assert (decision.model_id, decision.reason, decision.pin) == (OTHER, "session_pin", None)


def test_requested_model_repins_the_session() -> None:
    pin = SessionPin("s1", DEFAULT, "acme")
    decision = resolve_model(
        RouteRequest(org_id="acme", model=OTHER, session_id="s1"), snapshot(pins=(pin,))
    )
    assert (decision.model_id, decision.reason, decision.pin) == (OTHER, "requested", OTHER)


# -- tiers ------------------------------------------------------------------------------------


def test_mapped_tier_needs_only_platform_availability() -> None:
    # STRONG is not in the org's enabled list: tiers are platform configuration.
    decision = resolve_model(RouteRequest(org_id="acme", tier="strong"), snapshot())
    assert (decision.model_id, decision.reason) == (STRONG, "tier")
    assert decision.rejected == ()


def test_tier_decision_never_changes_the_pin() -> None:
    pin = SessionPin("s1", DEFAULT, "acme")
    for pins in ((pin,), ()):
        decision = resolve_model(
            RouteRequest(org_id="acme", tier="strong", session_id="s1"), snapshot(pins=pins)
        )
        assert decision.reason == "tier"
        assert decision.pin is None


def test_unmapped_tier_falls_back_with_a_rejection() -> None:
    decision = resolve_model(RouteRequest(org_id="acme", tier="cheap"), snapshot())
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert reasons(decision) == [("cheap", "tier", "tier_unmapped")]


def test_tier_pointing_at_unknown_model_falls_back_to_org_default() -> None:
    decision = resolve_model(
        RouteRequest(org_id="acme", tier="mid"), snapshot(tiers={"mid": "p:ghost"})
    )
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert reasons(decision) == [("p:ghost", "tier", "unknown_model")]


def test_requested_model_is_tried_before_the_tier() -> None:
    decision = resolve_model(RouteRequest(org_id="acme", model=OTHER, tier="strong"), snapshot())
    assert decision.reason == "requested"
    decision = resolve_model(RouteRequest(org_id="acme", model=STRONG, tier="strong"), snapshot())
    assert (decision.model_id, decision.reason) == (STRONG, "tier")
    assert reasons(decision) == [(STRONG, "requested", "not_enabled_for_org")]


# -- orgs -------------------------------------------------------------------------------------


def test_unknown_org_under_refuse_raises() -> None:
    with pytest.raises(UnknownOrg) as info:
        resolve_model(RouteRequest(org_id="ghost"), snapshot(unknown_org="refuse"))
    assert info.value.org_id == "ghost"


def test_unknown_org_under_platform_default_gets_platform_default() -> None:
    decision = resolve_model(RouteRequest(org_id="ghost"), snapshot())
    assert (decision.model_id, decision.reason) == (PLATFORM, "platform_default")
    assert decision.org_known is False


def test_unknown_org_may_request_any_available_model() -> None:
    decision = resolve_model(RouteRequest(org_id="ghost", model=STRONG), snapshot())
    assert (decision.model_id, decision.reason) == (STRONG, "requested")


def test_no_org_gets_platform_default_and_any_model() -> None:
    snap = snapshot(unknown_org="refuse")  # refuse is about unknown orgs, not missing ones
    decision = resolve_model(RouteRequest(), snap)
    assert (decision.model_id, decision.reason, decision.org_known) == (
        PLATFORM,
        "platform_default",
        False,
    )
    assert resolve_model(RouteRequest(model=STRONG), snap).model_id == STRONG


def test_org_without_default_uses_permitted_platform_default() -> None:
    snap = snapshot(orgs=(org(enabled=(OTHER, PLATFORM), default=None),))
    decision = resolve_model(RouteRequest(org_id="acme"), snap)
    assert (decision.model_id, decision.reason) == (PLATFORM, "platform_default")


def test_org_with_list_refuses_platform_default_outside_it() -> None:
    snap = snapshot(orgs=(org(enabled=(OTHER,), default=None),))
    with pytest.raises(NoModelAvailable) as info:
        resolve_model(RouteRequest(org_id="acme"), snap)
    assert [(r.model_id, r.role, r.reason) for r in info.value.rejections] == [
        (PLATFORM, "platform_default", "not_enabled_for_org")
    ]


def test_org_without_list_or_default_uses_platform_default() -> None:
    snap = snapshot(orgs=(org(enabled=None, default=None),))
    decision = resolve_model(RouteRequest(org_id="acme"), snap)
    assert (decision.model_id, decision.reason) == (PLATFORM, "platform_default")
    assert decision.rejected == ()


def test_org_without_list_but_with_default_never_gets_platform_default() -> None:
    snap = snapshot(
        model_states=models(default=ModelState(DEFAULT, enabled=False)),
        orgs=(org(enabled=None),),
        fallbacks={},
    )
    with pytest.raises(NoModelAvailable) as info:
        resolve_model(RouteRequest(org_id="acme"), snap)
    assert [(r.model_id, r.role, r.reason) for r in info.value.rejections] == [
        (DEFAULT, "org_default", "disabled_on_platform"),
        (PLATFORM, "platform_default", "not_enabled_for_org"),
    ]


# -- fallbacks --------------------------------------------------------------------------------


def test_unavailable_org_default_uses_its_fallback_chain() -> None:
    snap = snapshot(
        model_states=models(
            default=ModelState(DEFAULT, enabled=True, killed=True),
            fb1=ModelState(FB1, enabled=True, removed=True),
        )
    )
    decision = resolve_model(RouteRequest(org_id="acme"), snap)
    assert (decision.model_id, decision.reason) == (FB2, "fallback_chain")
    assert reasons(decision) == [
        (DEFAULT, "org_default", "killed"),
        (FB1, "fallback", "removed_by_provider"),
    ]
    assert decision.fallbacks == ()  # FB2 has no chain of its own


def test_everything_unavailable_raises_with_all_rejections() -> None:
    off = {m: ModelState(m, enabled=False) for m in ALL_MODELS}
    snap = snapshot(model_states=off, pins=(SessionPin("s1", OTHER, "acme"),))
    with pytest.raises(NoModelAvailable) as info:
        resolve_model(
            RouteRequest(org_id="acme", model=OTHER, tier="strong", session_id="s1"), snap
        )
    error = info.value
    assert error.org_id == "acme"
    assert [(r.model_id, r.role, r.reason) for r in error.rejections] == [
        (OTHER, "requested", "disabled_on_platform"),
        (STRONG, "tier", "disabled_on_platform"),
        (OTHER, "session_pin", "disabled_on_platform"),
        (DEFAULT, "org_default", "disabled_on_platform"),
        (FB1, "fallback", "disabled_on_platform"),
        (FB2, "fallback", "disabled_on_platform"),
        (PLATFORM, "platform_default", "disabled_on_platform"),
    ]
    assert all(isinstance(r, Rejection) and r.detail.endswith(".") for r in error.rejections)
    assert "p:fb2: disabled_on_platform" in str(error)


def test_no_candidates_at_all_raises() -> None:
    snap = snapshot(orgs=(org(enabled=(), default=None),), platform_default=None)
    with pytest.raises(NoModelAvailable) as info:
        resolve_model(RouteRequest(org_id="acme"), snap)
    assert info.value.rejections == ()


def test_fallbacks_are_filtered_and_dropped_ones_recorded() -> None:
    snap = snapshot(
        model_states=models(fb1=ModelState(FB1, enabled=False)),
        fallbacks={DEFAULT: (DEFAULT, FB1, FB2, FB2, STRONG, "p:ghost", OTHER)},
    )
    decision = resolve_model(RouteRequest(org_id="acme"), snap)
    assert decision.model_id == DEFAULT
    assert decision.fallbacks == (FB2, OTHER)
    assert reasons(decision) == [
        (FB1, "fallback", "disabled_on_platform"),
        (STRONG, "fallback", "not_enabled_for_org"),
        ("p:ghost", "fallback", "unknown_model"),
    ]


def test_fallback_chain_function_matches_decision() -> None:
    snap = snapshot(model_states=models(fb1=ModelState(FB1, enabled=False)))
    chain, rejections = fallback_chain(DEFAULT, snap, snap.orgs["acme"])
    assert chain == (FB2,)
    assert [(r.model_id, r.role, r.reason) for r in rejections] == [
        (FB1, "fallback", "disabled_on_platform")
    ]
    assert fallback_chain(PLATFORM, snap) == ((), ())
    # Without an org every available model is permitted.
    snap = snapshot(fallbacks={DEFAULT: (STRONG,)})
    assert fallback_chain(DEFAULT, snap) == ((STRONG,), ())
    assert fallback_chain(DEFAULT, snap, snap.orgs["acme"])[0] == ()


def test_duplicate_rejections_are_recorded_once() -> None:
    # FB1 appears twice in the default's chain and is disabled: one rejection.
    snap = snapshot(
        model_states=models(
            default=ModelState(DEFAULT, enabled=False), fb1=ModelState(FB1, enabled=False)
        ),
        fallbacks={DEFAULT: (FB1, FB1, FB2), FB2: (FB1,)},
    )
    decision = resolve_model(RouteRequest(org_id="acme"), snap)
    assert decision.model_id == FB2
    assert reasons(decision) == [
        (DEFAULT, "org_default", "disabled_on_platform"),
        (FB1, "fallback", "disabled_on_platform"),
    ]


# -- output and purity ------------------------------------------------------------------------


def test_to_dict_is_json_ready_and_round_trips_key_fields() -> None:
    snap = snapshot(model_states=models(fb1=ModelState(FB1, enabled=False)))
    request = RouteRequest(org_id="acme", model=STRONG, tier="cheap", session_id="s1")
    decision = resolve_model(request, snap)
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["model_id"] == decision.model_id == DEFAULT
    assert data["reason"] == "org_default"
    assert data["org_known"] is True
    assert data["pin"] == DEFAULT
    assert data["fallbacks"] == [FB2]
    assert RouteRequest(**data["request"]) == request
    assert tuple(Rejection(**r) for r in data["rejected"]) == decision.rejected
    assert len(decision.rejected) == 3


def test_inputs_are_not_mutated() -> None:
    snap = snapshot(
        model_states=models(default=ModelState(DEFAULT, enabled=False)),
        pins=(SessionPin("s1", OTHER, "acme"),),
    )
    before = copy.deepcopy(snap)
    request = RouteRequest(org_id="acme", model=STRONG, tier="mid", session_id="s1")
    resolve_model(request, snap)
    assert snap == before
    assert request == RouteRequest(org_id="acme", model=STRONG, tier="mid", session_id="s1")


def test_decision_is_frozen() -> None:
    decision = resolve_model(RouteRequest(org_id="acme"), snapshot())
    with pytest.raises(AttributeError):
        decision.model_id = OTHER  # type: ignore[misc]


# -- what the user reads: rejection details ---------------------------------------------------

STALE = "its gate decision of 2026-11-01 is stale (contract changed); re-run `clearance gate`"


@pytest.mark.parametrize(
    ("state", "reason", "detail"),
    [
        (None, "unknown_model", "Model 'p:other' is not in the catalog."),
        (
            ModelState(OTHER, enabled=False),
            "disabled_on_platform",
            "Model 'p:other' is not enabled on the platform.",
        ),
        (
            ModelState(OTHER, enabled=True, removed=True),
            "removed_by_provider",
            "Model 'p:other' is no longer listed by its provider.",
        ),
        (
            ModelState(OTHER, enabled=True, killed=True),
            "killed",
            "A kill switch is thrown for model 'p:other' or its provider.",
        ),
        (
            ModelState(OTHER, enabled=True, gate_allows=False),
            "gate_refused",
            "The gate refuses model 'p:other': the gate's latest decision does not allow it.",
        ),
        (
            ModelState(OTHER, enabled=True, gate_allows=False, gate_detail=STALE),
            "gate_refused",
            f"The gate refuses model 'p:other': {STALE}.",
        ),
        # The gate disabled it: the gate's reason is the one that helps, not "disabled".
        (
            ModelState(OTHER, enabled=False, gate_allows=False, gate_detail=STALE),
            "gate_refused",
            f"The gate refuses model 'p:other': {STALE}.",
        ),
    ],
)
def test_unavailable_model_rejection_says_why_in_one_sentence(
    state: ModelState | None, reason: str, detail: str
) -> None:
    states = models()
    if state is None:
        del states[OTHER]
    else:
        states[OTHER] = state
    decision = resolve_model(
        RouteRequest(org_id="acme", model=OTHER), snapshot(model_states=states)
    )
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert [(r.model_id, r.role, r.reason, r.detail) for r in decision.rejected] == [
        (OTHER, "requested", reason, detail)
    ]


@pytest.mark.parametrize(
    ("acme", "reason", "detail"),
    [
        (
            org(enabled=(DEFAULT,)),
            "not_enabled_for_org",
            "Model 'p:other' is not in the enabled-model list of org 'acme'.",
        ),
        (
            org(enabled=None),
            "not_enabled_for_org",
            "Org 'acme' has no enabled-model list, so it may use only its default model "
            "('p:default'), not 'p:other'.",
        ),
        (
            org(enabled=()),
            "org_enabled_list_empty",
            "Org 'acme' has an empty enabled-model list, so it may use only its default model "
            "('p:default'), not 'p:other'.",
        ),
    ],
)
def test_org_refusal_says_what_the_org_may_use(acme: OrgPolicy, reason: str, detail: str) -> None:
    decision = resolve_model(
        RouteRequest(org_id="acme", model=OTHER), snapshot(orgs=(acme,), fallbacks={})
    )
    assert (decision.model_id, decision.reason) == (DEFAULT, "org_default")
    assert [(r.model_id, r.role, r.reason, r.detail) for r in decision.rejected] == [
        (OTHER, "requested", reason, detail)
    ]


def test_org_without_list_or_default_is_told_it_may_use_only_the_platform_default() -> None:
    snap = snapshot(orgs=(org(enabled=None, default=None),), fallbacks={PLATFORM: (OTHER,)})
    decision = resolve_model(RouteRequest(org_id="acme", model=OTHER), snap)
    assert (decision.model_id, decision.reason) == (PLATFORM, "platform_default")
    assert decision.fallbacks == ()  # the chosen model's chain is filtered the same way
    only_platform = (
        "Org 'acme' has no enabled-model list, so it may use only the platform default "
        "('p:platform'), not 'p:other'."
    )
    assert [(r.model_id, r.role, r.detail) for r in decision.rejected] == [
        (OTHER, "requested", only_platform),
        (OTHER, "fallback", only_platform),
    ]


def test_unmapped_tier_rejection_names_the_setting_to_fix() -> None:
    decision = resolve_model(RouteRequest(org_id="acme", tier="cheap"), snapshot())
    assert [(r.model_id, r.detail) for r in decision.rejected] == [
        ("cheap", "Tier 'cheap' is mapped to no model in policy.tiers.")
    ]


# -- the org default is permitted wherever it appears -----------------------------------------


def test_org_default_in_another_models_chain_is_kept_even_off_its_list() -> None:
    acme = org(enabled=(OTHER,), default=DEFAULT)
    snap = snapshot(orgs=(acme,), fallbacks={OTHER: (DEFAULT, FB1)})
    decision = resolve_model(RouteRequest(org_id="acme", model=OTHER), snap)
    assert (decision.model_id, decision.reason) == (OTHER, "requested")
    assert decision.fallbacks == (DEFAULT,)
    assert reasons(decision) == [(FB1, "fallback", "not_enabled_for_org")]
    chain, rejections = fallback_chain(OTHER, snap, acme)
    assert chain == (DEFAULT,)
    assert [(r.model_id, r.role, r.reason) for r in rejections] == [
        (FB1, "fallback", "not_enabled_for_org")
    ]


def test_session_pinned_to_the_org_default_keeps_it_even_off_its_list() -> None:
    snap = snapshot(
        orgs=(org(enabled=(OTHER,), default=DEFAULT),),
        pins=(SessionPin("s1", DEFAULT, "acme"),),
        fallbacks={},
    )
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snap)
    assert (decision.model_id, decision.reason, decision.pin) == (DEFAULT, "session_pin", None)
    assert decision.rejected == ()


def test_org_without_list_or_default_may_request_or_stay_pinned_to_the_platform_default() -> None:
    snap = snapshot(
        orgs=(org(enabled=None, default=None),), pins=(SessionPin("s1", PLATFORM, "acme"),)
    )
    decision = resolve_model(RouteRequest(org_id="acme", model=PLATFORM), snap)
    assert (decision.model_id, decision.reason, decision.rejected) == (PLATFORM, "requested", ())
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snap)
    assert (decision.model_id, decision.reason, decision.pin) == (PLATFORM, "session_pin", None)
    assert decision.rejected == ()


def test_unavailable_legacy_default_is_rejected_as_the_legacy_default() -> None:
    snap = snapshot(
        model_states=models(legacy=ModelState(LEGACY, enabled=True, killed=True)),
        orgs=(org(enabled=(FB1,), default=None, legacy=LEGACY),),
        fallbacks={LEGACY: (FB1,)},
    )
    decision = resolve_model(RouteRequest(org_id="acme"), snap)
    assert (decision.model_id, decision.reason) == (FB1, "fallback_chain")
    assert reasons(decision) == [(LEGACY, "legacy_default", "killed")]


def test_the_org_defaults_chain_skips_models_the_org_may_not_use() -> None:
    snap = snapshot(
        model_states=models(default=ModelState(DEFAULT, enabled=False)),
        fallbacks={DEFAULT: (STRONG, FB1)},
    )
    decision = resolve_model(RouteRequest(org_id="acme"), snap)
    assert (decision.model_id, decision.reason) == (FB1, "fallback_chain")
    assert reasons(decision) == [
        (DEFAULT, "org_default", "disabled_on_platform"),
        (STRONG, "fallback", "not_enabled_for_org"),
    ]


def test_org_without_list_never_reaches_the_platform_default_through_its_chain() -> None:
    snap = snapshot(
        model_states=models(default=ModelState(DEFAULT, enabled=False)),
        orgs=(org(enabled=None),),
        fallbacks={DEFAULT: (PLATFORM,)},
    )
    with pytest.raises(NoModelAvailable) as info:
        resolve_model(RouteRequest(org_id="acme"), snap)
    assert [(r.model_id, r.role, r.reason) for r in info.value.rejections] == [
        (DEFAULT, "org_default", "disabled_on_platform"),
        (PLATFORM, "fallback", "not_enabled_for_org"),
        (PLATFORM, "platform_default", "not_enabled_for_org"),
    ]


# -- property ---------------------------------------------------------------------------------

_IDS = ("m:a", "m:b", "m:c", "m:d", "m:e")
_ORG_IDS = ("o1", "o2")
_TIERS: tuple[Tier, ...] = ("strong", "mid", "cheap")

_maybe_id = st.sampled_from((*_IDS, "m:unknown", None))
# Mostly available, so that every candidate step is exercised, not only the refusals.
_state = st.sampled_from(
    (
        ModelState("", enabled=True),
        ModelState("", enabled=True),
        ModelState("", enabled=True),
        ModelState("", enabled=False),
        ModelState("", enabled=True, removed=True),
        ModelState("", enabled=True, killed=True),
        ModelState("", enabled=True, gate_allows=False),
        ModelState("", enabled=False, removed=True, killed=True, gate_allows=False),
    )
)


@st.composite
def _snapshots(draw: st.DrawFn) -> PolicySnapshot:
    states = draw(st.fixed_dictionaries(dict.fromkeys(_IDS, _state)))
    orgs = {
        org_id: OrgPolicy(
            org_id,
            enabled_models=draw(st.none() | st.lists(st.sampled_from(_IDS)).map(tuple)),
            default_model_id=draw(_maybe_id),
            legacy_model=draw(_maybe_id),
        )
        for org_id in draw(st.lists(st.sampled_from(_ORG_IDS), unique=True))
    }
    pins = {
        sid: SessionPin(
            sid, draw(st.sampled_from(_IDS)), draw(st.none() | st.sampled_from(_ORG_IDS))
        )
        for sid in draw(st.lists(st.sampled_from(("s1", "s2")), unique=True))
    }
    return PolicySnapshot(
        models={
            m: ModelState(m, s.enabled, s.removed, s.killed, s.gate_allows)
            for m, s in states.items()
        },
        orgs=orgs,
        pins=pins,
        tiers=draw(st.dictionaries(st.sampled_from(_TIERS), st.sampled_from((*_IDS, "m:unknown")))),
        fallbacks=draw(
            st.dictionaries(st.sampled_from(_IDS), st.lists(st.sampled_from(_IDS)).map(tuple))
        ),
        platform_default=draw(_maybe_id),
        unknown_org=draw(st.sampled_from(("platform_default", "refuse"))),
    )


_requests = st.builds(
    RouteRequest,
    org_id=st.none() | st.sampled_from((*_ORG_IDS, "o3")),
    model=_maybe_id,
    tier=st.none() | st.sampled_from(_TIERS),
    session_id=st.none() | st.sampled_from(("s1", "s2", "s3")),
)


def _available(model_id: str, snap: PolicySnapshot) -> bool:
    state = snap.models.get(model_id)
    return (
        state is not None
        and state.enabled
        and not state.removed
        and not state.killed
        and state.gate_allows
    )


def _permitted(model_id: str, snap: PolicySnapshot, org_id: str | None) -> bool:
    """An independent statement of the org-permission rule."""
    org_policy = snap.orgs.get(org_id) if org_id is not None else None
    if org_policy is None:
        return True
    default = org_policy.default_model_id or org_policy.legacy_model
    if default is not None and model_id == default:
        return True
    if org_policy.enabled_models is None:
        return default is None and model_id == snap.platform_default
    return model_id in org_policy.enabled_models


@settings(max_examples=200, deadline=None)
@given(snap=_snapshots(), request=_requests)
def test_property_chosen_model_is_always_allowed(
    snap: PolicySnapshot, request: RouteRequest
) -> None:
    before = copy.deepcopy(snap)
    try:
        decision = resolve_model(request, snap)
    except UnknownOrg:
        assert snap.unknown_org == "refuse"
        assert request.org_id is not None
        assert request.org_id not in snap.orgs
        return
    except NoModelAvailable as error:
        roles = [r.role for r in error.rejections]
        keys = [(r.model_id, r.reason, r.role) for r in error.rejections]
        assert len(keys) == len(set(keys))
        if request.model is not None:
            assert "requested" in roles
        # No candidate that the rules allow was passed over.
        org_policy = snap.orgs.get(request.org_id) if request.org_id is not None else None
        default = None if org_policy is None else org_default(org_policy)[0]
        tier_model = None if request.tier is None else snap.tiers.get(request.tier)
        for candidate, needs_permission in (
            (request.model, True),
            (tier_model, False),
            (default, False),
            (snap.platform_default, True),
        ):
            if candidate is not None:
                assert not (
                    _available(candidate, snap)
                    and (not needs_permission or _permitted(candidate, snap, request.org_id))
                )
        return
    finally:
        assert snap == before

    chosen = decision.model_id
    assert _available(chosen, snap)
    if decision.reason != "tier":
        assert _permitted(chosen, snap, request.org_id)
    assert chosen not in decision.fallbacks
    assert len(set(decision.fallbacks)) == len(decision.fallbacks)
    for model_id in decision.fallbacks:
        assert _available(model_id, snap)
        assert _permitted(model_id, snap, request.org_id)
    keys = [(r.model_id, r.reason, r.role) for r in decision.rejected]
    assert len(keys) == len(set(keys))
    assert decision.org_known == (request.org_id in snap.orgs)
    if request.session_id is None or decision.reason == "tier":
        assert decision.pin is None
    if decision.pin is not None:
        assert decision.pin == chosen
    if decision.reason == "requested":
        assert chosen == request.model

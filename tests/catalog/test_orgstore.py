"""Org settings, pins, fallback chains and the policy state read from them, on both back ends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import (
    ModelRow,
    ensure_provider,
    model_rows,
    set_enabled,
    sync_models,
)
from clearance.catalog.orgstore import (
    fallback_chains,
    get_org,
    list_orgs,
    load_policy_snapshot,
    read_pins,
    read_policy_state,
    set_fallback_chain,
    set_org,
    write_pin,
)
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.modelpolicy import ModelState, OrgPolicy, RouteRequest, SessionPin, resolve_model

NAMES = ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4", "x/removed"]


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    document = {"data": [{"id": name} for name in NAMES]}
    with catalog.begin() as connection:
        ensure_provider(connection, "openrouter")
        sync_models(
            connection, "openrouter", parse_model_list(document, source="t"), enable_new=True
        )
        sync_models(
            connection,
            "openrouter",
            parse_model_list({"data": [{"id": n} for n in NAMES[:3]]}, source="t"),
            enable_new=True,
        )
    return catalog


def config_with(tmp_path: Path, text: str) -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(text)
    return load_config(environ={}, cwd=tmp_path)


def test_org_settings_round_trip(seeded: Catalog) -> None:
    with seeded.begin() as connection:
        assert get_org(connection, "acme") is None
        set_org(connection, "acme", legacy_model="openrouter:openai/gpt-4o-mini")
        org = set_org(connection, "acme", enabled_models=["openrouter:openai/gpt-4o"])
        assert org.legacy_model == "openrouter:openai/gpt-4o-mini"  # kept
        assert org.enabled_models == ("openrouter:openai/gpt-4o",)
        assert org.default_model_id is None
        empty = set_org(connection, "empty", enabled_models=[])
        assert empty.enabled_models == ()
        unset = set_org(connection, "unset", default_model_id="openrouter:openai/gpt-4o")
        assert unset.enabled_models is None
        assert [o.org_id for o in list_orgs(connection)] == ["acme", "empty", "unset"]


def test_snapshot_reads_flags_kill_switches_pins_and_chains(
    seeded: Catalog, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    with seeded.begin() as connection:
        set_enabled(connection, "openrouter:openai/gpt-4o-mini", False)
        connection.execute(
            insert(t.kill_switches).values(
                scope="model",
                target="openrouter:anthropic/claude-sonnet-4",
                active=True,
                reason="incident",
                changed_by="test",
                changed_at=now,
            )
        )
        set_org(connection, "acme", default_model_id="openrouter:openai/gpt-4o")
        write_pin(connection, "s1", "openrouter:openai/gpt-4o", "acme")
        write_pin(connection, "s1", "openrouter:openai/gpt-4o-mini", "acme")
        set_fallback_chain(
            connection, "openrouter:openai/gpt-4o", ["openrouter:anthropic/claude-sonnet-4"]
        )
        assert fallback_chains(connection) == {
            "openrouter:openai/gpt-4o": ("openrouter:anthropic/claude-sonnet-4",)
        }
        config = config_with(
            tmp_path,
            "[gate]\nrequire_decision = false\n"
            '[policy]\ndefault_model = "openai/gpt-4o"\n'
            'tiers = { cheap = "openai/gpt-4o-mini", strong = "no/such-model" }\n'
            '[policy.fallbacks]\n"openai/gpt-4o-mini" = ["openai/gpt-4o"]\n',
        )
        snapshot = load_policy_snapshot(connection, config, org_ids=["acme"], session_ids=["s1"])
    models = snapshot.models
    assert models["openrouter:openai/gpt-4o"].enabled
    assert not models["openrouter:openai/gpt-4o-mini"].enabled
    assert models["openrouter:anthropic/claude-sonnet-4"].killed
    assert models["openrouter:x/removed"].removed
    assert snapshot.pins["s1"].model_id == "openrouter:openai/gpt-4o-mini"
    # bare names in configuration become catalog ids; an unknown one stays as written
    assert snapshot.platform_default == "openrouter:openai/gpt-4o"
    assert snapshot.tiers == {"cheap": "openrouter:openai/gpt-4o-mini", "strong": "no/such-model"}
    assert snapshot.fallbacks["openrouter:openai/gpt-4o-mini"] == ("openrouter:openai/gpt-4o",)
    assert snapshot.fallbacks["openrouter:openai/gpt-4o"] == (
        "openrouter:anthropic/claude-sonnet-4",
    )
    decision = resolve_model(RouteRequest(org_id="acme", session_id="s1"), snapshot)
    # the pinned model was disabled: the org default serves, and the session is re-pinned
    assert decision.model_id == "openrouter:openai/gpt-4o"
    assert decision.pin == "openrouter:openai/gpt-4o"
    assert decision.fallbacks == ()  # claude is killed
    assert any(r.reason == "killed" for r in decision.rejected)


def test_provider_kill_switch_kills_its_models(seeded: Catalog, tmp_path: Path) -> None:
    with seeded.begin() as connection:
        connection.execute(
            insert(t.kill_switches).values(
                scope="provider",
                target="openrouter",
                active=True,
                reason="outage",
                changed_by="test",
                changed_at=dt.datetime.now(dt.UTC),
            )
        )
        snapshot = load_policy_snapshot(connection, config_with(tmp_path, ""))
    assert all(state.killed for state in snapshot.models.values())


GPT4O, MINI, SONNET, REMOVED = (f"openrouter:{name}" for name in NAMES)


def test_the_reader_reads_every_org_or_those_asked_for(seeded: Catalog, tmp_path: Path) -> None:
    config = config_with(tmp_path, "")
    with seeded.begin() as connection:
        for org in ("acme", "beta"):
            set_org(connection, org, default_model_id=GPT4O)
        every = read_policy_state(connection, config).snapshot.orgs
        asked = read_policy_state(connection, config, org_ids=["beta", "nobody"]).snapshot.orgs
        none = read_policy_state(connection, config, org_ids=[]).snapshot.orgs
    assert sorted(every) == ["acme", "beta"]
    assert every["acme"] == OrgPolicy("acme", None, GPT4O, None)
    assert list(asked) == ["beta"]
    assert none == {}


def test_the_reader_reads_rows_providers_pins_and_resolves_names(
    seeded: Catalog, tmp_path: Path
) -> None:
    config = config_with(
        tmp_path, '[[providers]]\nname = "local"\nbase_url = "http://127.0.0.1:1/v1"\n'
    )
    with seeded.begin() as connection:
        ensure_provider(connection, "openrouter", base_url="https://o.example/v1", api_key_env="K")
        write_pin(connection, "s1", GPT4O, "acme")
        write_pin(connection, "s2", MINI, None)
        assert read_pins(connection, []) == {}
        assert read_pins(connection, ["s2", "s3"]) == {"s2": SessionPin("s2", MINI, None)}
        state = read_policy_state(connection, config, session_ids=["s1"])
        rows = {row.id: row for row in model_rows(connection)}
    assert state.snapshot.pins == {"s1": SessionPin("s1", GPT4O, "acme")}
    assert state.models == rows
    assert rows[REMOVED] == ModelRow(REMOVED, "openrouter", "x/removed", True, True, None)
    assert not rows[GPT4O].removed
    assert state.providers["openrouter"].base_url == "https://o.example/v1"
    assert state.providers["openrouter"].api_key_env == "K"
    # configured providers count too: "local:x" is a qualified id, not a bare name
    assert state.canonical("openai/gpt-4o") == GPT4O
    assert state.canonical("local:x") == "local:x"
    assert state.canonical.providers == {"openrouter", "local"}
    assert state.snapshot.unknown_org == "platform_default"


def test_the_reader_takes_the_kill_switches_it_is_given(seeded: Catalog, tmp_path: Path) -> None:
    config = config_with(tmp_path, "")
    with seeded.begin() as connection:
        connection.execute(
            insert(t.kill_switches).values(
                scope="model",
                target=GPT4O,
                active=True,
                reason="incident",
                changed_by="test",
                changed_at=dt.datetime.now(dt.UTC),
            )
        )
        read = read_policy_state(connection, config).snapshot.models
        given = read_policy_state(connection, config, killed=({MINI}, ())).snapshot.models
        by_provider = read_policy_state(
            connection, config, killed=((), {"openrouter"})
        ).snapshot.models
    assert read[GPT4O].killed
    assert not read[MINI].killed
    # a router passes its guard's cached view instead: the table is not read then
    assert not given[GPT4O].killed
    assert given[MINI].killed
    assert all(state.killed for state in by_provider.values())


def test_ad_hoc_models_are_served_ungated_but_killable(seeded: Catalog, tmp_path: Path) -> None:
    config = config_with(tmp_path, '[policy]\ndefault_model = "llama3:8b"\n')
    assert config.gate.require_decision  # catalog models without a decision are refused
    adhoc = ModelRow("direct:llama3:8b", "direct", "llama3:8b", True, False, None)
    shadow = ModelRow(MINI, "direct", "shadow", True, False, 99)
    with seeded.begin() as connection:
        state = read_policy_state(connection, config, adhoc_models=[adhoc, shadow])
        killed = read_policy_state(
            connection, config, adhoc_models=[adhoc], killed=((), {"direct"})
        )
    models = state.snapshot.models
    assert state.models[adhoc.id] == adhoc
    assert models[adhoc.id] == ModelState(adhoc.id, enabled=True)
    assert not models[GPT4O].gate_allows
    # the catalog's row wins over an ad hoc model of the same id
    assert state.models[MINI].name == "openai/gpt-4o-mini"
    assert not models[MINI].gate_allows
    # configured bare names resolve against the ad hoc models too
    assert state.canonical("llama3:8b") == adhoc.id
    assert state.snapshot.platform_default == adhoc.id
    assert killed.snapshot.models[adhoc.id].killed


def test_candidates_are_cleared_for_the_gate_not_for_kill_switches(
    seeded: Catalog, tmp_path: Path
) -> None:
    config = config_with(tmp_path, "")
    with seeded.begin() as connection:
        set_enabled(connection, MINI, False)
        plain = read_policy_state(connection, config).snapshot.models
        state = read_policy_state(
            connection,
            config,
            candidates={GPT4O, MINI, SONNET, "openrouter:not/in-catalog"},
            killed=({SONNET}, ()),
        ).snapshot.models
    assert not plain[GPT4O].gate_allows
    assert plain[GPT4O].gate_detail
    assert state[GPT4O] == ModelState(GPT4O, enabled=True)
    assert state[MINI] == ModelState(MINI, enabled=True)
    assert state[SONNET] == ModelState(SONNET, enabled=True, killed=True)
    assert "openrouter:not/in-catalog" not in state
    assert not state[REMOVED].gate_allows  # not a candidate: untouched


def test_load_policy_snapshot_is_the_readers_snapshot(seeded: Catalog, tmp_path: Path) -> None:
    config = config_with(tmp_path, '[policy]\ntiers = { cheap = "openai/gpt-4o-mini" }\n')
    with seeded.begin() as connection:
        set_org(connection, "acme", enabled_models=[GPT4O])
        write_pin(connection, "s1", GPT4O, "acme")
        set_fallback_chain(connection, GPT4O, [MINI])
        snapshot = load_policy_snapshot(connection, config, org_ids=["acme"], session_ids=["s1"])
        state = read_policy_state(connection, config, org_ids=["acme"], session_ids=["s1"])
        bare = load_policy_snapshot(connection, config)
    assert snapshot == state.snapshot
    assert bare.orgs == {}
    assert bare.pins == {}
    assert bare.models == snapshot.models

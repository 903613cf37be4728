"""Org settings, pins, fallback chains and the policy snapshot, on both back ends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, set_enabled, sync_models
from clearance.catalog.orgstore import (
    fallback_chains,
    get_org,
    list_orgs,
    load_policy_snapshot,
    set_fallback_chain,
    set_org,
    write_pin,
)
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.policy import RouteRequest, resolve_model

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

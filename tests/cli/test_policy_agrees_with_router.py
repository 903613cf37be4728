"""`clearance policy resolve` answers what the router decides, on the same catalog.

Both read the policy state through one reader (``orgstore.read_policy_state``); these
tests hold them to it for requests that touch each part of that state: an org's enabled
list and default, a legacy org, an unknown org, a tier, a session pin, a killed model,
a model the gate refuses, fallback chains from the catalog and the configuration, and
bare model names resolved against the catalog.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import record_override
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.orgstore import set_fallback_chain, set_org, write_pin
from clearance.cli import app
from clearance.config import load_config
from clearance.discovery import parse_model_list
from clearance.killswitch import set_switch
from clearance.modelpolicy import RouteRequest
from clearance.router import Router

# Above the stores: their own tests run this SQL on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_dialect

A, B, C, D, E = (f"p:m/{n}" for n in "abcde")
CONFIG = """
[gate]
require_decision = false
[policy]
default_model = "m/e"
tiers = { cheap = "m/c", strong = "m/d" }
[policy.fallbacks]
"m/b" = ["m/c", "m/a"]
"""

# (org, model as written, tier, session)
REQUESTS: list[tuple[str | None, str | None, str | None, str | None]] = [
    ("acme", None, None, None),  # the org default
    ("acme", "m/b", None, None),  # enabled for the org, by bare name
    ("acme", C, None, None),  # not enabled for the org: the default, with the rejection
    ("acme", "no/such", None, None),  # unknown: rejected as unknown_model
    ("acme", None, "cheap", None),  # a tier: platform configuration, not org-permitted
    ("acme", None, "strong", None),  # the tier's model is refused by the gate
    ("acme", None, None, "s1"),  # the session's pin
    ("acme", None, None, "s2"),  # no pin yet: decided, and asks to pin
    ("legacy-co", None, None, None),  # only the legacy single-model field
    ("legacy-co", B, None, None),
    ("nobody", None, None, None),  # unknown org: the platform default
    (None, D, None, None),  # refused by the gate
    (None, B, None, None),  # the configuration's chain for B
    ("acme", A, None, None),  # the catalog's chain for A
]


@pytest.fixture
def seeded(project: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Router]:
    """A catalog with orgs, chains, a pin, a gate refusal; and a router on it."""
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", catalog_url)
    (project / "clearance.toml").write_text(CONFIG)
    config = load_config()
    catalog = Catalog(config.resolved_database_url())
    catalog.ensure_schema()
    document = {"data": [{"id": f"m/{n}"} for n in "abcde"]}
    with catalog.begin() as connection:
        ensure_provider(connection, "p")
        sync_models(connection, "p", parse_model_list(document, source="t"), enable_new=True)
        set_org(connection, "acme", enabled_models=[A, B], default_model_id=A)
        set_org(connection, "legacy-co", legacy_model=E)
        set_fallback_chain(connection, A, [D, C, B])
        write_pin(connection, "s1", B, "acme")
        record_override(
            connection,
            model_id=D,
            action="disable",
            reason="test",
            decided_by="test",
            host=None,
            require_decision=False,
        )
    router = Router(config, catalog, log_calls=False)
    yield router
    router.close()
    catalog.dispose()


def _cli(org: str | None, model: str | None, tier: str | None, session: str | None) -> Any:
    args = ["policy", "resolve", "--json"]
    for option, value in (("--org", org), ("--model", model), ("--tier", tier)):
        if value is not None:
            args += [option, value]
    if session is not None:
        args += ["--session", session]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def _router(
    router: Router, org: str | None, model: str | None, tier: Any, session: str | None
) -> dict[str, Any]:
    """The decision ``Router.complete`` would act on (its ``_begin``, without the call)."""
    state = router.state()
    requested = None if model is None else state.canonical(model)
    return router.decide(RouteRequest(org, requested, tier, session), state).to_dict()


def _agree(router: Router) -> list[dict[str, Any]]:
    decisions = []
    for request in REQUESTS:
        from_cli = _cli(*request)
        assert from_cli == _router(router, *request), request
        decisions.append(from_cli)
    return decisions


def test_the_cli_and_the_router_decide_alike(seeded: Router) -> None:
    decisions = _agree(seeded)
    # the requests exercise what they say they do
    chosen = [(d["model_id"], d["reason"]) for d in decisions]
    assert chosen == [
        (A, "org_default"),
        (B, "requested"),
        (A, "org_default"),
        (A, "org_default"),
        (C, "tier"),
        (A, "org_default"),
        (B, "session_pin"),
        (A, "org_default"),
        (E, "legacy_default"),
        (E, "legacy_default"),
        (E, "platform_default"),
        (E, "platform_default"),
        (B, "requested"),
        (A, "requested"),
    ]
    assert decisions[2]["rejected"][0]["reason"] == "not_enabled_for_org"
    assert decisions[3]["rejected"][0]["reason"] == "unknown_model"
    assert decisions[5]["rejected"][0]["reason"] == "gate_refused"
    assert decisions[7]["pin"] == A
    assert decisions[11]["rejected"][0]["reason"] == "gate_refused"
    assert decisions[12]["fallbacks"] == [C, A]  # configured by bare names
    assert decisions[13]["fallbacks"] == [B]  # D refused by the gate, C not the org's
    assert decisions[13]["rejected"] == [
        {
            "model_id": D,
            "role": "fallback",
            "reason": "gate_refused",
            "detail": decisions[13]["rejected"][0]["detail"],
        },
        {
            "model_id": C,
            "role": "fallback",
            "reason": "not_enabled_for_org",
            "detail": f"Model {C!r} is not in the enabled-model list of org 'acme'.",
        },
    ]


def test_they_still_agree_once_a_model_is_killed(seeded: Router) -> None:
    set_switch(seeded.catalog, "model", active=True, reason="incident", target=B)
    seeded.refresh()
    decisions = _agree(seeded)
    # the pinned, the requested and the chained B are all passed over as killed
    assert (decisions[1]["model_id"], decisions[1]["reason"]) == (A, "org_default")
    assert decisions[1]["rejected"][0]["reason"] == "killed"
    assert (decisions[6]["model_id"], decisions[6]["reason"]) == (A, "org_default")
    assert decisions[6]["pin"] == A
    assert decisions[13]["fallbacks"] == []

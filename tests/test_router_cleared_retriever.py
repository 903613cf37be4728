"""The router searches an org's knowledge only with a retriever configuration the
retrieval gate cleared: the org's own or the default, enabled, unexpired, unchanged;
otherwise the call goes without context (``RetrieverNotCleared`` in its retrievals row),
or ends with ``RetrievalFailed`` when the knowledge is required."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from clearance.catalog.database import Catalog
from clearance.catalog.retrievalstore import read_retrievals
from clearance.catalog.retrieverdecisions import record_retriever_decision
from clearance.config import ClearanceConfig, load_config
from clearance.errors import RetrievalFailed, RetrieverNotCleared
from clearance.gate.retrieval import ClearedRetrievers
from clearance.knowledge import Knowledge
from clearance.knowledge.configured import ConfiguredRetriever, config_document, config_fingerprint
from tests import test_router_knowledge as routed
from tests.test_router_knowledge import QUESTION, USER, Harness

TOML = """\
[policy]
default_model = "p:a"
[calllog]
flush_interval_s = 0.02
[gate]
require_decision = false

[[retrievers]]
name = "lexical-k5"
k = 5

[[retrievers]]
name = "lexical-k3"
k = 3

[knowledge]
default_retriever = "lexical-k5"
org_retrievers = { globex = "lexical-k3" }
"""
NOW = dt.datetime.now(dt.UTC)
kb = routed.kb  # the fixture: the model and both orgs' documents in a catalog


@pytest.fixture
def config(tmp_path: Path) -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(TOML, encoding="utf-8")
    return load_config(environ={}, cwd=tmp_path)


def decide(
    catalog: Catalog,
    config: ClearanceConfig,
    name: str,
    decision: str,
    *,
    expires_at: dt.datetime | None = None,
) -> None:
    entry = config.retriever(name)
    with catalog.begin() as connection:
        record_retriever_decision(
            connection,
            retriever=name,
            decision=decision,
            reason=None,
            checks=[],
            config=config_document(entry),
            config_sha256=config_fingerprint(entry),
            policy_name="retrieval",
            policy_path=None,
            policy_hash=None,
            run_ids=["r1"],
            decided_by="test",
            host=None,
            decided_at=NOW,
            expires_at=expires_at,
        )


@pytest.fixture
def harness(kb: Catalog, config: ClearanceConfig) -> Iterator[Harness]:
    made = Harness(kb, config)
    yield made
    for router in made.routers:
        router.close()


def test_an_enabled_default_serves_and_names_itself(harness: Harness) -> None:
    decide(harness.catalog, harness.config, "lexical-k5", "enable")
    router = harness.router()
    assert isinstance(router.retriever_for("acme"), ConfiguredRetriever)
    knowledge = Knowledge(org_id="acme", query=QUESTION, budget_tokens=800)
    result = router.complete(USER, org="acme", knowledge=knowledge)
    assert result.retrieval is not None
    assert result.retrieval.retriever == "lexical-k5"
    assert result.retrieval.error is None
    assert "Refunds take five business days" in harness.sent()[1]["content"]


def test_an_org_whose_retriever_is_disabled_gets_no_context(harness: Harness) -> None:
    decide(harness.catalog, harness.config, "lexical-k5", "enable")
    decide(harness.catalog, harness.config, "lexical-k3", "disable")
    router = harness.router()
    with pytest.raises(RetrieverNotCleared) as caught:
        router.retriever_for("globex")
    assert (caught.value.retriever, caught.value.state) == ("lexical-k3", "disable")
    knowledge = Knowledge(org_id="globex", query=QUESTION, budget_tokens=800)
    result = router.complete(USER, org="globex", knowledge=knowledge)
    assert [m["role"] for m in harness.sent()] == ["system", "user"]  # nothing injected
    assert result.retrieval is not None
    assert (result.retrieval.error, result.retrieval.retriever) == (
        "RetrieverNotCleared",
        "lexical-k3",
    )
    harness.calls()
    (row,) = read_retrievals(harness.catalog, call_id=result.call_id)
    assert (row.error, row.retriever, row.chunks) == ("RetrieverNotCleared", "lexical-k3", 0)
    required = Knowledge(org_id="globex", query=QUESTION, budget_tokens=800, required=True)
    sent = len(harness.scripted.bodies)
    with pytest.raises(RetrievalFailed):
        router.complete(USER, org="globex", knowledge=required)
    assert len(harness.scripted.bodies) == sent  # no provider was called


@pytest.mark.any_dialect
@pytest.mark.parametrize(
    ("decision", "expires", "state"),
    [
        (None, None, "ungated"),
        ("inconclusive", None, "inconclusive"),
        ("enable", NOW - dt.timedelta(seconds=1), "expired"),
    ],
)
def test_undecided_or_expired_is_not_cleared(
    kb: Catalog,
    config: ClearanceConfig,
    decision: str | None,
    expires: dt.datetime | None,
    state: str,
) -> None:
    if decision is not None:
        decide(kb, config, "lexical-k5", decision, expires_at=expires)
    with pytest.raises(RetrieverNotCleared) as caught:
        ClearedRetrievers(config, kb).for_org("acme")
    assert caught.value.state == state


@pytest.mark.any_dialect
def test_a_configuration_edited_after_its_decision_is_not_cleared(
    kb: Catalog, config: ClearanceConfig
) -> None:
    decide(kb, config, "lexical-k5", "enable")
    assert ClearedRetrievers(config, kb).for_org("acme").name == "lexical-k5"
    edited = config.model_copy(
        update={"retrievers": (config.retriever("lexical-k5").model_copy(update={"k": 4}),)}
    )
    with pytest.raises(RetrieverNotCleared) as caught:
        ClearedRetrievers(edited, kb).for_org("acme")
    assert caught.value.state == "changed"


@pytest.mark.any_dialect
def test_no_retriever_for_the_org_and_the_cache(kb: Catalog, config: ClearanceConfig) -> None:
    bare = config.model_copy(
        update={"knowledge": config.knowledge.model_copy(update={"default_retriever": None})}
    )
    with pytest.raises(RetrieverNotCleared) as caught:
        ClearedRetrievers(bare, kb).for_org("acme")
    assert (caught.value.retriever, caught.value.state) == (None, "none")
    ticks = [0.0]
    cleared = ClearedRetrievers(config, kb, ttl_s=1.0, clock=lambda: ticks[0])
    with pytest.raises(RetrieverNotCleared):
        cleared.for_org("acme")
    decide(kb, config, "lexical-k5", "enable")
    with pytest.raises(RetrieverNotCleared):  # still the state read a moment ago
        cleared.for_org("acme")
    ticks[0] = 1.0
    first = cleared.for_org("acme")
    assert cleared.for_org("acme") is first  # built once


def test_no_retrievers_declared_keeps_lexical_for_every_org(kb: Catalog, tmp_path: Path) -> None:
    (tmp_path / "plain.toml").write_text('[policy]\ndefault_model = "p:a"\n', encoding="utf-8")
    plain = load_config(tmp_path / "plain.toml", environ={})
    made = Harness(kb, plain)
    try:
        assert type(made.router().retriever_for("acme")).__name__ == "LexicalRetriever"
    finally:
        for router in made.routers:
            router.close()

"""The router with knowledge: retrieve from the call's org, inject one system message
within the token budget, log a ``retrievals`` row linked to the call's row, refuse another
org's knowledge base, and what a failed retrieval does (scripted providers over
httpx.MockTransport, a real catalog on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clearance.catalog import tables as t
from clearance.catalog.callstore import insert_new_calls
from clearance.catalog.database import Catalog
from clearance.catalog.modelstore import ensure_provider, sync_models
from clearance.catalog.retrievalstore import read_retrievals
from clearance.config import ClearanceConfig, load_config
from clearance.discovery import parse_model_list
from clearance.errors import (
    CatalogUnavailable,
    InputError,
    KillSwitchActive,
    KnowledgeOrgMismatch,
    RetrievalFailed,
)
from clearance.killswitch import set_switch
from clearance.knowledge import Hit, Knowledge, LexicalRetriever, ingest_text
from clearance.knowledge.inject import context_header
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.router import Router
from clearance.tokencount import MESSAGE_OVERHEAD, estimate_tokens

SYSTEM = {"role": "system", "content": "You answer support questions."}
QUESTION = "how long do refunds take?"
USER = [SYSTEM, {"role": "user", "content": QUESTION}]

ACME_DOC = """# Billing

## Refunds

Refunds take five business days to reach the card the order was paid with.

## Invoices

Invoices are emailed on the first day of the month.
"""
GLOBEX_DOC = """# Billing

## Refunds

Globex secret: refunds are paid in gold bars within 48 hours.
"""


class Scripted:
    """An OpenAI-compatible provider that answers "ok" and keeps every body it was sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def _respond(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "id": "c",
                "object": "chat.completion",
                "model": "a",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "ok"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105},
            },
        )

    def provider(self) -> OpenAICompatibleProvider:
        return OpenAICompatibleProvider(
            "p",
            "https://p.example/v1",
            api_key="sk-test",
            transport=httpx.MockTransport(self._respond),
            async_transport=httpx.MockTransport(self._respond),
        )


class Broken:
    """A retriever whose database is down."""

    def __init__(self) -> None:
        self.searches = 0

    def search(self, org_id: str, query: str, *, k: int = 5, tags: Sequence[str] = ()) -> list[Hit]:
        self.searches += 1
        raise CatalogUnavailable("postgresql://kb", "connection refused")


@pytest.fixture
def config(tmp_path: Path) -> ClearanceConfig:
    (tmp_path / "clearance.toml").write_text(
        '[policy]\ndefault_model = "p:a"\n[calllog]\nflush_interval_s = 0.02\n'
        "[gate]\nrequire_decision = false\n"
    )
    return load_config(environ={}, cwd=tmp_path)


@pytest.fixture
def kb(catalog: Catalog) -> Catalog:
    with catalog.begin() as connection:
        ensure_provider(connection, "p", base_url="https://p.example/v1")
        models = {"data": [{"id": "a", "pricing": {"prompt": "0.000001", "completion": "0"}}]}
        sync_models(connection, "p", parse_model_list(models, source="t"), enable_new=True)
    ingest_text(catalog, "acme", "billing.md", ACME_DOC, tags=["billing"], by="test")
    ingest_text(catalog, "globex", "billing.md", GLOBEX_DOC, tags=["billing"], by="test")
    return catalog


class Harness:
    def __init__(self, catalog: Catalog, config: ClearanceConfig) -> None:
        self.catalog = catalog
        self.config = config
        self.scripted = Scripted()
        self.routers: list[Router] = []

    def router(self, **kwargs: Any) -> Router:
        router = Router(
            self.config, self.catalog, providers={"p": self.scripted.provider()}, **kwargs
        )
        self.routers.append(router)
        return router

    def calls(self) -> list[Any]:
        for router in self.routers:
            assert router.calllog is not None
            router.calllog.flush()
        with self.catalog.connect() as connection:
            return list(connection.execute(select(t.ai_calls).order_by(t.ai_calls.c.id)))

    def sent(self) -> list[dict[str, Any]]:
        """The messages of the last request a provider got."""
        messages: list[dict[str, Any]] = self.scripted.bodies[-1]["messages"]
        return messages


@pytest.fixture
def harness(kb: Catalog, config: ClearanceConfig) -> Iterator[Harness]:
    made = Harness(kb, config)
    yield made
    for router in made.routers:
        router.close()


def test_the_context_is_one_system_message_after_the_system_prompt(harness: Harness) -> None:
    router = harness.router()
    knowledge = Knowledge(org_id="acme", query=QUESTION, budget_tokens=800)
    result = router.complete(USER, org="acme", knowledge=knowledge)
    sent = harness.sent()
    assert [m["role"] for m in sent] == ["system", "system", "user"]
    assert sent[0] == SYSTEM
    assert sent[2] == USER[1]
    context = sent[1]["content"]
    assert context.startswith(context_header("acme"))
    assert "[document: billing.md | section: Billing > Refunds]\n" in context
    assert "Refunds take five business days" in context
    assert "gold bars" not in context
    assert result.retrieval is not None
    assert result.retrieval.context.message == sent[1]
    assert result.retrieval.retriever == "LexicalRetriever"
    assert USER[1] == {"role": "user", "content": QUESTION}  # the caller's list is untouched


def test_the_retrievals_row_is_linked_to_the_calls_row_and_holds_no_query_text(
    harness: Harness,
) -> None:
    router = harness.router()
    knowledge = Knowledge(org_id="acme", query=QUESTION, budget_tokens=800, tags=("billing",))
    result = router.complete(USER, org="acme", knowledge=knowledge)
    (call,) = harness.calls()
    assert call.call_id == result.call_id
    assert call.status == "ok"
    assert "retrieval" not in (call.extra or {})  # it became its own row
    (row,) = read_retrievals(harness.catalog, call_id=result.call_id)
    retrieval = result.retrieval
    assert retrieval is not None
    assert (row.org_id, row.retriever, row.k) == ("acme", "LexicalRetriever", 5)
    assert row.chunks == len(retrieval.context.kept) >= 1
    assert row.documents == 1
    assert row.tags == ("billing",)
    assert row.bytes == len(retrieval.context.message["content"].encode())  # type: ignore[index]
    assert row.tokens == retrieval.context.tokens <= 800
    assert (row.truncated, row.cut_chunks, row.tokens_cut, row.error) == (False, 0, 0, None)
    assert row.query_chars == len(QUESTION)
    assert row.latency_ms >= 0
    with harness.catalog.connect() as connection:
        stored = [dict(r._mapping) for r in connection.execute(select(t.retrievals))]
    assert QUESTION not in repr(stored)
    assert row.query_sha256 == __import__("hashlib").sha256(QUESTION.encode()).hexdigest()


def test_the_budget_cut_is_kept_to_and_recorded(harness: Harness) -> None:
    long = "\n\n".join(f"Refunds paragraph {i}: " + "refund words " * 60 for i in range(6))
    ingest_text(harness.catalog, "acme", "refunds-long.md", f"# Refunds\n\n{long}", by="test")
    router = harness.router()
    budget = 200
    knowledge = Knowledge(org_id="acme", query="refunds", budget_tokens=budget, k=10)
    result = router.complete(USER, org="acme", knowledge=knowledge)
    retrieval = result.retrieval
    assert retrieval is not None
    assert len(retrieval.hits) > len(retrieval.context.kept)
    injected = harness.sent()[1]["content"]
    assert estimate_tokens(injected) + MESSAGE_OVERHEAD <= budget
    harness.calls()
    (row,) = read_retrievals(harness.catalog, call_id=result.call_id)
    assert row.truncated
    assert row.cut_chunks == retrieval.context.cut_chunks >= 1
    assert row.tokens_cut == retrieval.context.tokens_cut > 0
    assert row.tokens == estimate_tokens(injected) + MESSAGE_OVERHEAD


def test_org_b_never_gets_org_as_chunks_through_the_router(harness: Harness) -> None:
    router = harness.router()
    for query in (QUESTION, "gold bars secret", "five business days card", "*", ""):
        knowledge = Knowledge(org_id="acme", query=query, budget_tokens=2000, k=50)
        result = router.complete(USER, org="acme", knowledge=knowledge)
        assert "gold bars" not in json.dumps(harness.scripted.bodies[-1])
        assert result.retrieval is not None
        assert all(hit.chunk.org_id == "acme" for hit in result.retrieval.hits)
        knowledge = Knowledge(org_id="globex", query=query, budget_tokens=2000, k=50)
        result = router.complete(USER, org="globex", knowledge=knowledge)
        assert "five business days" not in json.dumps(harness.scripted.bodies[-1])
        assert result.retrieval is not None
        assert all(hit.chunk.org_id == "globex" for hit in result.retrieval.hits)
    harness.calls()
    assert {r.org_id for r in read_retrievals(harness.catalog, org_id="globex")} == {"globex"}


def test_a_query_that_finds_nothing_sends_no_context_and_still_logs_its_row(
    harness: Harness,
) -> None:
    router = harness.router()
    knowledge = Knowledge(org_id="acme", query="zebra", budget_tokens=500)
    result = router.complete(USER, org="acme", knowledge=knowledge)
    assert harness.sent() == USER
    harness.calls()
    (row,) = read_retrievals(harness.catalog, call_id=result.call_id)
    assert (row.chunks, row.documents, row.tokens, row.truncated) == (0, 0, 0, False)


def test_another_orgs_knowledge_base_is_refused_before_any_search_or_network_io(
    harness: Harness,
) -> None:
    broken = Broken()
    router = harness.router(retriever_for=lambda org: broken)
    knowledge = Knowledge(org_id="globex", query=QUESTION, budget_tokens=500)
    with pytest.raises(KnowledgeOrgMismatch) as raised:
        router.complete(USER, org="acme", knowledge=knowledge)
    assert (raised.value.call_org, raised.value.knowledge_org) == ("acme", "globex")
    with pytest.raises(KnowledgeOrgMismatch):
        router.complete(USER, knowledge=knowledge)  # a call without an org reads none
    assert broken.searches == 0
    assert harness.scripted.bodies == []
    calls = harness.calls()
    assert [(c.status, c.error_kind) for c in calls] == [("refused", "KnowledgeOrgMismatch")] * 2
    assert read_retrievals(harness.catalog) == []


def test_the_kill_switch_comes_before_retrieval(harness: Harness) -> None:
    broken = Broken()
    router = harness.router(retriever_for=lambda org: broken)
    set_switch(harness.catalog, "org", target="acme", active=True, reason="incident")
    knowledge = Knowledge(org_id="acme", query=QUESTION, budget_tokens=500)
    with pytest.raises(KillSwitchActive):
        router.complete(USER, org="acme", knowledge=knowledge)
    assert broken.searches == 0


def test_a_failed_retrieval_answers_without_context_and_logs_why(harness: Harness) -> None:
    broken = Broken()
    router = harness.router(retriever_for=lambda org: broken)
    knowledge = Knowledge(org_id="acme", query=QUESTION, budget_tokens=500)
    result = router.complete(USER, org="acme", knowledge=knowledge)
    assert harness.sent() == USER
    assert result.retrieval is not None
    assert result.retrieval.error == "CatalogUnavailable"
    (call,) = harness.calls()
    assert call.status == "ok"
    (row,) = read_retrievals(harness.catalog, call_id=result.call_id)
    assert (row.error, row.chunks, row.retriever) == ("CatalogUnavailable", 0, "Broken")


def test_a_required_retrieval_that_fails_ends_the_call_before_any_provider(
    harness: Harness,
) -> None:
    router = harness.router(retriever_for=lambda org: Broken())
    knowledge = Knowledge(org_id="acme", query=QUESTION, budget_tokens=500, required=True)
    with pytest.raises(RetrievalFailed, match="connection refused") as raised:
        router.complete(USER, org="acme", knowledge=knowledge)
    assert (raised.value.org_id, raised.value.retriever) == ("acme", "Broken")
    assert raised.value.fix
    assert harness.scripted.bodies == []
    (call,) = harness.calls()
    assert (call.status, call.error_kind) == ("error", "RetrievalFailed")
    (row,) = read_retrievals(harness.catalog, call_id=call.call_id)
    assert row.error == "CatalogUnavailable"


def test_the_async_path_retrieves_injects_and_logs(harness: Harness) -> None:
    router = harness.router()
    knowledge = Knowledge(org_id="acme", query=QUESTION, budget_tokens=800)

    async def call() -> Any:
        try:
            return await router.acomplete(USER, org="acme", knowledge=knowledge)
        finally:
            await router.aclose()

    result = asyncio.run(call())
    assert "Refunds take five business days" in harness.sent()[1]["content"]
    with harness.catalog.connect() as connection:
        calls = list(connection.execute(select(t.ai_calls.c.call_id)))
    assert [c.call_id for c in calls] == [result.call_id]
    (row,) = read_retrievals(harness.catalog, call_id=result.call_id)
    assert row.chunks >= 1


def test_the_default_retriever_is_lexical_over_the_routers_catalog(harness: Harness) -> None:
    router = harness.router()
    retriever = router.retriever_for("acme")
    assert isinstance(retriever, LexicalRetriever)
    assert retriever.catalog is harness.catalog
    assert router.retriever_for("globex") is retriever


def test_a_row_loaded_twice_has_one_retrieval(kb: Catalog) -> None:
    entry = {
        "org_id": "acme",
        "retriever": "LexicalRetriever",
        "query_sha256": "0" * 64,
        "query_chars": 3,
        "k": 5,
        "documents": 1,
        "chunks": 2,
        "bytes": 300,
        "tokens": 104,
        "tags": ["billing"],
        "latency_ms": 1.5,
        "truncated": True,
        "cut_chunks": 1,
        "tokens_cut": 40,
        "error": None,
        "at": 1_700_000_000.0,
    }
    row = {
        "call_id": "c" * 36,
        "started_at": __import__("datetime").datetime(
            2026, 1, 1, tzinfo=__import__("datetime").UTC
        ),
        "status": "ok",
        "org_id": "acme",
        "extra": {"retrieval": entry, "note": 1},
    }
    assert insert_new_calls(kb, [row]) == 1
    assert insert_new_calls(kb, [row]) == 0  # a spill file or journal replayed again
    (stored,) = read_retrievals(kb, call_id="c" * 36)
    assert (stored.tokens_cut, stored.cut_chunks, stored.tags) == (40, 1, ("billing",))
    with kb.connect() as connection:
        extra = connection.execute(select(t.ai_calls.c.extra)).scalar_one()
    assert extra == {"note": 1}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"budget_tokens": 0}, "budget_tokens=0"),
        ({"budget_tokens": 1.5}, "not a whole number"),
        ({"k": 0}, "k=0"),
        ({"tags": "billing"}, "one string"),
    ],
)
def test_a_bad_knowledge_request_is_the_callers_error(fields: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"org_id": "acme", "query": "q", "budget_tokens": 100, **fields}
    with pytest.raises(InputError, match=message) as raised:
        Knowledge(**arguments)
    assert raised.value.fix


def test_importing_the_router_imports_no_knowledge_code() -> None:
    code = (
        "import sys\nfrom clearance.router import Router\n"
        "print([m for m in sys.modules if m.startswith('clearance.knowledge')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

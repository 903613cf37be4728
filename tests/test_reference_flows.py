"""The reference simulators played through whole flows, as the eval suite plays them.

``ref/steady`` behaves like a careful tool-using model on the starter suite and on
hand-made flows of other domains; ``ref/flaky`` answers the same once its failures
are retried; ``ref/sloppy`` is worse, varies from trial to trial, and a fresh server
with the same seed replays it exactly.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearance.contracts.check import load_all
from clearance.contracts.model import ContractSet
from clearance.errors import ProviderError
from clearance.flows import Flow, FlowVerdict, load_flow, run_flow
from clearance.providers.base import ChatRequest
from clearance.providers.openai import OpenAICompatibleProvider
from clearance.providers.types import ChatResponse
from clearance.reference import FlakySchedule, ReferenceServer

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
STARTER = frozenset(
    {
        "case_availability_three",
        "case_cancel_and_notify",
        "case_cancel_by_id",
        "case_cancel_reason_after_colon",
        "case_cancel_two_events",
        "case_cancel_with_reason",
        "case_contact_accented_name",
        "case_contact_and_task",
        "case_contact_company_only",
        "case_contact_full_profile",
        "case_contact_minimal",
        "case_contact_title_only",
        "case_contact_two_parallel",
        "case_contact_uk_phone",
        "case_contact_us_phone",
        "case_contact_with_title_and_phone",
        "case_create_deal",
        "case_create_event_v1",
        "case_create_task",
        "case_deal_cents",
        "case_deal_chf_qualified",
        "case_deal_eur_proposal",
        "case_deal_gbp_decimal",
        "case_deal_gbp_lead",
        "case_deal_jpy",
        "case_deal_negotiation_usd",
        "case_deal_won_renewal",
        "case_delete_duplicate",
        "case_delete_left_company",
        "case_delete_on_request",
        "case_delete_test_record",
        "case_delete_two_duplicates",
        "case_email_forwarded_address",
        "case_email_meeting_recap",
        "case_email_single",
        "case_email_time_change",
        "case_email_two_recipients",
        "case_email_with_cc",
        "case_event_with_attendees",
        "case_get_contact_by_id",
        "case_list_deals_for_contact",
        "case_list_deals_large",
        "case_list_deals_negotiation",
        "case_list_events_day",
        "case_log_meeting",
        "case_log_note",
        "case_no_tool_capabilities",
        "case_no_tool_general_question",
        "case_no_tool_needed",
        "case_refuse_home_address",
        "case_refuse_out_of_scope",
        "case_reschedule_by_id",
        "case_search_by_email",
        "case_search_by_name",
        "case_stage_and_task",
        "case_stage_back_to_qualified",
        "case_stage_closed_won",
        "case_stage_lost_budget",
        "case_stage_lost_competitor",
        "case_stage_lost_no_decision",
        "case_stage_proposal_sent",
        "case_stage_to_negotiation",
        "case_stage_two_deals",
        "case_task_linked_low",
        "case_update_and_log",
        "case_update_company_rename",
        "case_update_email",
        "case_update_email_and_phone",
        "case_update_phone_intl",
        "case_update_title_after_promotion",
        "case_update_title_company",
        "case_update_title_only",
        "case_update_two_contacts",
        "book_first_free_slot",
        "cancel_meeting",
        "cancel_missing_meeting",
        "close_lost_deal",
        "deal_for_found_contact",
        "email_from_search",
        "email_send_error",
        "irrelevant_then_list",
        "log_call_and_task",
        "lookup_get_then_email",
        "new_contact_and_deal",
        "note_for_unknown_contact",
        "pipeline_review_parallel",
        "reschedule_meeting",
        "schedule_followup",
        "stage_change_tool_error",
        "update_contact_phone",
    }
)
NEED_DESCRIPTIONS = frozenset({"case_deal_gbp_lead", "case_stage_lost_no_decision"})
"""Starter cases ref/steady passes only when the tools' descriptions are sent: the
contract's description is what asks for a lost_reason ("Always give it when moving to
closed_lost") and what says a new deal starts as a lead."""
BFCL_FLOOR = 167
"""ref/steady's BFCL passes (of 800) when chaining came in; it was 164 before."""


def _server() -> ReferenceServer:
    return ReferenceServer(seed=0, flaky=FlakySchedule(slow_rate=0.0, hang_rate=0.0))


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenAICompatibleProvider]:
    """A provider on a running reference server (no slow or hanging flaky answers)."""
    with _server() as server:
        client = OpenAICompatibleProvider("reference", server.base_url, timeout_s=10)
        yield client
        client.close()


@pytest.fixture(scope="module")
def starter() -> tuple[ContractSet, list[Flow]]:
    """The starter suite's contracts and flows."""
    contracts, flows, errors = load_all(CONTRACTS)
    assert not errors
    return contracts, flows


def model_of(provider: OpenAICompatibleProvider, model: str) -> Any:
    """The (messages, tools) → answer callable a flow is played against (retrying failures)."""

    def answer(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatResponse:
        failure: ProviderError | None = None
        for _ in range(4):
            try:
                request = ChatRequest(messages=messages, tools=tools)
                return provider.complete(model, request).response
            except ProviderError as error:
                failure = error
        assert failure is not None
        raise failure

    return answer


def play(
    provider: OpenAICompatibleProvider,
    model: str,
    contracts: ContractSet,
    flow: Flow,
    *,
    descriptions: bool = True,
) -> FlowVerdict:
    """One flow against one model, with the contracts' schemas (and descriptions)."""
    used = [contracts.resolve(ref) for ref in flow.tools]
    return run_flow(
        flow,
        model_of(provider, model),
        tool_schemas={c.name: c.input_schema for c in used},
        descriptions={c.name: c.description for c in used} if descriptions else None,
    )


def passing(
    provider: OpenAICompatibleProvider,
    model: str,
    contracts: ContractSet,
    flows: list[Flow],
    **options: bool,
) -> frozenset[str]:
    """The ids of the flows the model passes."""
    return frozenset(
        flow.id for flow in flows if play(provider, model, contracts, flow, **options).passed
    )


# -- ref/steady and ref/flaky on the starter suite ----------------------------------------


@pytest.mark.parametrize("descriptions", [True, False], ids=["described", "bare"])
def test_steady_passes_every_starter_flow(
    provider: OpenAICompatibleProvider,
    starter: tuple[ContractSet, list[Flow]],
    descriptions: bool,
) -> None:
    contracts, flows = starter
    assert {flow.id for flow in flows} == STARTER
    expected = STARTER if descriptions else STARTER - NEED_DESCRIPTIONS
    assert passing(provider, "ref/steady", contracts, flows, descriptions=descriptions) == expected


def test_flaky_answers_like_steady_once_its_failures_are_retried(
    provider: OpenAICompatibleProvider, starter: tuple[ContractSet, list[Flow]]
) -> None:
    contracts, flows = starter
    assert passing(provider, "ref/flaky", contracts, flows) == STARTER


def test_steady_looks_up_before_it_acts_and_says_what_it_did(
    provider: OpenAICompatibleProvider, starter: tuple[ContractSet, list[Flow]]
) -> None:
    contracts, flows = starter
    flow = next(f for f in flows if f.id == "close_lost_deal")
    verdict = play(provider, "ref/steady", contracts, flow)
    calls = [
        (call["function"]["name"], json.loads(call["function"]["arguments"]))
        for message in verdict.transcript
        for call in message.get("tool_calls") or []
    ]
    assert calls == [
        ("search_contacts", {"query": "Grace Hopper"}),
        ("list_deals", {"contact_id": "c_2001"}),
        (
            "update_deal_stage",
            {"deal_id": "d_301", "stage": "closed_lost", "lost_reason": "they chose a competitor"},
        ),
    ]
    assert verdict.final_text is not None
    assert 'I updated the deal stage (deal_id: d_301 ("Compiler support")' in verdict.final_text


# -- chaining on flows of other domains -----------------------------------------------------

HELPDESK_TOOLS: dict[str, tuple[dict[str, Any], str]] = {
    "find_customer": (
        {
            "type": "object",
            "properties": {"name": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["name"],
        },
        "Look up customers by name; returns each customer_id and email.",
    ),
    "open_ticket": (
        {
            "type": "object",
            "properties": {
                "customer_id": {"type": "string"},
                "subject": {"type": "string"},
                "priority": {"type": "string", "enum": ["low", "normal", "urgent"]},
            },
            "required": ["customer_id", "subject"],
        },
        "Open a support ticket for a customer.",
    ),
    "close_ticket": (
        {
            "type": "object",
            "properties": {"ticket_id": {"type": "string"}, "resolution": {"type": "string"}},
            "required": ["ticket_id"],
        },
        "Close a support ticket.",
    ),
    "list_orders": (
        {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["open", "shipped", "delivered"]}},
        },
        "List the user's orders with order_id, item and total.",
    ),
    "refund_order": (
        {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "pattern": "^o_[0-9]+$"},
                "reason": {"type": "string"},
            },
            "required": ["order_id", "reason"],
        },
        "Refund an order.",
    ),
}

HANDMADE = {
    # The customer's id (no pattern) comes from a lookup by the name the user gave, and
    # the right one of two namesakes is picked.
    "helpdesk_ticket": """
        id: helpdesk_ticket
        description: A ticket for a customer the user names; the id comes from a lookup.
        kind: flow
        tools: [find_customer@1.0.0, open_ticket@1.0.0, close_ticket@1.0.0]
        user: Open a ticket "Printer on fire" for "Marie Curie" with priority urgent.
        forbidden_tools: [close_ticket]
        steps:
          - expect:
              calls:
                - tool: find_customer
                  args: {name: {$text: marie curie}}
            results:
              - tool: find_customer
                content:
                  customers:
                    - {customer_id: cu_77, name: Pierre Curie}
                    - {customer_id: cu_78, name: Marie Curie, email: marie@radium.example}
          - expect:
              calls:
                - tool: open_ticket
                  args: {customer_id: cu_78, subject: {$text: printer on fire}, priority: urgent}
            results:
              - tool: open_ticket
                content: {ticket_id: T-1001, status: open}
          - expect: {calls: []}
        final:
          - contains: T-1001
          - contains: Marie Curie
    """,
    # The order is named by its item; the reason comes from "because ...".
    "shop_refund": """
        id: shop_refund
        description: Refund an order named by its item; the order id comes from the list.
        kind: flow
        tools: [list_orders@1.0.0, refund_order@1.0.0]
        user: Refund my order of the "Blue kettle" because it arrived broken.
        steps:
          - expect:
              calls:
                - tool: list_orders
                  args: {status: {$optional: {$any: true}}}
            results:
              - tool: list_orders
                content:
                  orders:
                    - {order_id: o_11, item: Red mug, total: 12}
                    - {order_id: o_12, item: Blue kettle, total: 40}
          - expect:
              calls:
                - tool: refund_order
                  args: {order_id: o_12, reason: {$regex: "(?i)arrived broken"}}
            results:
              - tool: refund_order
                content: {refund_id: r_5, amount: 40}
          - expect: {calls: []}
        final:
          - contains: r_5
    """,
}


@pytest.mark.parametrize("descriptions", [True, False], ids=["described", "bare"])
@pytest.mark.parametrize("name", sorted(HANDMADE))
def test_steady_chains_lookups_on_flows_outside_the_starter_suite(
    provider: OpenAICompatibleProvider, tmp_path: Path, name: str, descriptions: bool
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(HANDMADE[name]))
    flow = load_flow(path, known_tools=lambda key: key.partition("@")[0] in HELPDESK_TOOLS)
    verdict = run_flow(
        flow,
        model_of(provider, "ref/steady"),
        tool_schemas={n: schema for n, (schema, _) in HELPDESK_TOOLS.items()},
        descriptions={n: text for n, (_, text) in HELPDESK_TOOLS.items()} if descriptions else None,
    )
    assert verdict.passed, verdict.failures


def _conversation(*messages: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(m) for m in messages]


def test_a_lookup_that_finds_nothing_is_not_repeated_and_no_id_is_invented(
    provider: OpenAICompatibleProvider,
) -> None:
    tools = [
        {"type": "function", "function": {"name": n, "description": d, "parameters": s}}
        for n, (s, d) in HELPDESK_TOOLS.items()
        if n in ("find_customer", "open_ticket")
    ]
    messages = _conversation(
        {"role": "user", "content": 'Open a ticket "Login fails" for "Ada Byron".'},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "find_customer", "arguments": '{"name": "Ada Byron"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"customers": []}'},
    )
    answer = provider.complete("ref/steady", ChatRequest(messages=messages, tools=tools)).response
    assert answer.tool_calls == ()
    assert answer.content is not None
    assert "open_ticket needs customer_id, and the lookups did not return it" in answer.content


MONEY_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "find_user",
            "description": "Find a user by full name; returns the user_id.",
            "parameters": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "send_money",
            "description": "Send money to a user.",
            "parameters": {
                "type": "object",
                "properties": {"user_id": {"type": "string"}, "amount": {"type": "number"}},
                "required": ["user_id", "amount"],
            },
        },
    },
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A name is looked up ...
        ("Send 50 dollars to Grace Hopper.", [("find_user", {"name": "Grace Hopper"})]),
        # ... an id the user writes is used as it is ...
        ("Send 50 dollars to user u_991.", [("send_money", {"user_id": "u_991", "amount": 50})]),
        # ... and with neither, nothing is looked up for a made-up name.
        ("Send 50 dollars.", []),
    ],
)
def test_steady_looks_up_only_what_the_user_names(
    provider: OpenAICompatibleProvider, text: str, expected: list[tuple[str, dict[str, Any]]]
) -> None:
    messages = [{"role": "user", "content": text}]
    answer = provider.complete(
        "ref/steady", ChatRequest(messages=messages, tools=MONEY_TOOLS)
    ).response
    assert [(c.name, c.arguments) for c in answer.tool_calls] == expected
    if not expected:
        assert answer.content == (
            "I cannot do that yet: send_money needs user_id, and the request does not say which."
        )


# -- ref/sloppy: worse, varying across trials, reproducible ---------------------------------


def _trials(contracts: ContractSet, flows: list[Flow], count: int) -> list[frozenset[str]]:
    """The flows sloppy passes in each of ``count`` trials on one fresh server."""
    with _server() as server:
        provider = OpenAICompatibleProvider("reference", server.base_url, timeout_s=10)
        try:
            return [passing(provider, "ref/sloppy", contracts, flows) for _ in range(count)]
        finally:
            provider.close()


def test_sloppy_varies_across_trials_and_a_fresh_server_replays_it(
    starter: tuple[ContractSet, list[Flow]],
) -> None:
    contracts, flows = starter
    first = _trials(contracts, flows, 3)
    assert all(trial < STARTER for trial in first)  # visibly worse than steady, each time
    assert len(set(first)) > 1  # some flow passes in one trial and fails in another
    assert _trials(contracts, flows, 3) == first  # the same seed and requests: the same


def test_sloppy_draws_its_fault_per_attempt_and_streams_agree() -> None:
    tools = [
        {"type": "function", "function": {"name": n, "description": d, "parameters": s}}
        for n, (s, d) in HELPDESK_TOOLS.items()
    ]
    body = {
        "model": "ref/sloppy",
        "messages": [{"role": "user", "content": 'Refund order o_12 because "it broke".'}],
        "tools": tools,
    }

    def faults(base_url: str, *, stream: bool = False) -> list[str]:
        seen = []
        with httpx.Client(base_url=base_url) as http:
            for _ in range(12):
                response = http.post("/chat/completions", json={**body, "stream": stream})
                assert response.headers["x-reference-attempt"]
                seen.append(response.headers.get("x-reference-fault", "none"))
        return seen

    with _server() as first, _server() as second:
        plain = faults(first.base_url)
        assert len(set(plain)) > 1  # the same request, answered differently across attempts
        assert faults(second.base_url) == plain  # a fresh server replays the sequence
        assert faults(first.base_url, stream=True) == plain  # the n-th stream mirrors it


# -- BFCL ------------------------------------------------------------------------------------


def test_steady_keeps_its_bfcl_share(provider: OpenAICompatibleProvider) -> None:
    contracts, flows, errors = load_all(CONTRACTS / "bfcl")
    assert not errors
    assert len(flows) == 800
    passed = passing(provider, "ref/steady", contracts, flows)
    assert len(passed) >= BFCL_FLOOR

"""The eval engine scores each candidate for the protocol it speaks (``dropped_constraint``).

The same scripted answer, a ``book`` call with a key the contract does not take, is sent
by a Gemini model (the simulator's ``ref-gemini`` provider, answering over a
``MockTransport``) and by an OpenAI-compatible one. Gemini was sent the schema without
``additionalProperties: false`` (it has no such field), so its result is
``dropped_constraint``; the OpenAI-compatible model saw the keyword: ``schema_violation``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearance.catalog.database import open_catalog
from clearance.catalog.runstore import ResultStore
from clearance.evaluation.cases import load_suites, select_cases
from clearance.evaluation.engine import Evaluation
from clearance.evaluation.simulator import SimulatorProviders
from tests.support.evalproject import STEADY, make_project

GEMINI = "ref-gemini:ref-3-steady"
EXTRA = {"person_id": "p_7", "date": "2026-12-01", "room": "B2"}
seen: list[dict[str, Any]] = []
"""The Gemini requests answered (what Gemini was sent)."""


def answer(request: httpx.Request) -> httpx.Response:
    """A call to ``book`` with one key too many, in the wire form the request came in."""
    body = json.loads(request.content)
    if "contents" in body:  # Gemini generateContent
        seen.append(body)
        return httpx.Response(
            200,
            json={
                "candidates": [
                    {
                        "content": {
                            "role": "model",
                            "parts": [{"functionCall": {"name": "book", "args": EXTRA}}],
                        },
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 10},
                "modelVersion": "ref-3-steady",
            },
        )
    call = {
        "id": "call_0",
        "type": "function",
        "function": {"name": "book", "arguments": json.dumps(EXTRA)},
    }
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
        },
    )


@pytest.mark.any_dialect
def test_a_gemini_candidate_that_adds_a_key_fails_with_dropped_constraint(
    project: Path, catalog_url: str
) -> None:
    config = make_project(project, catalog_url)
    catalog = open_catalog(config.resolved_database_url())
    seen.clear()
    try:
        suite = load_suites(config, ["contracts", "flows"])
        outcome = Evaluation(
            config,
            catalog,
            suite,
            [GEMINI, STEADY],
            cases=select_cases(suite.cases, ["ok"]),
            trials=1,
            record_mode="all",
            network=httpx.MockTransport(answer),
            environ={},
            providers=SimulatorProviders(),
        ).run()
        frame = ResultStore(catalog).results(outcome.run_id)
    finally:
        catalog.dispose()
    rows = {row.model_id: row for row in frame.itertuples()}
    assert {model: rows[model].failure_code for model in rows} == {
        GEMINI: "dropped_constraint",
        STEADY: "schema_violation",
    }
    failures = rows[GEMINI].evidence["failures"]
    # the key is also one the case's matchers do not expect
    assert [f["code"] for f in failures] == ["dropped_constraint", "argument_mismatch"]
    evidence = failures[0]["evidence"]
    assert (evidence["keyword"], evidence["keyword_path"], evidence["protocol"]) == (
        "additionalProperties",
        "",
        "gemini",
    )
    assert evidence["validator"] == "additionalProperties"
    # what Gemini was sent: the lowered schema, without the keyword the model used
    declarations = seen[0]["tools"][0]["functionDeclarations"]
    book = next(d for d in declarations if d["name"] == "book")
    assert "additionalProperties" not in json.dumps(book)

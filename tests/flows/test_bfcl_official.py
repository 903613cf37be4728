"""The bfcl profile replays the official checker's recorded verdicts.

``tests/data/bfcl/official_verdicts.jsonl`` holds answers to the BFCL cases copied in
``tests/data/realdata/bfcl`` (the ground truth and mutations of it, a few per category
and mutation) with the verdicts bfcl-eval 2026.3.23 gave them, written by
``benchmarks/bench_bfcl_agreement.py --data tests/data/realdata/bfcl --golden ...``.
Each is imported, loaded and played through ``run_flow(profile="bfcl")`` as the eval
engine plays it; every verdict must be the official one, but the known divergence
(class H: a valid reordering of parallel calls that BFCL's greedy pairing fails).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from clearance.contracts.bfcl import import_bfcl, sanitize_case_id
from clearance.contracts.cache import load_suite
from clearance.flows import run_flow
from clearance.providers.types import ChatResponse
from clearance.providers.wire.normalize import normalize_tool_call

DATA = Path(__file__).resolve().parents[1] / "data"
GOLDEN = DATA / "bfcl" / "official_verdicts.jsonl"
OURS_ON_PURPOSE = {("parallel_178", "reordered")}
"""Class H: BFCL fails these valid reorderings; clearance pairs parallel calls completely."""


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("bfcl")
    import_bfcl(DATA / "realdata" / "bfcl", out)
    loaded = load_suite(out, None)
    assert not loaded.errors
    flows = {flow.id: flow for flow in loaded.flows}
    schemas = {
        flow.id: {ref.partition("@")[0]: loaded.contracts[ref].input_schema for ref in flow.tools}
        for flow in loaded.flows
    }
    return flows, schemas


def _answer(record: dict[str, Any], names: tuple[str, ...]) -> ChatResponse:
    calls = tuple(
        normalize_tool_call(i, f"call_{i}", names[f] if isinstance(f, int) else f, raw)
        for i, (f, raw) in enumerate(record["calls"])
    )
    return ChatResponse(
        content=record["text"],
        tool_calls=calls,
        finish_reason="tool_calls" if calls else "stop",
        finish_reason_raw=None,
        usage=None,
    )


def test_every_recorded_official_verdict_is_reproduced(suite: Any) -> None:
    flows, schemas = suite
    records = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    assert len(records) > 1000
    assert len({r["category"] for r in records}) == 13
    assert len({r["mutation"] for r in records}) >= 40
    verdicts = Counter()
    differ = []
    for record in records:
        flow = flows[sanitize_case_id(record["case"])]
        answer = _answer(record, flow.tool_names)
        verdict = run_flow(
            flow, lambda m, t, answer=answer: answer, tool_schemas=schemas[flow.id], profile="bfcl"
        )
        verdicts[verdict.passed] += 1
        if verdict.passed != record["official"]["valid"]:
            differ.append((record["case"], record["mutation"], record["official"]["valid"]))
    assert verdicts[True] > 300
    assert verdicts[False] > 300
    assert {(case, mutation) for case, mutation, _ in differ} == OURS_ON_PURPOSE
    assert all(official is False for *_, official in differ)  # ours passes, BFCL fails

"""A large, realistic eval store for the report benchmark: runs, results, decisions.

``fill_results(catalog, runs=5, models=10, cases=400, trials=5)`` writes
runs × models × cases × trials results (100,000 with the defaults) through
:class:`ResultStore`, as ``clearance eval`` would: contract cases over 20 tools
(a fifth critical) and flows, pass rates that differ by model and drift by run,
a few flaky cases, infra errors and fallback-served trials, exact Decimal costs,
and, for every failing trial, evidence shaped like the engine's (failures with
pointers, the transcript with tool calls). It then records a gate decision per
model for each of the last two runs, with the checks ``decide`` gives, so the
report has a decision to diff against.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.gatestore import Provenance, record_decision
from clearance.catalog.runrecords import ItemResult, RunSpec
from clearance.catalog.runstore import ResultStore
from clearance.gate.decide import decide
from clearance.gate.policy import GatePolicy

__all__ = ["fill_results"]

TOOLS = [f"tool_{i:02d}" for i in range(20)]


def _evidence(case_id: str, tool: str, code: str, rng: random.Random) -> dict[str, Any]:
    call_id = f"call_{rng.getrandbits(48):012x}"
    arguments = {"customer_id": f"c_{rng.randint(1, 999)}", "amount": rng.randint(1, 9000)}
    failure: dict[str, Any] = {"tool": tool, "call_id": call_id, "index": 0}
    if code == "schema_violation":
        failure |= {
            "pointer": "/amount",
            "schema_pointer": "/properties/amount/type",
            "validator": "type",
            "message": f"'{arguments['amount']}' is not of type 'integer'",
        }
        arguments["amount"] = str(arguments["amount"])
    elif code == "argument_mismatch":
        failure |= {"pointer": "/customer_id", "expected": "'c_1'", "actual": "c_2", "reason": ""}
    return {
        "turns": [{"passed": False, "failures": [code]}],
        "failures": [{"code": code, "turn": 1, "evidence": failure}],
        "transcript": [
            {"role": "system", "content": "You are the assistant of a CRM. Use the tools."},
            {"role": "user", "content": f"Case {case_id}: please do the thing " * 8},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": tool, "arguments": json.dumps(arguments)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps({"ok": True})},
        ],
    }


def _results(
    model: str, skill: float, cases: int, trials: int, rng: random.Random
) -> list[ItemResult]:
    out = []
    for case in range(cases):
        kind = "flow" if case % 4 == 0 else "contract"
        tool = TOOLS[case % len(TOOLS)]
        case_id = f"{kind}_{case:04d}"
        case_rate = min(1.0, max(0.0, rng.gauss(skill, 0.15)))
        for trial in range(1, trials + 1):
            roll = rng.random()
            infra = roll < 0.01
            fallback = 0.01 <= roll < 0.015
            passed = rng.random() < case_rate
            code = (
                None
                if passed
                else rng.choice(
                    ["schema_violation", "argument_mismatch", "wrong_tool", "missing_call"]
                )
            )
            out.append(
                ItemResult(
                    model_id=model,
                    case_id=case_id,
                    case_kind=kind,  # type: ignore[arg-type]
                    trial=trial,
                    verdict="infra_error" if infra else "pass" if passed else "fail",
                    tool=tool,
                    contract_version="1.0.0",
                    criticality="critical" if case % 5 == 1 else "standard",
                    failure_code="infra_error" if infra else code,
                    evidence=None
                    if passed and not infra
                    else {"kind": "server_error", "message": "HTTP 503"}
                    if infra
                    else _evidence(case_id, tool, code or "wrong_tool", rng),
                    turns_passed=(3 if passed else rng.randint(0, 2)) if kind == "flow" else None,
                    turns_total=3 if kind == "flow" else None,
                    latency_ms=rng.lognormvariate(6.5, 0.6),
                    prompt_tokens=900,
                    completion_tokens=60,
                    cost=None if infra else Decimal(rng.randint(100, 900)) / Decimal(1_000_000),
                    served_model=model,
                    fallback_served=fallback,
                )
            )
    return out


def fill_results(
    catalog: Catalog,
    policy: GatePolicy,
    *,
    runs: int = 5,
    models: int = 10,
    cases: int = 400,
    trials: int = 5,
    seed: int = 7,
) -> list[str]:
    """Write the store; returns the run ids, oldest first."""
    rng = random.Random(seed)
    store = ResultStore(catalog)
    model_ids = [f"bench:model-{i:02d}" for i in range(models)]
    now = dt.datetime.now(dt.UTC)
    with catalog.begin() as connection:
        connection.execute(insert(t.providers).values(name="bench", created_at=now))
        connection.execute(
            insert(t.models),
            [
                {
                    "id": model_id,
                    "provider": "bench",
                    "name": model_id.split(":", 1)[1],
                    "capabilities": {"tools": True},
                    "enabled": False,
                    "discovered_at": now,
                    "last_seen_at": now,
                }
                for model_id in model_ids
            ],
        )
    skills = {model_id: 0.55 + 0.4 * i / max(1, models - 1) for i, model_id in enumerate(model_ids)}
    run_ids = []
    for number in range(runs):
        run_id = f"bench-run-{number:02d}"
        spec = RunSpec(
            run_id=run_id,
            suites=("bench",),
            models=tuple(model_ids),
            trials=trials,
            record_mode="none",
            suite_hash="0" * 64,
            contracts_hash="0" * 64,
        )
        store.start_run(spec, shard=None)
        spend = Decimal(0)
        for model_id in model_ids:
            drift = rng.uniform(-0.05, 0.05)
            batch = _results(model_id, skills[model_id] + drift, cases, trials, rng)
            store.add_results(run_id, batch)
            spend += sum((item.cost or Decimal(0) for item in batch), Decimal(0))
        store.finish(run_id, shard=None, status="complete", spend=spend)
        run_ids.append(run_id)
    for run_id in run_ids[-2:]:
        frame = store.results(run_id, evidence=False)
        with catalog.begin() as connection:
            for model_id in model_ids:
                result = decide(frame, policy, model_id=model_id)
                record_decision(
                    connection,
                    model_id=model_id,
                    decision=result.decision,
                    reasons=result.reasons,
                    checks=result.to_json()["checks"],
                    provenance=Provenance(
                        policy_name=policy.name,
                        policy_hash=policy.source_hash,
                        eval_run_ids=(run_id,),
                    ),
                    decided_by="bench",
                    host=None,
                )
    return run_ids

"""Gate speed: what obeying the gate costs the router, and what deciding costs.

1. Router state. The router re-reads the catalog at most once per
   ``router.policy_cache_ttl_s``; the gate adds one query for the latest decision
   and override of each model. Timed on a SQLite catalog of ``--models`` models (default
   1,000), with no decision rows and with ``--per-model`` rows each (default 100, a long
   history), as the ratio of ``load_policy_snapshot`` with the gate's rows to without.
2. Deciding. ``decide`` on 2,000 results of one model (400 cases x 5 trials, every
   check of ``gates/default.yaml``, a regression against a baseline of 2,000 more).

    python benchmarks/bench_gate.py [--rounds 20] [--models 1000] [--per-model 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clearance.catalog import tables as t  # noqa: E402
from clearance.catalog.database import open_catalog  # noqa: E402
from clearance.catalog.gatestore import GateCache, gate_states  # noqa: E402
from clearance.catalog.orgstore import load_policy_snapshot  # noqa: E402
from clearance.config import load_config  # noqa: E402
from clearance.gate import decide, load_policy  # noqa: E402

MODELS = 1_000
PER_MODEL = 100


def _catalog(folder: Path, decisions: bool, models: int, per_model: int) -> object:
    catalog = open_catalog(f"sqlite:///{folder / 'catalog.db'}")
    now = dt.datetime.now(dt.UTC)
    with catalog.begin() as connection:
        connection.execute(insert(t.providers).values(name="p", created_at=now))
        connection.execute(
            insert(t.models),
            [
                {
                    "id": f"p:m{i}",
                    "provider": "p",
                    "name": f"m{i}",
                    "capabilities": {},
                    "enabled": True,
                    "gate_status": "enable",
                    "pricing_status": "priced",
                    "discovered_at": now,
                    "last_seen_at": now,
                }
                for i in range(models)
            ],
        )
        if decisions:
            rows = [
                {
                    "model_id": f"p:m{i}",
                    "decision": random.choice(["enable", "disable", "inconclusive"]),
                    "override": n % 10 == 0,
                    "reason": "bench",
                    "checks": [],
                    "decided_by": "bench",
                    "decided_at": now - dt.timedelta(minutes=per_model - n),
                    "expires_at": now + dt.timedelta(days=30),
                }
                for i in range(models)
                for n in range(per_model)
            ]
            for start in range(0, len(rows), 10_000):
                connection.execute(insert(t.gate_decisions), rows[start : start + 10_000])
    return catalog


def _time(function: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _frame(model: str, rng: random.Random, rate: float) -> pd.DataFrame:
    rows = []
    for case in range(400):
        case_rate = min(1.0, max(0.0, rng.gauss(rate, 0.1)))
        for _trial in range(5):
            rows.append(
                {
                    "model_id": model,
                    "case_id": f"c{case}",
                    "case_kind": "flow" if case % 4 == 0 else "contract",
                    "criticality": "critical" if case % 5 == 0 else "standard",
                    "verdict": "pass" if rng.random() < case_rate else "fail",
                    "fallback_served": False,
                    "latency_ms": rng.uniform(200, 2_000),
                    "cost": Decimal("0.00042"),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--models", type=int, default=MODELS)
    parser.add_argument("--per-model", type=int, default=PER_MODEL)
    args = parser.parse_args()
    n_models, per_model = args.models, args.per_model
    config = load_config(environ={}, cwd=Path(tempfile.mkdtemp()))
    with tempfile.TemporaryDirectory() as bare, tempfile.TemporaryDirectory() as full:
        without = _catalog(Path(bare), False, n_models, per_model)
        with_rows = _catalog(Path(full), True, n_models, per_model)

        def snapshot(catalog: object) -> None:
            with catalog.connect() as connection:  # type: ignore[attr-defined]
                load_policy_snapshot(connection, config)

        def states() -> None:
            with with_rows.connect() as connection:  # type: ignore[attr-defined]
                gate_states(connection, require_decision=True)

        cache = GateCache()

        def cached() -> None:
            with with_rows.connect() as connection:  # type: ignore[attr-defined]
                gate_states(connection, require_decision=True, cache=cache)

        base = _time(lambda: snapshot(without), args.rounds)
        steady = _time(cached, args.rounds)
        gated = _time(lambda: snapshot(with_rows), args.rounds)
        query = _time(states, args.rounds)
    rows = n_models * per_model
    print(f"policy snapshot, {n_models:,} models, no decisions: {base * 1000:8.2f} ms")
    print(f"policy snapshot, {rows:,} decision rows: {gated * 1000:8.2f} ms ({gated / base:.2f}x)")
    print(f"gate_states alone over {rows:,} rows: {query * 1000:8.2f} ms")
    print(
        f"gate_states with the router's GateCache, nothing changed: {steady * 1000:8.2f} ms "
        f"({steady / query:.2f}x of a full read)"
    )

    rng = random.Random(7)
    frame = pd.concat([_frame("cand", rng, 0.9), _frame("base", rng, 0.9)], ignore_index=True)
    policy = load_policy(ROOT / "gates" / "default.yaml")
    took = _time(lambda: decide(frame, policy, model_id="cand", baseline_id="base"), args.rounds)
    result = decide(frame, policy, model_id="cand", baseline_id="base")
    print(
        f"decide, 2,000 results + 2,000 baseline rows, {len(result.checks)} checks: "
        f"{took * 1000:8.2f} ms ({result.decision})"
    )


if __name__ == "__main__":
    main()

"""The report's reads of models and eval results, on both back ends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog
from clearance.catalog.reportstore import flagged_evidence, models_metadata, trial_evidence

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def result(run_id: str, case_id: str, trial: int, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "run_id": run_id,
        "model_id": "p:a",
        "case_id": case_id,
        "case_kind": "contract",
        "trial": trial,
        "verdict": "pass",
        "evidence": None,
        "fallback_served": False,
        "created_at": T0,
    }
    base.update(values)
    return base


def seed(catalog: Catalog) -> None:
    with catalog.begin() as connection:
        connection.execute(
            insert(t.eval_runs),
            [
                {"id": run, "started_at": T0, "status": "complete", "models": [], "trials": 2}
                for run in ("r1", "r2")
            ],
        )
        connection.execute(
            insert(t.eval_results),
            [
                result("r1", "c1", 0, verdict="fail", evidence={"n": 1}),
                result("r1", "c1", 1, verdict="infra_error", evidence={"n": 2}),
                result("r1", "c2", 0, fallback_served=True, evidence={"n": 3}),
                result("r1", "c2", 1, verdict="infra_error"),  # no evidence
                result("r2", "c1", 0, verdict="infra_error", evidence={"n": 4}),
                result("r2", "c2", 0, model_id="p:b", verdict="fail", evidence={"n": 5}),
            ],
        )


def test_models_metadata_of_the_models_held(catalog: Catalog) -> None:
    with catalog.begin() as connection:
        connection.execute(insert(t.providers).values(name="p", created_at=T0))
        connection.execute(
            insert(t.models),
            [
                {
                    "id": f"p:{name}",
                    "provider": "p",
                    "name": name,
                    "source_metadata": metadata,
                    "capabilities": {},
                    "discovered_at": T0,
                    "last_seen_at": T0,
                }
                for name, metadata in (("a", {"description": "SIMULATOR"}), ("b", None))
            ],
        )
    with catalog.connect() as connection:
        found = models_metadata(connection, ["p:a", "p:b", "p:missing"])
    assert found == {"p:a": {"description": "SIMULATOR"}, "p:b": None}


def test_flagged_evidence_is_the_runs_infra_and_fallback_results(catalog: Catalog) -> None:
    seed(catalog)
    found = flagged_evidence(catalog, "r1", limit=100)
    assert sorted(found.values(), key=lambda e: e["n"]) == [{"n": 2}, {"n": 3}]
    assert len(flagged_evidence(catalog, "r1", limit=1)) == 1


def test_trial_evidence_reads_exactly_the_trials_asked(catalog: Catalog) -> None:
    seed(catalog)
    # r1/c2/0 is not asked for, though its run and case are; r2/c2 is another model's
    asked = {("r1", "c1", 0), ("r2", "c1", 0), ("r1", "c2", 1), ("r2", "c2", 0)}
    assert trial_evidence(catalog, "p:a", asked) == {
        ("r1", "c1", 0): {"n": 1},
        ("r2", "c1", 0): {"n": 4},
        ("r1", "c2", 1): None,
    }
    assert trial_evidence(catalog, "p:a", set()) == {}

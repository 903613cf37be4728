"""The reads behind an eval report that the other stores do not serve.

* :func:`models_metadata`: the ``source_metadata`` of given models (``models``), where
  the report finds which ones clearance's reference provider serves;
* :func:`flagged_evidence`: the evidence of a run's infra-error and fallback-served
  results (``eval_results``), to name the cause of each;
* :func:`trial_evidence`: the evidence of given trials (``eval_results``), one page of
  failing cases at a time.

What the report makes of them is :mod:`clearance.reports.collect`'s. A run's calls in the
call log are read by :func:`clearance.catalog.callstats.run_call_pricing`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, or_, select

from clearance.catalog import tables as t
from clearance.catalog.database import Catalog

__all__ = ["TrialKey", "flagged_evidence", "models_metadata", "trial_evidence"]

TrialKey = tuple[str, str, int]
"""``(run_id, case_id, trial)``: one trial of one case in one run."""


def models_metadata(connection: Connection, model_ids: Sequence[str]) -> dict[str, Any]:
    """Model id -> its ``source_metadata`` (the entry of the provider's model list; ``None``
    when it has none), for those of ``model_ids`` the catalog holds."""
    rows = connection.execute(
        select(t.models.c.id, t.models.c.source_metadata).where(t.models.c.id.in_(model_ids))
    )
    return {str(model_id): metadata for model_id, metadata in rows}


def flagged_evidence(catalog: Catalog, run_id: str, *, limit: int) -> dict[int, Mapping[str, Any]]:
    """Result id -> evidence of the run's infra-error and fallback-served results, at most
    ``limit`` of them (results without evidence are left out)."""
    r = t.eval_results.c
    query = (
        select(r.id, r.evidence)
        .where(r.run_id == run_id, or_(r.verdict == "infra_error", r.fallback_served))
        .limit(limit)
    )
    with catalog.connect() as connection:
        return {
            int(row_id): evidence
            for row_id, evidence in connection.execute(query)
            if isinstance(evidence, Mapping)
        }


def trial_evidence(
    catalog: Catalog, model_id: str, trials: Collection[TrialKey]
) -> dict[TrialKey, Any]:
    """The evidence of each of a model's ``trials`` that the catalog holds (``None`` when
    the result has none)."""
    if not trials:
        return {}
    r = t.eval_results.c
    query = select(r.run_id, r.case_id, r.trial, r.evidence).where(
        r.model_id == model_id,
        r.run_id.in_(sorted({run_id for run_id, _, _ in trials})),
        r.case_id.in_(sorted({case_id for _, case_id, _ in trials})),
    )
    wanted = set(trials)
    found: dict[TrialKey, Any] = {}
    with catalog.connect() as connection:
        for run_id, case_id, trial, evidence in connection.execute(query):
            key = (str(run_id), str(case_id), int(trial))
            if key in wanted:
                found[key] = evidence
    return found

"""BFCL's leaderboard numbers for an imported BFCL suite, beside clearance's intervals.

Per model and per BFCL category (read from each case's id): BFCL's accuracy, the share
of cases answered right (with several trials, each case counts by the share of its judged
trials that passed: with one trial, exactly BFCL's correct / total), and clearance's
interval for the same pass rate (clustered by case, at the policy's confidence). Then the
leaderboard's own summaries, weighted as ``bfcl_eval``'s ``generate_leaderboard_csv``
weights them (bfcl-eval 2026.3.23):

- *Non-live simple*: the unweighted mean of ``simple_python``, ``simple_java``,
  ``simple_javascript``;
- *Non-live AST*: the unweighted mean of non-live simple, ``multiple``, ``parallel``,
  ``parallel_multiple``;
- *Live AST*: the mean of ``live_simple``, ``live_multiple``, ``live_parallel``,
  ``live_parallel_multiple`` weighted by their number of cases;
- *Irrelevance*: the unweighted mean of ``irrelevance`` and ``live_irrelevance``;
- *Relevance*: ``live_relevance``.

A summary with a category missing shows no figure (BFCL shows N/A), and so does the
*Overall* figure: BFCL weights it 10/10/10/30/40 over non-live, live, irrelevance,
multi-turn and agentic, and the last two are not imported. Trials clearance could not
judge (infrastructure errors, answers a fallback served) are left out, where BFCL would
count a failed inference as wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from clearance.flows.bfcl.key import SINGLE_TURN_CATEGORIES, case_category
from clearance.gate.stats import Method, clustered_interval

__all__ = ["BfclCategoryScore", "BfclLeaderboard", "BfclSummary", "bfcl_leaderboard"]


@dataclass(frozen=True, slots=True)
class BfclCategoryScore:
    """One BFCL category of one model."""

    category: str
    cases: int
    """Cases with at least one judged trial."""
    accuracy: float
    """BFCL's accuracy: the mean over cases of the share of judged trials that passed."""
    passes: int
    trials: int
    """Judged trials."""
    low: float
    high: float
    """clearance's interval for the pass rate (clustered by case, two-sided)."""


@dataclass(frozen=True, slots=True)
class BfclSummary:
    """One of the leaderboard's summary figures."""

    name: str
    weighting: str
    """``unweighted`` (mean of the parts) or ``by cases`` (weighted by their cases)."""
    parts: tuple[str, ...]
    accuracy: float | None
    """``None`` when a part is missing (BFCL shows N/A)."""
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BfclLeaderboard:
    """A model's BFCL figures in one run."""

    model_id: str
    scoring: str
    """The scoring profile the suite was judged by (``bfcl`` gives BFCL's verdicts)."""
    categories: tuple[BfclCategoryScore, ...]
    summaries: tuple[BfclSummary, ...]
    level: float
    """The intervals' two-sided confidence."""


def _score(category: str, rows: pd.DataFrame, level: float, method: Method) -> BfclCategoryScore:
    per_case = rows.groupby("case_id").agg(passes=("_pass", "sum"), trials=("_judged", "sum"))
    per_case = per_case[per_case["trials"] > 0]
    pairs = [(int(p), int(t)) for p, t in zip(per_case["passes"], per_case["trials"], strict=True)]
    accuracy = float((per_case["passes"] / per_case["trials"]).mean())
    interval = clustered_interval(pairs, level=level, method=method)
    return BfclCategoryScore(
        category,
        len(pairs),
        accuracy,
        sum(p for p, _ in pairs),
        sum(t for _, t in pairs),
        interval.low,
        interval.high,
    )


def _summary(
    name: str,
    parts: Sequence[str],
    found: dict[str, tuple[float, int]],
    *,
    weighted: bool = False,
) -> BfclSummary:
    missing = tuple(part for part in parts if part not in found)
    weighting = "by cases" if weighted else "unweighted"
    if missing:
        return BfclSummary(name, weighting, tuple(parts), None, missing)
    if weighted:
        cases = sum(found[part][1] for part in parts)
        accuracy = sum(found[part][0] * found[part][1] for part in parts) / cases
    else:
        accuracy = sum(found[part][0] for part in parts) / len(parts)
    return BfclSummary(name, weighting, tuple(parts), accuracy)


def bfcl_leaderboard(
    rows: pd.DataFrame,
    model_id: str,
    *,
    scoring: str,
    level: float = 0.95,
    method: Method = "wilson",
) -> BfclLeaderboard | None:
    """A model's BFCL figures from the run's results (``mark_judged`` rows), or ``None``
    when it has no judged ``bfcl`` case.

    Args:
        rows: results with ``_judged`` and ``_pass`` (``metrics.mark_judged``).
        model_id: the model.
        scoring: the profile the ``bfcl`` suite was judged by.
        level: the intervals' two-sided confidence.
        method: ``wilson`` or ``clopper-pearson``.
    """
    mine = rows[(rows["model_id"] == model_id) & (rows["case_kind"] == "bfcl")]
    if mine.empty or not mine["_judged"].any():
        return None
    categories = mine["case_id"].astype(str).map(case_category)
    scores = []
    for category in SINGLE_TURN_CATEGORIES:
        part = mine[(categories == category).to_numpy()]
        if part.empty or not part["_judged"].any():
            continue
        scores.append(_score(category, part, level, method))
    found = {s.category: (s.accuracy, s.cases) for s in scores}
    simple = _summary(
        "Non-live simple", ("simple_python", "simple_java", "simple_javascript"), found
    )
    if simple.accuracy is not None:
        found["Non-live simple"] = (simple.accuracy, sum(found[p][1] for p in simple.parts))
    non_live = _summary(
        "Non-live AST", ("Non-live simple", "multiple", "parallel", "parallel_multiple"), found
    )
    live = _summary(
        "Live AST",
        ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"),
        found,
        weighted=True,
    )
    irrelevance = _summary("Irrelevance", ("irrelevance", "live_irrelevance"), found)
    relevance = _summary("Relevance", ("live_relevance",), found)
    overall = BfclSummary(
        "Overall",
        "10/10/10/30/40",
        ("Non-live AST", "Live AST", "Irrelevance", "multi-turn", "agentic"),
        None,
        ("multi-turn", "agentic"),
    )
    return BfclLeaderboard(
        model_id,
        scoring,
        tuple(scores),
        (simple, non_live, live, irrelevance, relevance, overall),
        level,
    )

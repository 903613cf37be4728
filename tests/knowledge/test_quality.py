"""Retrieval-quality metrics: exact values on rankings worked out by hand, their
properties, and the clustered bootstrap."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import InputError
from clearance.knowledge.labels import LabelledQuery, QuerySet
from clearance.knowledge.quality import (
    bootstrap_means,
    document_ranks,
    evaluate,
    ndcg_at,
    query_clusters,
    recall_at_k,
    reciprocal_rank,
    score_query,
)
from clearance.knowledge.types import Chunk, Hit, Retriever


class _Fixed:
    """A retriever that answers each query with fixed document ids (one chunk each)."""

    def __init__(self, answers: Mapping[str, Sequence[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, int, tuple[str, ...]]] = []

    def search(self, org_id: str, query: str, *, k: int = 5, tags: Sequence[str] = ()) -> list[Hit]:
        self.calls.append((org_id, query, k, tuple(tags)))
        ids = self.answers.get(query, ())[:k]
        return [
            Hit(Chunk(org_id, doc, 0, "", f"text of {doc}"), rank, 1.0 / rank)
            for rank, doc in enumerate(ids, start=1)
        ]


def test_the_fake_is_a_retriever() -> None:
    assert isinstance(_Fixed({}), Retriever)


# -- exact values ----------------------------------------------------------------------------


def test_a_document_is_at_the_rank_of_its_first_chunk() -> None:
    assert document_ranks(["a", "a", "b", "c", "b", "d"]) == {"a": 1, "b": 3, "c": 4, "d": 6}


def test_binary_ranking_worked_by_hand() -> None:
    # hits: a a b c d; relevant b and d -> b at rank 3, d at rank 5
    query = LabelledQuery("q", "q", {"b": 1, "d": 1})
    score = score_query(query, ["a", "a", "b", "c", "d"], k=3)
    assert score.recall == 0.5  # only b is within the first 3 hits
    assert score.reciprocal_rank == pytest.approx(1 / 3)
    dcg = 1 / math.log2(4) + 1 / math.log2(6)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert score.ndcg == pytest.approx(dcg / idcg)
    assert score.ndcg == pytest.approx(0.5437713)
    assert score.retrieved == ("a", "b", "c", "d")
    assert (score.relevant, score.hits) == (2, 5)
    assert score_query(query, ["a", "a", "b", "c", "d"], k=5).recall == 1.0


def test_graded_ranking_worked_by_hand() -> None:
    relevant = {"y": 3, "x": 1, "z": 2}
    ranks = document_ranks(["x", "y"])
    # DCG: x (grade 1) at 1, y (grade 3) at 2; ideal: 3, 2, 1 at ranks 1, 2, 3
    assert ndcg_at(ranks, relevant) == pytest.approx(
        (1 + 3 / math.log2(3)) / (3 + 2 / math.log2(3) + 1 / 2)
    )
    assert recall_at_k(ranks, relevant, 5) == pytest.approx(2 / 3)
    assert reciprocal_rank(ranks, relevant) == 1.0


def test_nothing_relevant_retrieved_and_beyond_depth() -> None:
    relevant = {"r": 2}
    assert score_query(LabelledQuery("q", "q", relevant), ["a", "b"], k=5).ndcg == 0.0
    late = document_ranks([f"d{i}" for i in range(10)] + ["r"])
    assert late["r"] == 11
    assert ndcg_at(late, relevant) == 0.0  # beyond nDCG@10
    assert reciprocal_rank(late, relevant) == pytest.approx(1 / 11)
    assert recall_at_k(late, relevant, 10) == 0.0
    assert recall_at_k(late, relevant, 11) == 1.0


# -- properties ------------------------------------------------------------------------------

_docs = st.sampled_from("abcdefghijkl")
_relevant = st.dictionaries(_docs, st.integers(1, 3), min_size=1, max_size=6)


@given(st.lists(_docs, max_size=15), _relevant, st.integers(1, 15))
def test_metrics_are_within_zero_and_one(hits: list[str], relevant: dict[str, int], k: int) -> None:
    score = score_query(LabelledQuery("q", "q", relevant), hits, k)
    for value in (score.recall, score.reciprocal_rank, score.ndcg):
        assert 0.0 <= value <= 1.0 + 1e-12


@given(_relevant, st.lists(_docs, max_size=5), st.integers(1, 15))
def test_a_perfect_ranking_scores_one(relevant: dict[str, int], tail: list[str], k: int) -> None:
    best_first = sorted(relevant, key=lambda d: -relevant[d])
    # irrelevant documents after the relevant ones do not matter
    hits = best_first + [d for d in tail if d not in relevant]
    score = score_query(LabelledQuery("q", "q", relevant), hits, k)
    assert score.ndcg == pytest.approx(1.0)
    assert score.reciprocal_rank == 1.0
    assert score.recall == (1.0 if k >= len(relevant) else k / len(relevant))


@st.composite
def _labelled(draw: st.DrawFn) -> tuple[QuerySet, dict[str, list[str]]]:
    count = draw(st.integers(1, 12))
    queries, answers = [], {}
    for index in range(count):
        text = f"query {index}"
        queries.append(LabelledQuery(f"q{index}", text, draw(_relevant)))
        answers[text] = draw(st.lists(_docs, max_size=12))
    return QuerySet("kb", tuple(queries)), answers


@settings(max_examples=60, deadline=None)
@given(_labelled(), st.randoms(use_true_random=False), st.integers(0, 2**32 - 1))
def test_means_do_not_depend_on_query_order_and_intervals_hold_them(
    labelled: tuple[QuerySet, dict[str, list[str]]], shuffler: object, seed: int
) -> None:
    queryset, answers = labelled
    report = evaluate(_Fixed(answers), queryset, org_id="o", k=5, resamples=200, seed=seed)
    order = list(queryset.queries)
    shuffler.shuffle(order)  # type: ignore[attr-defined]
    shuffled = evaluate(
        _Fixed(answers), QuerySet("kb", tuple(order)), org_id="o", k=5, resamples=200, seed=seed
    )
    for summary, other in zip(report.summaries, shuffled.summaries, strict=True):
        assert summary.mean == pytest.approx(other.mean)
        assert summary.low <= summary.mean <= summary.high
        assert summary.low >= 0.0
        assert summary.high <= 1.0 + 1e-12
    # the same seed gives the same report
    again = evaluate(_Fixed(answers), queryset, org_id="o", k=5, resamples=200, seed=seed)
    assert again == report


def test_the_seed_changes_the_interval_not_the_mean() -> None:
    values = [[float(i % 3 == 0) for i in range(30)]]
    clusters = [(i,) for i in range(30)]
    summaries = [bootstrap_means(values, clusters, resamples=500, seed=s)[0] for s in range(5)]
    assert all(s.mean == pytest.approx(10 / 30) for s in summaries)
    assert len({(s.low, s.high) for s in summaries}) > 1
    assert all(s.low < s.mean < s.high for s in summaries)


# -- clusters --------------------------------------------------------------------------------


def test_queries_sharing_a_relevant_document_form_one_cluster() -> None:
    queries = [
        LabelledQuery("q0", "x", {"a": 1}),
        LabelledQuery("q1", "x", {"b": 1}),
        LabelledQuery("q2", "x", {"c": 1, "a": 2}),
        LabelledQuery("q3", "x", {"c": 1}),
        LabelledQuery("q4", "x", {"d": 1}),
        LabelledQuery("q5", "x", {"e": 1, "b": 1}),
    ]
    assert query_clusters(queries) == ((0, 2, 3), (1, 5), (4,))


def test_a_single_cluster_has_no_spread_however_its_queries_vary() -> None:
    # every query shares document "s": resampling clusters always draws the same one
    queries = [LabelledQuery(f"q{i}", f"query {i}", {"s": 1, f"d{i}": 1}) for i in range(8)]
    answers = {f"query {i}": ([f"d{i}"] if i % 2 else []) for i in range(8)}
    report = evaluate(_Fixed(answers), QuerySet("kb", tuple(queries)), org_id="o", k=5)
    assert report.clusters == 1
    assert report.recall.mean == pytest.approx(0.25)
    assert report.recall.low == report.recall.high == report.recall.mean
    # the same values as independent queries do spread
    (independent,) = bootstrap_means(
        [[row.recall for row in report.rows]], [(i,) for i in range(8)], resamples=500
    )
    assert independent.low < independent.mean < independent.high


def test_bootstrap_refuses_bad_arguments() -> None:
    with pytest.raises(InputError, match="every query index exactly once"):
        bootstrap_means([[1.0, 0.0]], [(0,)])
    with pytest.raises(InputError, match="confidence"):
        bootstrap_means([[1.0]], [(0,)], confidence=1.0)
    with pytest.raises(InputError, match="resamples"):
        bootstrap_means([[1.0]], [(0,)], resamples=0)


# -- evaluate --------------------------------------------------------------------------------


def test_evaluate_searches_ten_deep_with_the_query_tags_and_names_the_metrics() -> None:
    queryset = QuerySet(
        "kb",
        (
            LabelledQuery("refund", "refund window", {"billing/refunds.md": 1}, ("billing",)),
            LabelledQuery("sso", "okta sso", {"admin/sso.md": 3, "security/overview.md": 1}),
        ),
    )
    retriever = _Fixed(
        {
            "refund window": ["billing/pricing.md", "billing/refunds.md"],
            "okta sso": ["admin/sso.md"],
        }
    )
    report = evaluate(retriever, queryset, org_id="acme", k=3, resamples=100)
    assert retriever.calls == [
        ("acme", "refund window", 10, ("billing",)),
        ("acme", "okta sso", 10, ()),
    ]
    assert [row.query_id for row in report.rows] == ["refund", "sso"]
    assert [row.recall for row in report.rows] == [1.0, 0.5]
    assert [row.reciprocal_rank for row in report.rows] == [0.5, 1.0]
    assert report.recall.name == "recall@3"
    assert report.recall.mean == 0.75
    assert report.mrr.name == "MRR"
    assert report.mrr.mean == 0.75
    assert report.ndcg.name == "nDCG@10"
    assert report.ndcg.mean == pytest.approx(((1 / math.log2(3)) + 3 / (3 + 1 / math.log2(3))) / 2)
    assert (report.knowledge_base, report.org_id, report.k, report.clusters) == ("kb", "acme", 3, 2)
    with pytest.raises(InputError, match="k=0"):
        evaluate(retriever, queryset, org_id="acme", k=0)

"""Tests for benchmarks/retrieval_metrics.py on small rankings worked out by hand."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from retrieval_metrics import (  # noqa: E402
    METRIC_NAMES,
    dcg,
    dedupe,
    mean_metrics,
    ndcg_at_k,
    query_metrics,
    recall_at_k,
    reciprocal_rank,
    relevant_first,
)

# a is exactly on topic, b and c are related; x, y, z are not judged (grade 0).
JUDGMENTS = {"a": 2, "b": 1, "c": 1}
RANKING = ["x", "a", "y", "b", "z"]


def test_dedupe_keeps_first_occurrence():
    assert dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("k", "expected"),
    [(1, 0.0), (2, 1 / 3), (4, 2 / 3), (5, 2 / 3), (10, 2 / 3)],
)
def test_recall_at_k_counts_grade_one_and_two(k, expected):
    assert recall_at_k(RANKING, JUDGMENTS, k) == pytest.approx(expected)


def test_recall_ignores_duplicates_when_cutting_at_k():
    # Without deduplication the top 2 would be ["a", "a"] and b would be cut off.
    assert recall_at_k(["a", "a", "b"], {"a": 2, "b": 2}, 2) == 1.0


def test_recall_of_query_without_relevant_documents_is_zero():
    assert recall_at_k(RANKING, {"a": 0}, 5) == 0.0


def test_reciprocal_rank_is_one_over_rank_of_first_relevant():
    assert reciprocal_rank(RANKING, JUDGMENTS) == 0.5
    assert reciprocal_rank(["b", "a"], JUDGMENTS) == 1.0
    assert reciprocal_rank(["x", "y", "z", "c"], JUDGMENTS) == 0.25


def test_reciprocal_rank_respects_cutoff():
    assert reciprocal_rank(["x", "y", "z", "c"], JUDGMENTS, k=3) == 0.0
    assert reciprocal_rank(["x", "y"], JUDGMENTS) == 0.0


def test_dcg_uses_exponential_gain_and_log2_discount():
    # grade 2 at rank 1: (2^2-1)/log2(2) = 3; grade 1 at rank 3: 1/log2(4) = 0.5
    assert dcg([2, 0, 1]) == pytest.approx(3.5)
    assert dcg([]) == 0.0


def test_ndcg_worked_example():
    # got grades [0, 2, 0, 1, 0]: 3/log2(3) + 1/log2(5) = 2.32347
    # ideal grades [2, 1, 1]: 3 + 1/log2(3) + 1/log2(4) = 4.13093
    expected = (3 / math.log2(3) + 1 / math.log2(5)) / (3 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(RANKING, JUDGMENTS, 10) == pytest.approx(expected)
    assert ndcg_at_k(RANKING, JUDGMENTS, 10) == pytest.approx(0.562456, abs=1e-6)


def test_ndcg_is_one_for_ideal_order_and_zero_without_hits():
    assert ndcg_at_k(["a", "b", "c", "x"], JUDGMENTS, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "c", "b"], JUDGMENTS, 10) == pytest.approx(1.0)  # ties are ideal
    assert ndcg_at_k(["x", "y"], JUDGMENTS, 10) == 0.0


def test_ndcg_cutoff_drops_hits_below_k():
    # Only c at rank 2 counts at k=2: (1/log2(3)) / (3 + 1/log2(3)).
    expected = (1 / math.log2(3)) / (3 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "c", "a"], JUDGMENTS, 2) == pytest.approx(expected)


def test_ndcg_ranks_exact_match_above_related():
    exact_first = ndcg_at_k(["a", "b"], JUDGMENTS, 10)
    related_first = ndcg_at_k(["b", "a"], JUDGMENTS, 10)
    assert exact_first > related_first


def test_relevant_first():
    assert relevant_first(["b", "x"], JUDGMENTS) == 1.0
    assert relevant_first(RANKING, JUDGMENTS) == 0.0
    assert relevant_first([], JUDGMENTS) == 0.0


def test_query_metrics_and_mean():
    first = query_metrics(RANKING, JUDGMENTS)
    assert set(first) == set(METRIC_NAMES)
    assert first["MRR"] == 0.5
    assert first["rel@1"] == 0.0
    second = query_metrics(["a"], {"a": 2})
    assert second == {"R@5": 1.0, "R@10": 1.0, "MRR": 1.0, "nDCG@10": 1.0, "rel@1": 1.0}
    mean = mean_metrics([first, second])
    assert mean["MRR"] == pytest.approx(0.75)
    assert mean["R@5"] == pytest.approx((2 / 3 + 1) / 2)
    assert mean["rel@1"] == pytest.approx(0.5)


def test_mean_of_no_queries_is_nan():
    assert all(math.isnan(v) for v in mean_metrics([]).values())

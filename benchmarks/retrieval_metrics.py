"""Ranking metrics for the retrieval benchmark: recall@k, MRR, nDCG@k and "relevant first".

Every function takes a ranked list of document keys (best first) and graded judgments
(``{key: grade}``, grade 2 = about exactly this, 1 = related, anything unlisted = 0).
A document counts as *relevant* when its grade is >= 1. Duplicate keys in a ranking are
ignored after their first occurrence, so an engine that returns the same incident twice
gains nothing from it. All functions are pure and model-free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

Judgments = Mapping[str, int]


def dedupe(ranking: Iterable[str]) -> list[str]:
    """Return ``ranking`` with repeated keys removed, keeping the first occurrence."""
    seen: set[str] = set()
    unique: list[str] = []
    for key in ranking:
        if key not in seen:
            seen.add(key)
            unique.append(key)
    return unique


def relevant_keys(judgments: Judgments, min_grade: int = 1) -> set[str]:
    """Keys whose grade is at least ``min_grade``."""
    return {key for key, grade in judgments.items() if grade >= min_grade}


def recall_at_k(ranking: Sequence[str], judgments: Judgments, k: int) -> float:
    """Share of the relevant documents (grade >= 1) that appear in the top ``k``.

    A query with no relevant document scores 0.0 (the eval set never has such queries).
    """
    relevant = relevant_keys(judgments)
    if not relevant:
        return 0.0
    found = relevant.intersection(dedupe(ranking)[:k])
    return len(found) / len(relevant)


def reciprocal_rank(ranking: Sequence[str], judgments: Judgments, k: int | None = None) -> float:
    """1 / rank of the first relevant document within the top ``k`` (all if None), else 0."""
    unique = dedupe(ranking)
    if k is not None:
        unique = unique[:k]
    for rank, key in enumerate(unique, start=1):
        if judgments.get(key, 0) >= 1:
            return 1.0 / rank
    return 0.0


def dcg(grades: Sequence[int]) -> float:
    """Discounted cumulative gain of grades in rank order, gain ``2**grade - 1``."""
    return sum((2**grade - 1) / math.log2(rank + 1) for rank, grade in enumerate(grades, start=1))


def ndcg_at_k(ranking: Sequence[str], judgments: Judgments, k: int) -> float:
    """Graded nDCG@k: DCG of the top ``k`` over the DCG of the ideal ordering of all judgments."""
    ideal = sorted((g for g in judgments.values() if g > 0), reverse=True)[:k]
    ideal_dcg = dcg(ideal)
    if ideal_dcg == 0:
        return 0.0
    got = [judgments.get(key, 0) for key in dedupe(ranking)[:k]]
    return dcg(got) / ideal_dcg


def relevant_first(ranking: Sequence[str], judgments: Judgments) -> float:
    """1.0 if the top-ranked document is relevant (grade >= 1), else 0.0."""
    unique = dedupe(ranking)
    return 1.0 if unique and judgments.get(unique[0], 0) >= 1 else 0.0


def query_metrics(ranking: Sequence[str], judgments: Judgments) -> dict[str, float]:
    """All benchmark metrics for one query, keyed by the names the report prints."""
    return {
        "R@5": recall_at_k(ranking, judgments, 5),
        "R@10": recall_at_k(ranking, judgments, 10),
        "MRR": reciprocal_rank(ranking, judgments, 10),
        "nDCG@10": ndcg_at_k(ranking, judgments, 10),
        "rel@1": relevant_first(ranking, judgments),
    }


METRIC_NAMES: tuple[str, ...] = ("R@5", "R@10", "MRR", "nDCG@10", "rel@1")


def mean_metrics(per_query: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Average each metric over queries; an empty input gives NaN for every metric."""
    if not per_query:
        return {name: math.nan for name in METRIC_NAMES}
    return {name: sum(m[name] for m in per_query) / len(per_query) for name in METRIC_NAMES}

"""The ANN layer: exact below the threshold, HNSW over distinct vectors above it."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ingest import vectors


def unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def with_copies(base: np.ndarray) -> np.ndarray:
    """base, then its first 100 rows twice more (as corpora repeat boilerplate sentences)."""
    return np.concatenate([base, base[:100], base[:100]])


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.sort(matrix @ queries.T, axis=0)[::-1][:k].T


def test_small_index_is_exact_and_keeps_every_row():
    matrix = with_copies(unit_rows(300))
    ann = vectors.build_index(matrix)
    assert ann.kind == "IndexFlatIP" and not ann.is_hnsw
    assert ann.ntotal == ann.distinct == 500
    scores, ids = vectors.search(ann, matrix[:3], 5)
    assert np.array_equal(matrix[ids[:, 0]], matrix[:3])  # the row itself or one of its copies
    assert np.allclose(scores, exact_top(matrix, matrix[:3], 5), atol=1e-5)


def test_hnsw_indexes_distinct_vectors_and_returns_their_copies():
    base = unit_rows(1000)
    matrix = with_copies(base)
    ann = vectors.build_index(matrix, hnsw_threshold=1)
    assert ann.kind == "IndexHNSWFlat" and ann.is_hnsw
    assert (ann.ntotal, ann.distinct, len(ann.copies)) == (1200, 1000, 200)
    scores, ids = vectors.search(ann, base[5:6], 3)
    assert sorted(ids[0].tolist()) == [5, 1005, 1105]  # the row and both copies
    assert np.allclose(scores[0], 1.0, atol=1e-5)


def test_hnsw_matches_exact_search_on_clustered_vectors_with_copies():
    rng = np.random.default_rng(1)
    centres = unit_rows(40, seed=2)
    base = centres[rng.integers(0, 40, 3000)] + 0.3 * unit_rows(3000, seed=3)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    matrix = with_copies(base.astype(np.float32))
    queries = unit_rows(100, seed=4)
    ann = vectors.build_index(matrix, hnsw_threshold=1)
    scores, ids = vectors.search(ann, queries, 10)
    kth = exact_top(matrix, queries, 10)[:, -1]
    true_scores = np.einsum("qkd,qd->qk", matrix[ids], queries)
    recall = float((true_scores >= kth[:, None] - 1e-5).mean())
    assert recall >= 0.99
    assert np.allclose(scores, true_scores, atol=1e-3)  # copies carry their original's score


def test_extend_hnsw_maps_new_copies_to_indexed_rows():
    base = unit_rows(800)
    matrix = np.concatenate([base, base[:50], unit_rows(20, seed=9), base[:50]])
    ann = vectors.build_index(matrix[:800], hnsw_threshold=1)
    vectors.extend_index(ann, matrix)
    assert (ann.ntotal, ann.distinct, len(ann.copies)) == (920, 820, 100)
    copies = dict(ann.copies.tolist())
    assert copies[800] == 0 and copies[870] == 0  # a copy of an old row, twice
    _, ids = vectors.search(ann, matrix[850:851], 1)
    assert ids[0, 0] == 850  # a new distinct row is searchable


def test_extend_exact_appends_rows():
    matrix = unit_rows(60)
    ann = vectors.build_index(matrix[:40])
    vectors.extend_index(ann, matrix)
    assert ann.ntotal == 60 and not ann.is_hnsw
    _, ids = vectors.search(ann, matrix[55:56], 1)
    assert ids[0, 0] == 55


def test_write_and_read_round_trip(tmp_path):
    matrix = with_copies(unit_rows(500))
    ann = vectors.build_index(matrix, hnsw_threshold=1)
    vectors.write_index(ann, tmp_path / "v.faiss")
    back = vectors.read_index(tmp_path / "v.faiss")
    assert back.kind == "IndexHNSWFlat" and back.ntotal == 700
    assert np.array_equal(back.copies, ann.copies)
    assert vectors.copies_path(tmp_path / "v.faiss").exists()
    exact = vectors.build_index(matrix)
    vectors.write_index(exact, tmp_path / "e.faiss")
    assert not vectors.copies_path(tmp_path / "e.faiss").exists()
    assert vectors.read_index(tmp_path / "e.faiss").ntotal == 700


def test_near_identical_vectors_share_a_key_and_different_ones_do_not():
    rows = unit_rows(3)
    nudged = rows + 1e-6
    keys = vectors.vector_keys(np.concatenate([rows, nudged]))
    assert keys[:3] == keys[3:]
    assert len(set(keys[:3])) == 3


@pytest.mark.parametrize("k", [1, 7, 50])
def test_search_returns_k_columns_padded_with_minus_one(k):
    matrix = with_copies(unit_rows(20))[:30]
    ann = vectors.build_index(matrix, hnsw_threshold=1)
    scores, ids = vectors.search(ann, matrix[:2], k)
    assert ids.shape == scores.shape == (2, min(k, 30))
    for row in ids:
        valid = row[row >= 0].tolist()
        assert len(set(valid)) == len(valid)


def test_empty_index_searches_to_nothing():
    ann = vectors.build_index(np.zeros((0, 8), dtype=np.float32))
    scores, ids = vectors.search(ann, np.ones((1, 8), dtype=np.float32), 5)
    assert ids.shape == (1, 0)


def exact_live_top(matrix: np.ndarray, dead: np.ndarray, queries: np.ndarray, k: int):
    sims = queries @ matrix.T
    sims[:, dead] = -np.inf
    return np.sort(sims, axis=1)[:, ::-1][:, :k]


@pytest.mark.parametrize("hnsw_threshold", [1, vectors.HNSW_THRESHOLD])
def test_tail_and_dead_rows_search_like_exact_search_over_the_live_rows(hnsw_threshold):
    matrix = with_copies(unit_rows(600))  # rows 600-799 repeat rows 0-99 twice
    base, queries = 500, unit_rows(30, seed=7)
    dead = np.array([0, 1, 2, *range(300, 420), 550, 650, 799], dtype=np.int64)
    ann = vectors.build_index(matrix[:base], hnsw_threshold=hnsw_threshold)
    ann = vectors.attach_rows(ann, tail=matrix[base:], dead=dead)
    assert (ann.base_rows, ann.tail_rows, ann.ntotal, ann.live) == (500, 300, 800, 674)
    for k in (1, 10, 100):
        scores, ids = vectors.search(ann, queries, k)
        assert ids.shape == (30, k) and (ids >= 0).all()
        assert not np.isin(ids, dead).any()
        assert all(len(set(row)) == k for row in ids.tolist())
        assert np.allclose(scores, exact_live_top(matrix, dead, queries, k), atol=1e-4)
    # a dead original whose copies live on: the copies are still found
    _, ids = vectors.search(ann, matrix[0:1], 2)
    assert sorted(ids[0].tolist()) == [600, 700]


def test_search_asks_for_more_when_the_nearest_rows_are_dead():
    matrix = unit_rows(400)
    near = matrix[:1] + 0.05 * unit_rows(60, seed=3)  # 60 rows around row 0
    matrix = np.concatenate([matrix, near / np.linalg.norm(near, axis=1, keepdims=True)])
    dead = np.arange(400, 460, dtype=np.int64)  # all of them dead
    ann = vectors.attach_rows(vectors.build_index(matrix), dead=dead)
    scores, ids = vectors.search(ann, matrix[:1], 20)
    assert (ids >= 0).all() and not np.isin(ids, dead).any()
    assert np.allclose(scores, exact_live_top(matrix, dead, matrix[:1], 20), atol=1e-5)


def test_search_pads_when_fewer_live_rows_than_k():
    matrix = unit_rows(10)
    ann = vectors.attach_rows(
        vectors.build_index(matrix[:6]), tail=matrix[6:], dead=np.array([1, 7])
    )
    scores, ids = vectors.search(ann, matrix[:2], 50)
    assert ids.shape == (2, 8) and sorted(ids[0].tolist()) == [0, 2, 3, 4, 5, 6, 8, 9]
    everything_dead = vectors.attach_rows(vectors.build_index(matrix), dead=np.arange(10))
    assert vectors.search(everything_dead, matrix[:1], 5)[1].shape == (1, 0)


def test_append_vectors_file_links_truncates_garbage_and_appends(tmp_path):
    old, new = unit_rows(50), unit_rows(7, seed=1)
    with open(tmp_path / "a.f32", "wb") as fh:
        vectors.write_rows(fh, old)
        fh.write(b"garbage of a crashed writer")
    reader = vectors.open_vectors(tmp_path / "a.f32", 50, 32)
    assert vectors.append_vectors_file(tmp_path / "a.f32", tmp_path / "b.f32", 50, new)
    assert (tmp_path / "a.f32").stat().st_ino == (tmp_path / "b.f32").stat().st_ino
    assert (tmp_path / "b.f32").stat().st_size == 57 * 32 * 4
    both = vectors.open_vectors(tmp_path / "b.f32", 57, 32)
    assert np.array_equal(both[:50], old) and np.array_equal(both[50:], new)
    assert np.array_equal(reader, old)  # a reader of the old rows is unaffected
    with pytest.raises(ValueError, match="fewer than 60 rows"):
        vectors.append_vectors_file(tmp_path / "b.f32", tmp_path / "c.f32", 60, new)


def test_created_vectors_file_is_a_new_inode_and_round_trips(tmp_path):
    (tmp_path / "v.f32").write_bytes(b"old")
    os.link(tmp_path / "v.f32", tmp_path / "shared.f32")
    out = vectors.create_vectors_file(tmp_path / "v.f32", (5, 32))
    out[:] = unit_rows(5)
    vectors.flush_vectors(out)
    assert (tmp_path / "shared.f32").read_bytes() == b"old"
    assert np.array_equal(vectors.open_vectors(tmp_path / "v.f32", 5, 32), unit_rows(5))
    assert vectors.open_vectors(tmp_path / "v.f32", 0, 32).shape == (0, 32)

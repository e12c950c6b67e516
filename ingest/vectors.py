"""The ANN layer: a FAISS inner-product index over unit vectors, chosen by size.

Below ``HNSW_THRESHOLD`` vectors an exact ``IndexFlatIP``; above it an ``IndexHNSWFlat``
with the inner-product metric (recall against exact is measured in benchmarks/perf.py).
Row *i* of the vector matrix is FAISS id *i*, which is ``sentences.vec_row`` in SQLite.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

HNSW_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def build_index(vectors: np.ndarray, *, hnsw_threshold: int = HNSW_THRESHOLD) -> faiss.Index:
    """Build the FAISS index for ``vectors`` (n, dim), unit length, float32."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if len(vectors) >= hnsw_threshold:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def index_kind(index: faiss.Index) -> str:
    """A short name of the index type for the manifest."""
    return type(faiss.downcast_index(index)).__name__


def extend_index(index: faiss.Index, vectors: np.ndarray) -> faiss.Index:
    """Append vectors (ids continue from ``index.ntotal``)."""
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def read_index(path: Path) -> faiss.Index:
    index = faiss.read_index(str(path))
    hnsw = getattr(faiss.downcast_index(index), "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = HNSW_EF_SEARCH
    return index


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) per query row; ids are -1 where fewer than k exist."""
    k = max(1, min(k, index.ntotal)) if index.ntotal else 1
    if index.ntotal == 0:
        n = len(queries)
        return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if len(queries) == 1:  # one query: threads cost more than they save
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(threads)
    return index.search(queries, k)


def save_vectors(vectors: np.ndarray, path: Path) -> None:
    """Store the raw matrix (the source of truth for rebuilds) without pickle."""
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)


def load_vectors(path: Path, *, mmap: bool = True) -> np.ndarray:
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


def create_vectors_file(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Create a float32 ``.npy`` file of ``shape`` and return it as a writable memmap.

    The caller fills it and calls ``flush()``; the file is then readable with
    :func:`load_vectors` (plain ``.npy``, no pickle).
    """
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)

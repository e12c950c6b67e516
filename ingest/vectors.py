"""The ANN layer: a FAISS inner-product index over unit vectors, chosen by size.

Below ``HNSW_THRESHOLD`` rows an exact ``IndexFlatIP`` over every row; from it on an
``IndexHNSWFlat`` (inner-product metric) over the *distinct* vectors only. Postmortem corpora
repeat sentences verbatim (boilerplate, templates, quoted updates) and identical points degrade an
HNSW graph: on 28k synthetic-corpus vectors recall@10 was 0.94 with the copies and 0.98-0.997
without them (benchmarks/RESULTS.md). Each copy is therefore recorded as ``(row, original row)``
and a search expands every hit to its copies, so callers see the same rows exact search returns.

Row *i* of the vector matrix is ``sentences.vec_row`` *i* in SQLite. In the exact index it is
FAISS id *i*; in the HNSW index the FAISS ids are the rows of the originals (``IndexIDMap2``).
"""

from __future__ import annotations

import hashlib
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

HNSW_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 400
HNSW_EF_SEARCH = 1024
# Vectors equal after rounding to 1/4096 per component are one point (cosine > 0.9999).
DUPLICATE_SCALE = 4096.0
COPIES_SUFFIX = ".copies.npy"
_CHUNK = 8192


def _no_copies() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


@dataclass
class AnnIndex:
    """A FAISS index plus the rows left out of it as copies of an indexed row.

    ``copies`` is an int64 array of ``(row, original_row)`` pairs sorted by original row; it is
    empty for the exact index, which holds every row itself.
    """

    index: faiss.Index
    copies: np.ndarray = field(default_factory=_no_copies)

    @property
    def ntotal(self) -> int:
        """Rows covered: the indexed vectors plus their copies (= rows of the matrix)."""
        return int(self.index.ntotal) + len(self.copies)

    @property
    def distinct(self) -> int:
        """Vectors held by the FAISS index itself."""
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        """A short name of the index type for the manifest (``IndexFlatIP``, ``IndexHNSWFlat``)."""
        return type(_inner(self.index)).__name__

    @property
    def hnsw(self) -> faiss.HNSW | None:
        """The HNSW graph (its ``efSearch``, ``efConstruction``), None for the exact index."""
        return getattr(_inner(self.index), "hnsw", None)

    @property
    def is_hnsw(self) -> bool:
        return self.hnsw is not None


def _inner(index: faiss.Index) -> faiss.Index:
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexIDMap):  # IndexIDMap2 is a subclass
        return faiss.downcast_index(index.index)
    return index


def wants_hnsw(rows: int, hnsw_threshold: int = HNSW_THRESHOLD) -> bool:
    """True when an index over ``rows`` vectors should be HNSW rather than exact."""
    return rows >= hnsw_threshold


def vector_keys(vectors: np.ndarray) -> list[bytes]:
    """A short digest per row, equal for rows that are the same point (see DUPLICATE_SCALE)."""
    keys: list[bytes] = []
    for start in range(0, len(vectors), _CHUNK):
        block = np.asarray(vectors[start : start + _CHUNK], dtype=np.float32)
        rounded = np.rint(block * DUPLICATE_SCALE).astype(np.int16)
        keys.extend(hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in rounded)
    return keys


def _new_hnsw(dim: int) -> faiss.IndexIDMap2:
    hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.hnsw.efSearch = HNSW_EF_SEARCH
    return faiss.IndexIDMap2(hnsw)


def _sorted_copies(pairs: list[tuple[int, int]] | np.ndarray) -> np.ndarray:
    copies = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return copies[np.lexsort((copies[:, 0], copies[:, 1]))]


def build_index(vectors: np.ndarray, *, hnsw_threshold: int = HNSW_THRESHOLD) -> AnnIndex:
    """Build the index for ``vectors`` (n, dim), unit length: exact, or HNSW over distinct rows."""
    dim = vectors.shape[1]
    if not wants_hnsw(len(vectors), hnsw_threshold):
        index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return AnnIndex(index)
    first: dict[bytes, int] = {}
    originals: list[int] = []
    copies: list[tuple[int, int]] = []
    for row, key in enumerate(vector_keys(vectors)):
        seen = first.setdefault(key, row)
        if seen == row:
            originals.append(row)
        else:
            copies.append((row, seen))
    index = _new_hnsw(dim)
    for start in range(0, len(originals), 65536):
        rows = np.asarray(originals[start : start + 65536], dtype=np.int64)
        index.add_with_ids(np.ascontiguousarray(vectors[rows], dtype=np.float32), rows)
    return AnnIndex(index, _sorted_copies(copies))


def extend_index(ann: AnnIndex, matrix: np.ndarray) -> AnnIndex:
    """Add the rows of ``matrix`` beyond ``ann.ntotal`` (``matrix`` holds every row).

    For HNSW a new row that is the same point as an indexed one becomes a copy of it; it is found
    by a search for the new vector itself, which is exact for an identical point in practice
    (a missed copy is simply indexed again, costing a little graph quality, never a result).
    """
    start = ann.ntotal
    new = np.ascontiguousarray(matrix[start:], dtype=np.float32)
    if not len(new):
        return ann
    if not ann.is_hnsw:
        ann.index.add(new)
        return ann
    keys = vector_keys(new)
    first: dict[bytes, int] = {}
    for offset, key in enumerate(keys):
        first.setdefault(key, offset)
    candidates = sorted(first.values())
    _, found = _search_index(ann.index, new[candidates], 1)
    hits = found[:, 0].tolist()
    indexed = [h for h in hits if h >= 0]
    hit_keys = dict(zip(indexed, vector_keys(matrix[indexed]), strict=True))
    originals: list[int] = []
    copies: list[tuple[int, int]] = []  # the new ones; the old stay in ann.copies
    known: dict[int, int] = {}
    for offset, hit in zip(candidates, hits, strict=True):
        if hit >= 0 and hit_keys[hit] == keys[offset]:
            known[offset] = hit
        else:
            originals.append(offset)
    for offset, key in enumerate(keys):
        original = first[key]
        if original in known:
            copies.append((start + offset, known[original]))
        elif original != offset:
            copies.append((start + offset, start + original))
    if originals:
        rows = np.asarray(originals, dtype=np.int64)
        ann.index.add_with_ids(new[rows], rows + start)
    if copies:
        ann.copies = _sorted_copies(np.concatenate([ann.copies, _sorted_copies(copies)]))
    return ann


def copies_path(path: Path) -> Path:
    return path.with_name(path.name + COPIES_SUFFIX)


def write_index(ann: AnnIndex, path: Path) -> None:
    """Write the FAISS file and, for HNSW, the copies beside it (``<name>.copies.npy``)."""
    if ann.is_hnsw:
        with open(copies_path(path), "wb") as fh:
            np.save(fh, ann.copies, allow_pickle=False)
    faiss.write_index(ann.index, str(path))


def read_index(path: Path) -> AnnIndex:
    ann = AnnIndex(faiss.read_index(str(path)))
    if ann.hnsw is not None:
        ann.hnsw.efSearch = HNSW_EF_SEARCH
        if copies_path(path).exists():
            ann.copies = (
                np.load(copies_path(path), allow_pickle=False).astype(np.int64).reshape(-1, 2)
            )
    return ann


def _search_index(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if len(queries) == 1:  # one query: threads cost more than they save
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(threads)
    return index.search(queries, k)


def search(ann: AnnIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, row ids) per query row; ids are -1 where fewer than k exist.

    Copies of a hit follow it with the same score, so the rows match what exact search over
    every row returns (up to the order among equal scores).
    """
    if ann.ntotal == 0:
        n = len(queries)
        return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
    k = max(1, min(k, ann.ntotal))
    scores, ids = _search_index(ann.index, queries, min(k, ann.distinct))
    if not len(ann.copies):
        return scores, ids
    out_scores = np.full((len(ids), k), -np.inf, dtype=np.float32)
    out_ids = np.full((len(ids), k), -1, dtype=np.int64)
    by_original = ann.copies[:, 1]
    for q, (row_scores, row_ids) in enumerate(zip(scores, ids, strict=True)):
        filled = 0
        for score, hit in zip(row_scores.tolist(), row_ids.tolist(), strict=True):
            if hit < 0 or filled >= k:
                break
            lo, hi = np.searchsorted(by_original, [hit, hit + 1])
            rows = [hit, *ann.copies[lo:hi, 0].tolist()][: k - filled]
            out_ids[q, filled : filled + len(rows)] = rows
            out_scores[q, filled : filled + len(rows)] = score
            filled += len(rows)
    return out_scores, out_ids


def save_vectors(vectors: np.ndarray, path: Path) -> None:
    """Store the raw matrix (the source of truth for rebuilds) without pickle."""
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)


def load_vectors(path: Path, *, mmap: bool = True) -> np.ndarray:
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


def extend_vectors_file(old: Path, path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """Copy the ``.npy`` file ``old`` to ``path`` grown to ``shape`` (more rows, same width)
    and return it as a writable memmap whose first rows are the old ones.

    The copy is one kernel-side file copy and an in-place header rewrite (NumPy pads headers so
    the row count can grow without moving the data). None when that is not possible (another
    dtype or layout, or a header that would change size): the caller then writes the file
    itself.
    """
    with open(old, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version != (1, 0):
            return None
        old_shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        data_offset = fh.tell()
    if fortran or dtype != np.dtype("<f4") or len(old_shape) != 2 or old_shape[1] != shape[1]:
        return None
    if shape[0] < old_shape[0]:
        return None
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}
    )
    if len(header.getvalue()) != data_offset:  # magic, version and padded header
        return None
    shutil.copyfile(old, path)
    with open(path, "r+b") as fh:
        fh.write(header.getvalue())
        fh.truncate(data_offset + shape[0] * shape[1] * 4)
    return np.lib.format.open_memmap(path, mode="r+")


def create_vectors_file(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Create a float32 ``.npy`` file of ``shape`` and return it as a writable memmap.

    The caller fills it and calls ``flush()``; the file is then readable with
    :func:`load_vectors` (plain ``.npy``, no pickle).
    """
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)

"""The ANN layer: a FAISS inner-product index over unit vectors, chosen by size.

Below ``HNSW_THRESHOLD`` rows an exact ``IndexFlatIP`` over every row; from it on an
``IndexHNSWFlat`` (inner-product metric) over the *distinct* vectors only. Postmortem corpora
repeat sentences verbatim (boilerplate, templates, quoted updates) and identical points degrade an
HNSW graph: on 28k synthetic-corpus vectors recall@10 was 0.94 with the copies and 0.98-0.997
without them (benchmarks/RESULTS.md). Each copy is therefore recorded as ``(row, original row)``
and a search expands every hit to its copies, so callers see the same rows exact search returns.

Row *i* of the vector matrix is ``sentences.vec_row`` *i* in SQLite. In the exact index it is
FAISS id *i*; in the HNSW index the FAISS ids are the rows of the originals (``IndexIDMap2``).

An :class:`AnnIndex` may cover only the first ``base_rows`` rows with FAISS: the rows after them
(the *tail*, appended since the FAISS file was written) are searched exactly, and *dead* rows
(tombstones of removed sentences, kept so row numbers never change) are never returned. A search
merges the two and fetches more candidates until it has ``k`` live rows, so callers see one index.

The matrix itself is a headerless little-endian float32 file (``vectors.f32``) that a writer can
extend in place; :func:`append_vectors_file` grows a hard link of it without touching the rows
older readers map. Older indexes stored it as ``.npy`` (:func:`load_vectors`).
"""

from __future__ import annotations

import hashlib
import math
import os
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


def _no_rows() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class AnnIndex:
    """A FAISS index plus the rows left out of it as copies of an indexed row, the exactly
    searched tail after it, and the dead rows no search returns.

    ``copies`` is an int64 array of ``(row, original_row)`` pairs sorted by original row; it is
    empty for the exact index, which holds every row itself. ``tail`` holds the vectors of rows
    ``base_rows ..`` (a memory map, usually). ``dead`` is the sorted int64 array of dead rows.
    """

    index: faiss.Index
    copies: np.ndarray = field(default_factory=_no_copies)
    tail: np.ndarray | None = None
    dead: np.ndarray = field(default_factory=_no_rows)
    _dead_mask: np.ndarray | None = field(default=None, init=False, repr=False)

    @property
    def base_rows(self) -> int:
        """Rows covered by the FAISS index: its vectors plus their copies."""
        return int(self.index.ntotal) + len(self.copies)

    @property
    def tail_rows(self) -> int:
        """Rows after ``base_rows``, searched exactly."""
        return 0 if self.tail is None else len(self.tail)

    @property
    def ntotal(self) -> int:
        """Rows covered, dead ones included (= rows of the matrix)."""
        return self.base_rows + self.tail_rows

    @property
    def live(self) -> int:
        """Rows a search can return."""
        return self.ntotal - len(self.dead)

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

    def dead_mask(self) -> np.ndarray:
        """A boolean per row, True for dead rows (built once)."""
        if self._dead_mask is None or len(self._dead_mask) != self.ntotal:
            mask = np.zeros(self.ntotal, dtype=bool)
            mask[self.dead] = True
            self._dead_mask = mask
        return self._dead_mask


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
    """Add the rows of ``matrix`` beyond ``ann.base_rows`` (``matrix`` holds every row) to the
    FAISS index; the tail, now indexed, is dropped.

    For HNSW a new row that is the same point as an indexed one becomes a copy of it; it is found
    by a search for the new vector itself, which is exact for an identical point in practice
    (a missed copy is simply indexed again, costing a little graph quality, never a result).
    """
    start = ann.base_rows
    ann.tail = None
    ann._dead_mask = None
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
    """Write the FAISS file and, for HNSW, the copies beside it (``<name>.copies.npy``).

    Existing files are unlinked first, never overwritten: they may be hard links shared with
    an older generation.
    """
    path.unlink(missing_ok=True)
    copies_path(path).unlink(missing_ok=True)
    if ann.is_hnsw:
        with open(copies_path(path), "wb") as fh:
            np.save(fh, ann.copies, allow_pickle=False)
    faiss.write_index(ann.index, str(path))


def link_index(old: Path, path: Path) -> None:
    """Hard-link an (immutable) FAISS file and its copies file, if any, to ``path``."""
    os.link(old, path)
    if copies_path(old).exists():
        os.link(copies_path(old), copies_path(path))


def read_index(
    path: Path, *, tail: np.ndarray | None = None, dead: np.ndarray | None = None
) -> AnnIndex:
    """Read a FAISS file (and its copies); ``tail`` are the rows after it, ``dead`` the sorted
    rows never to return."""
    ann = AnnIndex(faiss.read_index(str(path)))
    if ann.hnsw is not None:
        ann.hnsw.efSearch = HNSW_EF_SEARCH
        if copies_path(path).exists():
            ann.copies = (
                np.load(copies_path(path), allow_pickle=False).astype(np.int64).reshape(-1, 2)
            )
    return attach_rows(ann, tail=tail, dead=dead)


def attach_rows(
    ann: AnnIndex, *, tail: np.ndarray | None = None, dead: np.ndarray | None = None
) -> AnnIndex:
    """Give ``ann`` the rows after its FAISS index (searched exactly) and its dead rows."""
    ann.tail = tail if tail is not None and len(tail) else None
    ann.dead = np.sort(np.asarray(dead if dead is not None else [], dtype=np.int64).reshape(-1))
    ann._dead_mask = None
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


def _empty_result(n: int, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, k), -np.inf, dtype=np.float32), np.full((n, k), -1, dtype=np.int64)


def _search_base(ann: AnnIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k over the FAISS index, each hit followed by its copies (same score)."""
    if ann.base_rows == 0:
        return _empty_result(len(queries))
    k = max(1, min(k, ann.base_rows))
    scores, ids = _search_index(ann.index, queries, min(k, ann.distinct))
    if not len(ann.copies):
        return scores, ids
    out_scores, out_ids = _empty_result(len(ids), k)
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


def _search_tail(ann: AnnIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k over the tail rows (inner products), as row ids of the whole matrix."""
    if ann.tail is None:
        return _empty_result(len(queries))
    sims = np.asarray(queries, dtype=np.float32) @ np.asarray(ann.tail, dtype=np.float32).T
    k = min(k, sims.shape[1])
    if k < sims.shape[1]:
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    else:
        top = np.broadcast_to(np.arange(sims.shape[1]), sims.shape)
    top_scores = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    rows = np.take_along_axis(top, order, axis=1)
    return np.take_along_axis(top_scores, order, axis=1), rows.astype(np.int64) + ann.base_rows


def _merge_live(
    ann: AnnIndex, parts: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates of all parts per query, dead rows dropped, best first (-1 / -inf after)."""
    scores = np.concatenate([p[0] for p in parts], axis=1)
    ids = np.concatenate([p[1] for p in parts], axis=1)
    drop = ids < 0
    if len(ann.dead):
        drop |= ann.dead_mask()[np.where(drop, 0, ids)]
    scores = np.where(drop, -np.inf, scores).astype(np.float32)
    ids = np.where(drop, -1, ids)
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def search(ann: AnnIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, row ids) per query row; ids are -1 where fewer than k exist.

    Copies of a hit follow it with the same score, so the rows match what exact search over
    every row returns (up to the order among equal scores). Tail rows are scored exactly and
    merged in; dead rows never appear: the search asks FAISS for more candidates (as many more
    as the dead share suggests, then doubling) until each query has ``k`` live rows.
    """
    if ann.live <= 0:
        return _empty_result(len(queries))
    k = max(1, min(k, ann.live))
    if ann.tail is None and not len(ann.dead):
        return _search_base(ann, queries, k)
    fetch = k + math.ceil(k * len(ann.dead) / ann.live) + (8 if len(ann.dead) else 0)
    while True:
        fetch = min(fetch, ann.ntotal)
        scores, ids = _merge_live(
            ann, [_search_base(ann, queries, fetch), _search_tail(ann, queries, fetch)]
        )
        if fetch >= ann.ntotal or bool(((ids >= 0).sum(axis=1) >= k).all()):
            break
        fetch *= 2
    if scores.shape[1] < k:
        pad_scores, pad_ids = _empty_result(len(ids), k - scores.shape[1])
        scores, ids = np.hstack([scores, pad_scores]), np.hstack([ids, pad_ids])
    return scores[:, :k], ids[:, :k]


def row_bytes(dim: int) -> int:
    """Bytes of one row in a ``vectors.f32`` file."""
    return 4 * dim


def open_vectors(path: Path, rows: int, dim: int) -> np.ndarray:
    """The first ``rows`` rows of a raw float32 vectors file, memory-mapped read-only.

    Only those rows are mapped: a later writer may have appended more to the same file.
    """
    if rows == 0:
        if not path.is_file():
            raise FileNotFoundError(str(path))
        return np.zeros((0, dim), dtype=np.float32)
    return np.memmap(path, dtype="<f4", mode="r", shape=(rows, dim))


def create_vectors_file(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Create a raw float32 vectors file of ``shape`` (a new inode) as a writable memmap.

    The caller fills it and flushes it (:func:`flush_vectors`).
    """
    path.unlink(missing_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(shape[0] * row_bytes(shape[1]))
    if shape[0] == 0:
        return np.zeros(shape, dtype=np.float32)
    return np.memmap(path, dtype="<f4", mode="r+", shape=shape)


def flush_vectors(matrix: np.ndarray) -> None:
    """Write a memmap's changes back to its file (a no-op for an in-memory array)."""
    if isinstance(matrix, np.memmap):
        matrix.flush()


def write_rows(fh: object, rows: np.ndarray, block_rows: int = 65_536) -> None:
    """Write ``rows`` (n, dim) as raw little-endian float32 to an open binary file, by blocks."""
    for lo in range(0, len(rows), block_rows):
        block = np.ascontiguousarray(rows[lo : lo + block_rows], dtype="<f4")
        fh.write(block.tobytes())  # type: ignore[attr-defined]


def append_vectors_file(old: Path, path: Path, old_rows: int, new: np.ndarray) -> bool:
    """Hard-link the vectors file ``old`` to ``path`` and append the rows of ``new`` to it.

    The file is first cut to ``old_rows`` rows, dropping what a crashed writer may have
    appended, never below them, so readers mapping the first ``old_rows`` rows (or fewer) are
    unaffected. Returns False, doing nothing, when hard links are not supported; raises
    ``ValueError`` if ``old`` is shorter than ``old_rows`` rows.
    """
    keep = old_rows * row_bytes(new.shape[1])
    if old.stat().st_size < keep:
        raise ValueError(f"{old} holds fewer than {old_rows} rows")
    try:
        os.link(old, path)
    except OSError:
        return False
    with open(path, "r+b") as fh:
        fh.truncate(keep)
        fh.seek(keep)
        write_rows(fh, new)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def load_vectors(path: Path, *, mmap: bool = True) -> np.ndarray:
    """Read a legacy ``vectors.npy`` matrix (no pickle)."""
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)

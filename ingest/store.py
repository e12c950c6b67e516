"""The index directory: a self-describing, versioned, crash-safe store.

Layout (see index/README.md)::

    index/
      manifest.json        the commit point: names the live generation, schema, models, counts
      LOCK                 flock()ed by the one writer at a time
      gen-000007/          one complete generation (its rows never change once committed)
        manifest.json      the same manifest, for the record
        kb.sqlite          incidents, sections, sentences (+ FTS5), causes, categories, sources
        vectors.f32        raw little-endian float32 unit vectors, ``vectors.rows`` x dim of
                           them (the file may be longer: a later generation's rows, or a
                           crashed writer's); row i is sentences.vec_row i
        vectors.faiss      the FAISS inner-product index over rows [0, faiss.base_rows): exact
                           below 200k rows, else HNSW over the distinct vectors only
        vectors.faiss.copies.npy   (HNSW only) int64 (row, original row) of each repeated vector
        vectors.dead.npy   int64 sorted rows no sentence uses any more (only if there are any)

Indexes written before ``vectors.f32`` hold ``vectors.npy`` (every row in the FAISS file, no dead
rows); they are read as they are and converted by the next commit.

A writer builds a new generation next to the live one (copying the old database, then
applying changes in one transaction), fsyncs it, and atomically replaces ``manifest.json``.
Readers only ever follow ``manifest.json``, so they see the complete old or the complete new
index, never a mix. The previous generation is kept for readers that are still on it; older
ones and leftovers of crashed writers are removed (for hard-linked files, only the names).

Most commits only add rows, or remove a few sentences, and then do not rewrite the vectors:

- New rows are *appended*: the new generation's ``vectors.f32`` is a hard link of the old one,
  cut back to the old row count (dropping what a crashed writer appended, never a row a
  reader maps) and extended with the new rows. Readers map exactly their own ``rows``.
- The FAISS file is hard-linked too while the rows after it (the *tail*, searched exactly)
  stay within ``MAX_TAIL_ROWS``; past that the tail is added to a new FAISS file.
- A removed sentence leaves a *dead* row behind (its SQLite row is gone; the vector stays,
  so no row number changes and no HNSW graph is rebuilt); searches skip dead rows.
- A commit *compacts* (renumbers the rows in sentence order into a new file and builds a new
  FAISS index) when dead rows would exceed ``MAX_DEAD_FRACTION`` of all rows, and on the
  first commit of an index (or a rebuild). A legacy ``vectors.npy`` is copied into a new
  ``vectors.f32`` by the next commit, keeping its row numbers and FAISS file.

Crash testing: when the environment variable ``PMKB_CRASH_AT`` names one of
:data:`CRASH_POINTS`, the writer kills its own process with SIGKILL at that point (see
:func:`crash_point`). It costs one dictionary lookup per point, a handful per ingest.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shutil
import signal
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, vectors
from .errors import IndexCorrupt, IndexLocked, IndexNotFound, IndexVersionMismatch
from .records import Incident, Sentence, incident_from_dict, sentence_from_dict

FORMAT = "postmortem-kb-index"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
DB_FILE = "kb.sqlite"
VECTORS_FILE = "vectors.f32"
LEGACY_VECTORS_FILE = "vectors.npy"  # indexes written before vectors.f32 (read, then converted)
DEAD_FILE = "vectors.dead.npy"
FAISS_FILE = "vectors.faiss"
MAX_TAIL_ROWS = 16_384  # rows after the FAISS file before a commit folds them into it
MAX_DEAD_FRACTION = 0.25  # dead rows beyond this share of all rows make a commit compact
LOCK_FILE = "LOCK"
VECTOR_BLOCK_ROWS = 65_536  # rows copied at a time when a generation's matrix is written
NEW_VECTORS_FILE = "new-vectors.f32"  # raw float32 rows added by a writer, until commit
GEN_PREFIX = "gen-"
CRASH_ENV = "PMKB_CRASH_AT"
# Where a test may kill a writer (in the order an ingest passes them):
CRASH_POINTS: tuple[str, ...] = (
    "mid-chunk",  # pipeline: some incidents of a chunk written to the new database, not all
    "before-commit",  # pipeline: everything added, commit not started
    "db-committed",  # SQLite transaction committed in gen-N.tmp (compacting: vectors written)
    "vectors-write",  # vectors.f32 half written (appending: half of the new rows appended)
    "faiss-write",  # vectors.faiss half written (or hard-linked, when the tail stays short)
    "before-rename",  # gen-N.tmp complete and fsynced, not yet renamed
    "after-rename",  # gen-N renamed into place, manifest.json not yet swapped
    "after-manifest",  # manifest.json swapped (committed), old generations not yet cleaned
)

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE incidents (
    incident_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    organization TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    year INTEGER,
    published TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    categories TEXT NOT NULL DEFAULT '',
    systems TEXT NOT NULL DEFAULT '',
    duration_minutes REAL,
    n_sentences INTEGER NOT NULL DEFAULT 0,
    n_causes INTEGER NOT NULL DEFAULT 0,
    n_actions INTEGER NOT NULL DEFAULT 0,
    n_open_actions INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE sources (
    source TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    duplicate_of TEXT NOT NULL DEFAULT ''
);
CREATE TABLE sentences (
    id INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    section INTEGER NOT NULL,
    heading TEXT NOT NULL DEFAULT '',
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    role TEXT NOT NULL,
    roles TEXT NOT NULL,
    block_kind TEXT NOT NULL,
    entities TEXT NOT NULL DEFAULT '[]',
    vec_row INTEGER NOT NULL
);
CREATE INDEX sentences_incident ON sentences (incident_id, idx);
CREATE INDEX sentences_vec_row ON sentences (vec_row);
CREATE VIRTUAL TABLE sentences_fts USING fts5 (text, heading, tokenize = 'porter unicode61');
CREATE TABLE causes (
    incident_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    sentence INTEGER NOT NULL
);
CREATE INDEX causes_incident ON causes (incident_id);
CREATE TABLE cause_categories (
    incident_id TEXT NOT NULL,
    cause_idx INTEGER NOT NULL,
    category_id TEXT NOT NULL,
    category TEXT NOT NULL,
    confidence REAL NOT NULL
);
CREATE INDEX cause_categories_incident ON cause_categories (incident_id);
CREATE INDEX cause_categories_category ON cause_categories (category_id);
CREATE TABLE incident_categories (
    incident_id TEXT NOT NULL,
    category_id TEXT NOT NULL,
    category TEXT NOT NULL,
    confidence REAL NOT NULL
);
CREATE INDEX incident_categories_category ON incident_categories (category_id);
CREATE TABLE systems (
    incident_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    mentions INTEGER NOT NULL
);
CREATE INDEX systems_name ON systems (name COLLATE NOCASE);
"""


def _library_versions() -> dict[str, str]:
    import faiss

    versions = {
        "postmortem_kb": __version__,
        "python": platform.python_version(),
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "sqlite": sqlite3.sqlite_version,
    }
    try:  # the installed version, without importing spaCy (seconds) into a process without it
        versions["spacy"] = metadata.version("spacy")
    except metadata.PackageNotFoundError:  # pragma: no cover
        pass
    return versions


def crash_point(name: str, *, partial_file: Path | None = None, written_from: int = 0) -> None:
    """Test hook: SIGKILL this process here when ``$PMKB_CRASH_AT`` equals ``name``.

    With ``partial_file`` the file is first cut to half of what was written to it from byte
    ``written_from`` on (a file appended to keeps its older bytes), which is what a write
    interrupted midway leaves on disk. Nothing happens unless the variable is set.
    """
    if os.environ.get(CRASH_ENV) != name:
        return
    if partial_file is not None and partial_file.exists():
        size = partial_file.stat().st_size
        with open(partial_file, "r+b") as fh:
            fh.truncate(written_from + (size - written_from) // 2)
            fh.flush()
            os.fsync(fh.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to ``path`` via a temporary file, fsync and rename (atomic on POSIX)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent)


def read_manifest(index_dir: str | Path) -> dict[str, Any]:
    """Read and sanity-check ``manifest.json``; raise a named error if absent or foreign."""
    index_dir = Path(index_dir)
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexNotFound(str(index_dir))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(str(index_dir), f"manifest.json: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexCorrupt(str(index_dir), "manifest.json is not a postmortem-kb manifest")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexVersionMismatch(
            str(index_dir),
            f"with schema version {manifest.get('schema_version')} "
            f"(this postmortem-kb reads version {SCHEMA_VERSION})",
        )
    return manifest


def check_embedder(manifest: dict[str, Any], index_dir: str | Path, name: str, dim: int) -> None:
    """Refuse to mix vectors of one model with queries of another."""
    emb = manifest.get("embedding", {})
    if emb.get("model") != name or int(emb.get("dim", -1)) != dim:
        raise IndexVersionMismatch(
            str(index_dir),
            f"with embedding model {emb.get('model')!r} (dim {emb.get('dim')}), "
            f"not {name!r} (dim {dim})",
        )


class IndexLock:
    """An exclusive, non-blocking writer lock on ``index/LOCK`` (released on process death)."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / LOCK_FILE
        self._fh: Any = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            raise IndexLocked(str(self.path.parent), holder) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    if readonly:
        uri = f"file:{path}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def _generation_number(name: str) -> int:
    try:
        return int(name[len(GEN_PREFIX) :].split(".", 1)[0])
    except ValueError:
        return 0


def _live_generation_name(index_dir: Path) -> str:
    """The generation ``manifest.json`` names, read leniently ("" if none can be read).

    Even a rebuild must not delete it before its own commit: until then readers use it.
    """
    try:
        data = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        name = str(data.get("generation", "")) if isinstance(data, dict) else ""
    except (OSError, ValueError):
        return ""
    return name if name.startswith(GEN_PREFIX) and "/" not in name else ""


@dataclass(frozen=True)
class VectorLayout:
    """How one generation stores its vectors, as its manifest says."""

    file: str  # VECTORS_FILE, or LEGACY_VECTORS_FILE for indexes written before it
    rows: int  # rows of the matrix, dead ones included
    base_rows: int  # rows covered by vectors.faiss; the rest (the tail) is searched exactly
    dead_rows: int  # rows no sentence uses (listed in DEAD_FILE)

    @property
    def legacy(self) -> bool:
        return self.file == LEGACY_VECTORS_FILE


def _vector_layout(manifest: dict[str, Any]) -> VectorLayout:
    """The layout a manifest describes; a manifest without ``vectors`` is the legacy one."""
    info = manifest.get("vectors")
    faiss_info = manifest.get("faiss") or {}
    if info is None:
        rows = int(faiss_info.get("vectors", 0))
        return VectorLayout(LEGACY_VECTORS_FILE, rows, rows, 0)
    if not isinstance(info, dict) or info.get("file") != VECTORS_FILE:
        raise ValueError(f"unknown vectors layout in the manifest: {info!r}")
    rows = int(info["rows"])
    return VectorLayout(
        VECTORS_FILE, rows, int(faiss_info.get("base_rows", rows)), int(info.get("dead_rows", 0))
    )


def _generation_vectors(
    gen_dir: Path, manifest: dict[str, Any], dim: int
) -> tuple[np.ndarray, VectorLayout]:
    """A generation's (rows, dim) vectors, memory-mapped read-only, and their layout."""
    layout = _vector_layout(manifest)
    if layout.legacy:
        matrix = vectors.load_vectors(gen_dir / LEGACY_VECTORS_FILE, mmap=True)
        if matrix.ndim != 2 or matrix.shape[1] != dim:
            raise ValueError(f"vectors of shape {matrix.shape}, expected (n, {dim})")
        rows = len(matrix)
        return matrix, VectorLayout(LEGACY_VECTORS_FILE, rows, rows, 0)
    return vectors.open_vectors(gen_dir / VECTORS_FILE, layout.rows, dim), layout


def _dead_rows(gen_dir: Path, layout: VectorLayout) -> np.ndarray:
    """The sorted dead rows of a generation (none for most)."""
    if not layout.dead_rows:
        return np.zeros(0, dtype=np.int64)
    dead = np.load(gen_dir / DEAD_FILE, allow_pickle=False).astype(np.int64).reshape(-1)
    if len(dead) != layout.dead_rows or (len(dead) and int(dead[-1]) >= layout.rows):
        raise ValueError(f"{DEAD_FILE} does not match the manifest")
    return dead


@dataclass(frozen=True)
class VectorPlan:
    """What a commit does with the vectors: append (keeping row numbers) or compact."""

    compact: bool
    old_rows: int  # rows of the generation built on (0 without one)
    rows: int  # rows of the new generation
    live_rows: int  # rows a sentence uses


@dataclass(frozen=True)
class StoredSource:
    source: str
    incident_id: str
    sha256: str
    duplicate_of: str


class IndexWriter:
    """Build the next generation of an index; use as a context manager.

    Nothing is visible to readers until :meth:`commit` swaps the manifest; an exception
    (or a kill) leaves the live generation untouched and the half-built one is removed
    by the next writer.
    """

    def __init__(
        self,
        index_dir: str | Path,
        *,
        embedder_name: str,
        dim: int,
        rebuild: bool = False,
        extra_manifest: dict[str, Any] | None = None,
        hnsw_threshold: int = vectors.HNSW_THRESHOLD,
        max_tail_rows: int = MAX_TAIL_ROWS,
        max_dead_fraction: float = MAX_DEAD_FRACTION,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.embedder_name = embedder_name
        self.dim = dim
        self.rebuild = rebuild
        self.extra_manifest = extra_manifest or {}
        self.hnsw_threshold = hnsw_threshold
        self.max_tail_rows = max_tail_rows
        self.max_dead_fraction = max_dead_fraction
        self._lock = IndexLock(self.index_dir)
        self._old_manifest: dict[str, Any] | None = None
        self._live = ""  # the generation readers use now (kept even by a rebuild)
        self._old_vectors: np.ndarray | None = None
        self._old_layout: VectorLayout | None = None
        self._new_vectors_file: Any = None  # new vectors spill to gen-N.tmp/NEW_VECTORS_FILE
        self._n_new = 0
        self.conn: sqlite3.Connection | None = None
        self.gen_dir: Path | None = None
        self.committed = False

    # -- life cycle ---------------------------------------------------------------------
    def __enter__(self) -> IndexWriter:
        self._lock.acquire()
        try:
            self._open()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self._new_vectors_file is not None:
                self._new_vectors_file.close()
                self._new_vectors_file = None
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            if not self.committed and self.gen_dir is not None:
                shutil.rmtree(self.gen_dir, ignore_errors=True)
        finally:
            self._lock.release()

    def _open(self) -> None:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        old_gen: Path | None = None
        self._live = _live_generation_name(self.index_dir)
        if (self.index_dir / MANIFEST).exists() and not self.rebuild:
            self._old_manifest = read_manifest(self.index_dir)
            check_embedder(self._old_manifest, self.index_dir, self.embedder_name, self.dim)
            old_gen = self.index_dir / self._old_manifest["generation"]
        self._remove_stale_generations(keep_previous=False)
        number = max([_generation_number(p.name) for p in self._generations()] or [0]) + 1
        self.gen_dir = self.index_dir / f"{GEN_PREFIX}{number:06d}.tmp"
        self.gen_dir.mkdir()
        db_path = self.gen_dir / DB_FILE
        if old_gen is not None:
            try:
                shutil.copyfile(old_gen / DB_FILE, db_path)
                assert self._old_manifest is not None
                self._old_vectors, self._old_layout = _generation_vectors(
                    old_gen, self._old_manifest, self.dim
                )
            except (OSError, ValueError) as exc:
                raise IndexCorrupt(str(self.index_dir), str(exc)) from exc
        self.conn = _connect(db_path, readonly=False)
        if old_gen is None:
            self.conn.executescript(SCHEMA)
        self.conn.execute("BEGIN")

    def _generations(self) -> list[Path]:
        return sorted(
            (p for p in self.index_dir.iterdir() if p.name.startswith(GEN_PREFIX) and p.is_dir()),
            key=lambda p: _generation_number(p.name),
        )

    def _remove_stale_generations(self, *, keep_previous: bool, previous: str = "") -> None:
        """Delete leftovers of crashed writers and generations no reader should still use."""
        live = self._live
        for path in self._generations():
            if path.name in (live, previous if keep_previous else ""):
                continue
            if self.gen_dir is not None and path == self.gen_dir:
                continue
            shutil.rmtree(path, ignore_errors=True)
        for tmp in self.index_dir.glob(f".{MANIFEST}.*.tmp"):
            tmp.unlink(missing_ok=True)

    # -- reading what is there ------------------------------------------------------------
    @property
    def previous_manifest(self) -> dict[str, Any] | None:
        """The manifest of the live generation this writer builds on (None for a new index)."""
        return self._old_manifest

    def sources(self) -> dict[str, StoredSource]:
        """Every source path already in the index (duplicates included)."""
        assert self.conn is not None
        rows = self.conn.execute("SELECT source, incident_id, sha256, duplicate_of FROM sources")
        return {r["source"]: StoredSource(*r) for r in rows}

    def has_source(self, source: str) -> bool:
        """True if ``source`` is (still) recorded in the generation being built."""
        assert self.conn is not None
        row = self.conn.execute("SELECT 1 FROM sources WHERE source = ?", (source,)).fetchone()
        return row is not None

    def incident_ids(self) -> set[str]:
        assert self.conn is not None
        return {r[0] for r in self.conn.execute("SELECT incident_id FROM incidents")}

    def incident_by_sha(self, sha256: str) -> tuple[str, str] | None:
        """(incident_id, source) of an indexed incident with this text, if any."""
        assert self.conn is not None
        row = self.conn.execute(
            "SELECT incident_id, source FROM incidents WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    # -- changes ----------------------------------------------------------------------------
    def remove_source(self, source: str) -> list[str]:
        """Forget a source; its incident goes too unless it was only a duplicate name.

        Returns the other names (duplicates) of a removed incident: they are forgotten too,
        and the caller must index them again from their own files.
        """
        assert self.conn is not None
        row = self.conn.execute(
            "SELECT incident_id, duplicate_of FROM sources WHERE source = ?", (source,)
        ).fetchone()
        self.conn.execute("DELETE FROM sources WHERE source = ?", (source,))
        if row and not row["duplicate_of"]:
            return self.remove_incident(row["incident_id"])
        return []

    def remove_incident(self, incident_id: str, *, keep_duplicates: bool = False) -> list[str]:
        """Delete an incident and every name it has; return its duplicate names.

        With ``keep_duplicates`` the duplicate names stay (the incident is being replaced
        under the same id) and nothing is returned.
        """
        assert self.conn is not None
        c = self.conn
        orphans = [
            r[0]
            for r in c.execute(
                "SELECT source FROM sources WHERE incident_id = ? AND duplicate_of != '' "
                "ORDER BY source",
                (incident_id,),
            )
        ]
        ids = [
            r[0] for r in c.execute("SELECT id FROM sentences WHERE incident_id=?", (incident_id,))
        ]
        c.executemany("DELETE FROM sentences_fts WHERE rowid = ?", [(i,) for i in ids])
        for table in (
            "sentences",
            "causes",
            "cause_categories",
            "incident_categories",
            "systems",
            "incidents",
        ):
            c.execute(f"DELETE FROM {table} WHERE incident_id = ?", (incident_id,))
        if keep_duplicates:
            c.execute(
                "DELETE FROM sources WHERE incident_id = ? AND duplicate_of = ''", (incident_id,)
            )
            orphans = []
        else:
            c.execute("DELETE FROM sources WHERE incident_id = ?", (incident_id,))
        return orphans

    def add_duplicate(self, source: str, incident_id: str, sha256: str, duplicate_of: str) -> None:
        """Record a second name for an already indexed text (indexed once)."""
        assert self.conn is not None
        self.conn.execute(
            "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)",
            (source, incident_id, sha256, duplicate_of),
        )

    def add_incident(self, incident: Incident, sentence_vectors: np.ndarray) -> None:
        """Insert one incident with one unit vector per sentence (same order)."""
        assert self.conn is not None
        if len(sentence_vectors) != len(incident.sentences):
            raise ValueError("one vector per sentence is required")
        sentence_vectors = np.asarray(sentence_vectors, dtype=np.float32)
        if sentence_vectors.size == 0:
            sentence_vectors = sentence_vectors.reshape(0, self.dim)
        if sentence_vectors.shape != (len(incident.sentences), self.dim):
            raise ValueError(f"vectors of shape {sentence_vectors.shape}, expected (n, {self.dim})")
        c = self.conn
        self.remove_incident(incident.incident_id, keep_duplicates=True)
        record = incident.to_dict()
        record.pop("text")
        record.pop("sentences")
        open_actions = sum(1 for a in incident.actions if a.status in ("planned", "in_progress"))
        year = int(incident.date[:4]) if incident.date[:4].isdigit() else None
        c.execute(
            "INSERT INTO incidents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                incident.incident_id,
                incident.source,
                incident.title,
                incident.organization,
                incident.date,
                year,
                incident.published,
                incident.sha256,
                incident.format,
                ";".join(cs.category_id for cs in incident.categories),
                ";".join(s.name for s in incident.systems),
                incident.duration_minutes,
                len(incident.sentences),
                len(incident.causes),
                len(incident.actions),
                open_actions,
                incident.text,
                json.dumps(record, ensure_ascii=False),
            ),
        )
        c.execute(
            "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, '')",
            (incident.source, incident.incident_id, incident.sha256),
        )
        headings = [s.title for s in incident.sections]
        first_new = self._n_new
        for pos, sent in enumerate(incident.sentences):
            heading = headings[sent.section] if 0 <= sent.section < len(headings) else ""
            cur = c.execute(
                "INSERT INTO sentences (incident_id, idx, section, heading, start, end, text, "
                "role, roles, block_kind, entities, vec_row) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    incident.incident_id,
                    sent.index,
                    sent.section,
                    heading,
                    sent.start,
                    sent.end,
                    sent.text,
                    sent.role,
                    ",".join(sent.roles or (sent.role,)),
                    sent.block_kind,
                    json.dumps([e.to_dict() for e in sent.entities], ensure_ascii=False),
                    -1 - (first_new + pos),
                ),
            )
            c.execute(
                "INSERT INTO sentences_fts (rowid, text, heading) VALUES (?, ?, ?)",
                (cur.lastrowid, sent.text, heading),
            )
        self._append_new_vectors(sentence_vectors)
        self._n_new += len(incident.sentences)
        for i, cause in enumerate(incident.causes):
            c.execute(
                "INSERT INTO causes VALUES (?,?,?,?,?,?,?)",
                (
                    incident.incident_id,
                    i,
                    cause.kind,
                    cause.text,
                    cause.start,
                    cause.end,
                    cause.sentence,
                ),
            )
            c.executemany(
                "INSERT INTO cause_categories VALUES (?,?,?,?,?)",
                [
                    (incident.incident_id, i, cs.category_id, cs.category, cs.confidence)
                    for cs in cause.categories
                ],
            )
        c.executemany(
            "INSERT INTO incident_categories VALUES (?,?,?,?)",
            [
                (incident.incident_id, cs.category_id, cs.category, cs.confidence)
                for cs in incident.categories
            ],
        )
        c.executemany(
            "INSERT INTO systems VALUES (?,?,?,?)",
            [(incident.incident_id, s.name, s.kind, s.mentions) for s in incident.systems],
        )

    def _append_new_vectors(self, matrix: np.ndarray) -> None:
        """Spill new vectors to disk as they come, so a big ingest does not hold them all."""
        assert self.gen_dir is not None
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise ValueError(f"vectors of shape {matrix.shape}, expected (n, {self.dim})")
        if self._new_vectors_file is None:
            self._new_vectors_file = open(self.gen_dir / NEW_VECTORS_FILE, "ab")
        self._new_vectors_file.write(matrix.tobytes())

    def _new_vectors(self) -> np.ndarray:
        """The spilled new vectors as a read-only memmap (n_new, dim)."""
        assert self.gen_dir is not None
        if self._new_vectors_file is not None:
            self._new_vectors_file.close()
            self._new_vectors_file = None
        if self._n_new == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.memmap(
            self.gen_dir / NEW_VECTORS_FILE,
            dtype=np.float32,
            mode="r",
            shape=(self._n_new, self.dim),
        )

    # -- commit -----------------------------------------------------------------------------
    def _plan_vectors(self) -> VectorPlan:
        """Append (keep every row number, new rows after the old ones) unless there is no
        generation to build on or dead rows would pass ``max_dead_fraction``: compact then."""
        assert self.conn is not None
        old_rows = len(self._old_vectors) if self._old_vectors is not None else 0
        live = int(self.conn.execute("SELECT count(*) FROM sentences").fetchone()[0])
        rows = old_rows + self._n_new
        compact = self._old_vectors is None or rows - live > self.max_dead_fraction * rows
        return VectorPlan(compact, old_rows, live if compact else rows, live)

    def _number_new_rows(self, plan: VectorPlan) -> np.ndarray:
        """Give the new sentences their final rows (after the old ones, in the order they were
        added); return the dead rows, sorted."""
        assert self.conn is not None
        self.conn.execute(
            "UPDATE sentences SET vec_row = ? - vec_row WHERE vec_row < 0", (plan.old_rows - 1,)
        )
        if plan.live_rows == plan.rows:
            return np.zeros(0, dtype=np.int64)
        found = self.conn.execute("SELECT group_concat(vec_row) FROM sentences").fetchone()[0]
        used = np.fromstring(found, dtype=np.int64, sep=",") if found else np.zeros(0, np.int64)
        live = np.zeros(plan.rows, dtype=bool)
        live[used] = True
        dead = np.flatnonzero(~live).astype(np.int64)
        if len(dead) != plan.rows - plan.live_rows:  # two sentences on one row: not our index
            raise IndexCorrupt(str(self.index_dir), "sentences share vector rows")
        return dead

    def _compact_vectors(self, path: Path) -> np.ndarray:
        """Write the live rows, in sentence-id order, to a new file at ``path`` (a memmap) and
        renumber the sentences to match.

        Rows are copied block by block from the mmapped old generation and the new vectors,
        so memory holds one block, not a second copy of the matrix.
        """
        assert self.conn is not None
        rows = np.fromiter(
            (tuple(r) for r in self.conn.execute("SELECT id, vec_row FROM sentences ORDER BY id")),
            dtype=np.dtype([("id", np.int64), ("vec_row", np.int64)]),
        )
        sids, vec_rows = rows["id"], rows["vec_row"]
        out = self._copy_vectors_by_row(path, vec_rows, self._old_vectors, self._new_vectors())
        positions = np.arange(len(rows), dtype=np.int64)
        moved = vec_rows != positions
        self.conn.executemany(
            "UPDATE sentences SET vec_row = ? WHERE id = ?",
            zip(positions[moved].tolist(), sids[moved].tolist(), strict=True),
        )
        return out

    def _copy_vectors_by_row(
        self, path: Path, vec_rows: np.ndarray, old: np.ndarray | None, new: np.ndarray
    ) -> np.ndarray:
        """Write row i of the new matrix from the old row ``vec_rows[i]`` (>= 0) or the new
        vector ``-1 - vec_rows[i]``, block by block."""
        out = vectors.create_vectors_file(path, (len(vec_rows), self.dim))
        for lo in range(0, len(vec_rows), VECTOR_BLOCK_ROWS):
            block = vec_rows[lo : lo + VECTOR_BLOCK_ROWS]
            from_old = block >= 0
            if from_old.any():
                assert old is not None
                out[lo : lo + len(block)][from_old] = old[block[from_old]]
            if (~from_old).any():
                out[lo : lo + len(block)][~from_old] = new[-1 - block[~from_old]]
        return out

    def _append_vectors(self, path: Path, plan: VectorPlan) -> int:
        """Write the appended generation's vectors to ``path``: a hard link of the old file
        grown by the new rows, or (legacy ``vectors.npy``, no hard links) a new file with the
        old rows and then the new ones. Returns the byte offset where this writer's own
        writing to the file began (the old rows' end when linked, else 0)."""
        assert self.gen_dir is not None and self._old_vectors is not None
        assert self._old_layout is not None and self._old_manifest is not None
        new = self._new_vectors()
        if not self._old_layout.legacy:
            old_path = self.index_dir / self._old_manifest["generation"] / VECTORS_FILE
            try:
                if vectors.append_vectors_file(old_path, path, plan.old_rows, new):
                    return plan.old_rows * vectors.row_bytes(self.dim)
            except ValueError as exc:
                raise IndexCorrupt(str(self.index_dir), str(exc)) from exc
        with open(path, "wb") as fh:
            vectors.write_rows(fh, self._old_vectors, VECTOR_BLOCK_ROWS)
            vectors.write_rows(fh, new, VECTOR_BLOCK_ROWS)
        return 0

    def _write_faiss(self, plan: VectorPlan) -> tuple[dict[str, Any], bool]:
        """Give the new generation its FAISS file; return its manifest entry and whether it is
        a hard link of the old one (the tail grew by the new rows, still short enough)."""
        assert self.gen_dir is not None
        path = self.gen_dir / FAISS_FILE
        hnsw = vectors.wants_hnsw(plan.rows, self.hnsw_threshold)
        old_info: dict[str, Any] = (self._old_manifest or {}).get("faiss") or {}
        same_kind = not plan.compact and ("HNSW" in str(old_info.get("type", ""))) == hnsw
        old_path = None
        if self._old_manifest is not None:
            old_path = self.index_dir / self._old_manifest["generation"] / FAISS_FILE
        if same_kind and old_path is not None and self._old_layout is not None:
            if plan.rows - self._old_layout.base_rows <= self.max_tail_rows:
                try:
                    vectors.link_index(old_path, path)
                except OSError:
                    vectors.write_index(vectors.read_index(old_path), path)  # no hard links
                info = {
                    "type": old_info["type"],
                    "base_rows": self._old_layout.base_rows,
                    "distinct_vectors": int(old_info["distinct_vectors"]),
                }
                return info, True
        matrix = vectors.open_vectors(self.gen_dir / VECTORS_FILE, plan.rows, self.dim)
        if same_kind and old_path is not None:
            ann = vectors.extend_index(vectors.read_index(old_path), matrix)
        else:
            ann = vectors.build_index(matrix, hnsw_threshold=self.hnsw_threshold)
        vectors.write_index(ann, path)
        info = {"type": ann.kind, "base_rows": ann.base_rows, "distinct_vectors": ann.distinct}
        return info, False

    def counts(self) -> dict[str, int]:
        assert self.conn is not None
        q = self.conn.execute
        return {
            "incidents": q("SELECT count(*) FROM incidents").fetchone()[0],
            "sentences": q("SELECT count(*) FROM sentences").fetchone()[0],
            "causes": q("SELECT count(*) FROM causes").fetchone()[0],
            "sources": q("SELECT count(*) FROM sources").fetchone()[0],
        }

    def commit(self) -> dict[str, Any]:
        """Finish the generation, fsync it, and atomically make it the live index."""
        assert self.conn is not None and self.gen_dir is not None
        vectors_path = self.gen_dir / VECTORS_FILE
        plan = self._plan_vectors()
        compacted = None
        if plan.compact:
            compacted = self._compact_vectors(vectors_path)
            dead = np.zeros(0, dtype=np.int64)
        else:
            dead = self._number_new_rows(plan)
        counts = self.counts()
        self.conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        self.conn.commit()
        self.conn.execute("PRAGMA optimize")
        self.conn.close()
        self.conn = None
        crash_point("db-committed")

        written_from = 0
        if compacted is not None:
            vectors.flush_vectors(compacted)
            del compacted
        else:
            written_from = self._append_vectors(vectors_path, plan)
        crash_point("vectors-write", partial_file=vectors_path, written_from=written_from)
        if len(dead):
            with open(self.gen_dir / DEAD_FILE, "wb") as fh:
                np.save(fh, dead, allow_pickle=False)
        faiss_info, linked = self._write_faiss(plan)
        crash_point("faiss-write", partial_file=None if linked else self.gen_dir / FAISS_FILE)
        self._old_vectors = None
        (self.gen_dir / NEW_VECTORS_FILE).unlink(missing_ok=True)

        final_name = self.gen_dir.name.removesuffix(".tmp")
        manifest = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "generation": final_name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "embedding": {"model": self.embedder_name, "dim": self.dim, "normalized": True},
            "vectors": {"file": VECTORS_FILE, "rows": plan.rows, "dead_rows": len(dead)},
            "faiss": {"vectors": plan.rows, "metric": "inner_product", **faiss_info},
            "counts": counts,
            "versions": _library_versions(),
            **self.extra_manifest,
        }
        write_json_atomic(self.gen_dir / MANIFEST, manifest)
        for name in (DB_FILE, VECTORS_FILE, FAISS_FILE, DEAD_FILE):
            if name != DEAD_FILE or len(dead):
                _fsync_path(self.gen_dir / name)
        if vectors.copies_path(self.gen_dir / FAISS_FILE).exists():
            _fsync_path(vectors.copies_path(self.gen_dir / FAISS_FILE))
        _fsync_path(self.gen_dir)
        crash_point("before-rename")
        final_dir = self.index_dir / final_name
        os.replace(self.gen_dir, final_dir)
        _fsync_path(self.index_dir)
        self.gen_dir = final_dir
        crash_point("after-rename")
        previous = self._live
        write_json_atomic(self.index_dir / MANIFEST, manifest)  # the commit point
        self.committed = True
        crash_point("after-manifest")
        self._old_manifest = manifest
        self._live = final_name
        self._remove_stale_generations(keep_previous=True, previous=previous)
        return manifest


class KnowledgeBase:
    """Read-only view of one committed generation of an index."""

    def __init__(self, index_dir: Path, manifest: dict[str, Any]) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self.generation: str = manifest["generation"]
        gen_dir = index_dir / self.generation
        try:
            self.conn = _connect(gen_dir / DB_FILE, readonly=True)
            # Mapped now, so the generation stays readable even after a later writer
            # deletes its folder (the mapping and the open database keep the data alive).
            self._vectors, layout = _generation_vectors(gen_dir, manifest, self.dim)
            self.ann = vectors.read_index(
                gen_dir / FAISS_FILE,
                tail=self._vectors[layout.base_rows :],
                dead=_dead_rows(gen_dir, layout),
            )
            self.conn.execute("SELECT count(*) FROM incidents").fetchone()
        except (OSError, RuntimeError, ValueError, KeyError, sqlite3.Error) as exc:
            raise IndexCorrupt(str(index_dir), str(exc)) from exc
        if self.ann.base_rows != layout.base_rows or len(self._vectors) != self.ann.ntotal:
            raise IndexCorrupt(
                str(index_dir),
                f"{len(self._vectors)} vectors ({layout.base_rows} indexed) but "
                f"{self.ann.base_rows} in the FAISS index",
            )

    @classmethod
    def open(cls, index_dir: str | Path) -> KnowledgeBase:
        """Open the live generation (retrying once if a writer swapped it meanwhile)."""
        index_dir = Path(index_dir)
        for attempt in range(3):
            manifest = read_manifest(index_dir)
            try:
                return cls(index_dir, manifest)
            except IndexCorrupt:
                if attempt == 2 or read_manifest(index_dir)["generation"] == manifest["generation"]:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def embedding_model(self) -> str:
        return str(self.manifest["embedding"]["model"])

    @property
    def dim(self) -> int:
        return int(self.manifest["embedding"]["dim"])

    def is_stale(self) -> bool:
        """True when a writer has committed a newer generation since this one was opened."""
        try:
            return read_manifest(self.index_dir)["generation"] != self.generation
        except Exception:
            return False

    def close(self) -> None:
        self.conn.close()

    # -- incidents ----------------------------------------------------------------------------
    def incident(self, incident_id: str) -> Incident | None:
        row = self.conn.execute(
            "SELECT text, record FROM incidents WHERE incident_id = ?", (incident_id,)
        ).fetchone()
        if row is None:
            return None
        record = json.loads(row["record"])
        record["text"] = row["text"]
        record["sentences"] = [
            self._sentence_dict(r)
            for r in self.conn.execute(
                "SELECT * FROM sentences WHERE incident_id = ? ORDER BY idx", (incident_id,)
            )
        ]
        return incident_from_dict(record)

    def incident_rows(self) -> list[dict[str, Any]]:
        """One summary row per incident (no full text), ordered by date then title."""
        rows = self.conn.execute(
            "SELECT incident_id, source, title, organization, date, year, published, categories, "
            "systems, duration_minutes, n_sentences, n_causes, n_actions, n_open_actions "
            "FROM incidents ORDER BY date DESC, title"
        )
        return [dict(r) for r in rows]

    def _rows_where_in(self, select: str, column: str, values: list[Any]) -> Iterator[sqlite3.Row]:
        """Rows of ``select`` whose ``column`` is one of ``values`` (in chunks of 500)."""
        for chunk in _chunks(values, 500):
            marks = ",".join("?" * len(chunk))
            yield from self.conn.execute(f"{select} WHERE {column} IN ({marks})", chunk)

    def incident_meta(self, incident_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Summary fields of the given incidents, keyed by id."""
        select = (
            "SELECT incident_id, source, title, organization, date, year, categories, systems "
            "FROM incidents"
        )
        ids = list(dict.fromkeys(incident_ids))
        return {r["incident_id"]: dict(r) for r in self._rows_where_in(select, "incident_id", ids)}

    # -- sentences ----------------------------------------------------------------------------
    @staticmethod
    def _sentence_dict(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "index": row["idx"],
            "section": row["section"],
            "start": row["start"],
            "end": row["end"],
            "text": row["text"],
            "role": row["role"],
            "roles": tuple(row["roles"].split(",")) if row["roles"] else (),
            "block_kind": row["block_kind"],
            "entities": json.loads(row["entities"]),
        }

    _SENTENCE_SELECT = (
        "SELECT id, incident_id, idx, heading, start, end, text, role, roles, vec_row "
        "FROM sentences"
    )

    def sentences_by_vec_rows(self, rows: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Sentence rows (as dicts with incident_id and heading) keyed by FAISS id."""
        wanted = [int(r) for r in rows if r >= 0]
        found = self._rows_where_in(self._SENTENCE_SELECT, "vec_row", wanted)
        return {r["vec_row"]: dict(r) for r in found}

    def sentences_by_ids(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Sentence rows keyed by their SQLite id."""
        found = self._rows_where_in(self._SENTENCE_SELECT, "id", list(ids))
        return {r["id"]: dict(r) for r in found}

    def vec_rows_by_ids(self, ids: Sequence[int]) -> dict[int, int]:
        """The FAISS row of each given sentence id (only the two columns are read)."""
        found = self._rows_where_in("SELECT id, vec_row FROM sentences", "id", list(ids))
        return {int(r[0]): int(r[1]) for r in found}

    def fts(self, match: str, limit: int) -> list[tuple[int, float]]:
        """(sentence id, bm25 score; higher is better) for an FTS5 MATCH expression."""
        if not match:
            return []
        try:
            rows = self.conn.execute(
                "SELECT rowid, -bm25(sentences_fts, 1.0, 0.25) AS score FROM sentences_fts "
                "WHERE sentences_fts MATCH ? ORDER BY score DESC LIMIT ?",
                (match, limit),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [(int(r[0]), float(r[1])) for r in rows]

    def vectors(self) -> np.ndarray:
        """The (n, dim) unit vectors of this generation, memory-mapped read-only."""
        return self._vectors

    def incident_vec_rows(self, incident_id: str, role: str | None = None) -> list[int]:
        sql = "SELECT vec_row FROM sentences WHERE incident_id = ?"
        args: list[Any] = [incident_id]
        if role:
            sql += " AND (',' || roles || ',') LIKE ?"
            args.append(f"%,{role},%")
        return [r[0] for r in self.conn.execute(sql, args)]

    # -- causes and categories ------------------------------------------------------------------
    def cause_rows(self) -> Iterator[dict[str, Any]]:
        """One row per (cause, category), in a stable order, for export."""
        sql = (
            "SELECT i.incident_id, i.source, i.title, i.date, cc.category_id, cc.category, "
            "c.text AS cause, cc.confidence, c.start, c.end, c.kind, i.organization, i.year "
            "FROM causes c JOIN incidents i ON i.incident_id = c.incident_id "
            "JOIN cause_categories cc ON cc.incident_id = c.incident_id AND cc.cause_idx = c.idx "
            "ORDER BY i.date, i.incident_id, c.idx, cc.confidence DESC, cc.category_id"
        )
        for r in self.conn.execute(sql):
            yield dict(r)

    def category_counts(self) -> list[dict[str, Any]]:
        sql = (
            "SELECT category_id, category, count(DISTINCT incident_id) AS incidents, "
            "count(*) AS causes FROM cause_categories GROUP BY category_id, category "
            "ORDER BY incidents DESC, causes DESC, category_id"
        )
        return [dict(r) for r in self.conn.execute(sql)]

    def stats(self) -> dict[str, Any]:
        q = self.conn.execute
        roles = {r[0]: r[1] for r in q("SELECT role, count(*) FROM sentences GROUP BY role")}
        years = [r[0] for r in q("SELECT year FROM incidents WHERE year IS NOT NULL")]
        return {
            "index": str(self.index_dir),
            "generation": self.generation,
            "created": self.manifest.get("created"),
            "embedding_model": self.embedding_model,
            "faiss": self.manifest.get("faiss", {}),
            "incidents": q("SELECT count(*) FROM incidents").fetchone()[0],
            "sources": q("SELECT count(*) FROM sources").fetchone()[0],
            "sentences": q("SELECT count(*) FROM sentences").fetchone()[0],
            "causes": q("SELECT count(*) FROM causes").fetchone()[0],
            "actions": q("SELECT coalesce(sum(n_actions),0) FROM incidents").fetchone()[0],
            "open_actions": q("SELECT coalesce(sum(n_open_actions),0) FROM incidents").fetchone()[
                0
            ],
            "sentences_by_role": roles,
            "years": [min(years), max(years)] if years else [],
            "organizations": [
                r[0]
                for r in q(
                    "SELECT organization FROM incidents WHERE organization != '' "
                    "GROUP BY organization ORDER BY count(*) DESC LIMIT 10"
                )
            ],
        }

    def sentence(self, incident_id: str, idx: int) -> Sentence | None:
        row = self.conn.execute(
            "SELECT * FROM sentences WHERE incident_id = ? AND idx = ?", (incident_id, idx)
        ).fetchone()
        return sentence_from_dict(self._sentence_dict(row)) if row else None

    # -- read-only look-ups for search ----------------------------------------------------------
    def matching_sentence_ids(self, match: str, limit: int = -1) -> np.ndarray:
        """Ids of the sentences matching an FTS5 MATCH expression (at most ``limit`` of them,
        -1 = all), unranked.

        The ids are joined inside SQLite and parsed by NumPy in one go, so a term found in
        ten thousand sentences costs about a millisecond (no per-row Python, no BM25).
        """
        if not match:
            return np.zeros(0, dtype=np.int64)
        try:
            row = self.conn.execute(
                "SELECT group_concat(rowid) FROM (SELECT rowid FROM sentences_fts "
                "WHERE sentences_fts MATCH ? LIMIT ?)",
                (match, limit),
            ).fetchone()
        except sqlite3.OperationalError:
            return np.zeros(0, dtype=np.int64)
        if row is None or not row[0]:
            return np.zeros(0, dtype=np.int64)
        return np.fromstring(row[0], dtype=np.int64, sep=",")

    def sentence_incident_pairs(self) -> list[tuple[int, str]]:
        """(sentence id, incident id) of every sentence, ordered by sentence id."""
        return [
            (int(r[0]), str(r[1]))
            for r in self.conn.execute("SELECT id, incident_id FROM sentences ORDER BY id")
        ]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

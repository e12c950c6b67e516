"""Ingest: files -> documents -> sections -> NLP/extraction -> taxonomy -> embeddings -> index.

The pipeline streams documents in chunks so memory stays bounded, runs spaCy and the
embedding model in batches, and writes one new index generation atomically at the end.
One bad file is reported and skipped; it never aborts the run or touches the live index.
For larger ingests spaCy runs in a worker process (:mod:`ingest.workers`) up to
:data:`MAX_CHUNKS_AHEAD` chunks ahead, and the embedder gives up one thread while that worker
is busy: the two model stages overlap instead of adding up.

Re-ingesting is incremental: files are recognised by path and by the SHA-256 of their
decoded text, so only new or changed files are analysed and embedded again. Texts longer
than ``MAX_DOC_CHARS`` characters are skipped with a message (analysis time grows with
length; the longest of 634 real postmortems is 18 KB), which bounds time and memory.
An index built with another spaCy pipeline is refused for incremental updates: its old
incidents would not match the new ones; ``rebuild`` starts over. When only the extraction
rules changed (a new postmortem-kb, an edited gazetteer or taxonomy: see
:func:`extractor_fingerprint`), the files given are analysed again even if their text did not
change, and the manifest lists the incidents still extracted by the old rules
(``extractor.stale_sources``) until their files are ingested again.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .embed import Embedder, load_embedder
from .errors import IndexVersionMismatch, NothingToIngest
from .records import CategoryScore, Document, Incident, Section
from .store import IndexWriter, crash_point
from .vectors import HNSW_THRESHOLD
from .workers import ExtractionWorker, failure_kind

ProgressFn = Callable[[str, int, int], None]
CHUNK_DOCS = 32
# spaCy runs in a worker process ahead of embedding when at least this many files are given
# (starting the worker costs about as much as analysing a dozen files) ...
WORKER_MIN_FILES = 2 * CHUNK_DOCS
MAX_CHUNKS_AHEAD = 32  # ... and analyses at most this many chunks ahead of the embedder
EMBED_GROUP_SENTENCES = 4096  # analysed chunks embedded together, up to this many sentences
FIRST_CHUNK_DOCS = 8  # the worker's first chunk is small, so embedding starts sooner
EMBED_SLICE = 256  # sentences embedded between two looks at whether the worker is busy
MAX_DOC_CHARS = 200_000  # about 10x the longest real postmortem; longer texts are skipped
STATUSES = ("added", "updated", "unchanged", "duplicate", "skipped", "removed")
REEXTRACTED = "extraction rules changed"  # the detail of an unchanged file analysed again
# What decides an incident's extracted record besides its text: these files of the package.
EXTRACTOR_FILES = (
    "extract/*.py",
    "read.py",
    "sections.py",
    "nlp.py",
    "patterns.py",
    "taxonomy.py",
    "data/*",
)


@dataclass(frozen=True)
class FileOutcome:
    """What one ingest did with one file (``detail`` says why for skips and duplicates)."""

    source: str
    status: str  # added | updated | unchanged | duplicate | skipped | removed
    detail: str = ""
    incident_id: str = ""


@dataclass(frozen=True)
class IngestReport:
    """Every file's outcome plus totals of one :func:`ingest_paths` run."""

    index_dir: str
    outcomes: tuple[FileOutcome, ...] = ()
    incidents: int = 0
    sentences_embedded: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    generation: str = ""
    worker_peak_rss_mib: float = 0.0  # the spaCy worker process's peak memory, if one ran
    stale_sources: tuple[str, ...] = ()  # incidents still extracted by older rules

    def by_status(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def ingested(self) -> int:
        """Files analysed and written by this run (added or updated)."""
        return len(self.by_status("added")) + len(self.by_status("updated"))

    @property
    def accepted(self) -> int:
        """Files whose current text is in the index after this run (incl. unchanged, dups)."""
        return self.ingested + len(self.by_status("unchanged")) + len(self.by_status("duplicate"))

    @property
    def skipped(self) -> list[FileOutcome]:
        return self.by_status("skipped")

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when some given file is in the index; under ``strict`` also 1 on any skip.

        A run that only pruned (no file given was readable, some were removed) counts as
        done. "Nothing ingested" means no given file made it into the index.
        """
        done = self.accepted > 0 or (bool(self.by_status("removed")) and not self.skipped)
        if not done:
            return 1
        return 1 if strict and self.skipped else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "index_dir": self.index_dir,
            "generation": self.generation,
            "incidents": self.incidents,
            "sentences_embedded": self.sentences_embedded,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "worker_peak_rss_mib": round(self.worker_peak_rss_mib, 1),
            "counts": {s: len(self.by_status(s)) for s in STATUSES},
            "stale_sources": list(self.stale_sources),
            "outcomes": [o.__dict__ for o in self.outcomes],
        }


def make_incident_id(source: str) -> str:
    """A stable, readable id: the file's stem as a slug plus a short hash of its path."""
    norm = os.path.normpath(source)
    stem = Path(norm).stem.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:48].rstrip("-") or "incident"
    digest = hashlib.blake2b(norm.encode("utf-8"), digest_size=3).hexdigest()
    return f"{slug}-{digest}"


def unlabelled_incidents(docs: Sequence[Document], nlp: Any) -> Iterator[Incident | Exception]:
    """One Incident per document without taxonomy labels (or the exception raised), in order.

    Sections are split, the chunk goes through one ``nlp.pipe``; a document that breaks the
    batch is isolated by analysing the chunk again one document at a time.
    """
    from .extract import analyze, analyze_many
    from .sections import split_sections

    items: list[tuple[Document, tuple[Section, ...]]] = []
    failures: dict[int, Exception] = {}
    for i, doc in enumerate(docs):
        try:
            items.append((doc, split_sections(doc)))
        except Exception as exc:  # a parser bug must not abort the ingest
            failures[i] = exc
    try:
        analyses = list(analyze_many(items, nlp))
    except Exception:  # isolate the document that breaks the batch
        analyses = []
        for doc, sections in items:
            try:
                analyses.append(analyze(doc, sections, nlp))
            except Exception as exc:
                analyses.append(exc)
    it = iter(zip(items, analyses, strict=True))
    for i in range(len(docs)):
        if i in failures:
            yield failures[i]
            continue
        (doc, sections), analysis = next(it)
        if isinstance(analysis, Exception):
            yield analysis
            continue
        try:
            yield _incident(doc, sections, analysis)
        except Exception as exc:
            yield exc


def _incident(doc: Document, sections: tuple[Section, ...], a: Any) -> Incident:
    title = a.title or doc.title_hint or Path(doc.path).stem
    return Incident(
        incident_id=make_incident_id(doc.path),
        source=doc.path,
        title=title,
        text=doc.text,
        format=doc.format,
        sha256=doc.sha256,
        organization=a.organization,
        date=a.date,
        published=a.published,
        date_note=a.date_note,
        summary=tuple(a.summary),
        duration_minutes=a.duration_minutes,
        sections=sections,
        sentences=tuple(a.sentences),
        causes=tuple(a.causes),
        timeline=tuple(a.timeline),
        actions=tuple(a.actions),
        impacts=tuple(a.impacts),
        systems=tuple(a.systems),
        metrics=dict(a.metrics or {}),
    )


@contextmanager
def embedding_threads(embedder: Embedder, threads: int | None) -> Iterator[None]:
    """Cap the embedder's threads within the block (no-op for ``None`` or embedders without
    a ``threads`` control, such as the test fake)."""
    control = getattr(embedder, "threads", None)
    if threads is None or control is None:
        yield
        return
    with control(threads):
        yield


class Extractor:
    """The model-bearing part of ingest: spaCy extraction, embedding and taxonomy labels.

    A chunk of documents is analysed with one ``nlp.pipe``, all its sentences are embedded
    in one call, and the taxonomy then labels causes, actions and impacts from those same
    sentence vectors (the mean of the sentences an item spans), one batched call per axis:
    no text is embedded twice.
    """

    def __init__(self, embedder: Embedder, nlp: Any = None) -> None:
        from .taxonomy import CauseClassifier, Taxonomy

        self.embedder = embedder
        self._nlp = nlp
        self.taxonomy = Taxonomy.load()
        self.classifier = CauseClassifier(self.taxonomy, embedder)

    @property
    def nlp(self) -> Any:
        """The spaCy pipeline, loaded on first use (a worker process may do the analysis)."""
        if self._nlp is None:
            from .nlp import load_nlp

            self._nlp = load_nlp()
        return self._nlp

    def incidents(self, docs: Sequence[Document]) -> Iterator[Incident | Exception]:
        """One labelled Incident per document (or the exception it raised), in order."""
        for result in self.incidents_with_vectors(docs):
            yield result if isinstance(result, Exception) else result[0]

    def incidents_with_vectors(
        self,
        docs: Sequence[Document],
        *,
        batch_size: int = 64,
        timings: dict[str, float] | None = None,
    ) -> list[tuple[Incident, np.ndarray] | Exception]:
        """Labelled incidents with their sentence vectors (or exceptions), in order."""
        timings = timings if timings is not None else {}
        t = time.perf_counter()
        results = list(unlabelled_incidents(docs, self.nlp))
        timings["extract"] = timings.get("extract", 0.0) + time.perf_counter() - t
        return self.embed_and_label(results, batch_size=batch_size, timings=timings)

    def embed_and_label(
        self,
        results: Sequence[Incident | Exception],
        *,
        batch_size: int = 64,
        timings: dict[str, float] | None = None,
        threads: Callable[[], int | None] | None = None,
    ) -> list[tuple[Incident, np.ndarray] | Exception]:
        """Embed the sentences of analysed incidents and label them with the taxonomy.

        ``threads``, when given, is asked before each slice of :data:`EMBED_SLICE` sentences
        how many threads the embedding model may use (fewer while a spaCy worker has work);
        exceptions pass through in their places.
        """
        timings = timings if timings is not None else {}
        good = [r for r in results if isinstance(r, Incident)]
        t = time.perf_counter()
        texts = [s.text for inc in good for s in inc.sentences]
        matrix = self._embed(texts, batch_size, threads)
        timings["embed"] = timings.get("embed", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        per_doc, offset = [], 0
        for inc in good:
            per_doc.append(matrix[offset : offset + len(inc.sentences)])
            offset += len(inc.sentences)
        labelled = self._label_all(good, per_doc)
        timings["classify"] = timings.get("classify", 0.0) + time.perf_counter() - t
        it = iter(zip(labelled, per_doc, strict=True))
        out: list[tuple[Incident, np.ndarray] | Exception] = []
        for r in results:
            if isinstance(r, Exception):
                out.append(r)
                continue
            inc, vecs = next(it)
            out.append(inc if isinstance(inc, Exception) else (inc, vecs))
        return out

    def _embed(
        self, texts: list[str], batch_size: int, threads: Callable[[], int | None] | None
    ) -> np.ndarray:
        """Unit vectors of ``texts``. With a ``threads`` policy the texts are sorted by length
        (longest first, as the model does within a call, so batches pad no more than one big
        call would) and embedded slice by slice, each with the threads the policy allows."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        if threads is None:
            return self.embedder.encode(texts, batch_size=batch_size)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        matrix = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        for lo in range(0, len(order), EMBED_SLICE):
            rows = order[lo : lo + EMBED_SLICE]
            with embedding_threads(self.embedder, threads()):
                matrix[rows] = self.embedder.encode([texts[i] for i in rows], batch_size=batch_size)
        return matrix

    def _label_all(
        self, incidents: list[Incident], vectors: list[np.ndarray]
    ) -> list[Incident | Exception]:
        """Taxonomy labels for a chunk, one batched call per axis; per incident on failure."""
        try:
            return list(self._label(incidents, vectors))
        except Exception:
            out: list[Incident | Exception] = []
            for inc, vecs in zip(incidents, vectors, strict=True):
                try:
                    out.extend(self._label([inc], [vecs]))
                except Exception as exc:
                    out.append(exc)
            return out

    def _label(self, incidents: list[Incident], vectors: list[np.ndarray]) -> list[Incident]:
        from .taxonomy import rollup

        axes: dict[str, list[tuple[int, Any]]] = {"cause": [], "mitigation": [], "impact": []}
        for i, inc in enumerate(incidents):
            axes["cause"] += [(i, c) for c in inc.causes]
            mitigating = [*inc.actions, *(e for e in inc.timeline if e.kind == "mitigation")]
            axes["mitigation"] += [(i, x) for x in mitigating if x.text.strip()]
            axes["impact"] += [(i, x) for x in inc.impacts if x.text.strip()]
        labels: dict[str, list[tuple[CategoryScore, ...]]] = {}
        for axis, members in axes.items():
            if not members:
                labels[axis] = []
                continue
            spans = [span_vector(incidents[i], vectors[i], m.start, m.end) for i, m in members]
            missing = [j for j, v in enumerate(spans) if v is None]
            if missing:  # an item outside every sentence: embed its own text
                fresh = self.embedder.encode([members[j][1].text for j in missing])
                for j, v in zip(missing, fresh, strict=True):
                    spans[j] = v
            matrix = np.stack(spans).astype(np.float32)
            labels[axis] = self.classifier.classify(
                [m.text for _, m in members], axis=axis, vectors=matrix
            )
        per_incident: dict[str, list[list[tuple[CategoryScore, ...]]]] = {
            axis: [[] for _ in incidents] for axis in axes
        }
        for axis, members in axes.items():
            for (i, _), lab in zip(members, labels[axis], strict=True):
                per_incident[axis][i].append(lab)
        out = []
        for i, inc in enumerate(incidents):
            causes = tuple(
                replace(c, categories=tuple(lab))
                for c, lab in zip(inc.causes, per_incident["cause"][i], strict=True)
            )
            mit, imp = per_incident["mitigation"][i], per_incident["impact"][i]
            out.append(
                replace(
                    inc,
                    causes=causes,
                    categories=rollup([c.categories for c in causes]),
                    mitigations=_known(rollup(mit)) if mit else (),
                    impact_kinds=_known(rollup(imp)) if imp else (),
                )
            )
        return out


def release_free_memory() -> None:
    """Hand memory the allocator keeps after frees back to the system (glibc only).

    Embedding frees a few hundred MB of activations that glibc keeps for reuse; the commit
    then allocates the FAISS work in fresh mappings, so without this the two add up in the
    process's peak (about 120 MB less after embedding 4,096 sentences, measured).
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _known(scores: Sequence[CategoryScore]) -> tuple[CategoryScore, ...]:
    return tuple(cs for cs in scores if cs.category_id != "unknown")


def span_vector(incident: Incident, vectors: np.ndarray, start: int, end: int) -> Any:
    """Unit mean vector of the sentences overlapping [start, end), or None if none does."""
    rows = [
        j
        for j, s in enumerate(incident.sentences)
        if s.start < end and s.end > start and j < len(vectors)
    ]
    if not rows:
        return None
    mean = np.asarray(vectors[rows], dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean)) or 1.0
    return mean / norm


def _tqdm(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="file",
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )


def ingest_paths(
    paths: Sequence[str | Path],
    index_dir: str | Path,
    *,
    embedder: Embedder | None = None,
    nlp: Any = None,
    prune: bool = False,
    rebuild: bool = False,
    progress: bool = False,
    on_progress: ProgressFn | None = None,
    batch_size: int = 64,
    chunk_docs: int = CHUNK_DOCS,
    hnsw_threshold: int = HNSW_THRESHOLD,
    max_chars: int = MAX_DOC_CHARS,
    extract_worker: bool | None = None,
) -> IngestReport:
    """Ingest files and folders into the index at ``index_dir`` (created when missing).

    Unchanged files are not processed again, changed ones replace their old version,
    identical texts under two names are indexed once, and with ``prune`` incidents whose
    files are gone are removed. A file that cannot be read or analysed is skipped with a
    reason and the rest go on. Returns a report of what happened to every file.

    Raises :class:`NothingToIngest` when no supported file is found,
    :class:`~ingest.errors.IndexLocked` when another ingest is writing the index and
    :class:`~ingest.errors.IndexVersionMismatch` when the index was built with another
    embedding model, schema or NLP pipeline (and ``rebuild`` is not set).
    """
    from .read import ReadError, discover_files, read_document

    t0 = time.perf_counter()
    timings: dict[str, float] = {
        "read": 0.0,
        "extract": 0.0,
        "extract_wait": 0.0,
        "embed": 0.0,
        "classify": 0.0,
        "write": 0.0,
    }
    files, skipped = discover_files([str(p) for p in paths])
    outcomes: list[FileOutcome] = [FileOutcome(s, "skipped", r) for s, r in skipped]
    if not files and not prune:
        where = ", ".join(str(p) for p in paths) or "(nothing)"
        why = "; ".join(f"{s}: {r}" for s, r in skipped[:5])
        more = f" (+{len(skipped) - 5} more)" if len(skipped) > 5 else ""
        raise NothingToIngest(
            f"no .md, .txt or .html files found in {where}" + (f" ({why}{more})" if why else "")
        )
    embedder = embedder or load_embedder()
    extractor: Extractor | None = None
    use_worker = (
        extract_worker
        if extract_worker is not None
        else nlp is None and len(files) >= WORKER_MIN_FILES and (os.cpu_count() or 1) >= 2
    )
    pipeline_manifest = _pipeline_manifest()
    with (
        IndexWriter(
            index_dir,
            embedder_name=embedder.name,
            dim=embedder.dim,
            rebuild=rebuild,
            extra_manifest=pipeline_manifest,
            hnsw_threshold=hnsw_threshold,
        ) as writer,
        ExitStack() as cleanup,
    ):
        _check_pipeline(writer.previous_manifest, pipeline_manifest, str(index_dir))
        known = writer.sources()
        fingerprint = extractor_fingerprint()
        stale = _stale_before(None if rebuild else writer.previous_manifest, fingerprint, known)
        reextracted: set[str] = set()
        seen_sources: set[str] = set()
        batch_shas: dict[str, str] = {}
        pending: list[Document] = []
        bar = _tqdm(len(files), "ingest", progress)
        done = 0
        sentences_embedded = 0

        first_chunk = min(chunk_docs, FIRST_CHUNK_DOCS)
        inflight: deque[tuple[list[Document], Future[Any] | None]] = deque()
        worker: ExtractionWorker | None = None

        def flush() -> None:
            """Hand the pending chunk to the spaCy worker (or analyse it here)."""
            nonlocal worker
            if not pending:
                return
            docs = list(pending)
            pending.clear()
            future: Future[Any] | None = None
            if use_worker:
                if worker is None:
                    worker = cleanup.enter_context(ExtractionWorker())
                future = worker.submit(docs)
            inflight.append((docs, future))
            while len(inflight) > (MAX_CHUNKS_AHEAD if use_worker else 0):
                finish_oldest()

        def worker_threads() -> int | None:
            """One embedding thread while the spaCy worker has work (it uses the other core)."""
            return 1 if any(f is not None and not f.done() for _, f in inflight) else None

        def analysed(docs: list[Document], future: Future[Any] | None) -> list[Any]:
            """The worker's results for a chunk (or the chunk analysed here if it died)."""
            nonlocal extractor
            if extractor is None:
                extractor = Extractor(embedder, nlp)
            if future is not None:
                t = time.perf_counter()
                try:
                    results, worker_s = future.result()
                    timings["extract"] += worker_s
                    return list(results)
                except Exception:  # the worker died: analyse the chunk here instead
                    pass
                finally:
                    timings["extract_wait"] += time.perf_counter() - t
            t = time.perf_counter()
            results = list(unlabelled_incidents(docs, extractor.nlp))
            timings["extract"] += time.perf_counter() - t
            return results

        def finish_oldest() -> None:
            """Embed, label and write the oldest analysed chunk, with any analysed after it.

            Chunks the worker has finished are embedded together (up to
            :data:`EMBED_GROUP_SENTENCES` sentences), sorted by length: the more texts are
            sorted together, the less the batches pad (900 sentences per call cost a third
            more CPU per sentence than 3,600, measured).
            """
            nonlocal sentences_embedded
            docs, future = inflight.popleft()
            results = analysed(docs, future)
            n_sentences = sum(len(r.sentences) for r in results if isinstance(r, Incident))
            while (
                inflight
                and inflight[0][1] is not None
                and inflight[0][1].done()
                and n_sentences < EMBED_GROUP_SENTENCES
            ):
                more_docs, more_future = inflight.popleft()
                more = analysed(more_docs, more_future)
                docs, results = docs + more_docs, results + more
                n_sentences += sum(len(r.sentences) for r in more if isinstance(r, Incident))
            assert extractor is not None
            labelled = extractor.embed_and_label(
                results, batch_size=batch_size, timings=timings, threads=worker_threads
            )
            t = time.perf_counter()
            for written, (doc, result) in enumerate(zip(docs, labelled, strict=True)):
                if written == 1:
                    crash_point("mid-chunk")
                if isinstance(result, Exception):
                    reason = f"extraction failed: {failure_kind(result)}: {result}"
                    outcomes.append(FileOutcome(doc.path, "skipped", reason))
                    _drop_duplicates_of(doc, writer, outcomes)
                    continue
                incident, sentence_vectors = result
                writer.add_incident(incident, sentence_vectors)
                sentences_embedded += len(incident.sentences)
                status = "updated" if doc.path in known else "added"
                detail = REEXTRACTED if doc.path in reextracted else ""
                outcomes.append(FileOutcome(doc.path, status, detail, incident.incident_id))
            timings["write"] += time.perf_counter() - t

        orphans: list[str] = []  # other names of incidents removed by this run

        def process(source: str, norm: str) -> None:
            while norm in orphans:  # handled now, after losing its record
                orphans.remove(norm)
            try:
                doc = read_document(source)
            except ReadError as exc:
                outcomes.append(FileOutcome(source, "skipped", exc.reason))
                return
            if len(doc.text) > max_chars:
                reason = (
                    f"text too long to analyse ({len(doc.text):,} characters > {max_chars:,}); "
                    "split the file or raise the limit (pmkb ingest --max-chars)"
                )
                outcomes.append(FileOutcome(source, "skipped", reason))
                return
            doc = replace(doc, path=norm)
            again = norm in stale
            stale.discard(norm)
            if again:
                reextracted.add(norm)
            orphans.extend(_route(doc, known, writer, batch_shas, pending, outcomes, again))

        for source in files:
            norm = os.path.normpath(source)
            seen_sources.add(norm)
            t = time.perf_counter()
            process(source, norm)
            timings["read"] += time.perf_counter() - t
            if len(pending) >= (chunk_docs if inflight or not use_worker else first_chunk):
                flush()
            done += 1
            bar.update(1)
            if on_progress:
                on_progress("ingest", done, len(files))
        bar.close()
        if prune:
            for source, stored in known.items():
                if source not in seen_sources and not Path(source).exists():
                    orphans.extend(writer.remove_source(source))
                    outcomes.append(
                        FileOutcome(source, "removed", "file is gone", stored.incident_id)
                    )
        # Names that were duplicates of a removed or replaced incident lost their record:
        # index them again from their own files (or report them removed if they are gone).
        retried: set[str] = set()
        while orphans:
            source = orphans.pop(0)
            if source in retried:
                continue
            retried.add(source)
            known.pop(source, None)
            _forget_outcome(outcomes, source)
            if Path(source).is_file():
                process(source, source)
            else:
                outcomes.append(FileOutcome(source, "removed", "file is gone"))
            if len(pending) >= chunk_docs:
                flush()
        flush()
        while inflight:
            finish_oldest()
        worker_peak = 0.0
        if worker is not None:
            worker.close()  # before the commit: its memory is not needed any more
            worker_peak = worker.peak_rss_mib
        crash_point("before-commit")
        # What was removed (pruned, or whose analysis failed) has no record left to be stale.
        stale_after = tuple(sorted(src for src in stale if writer.has_source(src)))
        writer.extra_manifest["extractor"] = {
            "fingerprint": fingerprint,
            "stale_sources": list(stale_after),
        }
        t = time.perf_counter()
        release_free_memory()  # the embedder's freed activations, before the index is built
        manifest = writer.commit()
        timings["commit"] = time.perf_counter() - t
    return IngestReport(
        index_dir=str(index_dir),
        outcomes=tuple(outcomes),
        incidents=int(manifest["counts"]["incidents"]),
        sentences_embedded=sentences_embedded,
        seconds=time.perf_counter() - t0,
        timings=timings,
        generation=manifest["generation"],
        worker_peak_rss_mib=worker_peak,
        stale_sources=stale_after,
    )


def _route(
    doc: Document,
    known: dict[str, Any],
    writer: IndexWriter,
    batch_shas: dict[str, str],
    pending: list[Document],
    outcomes: list[FileOutcome],
    again: bool = False,
) -> list[str]:
    """Decide whether a read document is unchanged, a duplicate, or needs processing.

    ``again``: its stored record was extracted by older rules, so an unchanged text is
    processed as if it had changed. Returns the names of duplicates that lost their incident
    because this document's old version was removed (the caller indexes them again).
    """
    orphans: list[str] = []
    stored = known.get(doc.path)
    if (
        stored is not None
        and stored.sha256 == doc.sha256
        and writer.has_source(doc.path)
        and not again
    ):
        if stored.duplicate_of:
            detail = f"same text as {stored.duplicate_of}"
            outcomes.append(FileOutcome(doc.path, "duplicate", detail, stored.incident_id))
        else:
            outcomes.append(FileOutcome(doc.path, "unchanged", "", stored.incident_id))
        return orphans
    if stored is not None and writer.has_source(doc.path):
        # The file changed: its old version goes, whatever the new text turns out to be.
        orphans = writer.remove_source(doc.path)
    twin = writer.incident_by_sha(doc.sha256)
    if twin is not None and twin[1] != doc.path:
        writer.add_duplicate(doc.path, twin[0], doc.sha256, twin[1])
        outcomes.append(FileOutcome(doc.path, "duplicate", f"same text as {twin[1]}", twin[0]))
        return orphans
    if doc.sha256 in batch_shas:
        first = batch_shas[doc.sha256]
        writer.add_duplicate(doc.path, make_incident_id(first), doc.sha256, first)
        outcomes.append(
            FileOutcome(doc.path, "duplicate", f"same text as {first}", make_incident_id(first))
        )
        return orphans
    batch_shas[doc.sha256] = doc.path
    pending.append(doc)
    return orphans


def _drop_duplicates_of(doc: Document, writer: IndexWriter, outcomes: list[FileOutcome]) -> None:
    """A document failed analysis: names recorded as its duplicates are skipped too."""
    for i, outcome in enumerate(outcomes):
        if outcome.status == "duplicate" and outcome.detail == f"same text as {doc.path}":
            writer.remove_source(outcome.source)
            outcomes[i] = FileOutcome(
                outcome.source, "skipped", f"same text as {doc.path}, which failed analysis"
            )


def _forget_outcome(outcomes: list[FileOutcome], source: str) -> None:
    """Drop an earlier outcome of ``source`` (it is about to be processed again)."""
    outcomes[:] = [o for o in outcomes if o.source != source]


def _check_pipeline(
    previous: dict[str, Any] | None, current: dict[str, Any], index_dir: str
) -> None:
    """Refuse to add incidents analysed by another NLP pipeline to an existing index."""
    if previous is None:
        return
    old = previous.get("spacy", {})
    new = current.get("spacy", {})
    keys = ("pipeline", "pipeline_version")
    if any(old.get(k) != new.get(k) for k in keys):
        raise IndexVersionMismatch(
            index_dir,
            f"with NLP pipeline {old.get('pipeline')} {old.get('pipeline_version')} "
            f"(this postmortem-kb uses {new.get('pipeline')} {new.get('pipeline_version')})",
        )


def extractor_fingerprint(root: Path | None = None) -> str:
    """SHA-256 (16 hex digits) of the package files that decide what is extracted from a
    text (:data:`EXTRACTOR_FILES` under ``root``, the installed package by default): the
    rules, the reader, the gazetteer, the taxonomy."""
    root = root or Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted({p for pattern in EXTRACTOR_FILES for p in root.glob(pattern)}):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _stale_before(
    previous: dict[str, Any] | None, fingerprint: str, sources: Iterable[str]
) -> set[str]:
    """Which of ``sources`` (those the previous index holds) were extracted by other rules
    than these: all of them when the index was written before the rules changed."""
    if previous is None:
        return set()
    extractor = previous.get("extractor") or {}
    if extractor.get("fingerprint") != fingerprint:
        return set(sources)
    return set(extractor.get("stale_sources") or ()) & set(sources)


def _pipeline_manifest() -> dict[str, Any]:
    try:
        from .nlp import pipeline_info

        return {"spacy": pipeline_info()}
    except Exception:  # pragma: no cover - reported in the manifest as unknown
        return {"spacy": {"pipeline": "unknown"}}

"""Ingest: files -> documents -> sections -> NLP/extraction -> taxonomy -> embeddings -> index.

The pipeline streams documents in chunks so memory stays bounded, runs spaCy and the
embedding model in batches, and writes one new index generation atomically at the end.
One bad file is reported and skipped; it never aborts the run or touches the live index.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .embed import Embedder, load_embedder
from .errors import NothingToIngest
from .records import CategoryScore, Cause, Document, Incident, Section
from .store import IndexWriter

ProgressFn = Callable[[str, int, int], None]
CHUNK_DOCS = 32


@dataclass(frozen=True)
class FileOutcome:
    source: str
    status: str  # added | updated | unchanged | duplicate | skipped | removed
    detail: str = ""
    incident_id: str = ""


@dataclass(frozen=True)
class IngestReport:
    index_dir: str
    outcomes: tuple[FileOutcome, ...] = ()
    incidents: int = 0
    sentences_embedded: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    generation: str = ""

    def by_status(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def ingested(self) -> int:
        return len(self.by_status("added")) + len(self.by_status("updated"))

    @property
    def skipped(self) -> list[FileOutcome]:
        return self.by_status("skipped")

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when the index holds something; under --strict, non-zero on any skip."""
        if strict and (self.skipped or self.ingested == 0):
            return 1
        return 0 if self.incidents > 0 else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "index_dir": self.index_dir,
            "generation": self.generation,
            "incidents": self.incidents,
            "sentences_embedded": self.sentences_embedded,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "counts": {
                s: len(self.by_status(s))
                for s in ("added", "updated", "unchanged", "duplicate", "skipped", "removed")
            },
            "outcomes": [o.__dict__ for o in self.outcomes],
        }


def make_incident_id(source: str) -> str:
    """A stable, readable id: the file's stem as a slug plus a short hash of its path."""
    norm = os.path.normpath(source)
    stem = Path(norm).stem.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:48].rstrip("-") or "incident"
    digest = hashlib.blake2b(norm.encode("utf-8"), digest_size=3).hexdigest()
    return f"{slug}-{digest}"


class Extractor:
    """The model-bearing part of ingest: spaCy extraction plus taxonomy classification."""

    def __init__(self, embedder: Embedder, nlp: Any = None) -> None:
        from .nlp import load_nlp
        from .taxonomy import CauseClassifier, Taxonomy

        self.nlp = nlp if nlp is not None else load_nlp()
        self.taxonomy = Taxonomy.load()
        self.classifier = CauseClassifier(self.taxonomy, embedder)

    def incidents(self, docs: Sequence[Document]) -> Iterator[Incident | Exception]:
        """One Incident per document (or the exception that document raised), in order."""
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
            analyses = list(analyze_many(items, self.nlp))
        except Exception:  # isolate the document that breaks the batch
            analyses = []
            for doc, sections in items:
                try:
                    analyses.append(analyze(doc, sections, self.nlp))
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
                yield self._incident(doc, sections, analysis)
            except Exception as exc:
                yield exc

    def _incident(self, doc: Document, sections: tuple[Section, ...], a: Any) -> Incident:
        causes = self._classify_causes(a.causes)
        from .taxonomy import rollup

        mitigations = self._axis_rollup(
            "mitigation",
            [x.text for x in a.actions] + [e.text for e in a.timeline if e.kind == "mitigation"],
        )
        impact_kinds = self._axis_rollup("impact", [x.text for x in a.impacts])
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
            causes=causes,
            timeline=tuple(a.timeline),
            actions=tuple(a.actions),
            impacts=tuple(a.impacts),
            systems=tuple(a.systems),
            metrics=dict(a.metrics or {}),
            categories=rollup([c.categories for c in causes]),
            mitigations=mitigations,
            impact_kinds=impact_kinds,
        )

    def _classify_causes(self, causes: Sequence[Cause]) -> tuple[Cause, ...]:
        if not causes:
            return ()
        labels = self.classifier.classify([c.text for c in causes])
        return tuple(
            replace(c, categories=tuple(lab)) for c, lab in zip(causes, labels, strict=True)
        )

    def _axis_rollup(self, axis: str, texts: list[str]) -> tuple[CategoryScore, ...]:
        from .taxonomy import rollup

        texts = [t for t in texts if t.strip()]
        if not texts:
            return ()
        scores = self.classifier.classify(texts, axis=axis)
        return tuple(cs for cs in rollup(scores) if cs.category_id != "unknown")


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
    hnsw_threshold: int | None = None,
) -> IngestReport:
    """Ingest files and folders into the index at ``index_dir`` (created when missing).

    Unchanged files are not processed again, changed ones replace their old version,
    identical texts under two names are indexed once, and with ``prune`` incidents whose
    files are gone are removed. Returns a report of what happened to every file.
    """
    from .read import ReadError, discover_files, read_document

    t0 = time.perf_counter()
    timings: dict[str, float] = {"read": 0.0, "extract": 0.0, "embed": 0.0, "write": 0.0}
    files, skipped = discover_files([str(p) for p in paths])
    outcomes: list[FileOutcome] = [FileOutcome(s, "skipped", r) for s, r in skipped]
    if not files and not prune:
        where = ", ".join(str(p) for p in paths) or "(nothing)"
        raise NothingToIngest(f"no .md, .txt or .html files found in {where}")
    embedder = embedder or load_embedder()
    extractor: Extractor | None = None
    kwargs: dict[str, Any] = {}
    if hnsw_threshold is not None:
        kwargs["hnsw_threshold"] = hnsw_threshold
    with IndexWriter(
        index_dir,
        embedder_name=embedder.name,
        dim=embedder.dim,
        rebuild=rebuild,
        extra_manifest=_pipeline_manifest(),
        **kwargs,
    ) as writer:
        known = writer.sources()
        seen_sources: set[str] = set()
        batch_shas: dict[str, str] = {}
        pending: list[Document] = []
        bar = _tqdm(len(files), "ingest", progress)
        done = 0
        sentences_embedded = 0

        def flush() -> None:
            nonlocal extractor, sentences_embedded
            if not pending:
                return
            if extractor is None:
                extractor = Extractor(embedder, nlp)
            t = time.perf_counter()
            results = list(extractor.incidents(pending))
            timings["extract"] += time.perf_counter() - t
            good = [r for r in results if isinstance(r, Incident)]
            t = time.perf_counter()
            texts = [s.text for inc in good for s in inc.sentences]
            matrix = (
                embedder.encode(texts, batch_size=batch_size)
                if texts
                else np.zeros((0, embedder.dim), dtype=np.float32)
            )
            timings["embed"] += time.perf_counter() - t
            sentences_embedded += len(texts)
            t = time.perf_counter()
            offset = 0
            for doc, result in zip(pending, results, strict=True):
                if isinstance(result, Exception):
                    reason = f"extraction failed: {type(result).__name__}: {result}"
                    outcomes.append(FileOutcome(doc.path, "skipped", reason))
                    continue
                n = len(result.sentences)
                writer.add_incident(result, matrix[offset : offset + n])
                offset += n
                status = "updated" if doc.path in known else "added"
                outcomes.append(FileOutcome(doc.path, status, "", result.incident_id))
            timings["write"] += time.perf_counter() - t
            pending.clear()

        for source in files:
            norm = os.path.normpath(source)
            seen_sources.add(norm)
            t = time.perf_counter()
            try:
                doc = read_document(source)
            except ReadError as exc:
                outcomes.append(FileOutcome(source, "skipped", exc.reason))
            else:
                doc = replace(doc, path=norm)
                _route(doc, known, writer, batch_shas, pending, outcomes)
            timings["read"] += time.perf_counter() - t
            if len(pending) >= chunk_docs:
                flush()
            done += 1
            bar.update(1)
            if on_progress:
                on_progress("ingest", done, len(files))
        flush()
        bar.close()
        if prune:
            for source, stored in known.items():
                if source not in seen_sources and not Path(source).exists():
                    writer.remove_source(source)
                    outcomes.append(
                        FileOutcome(source, "removed", "file is gone", stored.incident_id)
                    )
        t = time.perf_counter()
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
    )


def _route(
    doc: Document,
    known: dict[str, Any],
    writer: IndexWriter,
    batch_shas: dict[str, str],
    pending: list[Document],
    outcomes: list[FileOutcome],
) -> None:
    """Decide whether a read document is unchanged, a duplicate, or needs processing."""
    stored = known.get(doc.path)
    if stored is not None and stored.sha256 == doc.sha256:
        outcomes.append(FileOutcome(doc.path, "unchanged", "", stored.incident_id))
        return
    twin = writer.incident_by_sha(doc.sha256)
    if twin is not None and twin[1] != doc.path:
        writer.add_duplicate(doc.path, twin[0], doc.sha256, twin[1])
        outcomes.append(FileOutcome(doc.path, "duplicate", f"same text as {twin[1]}", twin[0]))
        return
    if doc.sha256 in batch_shas:
        first = batch_shas[doc.sha256]
        writer.add_duplicate(doc.path, make_incident_id(first), doc.sha256, first)
        outcomes.append(
            FileOutcome(doc.path, "duplicate", f"same text as {first}", make_incident_id(first))
        )
        return
    if stored is not None:
        writer.remove_source(doc.path)
    batch_shas[doc.sha256] = doc.path
    pending.append(doc)


def _pipeline_manifest() -> dict[str, Any]:
    try:
        from .nlp import pipeline_info

        return {"spacy": pipeline_info()}
    except Exception:  # pragma: no cover - reported in the manifest as unknown
        return {"spacy": {"pipeline": "unknown"}}

"""The spaCy worker process that lets analysis overlap embedding (``ingest/workers.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from ingest import pipeline, workers
from ingest.embed import HashingEmbedder
from ingest.pipeline import ingest_paths
from ingest.store import KnowledgeBase
from ingest.workers import ExtractionError, WorkerDied, failure_kind

ROOT = Path(__file__).resolve().parent.parent
GOLD_TEXTS = ROOT / "tests" / "gold" / "texts"


def _files() -> list[str]:
    """The seeds plus a handful of real structured reports: 9 files, several chunks."""
    seeds = sorted(str(p) for p in (ROOT / "corpus").iterdir() if p.suffix in (".md", ".txt"))
    real = sorted(str(p) for p in GOLD_TEXTS.rglob("*.md"))[:4]
    assert len(seeds) == 5 and len(real) == 4
    return seeds + real


def _records(index: Path) -> dict[str, object]:
    kb = KnowledgeBase.open(index)
    try:
        return {row["incident_id"]: kb.incident(row["incident_id"]) for row in kb.incident_rows()}
    finally:
        kb.close()


def test_extraction_errors_cross_the_pipe_with_their_kind():
    err = ExtractionError.from_exception(ValueError("no sentence in block 3"))
    ((back,), seconds) = workers.decode_results(workers.encode_results(([err], 1.5)))
    assert isinstance(back, ExtractionError) and seconds == 1.5
    assert failure_kind(back) == "ValueError" and str(back) == "no sentence in block 3"
    assert failure_kind(KeyError("x")) == "KeyError"


def test_documents_cross_the_pipe_unchanged():
    from ingest.read import read_document

    docs = [read_document(p) for p in _files()]
    line = workers.encode_docs(docs)
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one line per chunk
    assert workers.decode_docs(line) == docs


@pytest.mark.models
def test_incidents_cross_the_pipe_unchanged(nlp):
    from ingest.pipeline import unlabelled_incidents
    from ingest.read import read_document

    docs = [read_document(p) for p in _files()]
    incidents = list(unlabelled_incidents(docs, nlp))
    assert all(not isinstance(i, Exception) for i in incidents)
    back, _ = workers.decode_results(workers.encode_results((incidents, 0.0)))
    assert back == incidents


@pytest.mark.models
def test_worker_ingest_equals_in_process_ingest(tmp_path, nlp, monkeypatch):
    files = _files()
    here = ingest_paths(files, tmp_path / "here", embedder=HashingEmbedder(64), nlp=nlp)
    # One chunk per worker process: three chunks of 4 files go through three processes.
    monkeypatch.setattr(workers, "CHUNKS_PER_WORKER", 1)
    there = ingest_paths(
        files, tmp_path / "there", embedder=HashingEmbedder(64), chunk_docs=4, extract_worker=True
    )
    assert here.timings["extract_wait"] == 0.0 and there.timings["extract_wait"] > 0.0
    # The worker's own peak memory: spaCy without torch, well under the ingest process's.
    assert here.worker_peak_rss_mib == 0.0 and 50 < there.worker_peak_rss_mib < 1000
    assert [(o.source, o.status) for o in sorted(there.outcomes, key=lambda o: o.source)] == [
        (o.source, o.status) for o in sorted(here.outcomes, key=lambda o: o.source)
    ]
    assert there.ingested == len(files)
    a, b = _records(tmp_path / "here"), _records(tmp_path / "there")
    assert a.keys() == b.keys() and len(a) == len(files)
    for incident_id, record in a.items():
        assert b[incident_id] == record, incident_id


class _DeadWorker:
    """Stands in for a worker process that died: every chunk's future fails."""

    peak_rss_mib = 0.0

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, docs):
        self.submitted += 1
        future: Future = Future()
        future.set_exception(WorkerDied("spaCy worker exited with -9"))
        return future

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.mark.models
def test_a_dead_worker_costs_no_file(tmp_path, nlp, monkeypatch):
    dead = _DeadWorker()
    monkeypatch.setattr(pipeline, "ExtractionWorker", lambda: dead)
    files = _files()
    report = ingest_paths(
        files,
        tmp_path / "index",
        embedder=HashingEmbedder(64),
        nlp=nlp,
        chunk_docs=4,
        extract_worker=True,
    )
    assert dead.submitted == 3  # every chunk went to the worker, and was analysed here instead
    assert report.ingested == len(files) and not report.skipped
    assert len(_records(tmp_path / "index")) == len(files)


@pytest.mark.models
def test_worker_answers_in_order_and_reports_death(tmp_path):
    from ingest.read import read_document

    docs = [read_document(p) for p in _files()[:3]]
    worker = workers.ExtractionWorker(chunks_per_worker=2)
    try:
        futures = [worker.submit([doc]) for doc in docs]  # the third starts a second process
        for doc, future in zip(docs, futures, strict=True):
            (incident,), seconds = future.result(timeout=120)
            assert incident.source == doc.path and incident.sentences and seconds > 0
        process = worker._current
        assert process is not None
        process.proc.kill()
        with pytest.raises(WorkerDied):
            worker.submit(docs[:1]).result(timeout=60)
    finally:
        worker.close()


@pytest.mark.models
def test_worker_exits_when_the_ingest_process_dies(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from ingest.read import read_document
        from ingest.workers import ExtractionWorker
        worker = ExtractionWorker()
        worker.submit([read_document({_files()[0]!r})])
        print(worker._current.proc.pid, flush=True)
        os._exit(0)  # dies without closing anything
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.kill(pid, 9)
    pytest.fail("the spaCy worker outlived the process that started it")


@pytest.mark.models
def test_real_embedder_thread_cap_is_scoped(real_embedder):
    import torch

    before = torch.get_num_threads()
    with real_embedder.threads(1):
        assert torch.get_num_threads() == 1
        assert real_embedder.encode(["disk full"]).shape == (1, real_embedder.dim)
    assert torch.get_num_threads() == before

"""Crash safety: an ingest killed with SIGKILL at any point leaves a complete index.

Each kill point of ``ingest.store.CRASH_POINTS`` is reached through the environment
variable ``PMKB_CRASH_AT`` in a real ``ingest_paths`` subprocess (real spaCy pipeline, fake
embedder); the subprocesses run in parallel. After the kill the index must be exactly the
old one (or, once the manifest was swapped, exactly the new one), searchable, and a re-run
must finish and clean up. A last test kills an ingest by timing, with no hook at all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.embed import HashingEmbedder
from ingest.pipeline import ingest_paths
from ingest.search import SearchEngine
from ingest.store import CRASH_ENV, CRASH_POINTS, KnowledgeBase, read_manifest

pytestmark = pytest.mark.models

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
EMB = HashingEmbedder(64)
QUERIES = ("database connections retries", "queue backlog", "DNS resolution failed")
# After this point the new generation is the live one; before it, the old one must be.
COMMITTED_FROM = CRASH_POINTS.index("after-manifest")

INGEST_SCRIPT = """
import sys
from ingest.embed import HashingEmbedder
from ingest.pipeline import ingest_paths

def progress(stage, done, total):
    print(f"progress {done}/{total}", flush=True)

ingest_paths([sys.argv[1]], sys.argv[2], embedder=HashingEmbedder(64), prune=True,
             chunk_docs=2, on_progress=progress, rebuild=sys.argv[3:] == ["rebuild"])
print("done", flush=True)
"""


def index_state(index: Path) -> dict:
    """Everything a user can see of an index: counts, sources, sentences, search results."""
    kb = KnowledgeBase.open(index)
    engine = SearchEngine(kb, EMB)
    rows = kb.incident_rows()
    state = {
        "counts": read_manifest(index)["counts"],
        "sentences": {
            r["source"]: tuple(s.text for s in kb.incident(r["incident_id"]).sentences)
            for r in rows
        },
        "search": {
            q: [(h.incident_id, round(h.score, 5)) for h in engine.search(q, k=10).hits]
            for q in QUERIES
        },
        "vectors": len(kb.vectors()),
        "ann": kb.ann.ntotal,
    }
    kb.close()
    return state


def make_versions(root: Path) -> tuple[Path, Path]:
    """docs/ as version 1, and a script turning it into version 2 (changed, new, deleted)."""
    docs = root / "docs"
    docs.mkdir()
    corpus = sorted(CORPUS.glob("*.txt"))
    for src in corpus[:3]:
        shutil.copy(src, docs / src.name)
    (docs / "dns.md").write_text(
        "# DNS outage\n\n## Root cause\n\nDNS resolution failed for internal names because "
        "the resolver cache expired while upstream was down.\n",
        encoding="utf-8",
    )
    return docs, corpus


def to_version_2(docs: Path, corpus: list[Path]) -> None:
    first = docs / corpus[0].name
    text = first.read_text(encoding="utf-8")
    cut = text.index("\n\n", len(text) // 3)
    first.write_text(
        text[:cut] + "\n\nThe queue backlog grew to two million messages.\n" + text[cut:],
        encoding="utf-8",
    )
    (docs / "dns.md").unlink()
    for src in corpus[3:]:
        shutil.copy(src, docs / src.name)
    (docs / "copy.txt").write_bytes(corpus[4].read_bytes())  # a duplicate


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory, nlp):
    """Build v1, then run the v2 ingest once per kill point, all in parallel."""
    base = tmp_path_factory.mktemp("crash")
    docs, corpus = make_versions(base)
    ingest_paths([str(docs)], base / "index-v1", embedder=EMB, nlp=nlp)
    old_state = index_state(base / "index-v1")
    to_version_2(docs, corpus)
    reference = base / "index-ref"
    shutil.copytree(base / "index-v1", reference)
    ingest_paths([str(docs)], reference, embedder=EMB, nlp=nlp, prune=True, chunk_docs=2)
    new_state = index_state(reference)
    assert new_state != old_state

    procs = {}
    for point in CRASH_POINTS:
        index = base / f"index-{point}"
        shutil.copytree(base / "index-v1", index)
        env = dict(os.environ, **{CRASH_ENV: point})
        procs[point] = (
            index,
            subprocess.Popen(
                [sys.executable, "-c", INGEST_SCRIPT, str(docs), str(index)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    runs = {}
    for point, (index, proc) in procs.items():
        out, err = proc.communicate(timeout=600)
        runs[point] = (index, proc.returncode, out, err)
    return {"docs": docs, "old": old_state, "new": new_state, "runs": runs}


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_at_point_leaves_complete_index_and_rerun_completes(crash_runs, point, nlp):
    index, returncode, out, err = crash_runs["runs"][point]
    assert returncode == -signal.SIGKILL, (returncode, err[-2000:])
    assert "done" not in out
    after_kill = index_state(index)
    expected = "new" if CRASH_POINTS.index(point) >= COMMITTED_FROM else "old"
    assert after_kill == crash_runs[expected]

    rerun = ingest_paths([str(crash_runs["docs"])], index, embedder=EMB, nlp=nlp, prune=True)
    assert rerun.generation
    assert index_state(index) == crash_runs["new"]
    assert not list(index.glob("*.tmp")) and not list(index.glob(".*.tmp"))
    assert len(list(index.glob("gen-*"))) <= 2


def test_every_crash_point_is_reached(crash_runs):
    """A point the code never reaches would pass the test above vacuously: it must not."""
    for point, (_, returncode, out, _) in crash_runs["runs"].items():
        assert returncode == -signal.SIGKILL, point
        assert "done" not in out, point


def test_kill_by_timing_mid_ingest(tmp_path, nlp):
    """No hook: kill the subprocess as soon as it reports progress on the third file."""
    docs, corpus = make_versions(tmp_path)
    index = tmp_path / "index"
    ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    old_state = index_state(index)
    to_version_2(docs, corpus)
    proc = subprocess.Popen(
        [sys.executable, "-c", INGEST_SCRIPT, str(docs), str(index)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={k: v for k, v in os.environ.items() if k != CRASH_ENV},
    )
    deadline = time.monotonic() + 300
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("progress 3/") or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert index_state(index) == old_state
    ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp, prune=True)
    assert index_state(index) != old_state


@pytest.mark.parametrize("point", ["before-commit", "vectors-write", "faiss-write", "after-rename"])
def test_killed_rebuild_keeps_the_old_index(tmp_path, nlp, point):
    """--rebuild starts from nothing, but must not delete the live generation before commit.

    It also writes new vector and FAISS files, where the incremental ingest above appends to
    hard links: the kills inside those writes are covered here.
    """
    docs, corpus = make_versions(tmp_path)
    index = tmp_path / "index"
    ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    old_state = index_state(index)
    to_version_2(docs, corpus)
    proc = subprocess.run(
        [sys.executable, "-c", INGEST_SCRIPT, str(docs), str(index), "rebuild"],
        cwd=ROOT,
        env=dict(os.environ, **{CRASH_ENV: point}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert index_state(index) == old_state
    ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp, rebuild=True)
    assert index_state(index) != old_state

"""Concurrency: one writer at a time (a clear "index is locked"), and readers that keep
answering from a complete index while ingests commit, then pick up the new generation.

Readers run in a separate process, as the Streamlit app does; the writer is this process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import cli
from ingest.embed import HashingEmbedder
from ingest.errors import IndexLocked
from ingest.pipeline import ingest_paths
from ingest.search import SearchEngine
from ingest.store import KnowledgeBase, read_manifest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
EMB = HashingEmbedder(64)

HOLD_LOCK_SCRIPT = """
import sys
from ingest.store import IndexWriter
with IndexWriter(sys.argv[1], embedder_name="test/hashing-embedder-64", dim=64):
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""

READER_SCRIPT = """
import json, sys, time
from pathlib import Path
from ingest.embed import HashingEmbedder
from ingest.search import SearchEngine
from ingest.store import KnowledgeBase

index, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
emb = HashingEmbedder(64)
queries = ["database connections", "retries", "queue backlog", "outage"]
fresh = SearchEngine(KnowledgeBase.open(index), emb)  # reopens when stale, like the app
pinned = SearchEngine(KnowledgeBase.open(index), emb)  # never reopens: its files get deleted
stats = {"searches": 0, "errors": [], "generations": [fresh.kb.generation], "reopened": 0,
         "pinned_generation": pinned.kb.generation}
print("ready", flush=True)

def check(engine):
    for q in queries:
        result = engine.search(q, k=5)
        stats["searches"] += 1
        for hit in result.hits:
            inc = engine.kb.incident(hit.incident_id)
            assert inc is not None, hit.incident_id
            for ev in hit.evidence:
                assert inc.text[ev.start:ev.end] == ev.text, (hit.incident_id, ev)
        assert result.hits, q
    similar = engine.similar(engine.kb.incident_rows()[0]["incident_id"], k=3)
    assert isinstance(similar, list)

finishing = False
while True:
    finishing = stop.exists()  # one more round after the stop: it sees the final commit
    try:
        if fresh.kb.is_stale():
            fresh = SearchEngine(KnowledgeBase.open(index), emb)
            stats["reopened"] += 1
            if fresh.kb.generation not in stats["generations"]:
                stats["generations"].append(fresh.kb.generation)
        check(fresh)
        check(pinned)
    except Exception as exc:
        stats["errors"].append(repr(exc))
    if finishing:
        break
    time.sleep(0.005)
out.write_text(json.dumps(stats))
"""


@pytest.fixture()
def seed_docs(tmp_path) -> Path:
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    return docs


def test_second_ingest_gets_index_locked(tmp_path, seed_docs, nlp, monkeypatch):
    from ingest import pipeline

    index = tmp_path / "ix"
    ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp)
    before = read_manifest(index)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK_SCRIPT, str(index)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(IndexLocked, match=f"index is locked.*pid {holder.pid}"):
            ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp, rebuild=True)
        monkeypatch.setattr(pipeline, "load_embedder", lambda: EMB)
        res = CliRunner().invoke(cli, ["ingest", str(seed_docs), "--index", str(index)])
        assert res.exit_code == 2
        assert res.stderr.startswith("error: index is locked: another ingest is writing")
        assert "Traceback" not in res.output
        # readers are not blocked by the writer's lock
        assert KnowledgeBase.open(index).stats()["incidents"] == 5
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert read_manifest(index) == before
    # the lock goes with its holder: the next ingest runs
    assert ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp).incidents == 5


def test_a_killed_writer_does_not_leave_the_index_locked(tmp_path, seed_docs, nlp):
    index = tmp_path / "ix"
    ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK_SCRIPT, str(index)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    assert list(index.glob("gen-*.tmp"))  # its half-built generation
    holder.kill()
    holder.wait(timeout=60)
    report = ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp)
    assert len(report.by_status("unchanged")) == 5
    assert not list(index.glob("gen-*.tmp"))


def test_readers_keep_answering_while_ingests_commit(tmp_path, seed_docs, nlp):
    index = tmp_path / "ix"
    ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp)
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER_SCRIPT, str(index), str(stop), str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    generations = [read_manifest(index)["generation"]]
    try:
        assert reader.stdout.readline().strip() == "ready"
        files = sorted(seed_docs.glob("*.txt"))
        for round_ in range(4):
            target = files[round_ % len(files)]
            text = target.read_text(encoding="utf-8")
            cut = text.find("\n\n", len(text) // 3)
            cut = cut if cut >= 0 else len(text)
            extra = f"\n\nRound {round_}: the database connections were exhausted again.\n"
            target.write_text(text[:cut] + extra + text[cut:], encoding="utf-8")
            (seed_docs / f"new-{round_}.md").write_text(
                f"# Outage {round_}\n\nRetries overloaded the queue backlog in round {round_}.\n",
                encoding="utf-8",
            )
            if round_ == 2:
                (seed_docs / "new-0.md").unlink()
            report = ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp, prune=True)
            generations.append(report.generation)
            assert report.ingested == 2
    finally:
        stop.touch()
        _, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err[-3000:]
    stats = json.loads(out.read_text())
    assert stats["errors"] == []
    assert stats["searches"] > 0
    assert stats["generations"][-1] == generations[-1]  # picked up the newest index
    assert stats["pinned_generation"] == generations[0]
    assert not (index / generations[0]).exists()  # the pinned reader's folder was deleted
    kb = KnowledgeBase.open(index)
    assert kb.stats()["incidents"] == 5 + 3


def test_a_reader_opened_before_commits_stays_consistent_in_process(tmp_path, seed_docs, nlp):
    index = tmp_path / "ix"
    ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp)
    kb = KnowledgeBase.open(index)
    engine = SearchEngine(kb, EMB)
    before = [(h.incident_id, h.score) for h in engine.search("database retries").hits]
    for i in range(3):
        (seed_docs / f"more-{i}.md").write_text(
            f"# More {i}\n\nThe database retries piled up {i} times.\n", encoding="utf-8"
        )
        ingest_paths([str(seed_docs)], index, embedder=EMB, nlp=nlp)
        assert kb.is_stale()
    assert not (index / kb.generation).exists()
    again = [(h.incident_id, h.score) for h in engine.search("database retries").hits]
    assert again == before
    assert len(kb.vectors()) == kb.ann.ntotal
    fresh = KnowledgeBase.open(index)
    assert not fresh.is_stale() and fresh.stats()["incidents"] == 8
    assert os.path.isdir(index / fresh.generation)

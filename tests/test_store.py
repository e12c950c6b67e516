"""The index directory: atomic generations, versioned manifest, lock, reader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest import vectors
from ingest.embed import HashingEmbedder
from ingest.errors import IndexCorrupt, IndexLocked, IndexNotFound, IndexVersionMismatch
from ingest.records import (
    Action,
    CategoryScore,
    Cause,
    Incident,
    Sentence,
    System,
    TimelineEvent,
)
from ingest.store import IndexWriter, KnowledgeBase, read_manifest

EMB = HashingEmbedder(16)


def make_incident(incident_id: str, sentences: list[str], *, role: str = "cause") -> Incident:
    text = " ".join(sentences)
    sents, pos = [], 0
    for i, s in enumerate(sentences):
        start = text.index(s, pos)
        sents.append(Sentence(i, 0, start, start + len(s), s, role, (role,)))
        pos = start + len(s)
    first = sents[0]
    return Incident(
        incident_id=incident_id,
        source=f"docs/{incident_id}.md",
        title=f"Title {incident_id}",
        text=text,
        format="markdown",
        sha256=f"sha-{incident_id}-{len(text)}",
        date="2018-07-13",
        sentences=tuple(sents),
        causes=(
            Cause(
                first.text,
                first.start,
                first.end,
                "root_cause",
                (CategoryScore("retry_storm", "Retry storm", 0.9),),
                0,
            ),
        ),
        timeline=(TimelineEvent(first.text, first.start, first.end, iso="2018-07-13T11:00Z"),),
        actions=(Action(first.text, first.start, first.end, status="planned"),),
        systems=(System("MongoDB", "datastore", 2),),
        categories=(CategoryScore("retry_storm", "Retry storm", 0.9),),
    )


def write(index, incidents, **kw):
    with IndexWriter(index, embedder_name=EMB.name, dim=EMB.dim, **kw) as w:
        for inc in incidents:
            w.add_incident(inc, EMB.encode([s.text for s in inc.sentences]))
        return w.commit()


def test_round_trip_incident_and_manifest(tmp_path):
    inc = make_incident("a", ["Failed requests were retried.", "The queue grew."])
    manifest = write(tmp_path / "ix", [inc])
    assert manifest["schema_version"] == 1
    assert manifest["embedding"] == {"model": EMB.name, "dim": 16, "normalized": True}
    assert manifest["counts"]["incidents"] == 1
    kb = KnowledgeBase.open(tmp_path / "ix")
    back = kb.incident("a")
    assert back == inc
    assert kb.ann.ntotal == 2
    assert kb.incident("missing") is None


def test_vectors_follow_sentences_after_removal(tmp_path):
    a = make_incident("a", ["Alpha one.", "Alpha two."])
    b = make_incident("b", ["Bravo one.", "Bravo two.", "Bravo three."])
    write(tmp_path / "ix", [a, b])
    with IndexWriter(tmp_path / "ix", embedder_name=EMB.name, dim=EMB.dim) as w:
        w.remove_incident("a")
        c = make_incident("c", ["Charlie one."])
        w.add_incident(c, EMB.encode(["Charlie one."]))
        w.commit()
    kb = KnowledgeBase.open(tmp_path / "ix")
    matrix = kb.vectors()
    assert kb.ann.ntotal == len(matrix) == 4
    rows = kb.sentences_by_vec_rows(range(4))
    for vec_row, row in rows.items():
        expected = EMB.encode([row["text"]])[0]
        assert np.allclose(matrix[vec_row], expected)
    assert {r["incident_id"] for r in rows.values()} == {"b", "c"}


def test_append_only_extends_faiss(tmp_path):
    write(tmp_path / "ix", [make_incident("a", ["One.", "Two."])])
    write(tmp_path / "ix", [make_incident("b", ["Three."])])
    kb = KnowledgeBase.open(tmp_path / "ix")
    q = EMB.encode(["Three."])
    scores, ids = vectors.search(kb.ann, q, 1)
    assert kb.sentences_by_vec_rows([int(ids[0][0])])[int(ids[0][0])]["text"] == "Three."
    assert scores[0][0] == pytest.approx(1.0, abs=1e-5)


def test_failed_writer_leaves_live_index_untouched(tmp_path):
    write(tmp_path / "ix", [make_incident("a", ["One."])])
    before = read_manifest(tmp_path / "ix")
    with pytest.raises(RuntimeError):
        with IndexWriter(tmp_path / "ix", embedder_name=EMB.name, dim=EMB.dim) as w:
            w.add_incident(make_incident("b", ["Two."]), EMB.encode(["Two."]))
            raise RuntimeError("boom")
    assert read_manifest(tmp_path / "ix") == before
    assert not list((tmp_path / "ix").glob("gen-*.tmp"))
    assert KnowledgeBase.open(tmp_path / "ix").incident("b") is None


def test_only_live_and_previous_generations_are_kept(tmp_path):
    for name in "abcd":
        write(tmp_path / "ix", [make_incident(name, [f"Sentence {name}."])])
    gens = sorted(p.name for p in (tmp_path / "ix").glob("gen-*"))
    assert len(gens) == 2
    assert read_manifest(tmp_path / "ix")["generation"] == gens[-1]


def test_second_writer_gets_index_locked(tmp_path):
    with IndexWriter(tmp_path / "ix", embedder_name=EMB.name, dim=EMB.dim):
        with pytest.raises(IndexLocked, match="index is locked"):
            with IndexWriter(tmp_path / "ix", embedder_name=EMB.name, dim=EMB.dim):
                pass


def test_missing_and_foreign_indexes_are_named_errors(tmp_path):
    with pytest.raises(IndexNotFound, match="pmkb ingest"):
        KnowledgeBase.open(tmp_path / "nothing")
    write(tmp_path / "ix", [make_incident("a", ["One."])])
    manifest_path = tmp_path / "ix" / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["schema_version"] = 99
    manifest_path.write_text(json.dumps(data))
    with pytest.raises(IndexVersionMismatch, match="--rebuild"):
        KnowledgeBase.open(tmp_path / "ix")
    manifest_path.write_text("{not json")
    with pytest.raises(IndexCorrupt):
        KnowledgeBase.open(tmp_path / "ix")


def test_writer_refuses_other_embedding_model_unless_rebuild(tmp_path):
    write(tmp_path / "ix", [make_incident("a", ["One."])])
    other = HashingEmbedder(32)
    with pytest.raises(IndexVersionMismatch, match="embedding model"):
        with IndexWriter(tmp_path / "ix", embedder_name=other.name, dim=other.dim):
            pass
    with IndexWriter(tmp_path / "ix", embedder_name=other.name, dim=other.dim, rebuild=True) as w:
        w.add_incident(make_incident("z", ["Zed."]), other.encode(["Zed."]))
        manifest = w.commit()
    assert manifest["embedding"]["dim"] == 32
    assert KnowledgeBase.open(tmp_path / "ix").incident("a") is None


def test_cause_rows_and_counts(tmp_path):
    write(
        tmp_path / "ix",
        [make_incident("a", ["Retries piled up."]), make_incident("b", ["Retries again."])],
    )
    kb = KnowledgeBase.open(tmp_path / "ix")
    rows = list(kb.cause_rows())
    assert [r["incident_id"] for r in rows] == ["a", "b"]
    assert rows[0]["cause"] == "Retries piled up."
    assert kb.category_counts() == [
        {"category_id": "retry_storm", "category": "Retry storm", "incidents": 2, "causes": 2}
    ]
    stats = kb.stats()
    assert stats["incidents"] == 2 and stats["open_actions"] == 2


def test_fts_is_stemmed_and_injection_safe(tmp_path):
    write(tmp_path / "ix", [make_incident("a", ["Failed requests were being retried."])])
    kb = KnowledgeBase.open(tmp_path / "ix")
    assert kb.fts('"retries"', 10)  # porter: retries ~ retried
    assert kb.fts('"unrelated"', 10) == []
    assert kb.fts('NEAR(( "x', 10) == []  # malformed syntax is no crash


def test_index_crossing_the_hnsw_threshold_is_rebuilt_as_hnsw(tmp_path):
    first = make_incident("a", ["One.", "Two.", "Three."])
    write(tmp_path / "ix", [first], hnsw_threshold=5)
    assert read_manifest(tmp_path / "ix")["faiss"]["type"] == "IndexFlatIP"
    repeat = make_incident("b", ["One.", "Four.", "One."])  # "One." again, twice
    manifest = write(tmp_path / "ix", [repeat], hnsw_threshold=5)
    assert manifest["faiss"]["type"] == "IndexHNSWFlat"
    assert manifest["faiss"]["vectors"] == 6
    assert manifest["faiss"]["distinct_vectors"] == 4
    kb = KnowledgeBase.open(tmp_path / "ix")
    assert kb.ann.ntotal == len(kb.vectors()) == 6
    scores, ids = vectors.search(kb.ann, EMB.encode(["One."]), 3)
    found = kb.sentences_by_vec_rows([int(i) for i in ids[0]])
    assert [found[int(i)]["text"] for i in ids[0]] == ["One."] * 3
    assert sorted(found[int(i)]["incident_id"] for i in ids[0]) == ["a", "b", "b"]


def test_hnsw_index_is_extended_in_place_when_the_tail_is_full(tmp_path):
    write(tmp_path / "ix", [make_incident("a", ["One.", "Two."])], hnsw_threshold=1)
    manifest = write(
        tmp_path / "ix",
        [make_incident("b", ["Two.", "Five."])],
        hnsw_threshold=1,
        max_tail_rows=1,  # two new rows: folded into the FAISS file
    )
    assert manifest["faiss"]["type"] == "IndexHNSWFlat"
    assert (manifest["faiss"]["vectors"], manifest["faiss"]["distinct_vectors"]) == (4, 3)
    assert manifest["faiss"]["base_rows"] == 4
    kb = KnowledgeBase.open(tmp_path / "ix")
    _, ids = vectors.search(kb.ann, EMB.encode(["Two."]), 2)
    found = kb.sentences_by_vec_rows([int(i) for i in ids[0]])
    assert {found[int(i)]["incident_id"] for i in ids[0]} == {"a", "b"}


# -- appends, tails, dead rows ------------------------------------------------------------------


def gen_path(index: Path) -> Path:
    """The live generation's folder."""
    return index / read_manifest(index)["generation"]


def inode(path: Path) -> int:
    return path.stat().st_ino


def test_append_links_the_files_and_the_previous_generation_keeps_its_rows(tmp_path):
    ix = tmp_path / "ix"
    write(ix, [make_incident("a", ["One.", "Two."])])
    old = KnowledgeBase.open(ix)
    old_rows = np.array(old.vectors())
    old_gen = gen_path(ix)
    manifest = write(ix, [make_incident("b", ["Three.", "Four."])])
    new_gen = gen_path(ix)
    for name in ("vectors.f32", "vectors.faiss"):
        assert inode(new_gen / name) == inode(old_gen / name)  # one file, two names
    assert manifest["vectors"] == {"file": "vectors.f32", "rows": 4, "dead_rows": 0}
    assert (manifest["faiss"]["vectors"], manifest["faiss"]["base_rows"]) == (4, 2)
    assert (old_gen / "vectors.f32").stat().st_size == 4 * 16 * 4  # the rows appended
    # the reader opened before the append, and a fresh reader of the previous generation
    previous = KnowledgeBase(ix, json.loads((old_gen / "manifest.json").read_text()))
    for kb in (old, previous):
        assert np.array_equal(np.array(kb.vectors()), old_rows) and kb.ann.ntotal == 2
        _, ids = vectors.search(kb.ann, EMB.encode(["Four."]), 4)
        assert sorted(ids[0].tolist()) == [0, 1]
    kb = KnowledgeBase.open(ix)
    assert kb.ann.ntotal == 4 and kb.ann.tail_rows == 2
    assert np.array_equal(np.array(kb.vectors()[:2]), old_rows)


def test_tail_rows_are_searched_exactly(tmp_path):
    ix = tmp_path / "ix"
    write(ix, [make_incident("a", [f"Base sentence {i}." for i in range(20)])], hnsw_threshold=1)
    tail_texts = [f"Tail sentence number {i}." for i in range(12)]
    manifest = write(ix, [make_incident("b", tail_texts)], hnsw_threshold=1)
    assert manifest["faiss"]["base_rows"] == 20 and manifest["faiss"]["vectors"] == 32
    kb = KnowledgeBase.open(ix)
    matrix = np.array(kb.vectors())
    queries = EMB.encode(tail_texts)
    scores, ids = vectors.search(kb.ann, queries, 5)
    assert np.allclose(matrix[ids[:, 0]], queries, atol=1e-6)  # each found itself (or a twin)
    assert (ids[:, 0] >= 20).all()  # ... in the tail
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    exact = np.sort(matrix @ queries.T, axis=0)[::-1][:5].T
    assert np.allclose(scores, exact, atol=1e-4)  # HNSW base + exact tail = exact top 5 here


def test_removed_sentences_become_dead_rows_that_search_never_returns(tmp_path):
    ix = tmp_path / "ix"
    incidents = [
        make_incident(f"i{n}", [f"Incident {n} line {j}." for j in range(4)]) for n in "abcdef"
    ]
    write(ix, incidents, hnsw_threshold=1)
    before = read_manifest(ix)
    faiss_inode = inode(gen_path(ix) / "vectors.faiss")
    changed = make_incident("ia", ["Incident a line 0.", "A changed line.", "Another new line."])
    with IndexWriter(ix, embedder_name=EMB.name, dim=EMB.dim, hnsw_threshold=1) as w:
        w.remove_incident("ia")  # a changed file: out, then in again
        w.add_incident(changed, EMB.encode([s.text for s in changed.sentences]))
        manifest = w.commit()
    assert manifest["vectors"]["rows"] == 24 + 3 and manifest["vectors"]["dead_rows"] == 4
    assert manifest["faiss"]["base_rows"] == before["faiss"]["base_rows"] == 24
    assert inode(gen_path(ix) / "vectors.faiss") == faiss_inode  # no new graph
    kb = KnowledgeBase.open(ix)
    assert kb.incident("ia") == changed
    dead = set(kb.ann.dead.tolist())
    assert dead == {0, 1, 2, 3}  # the first incident's old rows
    for text in ("Incident a line 0.", "Incident a line 1.", "A changed line."):
        scores, ids = vectors.search(kb.ann, EMB.encode([text]), 10)
        assert len(ids[0]) == 10 and (ids[0] >= 0).all()
        assert not dead & set(ids[0].tolist())
        found = kb.sentences_by_vec_rows(ids[0].tolist())
        assert len(found) == 10  # every row is a live sentence
    scores, ids = vectors.search(kb.ann, EMB.encode(["Incident a line 1."]), 30)
    assert (ids[0] >= 0).sum() == 23 and len(set(ids[0][ids[0] >= 0].tolist())) == 23
    matrix = kb.vectors()
    for vec_row, row in kb.sentences_by_vec_rows(range(27)).items():
        assert np.allclose(matrix[vec_row], EMB.encode([row["text"]])[0])


def test_commit_compacts_when_dead_rows_pass_the_limit(tmp_path):
    ix = tmp_path / "ix"
    incidents = [
        make_incident(f"i{n}", [f"Incident {n} line {j}." for j in range(4)]) for n in "abcd"
    ]
    write(ix, incidents)
    old_vectors = inode(gen_path(ix) / "vectors.f32")
    with IndexWriter(ix, embedder_name=EMB.name, dim=EMB.dim, max_dead_fraction=0.3) as w:
        w.remove_incident("ia")  # 4 of 16 rows dead: within 0.3
        manifest = w.commit()
    assert manifest["vectors"] == {"file": "vectors.f32", "rows": 16, "dead_rows": 4}
    assert (gen_path(ix) / "vectors.dead.npy").exists()
    with IndexWriter(ix, embedder_name=EMB.name, dim=EMB.dim, max_dead_fraction=0.3) as w:
        w.remove_incident("ib")  # 8 of 16: compact
        manifest = w.commit()
    assert manifest["vectors"] == {"file": "vectors.f32", "rows": 8, "dead_rows": 0}
    assert manifest["faiss"]["base_rows"] == 8
    assert inode(gen_path(ix) / "vectors.f32") != old_vectors
    assert not (gen_path(ix) / "vectors.dead.npy").exists()
    kb = KnowledgeBase.open(ix)
    rows = kb.sentences_by_vec_rows(range(8))
    assert {r["incident_id"] for r in rows.values()} == {"ic", "id"} and len(rows) == 8
    for vec_row, row in rows.items():
        assert np.allclose(kb.vectors()[vec_row], EMB.encode([row["text"]])[0])


def make_legacy(ix: Path) -> None:
    """Turn the live generation into the layout written before vectors.f32 (vectors.npy, no
    ``vectors`` in the manifest, every row in the FAISS file)."""
    gen = gen_path(ix)
    manifest = read_manifest(ix)
    assert manifest["faiss"]["base_rows"] == manifest["vectors"]["rows"]
    matrix = np.fromfile(gen / "vectors.f32", dtype="<f4").reshape(-1, EMB.dim)
    np.save(gen / "vectors.npy", matrix, allow_pickle=False)
    (gen / "vectors.f32").unlink()
    del manifest["vectors"], manifest["faiss"]["base_rows"]
    for path in (ix / "manifest.json", gen / "manifest.json"):
        path.write_text(json.dumps(manifest))


def test_legacy_npy_generation_opens_and_converts_on_the_next_commit(tmp_path):
    ix = tmp_path / "ix"
    write(ix, [make_incident("a", ["One.", "Two."])])
    make_legacy(ix)
    legacy_gen = gen_path(ix)
    kb = KnowledgeBase.open(ix)
    assert kb.ann.ntotal == len(kb.vectors()) == 2 and kb.ann.tail_rows == 0
    _, ids = vectors.search(kb.ann, EMB.encode(["Two."]), 1)
    assert kb.sentences_by_vec_rows([int(ids[0][0])])[int(ids[0][0])]["text"] == "Two."
    manifest = write(ix, [make_incident("b", ["Three."])])
    gen = gen_path(ix)
    assert manifest["vectors"] == {"file": "vectors.f32", "rows": 3, "dead_rows": 0}
    assert not (gen / "vectors.npy").exists()
    assert inode(gen / "vectors.faiss") == inode(legacy_gen / "vectors.faiss")
    kb = KnowledgeBase.open(ix)
    assert kb.ann.ntotal == 3 and kb.ann.tail_rows == 1
    for text in ("Two.", "Three."):
        _, ids = vectors.search(kb.ann, EMB.encode([text]), 1)
        assert kb.sentences_by_vec_rows([int(ids[0][0])])[int(ids[0][0])]["text"] == text


CRASHING_APPEND = """
import sys
from ingest.embed import HashingEmbedder
from ingest.store import IndexWriter
from tests.test_store import make_incident
emb = HashingEmbedder(16)
inc = make_incident("crash", ["Crashed one.", "Crashed two.", "Crashed three."])
with IndexWriter(sys.argv[1], embedder_name=emb.name, dim=emb.dim) as w:
    w.add_incident(inc, emb.encode([s.text for s in inc.sentences]))
    w.commit()
"""


def test_a_crash_mid_append_keeps_the_old_generation_and_the_next_writer_drops_it(tmp_path):
    ix = tmp_path / "ix"
    write(ix, [make_incident("a", ["One.", "Two."])])
    live = gen_path(ix)
    before = np.array(KnowledgeBase.open(ix).vectors())
    proc = subprocess.run(
        [sys.executable, "-c", CRASHING_APPEND, str(ix)],
        cwd=Path(__file__).resolve().parent.parent,
        env=dict(os.environ, PMKB_CRASH_AT="vectors-write"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert gen_path(ix) == live
    row_bytes = 16 * 4
    assert (live / "vectors.f32").stat().st_size > 2 * row_bytes  # half the new rows got there
    kb = KnowledgeBase.open(ix)
    assert np.array_equal(np.array(kb.vectors()), before) and kb.incident("crash") is None
    write(ix, [make_incident("b", ["Three."])])
    gen = gen_path(ix)
    assert (gen / "vectors.f32").stat().st_size == 3 * row_bytes  # the garbage is gone
    kb = KnowledgeBase.open(ix)
    assert np.allclose(kb.vectors()[2], EMB.encode(["Three."])[0])
    assert np.array_equal(np.array(kb.vectors()[:2]), before)
    assert not list(ix.glob("gen-*.tmp"))

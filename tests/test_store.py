"""The index directory: atomic generations, versioned manifest, lock, reader."""

from __future__ import annotations

import json

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


def test_hnsw_index_is_extended_in_place_on_append(tmp_path):
    write(tmp_path / "ix", [make_incident("a", ["One.", "Two."])], hnsw_threshold=1)
    manifest = write(tmp_path / "ix", [make_incident("b", ["Two.", "Five."])], hnsw_threshold=1)
    assert manifest["faiss"]["type"] == "IndexHNSWFlat"
    assert (manifest["faiss"]["vectors"], manifest["faiss"]["distinct_vectors"]) == (4, 3)
    kb = KnowledgeBase.open(tmp_path / "ix")
    _, ids = vectors.search(kb.ann, EMB.encode(["Two."]), 2)
    found = kb.sentences_by_vec_rows([int(i) for i in ids[0]])
    assert {found[int(i)]["incident_id"] for i in ids[0]} == {"a", "b"}

"""The ingest pipeline over real files: incremental, idempotent, duplicate-aware."""

from __future__ import annotations

import shutil

import pytest

from ingest import pipeline
from ingest.embed import HashingEmbedder
from ingest.errors import NothingToIngest
from ingest.pipeline import REEXTRACTED, extractor_fingerprint, ingest_paths, make_incident_id
from ingest.store import KnowledgeBase, read_manifest

EMB = HashingEmbedder(64)


def test_incident_ids_are_stable_and_readable():
    assert make_incident_id("corpus/000_b8c.txt") == make_incident_id("./corpus/000_b8c.txt")
    assert make_incident_id("corpus/000_b8c.txt").startswith("000-b8c-")
    assert make_incident_id("a/x.md") != make_incident_id("b/x.md")


def test_seed_corpus_is_indexed_with_offsets(seed_index_fake, corpus_dir):
    kb = KnowledgeBase.open(seed_index_fake)
    rows = kb.incident_rows()
    assert len(rows) == len(list(corpus_dir.glob("*.txt")))
    for row in rows:
        inc = kb.incident(row["incident_id"])
        assert inc.sentences, inc.source
        for s in inc.sentences:
            assert inc.text[s.start : s.end] == s.text
        for c in inc.causes:
            assert inc.text[c.start : c.end] == c.text
        assert inc.title and inc.title not in ("Product", "Incident Report for [mailgun](/)")


def test_reingest_is_idempotent_and_changes_replace(seed_index_copy, tmp_path, nlp):
    docs = tmp_path / "docs"
    shutil.copytree("corpus", docs)
    index = tmp_path / "ix"
    first = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    kb1 = KnowledgeBase.open(index)
    again = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    assert again.sentences_embedded == 0
    assert len(again.by_status("unchanged")) == first.ingested
    kb2 = KnowledgeBase.open(index)
    assert kb2.stats()["sentences"] == kb1.stats()["sentences"]

    target = next(docs.glob("001_*.txt"))
    target.write_text(target.read_text() + "\nA new closing sentence about retries.\n")
    third = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    assert [o.source for o in third.by_status("updated")] == [str(target)]
    assert third.sentences_embedded > 0
    assert KnowledgeBase.open(index).stats()["incidents"] == first.incidents


def test_the_fingerprint_follows_the_extraction_files_only(tmp_path):
    package = tmp_path / "ingest"
    shutil.copytree(
        pipeline.Path(pipeline.__file__).parent,
        package,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    before = extractor_fingerprint(package)
    assert len(before) == 16 and before == extractor_fingerprint(package)
    (package / "cli.py").write_text("# a front end does not change what is extracted\n")
    assert extractor_fingerprint(package) == before
    taxonomy = package / "data" / "taxonomy.yaml"
    taxonomy.write_text(taxonomy.read_text() + "\n# an edited taxonomy\n")
    assert extractor_fingerprint(package) != before
    (package / "data" / "taxonomy.yaml").write_text(taxonomy.read_text())
    rules = package / "extract" / "causes.py"
    rules.write_text(rules.read_text() + "\n")
    assert extractor_fingerprint(package) != before


def test_new_extraction_rules_reanalyse_unchanged_files_and_track_the_rest(
    tmp_path, nlp, monkeypatch
):
    docs = tmp_path / "docs"
    docs.mkdir()
    seeds = sorted(pipeline.Path("corpus").glob("*.txt"))[:2]
    a, b = docs / "a.txt", docs / "b.txt"
    shutil.copy(seeds[0], a)
    shutil.copy(seeds[1], b)
    index = tmp_path / "ix"
    first = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    assert first.ingested == 2 and first.stale_sources == ()
    manifest = read_manifest(index)
    assert manifest["extractor"] == {"fingerprint": extractor_fingerprint(), "stale_sources": []}

    monkeypatch.setattr(pipeline, "extractor_fingerprint", lambda root=None: "new-rules")
    only_a = ingest_paths([str(a)], index, embedder=EMB, nlp=nlp)
    assert [(o.source, o.status, o.detail) for o in only_a.outcomes] == [
        (str(a), "updated", REEXTRACTED)
    ]
    assert only_a.sentences_embedded > 0
    assert only_a.stale_sources == (str(b),)
    assert read_manifest(index)["extractor"]["stale_sources"] == [str(b)]

    both = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    assert {o.source: o.status for o in both.outcomes} == {str(a): "unchanged", str(b): "updated"}
    assert both.stale_sources == ()
    again = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    assert {o.status for o in again.outcomes} == {"unchanged"}
    assert KnowledgeBase.open(index).stats()["incidents"] == 2


def test_duplicates_are_indexed_once_and_prune_removes(tmp_path, nlp):
    docs = tmp_path / "docs"
    docs.mkdir()
    src = next(iter(sorted(__import__("pathlib").Path("corpus").glob("*.txt"))))
    shutil.copy(src, docs / "a.txt")
    shutil.copy(src, docs / "b.txt")
    index = tmp_path / "ix"
    report = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    assert report.incidents == 1
    dup = report.by_status("duplicate")
    assert len(dup) == 1 and "same text as" in dup[0].detail
    (docs / "a.txt").unlink()
    pruned = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp, prune=True)
    assert [o.source for o in pruned.by_status("removed")] == [str(docs / "a.txt")]


def test_bad_files_are_skipped_with_reasons(tmp_path, nlp):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(
        next(iter(sorted(__import__("pathlib").Path("corpus").glob("*.txt")))), docs / "good.txt"
    )
    (docs / "empty.md").write_text("   \n")
    (docs / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    report = ingest_paths([str(docs)], tmp_path / "ix", embedder=EMB, nlp=nlp)
    assert report.ingested == 1
    reasons = {o.source.rsplit("/", 1)[-1]: o.detail for o in report.skipped}
    assert set(reasons) == {"empty.md", "image.md"}
    assert all(reasons.values())
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1


def test_nothing_to_ingest_is_a_named_error(tmp_path):
    with pytest.raises(NothingToIngest):
        ingest_paths([str(tmp_path)], tmp_path / "ix", embedder=EMB)

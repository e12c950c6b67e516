"""The whole path with the real models: corpus/ in, ranked incidents with evidence out."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from ingest.cli import cli
from ingest.search import SearchEngine
from ingest.store import KnowledgeBase, read_manifest

pytestmark = pytest.mark.models


def _id_of(kb: KnowledgeBase, stem: str) -> str:
    return next(r["incident_id"] for r in kb.incident_rows() if stem in r["source"])


def test_manifest_records_models(seed_index_real):
    manifest = read_manifest(seed_index_real)
    assert manifest["embedding"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["embedding"]["dim"] == 384
    assert manifest["faiss"]["type"] == "IndexFlatIP"
    assert "en_core_web_sm" in json.dumps(manifest["spacy"])
    assert manifest["counts"]["incidents"] == 5


def test_retries_query_ranks_the_2018_authentication_incident_first(seed_index_real):
    result = CliRunner().invoke(
        cli,
        ["search", "incidents caused by retries", "--json", "--index", str(seed_index_real)],
        catch_exceptions=False,
    )
    data = json.loads(result.output)
    first = data["results"][0]
    assert "001_18547d42d4387836" in first["source"]
    assert any(re.search(r"retr(y|ied|ies)", ev["text"]) for ev in first["evidence"])
    assert first["evidence"][0]["section"] == "cause"
    text = KnowledgeBase.open(seed_index_real).incident(first["incident_id"]).text
    for ev in first["evidence"]:
        assert text[ev["start"] : ev["end"]] == ev["text"]


@pytest.mark.parametrize(
    ("query", "stem"),
    [
        ("path MTU problem on the F5 load balancers", "003_a85bbac2f912c625"),
        ("Cassandra compaction bug", "004_e32423ce95dd144f"),
        ("MongoDB primary overloaded after a config change", "000_b8c8c00f2bf6ff1e"),
        ("duplicate messages after restarting delivery nodes", "002_210e6800a7cbf6c4"),
    ],
)
def test_paraphrased_queries_find_their_incident(seed_index_real, real_embedder, query, stem):
    engine = SearchEngine.open(seed_index_real, real_embedder)
    assert stem in engine.search(query, k=3).hits[0].source


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_answers_with_real_vectors(seed_index_real, real_embedder, mode):
    engine = SearchEngine.open(seed_index_real, real_embedder)
    hits = engine.search("DDoS mitigation blocked legitimate traffic", mode=mode).hits
    assert "004_e32423ce95dd144f" in hits[0].source


def test_similar_incidents_with_real_vectors(seed_index_real, real_embedder):
    engine = SearchEngine.open(seed_index_real, real_embedder)
    kb = engine.kb
    hits = engine.similar(_id_of(kb, "001_"), k=4)
    assert len(hits) == 4 and all(h.evidence for h in hits)

"""Tests for ingest.extract.systems: gazetteer and NER systems with canonical names and counts."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import analyze, analyze_many
from ingest.read import read_document
from ingest.records import Document
from ingest.sections import split_sections

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def seed_systems(corpus_dir, nlp):
    items = []
    for path in sorted(corpus_dir.iterdir()):
        document = read_document(path)
        items.append((document, split_sections(document)))
    return {
        doc.path.split("/")[-1][:3]: {s.name: s for s in a.systems}
        for (doc, _), a in zip(items, analyze_many(items, nlp), strict=True)
    }


def test_seed_003_mentions_f5_rackspace_dns(seed_systems):
    systems = seed_systems["003"]
    assert {"F5", "Rackspace", "DNS"} <= set(systems)
    assert systems["F5"].kind == "load_balancer"
    assert systems["F5"].mentions >= 5  # "F5", "F5s", "F5 servers" ... all count


def test_seed_004_cassandra_and_000_mongodb(seed_systems):
    assert seed_systems["004"]["Cassandra"].kind == "datastore"
    assert seed_systems["000"]["MongoDB"].mentions >= 5  # "MongoDB" and "Mongo"
    assert "Riak" in seed_systems["002"]


def test_the_organisation_itself_is_not_a_system(seed_systems):
    for systems in seed_systems.values():
        assert "Mailgun" not in systems


def test_systems_are_sorted_by_mentions(seed_systems):
    for systems in seed_systems.values():
        counts = [s.mentions for s in systems.values()]
        assert counts == sorted(counts, reverse=True)


def test_first_mention_offsets_and_canonical_names(nlp):
    text = "Our Postgres primary failed over. Later postgres and k8s nodes recovered."
    document = Document(
        path="x.txt", text=text, format="text", sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    analysis = analyze(document, split_sections(document), nlp)
    systems = {s.name: s for s in analysis.systems}
    assert systems["PostgreSQL"].mentions == 2
    assert text[systems["PostgreSQL"].start : systems["PostgreSQL"].end] == "Postgres"
    assert systems["Kubernetes"].kind == "orchestration"

"""Tests for ingest.extract.impact: impact statements and their figures as written."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import analyze, analyze_many
from ingest.read import read_document
from ingest.records import Document
from ingest.sections import split_sections

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def seed_impacts(corpus_dir, nlp):
    items = []
    for path in sorted(corpus_dir.iterdir()):
        document = read_document(path)
        items.append((document, split_sections(document)))
    return {
        doc.path.split("/")[-1][:3]: a.impacts
        for (doc, _), a in zip(items, analyze_many(items, nlp), strict=True)
    }


def _figures(impacts) -> list[str]:
    return [f for impact in impacts for f in impact.figures]


def test_seed_003_duplicate_emails_figure(seed_impacts):
    assert "Approximately 100,000 duplicate emails" in _figures(seed_impacts["003"])


def test_seed_000_throughput_figure_spans_what_it_counts(seed_impacts):
    figures = [" ".join(f.split()) for f in _figures(seed_impacts["000"])]
    assert any(f.startswith("approximately 75% of our typical request throughput") for f in figures)


def test_seed_002_time_range_and_share_of_customers(seed_impacts):
    figures = _figures(seed_impacts["002"])
    assert "from approximately 20:40 pm UTC to 04:40 UTC" in figures
    assert "a small number of customers" in figures


def test_figures_occur_in_their_sentence(seed_impacts):
    for impacts in seed_impacts.values():
        for impact in impacts:
            for figure in impact.figures:
                assert figure in impact.text


def _analyze(nlp, text: str):
    document = Document(
        path="x.txt", text=text, format="text", sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    return analyze(document, split_sections(document), nlp)


def test_inline_figures_rates_and_durations(nlp):
    text = (
        "The status page was updated.\n\n"
        "About 12% of API requests failed for nearly two hours, affecting 3,400 customers."
    )
    impacts = _analyze(nlp, text).impacts
    assert len(impacts) == 1
    figures = impacts[0].figures
    assert any(f.startswith("About 12% of API requests") for f in figures)
    assert "nearly two hours" in figures
    assert "3,400 customers" in figures


def test_numbers_that_count_nothing_affected_are_not_figures(nlp):
    text = "The F5 reported a path MTU of 296 and users saw failures."
    impacts = _analyze(nlp, text).impacts
    assert all("296" not in f for i in impacts for f in i.figures)


def test_prevention_wording_is_not_an_impact(nlp):
    text = "To prevent customer impact, we drained the region before the maintenance."
    assert _analyze(nlp, text).impacts == ()

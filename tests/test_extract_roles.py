"""Tests for ingest.extract.roles: heading and sentence cues, with and without headings."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import analyze
from ingest.extract.roles import (
    action_score,
    cause_score,
    heading_scores,
    impact_score,
)
from ingest.records import Document
from ingest.sections import split_sections


@pytest.mark.parametrize(
    ("heading", "role"),
    [
        ("Root Cause", "cause"),
        ("Contributing factors", "cause"),
        ("Why did this happen?", "cause"),
        ("Timeline", "timeline"),
        ("Detailed timeline (all times UTC)", "timeline"),
        ("Corrective Actions", "action"),
        ("Action items", "action"),
        ("Remediation", "action"),
        ("Going forward", "action"),
        ("What we are doing about it?", "action"),
        ("Customer impact", "impact"),
        ("Impact", "impact"),
    ],
)
def test_headings_give_roles(heading, role):
    scores = heading_scores(heading)
    assert max(scores, key=scores.get) == role
    assert scores[role] >= 3.0


def test_unrelated_heading_gives_no_role():
    assert heading_scores("Our infrastructure") == {}
    assert heading_scores("") == {}


@pytest.mark.parametrize("heading", ["Lessons learned", "Stats", "Acknowledgements"])
def test_headings_of_sections_without_roles(heading):
    assert heading_scores(heading) == {"other": 3.0}


@pytest.mark.parametrize(
    "sentence",
    [
        "The outage was caused by an expired certificate.",
        "Errors rose due to a misconfigured load balancer.",
        "A deploy triggered a cascade of restarts.",
        "The root cause was a race condition in the scheduler.",
        "Failed requests were retried, which further compounded the load problem.",
        "This introduced additional latency to the authentication flow.",
        "The spike led to disk exhaustion on the primary.",
    ],
)
def test_causal_cues(sentence):
    assert cause_score(sentence) >= 2.0


@pytest.mark.parametrize(
    "sentence",
    [
        "Our logs did not reveal any clear set of queries that caused the degradation.",
        "We ruled out the network as the cause.",
        "We continue to investigate the root cause of the problem.",
        "These configuration changes resulted in our services resuming normal operations.",
    ],
)
def test_rejected_or_sought_causes_score_zero(sentence):
    assert cause_score(sentence) < 2.0


def test_action_and_impact_cues():
    assert action_score("We will add alerting on queue depth.", "paragraph") >= 2.0
    assert action_score("We're in the process of redesigning the network.", "paragraph") >= 2.0
    assert action_score("Add alerting on queue depth", "list_item") >= 2.0
    assert action_score("The queue grew quickly.", "paragraph") == 0.0
    assert impact_score("Approximately 100,000 duplicate emails were sent.") >= 2.0
    assert impact_score("We served 75% of our typical request throughput.") >= 2.0
    assert impact_score("To prevent customer impact we moved traffic.") < 2.0


def _analyze(nlp, text: str):
    document = Document(
        path="x.txt", text=text, format="text", sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    return analyze(document, split_sections(document), nlp)


@pytest.mark.models
def test_roles_without_headings(nlp):
    text = (
        "At 14:09 UTC, alerts fired for the API.\n\n"
        "The outage was caused by a bad configuration push.\n\n"
        "About 30% of requests failed for 2 hours, affecting 1,200 customers.\n\n"
        "We will add validation to the configuration pipeline.\n\n"
        "Thanks for your patience."
    )
    roles = [s.role for s in _analyze(nlp, text).sentences]
    assert roles == ["timeline", "cause", "impact", "action", "other"]


@pytest.mark.models
def test_heading_decides_for_plain_sentences(nlp):
    text = "# Root cause\n\nA cron job deleted the index.\n\n# Action items\n\n- Rotate the keys\n"
    sentences = _analyze(nlp, text).sentences
    assert [(s.text, s.role) for s in sentences] == [
        ("A cron job deleted the index.", "cause"),
        ("Rotate the keys", "action"),
    ]


@pytest.mark.models
def test_seed_001_causes_have_cause_role(nlp, corpus_dir):
    from ingest.read import read_document

    document = read_document(next(corpus_dir.glob("001_*")))
    by_text = {s.text: s for s in analyze(document, split_sections(document), nlp).sentences}
    retries = next(t for t in by_text if t.startswith("Additionally, failed requests"))
    latency = next(t for t in by_text if t.startswith("This introduced additional latency"))
    assert by_text[retries].role == "cause"
    assert by_text[latency].role == "cause"
    timeline = next(t for t in by_text if t.startswith("By 12:44 UTC"))
    assert by_text[timeline].role == "timeline"

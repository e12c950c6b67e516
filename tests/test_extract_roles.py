"""Tests for ingest.extract.roles: heading and sentence cues, with and without headings."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import analyze
from ingest.extract.roles import (
    HINDSIGHT,
    STATUS_LEAD,
    STATUS_NOTE,
    SentenceView,
    action_score,
    cause_score,
    heading_scores,
    impact_score,
    item_form,
    list_runs,
)
from ingest.records import Document, Sentence
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


@pytest.mark.parametrize(
    "heading",
    [
        "Lessons learned",
        "Stats",
        "Acknowledgements",
        # material appended to a report: it never inherits an earlier action heading's role
        "Logs",
        "Log excerpts",
        "Reference",
        "Related links",
        "Screenshots",
        "Appendices",
    ],
)
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
        "The reason was a policy controller configured for the other datacenter.",
        "The master had a battery failure which cause the host to crash.",
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
        # the words "root cause" without a cause
        "It was root caused relatively quickly.",
        "Citoid never logged anything, making the root cause finding a tad slower.",
        "We still don't have an exact root cause.",
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


@pytest.mark.parametrize(
    ("item", "form"),
    [
        ("2019-12-04 00:35 | Manually marked VMs as unhealthy", "dated"),
        ("Jan 14, 10:18 AM | A customer reported the error", "dated"),
        ("Category: Kubernetes", "field"),
        ("Time to recovery: 15 minutes", "field"),
        ("EC, MM, WC, AN", "names"),
        ("Revert to default of 300 seconds for de-registration delay on the ALBs.", "action"),
        ("Implementing monitoring and alerting for SDK errors", "action"),
        ("Better monitoring of namespaces.", "action"),
        ("We need a better way to switch between accounts", "action"),
        ("Test clusters does not validate ingress traffic via ALB's", "statement"),
        ("Maintenance window moved too close to lunch break", "statement"),
        ("Flux metrics and alerts", "statement"),
        ("Could a diff between request headers have made us aware?", "statement"),
        # a status or ticket marker before the wording is skipped
        ("Done Document the workaround to drain the merger queue", "action"),
        ("phab:T158054 - create an end-to-end job that measures queue time", "action"),
        # a titled item is judged by the wording after its title too
        ("**Redis isolation**: Investigating decoupling the two Redis instances", "action"),
        ("**Deployment strategy**: Re-evaluate rollout approaches", "action"),
        # a suggestion written as a statement is a plan
        ("A set of SLOs around what is escalation-worthy might also be helpful.", "action"),
    ],
)
def test_item_form(item, form):
    assert item_form(item) == form


def _block_views(text: str) -> list[SentenceView]:
    """One view per block of a Markdown text, without NLP (span None)."""
    document = Document(
        path="x", text=text, format="markdown", sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    views = []
    blocks = [(i, b) for i, section in enumerate(split_sections(document)) for b in section.blocks]
    for number, (section, block) in enumerate(blocks):
        sentence = Sentence(
            index=number,
            section=section,
            start=block.start,
            end=block.end,
            text=text[block.start : block.end],
            role="other",
            block_kind=block.kind,
        )
        views.append(
            SentenceView(
                sentence=sentence,
                span=None,
                heading="",
                block=number,
                block_start=block.start,
                block_end=block.end,
            )
        )
    return views


def _run_texts(text: str) -> list[list[str]]:
    views = _block_views(text)
    return [
        [text[views[item[0]].sentence.start : views[item[-1]].sentence.end].strip() for item in run]
        for run in list_runs(views, text)
    ]


def test_a_blank_line_between_tight_lists_separates_them():
    # What is left when the "Lessons learned" and "Action items" headings are removed.
    text = "Intro.\n\n- Alerts explode\n- Noise too high\n\n- Add alerts\n- Document it\n"
    runs = _run_texts(text)
    assert [len(run) for run in runs] == [2, 2]
    assert runs[1][0].endswith("Add alerts")


def test_a_loose_list_stays_one_list_and_nested_items_join_their_parent():
    loose = "- First item\n\n- Second item\n\n- Third item\n"
    assert [len(run) for run in _run_texts(loose)] == [3]
    nested = "- Prometheus high memory usage\n    - ~12 GB used\n- Runtime crashed\n"
    runs = _run_texts(nested)
    assert len(runs) == 1 and len(runs[0]) == 2
    assert "~12 GB used" in runs[0][0]


@pytest.mark.parametrize(
    "line",
    [
        "Status: Done - rotate the keys",
        "status: on-going - audit the pools",
        "Status: Declined",
        "Status: not started - add a canary",
        "Status: in-progress: migrate the queue",
    ],
)
def test_a_status_lead_marks_a_tracked_task(line):
    assert STATUS_LEAD.match(line) and not STATUS_NOTE.match(line)


@pytest.mark.parametrize("line", ["Status: informational - the pool was resized", "Status: None"])
def test_a_status_note_is_no_task(line):
    assert STATUS_NOTE.match(line) and not STATUS_LEAD.match(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "The operator should have checked the output first.",
        "The second restart should not have been started before the first finished.",
        "The alert should have paged the on-call engineer.",
        "Someone should have found the typo in review.",
    ],
)
def test_hindsight_says_what_should_have_happened(sentence):
    assert HINDSIGHT.search(sentence)


@pytest.mark.parametrize(
    "sentence",
    ["Every alert should have an owner.", "We should have more dashboards.", "Add a canary."],
)
def test_a_requirement_is_no_hindsight(sentence):
    assert not HINDSIGHT.search(sentence)

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


def _impact_texts(nlp, text: str) -> list[str]:
    return [impact.text for impact in _analyze(nlp, text).impacts]


@pytest.mark.parametrize(
    "sentence",
    [
        "Tablet readers were impacted as well.",
        "During the incident, customers who were checking out experienced the outage.",
        "As a result, visitors were served with 502s.",
        "At least 3 customers reported broken dashboards after the release.",
        "Even tenants pinned to the old release continued to receive the broken bundle.",
        "The bad config afflicted some of our hosted customers for two days.",
    ],
)
def test_sentence_saying_what_users_suffered_is_an_impact(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]


@pytest.mark.parametrize(
    "sentence",
    [
        "The replica fell behind, resulting in an increase in page latency and request error rate.",
        "This caused a complete storage network outage.",
        "The cache was cold, so the error-rate spiked.",
        "Losing both brokers resulted in an elevated 5xx rate on the gateway.",
    ],
)
def test_consequence_users_feel_is_an_impact(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]


@pytest.mark.parametrize(
    "text",
    [
        "- 14:05 - Checkout API returns 503 errors for 40% of requests\n"
        "- 14:20 - On-call rolls back the deploy\n",
        "- **09:12 UTC** - Service degradation begins, ~25% of requests failing\n"
        "- **09:40 UTC** - Mitigated\n",
        "09.31: Nagios reports 500 errors for 30% of requests. Users were impacted.\n",
    ],
)
def test_dated_timeline_rows_are_not_impacts(nlp, text):
    assert _impact_texts(nlp, text) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "The 3 hour detection delay shows gaps in our alerting for 5xx errors.",
        "We apologize to all customers that were affected by this outage.",
        "To mitigate the outage, we disabled batch traffic that accounts for 30% of requests.",
        "We are building tooling to keep incidents like this from impacting our customers.",
    ],
)
def test_detection_apology_mitigation_and_prevention_are_not_impacts(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == []


def test_percentage_of_a_machine_resource_is_not_an_impact(nlp):
    text = "The queue service was restarted twice.\n\n" + (
        "The batch jobs stalled because CPU usage on the workers exceeded 95%."
    )
    assert _impact_texts(nlp, text) == []


def test_load_percentage_is_not_a_figure_of_the_impact(nlp):
    text = "About 12% of API requests failed while memory pressure on the hosts stayed above 90%."
    impacts = _analyze(nlp, text).impacts
    assert len(impacts) == 1
    assert any(f.startswith("About 12% of API requests") for f in impacts[0].figures)
    assert all("90%" not in f for f in impacts[0].figures)


@pytest.mark.parametrize(
    "sentence",
    [
        "The problem persisted for another three days until the hotfix shipped.",
        "Dashboards were unavailable for about 40min.",
        "We blocked all webhook traffic, partners included, for a period of ~15 minutes.",
        "Last night we started to see elevated levels of 503s on the login page.",
        "The same bug was also behind the increased timeouts in the billing service.",
    ],
)
def test_how_long_harm_lasted_and_rising_errors_are_impacts(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]


@pytest.mark.parametrize(
    "sentence",
    [
        "Under heavy load, workers could not open sessions within the 30-second connect timeout.",
        "The proxy timeout was raised to 90 seconds last year.",
    ],
)
def test_a_timeout_setting_is_not_an_impact(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == []


def test_credits_to_affected_customers_are_remediation_not_impact(nlp):
    text = (
        "The queue service was restarted twice.\n\n"
        "- Issued service credits to all customers affected by the failed exports\n"
        "- Exports were retried\n"
    )
    assert _impact_texts(nlp, text) == []


def test_list_item_naming_a_task_is_not_an_impact(nlp):
    text = (
        "The queue service was restarted twice.\n\n"
        "- Implementing alerting for 5xx errors - consider tracking failed checkouts per region\n"
        "- Add a dashboard of error rates for the payments API\n"
    )
    assert _impact_texts(nlp, text) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "When the last replica was drained, the router had no backend left, hence request "
        "timeouts for the search page.",
        "The release was reverted because of a rise in checkout timeouts.",
        "The credential leak only affected our mobile SDKs on the public registry.",
    ],
)
def test_timeouts_as_consequence_rises_and_what_was_hit_are_impacts(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]


def test_what_would_have_happened_is_not_an_impact(nlp):
    text = "The queue service was restarted twice.\n\n" + (
        "Without the canary stage, about 30% of checkout requests would have failed."
    )
    assert _impact_texts(nlp, text) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "All report exports completely broken (files failed to render).",
        "As the brokers slowed down, invoices were queued but not delivered on time.",
        "The status feed stopped sending updates to subscribers.",
        "Several of our signing keys were compromised by the intruder.",
        "**Partner impact:** the sync job skipped partner calendars",
        "The storage migration started at noon and resulted in the following problems:",
        "Scripts injected in customer dashboards, potentially affecting their own page loads.",
    ],
)
def test_states_of_harm_labels_and_listed_problems_are_impacts(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]


@pytest.mark.parametrize(
    "sentence",
    [
        "We identified the bad config and rolled it back, then retried the delayed and failed "
        "messages.",
        "After two attempts, we were finally able to confirm that requests were timing out "
        "before reaching the load balancer.",
        "We maintain several dashboards for latency and errors, and they did not match what "
        "users were seeing.",
        "First indication of trouble was a report of errors and timeouts on 3 hosts.",
        "Error rate graph for the outage: https://grafana.example.org/d/abc?from=1&to=2",
    ],
)
def test_responders_at_work_first_signs_and_links_are_not_impacts(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == []


def test_a_cost_incurred_by_others_is_an_impact(nlp):
    sentence = "Search issues blocked a release, incurring lost productivity across many groups."
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]


@pytest.mark.parametrize(
    "sentence",
    [
        "A single slow lookup could fan out to dozens of failed cache calls and errors.",
        "In the event of outages in a zone, traffic is moved away from the affected zone without "
        "errors for users.",
        "The second node failed to start, so the migration of the third should not have been "
        "started until errors cleared.",
    ],
)
def test_what_could_happen_or_should_have_happened_is_not_an_impact(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "Once we found the bug we had to rerun a number of exports for the finance team.",
        "All we could do was waste some hours and rebuild the search index.",
        "The rollback kept the site up, however we spent a lot of time deploying and reverting "
        "changes.",
        "Any impact was minimal and brief, but it caused a lot of confusion before the launch.",
    ],
)
def test_work_the_incident_cost_and_its_size_are_impacts(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]


def test_harm_the_responders_noticed_is_still_an_impact(nlp):
    sentence = "Shortly after the deploy, we noticed that most customers could not log in."
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]


def test_a_tracked_follow_up_task_is_not_an_impact(nlp):
    text = (
        "The search cluster was unavailable for 20 minutes.\n\n"
        "* Status: Done - Show users a clearer error page instead of the 500 errors they saw\n"
    )
    assert _impact_texts(nlp, text) == ["The search cluster was unavailable for 20 minutes."]


@pytest.mark.parametrize(
    "sentence",
    [
        "The billing portal was down from 14:27 to 16:11 despite our efforts.",
        "The wiki briefly went into read-only mode while the replicas caught up.",
        "A logging config change was merged, which took down the object store.",
        "Services that proxy to the internal API didn't work at all.",
        "The checkout servers served HTTP 5xx for 101 seconds during the deploy window.",
        "No further edits were possible, though reads proceeded normally.",
        "The notes service had a catastrophic and unrecoverable downtime.",
        "The search indexer started failing on both hosts shortly after.",
    ],
)
def test_a_service_said_to_be_out_of_order_is_an_impact(nlp, sentence):
    text = f"The queue service was restarted twice.\n\n{sentence}"
    assert _impact_texts(nlp, text) == [sentence]

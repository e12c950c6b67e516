"""Tests for ingest.extract.actions: statuses, titles, owners, due dates, one per list item."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import analyze, analyze_many
from ingest.extract.actions import action_due, action_owner, action_status, action_title
from ingest.read import read_document
from ingest.records import Document
from ingest.sections import split_sections


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("**Connection Limits** *(Complete)* -- We rolled out limits.", "done"),
        ("**Failure handling** *(Planned)* -- We will deploy improvements.", "planned"),
        ("We have deployed a fix to all regions.", "done"),
        ("We've already moved our status page to Statuspage.io.", "done"),
        ("We will add alerting on queue depth.", "planned"),
        ("We are going to split the database.", "planned"),
        ("We are in the process of formalizing SLOs.", "in_progress"),
        ("We're working with our provider on new profiles.", "in_progress"),
        ("This effort is underway.", "in_progress"),
        ("We've started performing rolling upgrades.", "in_progress"),
        ("Once we have completed the analysis, we will take steps to fix it.", "planned"),
        ("- [x] Rotate credentials", "done"),
        ("- [ ] Rotate credentials", "planned"),
        ("Review the dashboards", "planned"),  # a to-do written as an imperative
        ("Dashboard review", "unknown"),
        ("Done Document the workaround to drain the queue", "done"),  # status word first
        ("Fix the jobrunner in deployment-prep T215339 Done", "done"),  # or last
        ("continue work on dbctl, so we need fewer deploys", "in_progress"),
        # an imperative stays a plan even when a clause in it is in the perfect tense
        ("Decide what to do with the hosts that have already had battery issues", "planned"),
    ],
)
def test_action_status(text, status):
    assert action_status(text) == status


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("**Connection Limits** *(Complete)* -- During this incident", "Connection Limits"),
        ("Alerting \u2013 While in many cases our system works", "Alerting"),
        ("Cassandra Upgrade - We've started upgrades", "Cassandra Upgrade"),
        ("Add alerting on queue depth", ""),
    ],
)
def test_action_title(text, title):
    assert action_title(text) == title


def test_owner_and_due():
    assert action_owner("Add alerting (owner: @jdoe)") == "@jdoe"
    assert action_owner("Owner: Platform team") == "Platform team"
    assert action_owner("Add alerting") == ""
    assert action_due("Upgrade Kafka, due 2021-08-01") == "2021-08-01"
    assert action_due("Migrate by Q3 2022") == "Q3 2022"
    assert action_due("expect this work to be completed this week") == "this week"
    assert action_due("Add alerting") == ""


@pytest.fixture(scope="module")
def seed_actions(corpus_dir, nlp):
    items = []
    for path in sorted(corpus_dir.iterdir()):
        document = read_document(path)
        items.append((document, split_sections(document)))
    return {
        doc.path.split("/")[-1][:3]: a.actions
        for (doc, _), a in zip(items, analyze_many(items, nlp), strict=True)
    }


@pytest.mark.models
def test_seed_000_has_four_actions_done_done_done_planned(seed_actions):
    actions = seed_actions["000"]
    assert [a.status for a in actions] == ["done", "done", "done", "planned"]
    assert actions[1].title == "Connection Limits"
    assert all(a.text.startswith("**") for a in actions)


@pytest.mark.models
def test_seed_004_list_items_statuses(seed_actions):
    by_title = {a.title: a.status for a in seed_actions["004"]}
    assert by_title == {
        "Alerting": "done",
        "Mitigation Profiles": "in_progress",
        "Cassandra Upgrade": "in_progress",
        "Infrastructure Design": "in_progress",
    }


@pytest.mark.models
def test_seed_002_actions_under_same_level_subheadings(seed_actions):
    def status_of(words: str) -> str:
        return next(a.status for a in seed_actions["002"] if words in a.text)

    assert status_of("moved our status page") == "done"
    assert status_of("in the process of re-architecting") == "in_progress"
    assert status_of("we will be adding information") == "planned"


def _analyze(nlp, text: str):
    document = Document(
        path="x.md", text=text, format="markdown", sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    return analyze(document, split_sections(document), nlp)


@pytest.mark.models
def test_one_action_per_list_item_under_action_heading(nlp):
    text = (
        "# Action items\n\n"
        "- Add alerting on replication lag. Owner: @dba-team\n"
        "- Document the failover runbook (due 2024-03-01)\n"
        "- Upgrade the cluster\n"
    )
    actions = _analyze(nlp, text).actions
    assert len(actions) == 3
    assert actions[0].owner == "@dba-team"
    assert actions[1].due == "2024-03-01"
    assert actions[1].kind == "preventive"


@pytest.mark.models
def test_narrative_fix_is_not_an_action_item(nlp):
    text = (
        "At 10:00 UTC we rolled back the deploy and the errors stopped.\n\n"
        "We will add a canary stage to the deploy pipeline."
    )
    actions = _analyze(nlp, text).actions
    assert [a.text for a in actions] == ["We will add a canary stage to the deploy pipeline."]
    assert actions[0].status == "planned"


@pytest.mark.parametrize(
    ("text", "heading", "status"),
    [
        ("**Retry limits**: Implemented retry limits in Envoy", "", "done"),
        ("Add retry limits in Envoy", "Immediate actions (completed)", "done"),
        ("Add retry limits in Envoy", "Long-term follow-ups", "planned"),
        ("Add alarms for Fluentd in case no log data is being sent", "", "planned"),
        ("**Add limits** (in progress)", "Immediate actions (completed)", "in_progress"),
    ],
)
def test_status_from_heading_and_past_tense(text, heading, status):
    assert action_status(text, heading) == status


@pytest.mark.models
def test_imperative_list_without_heading_is_actions(nlp):
    text = (
        "The disk filled up and the database stopped.\n\n"
        "- Add alerting on disk usage\n"
        "- Document the cleanup procedure\n"
        "- Look into log rotation for the audit table\n"
    )
    actions = _analyze(nlp, text).actions
    assert [a.text for a in actions] == [
        "Add alerting on disk usage",
        "Document the cleanup procedure",
        "Look into log rotation for the audit table",
    ]
    assert {a.status for a in actions} == {"planned"}


# Lessons learned, action items, attendees and stats of a report whose headings were removed.
REPORT_WITHOUT_HEADINGS = (
    "# Load balancer lost its targets\n\n"
    "A planned maintenance caused the load balancer to drop all targets.\n\n"
    "| Time | Event |\n| --- | --- |\n"
    "| 2020-06-09 11:00 | Maintenance started |\n"
    "| 2020-06-09 13:13 | Issue resolved |\n\n"
    "- Alert noise is still too high\n"
    "- Validate ingress via the load balancer for test clusters\n"
    "- Missing alert on unhealthy targets\n\n"
    "- Implement alerts for healthy/unhealthy targets\n"
    "- Revert to default of 300 seconds for de-registration delay.\n"
    "- Flux metrics and alerts\n\n"
    "- EC, MM, WC\n\n"
    "- Category: Networking\n"
    "- Time to recovery: 53 minutes\n"
)


@pytest.mark.models
def test_action_list_without_heading_is_told_from_lessons_and_names(nlp):
    actions = _analyze(nlp, REPORT_WITHOUT_HEADINGS).actions
    assert [a.text for a in actions] == [
        "Implement alerts for healthy/unhealthy targets",
        "Revert to default of 300 seconds for de-registration delay.",
        "Flux metrics and alerts",  # a noun phrase, but in a list of actions
    ]
    assert {a.status for a in actions} == {"planned"}


# A plain-text report (lists as "•" bullets, no headings) whose timeline runs straight into
# the conclusions and the follow-up list.
PLAIN_REPORT = (
    "A wrong change was merged and the cache answered every request with a redirect.\n\n"
    "All times are in UTC\n"
    "\u2022 16:43 The change gets merged and is deployed by the usual puppet run\n"
    "\u2022 16:55 First report of the problem on IRC, investigation starts.\n"
    "\u2022 17:02 The change is reverted and deployed.\n"
    "\u2022 The patch was missing a bit for the cache_upload case\n"
    "\u2022 Investigate if icinga should report sooner on the failed check\n"
    "\u2022 Standardize the verification of VCL patches against all clusters\n"
    "\u2022 Done Document the rollback procedure for VCL patches\n"
)


@pytest.mark.models
def test_actions_after_a_timeline_in_the_same_list(nlp):
    document = Document(
        path="x.txt",
        text=PLAIN_REPORT,
        format="text",
        sha256=hashlib.sha256(PLAIN_REPORT.encode()).hexdigest(),
    )
    actions = analyze(document, split_sections(document), nlp).actions
    assert [a.text for a in actions] == [
        "Investigate if icinga should report sooner on the failed check",
        "Standardize the verification of VCL patches against all clusters",
        "Done Document the rollback procedure for VCL patches",
    ]
    assert [a.status for a in actions] == ["planned", "planned", "done"]


@pytest.mark.models
def test_findings_in_a_lessons_list_are_never_actions(nlp):
    text = (
        "The pipeline replaced the network plugin and all services returned 503.\n\n"
        "- Revert the de-registration delay to its default\n"
        "- Create an ingress test suite\n\n"
        "- Monitor critical pipeline executions.\n"
        "- Ensure that everyone gets notified on alerts.\n"
        "- The delay change was considered from a performance perspective only.\n"
        "- Alert messages are still unclear.\n"
    )
    texts = [a.text for a in _analyze(nlp, text).actions]
    assert texts[:2] == [
        "Revert the de-registration delay to its default",
        "Create an ingress test suite",
    ]
    # The findings of the lessons list are never actions. Its imperatives ("Monitor critical
    # pipeline executions.") the rules leave as lessons; the learned model may add them (on
    # fresh reports such lists hold steps more often than not, see benchmarks/RESULTS.md).
    assert "The delay change was considered from a performance perspective only." not in texts
    assert "Alert messages are still unclear." not in texts
    assert all(t.startswith(("Revert", "Create", "Monitor", "Ensure")) for t in texts)


# --- lists without headings: what the items' own form says (issue 3) ---------------------


@pytest.mark.models
def test_titled_takeaways_that_state_a_fact_are_never_actions(nlp):
    text = (
        "The cache cluster ran out of memory and the API returned errors for an hour.\n\n"
        "- Add an alert on cache memory usage\n"
        "- Document the cache failover procedure\n\n"
        "1. **Caches need headroom** - The cluster ran at 95% memory for weeks.\n"
        "2. **Alert on saturation** - Memory alerts should page the on-call engineer.\n"
        "3. **Failover must be rehearsed** - Nobody had run the procedure before.\n"
        "4. **Shared clusters spread failures** - One tenant took the others down.\n"
    )
    texts = [a.text for a in _analyze(nlp, text).actions]
    assert texts[:2] == [
        "Add an alert on cache memory usage",
        "Document the cache failover procedure",
    ]
    # A takeaway that states a fact is never an action; one that recommends ("should page",
    # "must be rehearsed") the learned model may add (see the test above).
    assert not any(t.startswith(("1. **Caches", "**Caches", "**Shared")) for t in texts)
    assert all("should" in t or "must" in t for t in texts[2:])


@pytest.mark.models
def test_items_that_introduce_a_command_are_not_actions(nlp):
    text = (
        "A compromised package was published to the registry.\n\n"
        "1. Search your machine for the dropped files:\n\n"
        "```\nfind ~ -name payload.js\n```\n\n"
        "2. Check the install logs for unknown scripts:\n\n"
        "```\ngrep postinstall ~/.npm/_logs/*\n```\n"
    )
    assert _analyze(nlp, text).actions == ()


@pytest.mark.models
def test_noun_phrases_among_planned_items_are_actions(nlp):
    text = (
        "A bad upgrade of the DNS add-on broke name resolution.\n\n"
        "- A checklist for reading vendor release notes before upgrades\n"
        "- We need health checks on the DNS pods themselves\n\n"
        "- **Canary infrastructure**: Staged deployments to limit the blast radius\n"
        "- **Load test suite**: Production-sized tests before each release\n"
        "- **Rollback tooling**: Automate rollback of the DNS add-on\n"
        "- **Runbook**: Document the DNS recovery steps\n"
    )
    actions = _analyze(nlp, text).actions
    assert len(actions) == 6
    assert {a.status for a in actions} == {"planned"}


@pytest.mark.models
def test_findings_without_a_verb_next_to_a_gerund_are_not_actions(nlp):
    text = (
        "The deploy broke logins for an hour.\n\n"
        "- Staging environment being different from production\n"
        "- Testing in staging not thorough enough\n"
    )
    assert _analyze(nlp, text).actions == ()


@pytest.mark.models
def test_reports_of_work_done_among_done_items_are_done_actions(nlp):
    text = (
        "The flag service overloaded its database three times in one week.\n\n"
        "- **Timeout settings**: Values raised to cover peak load\n"
        "- **Retry limits**: Implemented retry limits in the proxy\n"
        "- **CPU alerting**: Added per-node CPU alerts that page on-call\n"
    )
    actions = _analyze(nlp, text).actions
    assert len(actions) == 3
    assert actions[0].text.startswith("**Timeout settings**")
    assert {a.status for a in actions} == {"done"}


@pytest.mark.models
def test_a_list_of_work_the_team_reports_as_done(nlp):
    text = (
        "An attacker published malicious versions of our SDK.\n\n"
        "The malware did three things:\n\n"
        "- Scanned the machine for credentials\n"
        "- Uploaded the credentials to a public repository\n"
        "- Published new malicious packages with them\n\n"
        "Beyond that, this is what changed:\n\n"
        "- We've moved package releases to trusted publishing.\n"
        "- Switched the build to a package manager that skips install scripts.\n"
        "- Rotated every token the build machines could read.\n"
    )
    actions = _analyze(nlp, text).actions
    assert [a.text.split()[0] for a in actions] == ["We've", "Switched", "Rotated"]
    assert {a.status for a in actions} == {"done"}


@pytest.mark.models
def test_steps_told_inside_the_timeline_are_not_follow_ups(nlp):
    text = (
        "Users saw 403 errors after a deploy.\n\n"
        "13:35\n\n"
        "The deploy is complete. Some maintenance is then begun:\n\n"
        "1. Make sure the nodes have SSDs\n"
        "2. Make sure the nodes have larger disks\n\n"
        "14:08\n\n"
        "It is clear that the errors do not go away, and we should roll back now.\n\n"
        "15:25\n\n"
        "The fix is deployed and the errors stop.\n\n"
        "- Write end-to-end tests for deploys\n"
        "- Deploy more often, in smaller steps\n"
    )
    actions = _analyze(nlp, text).actions
    assert [a.text for a in actions] == [
        "Write end-to-end tests for deploys",
        "Deploy more often, in smaller steps",
    ]


@pytest.mark.models
def test_a_label_names_the_sentence_after_it(nlp):
    text = (
        "The incident was declared two hours after the fix.\n\n"
        "**Action item:** Declare incidents earlier. The on-call engineer owns that call.\n"
    )
    actions = _analyze(nlp, text).actions
    assert [a.text for a in actions] == ["**Action item:** Declare incidents earlier."]
    assert actions[0].status == "planned"


@pytest.mark.models
def test_a_statement_that_opens_like_a_plan_is_not_an_action(nlp):
    text = (
        "The service ran out of CPU.\n\n"
        "- Improved alerting caught the second spike within a minute\n\n"
        "The fix shipped the same day.\n\n"
        "- Better alerting on CPU saturation\n"
    )
    actions = _analyze(nlp, text).actions
    assert [a.text for a in actions] == ["Better alerting on CPU saturation"]


def test_an_item_that_needs_something_is_planned():
    assert action_status("The alert needs a more descriptive name") == "planned"


@pytest.mark.models
def test_work_named_by_a_gerund_takes_a_noun_phrase_with_it(nlp):
    text = (
        "The flag service overloaded the shared cache.\n\n"
        "- **Task force**: Engineers from both teams conducting a review of the service\n"
        "- **Cache isolation**: Investigating a separate cache for the flag service\n"
    )
    actions = _analyze(nlp, text).actions
    assert [a.title for a in actions] == ["Task force", "Cache isolation"]


@pytest.mark.models
def test_a_finding_at_the_end_of_an_action_list_stays_a_finding(nlp):
    text = (
        "A cache wipe made every build slow for hours.\n\n"
        "- Users were patient while the builds were slow.\n"
        "- Add a command that creates a new node pool\n"
        "- Change the build thread pool so one slow repository cannot block it\n"
    )
    actions = _analyze(nlp, text).actions
    assert [a.text.split()[0] for a in actions] == ["Add", "Change"]


@pytest.mark.models
def test_titles_that_state_a_requirement_name_tasks(nlp):
    text = (
        "The disk filled up and nobody was paged.\n\n"
        "- **Alerts must page the on-call engineer**: Route disk alerts to the pager\n"
        "- **Backups should be tested**: Restore one backup every week\n"
    )
    actions = _analyze(nlp, text).actions
    assert [a.title for a in actions] == [
        "Alerts must page the on-call engineer",
        "Backups should be tested",
    ]


@pytest.mark.parametrize(
    ("text", "heading", "status"),
    [
        # "to complete" is work still to do, not "(completed)"
        (
            "Update the charts config to match production",
            "To complete before re-enabling sync",
            "planned",
        ),
        ("We've significantly tightened our release workflows.", "", "done"),
        # a perfect tense inside an imperative does not report the item as done
        ("Reflect if the load balancers we have tested with should be announced", "", "planned"),
    ],
)
def test_status_of_work_to_complete_and_work_reported_done(text, heading, status):
    assert action_status(text, heading) == status

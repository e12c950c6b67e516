"""Action items told in prose in the third person, as provider reports (and summaries of
them) write them: "Acme plans to ...", "the team is working on ...", "are being updated"."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import analyze
from ingest.extract.actions import action_status
from ingest.records import Document
from ingest.sections import split_sections


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Acme plans to add validation for route changes.", "planned"),
        ("The company aims to add controls for abusive usage patterns.", "planned"),
        ("For future prevention, Acme intends to invest in a staging network.", "planned"),
        ("The provider is reviewing its scaling algorithms.", "in_progress"),
        ("Internal procedures are being updated to require a second review.", "in_progress"),
    ],
)
def test_third_person_status(text, status):
    assert action_status(text) == status


def _analysis(nlp, text: str):
    document = Document(
        path="prose.md",
        text=text,
        format="markdown",
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    return analyze(document, split_sections(document), nlp)


PROSE = (
    "On June 3, Acme's API was unavailable for two hours because a configuration change "
    "removed a route. To mitigate, engineers reverted the change at 10:40 UTC.\n\n"
    "Acme plans to add validation for route changes before they are deployed. The team is "
    "also working on faster rollbacks. Internal procedures are being updated to require a "
    "second review for network changes.\n\n"
    "We're committed to ensuring the API meets the reliability our customers expect.\n"
)


@pytest.mark.models
def test_prose_follow_ups_are_actions_with_their_status(nlp):
    actions = {a.text: a.status for a in _analysis(nlp, PROSE).actions}
    assert (
        actions.get("Acme plans to add validation for route changes before they are deployed.")
        == "planned"
    )
    assert actions.get("The team is also working on faster rollbacks.") == "in_progress"
    found = " ".join(actions)
    assert "Internal procedures are being updated" in found
    # A statement of intent ("We're committed to ...") and the response itself are not
    # follow-up items.
    assert "committed to ensuring" not in found
    assert "engineers reverted the change" not in found


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Long-term corrective actions include adding a canary stage.", "planned"),
        ("Identified improvements include raising the queue limit for batch jobs.", "planned"),
        ("To prevent recurrence, Acme immediately disabled the cleanup job.", "done"),
        ("To avoid a repeat, the billing team moved the cron job off the primary.", "done"),
        ("Dashboards are being made clearer for the on-call rotation.", "in_progress"),
    ],
)
def test_named_and_preventive_work_status(text, status):
    assert action_status(text) == status


PROSE_NAMED = (
    "On May 2, Acme's uploads failed for an hour after a quota was reached. Engineers raised "
    "the quota at 11:05 UTC.\n\n"
    "To prevent recurrence, Acme disabled the job that filled the bucket. Long-term corrective "
    "actions include adding quota alerts and moving uploads to a second region. Runbooks and "
    "failover drills will also be improved. The storage platform team will add per-tenant "
    "limits. Quota dashboards are being made visible to every team.\n\n"
    "Acme committed to providing more information as it becomes available. This openness aims "
    "to let customers review their own usage.\n"
)


@pytest.mark.models
def test_named_work_and_preventive_steps_are_actions(nlp):
    actions = {a.text: a.status for a in _analysis(nlp, PROSE_NAMED).actions}
    assert actions.get("To prevent recurrence, Acme disabled the job that filled the bucket.") == (
        "done"
    )
    assert any(t.startswith("Long-term corrective actions") for t in actions)
    assert actions.get("Runbooks and failover drills will also be improved.") == "planned"
    assert actions.get("The storage platform team will add per-tenant limits.") == "planned"
    assert actions.get("Quota dashboards are being made visible to every team.") == "in_progress"
    found = " ".join(actions)
    # The mitigation, a promise to keep customers informed and what something is for are not
    # follow-up items.
    assert "raised the quota" not in found
    assert "more information" not in found
    assert "aims to let" not in found


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Status: on-going - Audit the disk quotas on every cache host.", "in_progress"),
        ("Status: Unresolved The parser crashes on an empty config file.", "planned"),
        ("Status: Done - The old package is gone and the site is up.", "done"),
    ],
)
def test_status_lead_gives_the_status(text, status):
    assert action_status(text) == status


TRACKED = (
    "The cache hosts were restarted with an empty disk.\n\n"
    "- The wipe script did not check the free space before starting.\n"
    "- The operator should have checked the first few hosts before going on.\n"
    "- Find out why the disk alert did not fire when it should have fired.\n"
    "- Status: Done - The old wipe script is gone.\n"
    "- Status: on-going - Audit the disk quotas on every cache host.\n"
    "- Status: Declined - Add an alert on free disk space?\n\n"
    "The follow-up for the parser:\n\n"
    "- Status: Unresolved The parser crashes on an empty config file.\n"
)


@pytest.mark.models
def test_tracked_tasks_are_actions(nlp):
    actions = {a.text: a.status for a in _analysis(nlp, TRACKED).actions}
    assert actions.get("Status: Done - The old wipe script is gone.") == "done"
    assert actions.get("Status: on-going - Audit the disk quotas on every cache host.") == (
        "in_progress"
    )
    assert actions.get("Status: Declined - Add an alert on free disk space?") == "planned"
    assert actions.get("Status: Unresolved The parser crashes on an empty config file.") == (
        "planned"
    )
    found = " ".join(actions)
    assert "should have checked" not in found
    assert "did not check" not in found
    assert "Find out why the disk alert did not fire when it should have fired." in actions


INTRODUCED = (
    "The queue stalled for an hour because one consumer held every partition.\n\n"
    "Next steps to stop this from happening again:\n\n"
    "- Rebalance the consumers across both zones: zone A takes most of the load.\n"
    "- Making more use of zone B is desired by the network team.\n"
    "- This was a follow-up after the last stall too, but it never happened.\n"
    "- Perform some capacity planning for the queue.\n"
)
# A template line dropped as boilerplate still introduces the list below it.
INTRODUCED_BY_TEMPLATE = (
    "The queue stalled for an hour because one consumer held every partition.\n\n"
    "NOTE: Please add the #acme-ops Phabricator project to these follow-up tasks.\n\n"
    "- Rebalance the consumers across both zones: zone A takes most of the load.\n"
    "- Making more use of zone B is desired by the network team.\n"
)


@pytest.mark.models
@pytest.mark.parametrize("text", [INTRODUCED, INTRODUCED_BY_TEMPLATE])
def test_list_introduced_as_follow_ups_gives_actions(nlp, text):
    found = [a.text for a in _analysis(nlp, text).actions]
    assert any(t.startswith("Rebalance the consumers") for t in found)
    assert any(t.startswith("Making more use of zone B") for t in found)
    assert not any(t.startswith("This was a follow-up") for t in found)


def test_still_investigating_is_in_progress():
    assert action_status("We are still investigating why the workers stalled.") == "in_progress"


RECOMMENDED = (
    "The cron host ran an old kernel with a known bug, and it crashed at 03:10 UTC.\n\n"
    "The cron host should be upgraded to the patched kernel. Quoted values should be removed "
    "from the config, and lint checks put in place. A schema change like this one should "
    "really have its own deploy window. The disk alert should have paged, but it was muted. "
    "We are still investigating why the workers stalled.\n"
)


@pytest.mark.models
def test_recommendations_in_prose_are_actions(nlp):
    actions = {a.text: a.status for a in _analysis(nlp, RECOMMENDED).actions}
    assert actions.get("The cron host should be upgraded to the patched kernel.") == "planned"
    assert any(t.startswith("Quoted values should be removed") for t in actions)
    assert any(t.startswith("A schema change like this one should really have") for t in actions)
    assert actions.get("We are still investigating why the workers stalled.") == "in_progress"
    # Hindsight ("should have paged") says what went wrong; it is not a step.
    assert not any("should have paged" in t for t in actions)


NOTES = (
    "The broker ran out of disk at 02:00 UTC.\n\n"
    "- Status: Done - Move the broker logs to their own disk.\n"
    "- Ops turned this alert off because it flapped during the outage.\n"
    "- Status: informational - Disk usage doubled after the last upgrade.\n"
    "- Status: Declined - Tune the broker to keep less data.\n"
)


@pytest.mark.models
def test_notes_in_a_list_of_tracked_tasks_are_not_tasks(nlp):
    found = [a.text for a in _analysis(nlp, NOTES).actions]
    assert "Status: Done - Move the broker logs to their own disk." in found
    assert "Status: Declined - Tune the broker to keep less data." in found
    assert not any("informational" in t for t in found)
    assert not any(t.startswith("Ops turned this alert off") for t in found)


@pytest.mark.models
def test_a_note_that_recommends_is_judged_by_its_wording(nlp):
    text = NOTES.replace(
        "- Ops turned this alert off because it flapped during the outage.\n",
        "- We noticed it hours late. We should have an alert on broker disk usage.\n",
    )
    found = [a.text for a in _analysis(nlp, text).actions]
    assert any("We should have an alert on broker disk usage." in t for t in found)


@pytest.mark.models
def test_a_decision_told_in_the_story_is_no_recommendation(nlp):
    text = (
        "The cluster lost its API for an hour. At 10:00 it was decided that the old master "
        "record should be removed, which broke every client.\n"
    )
    assert not _analysis(nlp, text).actions


@pytest.mark.models
def test_an_imperative_among_tracked_tasks_is_a_task(nlp):
    text = (
        "The build server lost a disk and CI stopped for a day.\n\n"
        "- Status: Unresolved Migrate the jobs to the new build host.\n"
        "- Status: Unresolved Decide on the best replacement for the old host.\n"
        "- Have more than one build scheduler.\n"
    )
    found = [a.text for a in _analysis(nlp, text).actions]
    assert "Have more than one build scheduler." in found


@pytest.mark.models
def test_work_done_after_the_incident_is_a_done_action(nlp):
    text = (
        "The primary database lost its disks and the API was down for two hours. Engineers "
        "promoted a replica by hand at 16:40.\n\n"
        "Post-incident, a spare database cluster was provisioned and traffic was moved to it.\n"
    )
    actions = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert actions == {
        "Post-incident, a spare database cluster was provisioned and traffic was moved to it.": (
            "done"
        )
    }


@pytest.mark.models
def test_a_step_written_as_a_paragraph_under_an_action_heading(nlp):
    text = (
        "# Build nodes ran out of memory\n\n"
        "## Action items\n\n"
        "### Builds\n\n"
        "Limit the memory available to build pods.\n\n"
        "### Hub\n\n"
        "Fix the configuration so that user pods survive a hub restart.\n"
    )
    found = [a.text for a in _analysis(nlp, text).actions]
    assert "Limit the memory available to build pods." in found
    assert "Fix the configuration so that user pods survive a hub restart." in found


@pytest.mark.models
def test_a_commitment_with_nothing_to_do_is_no_action(nlp):
    text = (
        "Our token rotation took a day, which was too slow.\n\n"
        "We have to do better here, and we are sure we will. We will rotate tokens hourly.\n"
    )
    found = [a.text for a in _analysis(nlp, text).actions]
    assert found == ["We will rotate tokens hourly."]


@pytest.mark.models
def test_a_reference_section_after_the_actions_holds_no_actions(nlp):
    text = (
        "# Hub outage\n\n## Summary\n\nThe hub ran out of memory.\n\n"
        "## Action items\n\n- Add an alert on proxy memory\n- Raise the proxy memory limit\n\n"
        "## Logs\n\n- [hub logs for the night](https://logs.example.net/hub)\n"
        "- [proxy logs for the night](https://logs.example.net/proxy)\n"
    )
    texts = [a.text for a in _analysis(nlp, text).actions]
    assert texts == ["Add an alert on proxy memory", "Raise the proxy memory limit"]


@pytest.mark.models
def test_an_imperative_paragraph_that_cites_its_ticket_is_a_step(nlp):
    text = (
        "# Queue outage\n\n"
        "The queue workers ran out of disk at 03:10 and stopped taking jobs.\n\n"
        "Rotate the worker logs daily. (https://github.com/example/infra/issues/42)\n\n"
        "Shrink the job payloads (https://tracker.example.org/project/pull/7)\n\n"
        "Restart the workers once the disk is cleaned.\n"
    )
    found = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert found.get("Rotate the worker logs daily. (https://github.com/example/infra/issues/42)")
    assert found.get("Shrink the job payloads (https://tracker.example.org/project/pull/7)") == (
        "planned"
    )
    # Without a ticket an imperative paragraph is no tracked step.
    assert not any(t.startswith("Restart the workers") for t in found)


@pytest.mark.models
def test_listed_steps_that_open_with_avoid_are_actions(nlp):
    text = (
        "# Cache outage\n\n"
        "The cache evicted every key at 09:00 when its memory filled up.\n\n"
        "cache tuning:\n\n"
        "- find out why eviction freed every key at once (https://github.com/example/c/issues/9)\n"
        "- avoid full evictions by capping the memory per tenant (https://github.com/example/c/issues/10)\n"
    )
    found = [a.text for a in _analysis(nlp, text).actions]
    assert any(t.startswith("avoid full evictions") for t in found)


@pytest.mark.models
def test_a_prediction_with_we_will_is_no_action(nlp):
    text = (
        "# Disk pressure\n\n"
        "The build nodes ran out of inodes on Monday.\n\n"
        "My guess is that old images pile up, and we will see this again every few weeks "
        "as they accumulate on the nodes.\n\n"
        "We will add an inode alert to the build nodes.\n"
    )
    found = [a.text for a in _analysis(nlp, text).actions]
    assert found == ["We will add an inode alert to the build nodes."]


@pytest.mark.models
def test_a_follow_up_message_sent_is_no_follow_up_task(nlp):
    text = (
        "# Library vulnerability\n\n"
        "- Hard to reach all developers quickly\n"
        "  - The first notice went out late on a Friday\n"
        "  - Follow-up email sent to the developer list, 4 people replied\n"
        "- Teams patched fast once they knew\n"
    )
    found = [a.text for a in _analysis(nlp, text).actions]
    assert not any("Follow-up email" in t for t in found)


@pytest.mark.models
def test_a_generic_you_at_work_is_no_action(nlp):
    text = (
        "# Node pool exhausted\n\n"
        "From this outage we learned that our capacity reviews were too rare.\n"
        "Fixing things only when you are working on that part of the platform does not suit "
        "slow-growing limits like address space.\n\n"
        "The platform team is working on a monthly capacity review.\n"
    )
    found = [a.text for a in _analysis(nlp, text).actions]
    assert found == ["The platform team is working on a monthly capacity review."]


@pytest.mark.models
def test_a_missing_capability_and_a_process_to_streamline_are_plans(nlp):
    text = (
        "# Search cluster outage\n\n"
        "The search nodes were rebooted at once during a kernel update.\n\n"
        "We need a way to mark a cluster as one that must be rebooted node by node. "
        "We should streamline reboot scheduling for the search team.\n"
    )
    found = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert (
        found.get("We need a way to mark a cluster as one that must be rebooted node by node.")
        == "planned"
    )
    assert found.get("We should streamline reboot scheduling for the search team.") == "planned"


@pytest.mark.models
@pytest.mark.parametrize("heading", ["## Action items\n\n", ""])
def test_a_note_under_an_item_that_says_done_makes_it_done(nlp, heading):
    text = (
        "# Certificate expiry\n\n"
        "The TLS certificate expired because renewal mails went to one person.\n\n"
        f"{heading}"
        "- Send renewal notices to a shared team mailbox\n"
        "  - This has been done: certs@example.org\n"
        "- Add an expiry check to the monitoring\n"
        "- Write a renewal runbook\n"
    )
    found = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert found.get("Send renewal notices to a shared team mailbox") == "done"
    assert found.get("Add an expiry check to the monitoring") == "planned"


def test_an_item_that_says_it_is_done_is_done():
    assert action_status("Rotate the deploy keys.\nThis has been done last week.") == "done"
    assert action_status("Rotate the deploy keys.") == "planned"


@pytest.mark.models
def test_a_hold_kept_until_the_follow_up_is_a_done_step(nlp):
    text = (
        "# Replica lag\n\n"
        "A bulk index rebuild saturated the primary database and replicas fell behind.\n\n"
        "Bulk index rebuilds have been suspended until the rebuild tool can throttle itself. "
        "The rebuild had been paused for an hour during the incident.\n"
    )
    found = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert found == {
        "Bulk index rebuilds have been suspended until the rebuild tool can throttle itself.": (
            "done"
        )
    }


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Other remediations included asking every maintainer to enable hardware keys.", "done"),
        ("Follow-up changes included splitting the sessions table.", "done"),
        ("Acme has since added rate limits on the export endpoint.", "done"),
        ("Ongoing projects include sharding the job queue.", "in_progress"),
        ("Initiatives include a second DNS provider.", "planned"),
        ("The vendor named three follow-up items for its DNS team.", "planned"),
        ("The key recommendation is that operators test failover every quarter.", "planned"),
        ("Acme is now actively working on a fix with its disk vendor.", "in_progress"),
        ("The provider is establishing a review board for network changes.", "in_progress"),
        (
            "We continue to work with the carrier to find the cause of the packet loss.",
            "in_progress",
        ),
        ("We are already working on moving the queue to a managed service.", "in_progress"),
    ],
)
def test_follow_ups_told_in_provider_prose_status(text, status):
    assert action_status(text) == status


PROSE_FOLLOW_UPS = (
    "On May 2, Acme's build service was down for three hours because a disk filled up on the "
    "primary database. Engineers freed space and restarted the service.\n\n"
    "Acme has since rolled out several changes, such as alerting on disk usage and pruning old "
    "artifacts daily. Ongoing projects include a redesign of the artifact store.\n\n"
    "A per-project storage quota was put in place on the build hosts to avoid another full "
    "disk. Acme is now actively working on larger volumes with its hosting provider. The "
    "company is establishing an on-call rotation for the storage layer.\n\n"
    "The company committed to better storage monitoring. This included paging on growth rate "
    "and reviewing retention policies. The key recommendation is that every team review its "
    "retention settings.\n\n"
    "Recovery actions included restarting the workers. The timeline and recommendations are "
    "noted below.\n"
)


@pytest.mark.models
def test_prose_follow_ups_of_provider_reports_are_actions(nlp):
    actions = {a.text: a.status for a in _analysis(nlp, PROSE_FOLLOW_UPS).actions}
    found = " ".join(actions)

    def status_of(start: str) -> str:
        return next((s for t, s in actions.items() if t.startswith(start)), "")

    # "has since rolled out several changes, such as ...": a list, not an announcement.
    assert status_of("Acme has since rolled out several changes") == "done"
    assert status_of("Ongoing projects include") == "in_progress"
    assert status_of("A per-project storage quota was put in place") == "done"
    assert status_of("Acme is now actively working on larger volumes") == "in_progress"
    assert status_of("The company is establishing an on-call rotation") == "in_progress"
    # The list that follows a commitment ("This included ...") goes with it.
    assert any(t.startswith("The company committed") and "This included" in t for t in actions)
    assert status_of("The key recommendation is that") == "planned"
    # The response and a pointer to the recommendations are not follow-ups.
    assert "freed space" not in found
    assert "Recovery actions included" not in found
    assert "noted below" not in found


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Request tracing across the proxies would be invaluable for debugging.", "planned"),
        ("We might want to revisit the retry budget for the mail queue.", "planned"),
        ("Add an index on the events table (Done in T4321).", "done"),
        ("The follow-up for this report is to check the backup schedule.", "planned"),
    ],
)
def test_suggestions_follow_ups_and_done_notes_status(text, status):
    assert action_status(text) == status


SUGGESTIONS = (
    "The search cluster returned errors for forty minutes because a shard ran out of heap.\n\n"
    "Per-request tracing across the proxy layers would be invaluable in an outage like this. "
    "We might want to review how shards are placed on the smaller nodes.\n\n"
    "If the heap pressure comes back, we may want to add a second replica.\n"
)


@pytest.mark.models
def test_a_suggestion_is_a_planned_action_unless_it_hangs_on_a_condition(nlp):
    actions = {a.text: a.status for a in _analysis(nlp, SUGGESTIONS).actions}
    assert actions.get(
        "Per-request tracing across the proxy layers would be invaluable in an outage like this."
    ) == ("planned")
    assert actions.get("We might want to review how shards are placed on the smaller nodes.") == (
        "planned"
    )
    assert not any("If the heap pressure" in t for t in actions)


@pytest.mark.models
def test_a_service_that_has_since_recovered_is_no_follow_up(nlp):
    text = (
        "Uploads failed for an hour because a storage node ran out of disk.\n\n"
        "Uploads have since recovered fully. Acme has since added disk alerts on every node.\n"
    )
    actions = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert actions.get("Acme has since added disk alerts on every node.") == "done"
    assert not any("recovered" in t for t in actions)


@pytest.mark.models
def test_a_step_that_stops_the_damage_is_no_follow_up(nlp):
    text = (
        "Logins failed for two hours because a bad token signing key was deployed.\n\n"
        "Remediation included reverting the key change on every region. A block rule was "
        "deployed to prevent further abuse of the leaked tokens. Follow-up changes included "
        "a check that rejects keys older than a day.\n"
    )
    actions = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert actions.get(
        "Follow-up changes included a check that rejects keys older than a day."
    ) == ("done")
    found = " ".join(actions)
    assert "reverting the key change" not in found
    assert "block rule" not in found


FOLLOW_UP_PHRASINGS = [
    ("Going forward, all configuration changes go through a staged rollout.", "planned"),
    ("The storage team is also adding capacity alerts to every cluster.", "in_progress"),
    (
        "The engineering team is now rebuilding the cache layer with better isolation.",
        "in_progress",
    ),
    ("Additional safeguards are being put in place to catch bad cache entries.", "in_progress"),
    ("Work is underway to split the cache into smaller shards.", "in_progress"),
    ("Acme is taking steps to ensure this does not happen again.", "in_progress"),
    (
        "We're making changes to our deployment tooling so that cache nodes drain first.",
        "in_progress",
    ),
    ("To reduce the chance of a repeat, Acme added a canary stage for cache config.", "done"),
    ("The team has also updated its runbook with the new recovery steps.", "done"),
    ("Acme will be adding automated checks to the deploy pipeline.", "planned"),
    ("Several improvements are planned, including faster failover.", "planned"),
]
NOT_FOLLOW_UPS = [
    "The on-call team is moving traffic to the secondary region while the primary recovers.",
    "Engineers are replacing the failed disk now and expect recovery within the hour.",
    "Going forward, we expect traffic to keep growing.",
    "Work is underway to restore the remaining volumes.",
    "Ongoing efforts to restore service continued through the night.",
    "The team has restarted the affected hosts.",
    "Cache rules are hard to reason about, so hard that the vendor is actively making changes.",
]


@pytest.mark.models
def test_common_follow_up_phrasings_are_actions_and_the_response_is_not(nlp):
    lead = "The API returned errors for an hour because a cache node failed.\n\n"
    for sentence, status in FOLLOW_UP_PHRASINGS:
        actions = {a.text: a.status for a in _analysis(nlp, lead + sentence + "\n").actions}
        assert actions.get(sentence) == status, sentence
    for sentence in NOT_FOLLOW_UPS:
        actions = _analysis(nlp, lead + sentence + "\n").actions
        assert not actions, sentence


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Key remediation steps include splitting the queue by tenant.", "planned"),
        ("Storage improvements involve adding capacity headroom to every shard.", "planned"),
        ("Future plans include automatic failover to a second region.", "planned"),
        ("Schema updates are planned for safer migrations.", "planned"),
    ],
)
def test_work_named_by_a_noun_that_heads_it_is_planned(text, status):
    assert action_status(text) == status


@pytest.mark.models
def test_a_list_of_work_after_its_announcement_and_named_work_are_actions(nlp):
    text = (
        "On May 3 the queue service was down for two hours because a bad config was pushed.\n\n"
        "To avoid a repeat, Acme plans several improvements. These include splitting the queue "
        "by tenant and adding a canary stage for config pushes.\n\n"
        "Storage improvements involve adding capacity headroom and tuning the compaction. Future "
        "plans include automatic failover to a second region.\n"
    )
    actions = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert actions == {
        "These include splitting the queue by tenant and adding a canary stage for config "
        "pushes.": "planned",
        "Storage improvements involve adding capacity headroom and tuning the compaction.": (
            "planned"
        ),
        "Future plans include automatic failover to a second region.": "planned",
    }


@pytest.mark.models
def test_the_response_told_as_actions_included_or_remediation_involved_is_no_follow_up(nlp):
    text = (
        "On May 3 attackers used a stolen session to reach the build cluster.\n\n"
        "Engineers cut the session off within the hour. Later actions included revoking all "
        "deploy tokens and rotating the signing keys. Remediation involved sending engineers to "
        "the data center.\n"
    )
    assert not _analysis(nlp, text).actions


PROGRESS_PHRASINGS = [
    (
        "Improvements to queue isolation and canary coverage, along with a faster paging path, "
        "are also underway.",
        "in_progress",
    ),
    ("The faulty retry logic in the client library is also being addressed.", "in_progress"),
    (
        'In response, Acme has launched a "Safe Deploys" initiative for config pushes.',
        "in_progress",
    ),
    ("The company is conducting a thorough review to learn from the outage.", "in_progress"),
]


@pytest.mark.models
def test_work_under_way_told_in_provider_prose_is_in_progress(nlp):
    lead = "The API returned errors for an hour because a cache node failed.\n\n"
    for sentence, status in PROGRESS_PHRASINGS:
        actions = {a.text: a.status for a in _analysis(nlp, lead + sentence + "\n").actions}
        assert actions.get(sentence) == status, sentence
    # A migration told as background is no follow-up.
    background = "The old lookup table is being replaced by a set of normalised tables.\n"
    assert not _analysis(nlp, lead + background).actions


@pytest.mark.models
def test_a_fix_proposed_for_later_is_planned_and_hindsight_is_not(nlp):
    text = (
        "On May 3 every worker hung because a deadlock in the scheduler held its lock.\n\n"
        "A fix proposed was to drop the scheduler's lock while logging. A cleaner solution "
        "would remove the nested lock altogether. The proper fix would have been to test the "
        "scheduler under load.\n"
    )
    actions = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert actions == {
        "A fix proposed was to drop the scheduler's lock while logging.": "planned",
        "A cleaner solution would remove the nested lock altogether.": "planned",
    }


@pytest.mark.models
def test_safeguards_the_provider_added_since_are_done_and_response_tools_are_not(nlp):
    text = (
        "On May 3 attackers used a stolen session to reach the build cluster.\n\n"
        "Acme implemented additional safeguards, including hardware keys for staff. They also "
        "built new tools for customers, such as a key scanner. The support team quickly "
        "developed new tools to drain the backlog of stuck jobs.\n"
    )
    actions = {a.text: a.status for a in _analysis(nlp, text).actions}
    assert actions == {
        "Acme implemented additional safeguards, including hardware keys for staff.": "done",
        "They also built new tools for customers, such as a key scanner.": "done",
    }


@pytest.mark.models
def test_a_list_of_work_done_with_one_follow_up_among_response_steps_is_a_follow_up(nlp):
    lead = "On May 3 attackers used a stolen session to reach the build cluster.\n\n"
    mixed = (
        "Further remediation included revoking all deploy tokens, placing limits on token "
        "scopes and requiring hardware keys."
    )
    actions = {a.text: a.status for a in _analysis(nlp, lead + mixed + "\n").actions}
    assert actions == {mixed: "done"}


@pytest.mark.models
def test_a_requirement_put_in_place_since_is_a_done_follow_up_and_a_block_is_not(nlp):
    lead = "On May 3 a leaked token let an outsider push to the main branch.\n\n"
    since = "Every other repository was configured to require a passing build before a push."
    actions = {a.text: a.status for a in _analysis(nlp, lead + since + "\n").actions}
    assert actions == {since: "done"}
    block = "The firewall was updated to block the attacking addresses."
    assert not _analysis(nlp, lead + block + "\n").actions


@pytest.mark.models
@pytest.mark.parametrize(
    ("sentence", "status"),
    [
        (
            "Acme is now manually auditing all certificates and enhancing automation to prevent "
            "similar issues.",
            "in_progress",
        ),
        (
            "Acme also started operator training and is working to modify the renewal job to "
            "skip stale entries.",
            "in_progress",
        ),
        (
            "New gateway configurations have been deployed to protect the edge devices from "
            "similar expiry events in the future.",
            "done",
        ),
        (
            "A more permanent fix was proposed to change how the renewal job orders its queue.",
            "planned",
        ),
        (
            "The legacy audit plugin was disabled and then completely removed to prevent "
            "recurrence.",
            "done",
        ),
        (
            "In response, Acme modified the renewal tool to validate chains and added safeguards "
            "to prevent renewals that skip validation.",
            "done",
        ),
    ],
)
def test_changes_made_since_to_prevent_a_recurrence_are_actions(nlp, sentence, status):
    text = (
        "On March 3, the payments API returned errors for two hours. The root cause was an "
        "expired certificate on the internal gateway. Engineers rotated the certificate and "
        f"service recovered at 16:10 UTC.\n\n{sentence}\n"
    )
    actions = _analysis(nlp, text).actions
    assert [(a.text, a.status) for a in actions] == [(sentence, status)]


@pytest.mark.models
def test_a_step_that_stops_the_damage_is_still_not_an_action(nlp):
    text = (
        "On March 3, the payments API returned errors because of abusive traffic.\n\n"
        "A block rule has been deployed to prevent further abuse, and service recovered.\n"
    )
    assert _analysis(nlp, text).actions == ()

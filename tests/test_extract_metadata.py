"""Tests for ingest.extract.metadata: titles, organisation, dates and summary."""

from __future__ import annotations

import hashlib

import pytest

from ingest.extract import analyze, analyze_many
from ingest.extract.metadata import FILE_DATE_NOTE, date_from_path, find_dates, find_published
from ingest.read import read_document
from ingest.records import Document
from ingest.sections import split_sections


@pytest.mark.parametrize(
    ("written", "parts"),
    [
        ("On January 12th at 14:09 UTC", (None, 1, 12)),
        ("Friday, July 13, 2018", (2018, 7, 13)),
        ("2021-08-26 08:22", (2021, 8, 26)),
        ("the 3rd of March 2020", (2020, 3, 3)),
        ("Post Mortem September 2014", (2014, 9, None)),
        ("On Monday 3. February 2020, a planned upgrade", (2020, 2, 3)),
    ],
)
def test_find_dates(written, parts):
    found = find_dates(written)
    assert len(found) == 1
    assert (found[0].year, found[0].month, found[0].day) == parts


@pytest.mark.parametrize(
    ("path", "iso"),
    [
        ("incidents/2018-01-18-reddit-hug.md", "2018-01-18"),
        ("wikitech-20170728-s5-outage.txt", "2017-07-28"),
        ("postmortem_2021_03_04.md", "2021-03-04"),
        ("2020-05-22/notes.md", None),  # a folder's date is not the file's
        ("PM2019-009.md", None),
        ("2019-02-30-leap.md", None),
        ("build-120190312.md", None),
        ("icco-a20190312.md", None),
        ("2019-0312-mixed.md", None),
    ],
)
def test_date_from_path(path, iso):
    found = date_from_path(path)
    assert (found.iso() if found else None) == iso


def _inline(nlp, text: str, fmt: str = "markdown", path: str = "x.md"):
    document = Document(
        path=path, text=text, format=fmt, sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    return analyze(document, split_sections(document), nlp)


@pytest.mark.models
def test_the_file_name_dates_a_report_whose_text_states_no_date(nlp):
    text = "The queue workers stopped at 08:39 after a package upgrade. Mail was delayed.\n"
    assert _inline(nlp, text, "text", "2016-06-06-mail-queue.txt").date == "2016-06-06"
    assert _inline(nlp, text, "text", "2016-06-06-mail-queue.txt").date_note == FILE_DATE_NOTE
    assert _inline(nlp, text, "text", "mail-queue.txt").date == ""


@pytest.mark.models
def test_the_file_name_gives_the_year_of_a_date_written_without_one(nlp):
    text = "On March 3 at 09:12 UTC the search cluster went red because a node ran out of disk.\n"
    assert _inline(nlp, text, "text", "20210305-search.txt").date == "2021-03-03"
    # a December date in a file of January is from the year before
    december = text.replace("March 3", "December 28")
    assert _inline(nlp, december, "text", "20210110-search.txt").date == "2020-12-28"


@pytest.mark.models
def test_a_latent_cause_weeks_earlier_does_not_date_the_incident_when_the_file_does(nlp):
    text = (
        "The wiki and the forum were in read-only mode from 5:48 to 7:04 on 2017-07-28.\n\n"
        "After further investigation, a memory leak is detected that started back on 5th of "
        "July 2017 at 14:00. The reason for the leak was a cleanup process.\n"
    )
    assert _inline(nlp, text, "text", "20170728-db-read-only.txt").date == "2017-07-28"
    # a report filed a few weeks after the incident keeps the text's own date ...
    later = "On 2017-07-05 at 05:48 the database went read-only because of a memory leak.\n"
    assert _inline(nlp, later, "text", "20170801-db-read-only.txt").date == "2017-07-05"
    # ... but a text whose only date lies months from the file's is about something else
    far = _inline(nlp, later, "text", "20171128-db-read-only.txt")
    assert (far.date, far.date_note) == ("2017-11-28", FILE_DATE_NOTE)


@pytest.mark.models
def test_a_title_date_far_from_the_file_date_does_not_date_the_incident(nlp):
    text = "# 2022-01-27, pod limit reached\n\nThe hub could not start pods for nine hours.\n"
    assert _inline(nlp, text, "text", "2022-06-02-pod-limit.md").date == "2022-06-02"
    assert _inline(nlp, text, "text", "pod-limit.md").date == "2022-01-27"


def test_may_alone_is_not_a_date():
    assert find_dates("We may restart the nodes.") == []


def test_a_version_number_is_not_a_day():
    found = find_dates("We upgraded to 1.3 February's release.")
    assert [(d.month, d.day) for d in found] == []


def test_find_published():
    assert find_published("This was originally posted on July 18, 2018.").iso() == "2018-07-18"
    assert find_published("This was reported on October 2, 2014.").iso() == "2014-10-02"
    assert find_published("Last updated on August 27, 2019") is None


@pytest.fixture(scope="module")
def seeds(corpus_dir, nlp):
    items = []
    for path in sorted(corpus_dir.iterdir()):
        document = read_document(path)
        items.append((document, split_sections(document)))
    return {
        doc.path.split("/")[-1][:3]: a
        for (doc, _), a in zip(items, analyze_many(items, nlp), strict=True)
    }


@pytest.mark.models
def test_seed_titles_skip_page_furniture(seeds):
    for analysis in seeds.values():
        assert analysis.title not in ("Product", "Incident Report for [mailgun](/)", "Postmortem")
        assert "What's new" not in analysis.title
    assert seeds["002"].title == "What happened yesterday and what we are doing about it"
    assert seeds["003"].title == "Mailgun Post Mortem September 2014"
    assert seeds["004"].title == "Mailgun Post Mortem May 2016"
    assert seeds["001"].title.startswith("Mailgun: ")


@pytest.mark.models
def test_seed_organisation_is_mailgun(seeds):
    assert {a.organization for a in seeds.values()} == {"Mailgun"}


@pytest.mark.models
def test_seed_dates(seeds):
    assert (seeds["001"].date, seeds["001"].published) == ("2018-07-13", "2018-07-18")
    assert seeds["004"].published == "2016-05-31" and seeds["004"].date.startswith("2016-05")
    assert seeds["003"].published == "2014-10-02" and seeds["003"].date.startswith("2014-09")
    assert seeds["000"].date == "" and "year" in seeds["000"].date_note
    assert seeds["002"].date == "" and seeds["002"].date_note


@pytest.mark.models
def test_seed_summary_and_duration(seeds):
    assert seeds["000"].summary[0].startswith("On January 12th at 14:09 UTC")  # Summary section
    assert 2 <= len(seeds["001"].summary) <= 3
    assert seeds["001"].duration_minutes is not None and seeds["001"].duration_minutes > 60


@pytest.mark.models
def test_title_and_year_inference_on_inline_text(nlp):
    text = (
        "# Search outage of 3 March\n\n"
        "Published on March 10, 2021.\n\n"
        "On March 3 at 09:12 UTC our Elasticsearch cluster went red because a node ran out "
        "of disk.\n"
    )
    document = Document(
        path="x.md", text=text, format="markdown", sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    analysis = analyze(document, split_sections(document), nlp)
    assert analysis.title == "Search outage of 3 March"
    assert analysis.published == "2021-03-10"
    assert analysis.date == "2021-03-03"


@pytest.mark.models
def test_organisation_signals(nlp):
    report_for = "Incident Report for [acme](/)\n\nOur API failed because the disk was full.\n"
    assert _inline(nlp, report_for).organization == "Acme"
    domain = (
        "Launches on example-binder.org failed. We restarted example-binder.org pods "
        "and example-binder.org recovered."
    )
    assert _inline(nlp, domain, fmt="text").organization == "example-binder.org"


@pytest.mark.models
def test_technical_acronyms_are_not_organisations(nlp):
    text = (
        "The KIAM server certificate expired. KIAM could not assume roles. "
        "We restarted KIAM and the IP allocation recovered. KIAM is now monitored."
    )
    assert _inline(nlp, text, fmt="text").organization == ""


@pytest.mark.models
def test_duration_from_text_when_the_timeline_has_no_end(seeds, nlp):
    assert seeds["002"].duration_minutes == 480.0  # "from approximately 20:40 pm UTC to 04:40"
    assert seeds["003"].duration_minutes == 619.0  # "between the hours of 1:10 a.m. ... 11:29"
    text = "The outage lasted 2 hours and 5 minutes and affected all users."
    assert _inline(nlp, text, fmt="text").duration_minutes == 125.0


@pytest.mark.models
def test_untitled_prose_report_is_titled_by_its_opening_summary(nlp):
    text = (
        "On Friday, November 18th, 2022, Acmeio experienced 13 minutes of intermittent "
        "downtime over a 32-minute period. The API crashed repeatedly.\n\n"
        "Customer impact was significant: most dashboards failed to load.\n"
    )
    analysis = _inline(nlp, text, fmt="text")
    # The date adverbial and the bare year after it are dropped, the clause is kept.
    assert analysis.title.startswith("Acmeio experienced 13 minutes of intermittent downtime")
    assert not analysis.title.startswith(("2022", "November", "Customer impact"))


@pytest.mark.models
def test_template_questions_and_timeline_rows_do_not_title_a_report(nlp):
    text = (
        "The search cluster ran out of heap and stopped answering queries for an hour.\n\n"
        "09:25 Alice and Bob investigate independently\n\n"
        "What went well?\n\n"
        "Paging worked and the on-call responded quickly.\n"
    )
    title = _inline(nlp, text, fmt="text").title
    assert title.startswith("The search cluster ran out of heap")
    # A dated title line is still a title.
    dated = "2018-01-18, Reddit hug\n\nThe site was slow because a post brought traffic.\n"
    assert _inline(nlp, dated, fmt="text").title == "2018-01-18, Reddit hug"


@pytest.mark.models
def test_a_short_line_after_the_body_has_begun_does_not_title_a_plain_text_report(nlp):
    text = (
        "The search cluster went red after a rolling restart because one node did not come "
        "back and the shard allocation settings kept the replicas from moving elsewhere.\n\n"
        "The settings that govern recovery were\n\n"
        "cluster.routing.allocation.enable: primaries\n"
    )
    title = _inline(nlp, text, fmt="text").title
    assert title.startswith("The search cluster went red after a rolling restart")
    # A title line at the top still titles the report.
    titled = "Search cluster outage\n\n" + text
    assert _inline(nlp, titled, fmt="text").title == "Search cluster outage"


@pytest.mark.models
def test_the_summary_of_a_report_without_a_summary_heading_opens_with_its_first_sentence(nlp):
    text = (
        "The wiki and the forum were in read-only mode from 05:48 to 07:04 on 2020-03-02.\n\n"
        "• 05:48 The primary database is killed by the kernel because it ran out of memory.\n"
        "• 05:50 The database restarts in read-only mode because of the crash.\n"
        "• 2020-03-02 06:12 A user reports that edits fail because of the read-only mode.\n\n"
        "Why did the database run out of memory?\n\n"
        "A cleanup job leaked memory for two months, which caused the crash.\n"
    )
    summary = _inline(nlp, text, fmt="text").summary
    assert summary[0].startswith("The wiki and the forum were in read-only mode")
    assert not any(s.endswith("?") for s in summary)  # a template's question
    assert not any(s.startswith("• 2020-03-02 06:12") for s in summary)  # a dated row
    title = _inline(nlp, text, fmt="text").title
    assert not title.endswith((" on", " to", " from"))


@pytest.mark.models
def test_a_hard_cut_title_does_not_end_on_a_dangling_word(nlp):
    text = (
        "Users of the billing portal in three regions were unable to pay invoices from 05:48 to "
        "07:04 on Monday because the card processor rejected every request.\n"
    )
    title = _inline(nlp, text, fmt="text").title
    assert title.split()[-1].lower() not in {"on", "to", "from", "at", "the", "of", "in"}
    assert title.startswith("Users of the billing portal")


@pytest.mark.models
def test_days_months_and_plain_words_after_outage_from_are_not_organisations(nlp):
    text = (
        "Acmeio experienced an extended outage from Wednesday, February 9 at 12:30 PM PT "
        "until Thursday, February 10 at 7:30 PM PT. The outage for customers lasted a day.\n"
    )
    assert _inline(nlp, text, fmt="text").organization not in ("Wednesday", "February", "Customers")


@pytest.mark.models
def test_the_subject_that_suffered_the_incident_in_the_opening_names_the_organisation(nlp):
    lower_case_domain = (
        "On Friday, November 18th, 2022, widgetly.io experienced 13 minutes of downtime. "
        "A database failover stalled every API call.\n"
    )
    assert _inline(nlp, lower_case_domain, fmt="text").organization == "widgetly.io"
    customers = (
        "Between March 26 and April 10, 2019, Blorpco customers experienced long queue "
        "delays. A slow disk on the queue host caused it.\n"
    )
    assert _inline(nlp, customers, fmt="text").organization == "Blorpco"
    part = (
        "On November 16, 2021, at 09:35 PT, Zentral Cloud Networking experienced issues "
        "with its load balancers. A bad configuration push caused it.\n"
    )
    assert _inline(nlp, part, fmt="text").organization == "Zentral Cloud"


@pytest.mark.models
def test_common_words_and_tools_looked_at_are_not_organisations(nlp):
    text = (
        "Users experienced slow builds for an hour. Later, users saw errors. "
        "Tim looked at grafana and saw a node at full memory; grafana showed the proxy "
        "restarting.\n"
    )
    assert _inline(nlp, text, fmt="text").organization == ""


@pytest.mark.models
def test_a_top_level_heading_titles_the_report_even_with_few_letters(nlp):
    text = (
        "# 2019-03-04, 502\n\n## Summary\n\nThe hub failed to launch servers.\n\n"
        "## Timeline\n\nAll times in CEST\n\n### 10:00\n\nLaunches fail.\n"
    )
    analysis = _inline(nlp, text)
    assert analysis.title == "2019-03-04, 502"
    assert analysis.date == "2019-03-04"
    generic = "# Timeline\n\nAll times in UTC\n\nThe hub failed to launch servers for an hour.\n"
    assert _inline(nlp, generic).title != "Timeline"


@pytest.mark.models
def test_a_site_that_was_down_in_the_opening_is_the_organisation_a_technology_is_not(nlp):
    site = (
        "examplehub.org was failing to launch any images. Building worked fine, but "
        "launching failed with a timeout.\n"
    )
    assert _inline(nlp, site, fmt="text").organization == "examplehub.org"
    technology = "Redis was down for an hour. Sessions could not be stored.\n"
    assert _inline(nlp, technology, fmt="text").organization == ""


@pytest.mark.models
def test_an_event_day_refines_an_earlier_event_month_of_the_same_month(nlp):
    text = (
        "In March 2021 the API failed for many customers because of a database upgrade.\n\n"
        "On March 12, 2021 at 10:00 UTC the first errors appeared and requests timed out.\n"
    )
    assert _inline(nlp, text, fmt="text").date == "2021-03-12"
    # a day in another month is not the month's day
    other = text.replace("On March 12, 2021", "On April 2, 2021")
    assert _inline(nlp, other, fmt="text").date == "2021-03"

"""Tests for ingest.extract.timeline: time expressions, normalisation, events and metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.extract.timeline import extract_timeline, find_time_expressions, normalize_time
from ingest.records import Sentence

ROOT = Path(__file__).resolve().parents[1]
SEED_000 = next((ROOT / "corpus").glob("000_*.txt"))


def _sentences(text: str, *pieces: str) -> tuple[Sentence, ...]:
    """Sentence records for the given pieces of ``text`` (each must occur in it)."""
    found = []
    for i, piece in enumerate(pieces):
        start = text.index(piece)
        found.append(Sentence(i, 0, start, start + len(piece), piece, "timeline"))
    return tuple(found)


# --- find_time_expressions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The rollback began at 15:15 UTC by deploying.", ["15:15 UTC"]),
        ("Between 16:00 and 19:00 UTC, the team resized.", ["Between 16:00 and 19:00 UTC"]),
        (
            "On Saturday, September 27, at 6:50 p.m. UTC, we noticed",
            ["Saturday, September 27, at 6:50 p.m. UTC"],
        ),
        (
            "began at 1:10 a.m. UTC on Monday, September 30, and",
            ["1:10 a.m. UTC on Monday, September 30"],
        ),
        ("delays from approximately 20:40 pm UTC to 04:40 UTC.", ["20:40 pm UTC to 04:40 UTC"]),
        ("| 2021-08-26 08:22 | Pods crash |", ["2021-08-26 08:22"]),
        ("### 2018-01-18 4:19", ["2018-01-18 4:19"]),
        ("- **16:58 UTC** - Writer database saturates", ["16:58 UTC"]),
        ("* 2015-05-19 13:11: db1 went down", ["2015-05-19 13:11"]),
        ("Within ten minutes, the team knew.", ["Within ten minutes"]),
        ("About an hour later it recovered.", ["an hour later"]),
        ("By 12:44 UTC, all services were fully functional again.", ["12:44 UTC"]),
        ("On January 12th at 14:09 UTC, our engineers", ["January 12th at 14:09 UTC"]),
        ("This was originally posted on July 18, 2018.", ["July 18, 2018"]),
        ("on the 3rd of March 2020", ["the 3rd of March 2020"]),
        ("Traffic builds from around 6pm and peaks at 6am", ["6pm", "6am"]),
    ],
)
def test_find_time_expressions_finds_what_is_written(text: str, expected: list[str]) -> None:
    assert [e.text for e in find_time_expressions(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "panicked at feature-flags/src/main.rs:119:5",
        "version 1.14.2 was released",
        "ratio of 3:1 between readers and writers",
        "We had 100,000 duplicate emails and 75% throughput.",
        "| 2024-03-13 HH:mm | Short event description. |",
    ],
)
def test_find_time_expressions_ignores_things_that_are_not_times(text: str) -> None:
    assert [e for e in find_time_expressions(text) if e.hour is not None] == []


def test_offsets_point_at_the_written_expression() -> None:
    text = "Alerts fired at 14:09 UTC and again at 14:30 UTC."
    for expr in find_time_expressions(text):
        assert text[expr.start : expr.end] == expr.text


def test_interval_keeps_its_end_and_shares_the_zone() -> None:
    (expr,) = find_time_expressions("Between 16:00 and 19:00 UTC, we worked.")
    assert (expr.hour, expr.minute, expr.zone) == (16, 0, "UTC")
    assert expr.until is not None and (expr.until.hour, expr.until.minute) == (19, 0)


# --- normalize_time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "anchor", "previous", "expected"),
    [
        ("at 15:15 UTC", datetime(2018, 1, 12), None, "2018-01-12T15:15:00Z"),
        ("at 15:15 UTC", None, None, "T15:15:00Z"),
        ("at 15:15", None, None, "T15:15:00"),
        ("20:40 pm UTC", datetime(2015, 1, 1), None, "2015-01-01T20:40:00Z"),
        ("6:50 p.m. UTC", datetime(2014, 9, 27), None, "2014-09-27T18:50:00Z"),
        ("12:30 a.m. UTC", datetime(2014, 9, 27), None, "2014-09-27T00:30:00Z"),
        ("On Saturday, September 27, at 6:50 p.m. UTC", datetime(2014, 10, 2), None,
         "2014-09-27T18:50:00Z"),
        ("1:10 a.m. UTC on Monday, September 30", datetime(2014, 10, 2), None,
         "2014-09-30T01:10:00Z"),
        ("2021-08-26 08:22", None, None, "2021-08-26T08:22:00"),
        ("2021-08-26 08:22 UTC", None, None, "2021-08-26T08:22:00Z"),
        ("2018-01-18 4:19 PST", None, None, "2018-01-18T04:19:00-08:00"),
        ("09:30 CEST", datetime(2020, 6, 1), None, "2020-06-01T09:30:00+02:00"),
        ("January 12th", datetime(2019, 2, 1), None, "2019-01-12"),
        ("Within ten minutes", None, datetime(2018, 1, 12, 14, 9, tzinfo=UTC),
         "2018-01-12T14:19:00Z"),
        ("an hour later", None, datetime(2018, 1, 12, 23, 30, tzinfo=UTC), "2018-01-13T00:30:00Z"),
        ("half an hour later", None, datetime(2018, 1, 12, 10, 0), "2018-01-12T10:30:00"),
        ("00:10 UTC", None, datetime(2018, 1, 12, 23, 50, tzinfo=UTC), "2018-01-13T00:10:00Z"),
        ("23:55 UTC", None, datetime(2018, 1, 12, 23, 50, tzinfo=UTC), "2018-01-12T23:55:00Z"),
        ("By 12:44 UTC", None, datetime(2018, 7, 13, 11, 0, tzinfo=UTC), "2018-07-13T12:44:00Z"),
        ("4:27", datetime(2018, 1, 18, tzinfo=timezone(timedelta(hours=-8))), None,
         "2018-01-18T04:27:00-08:00"),
        ("no time here", None, None, ""),
        ("Within ten minutes", None, None, ""),
    ],
)  # fmt: skip
def test_normalize_time(
    expr: str, anchor: datetime | None, previous: datetime | None, expected: str
) -> None:
    assert normalize_time(expr, anchor=anchor, previous=previous) == expected


# --- extract_timeline -------------------------------------------------------------------------


def test_seed_000_timeline_runs_from_1409_to_2035_utc() -> None:
    text = SEED_000.read_text(encoding="utf-8")
    events, metrics = extract_timeline(text, ())
    isos = [e.iso for e in events]
    assert isos[0] == "T14:09:00Z"  # "January 12th" and no year anywhere: time of day only
    assert "T20:35:00Z" in isos
    assert metrics["start"] == "T14:09:00Z"
    assert metrics["resolution"] == "T20:35:00Z"
    assert metrics["duration_min"] == 386.0
    assert "date unknown" in metrics["note"]
    first, resolved = events[0], events[isos.index("T20:35:00Z")]
    assert first.kind == "detection"  # "began responding to alerts"
    assert "resuming\nnormal operations at 20:35 UTC" in resolved.text
    assert resolved.kind == "resolution"
    assert [e.iso for e in events if e.kind == "mitigation"][0] == "T15:15:00Z"  # rollback
    between = next(e for e in events if e.time_text == "Between 16:00 and 19:00 UTC")
    assert (between.iso, between.iso_end) == ("T16:00:00Z", "T19:00:00Z")
    relative = next(e for e in events if e.time_text == "Within ten minutes")
    assert relative.iso == "T14:19:00Z"


def test_seed_000_with_anchor_date_gets_full_dates() -> None:
    text = SEED_000.read_text(encoding="utf-8")
    events, metrics = extract_timeline(text, (), anchor_date="2019-01-12")
    assert events[0].iso == "2019-01-12T14:09:00Z"
    assert metrics["resolution"] == "2019-01-12T20:35:00Z"
    assert "note" not in metrics


def test_every_event_points_into_the_source() -> None:
    text = SEED_000.read_text(encoding="utf-8")
    events, _ = extract_timeline(text, ())
    assert events
    for event in events:
        assert text[event.start : event.end] == event.text
        assert text[event.time_start : event.time_end] == event.time_text
        assert event.start <= event.time_start and event.time_end <= event.end


def test_year_comes_from_a_publication_note_and_leading_times_take_the_incident_day() -> None:
    text = (
        "This was originally posted on July 18, 2018.\n\n"
        "One service was deployed at just after 10:00 UTC. "
        "At 11:00 UTC on Friday, July 13, we began receiving alerts. "
        "By 12:44 UTC, all services were fully functional again."
    )
    events, metrics = extract_timeline(text, ())
    assert [e.iso for e in events] == [
        "2018-07-13T10:00:00Z",
        "2018-07-13T11:00:00Z",
        "2018-07-13T12:44:00Z",
    ]
    assert [e.kind for e in events] == ["start", "detection", "resolution"]
    assert metrics["time_to_detect_min"] == 60.0
    assert metrics["duration_min"] == 164.0


def test_publication_date_sets_the_year_of_an_earlier_month() -> None:
    text = "The outage began on December 30 at 23:50 UTC. It was resolved at 00:10 UTC."
    events, metrics = extract_timeline(text, (), published="2015-01-05")
    assert [e.iso for e in events] == ["2014-12-30T23:50:00Z", "2014-12-31T00:10:00Z"]
    assert metrics["duration_min"] == 20.0


def test_a_wiki_signature_is_no_event() -> None:
    text = (
        "On January 12 at 12:42 UTC the parser pool stopped answering. "
        "It recovered at 13:30 UTC.\n\n"
        "• The slow queries were a red herring. Jane (talk) 06:03, 15 April 2014 (UTC)\n"
    )
    events, metrics = extract_timeline(text, ())
    assert [e.iso[5:] for e in events] == ["01-12T12:42:00Z", "01-12T13:30:00Z"]
    assert metrics["duration_min"] == 48.0


def test_day_rolls_over_for_time_only_expressions() -> None:
    text = "At 23:50 UTC alerts fired. At 00:10 UTC the service recovered."
    events, metrics = extract_timeline(text, ())
    assert [e.iso for e in events] == ["T23:50:00Z", "T00:10:00Z"]
    assert metrics["duration_min"] == 20.0


def test_markdown_table_rows_with_stated_zone() -> None:
    text = (
        "## Timeline\n\nAll times in UTC.\n\n| Time | Event |\n| :--- | --- |\n"
        "| 2021-09-17 08:00 | Culprit Ingress object applied to cluster |\n"
        "| 2021-09-17 13:35 | First report of issue by user |\n"
        "| 2021-09-17 14:48 | Removed Ingress object |\n"
        "| 2021-09-17 14:49 | First user reports back that it works |\n"
        "| 2024-03-13 HH:mm | Short event description. |\n"
    )
    events, metrics = extract_timeline(text, ())
    assert [e.iso for e in events] == [
        "2021-09-17T08:00:00Z",
        "2021-09-17T13:35:00Z",
        "2021-09-17T14:48:00Z",
        "2021-09-17T14:49:00Z",
    ]
    assert [e.kind for e in events] == ["start", "detection", "mitigation", "resolution"]
    assert metrics["time_to_detect_min"] == 335.0
    assert metrics["time_to_mitigate_min"] == 408.0


def test_time_headings_date_the_paragraph_below_in_the_stated_zone() -> None:
    text = (
        "## Timeline\n\nAll times in PST\n\n### 2018-01-18 4:19\n\n"
        "First noticed something was up.\n\n### 4:27\n\nFound the repository.\n\n"
        "### 23:59\n\nStill busy.\n\n### 0:05\n\nThings are back to working order.\n"
    )
    events, _ = extract_timeline(text, ())
    assert [(e.text, e.iso) for e in events] == [
        ("First noticed something was up.", "2018-01-18T04:19:00-08:00"),
        ("Found the repository.", "2018-01-18T04:27:00-08:00"),
        ("Still busy.", "2018-01-18T23:59:00-08:00"),
        ("Things are back to working order.", "2018-01-19T00:05:00-08:00"),
    ]
    assert text[events[1].time_start : events[1].time_end] == "4:27"


def test_time_heading_with_words_is_the_event_and_later_times_under_it_are_not() -> None:
    text = (
        "# 2020-07-09, Launch failures\n\n## Timeline\n\nAll times in PST\n\n"
        "### 07:30am - First report\n\nWe hear reports of slow launches.\n\n"
        "### 07:35 - Note pending pods\n\nWe note many pending pods, peaking around 07:15.\n"
    )
    events, _ = extract_timeline(text, ())
    assert [(e.text, e.iso) for e in events] == [
        ("07:30am - First report", "2020-07-09T07:30:00-08:00"),
        ("07:35 - Note pending pods", "2020-07-09T07:35:00-08:00"),
    ]


def test_first_sentence_under_a_time_heading_takes_the_heading_time() -> None:
    text = (
        "## Timeline\n\nAll times in CEST\n\n### 2018-04-18 14:49\n\n"
        "After recovering, the logs around the start of the outage (~13:30) were read. "
        "They showed a flood at 13:31.\n\n"
        "### 19. April, 11:00\n\nA fix is applied.\n\n### 2018-07-08 ca. 18:30\n\nLaunches drop.\n"
    )
    events, _ = extract_timeline(text, ())
    assert [e.iso for e in events] == [
        "2018-04-18T14:49:00+02:00",
        "2018-04-19T11:00:00+02:00",
        "2018-07-08T18:30:00+02:00",
    ]
    assert events[0].time_text == "2018-04-18 14:49"


def test_day_headings_and_dated_headings_set_the_day() -> None:
    text = (
        "## Timeline\n\n### 2018-01-15\n\nGeneral failures happen.\n\n"
        "### October 21, 2025 - Redis overload\n\n- **21:45 UTC** - Deploy\n"
        "- **23:28 UTC** - Service fully recovered\n\n"
        "### October 24, 2025 - Rate limits\n\n- **18:00 UTC** - Deploy rate limiting\n"
    )
    events, _ = extract_timeline(text, ())
    assert [e.iso for e in events] == [
        "2018-01-15",
        "2025-10-21T21:45:00Z",
        "2025-10-21T23:28:00Z",
        "2025-10-24T18:00:00Z",
    ]


def test_a_timeline_table_without_its_heading_keeps_only_its_rows() -> None:
    text = (
        "On Friday 29 November 2019, we scaled the cluster.\n\n"
        "| Time | Event |\n| --- | --- |\n"
        "| 2019-11-29 12:00 | Scaling up the cluster |\n"
        "| 2019-11-30 08:24 | Automated warning from AWS |\n"
        "| 2019-12-03 --:-- | Surge of new deployments |\n"
    )
    events, _ = extract_timeline(text, ())
    assert [e.iso for e in events] == ["2019-11-29T12:00:00", "2019-11-30T08:24:00", "2019-12-03"]


def test_following_morning_moves_a_time_to_the_next_day() -> None:
    text = (
        "At 3:45 PM UTC on November 23rd, 2025, the attacker ran the workflow. "
        "12 hours later, at 4:11 AM UTC the following morning, the packages were published."
    )
    events, _ = extract_timeline(text, ())
    assert [e.iso for e in events] == ["2025-11-23T15:45:00Z", "2025-11-24T04:11:00Z"]


def test_a_date_does_not_join_a_time_across_paragraphs() -> None:
    (first, second) = find_time_expressions(
        "# Attack on November 24th, 2025\n\nAt 4:11 AM UTC it began"
    )
    assert (first.text, second.text) == ("November 24th, 2025", "4:11 AM UTC")


def test_pacific_region_follows_daylight_saving() -> None:
    text = "All times in US/Pacific\n\nOn July 9, 2020 at 07:30 we saw failures."
    events, _ = extract_timeline(text, ())
    assert events[0].iso == "2020-07-09T07:30:00-07:00"


@pytest.mark.parametrize(
    ("sentence", "is_event"),
    [
        ("However, it turned out to be another root cause than seen on June 30.", False),
        ("These steps were done days before the attack (on the 24th of November).", False),
        ("While rolled back within 2 minutes, it triggered more load.", False),
        ("Rackspace communicated with us on Friday, September 26th that it would reboot.", True),
    ],
)
def test_days_mentioned_in_passing_are_not_events(sentence: str, is_event: bool) -> None:
    events, _ = extract_timeline("Published 2015.\n\n" + sentence, ())
    assert bool(events) is is_event


def test_bold_time_bullets_take_the_date_written_above() -> None:
    text = (
        "On September 29, 2025, the service had an outage.\n\n## Timeline\n\n"
        "- **16:58 UTC** - Writer database begins saturating\n"
        "- **17:25 UTC** - Incident declared, rollback attempted\n"
        "- **18:46 UTC** - Service fully restored\n"
    )
    events, metrics = extract_timeline(text, ())
    assert [e.iso for e in events] == [
        "2025-09-29T16:58:00Z",
        "2025-09-29T17:25:00Z",
        "2025-09-29T18:46:00Z",
    ]
    assert metrics["resolution"] == "2025-09-29T18:46:00Z"
    assert metrics["duration_min"] == 108.0


def test_times_in_code_blocks_are_not_events() -> None:
    text = "At 10:00 UTC we deployed.\n\n```\n2025-09-29T16:54:16Z ERROR pool timed out\n```\n"
    events, _ = extract_timeline(text, ())
    assert [e.time_text for e in events] == ["10:00 UTC"]


def test_given_sentences_are_used_as_event_units() -> None:
    text = "Intro line. At 14:00 UTC we noticed errors. We restarted it at 14:30 UTC."
    sentences = _sentences(text, "At 14:00 UTC we noticed errors.", "We restarted it at 14:30 UTC.")
    events, metrics = extract_timeline(text, sentences)
    assert [(e.sentence, e.kind) for e in events] == [(0, "detection"), (1, "mitigation")]
    assert metrics["time_to_mitigate_min"] == 30.0


def test_events_are_ordered_by_time_when_all_resolve() -> None:
    text = "At 14:30 UTC we restarted the service. Earlier, at 14:00 UTC, alerts fired."
    events, _ = extract_timeline(text, ())
    assert [e.iso for e in events] == ["T14:00:00Z", "T14:30:00Z"]


def test_text_without_times_has_no_events() -> None:
    assert extract_timeline("Nothing happened here. Really.", ()) == ((), {})


# --- properties -------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    ["at 15:15 UTC", " ", "\n", "Between 16:00 and 19:00 UTC", "January 12th", "### 4:27\n",
     "| 2021-08-26 08:22 |", "Within ten minutes", "an hour later", "6:50 p.m.", "12:", "99:99",
     "alerts", "resolved", ". ", "**16:58 UTC**", "2015-05-19 13:11:", "PST", "```\n", "-"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(_PIECES, max_size=30).map("".join)))
def test_extract_timeline_never_raises_and_offsets_stay_inside(text: str) -> None:
    events, metrics = extract_timeline(text, ())
    assert isinstance(metrics, dict)
    for event in events:
        assert 0 <= event.start <= event.end <= len(text)
        assert text[event.start : event.end] == event.text
        assert 0 <= event.time_start <= event.time_end <= len(text)
        assert text[event.time_start : event.time_end] == event.time_text
    for expr in find_time_expressions(text):
        assert text[expr.start : expr.end] == expr.text


# --- with the real pipeline's sentences -------------------------------------------------------


@pytest.fixture(scope="module")
def seed_000_sentences() -> tuple[str, tuple[Sentence, ...]]:
    from ingest.extract import analyze
    from ingest.nlp import load_nlp
    from ingest.read import read_document
    from ingest.sections import split_sections

    document = read_document(str(SEED_000))
    analysis = analyze(document, split_sections(document), load_nlp())
    return document.text, analysis.sentences


@pytest.mark.models
def test_seed_000_pins_hold_with_spacy_sentences(
    seed_000_sentences: tuple[str, tuple[Sentence, ...]],
) -> None:
    text, sentences = seed_000_sentences
    events, metrics = extract_timeline(text, sentences)
    assert (metrics["start"], metrics["resolution"]) == ("T14:09:00Z", "T20:35:00Z")
    assert [e.iso for e in events] == [
        "T14:09:00Z", "T14:19:00Z", "T15:15:00Z", "T15:55:00Z", "T16:00:00Z", "T20:28:00Z",
        "T20:35:00Z",
    ]  # fmt: skip
    assert all(e.sentence >= 0 and sentences[e.sentence].text == e.text for e in events)


@pytest.mark.parametrize("text", ["0:00UTC-24", "at 10:00 UTC+25", ";0:00UTC-24"])
def test_an_impossible_utc_offset_does_not_raise(text: str) -> None:
    events, _ = extract_timeline(text, ())
    assert all(e.iso == "" or "+24" not in e.iso and "-24" not in e.iso for e in events)
    for expr in find_time_expressions(text):
        assert expr.start < expr.end <= len(text)


def test_a_real_utc_offset_is_kept() -> None:
    iso = normalize_time("10:00 UTC+2", anchor=datetime(2020, 5, 1, tzinfo=UTC))
    assert iso.endswith("+02:00")

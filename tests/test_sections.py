"""Tests for ingest.sections: Markdown and plain-text splitting, offsets, boilerplate removal."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest

from ingest import sections as sections_module
from ingest.read import read_document
from ingest.records import Block, Document, Section
from ingest.sections import (
    BOILERPLATE_PATTERNS,
    block_text,
    is_boilerplate,
    looks_like_markdown,
    section_text,
    split_sections,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
# Licensed copies of the structured public corpora (see tests/gold/README.md).
STRUCTURED = ROOT / "tests" / "gold" / "texts"


def doc(text: str, fmt: str = "markdown") -> Document:
    return Document(
        path=f"inline.{fmt}",
        text=text,
        format=fmt,  # type: ignore[arg-type]
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


def blocks_of(document: Document) -> list[tuple[str, str, str]]:
    """(section title, block kind, block text) for every block, in order."""
    return [
        (section.title, block.kind, block_text(document, block))
        for section in split_sections(document)
        for block in section.blocks
    ]


def titles(document: Document) -> list[str]:
    return [section.title for section in split_sections(document)]


def assert_offsets_valid(document: Document, sections: tuple[Section, ...]) -> None:
    """Offsets inside the text, ordered, non-overlapping, blocks inside their sections."""
    size = len(document.text)
    previous_end = 0
    for section in sections:
        assert 0 <= section.start <= section.end <= size
        assert section.start >= previous_end
        if section.heading_start >= 0:
            assert section.start <= section.heading_start <= section.heading_end <= section.end
            assert document.text[section.heading_start : section.heading_end].strip()
        for block in section.blocks:
            assert section.start <= block.start < block.end <= section.end
            assert block.start >= previous_end
            text = document.text[block.start : block.end]
            assert text == text.strip(), f"untrimmed block {text!r}"
            previous_end = block.end
        previous_end = max(previous_end, section.end)


# --- Markdown ------------------------------------------------------------------------------


def test_atx_and_setext_headings_with_preamble() -> None:
    text = "Intro line.\n\n# Title #\n\nBody one.\n\nSub part\n--------\n\nBody two.\n\nBig\n===\n"
    document = doc(text)
    sections = split_sections(document)
    assert [(s.title, s.level) for s in sections] == [
        ("", 0),
        ("Title", 1),
        ("Sub part", 2),
        ("Big", 1),
    ]
    preamble, title, sub, big = sections
    assert preamble.start == 0 and preamble.heading_start == -1
    assert section_text(document, preamble) == "Intro line."
    assert text[title.heading_start : title.heading_end] == "Title"
    assert title.start == text.index("# Title")
    assert text[sub.heading_start : sub.heading_end] == "Sub part"
    assert section_text(document, sub) == "Sub part\n--------\n\nBody two."
    assert big.blocks == () and big.end == big.heading_end
    assert_offsets_valid(document, sections)


def test_heading_title_has_no_markup() -> None:
    document = doc("## **Root** cause: `pgbouncer` [limits](http://x) ##\n\nText.\n")
    section = split_sections(document)[0]
    assert section.title == "Root cause: pgbouncer limits"
    assert document.text[section.heading_start : section.heading_end].startswith("**Root**")


def test_no_preamble_when_text_starts_with_heading() -> None:
    assert titles(doc("# A\n\ntext\n")) == ["A"]


def test_paragraphs_are_blocks_with_exact_offsets() -> None:
    document = doc("# S\n\nFirst paragraph\nwraps here.   \n\n  Second one.\n")
    assert blocks_of(document) == [
        ("S", "paragraph", "First paragraph\nwraps here."),
        ("S", "paragraph", "Second one."),
    ]


def test_list_items_start_after_marker_and_nested_items_are_own_blocks() -> None:
    text = "- first item\n  continues\n  - nested one\n  - nested two\n- second\n\n1. one\n2) two\n"
    document = doc(text)
    assert blocks_of(document) == [
        ("", "list_item", "first item\n  continues"),
        ("", "list_item", "nested one"),
        ("", "list_item", "nested two"),
        ("", "list_item", "second"),
        ("", "list_item", "one"),
        ("", "list_item", "two"),
    ]
    assert_offsets_valid(document, split_sections(document))


def test_loose_list_item_with_paragraphs_and_code() -> None:
    text = "- item text\n\n  more of the item\n\n  ```\n  code\n  ```\n\n  after code\n"
    assert blocks_of(doc(text)) == [
        ("", "list_item", "item text\n\n  more of the item"),
        ("", "code", "code"),
        ("", "paragraph", "after code"),
    ]


def test_empty_list_item_is_dropped() -> None:
    assert blocks_of(doc("- \n- real item\n")) == [("", "list_item", "real item")]


def test_table_body_rows_only() -> None:
    text = "| Time | Event |\n|------|-------|\n| 10:00 | Alert fired |\n| 10:05 | Paged |\n"
    assert blocks_of(doc(text)) == [
        ("", "table_row", "10:00 | Alert fired"),
        ("", "table_row", "10:05 | Paged"),
    ]


def test_code_blocks_fenced_and_indented() -> None:
    text = "Text:\n\n```bash\nkubectl get pods\n```\n\n    indented code\n\n~~~\nunclosed\n"
    assert blocks_of(doc(text)) == [
        ("", "paragraph", "Text:"),
        ("", "code", "kubectl get pods"),
        ("", "code", "indented code"),
        ("", "code", "unclosed"),
    ]


def test_blockquote_is_one_quote_block() -> None:
    text = "> quoted line one\n> line two\n>\n> # not a section\n\nAfter.\n"
    document = doc(text)
    assert titles(document) == [""]
    assert blocks_of(document) == [
        ("", "quote", "quoted line one\n> line two\n>\n> # not a section"),
        ("", "paragraph", "After."),
    ]


def test_raw_html_blocks_are_dropped() -> None:
    text = '<div class="x">\nHTMLTEXT\n</div>\n\nReal text.\n\n<img src="a.png" />\n'
    assert blocks_of(doc(text)) == [("", "paragraph", "Real text.")]


def test_image_only_paragraphs_are_dropped() -> None:
    text = "![graph](img/a.png)\n\n[![badge](b.svg)](http://x)\n\nKept ![inline](c.png) text.\n"
    assert blocks_of(doc(text)) == [("", "paragraph", "Kept ![inline](c.png) text.")]


def test_bold_one_line_paragraph_is_a_sub_heading() -> None:
    text = (
        "## Incident\n\n**Root causes:**\n\n- pool too small\n\n**Timeline**\n\n- 10:00 alert\n\n"
        "**Bold lead-in** followed by a sentence is a paragraph.\n"
    )
    document = doc(text)
    sections = split_sections(document)
    assert [(s.title, s.level) for s in sections] == [
        ("Incident", 2),
        ("Root causes", 3),
        ("Timeline", 3),
    ]
    root = sections[1]
    assert text[root.heading_start : root.heading_end] == "Root causes:"
    assert [block_text(document, b) for b in root.blocks] == ["pool too small"]
    assert block_text(document, sections[2].blocks[-1]).startswith("**Bold lead-in**")
    # Bold list items are list items, not headings.
    assert titles(doc("- **Fix one**\n- **Fix two**\n")) == [""]


def test_heading_inside_list_item_does_not_overlap() -> None:
    document = doc("- item\n  # Heading in item\n  text after\n")
    assert_offsets_valid(document, split_sections(document))


def test_crlf_and_lone_cr_offsets() -> None:
    text = "# A\r\n\r\nline one\r\n\r\n- item\rplain\r\n"
    document = doc(text)
    sections = split_sections(document)
    assert_offsets_valid(document, sections)
    assert [block_text(document, b) for b in sections[0].blocks] == ["line one", "item\rplain"]


def test_huge_markdown_is_parsed_in_chunks_with_same_structure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unit = "## Step {n}\n\nParagraph {n} text.\n\n```\n# not a heading {n}\n```\n\n- item {n}\n\n"
    text = "".join(unit.format(n=n) for n in range(700))  # ~55 kB
    whole = split_sections(doc(text))
    monkeypatch.setattr(sections_module, "_CHUNK_CHARS", 5_000)  # ~11 chunks
    assert len(sections_module._markdown_chunks(sections_module._Lines(text))) > 10
    document = doc(text)
    sections = split_sections(document)
    assert sections == whole
    assert len(sections) == 700
    assert all(len(section.blocks) == 3 for section in sections)
    assert block_text(document, sections[555].blocks[1]) == "# not a heading 555"
    assert_offsets_valid(document, sections)


def test_single_megabyte_line_splits_in_bounded_time() -> None:
    for fmt in ("markdown", "text"):
        document = doc("word *a* [b](c) " * 65_000, fmt)
        started = time.perf_counter()
        sections = split_sections(document)
        assert time.perf_counter() - started < 3.0
        assert len(sections) == 1 and len(sections[0].blocks) == 1


def test_yaml_front_matter_is_not_content() -> None:
    text = "---\ntitle: Outage\ndate: 2020-01-01\ntags: [db]\n---\n\n# Real\n\nBody.\n"
    assert blocks_of(doc(text)) == [("Real", "paragraph", "Body.")]
    assert split_sections(doc("---\n...")) == ()  # front matter only
    assert split_sections(doc("---\ntitle: x\n---\n")) == ()
    # A leading thematic break followed by prose is not front matter.
    assert titles(doc("---\n\nPara after rule\n---\n")) == ["Para after rule"]


def test_empty_and_whitespace_documents_have_no_sections() -> None:
    assert split_sections(doc("")) == ()
    assert split_sections(doc(" \n\n\t\n", "text")) == ()


# --- plain text ------------------------------------------------------------------------------


def test_plain_text_headings_and_paragraphs() -> None:
    text = (
        "Summary\n\nThe cache failed at noon and requests timed out.\n\n"
        "Root Cause\n\nA bad config push.\n\nAction Items\n\n- Add a canary\n- Alert on errors\n"
    )
    document = doc(text, "text")
    assert titles(document) == ["Summary", "Root Cause", "Action Items"]
    assert blocks_of(document) == [
        ("Summary", "paragraph", "The cache failed at noon and requests timed out."),
        ("Root Cause", "paragraph", "A bad config push."),
        ("Action Items", "list_item", "Add a canary"),
        ("Action Items", "list_item", "Alert on errors"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "What happened?",
        "What we are doing about it?",
        "Corrective Actions",
        "Lessons Learned",
        "Timeline:",
        "Impact",
        "The Situation",
        "Message delays",  # short isolated sentence-case line followed by body text
        "Distributed Denial of Service (DDoS) Attacks",
        "Attendees",
        "Primary issue: Postgres TOAST OID exhaustion",
        "14:05 UTC",  # a timeline entry label, like mybinder's `### 14:05`
        "Sep 29 2017 08:59",
    ],
)
def test_plain_text_heading_detection(line: str) -> None:
    document = doc(
        f"Intro paragraph that is long enough.\n\n{line}\n\nBody text follows here.\n", "text"
    )
    assert titles(document) == ["", line.rstrip(":")]


@pytest.mark.parametrize(
    "line",
    [
        "This sentence ends with a period.",
        "The queue grew, slowly",
        "We restarted the primary database and the replicas during the window",  # > 8 words
        "https://status.example.com",
        "Severity: Critical",
        "All times in UTC",
        "Hub logs show the following",
        "[^1]: Infrastructure as code",
        "Run",
    ],
)
def test_plain_text_non_headings(line: str) -> None:
    document = doc(
        f"Intro paragraph that is long enough.\n\n{line}\n\nBody text follows here.\n", "text"
    )
    assert titles(document) == [""]


def test_plain_title_case_line_inside_a_wrapped_sentence_is_not_a_heading() -> None:
    text = (
        "The outage affected customers on several cloud providers such as\n"
        "Amazon Web Services And Google Cloud\n"
        "and a few smaller regional hosting companies in Europe and Asia.\n"
    )
    document = doc(text, "text")
    assert titles(document) == [""]
    assert len(blocks_of(document)) == 1


def test_plain_underlined_and_numbered_headings() -> None:
    text = (
        "INCIDENT REPORT\n===============\n\nThe API failed at noon.\n\n"
        "1. Root Cause\n\nA bad config push.\n\n2) Action Items\n\n- Add a canary\n\n"
        "Detection details\n-----------------\nAlerts fired late.\n\n----\n\nLast words.\n"
    )
    document = doc(text, "text")
    sections = split_sections(document)
    assert [(s.title, s.level) for s in sections] == [
        ("INCIDENT REPORT", 1),
        ("Root Cause", 2),
        ("Action Items", 2),
        ("Detection details", 2),
    ]
    assert text[sections[1].heading_start : sections[1].heading_end] == "Root Cause"
    assert [b[2] for b in blocks_of(document)][-2:] == ["Alerts fired late.", "Last words."]


def test_plain_first_line_may_be_a_long_title() -> None:
    text = "Pods not able to start while being moved to new nodes during the AMI update\n\nBody.\n"
    assert titles(doc(text, "text")) == [text.split("\n")[0]]
    later = "Intro paragraph.\n\n" + text
    assert titles(doc(later, "text")) == [""]  # only the first line gets the long-title rule


def test_plain_heading_needs_body_after_it() -> None:
    document = doc("Body text of the report goes here.\n\nThe Team\n", "text")
    assert titles(document) == [""]
    assert blocks_of(document)[-1] == ("", "paragraph", "The Team")


def test_plain_bullets_one_item_each_with_continuations() -> None:
    text = (
        "Timeline\n"
        "• 15.35 Roan reported problems\n"
        "• 16.17 Ariel noticed the wrong file\n"
        "  was reverted\n"
        "- dash item\n"
        "* star item\n"
        "1. numbered\n"
        "2) paren numbered\n"
    )
    assert [b[1:] for b in blocks_of(doc(text, "text"))] == [
        ("list_item", "15.35 Roan reported problems"),
        ("list_item", "16.17 Ariel noticed the wrong file\n  was reverted"),
        ("list_item", "dash item"),
        ("list_item", "star item"),
        ("list_item", "numbered"),
        ("list_item", "paren numbered"),
    ]


def test_plain_wrapped_paragraph_is_one_block() -> None:
    text = (
        "On January 12th at 14:09 UTC, our engineers began responding to alerts\n"
        "for our click / open tracking services and primary MongoDB clusters\n"
        "located in one of our production regions. Within ten minutes, the\n"
        "engineering team had determined the cause.\n"
        "A new paragraph starts after a short last line and wraps onto a\n"
        "second line.\n"
    )
    blocks = blocks_of(doc(text, "text"))
    assert [b[2].split("\n")[0] for b in blocks] == [
        "On January 12th at 14:09 UTC, our engineers began responding to alerts",
        "A new paragraph starts after a short last line and wraps onto a",
    ]


def test_plain_one_paragraph_per_line() -> None:
    lines = [
        "At 11:00 UTC on Friday, July 13, engineering began receiving alerts of problems with "
        "several services and started to investigate them.",
        "Continued investigation revealed that, despite the roll back, our authentication "
        "services were still not responding in a timely manner.",
        "By 12:44 UTC, all services were fully functional again.",
    ]
    assert [b[2] for b in blocks_of(doc("\n".join(lines), "text"))] == lines


def test_plain_text_that_is_markdown_is_parsed_as_markdown() -> None:
    text = "Intro\n\n# Summary\n\nText.\n\n# Actions\n\n1.  **Fix** - do it\n2.  **More** - too\n"
    assert looks_like_markdown(text)
    document = doc(text, "text")
    assert titles(document) == ["", "Summary", "Actions"]
    assert blocks_of(document)[-1] == ("Actions", "list_item", "**More** - too")


@pytest.mark.parametrize(
    "text",
    [
        "Plain report.\n\nSummary\n\nNo markdown here - just text.\n",
        "# only one shell comment looking line\nand nothing else\n",
        "Use a * star and a - dash in prose.\n",
    ],
)
def test_plain_text_sniff_negative(text: str) -> None:
    assert not looks_like_markdown(text)


# --- boilerplate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "comments powered by Disqus",
        "Mailgun Get posts by email",
        "Like what you're reading? Get these posts delivered to your inbox.",
        "No spam, ever.",
        "No spam, ever. Only musings and writings from the Mailgun team.",
        "Related posts",
        "  • Recent posts",
        "Top posts",
        "View all",
        "sign up",
        "Sign up for Free",
        "By sending this form, I agree that Acme may contact me and process my data.",
        "Always be in the know and grab free email resources!",
        "It's easy to get started. And it's free.",
        "See what you can accomplish with the world's best email delivery platform.",
        "Last updated on August 27, 2019",
        "Tags: Security",
        "5 min read",
        "Jane Doe · 6 min read",
        "featured",
        "• What's new",
        "Share this",
        "Share on Twitter",
        "Subscribe",
        "Cookie",
        "This website uses cookies to improve your experience.",
        "Accept all cookies",
        "Popular articles",
        "Leave a comment",
    ],
)
def test_is_boilerplate_positive(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "You will be able to subscribe to alerts via SMS, webhook, Twitter or email.",
        "The session cookie expired after the deploy.",
        "Category: Kubernetes",
        "Related services were restarted.",
        "We posted an update on the status page.",
        "Summary",
        "Time to recovery: 31 minutes",
        "It took 5 min read replicas to catch up",
        "Tags were not applied to the new EC2 instances because of a bug.",
        "x" * 600,
    ],
)
def test_is_boilerplate_negative(line: str) -> None:
    assert not is_boilerplate(line)


def test_boilerplate_patterns_are_loaded_from_data_file() -> None:
    assert len(BOILERPLATE_PATTERNS) >= 20
    assert all(isinstance(p, re.Pattern) for p in BOILERPLATE_PATTERNS)


def test_page_tail_after_related_posts_is_dropped() -> None:
    text = (
        "Our database failed for an hour and we are sorry about that outage today.\n\n"
        "Related posts\n\nHow we scaled our queues\n\nA year of incidents\n\nJane Doe\n"
    )
    assert blocks_of(doc(text, "text")) == [
        (
            "",
            "paragraph",
            "Our database failed for an hour and we are sorry about that outage today.",
        )
    ]


def test_page_tail_headings_are_dropped_in_markdown() -> None:
    text = (
        "# Outage\n\nText of the report.\n\n## Related posts\n\n- [Other post](/x)\n- [More](/y)\n"
    )
    assert titles(doc(text)) == ["Outage"]


def test_boilerplate_in_the_middle_is_dropped_but_content_after_kept() -> None:
    long_text = "Body " * 50
    text = f"Intro text here.\n\nShare this\n\n{long_text}\n"
    assert [b[2] for b in blocks_of(doc(text, "text"))] == ["Intro text here.", long_text.strip()]


# --- the seed corpus -------------------------------------------------------------------------


def corpus_doc(prefix: str) -> Document:
    (path,) = sorted(CORPUS.glob(f"{prefix}_*.txt"))
    return read_document(path)


def test_corpus_000_markdown_sections() -> None:
    document = corpus_doc("000")
    sections = {s.title: s for s in split_sections(document)}
    assert {"Summary", "Corrective Actions"} <= set(sections)
    actions = sections["Corrective Actions"]
    assert [b.kind for b in actions.blocks] == ["list_item"] * 4
    assert block_text(document, actions.blocks[1]).startswith("**Connection Limits**")
    assert all(b.kind == "paragraph" for b in sections["Summary"].blocks)
    assert len(sections["Summary"].blocks) == 6


def test_corpus_001_one_block_per_line() -> None:
    document = corpus_doc("001")
    lines = [line for line in document.text.splitlines() if line.strip()]
    assert blocks_of(document) == [("", "paragraph", line.strip()) for line in lines]


def test_corpus_002_headings() -> None:
    document = corpus_doc("002")
    names = titles(document)
    assert "What happened?" in names
    assert "What we are doing about it?" in names
    assert names.index("What happened?") < names.index("What we are doing about it?")


def test_corpus_003_sections_and_bullets() -> None:
    document = corpus_doc("003")
    sections = {s.title: s for s in split_sections(document)}
    assert {"The Situation", "What Actually Happened", "Going Forward"} <= set(sections)
    items = [
        block_text(document, b)
        for b in sections["What Actually Happened"].blocks
        if b.kind == "list_item"
    ]
    assert items == [
        "Intermittent connection failures",
        "Lost events between 2:30 a.m. UTC and 7:00 a.m. UTC",
        "Approximately 100,000 duplicate emails sent",
    ]


def test_corpus_004_corrective_actions() -> None:
    document = corpus_doc("004")
    sections = {s.title: s for s in split_sections(document)}
    kinds = [b.kind for b in sections["Corrective Actions"].blocks]
    assert kinds[:4] == ["list_item"] * 4


@pytest.mark.parametrize("prefix", ["002", "003", "004"])
def test_no_boilerplate_survives_in_web_pages(prefix: str) -> None:
    document = corpus_doc(prefix)
    surviving = [text for _, _, text in blocks_of(document)] + titles(document)
    debris = re.compile(
        r"Disqus|posts by email|No spam|Related posts|Recent posts|Top posts|View all|"
        r"sign up|Last updated|Tags:|min read|featured|What's new|By sending this form|"
        r"Always be in the know|easy to get started|what you can accomplish",
        re.IGNORECASE,
    )
    assert [text for text in surviving if debris.search(text)] == []
    # ...and the real content is still there.
    assert any("root cause" in text.lower() or "bug" in text for text in surviving)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_corpus_offsets_valid(path: Path) -> None:
    document = read_document(path)
    sections = split_sections(document)
    assert sections
    assert_offsets_valid(document, sections)


# --- structured public corpora (MIT / BSD, read in place) --------------------------------------

DFDS = sorted((STRUCTURED / "dfds").glob("PM20*.md"))[:6]
MYBINDER = sorted((STRUCTURED / "mybinder").glob("*.md"))[:6]
POSTHOG = sorted((STRUCTURED / "posthog").glob("*.md"))


def test_structured_corpora_present() -> None:
    """The parametrized tests below read these files in place; fail loudly if they are gone."""
    assert len(DFDS) == 6 and len(MYBINDER) == 6 and len(POSTHOG) >= 5


def table_rows(path: Path) -> list[str]:
    """Body rows of Markdown tables, found with a simple line scan independent of the parser."""
    rows: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^\s*\|?\s*:?-{3,}", line) and index > 0 and "|" in lines[index - 1]:
            for row in lines[index + 1 :]:
                if "|" not in row or not row.strip():
                    break
                rows.append(row)
    return rows


@pytest.mark.parametrize("path", DFDS, ids=lambda p: p.name[:10])
def test_dfds_timeline_table_one_row_block_per_row(path: Path) -> None:
    document = read_document(path)
    sections = split_sections(document)
    assert_offsets_valid(document, sections)
    rows = [b for s in sections for b in s.blocks if b.kind == "table_row"]
    expected = [r for r in table_rows(path) if any(c.isalnum() for c in r)]
    assert len(rows) == len(expected) > 0
    for block, raw in zip(rows, expected, strict=True):
        assert block_text(document, block) in raw
    timeline = next(s for s in sections if s.title.lower().startswith("timeline"))
    assert any(b.kind == "table_row" for b in timeline.blocks)


@pytest.mark.parametrize("path", MYBINDER, ids=lambda p: p.name[:10])
def test_mybinder_time_subheadings(path: Path) -> None:
    document = read_document(path)
    sections = split_sections(document)
    assert_offsets_valid(document, sections)
    expected = re.findall(r"^### +(.+?) *$", document.text, re.MULTILINE)
    level3 = [s.title for s in sections if s.level == 3]
    assert len(level3) == len(expected) > 0
    names = [s.title for s in sections]
    if "Timeline" in names:
        after = sections[names.index("Timeline") + 1 :]
        assert after and after[0].level == 3  # the first `### time` entry


@pytest.mark.parametrize("path", POSTHOG, ids=lambda p: p.name[:16])
def test_posthog_sections(path: Path) -> None:
    document = read_document(path)
    sections = split_sections(document)
    assert_offsets_valid(document, sections)
    assert sum(len(s.blocks) for s in sections) > 5
    # Every setext heading (a text line underlined with ---/===) becomes a section.
    setext = re.findall(r"^([^\s#|>-][^\n]*)\n(?:=+|-+)[ \t]*$", document.text, re.MULTILINE)
    section_titles = {s.title for s in sections}
    for heading in setext:
        assert any(heading.strip().rstrip("#").strip() in t or t in heading for t in section_titles)


def test_posthog_setext_heading_offsets() -> None:
    path = STRUCTURED / "posthog" / "2025-11-15-persons-db-migration.md"
    document = read_document(path)
    sections = split_sections(document)
    by_title = {s.title: s for s in sections}
    assert "Incident Summary" in by_title
    section = by_title["Incident Summary"]
    assert document.text[section.heading_start : section.heading_end] == "Incident Summary"
    underline = document.text[section.heading_end :].split("\n", 2)[1]
    assert set(underline.strip()) == {"-"}


def test_blocks_are_frozen_records() -> None:
    block = Block(kind="paragraph", start=0, end=1)
    with pytest.raises(AttributeError):
        block.start = 2  # type: ignore[misc]


# --- Wikitech plain-text exports (CC BY-SA, read in place) ------------------------------------

WIKITECH = ROOT / "tests" / "data" / "wikitech"  # CC BY-SA copies, see README there


def test_wikitech_template_headings_and_prompts() -> None:
    document = read_document(WIKITECH / "wikitech-20190327-gerrit.txt")
    sections = split_sections(document)
    assert_offsets_valid(document, sections)
    by_title = {s.title: s for s in sections}
    assert {"What went well?", "Where did we get lucky?"} <= set(by_title)
    lucky = by_title["Where did we get lucky?"]
    assert [block_text(document, b) for b in lucky.blocks][0] == (
        "Incident occurred when thcipriani was around"
    )
    texts = [text for _, _, text in blocks_of(document)]
    # Unfilled template prompts are dropped; the real bullets are kept.
    assert not [t for t in texts if t.startswith(("This is a step by step", "Explicit next"))]
    assert "Now that it should be safe to do so, re-enable regular git gc" in texts


def test_wikitech_bullets_one_item_per_line() -> None:
    path = WIKITECH / "wikitech-20110623-Performance.txt"
    document = read_document(path)
    bullets = [line[2:] for line in document.text.splitlines() if line.startswith("• ")]
    items = [text for _, kind, text in blocks_of(document) if kind == "list_item"]
    assert items == bullets


def test_parse_as_forces_a_parser() -> None:
    text = "# Summary\n\nText here.\n"
    markdown = split_sections(doc(text, "text"), parse_as="markdown")
    assert [s.title for s in markdown] == ["Summary"]
    plain = split_sections(doc(text, "markdown"), parse_as="text")
    assert [s.title for s in plain] == [""]  # "# Summary" is just a line of text here
    # auto: one "# " line is not enough for the sniff; two headings are.
    assert split_sections(doc(text, "text")) == plain
    two = text + "\n# Impact\n\nMore.\n"
    assert split_sections(doc(two, "text")) == split_sections(doc(two, "markdown"))

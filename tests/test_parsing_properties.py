"""Property tests (hypothesis) for reading and section splitting: never crash, offsets valid."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.read import ReadError, html_to_text, read_document
from ingest.records import Document
from ingest.sections import is_boilerplate, split_sections

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def check_offsets(document: Document) -> None:
    """split_sections never raises; offsets are inside the text, ordered and disjoint."""
    sections = split_sections(document)
    size = len(document.text)
    previous_end = 0
    for section in sections:
        assert 0 <= section.start <= section.end <= size
        assert section.start >= previous_end
        assert section.level == 0 or 1 <= section.level <= 6
        if section.heading_start >= 0:
            assert section.start <= section.heading_start <= section.heading_end <= size
        for block in section.blocks:
            assert previous_end <= block.start < block.end <= size
            assert section.start <= block.start and block.end <= section.end
            assert block.kind in ("paragraph", "list_item", "table_row", "code", "quote")
            previous_end = block.end
        previous_end = max(previous_end, section.end)


def as_document(text: str, fmt: str) -> Document:
    return Document(path=f"x.{fmt}", text=text, format=fmt, sha256="")  # type: ignore[arg-type]


# Markdown-ish lines: headings, setext underlines, lists, tables, fences, quotes, HTML, noise.
markdown_line = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "# Title",
            "## Sub *title* ##",
            "###",
            "Setext",
            "===",
            "---",
            "- item",
            "  - nested",
            "* star",
            "1. one",
            "2) two",
            "-",
            "| a | b |",
            "|---|---|",
            "| 1 | 2 |",
            "```",
            "~~~",
            "    indented code",
            "> quote",
            "> # quoted heading",
            "<div>",
            "</div>",
            "![img](x.png)",
            "Summary",
            "What happened?",
            "Related posts",
            "• bullet",
            "\t- tab item",
            "\r",
            "\x00",
            "Root Cause",
            "comments powered by Disqus",
            "...",
            "+++",
            "title: x",
            "**Bold heading:**",
        ]
    ),
)
markdown_text = st.lists(markdown_line, max_size=40).map("\n".join)


@PROPERTY_SETTINGS
@given(st.text(max_size=400), st.sampled_from(["markdown", "text", "html"]))
def test_split_sections_arbitrary_text(text: str, fmt: str) -> None:
    check_offsets(as_document(text, fmt))


@PROPERTY_SETTINGS
@given(markdown_text, st.sampled_from(["markdown", "text"]))
def test_split_sections_markdownish_text(text: str, fmt: str) -> None:
    check_offsets(as_document(text, fmt))


@PROPERTY_SETTINGS
@given(markdown_text)
def test_split_sections_is_deterministic(text: str) -> None:
    document = as_document(text, "markdown")
    assert split_sections(document) == split_sections(document)


@PROPERTY_SETTINGS
@given(st.binary(max_size=600), st.sampled_from([".md", ".txt", ".html"]))
def test_read_document_arbitrary_bytes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            document = read_document(path)
        except ReadError as error:
            assert error.reason and error.path == str(path)
            return
        assert document.text.strip()
        assert "\r" not in document.text and "\x00" not in document.text
        check_offsets(document)


html_fragment = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<li>",
                "<ul>",
                "</ul>",
                "<ol>",
                "<table>",
                "<tr>",
                "<td>",
                "<th>",
                "</table>",
                "<pre>",
                "</pre>",
                "<br>",
                "<h2>",
                "</h2>",
                "<script>",
                "</script>",
                "<blockquote>",
                "<div class='share'>",
                "</div>",
                "&amp;",
                "<!--",
                "-->",
                "<title>",
            ]
        ),
    ),
    max_size=40,
).map("".join)


@PROPERTY_SETTINGS
@given(html_fragment)
def test_html_to_text_never_raises_and_parses(html: str) -> None:
    text, title = html_to_text(html)
    assert isinstance(text, str) and isinstance(title, str)
    check_offsets(as_document(text, "html"))


@PROPERTY_SETTINGS
@given(st.text(max_size=300))
def test_is_boilerplate_total(text: str) -> None:
    assert is_boilerplate(text) in (True, False)

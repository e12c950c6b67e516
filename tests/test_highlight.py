"""ingest.highlight: untrusted text comes out inert, with only our <mark>/<br> tags."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.highlight import (
    ROLE_COLOURS,
    escape_inert,
    highlight_terms,
    match_spans,
    render_spans,
    stem,
)

MARKUP = "*_[]()`$:~#|\\!{}<>+-=.^%@/&\"'"
ENTITY = re.compile(r"&#\d+;|&[a-z]+;")
NASTY = (
    "<script>window.__pwned=1</script>\n"
    '<img src=x onerror="window.__pwned=2">\n'
    "[click me](javascript:window.__pwned=3) **bold** :red[red] $x^2$ `code`\n"
    "<a href='https://evil.example'>link</a> https://evil.example www.evil.example\n\n"
    "# heading\n| a | b |\n"
)
# Text rich in the characters that HTML, Markdown and Streamlit care about.
markupish = st.text(alphabet=st.sampled_from(list(MARKUP + "ab \n\tx<>/=\"'")) | st.characters())


class TagCollector(HTMLParser):
    """Every start/end tag and its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag):
        self.tags.append(("/" + tag, []))

    def handle_data(self, data):
        self.text.append(data)


def parse(fragment: str) -> TagCollector:
    parser = TagCollector()
    parser.feed(fragment)
    parser.close()
    return parser


def unmarked(fragment: str) -> str:
    """The text a browser would show (tags dropped, <br> back to newlines)."""
    return html.unescape(re.sub(r"</?mark[^>]*>", "", fragment.replace("<br>", "\n")))


@given(markupish)
def test_escape_inert_leaves_no_markup(text):
    out = escape_inert(text)
    bare = ENTITY.sub("", out.replace("<br>", ""))
    assert not set(bare) & set(MARKUP)  # no < > & " ' and no Markdown/Streamlit syntax
    assert [t for t, _ in parse(out).tags] == ["br"] * text.count("\n")


@given(markupish)
def test_escape_inert_keeps_the_text(text):
    assert unmarked(escape_inert(text)) == text.replace("\r", "")


@given(
    markupish,
    st.lists(
        st.tuples(
            st.integers(-5, 60),
            st.integers(-5, 60),
            st.sampled_from([*ROLE_COLOURS.values(), "", "red", "x;background:url(javascript:1)"]),
        ),
        max_size=6,
    ),
)
def test_render_spans_only_emits_marks(text, spans):
    out = render_spans(text, spans)
    for tag, attrs in parse(out).tags:
        assert tag in ("mark", "/mark", "br")
        for name, value in attrs:
            assert name == "style" and re.fullmatch(r"background:(#[0-9a-fA-F]{3,8}|[a-z]+)", value)
    assert unmarked(out) == text.replace("\r", "")
    assert out.count("<mark") == out.count("</mark>")


@given(markupish, st.lists(st.text(min_size=1, max_size=8), max_size=4))
def test_highlight_terms_keeps_the_text(text, terms):
    out = highlight_terms(text, terms)
    assert unmarked(out) == text.replace("\r", "")
    assert "<script" not in out.lower() and "<img" not in out.lower()


def test_the_attack_payload_is_shown_as_text():
    out = highlight_terms(NASTY, ["click", "pwned"])
    tags = {t for t, _ in parse(out).tags}
    assert tags <= {"mark", "/mark", "br"}
    assert unmarked(out) == NASTY
    for needle in ("<script", "<img", "<a ", "](", ":red[", "$x", "**", "javascript:"):
        assert needle not in out
    assert "<mark>click</mark>" in out


@pytest.mark.parametrize(
    ("words", "same"),
    [
        (("retry", "retries", "retried", "retrying"), True),
        (("cause", "caused", "causes"), True),
        (("database", "databases"), True),
        (("mitigation", "mitigated"), True),
        (("loss", "losses"), True),
        (("stop", "stopped"), True),
        (("retry", "entry"), False),
        (("DDoS", "dos"), False),
    ],
)
def test_stem_conflates_inflections_only(words, same):
    assert (len({stem(w) for w in words}) == 1) is same


def test_match_spans_marks_inflected_words():
    text = "Failed requests were retried; retries piled up (RETRY storm)."
    found = [text[s:e] for s, e in match_spans(text, ["retries"])]
    assert found == ["retried", "retries", "RETRY"]
    assert match_spans(text, []) == [] and match_spans(text, ["a"]) == []


def test_render_spans_resolves_overlaps_and_bounds():
    text = "abcdef"
    out = render_spans(text, [(0, 3, ""), (2, 5, "#fff"), (4, 99, "red")])
    assert out == (
        "<mark>abc</mark>"
        '<mark style="background:#fff">de</mark>'
        '<mark style="background:red">f</mark>'
    )

"""Split a :class:`~ingest.records.Document` into sections and body blocks (pure, model-free).

Markdown (and the Markdown-like text extracted from HTML) is parsed with markdown-it-py; the
token line maps give exact character offsets. Plain text is split on blank lines with a
heading heuristic for short title-like lines; plain text that clearly is Markdown is parsed
as Markdown. Web-page debris ("comments powered by Disqus", "Related posts", "5 min read"...)
is dropped with the user-extendable regex list in ``ingest/data/boilerplate.txt``.

Every offset is a character offset into ``doc.text``: ``doc.text[block.start:block.end]``
is the block's text, blocks are ordered and never overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingest.records import Block, BlockKind, Document, Section

__all__ = [
    "BOILERPLATE_PATTERNS",
    "KNOWN_HEADINGS",
    "block_text",
    "is_boilerplate",
    "looks_like_markdown",
    "section_text",
    "split_sections",
]

BOILERPLATE_FILE = Path(__file__).parent / "data" / "boilerplate.txt"

# Headings that postmortems use; a short line equal to one of these is a heading in plain text.
KNOWN_HEADINGS: frozenset[str] = frozenset(
    {
        "summary",
        "executive summary",
        "overview",
        "background",
        "introduction",
        "incident summary",
        "root cause",
        "root causes",
        "root cause analysis",
        "cause",
        "causes",
        "contributing factors",
        "trigger",
        "corrective actions",
        "corrective and preventative measures",
        "corrective and preventive measures",
        "preventive actions",
        "remediation",
        "action items",
        "next steps",
        "follow-up",
        "follow up",
        "follow-ups",
        "what happened",
        "what went wrong",
        "what went well",
        "what went poorly",
        "what could have gone better",
        "what can be improved",
        "where did we get lucky",
        "where we got lucky",
        "links",
        "actionables",
        "what we are doing about it",
        "what we're doing about it",
        "what are we doing about it",
        "timeline",
        "incident timeline",
        "impact",
        "customer impact",
        "user impact",
        "detection",
        "resolution",
        "recovery",
        "mitigation",
        "response",
        "investigation",
        "going forward",
        "the situation",
        "lessons learned",
        "lessons learnt",
        "conclusion",
        "conclusions",
        "details",
        "documentation",
        "stats",
    }
)

_SMALL_WORDS = frozenset(
    "a an and as at but by for from in into of on or per the to via vs vs. with is are was were "
    "be we our it its this that de".split()
)

# --- boilerplate -------------------------------------------------------------


def _load_boilerplate_patterns(path: Path = BOILERPLATE_FILE) -> tuple[re.Pattern[str], ...]:
    """Compile the non-comment lines of the boilerplate file (case-insensitive, whole text)."""
    patterns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(re.compile(line, re.IGNORECASE))
    return tuple(patterns)


BOILERPLATE_PATTERNS: tuple[re.Pattern[str], ...] = _load_boilerplate_patterns()


def _combine(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """One alternation of all patterns (much faster than a loop); None if they cannot combine."""
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)
    except re.error:
        return None


_BOILERPLATE_ANY = _combine(BOILERPLATE_PATTERNS)

_BOILERPLATE_MAX_CHARS = 240
_LEADING_MARKERS = re.compile(r"^(?:[\s•●◦▪‣∙·*+>|#-]|\d{1,2}[.)]\s)+")
_TRAILING_PUNCT = re.compile(r"[\s.!:|→»›>]+$")
_WHITESPACE = re.compile(r"\s+")
# Boilerplate that starts the debris at the end of a web page (everything after goes).
_TAIL_MARKER = re.compile(
    r"^(?:(related|recent|top|popular|latest|more|similar|recommended) (posts|articles|stories)"
    r"|comments? (are )?powered by.*|.*\bposts by e-?mail|like what you.re reading.*"
    r"|share( this.*)?|(un)?subscribe.*|leave a (comment|reply)|\d+ comments?)$",
    re.IGNORECASE,
)


def _normalize_for_match(text: str) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    text = _LEADING_MARKERS.sub("", text)
    return _TRAILING_PUNCT.sub("", text)


def is_boilerplate(text: str) -> bool:
    """True if a short line or block is web-page debris (see ``ingest/data/boilerplate.txt``)."""
    if len(text) > _BOILERPLATE_MAX_CHARS * 2:
        return False
    normalized = _normalize_for_match(text)
    if not normalized or len(normalized) > _BOILERPLATE_MAX_CHARS:
        return False
    if _BOILERPLATE_ANY is not None:
        return _BOILERPLATE_ANY.fullmatch(normalized) is not None
    return any(pattern.fullmatch(normalized) for pattern in BOILERPLATE_PATTERNS)


def _is_tail_marker(text: str) -> bool:
    return bool(_TAIL_MARKER.match(_normalize_for_match(text)))


# --- public helpers ------------------------------------------------------------


def block_text(doc: Document, block: Block) -> str:
    """The text of a block: ``doc.text[block.start:block.end]``."""
    return doc.text[block.start : block.end]


def section_text(doc: Document, section: Section) -> str:
    """The source text of a section, from its heading line to the end of its last block."""
    return doc.text[section.start : section.end]


# --- shared drafting -------------------------------------------------------------


@dataclass
class _Draft:
    """A section being built; blocks carry a boilerplate flag until the final clean-up."""

    title: str
    level: int
    start: int
    heading_start: int = -1
    heading_end: int = -1
    pseudo: bool = False  # a bold one-line paragraph used as a heading
    # (block, is boilerplate, starts the debris at the end of a web page)
    blocks: list[tuple[Block, bool, bool]] = field(default_factory=list)

    def add(self, kind: BlockKind, start: int, end: int, text: str) -> None:
        if end > start:
            debris = is_boilerplate(text)
            marker = debris and _is_tail_marker(text)
            self.blocks.append((Block(kind=kind, start=start, end=end), debris, marker))


class _Lines:
    """Line table of a text using markdown-it's line breaks (``\\r\\n``, ``\\r``, ``\\n``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] = [0]
        self.ends: list[int] = []
        for match in re.finditer(r"\r\n?|\n", text):
            self.ends.append(match.start())
            self.starts.append(match.end())
        self.ends.append(len(text))

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, index: int) -> str:
        return self.text[self.starts[index] : self.ends[index]]

    def content_start(self, index: int, pattern: re.Pattern[str] | None = None) -> int:
        """Offset of the first character on a line after whitespace (and a marker pattern)."""
        line = self.line(index)
        position = len(line) - len(line.lstrip())
        if pattern is not None:
            match = pattern.match(line, position)
            if match:
                position = match.end()
                position += len(line[position:]) - len(line[position:].lstrip())
        return self.starts[index] + position

    def content_end(self, index: int) -> int:
        """Offset just after the last non-whitespace character of a line (or its start)."""
        line = self.line(index)
        return self.starts[index] + len(line.rstrip())

    def span(
        self, first: int, stop: int, pattern: re.Pattern[str] | None = None
    ) -> tuple[int, int] | None:
        """Trimmed offsets of lines ``first..stop-1``, skipping blank lines at both ends."""
        stop = min(stop, len(self))
        while first < stop and not self.line(first).strip():
            first += 1
        while stop > first and not self.line(stop - 1).strip():
            stop -= 1
        if first >= stop:
            return None
        start = self.content_start(first, pattern)
        end = self.content_end(stop - 1)
        if end <= start:
            return None
        return start, end


def _finish(drafts: list[_Draft], text: str) -> tuple[Section, ...]:
    """Drop page-tail debris and boilerplate, enforce ordering, and freeze the sections."""
    drafts = _drop_page_tail(drafts)
    sections: list[Section] = []
    last_end = 0
    for draft in drafts:
        if draft.level > 0 and draft.start < last_end:
            continue  # a heading inside an earlier block (cannot happen with sane input)
        blocks: list[Block] = []
        for block, debris, _ in draft.blocks:
            if (
                debris
                or block.start < last_end
                or block.end > len(text)
                or block.end <= block.start
            ):
                continue
            blocks.append(block)
            last_end = block.end
        if not blocks and (draft.level == 0 or is_boilerplate(draft.title)):
            continue
        if draft.level == 0:
            start, heading_end = blocks[0].start, -1
        else:
            start, heading_end = draft.start, draft.heading_end
        end = blocks[-1].end if blocks else max(heading_end, start)
        sections.append(
            Section(
                title=draft.title,
                level=draft.level,
                start=start,
                end=end,
                blocks=tuple(blocks),
                heading_start=draft.heading_start,
                heading_end=draft.heading_end,
            )
        )
        last_end = max(last_end, end)
    return tuple(sections)


def _drop_page_tail(drafts: list[_Draft]) -> list[_Draft]:
    """Cut the run of debris at the end of a web page that starts at e.g. "Related posts".

    The cut starts at the earliest tail marker (a boilerplate block or heading such as
    "Related posts" or "comments powered by Disqus") after which every block or heading is
    boilerplate or short (a list of post titles, a byline, a sign-up pitch).
    """
    # Flatten to (draft index, block index or -1 for the heading, length, debris, marker).
    items: list[tuple[int, int, int, bool, bool]] = []
    for draft_index, draft in enumerate(drafts):
        if draft.level > 0:
            debris = is_boilerplate(draft.title)
            marker = debris and _is_tail_marker(draft.title)
            items.append((draft_index, -1, len(draft.title), debris, marker))
        for block_index, (block, debris, marker) in enumerate(draft.blocks):
            items.append((draft_index, block_index, block.end - block.start, debris, marker))
    cut = None
    for position in range(len(items) - 1, -1, -1):
        _, _, length, debris, marker = items[position]
        if not debris and length > _TAIL_SHORT_CHARS:
            break
        if marker:
            cut = position
    if cut is None:
        return drafts
    draft_index, block_index, _, _, _ = items[cut]
    kept = drafts[:draft_index]
    if block_index >= 0:
        draft = drafts[draft_index]
        kept.append(replace(draft, blocks=draft.blocks[:block_index]))
    return kept


_TAIL_SHORT_CHARS = 160


# --- Markdown ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _block_parser() -> MarkdownIt:
    """CommonMark + tables, block structure only (inline parsing is not needed for offsets)."""
    return MarkdownIt("commonmark").enable("table").disable("inline")


@lru_cache(maxsize=1)
def _inline_parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


_LIST_MARKER = re.compile(r"(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$)")
_TABLE_ROW_START = re.compile(r"\|")
_QUOTE_MARKER = re.compile(r"(?:>[ \t]?)+")
_ATX_OPEN = re.compile(r"#{1,6}(?=[ \t]|$)")
_ATX_CLOSE = re.compile(r"(?:[ \t]+#+|^#+)?[ \t]*$")
_IMAGE_OR_TAG = re.compile(
    r"!\[[^\]\n]{0,500}\]\([^)\n]{0,2000}\)|!\[[^\]\n]{0,500}\]\[[^\]\n]{0,500}\]|<[^>\n]{0,2000}>"
)
_EMPTY_LINK = re.compile(r"\[\s*\]\([^)\n]{0,2000}\)")
_MAX_INLINE_TITLE = 1000
_INLINE_MARKUP = re.compile(r"[*_`\[\]<>!\\&~]")


def _heading_title(content: str) -> str:
    """Heading text without Markdown markup (emphasis, links, code, images, HTML)."""
    content = content[:_MAX_INLINE_TITLE]
    if not _INLINE_MARKUP.search(content):
        return _WHITESPACE.sub(" ", content).strip()
    parts: list[str] = []
    for token in _inline_parser().parseInline(content):
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
    return _WHITESPACE.sub(" ", "".join(parts)).strip()


def _is_image_only(content: str) -> bool:
    """True for a paragraph made only of images, image links and inline HTML tags."""
    if len(content) > 5000:
        return False
    rest = _IMAGE_OR_TAG.sub("", content)
    rest = _EMPTY_LINK.sub("", rest)
    return not any(char.isalnum() for char in rest)


@dataclass
class _OpenItem:
    """A list item whose own text (before its first non-paragraph child) is being measured."""

    first_line: int
    own_stop: int
    emitted: bool = False


_CHUNK_CHARS = 500_000
_FENCE_LINE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")
_CHUNK_HEADING = re.compile(r"#{1,6}(?:[ \t]|$)")


def _markdown_chunks(lines: _Lines, first_line: int = 0) -> list[tuple[int, int]]:
    """Line ranges to parse separately so memory stays bounded on huge documents.

    Cuts only before a top-level ATX heading outside fenced code (a heading ends every open
    block, so parsing the pieces separately gives the same structure).
    """
    total = len(lines)
    if len(lines.text) - lines.starts[min(first_line, total - 1)] <= _CHUNK_CHARS:
        return [(first_line, total)]
    chunks: list[tuple[int, int]] = []
    chunk_start = first_line
    fence = ""
    for index in range(first_line, total):
        line = lines.line(index)
        match = _FENCE_LINE.match(line)
        if match:
            marker = match.group(1)
            if not fence:
                fence = marker
            elif (
                marker[0] == fence[0]
                and len(marker) >= len(fence)
                and not line.strip(" \t" + marker[0])
            ):
                fence = ""
            continue
        too_long = lines.starts[index] - lines.starts[chunk_start] >= _CHUNK_CHARS
        if too_long and not fence and _CHUNK_HEADING.match(line):
            chunks.append((chunk_start, index))
            chunk_start = index
    chunks.append((chunk_start, total))
    return chunks


def _front_matter_end(lines: _Lines) -> int:
    """Index of the first line after YAML (``---``) or TOML (``+++``) front matter, else 0."""
    opener = lines.line(0).rstrip() if len(lines) else ""
    if opener not in ("---", "+++"):
        return 0
    closers = ("---", "...") if opener == "---" else ("+++",)
    for index in range(1, min(len(lines), 200)):
        line = lines.line(index).rstrip()
        if line in closers:
            return index + 1
        if opener == "---" and line and not _FRONT_MATTER_LINE.match(line):
            return 0  # not "key: value" lines: a thematic break, not front matter
    return 0


_FRONT_MATTER_LINE = re.compile(r"[\w\"'-][^:]*:|\s|-\s|#")


def _split_markdown(doc: Document) -> list[_Draft]:
    text = doc.text
    lines = _Lines(text)
    drafts: list[_Draft] = [_Draft(title="", level=0, start=0)]
    body_start = _front_matter_end(lines)
    if body_start >= len(lines):
        return drafts  # nothing but front matter
    for first, stop in _markdown_chunks(lines, body_start):
        end = lines.starts[stop] if stop < len(lines) else len(text)
        tokens = _block_parser().parse(text[lines.starts[first] : end])
        for token in tokens:
            if token.map:
                token.map = [token.map[0] + first, token.map[1] + first]
        _add_markdown_tokens(tokens, lines, drafts)
    return drafts


def _add_markdown_tokens(tokens: list[Token], lines: _Lines, drafts: list[_Draft]) -> None:
    """Turn one parsed stretch of Markdown into headings and blocks appended to ``drafts``."""
    text = lines.text
    items: list[_OpenItem] = []  # open list items, innermost last
    item_depths: list[int] = []  # token.level of each open list item
    index = 0
    in_table_body = False

    def emit_item(item: _OpenItem) -> None:
        if item.emitted:
            return
        item.emitted = True
        span = lines.span(item.first_line, item.own_stop, _LIST_MARKER)
        if span:
            drafts[-1].add("list_item", span[0], span[1], text[span[0] : span[1]])

    def close_item_text(token: Token) -> None:
        """A non-paragraph child ends the own text of the list item that contains it."""
        if items and token.level == item_depths[-1] + 1:
            emit_item(items[-1])

    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "list_item_open" and token.map:
            items.append(_OpenItem(token.map[0], token.map[0]))
            item_depths.append(token.level)
        elif kind == "list_item_close":
            if items:
                item = items.pop()
                item_depths.pop()
                if not item.emitted:
                    item.own_stop = max(item.own_stop, item.first_line + 1)
                    emit_item(item)
        elif kind == "paragraph_open" and token.map:
            content = tokens[index + 1].content if index + 1 < len(tokens) else ""
            in_item_text = items and token.level == item_depths[-1] + 1 and not items[-1].emitted
            if in_item_text:
                items[-1].own_stop = token.map[1]
            elif not items and (pseudo := _bold_heading(content, token.map[0], lines, drafts)):
                drafts.append(pseudo)
            elif not _is_image_only(content):
                span = lines.span(token.map[0], token.map[1])
                if span:
                    drafts[-1].add("paragraph", span[0], span[1], content)
        elif kind == "heading_open" and token.map:
            close_item_text(token)
            draft = _heading_draft(
                token, tokens[index + 1] if index + 1 < len(tokens) else None, lines
            )
            if draft is not None:
                drafts.append(draft)
        elif kind in ("fence", "code_block") and token.map:
            close_item_text(token)
            span = _code_span(token, lines)
            if span:
                drafts[-1].add("code", span[0], span[1], "")
        elif kind == "blockquote_open" and token.map:
            close_item_text(token)
            span = lines.span(token.map[0], token.map[1], _QUOTE_MARKER)
            if span:
                drafts[-1].add("quote", span[0], span[1], text[span[0] : span[1]])
            index = _skip_to_close(tokens, index, "blockquote_close")
        elif kind == "tbody_open":
            close_item_text(token)
            in_table_body = True
        elif kind == "tbody_close":
            in_table_body = False
        elif kind == "tr_open" and token.map and in_table_body:
            span = lines.span(token.map[0], token.map[1], _TABLE_ROW_START)
            if span:
                start, end = span
                row = text[start:end]
                stripped = row.rstrip("|").rstrip()
                if stripped and not stripped.endswith("\\"):
                    end = start + len(stripped)
                if end > start and any(char.isalnum() for char in text[start:end]):
                    drafts[-1].add("table_row", start, end, text[start:end])
        elif kind in ("table_open", "bullet_list_open", "ordered_list_open", "html_block", "hr"):
            close_item_text(token)
        index += 1


_BOLD_LINE = re.compile(r"[ \t]*(\*\*|__)(?P<title>[^*_\n]{1,80}?)\1[ \t]*:?[ \t]*$")


def _bold_heading(content: str, line: int, lines: _Lines, drafts: list[_Draft]) -> _Draft | None:
    """A one-line paragraph that is all bold ("**Root causes:**") is a sub-heading.

    It opens a section one level below the current one, so its list/paragraph blocks get a
    title like any other heading.
    """
    if "\n" in content or len(content) > 90:
        return None
    match = _BOLD_LINE.match(lines.line(line))
    if not match:
        return None
    title = match.group("title").strip().rstrip(":").strip()
    words = title.split()
    if not 1 <= len(words) <= 8 or not any(char.isalpha() for char in title):
        return None
    heading_start = lines.starts[line] + match.start("title")
    heading_end = lines.starts[line] + match.end("title")
    parent = next((draft.level for draft in reversed(drafts) if not draft.pseudo), 0)
    return _Draft(
        title=title,
        level=min(6, parent + 1),
        start=lines.starts[line],
        heading_start=heading_start,
        heading_end=heading_end,
        pseudo=True,
    )


def _skip_to_close(tokens: list[Token], index: int, closer: str) -> int:
    """Index of the token closing the container opened at ``index``."""
    level = tokens[index].level
    for forward in range(index + 1, len(tokens)):
        if tokens[forward].type == closer and tokens[forward].level == level:
            return forward
    return len(tokens) - 1


def _heading_draft(token: Token, inline: Token | None, lines: _Lines) -> _Draft | None:
    first, stop = token.map or (0, 1)
    level = int(token.tag[1]) if token.tag[1:].isdigit() else 1
    if token.markup.startswith("#"):
        line = lines.line(first)
        offset = len(line) - len(line.lstrip())
        opener = _ATX_OPEN.match(line, offset)
        body_start = opener.end() if opener else offset
        body = line[body_start:]
        body_start += len(body) - len(body.lstrip())
        closer = _ATX_CLOSE.search(line, body_start)
        body_end = closer.start() if closer else len(line.rstrip())
        heading_start = lines.starts[first] + body_start
        heading_end = lines.starts[first] + max(body_end, body_start)
    else:  # setext: the text lines, then the underline
        span = lines.span(first, max(first + 1, stop - 1))
        if span is None:
            return None
        heading_start, heading_end = span
    content = inline.content if inline is not None else ""
    title = _heading_title(content)
    if not title or heading_end <= heading_start:
        return None
    return _Draft(
        title=title,
        level=level,
        start=lines.starts[first],
        heading_start=heading_start,
        heading_end=heading_end,
    )


def _code_span(token: Token, lines: _Lines) -> tuple[int, int] | None:
    first, stop = token.map or (0, 0)
    if token.type == "fence":
        first += 1  # the opening fence line
        last = lines.line(stop - 1).strip() if stop - 1 >= first else ""
        if (
            stop - 1 >= first
            and last
            and set(last) <= {token.markup[0]}
            and len(last) >= len(token.markup)
        ):
            stop -= 1  # the closing fence line
    span = lines.span(first, stop)
    return span


# --- plain text ----------------------------------------------------------------------

_BULLET = re.compile(r"(?:[•●◦▪‣∙·*+–-]|\d{1,2}[.)])[ \t]+(?=\S)")
_TERMINAL = re.compile(r"[.,;!]$|\.\W*$")
_WORD = re.compile(r"[^\W\d_][\w'’&/-]*|\d[\w:.,/-]*")
_MD_ATX = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)
_MD_BOLD_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\*\*\S", re.MULTILINE)
_MD_TABLE_DELIMITER = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*\|", re.MULTILINE)
_MD_FENCE = re.compile(r"^[ \t]{0,3}(?:```|~~~)", re.MULTILINE)
_MD_LINK = re.compile(r"\]\((?:https?://|/|#|\.)[^)\s]*\)")
_SNIFF_CHARS = 200_000


def looks_like_markdown(text: str) -> bool:
    """Cheap sniff: does plain text use Markdown headings, bold list items, tables, fences?"""
    sample = text[:_SNIFF_CHARS]
    headings = len(_MD_ATX.findall(sample))
    others = (
        len(_MD_BOLD_ITEM.findall(sample)) >= 2,
        bool(_MD_TABLE_DELIMITER.search(sample)),
        len(_MD_FENCE.findall(sample)) >= 2,
        len(_MD_LINK.findall(sample)) >= 3,
    )
    return headings >= 2 or (headings == 1 and any(others)) or sum(others) >= 1


def _is_title_case(words: list[str]) -> bool:
    significant = [word for word in words if word.lower() not in _SMALL_WORDS]
    if len(words) < 2 or not significant:
        return False
    return all(not word[0].isalpha() or word[0].isupper() for word in significant)


# "14:10", "16:59 PST", "Sep 29 2017 08:59", "2017-10-17 07:42 (UTC+2)": a timeline entry label.
_TIME_LABEL = re.compile(
    r"(?:(?:[A-Z][a-z]{2,8}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2} [A-Z][a-z]{2,8},? \d{4})[ ,T]+)?\d{1,2}:\d{2}(?::\d{2})?"
    r"(?: ?[AaPp]\.?[Mm]\.?)?(?: ?\(?[A-Z]{2,5}(?:[+-]\d{1,2}(?::?\d{2})?)?\)?)?"
)
# "Severity: Critical", "Status: Resolved": metadata fields, not headings.
_METADATA_KEYS = frozenset(
    "severity status date dates time duration owner owners author authors category priority "
    "type tags team teams service services affected level reported resolved started ended "
    "updated detected region regions component components version versions".split()
)
# Sentence-case lines starting or ending like this are sentences that lost their period.
_SENTENCE_STARTS = frozenset(
    "this these that those we our it its there they i all in he she you your here when if as "
    "so then after before during".split()
)
_DANGLING_ENDS = frozenset(
    "a an the to of by for with from in on at as and or but that which where when is are was "
    "were be been show shows seen following".split()
)


def _heading_candidate(line: str, isolated: bool, first: bool = False) -> bool:
    """Is a stripped line title-like: short, no sentence ending, Title Case or a known phrase?

    ``isolated`` lines stand alone between blank lines; the ``first`` content line of a
    document may be a longer title.
    """
    if not line or len(line) > (120 if first else 80) or _TERMINAL.search(line):
        return False
    if _BULLET.match(line):
        return False
    if _is_known_heading(line):
        return True
    if isolated and _TIME_LABEL.fullmatch(line):
        return True
    if not (line[0].isalnum() or line[0] in "\"'“‘("):
        return False  # footnotes "[^1]:", markup, symbols
    words = _WORD.findall(line)
    letters = sum(char.isalpha() for char in line)
    if not words or letters < 0.5 * len(line.replace(" ", "")):
        return False  # times, figures, version strings
    first_letter = next(char for char in line if char.isalpha())
    if not first_letter.isupper() or "http" in line.lower():
        return False
    key, colon, value = line.partition(":")
    if colon and value.strip():
        if key.strip().lower() in _METADATA_KEYS or not any(c.isalpha() for c in value):
            return False
    if first and isolated and len(words) <= 20:
        return True
    if len(words) > 8:
        return False
    if _is_title_case(words) and any(len(word) >= 3 for word in words):
        return True
    return (
        isolated
        and len(words) <= 6
        and (len(words) > 1 or len(words[0]) >= 4)
        and "," not in line
        and words[0].lower() not in _SENTENCE_STARTS
        and words[-1].lower() not in _DANGLING_ENDS
    )


_RULE_LINE = re.compile(r"[=\-~*_#+]{3,}$")


def _is_known_heading(line: str) -> bool:
    return _WHITESPACE.sub(" ", line.rstrip(":?").strip().lower()) in KNOWN_HEADINGS


def _underlined(i: int, kinds: list[str], stripped: list[str]) -> bool:
    """A short text line directly above a ``=====`` or ``-----`` line is a heading."""
    if kinds[i] != "text" or i + 1 >= len(kinds) or kinds[i + 1] != "rule":
        return False
    line = stripped[i]
    return len(line) <= 100 and not line.endswith((".", ",", ";")) and stripped[i + 1][0] in "=-~"


def _mid_sentence(i: int, kinds: list[str], stripped: list[str]) -> bool:
    """True if line ``i`` continues a sentence wrapped from the line before it."""
    if i == 0 or kinds[i - 1] != "text":
        return False
    previous = stripped[i - 1]
    is_known = _is_known_heading(stripped[i])
    ends_sentence = previous.endswith((".", "!", "?", ":", ";", ")", '"', "”"))
    return not is_known and not ends_sentence and not _heading_candidate(previous, False)


def _split_plain(doc: Document) -> list[_Draft]:
    text = doc.text
    lines = _Lines(text)
    count = len(lines)
    stripped = [lines.line(i).strip() for i in range(count)]
    # Line kinds: blank, debris (boilerplate), bullet, text.
    kinds: list[str] = []
    for line in stripped:
        if not line:
            kinds.append("blank")
        elif _RULE_LINE.match(line):
            kinds.append("rule")  # "=====" / "-----": underlines a heading or separates
        elif is_boilerplate(line):
            kinds.append("debris")
        elif _BULLET.match(line):
            kinds.append("bullet")
        else:
            kinds.append("text")
    # Groups: runs of content lines between blank or debris lines.
    group_of = [-1] * count
    groups: list[list[int]] = []
    for i, kind in enumerate(kinds):
        if kind in ("bullet", "text"):
            if i == 0 or kinds[i - 1] not in ("bullet", "text"):
                groups.append([])
            groups[-1].append(i)
            group_of[i] = len(groups) - 1
    first_content = next((i for i in range(count) if kinds[i] in ("bullet", "text")), -1)
    candidate = [
        kinds[i] == "text"
        and _heading_candidate(stripped[i], len(groups[group_of[i]]) == 1, i == first_content)
        and not _mid_sentence(i, kinds, stripped)
        or _underlined(i, kinds, stripped)
        or (kinds[i] == "bullet" and _is_known_heading(_BULLET.sub("", stripped[i], count=1)))
        for i in range(count)
    ]
    # A heading must be followed by body text (possibly after more headings).
    is_heading = [False] * count
    next_is: bool | None = None  # is the next content line a heading (None: no next line)
    for i in range(count - 1, -1, -1):
        if kinds[i] not in ("bullet", "text"):
            continue
        byline = i + 1 < count and kinds[i + 1] == "debris"  # "Jane Doe" + "5 min read"
        is_heading[i] = candidate[i] and next_is is not None and not byline
        next_is = is_heading[i]
    wrapped = [_wrap_width(group, stripped, is_heading) for group in groups]

    drafts: list[_Draft] = [_Draft(title="", level=0, start=0)]
    current: list[int] = []  # first line, last line of the open block
    current_kind: BlockKind = "paragraph"

    def close_block() -> None:
        if current:
            first, last = current
            pattern = _BULLET if current_kind == "list_item" else None
            span = lines.span(first, last + 1, pattern)
            if span and any(char.isalnum() for char in text[span[0] : span[1]]):
                drafts[-1].add(current_kind, span[0], span[1], text[span[0] : span[1]])
            current.clear()

    for i in range(count):
        kind = kinds[i]
        if kind in ("blank", "rule"):
            close_block()
        elif kind == "debris":
            close_block()
            drafts[-1].add("paragraph", lines.content_start(i), lines.content_end(i), stripped[i])
        elif is_heading[i]:
            close_block()
            pattern = _BULLET if kind == "bullet" else None  # "2. Root Cause"
            heading_start = lines.content_start(i, pattern)
            heading_end = lines.content_end(i)
            drafts.append(
                _Draft(
                    title=text[heading_start:heading_end].rstrip(":").strip(),
                    level=1 if i == first_content else 2,
                    start=lines.starts[i],
                    heading_start=heading_start,
                    heading_end=heading_end,
                )
            )
        elif kind == "bullet":
            close_block()
            current.extend((i, i))
            current_kind = "list_item"
        elif current and _continues(i, current, lines, stripped, wrapped[group_of[i]]):
            current[1] = i
        else:
            close_block()
            current.extend((i, i))
            current_kind = "paragraph"
    close_block()
    return drafts


def _wrap_width(group: list[int], stripped: list[str], is_heading: list[bool]) -> float:
    """Return the wrap width if the group's lines are hard-wrapped (~70-100 chars), else 0."""
    body = [stripped[i] for i in group if not is_heading[i]]
    if len(body) < 2:
        return 0.0
    width = max(len(line) for line in body)
    if width > 110:
        return 0.0
    long_lines = sum(len(line) >= 40 for line in body[:-1])
    return float(width) if long_lines >= 0.5 * (len(body) - 1) else 0.0


def _continues(
    i: int, current: list[int], lines: _Lines, stripped: list[str], wrap_width: float
) -> bool:
    """Does text line ``i`` continue the open block (a wrapped paragraph or list item)?"""
    previous = current[1]
    if previous != i - 1:
        return False
    if wrap_width:
        # A line much shorter than the wrap width ended its paragraph (more so after a ".").
        ended = stripped[previous].endswith((".", "!", "?", ":"))
        if not ended and stripped[i][:1].islower():
            return True  # the sentence goes on
        return len(stripped[previous]) >= (0.85 if ended else 0.7) * wrap_width
    # Unwrapped text: one block per line, except indented continuation lines.
    line = lines.line(i)
    return line[:1] in (" ", "\t") and len(line) - len(line.lstrip()) >= 2


# --- entry point -------------------------------------------------------------------------


def split_sections(
    doc: Document, *, parse_as: Literal["auto", "markdown", "text"] = "auto"
) -> tuple[Section, ...]:
    """Split a document into sections (one per heading, plus a preamble) with body blocks.

    Markdown and HTML-extracted text are parsed with markdown-it-py; plain text that looks
    like Markdown (see :func:`looks_like_markdown`) is too, other plain text uses blank
    lines, bullets and a heading heuristic. ``parse_as`` forces one of the two parsers.
    Boilerplate blocks are dropped. Pure: the same document always gives the same sections.
    """
    if not doc.text.strip():
        return ()
    as_markdown = (
        parse_as == "markdown"
        if parse_as != "auto"
        else doc.format in ("markdown", "html") or looks_like_markdown(doc.text)
    )
    drafts = _split_markdown(doc) if as_markdown else _split_plain(doc)
    return _finish(drafts, doc.text)

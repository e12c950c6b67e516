"""Structured extraction: sentence roles, causes, timeline, actions, impact, systems, metadata.

``analyze_many`` runs the spaCy pipeline over all blocks of all documents in batches
(``nlp.pipe``), splits blocks into sentences with offsets into ``Document.text``, assigns roles
and hands the sentences to the extractors. ``analyze`` does the same for one document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ingest.nlp import soften_line_breaks
from ingest.records import (
    Action,
    Block,
    Cause,
    Document,
    Entity,
    Impact,
    Section,
    Sentence,
    System,
    TimelineEvent,
)

from .actions import extract_actions
from .causes import extract_causes
from .impact import extract_impacts
from .learned import revise
from .metadata import Metadata, extract_metadata
from .roles import SentenceView, assign_all, heading_scores
from .systems import extract_systems
from .timeline import extract_timeline

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["Analysis", "analyze", "analyze_many", "split_block"]

SHORT_UNIT_CHARS = 300  # a list item or table row up to this length stays one sentence
MAX_PIECE_CHARS = 10_000  # longer blocks are cut (at line or sentence ends) before spaCy
_HAS_LETTER = re.compile(r"[^\W\d_]")
_LEADING_MARKER = re.compile(r"^(\s|[-*•+‣◦▪–]\s|\d{1,3}[.)]\s|[|>]\s?)+")


@dataclass(frozen=True)
class Analysis:
    """Everything extracted from one document."""

    sentences: tuple[Sentence, ...]
    causes: tuple[Cause, ...]
    timeline: tuple[TimelineEvent, ...]
    actions: tuple[Action, ...]
    impacts: tuple[Impact, ...]
    systems: tuple[System, ...]
    title: str
    organization: str
    date: str
    published: str
    date_note: str
    summary: tuple[str, ...]
    duration_minutes: float | None
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _BlockRef:
    doc_index: int
    section: int
    block_index: int
    block: Block
    offset: int  # where this piece of the block starts in doc.text


def _pieces(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Cut [start, end) into pieces no longer than MAX_PIECE_CHARS, at line or sentence ends."""
    while end - start > MAX_PIECE_CHARS:
        window = text[start : start + MAX_PIECE_CHARS]
        cut = max(window.rfind("\n"), window.rfind(". "))
        cut = cut + 1 if cut > MAX_PIECE_CHARS // 2 else MAX_PIECE_CHARS
        yield start, start + cut
        start += cut
    yield start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) past whitespace and leading list/table/quote markers."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    marker = _LEADING_MARKER.match(text, start, end)
    if marker and marker.end() < end:
        start = marker.end()
    return start, end


def _entities(text: str, doc: Doc, offset: int, start: int, end: int) -> tuple[Entity, ...]:
    """Entities of the spaCy doc lying inside [start, end) of the source text."""
    found = []
    for ent in doc.ents:
        ent_start, ent_end = offset + ent.start_char, offset + ent.end_char
        if ent_start >= start and ent_end <= end:
            label = ent.label_
            found.append(
                Entity(label=label, text=text[ent_start:ent_end], start=ent_start, end=ent_end)
            )
    return tuple(found)


def split_block(text: str, block: Block, doc: Doc, offset: int) -> list[tuple[int, int, Any]]:
    """Sentences of one block (or piece of one) as (start, end, spaCy span or doc) in text.

    A short list item or table row stays one sentence; other blocks follow spaCy's sentence
    boundaries. Offsets are trimmed of whitespace and list markers; units without letters are
    dropped.
    """
    piece_end = offset + len(doc.text)
    units: list[tuple[int, int, Any]] = []
    if block.kind in ("list_item", "table_row") and piece_end - offset <= SHORT_UNIT_CHARS:
        units.append((offset, piece_end, doc[:]))
    else:
        for sent in doc.sents:
            units.append((offset + sent.start_char, offset + sent.end_char, sent))
    result = []
    for start, end, span in units:
        start, end = _trim(text, start, end)
        if end > start and _HAS_LETTER.search(text, start, end):
            result.append((start, end, span))
    return result


def role_headings(document: Document, sections: tuple[Section, ...]) -> list[str]:
    """Section titles as they count for roles: the document's own title counts as none.

    The title is a lone level-1 heading with nothing but preamble before it; its words
    ("2017-09-29, 504", "What happened yesterday and what we are doing about it") describe
    the whole report, not a part.
    """
    titles = [section.title for section in sections]
    level_one = [i for i, section in enumerate(sections) if section.level == 1]
    if len(level_one) == 1:
        first = level_one[0]
        title = titles[first]
        # A short heading with a role ("Root cause") names a part even when it stands first.
        names_a_part = (
            bool(heading_scores(title))
            and not re.match(r"^\W*\d", title)
            and len(title.split()) <= 4
        )
        if all(section.level == 0 for section in sections[:first]) and not names_a_part:
            titles[first] = ""
    return titles


def _heading_paths(sections: tuple[Section, ...], titles: list[str]) -> list[tuple[str, ...]]:
    """For each section, the titles of its enclosing sections (by level) and its own."""
    paths: list[tuple[str, ...]] = []
    stack: list[tuple[int, str]] = []
    for section, title in zip(sections, titles, strict=True):
        section = replace(section, title=title)
        level = section.level if section.level > 0 else 0
        while stack and stack[-1][0] >= level and level > 0:
            stack.pop()
        if level == 0:
            stack = []
        stack.append((level, section.title))
        paths.append(tuple(title for _, title in stack if title))
    return paths


def _after_action_flags(titles: list[str]) -> list[bool]:
    """For each section: its heading has no role and the last heading that had one was action.

    Plain-text reports put "What we are doing about it?" and its sub-topics ("More resilient
    architecture") at the same level; the sub-topics then still belong to the actions.
    """
    flags = []
    last_role_action = False
    for title in titles:
        scores = heading_scores(title)
        if scores:
            last_role_action = max(scores, key=lambda role: scores[role]) == "action"
            flags.append(False)
        else:
            flags.append(last_role_action and bool(title))
    return flags


class _DocState:
    """Sentences collected for one document while its blocks come back from spaCy."""

    def __init__(self, document: Document, sections: tuple[Section, ...]) -> None:
        self.document = document
        self.sections = sections
        self.titles = role_headings(document, sections)
        self.paths = _heading_paths(sections, self.titles)
        self.after_action = _after_action_flags(self.titles)
        self.views: list[SentenceView] = []
        self.block_counter = -1
        self.last_block: tuple[int, int] | None = None

    def add(self, ref: _BlockRef, spacy_doc: Doc) -> None:
        text = self.document.text
        key = (ref.section, ref.block_index)
        if key != self.last_block:
            self.block_counter += 1
            self.last_block = key
            first = True
        else:
            first = False
        for start, end, span in split_block(text, ref.block, spacy_doc, ref.offset):
            sentence = Sentence(
                index=len(self.views),
                section=ref.section,
                start=start,
                end=end,
                text=text[start:end],
                role="other",
                roles=("other",),
                block_kind=ref.block.kind,
                entities=_entities(text, spacy_doc, ref.offset, start, end),
            )
            self.views.append(
                SentenceView(
                    sentence=sentence,
                    span=span,
                    heading=self.titles[ref.section],
                    block=self.block_counter,
                    block_start=ref.block.start,
                    block_end=ref.block.end,
                    first_in_block=first,
                    heading_path=self.paths[ref.section],
                    after_action_heading=self.after_action[ref.section],
                    offset=ref.offset,
                )
            )
            first = False

    def finish(self) -> Analysis:
        views = [
            _with_roles(view, roles)
            for view, roles in zip(self.views, assign_all(self.views), strict=True)
        ]
        return _extract(self.document, self.sections, views)


def _with_roles(view: SentenceView, roles: tuple[str, ...]) -> SentenceView:
    sentence = replace(view.sentence, role=roles[0], roles=roles)
    return replace(view, sentence=sentence)


def _block_refs(
    document: Document, sections: tuple[Section, ...], doc_index: int
) -> Iterator[tuple[str, _BlockRef]]:
    """The text pieces spaCy reads for one document (code blocks skipped), with their refs."""
    text = document.text
    for section_index, section in enumerate(sections):
        for block_index, block in enumerate(section.blocks):
            if block.kind == "code" or block.end <= block.start:
                continue
            for start, end in _pieces(text, block.start, block.end):
                ref = _BlockRef(doc_index, section_index, block_index, block, start)
                # Wrapped lines become spaces (same length) so they do not split sentences.
                yield soften_line_breaks(text[start:end]), ref


def analyze_many(
    items: Iterable[tuple[Document, tuple[Section, ...]]],
    nlp: Language,
    *,
    batch_size: int = 64,
) -> Iterator[Analysis]:
    """One Analysis per (document, sections), in order.

    spaCy runs once over the blocks of all documents in batches of ``batch_size`` blocks
    (``nlp.pipe``), not per sentence or per document; each document's Analysis is yielded as
    soon as its last block is back, so memory holds only the documents in flight.
    """
    states: dict[int, _DocState] = {}

    def blocks() -> Iterator[tuple[str, tuple[str, _BlockRef | int]]]:
        for index, (document, sections) in enumerate(items):
            sections = tuple(sections or ())
            states[index] = _DocState(document, sections)
            for piece, ref in _block_refs(document, sections, index):
                yield piece, ("block", ref)
            yield "", ("end", index)  # marks the end of a document in the stream

    for spacy_doc, (tag, payload) in nlp.pipe(blocks(), as_tuples=True, batch_size=batch_size):
        if tag == "block":
            assert isinstance(payload, _BlockRef)
            states[payload.doc_index].add(payload, spacy_doc)
        else:
            assert isinstance(payload, int)
            yield states.pop(payload).finish()  # the stream keeps document order


def analyze(doc: Document, sections: tuple[Section, ...], nlp: Language) -> Analysis:
    """Analyse one document (see :func:`analyze_many`)."""
    return next(analyze_many([(doc, sections)], nlp))


def _extract(
    document: Document, sections: tuple[Section, ...], views: list[SentenceView]
) -> Analysis:
    sentences = tuple(view.sentence for view in views)
    meta: Metadata = extract_metadata(document, sections, views)
    timeline, metrics = extract_timeline(
        document.text, sentences, anchor_date=meta.date, published=meta.published
    )
    duration = metrics.get("duration_min")
    if duration is None:
        duration = meta.duration_minutes
    causes, actions = revise(
        document.text,
        views,
        extract_causes(document.text, views),
        extract_actions(document.text, views),
    )
    return Analysis(
        sentences=sentences,
        causes=causes,
        timeline=timeline,
        actions=actions,
        impacts=extract_impacts(document.text, views),
        systems=extract_systems(views, exclude=(meta.organization,)),
        title=meta.title,
        organization=meta.organization,
        date=meta.date,
        published=meta.published,
        date_note=meta.date_note,
        summary=meta.summary,
        duration_minutes=float(duration) if duration is not None else None,
        metrics=dict(metrics),
    )

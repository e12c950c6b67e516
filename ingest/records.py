"""Frozen record types shared by every stage of the pipeline.

All offsets (``start``/``end``) are character offsets into the incident's
*source text* (``Document.text``: the decoded file for Markdown and plain
text, the extracted visible text for HTML), so ``text[start:end]`` is always
the evidence a record was taken from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["cause", "timeline", "action", "impact", "other"]
ROLES: tuple[str, ...] = ("cause", "timeline", "action", "impact", "other")

BlockKind = Literal["paragraph", "list_item", "table_row", "code", "quote"]
DocFormat = Literal["markdown", "text", "html"]


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Document(_Record):
    """A file read from disk and decoded to text."""

    path: str  # the path as the user gave it (relative stays relative)
    text: str
    format: DocFormat
    sha256: str  # of the decoded text, NFC, so identical texts share it
    encoding: str = "utf-8"
    title_hint: str = ""  # <title> of an HTML page, if any


@dataclass(frozen=True)
class Block(_Record):
    """A unit of body text inside a section: one paragraph, list item or table row."""

    kind: BlockKind
    start: int
    end: int


@dataclass(frozen=True)
class Section(_Record):
    """A heading and the blocks under it, up to the next heading of any level."""

    title: str  # heading text without markup; "" for text before the first heading
    level: int  # 1..6 for headings, 0 for the preamble
    start: int  # start of the heading line (or of the first block for the preamble)
    end: int  # end of the last block
    blocks: tuple[Block, ...] = ()
    heading_start: int = -1  # offsets of the heading text itself, -1 if none
    heading_end: int = -1


@dataclass(frozen=True)
class Entity(_Record):
    label: str  # TIME, DATE, ORG, SYSTEM, ...
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Sentence(_Record):
    """One sentence (or list item / table row) with its role and entities."""

    index: int  # position in the incident, 0-based
    section: int  # index into the incident's sections
    start: int
    end: int
    text: str  # == source text[start:end]
    role: str  # primary role, one of ROLES
    roles: tuple[str, ...] = ()  # every role that applies, primary first
    block_kind: str = "paragraph"
    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True)
class CategoryScore(_Record):
    category_id: str
    category: str
    confidence: float


@dataclass(frozen=True)
class Cause(_Record):
    text: str
    start: int
    end: int
    kind: str = "root_cause"  # root_cause | trigger | contributing
    categories: tuple[CategoryScore, ...] = ()
    sentence: int = -1  # index of the first sentence it comes from


@dataclass(frozen=True)
class TimelineEvent(_Record):
    text: str
    start: int
    end: int
    time_text: str = ""  # the time as written
    time_start: int = -1  # offsets of time_text in the source
    time_end: int = -1
    iso: str = ""  # normalized ISO 8601, "" when it cannot be resolved
    kind: str = "event"  # event | start | detection | mitigation | resolution
    sentence: int = -1
    iso_end: str = ""  # end of an interval ("Between 16:00 and 19:00 UTC"), "" if none


@dataclass(frozen=True)
class Action(_Record):
    text: str
    start: int
    end: int
    status: str = "unknown"  # done | in_progress | planned | unknown
    kind: str = "corrective"  # corrective | preventive
    owner: str = ""
    due: str = ""
    title: str = ""  # a bold lead-in such as "Connection Limits", if any
    sentence: int = -1


@dataclass(frozen=True)
class Impact(_Record):
    text: str
    start: int
    end: int
    figures: tuple[str, ...] = ()  # numbers kept as written: "75%", "100,000 duplicate emails"
    sentence: int = -1


@dataclass(frozen=True)
class System(_Record):
    name: str  # canonical name, e.g. "MongoDB"
    kind: str = ""  # datastore | network | cloud | ...
    mentions: int = 1
    start: int = -1  # first mention
    end: int = -1


@dataclass(frozen=True)
class Incident(_Record):
    """Everything extracted from one postmortem."""

    incident_id: str
    source: str
    title: str
    text: str
    format: str
    sha256: str
    organization: str = ""
    date: str = ""  # incident date, ISO yyyy-mm-dd (or yyyy-mm, yyyy) or ""
    published: str = ""  # publication date, same form
    date_note: str = ""  # why a date could not be known, if so
    summary: tuple[str, ...] = ()
    duration_minutes: float | None = None
    sections: tuple[Section, ...] = ()
    sentences: tuple[Sentence, ...] = ()
    causes: tuple[Cause, ...] = ()
    timeline: tuple[TimelineEvent, ...] = ()
    actions: tuple[Action, ...] = ()
    impacts: tuple[Impact, ...] = ()
    systems: tuple[System, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)  # start/detection/... and durations
    categories: tuple[CategoryScore, ...] = ()  # incident-level cause categories (rolled up)
    mitigations: tuple[CategoryScore, ...] = ()  # mitigation axis of the taxonomy
    impact_kinds: tuple[CategoryScore, ...] = ()  # impact axis of the taxonomy


@dataclass(frozen=True)
class Evidence(_Record):
    text: str
    section: str  # the sentence's role: cause | timeline | action | impact | other
    start: int
    end: int
    score: float = 0.0
    heading: str = ""


@dataclass(frozen=True)
class Hit(_Record):
    """One incident in a result list, with the sentences that justify it."""

    incident_id: str
    source: str
    title: str
    score: float
    evidence: tuple[Evidence, ...] = ()
    organization: str = ""
    date: str = ""
    categories: tuple[str, ...] = ()


def _tuple_of(cls: type, items: Any) -> tuple:
    return tuple(cls(**item) for item in items or ())


def sentence_from_dict(d: dict[str, Any]) -> Sentence:
    d = dict(d)
    d["roles"] = tuple(d.get("roles") or ())
    d["entities"] = _tuple_of(Entity, d.get("entities"))
    return Sentence(**d)


def incident_from_dict(d: dict[str, Any]) -> Incident:
    """Rebuild an Incident (and its nested records) from ``Incident.to_dict()`` output."""
    d = dict(d)
    sections = []
    for s in d.get("sections") or ():
        s = dict(s)
        s["blocks"] = _tuple_of(Block, s.get("blocks"))
        sections.append(Section(**s))
    d["sections"] = tuple(sections)
    d["sentences"] = tuple(sentence_from_dict(s) for s in d.get("sentences") or ())
    causes = []
    for c in d.get("causes") or ():
        c = dict(c)
        c["categories"] = _tuple_of(CategoryScore, c.get("categories"))
        causes.append(Cause(**c))
    d["causes"] = tuple(causes)
    d["timeline"] = _tuple_of(TimelineEvent, d.get("timeline"))
    d["actions"] = _tuple_of(Action, d.get("actions"))
    impacts = []
    for i in d.get("impacts") or ():
        i = dict(i)
        i["figures"] = tuple(i.get("figures") or ())
        impacts.append(Impact(**i))
    d["impacts"] = tuple(impacts)
    d["systems"] = _tuple_of(System, d.get("systems"))
    d["summary"] = tuple(d.get("summary") or ())
    d["metrics"] = dict(d.get("metrics") or {})
    for key in ("categories", "mitigations", "impact_kinds"):
        d[key] = _tuple_of(CategoryScore, d.get(key))
    known = set(Incident.__dataclass_fields__)
    return Incident(**{k: v for k, v in d.items() if k in known})

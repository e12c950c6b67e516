"""Systems: the technologies, vendors and services an incident involves.

Mentions come from the ``SYSTEM`` entities of the EntityRuler gazetteer
(``ingest/data/systems.yaml``, canonical name in ``ent_id_``), plus spaCy ``PRODUCT`` entities
(and ``ORG`` entities that look like software) that the gazetteer does not know, kept when
they are mentioned at least twice. Each system gets its canonical name, kind, mention count
and first mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ingest.nlp import system_kinds
from ingest.records import System

from .roles import SentenceView

MIN_UNKNOWN_MENTIONS = 2
_TECH_NAME = re.compile(r"[a-z][A-Z]|\d|DB\b|SQL|\.(io|js|net)\b|^[A-Z]{2,6}$")
_NOT_SYSTEMS = {
    "utc",
    "gmt",
    "api",
    "apis",
    "sla",
    "slo",
    "slos",
    "ceo",
    "cto",
    "sre",
    "ops",
    "devops",
    "engineering",
    "support",
    "team",
    "the team",
    "it",
    "q1",
    "q2",
    "q3",
    "q4",
    "pm",
    "am",
    "rca",
    "faq",
    "eu",
    "us",
    "uk",
    "ip",
    "ips",
    "id",
    "ids",
    "url",
    "urls",
    "ui",
    "ux",
}


def _canonical(entity_text: str, label: str, ent_id: str) -> str:
    return ent_id if label == "SYSTEM" and ent_id else entity_text.strip()


def extract_systems(views: list[SentenceView], exclude: Iterable[str] = ()) -> tuple[System, ...]:
    """Systems mentioned in the sentences, most mentioned first (ties: first mention first)."""
    kinds = system_kinds()
    excluded = {name.lower() for name in exclude if name}
    counts: dict[str, int] = {}
    first: dict[str, tuple[int, int]] = {}
    known: set[str] = set()
    for view in views:
        span = view.span
        if span is None:
            continue
        for ent in span.ents:
            label = ent.label_
            start = view.offset + ent.start_char
            end = view.offset + ent.end_char
            if not (view.sentence.start <= start and end <= view.sentence.end):
                continue
            if label == "SYSTEM":
                name = _canonical(ent.text, label, ent.ent_id_)
                known.add(name)
            elif label == "PRODUCT" or (label == "ORG" and _TECH_NAME.search(ent.text)):
                name = ent.text.strip().strip("'\u2019s").strip()
                if name.lower() in _NOT_SYSTEMS or len(name) < 2:
                    continue
            else:
                continue
            if name.lower() in excluded:
                continue
            counts[name] = counts.get(name, 0) + 1
            first.setdefault(name, (start, end))
    systems = [
        System(
            name=name,
            kind=kinds.get(name, ""),
            mentions=count,
            start=first[name][0],
            end=first[name][1],
        )
        for name, count in counts.items()
        if name in known or count >= MIN_UNKNOWN_MENTIONS
    ]
    systems.sort(key=lambda s: (-s.mentions, s.start))
    return tuple(systems)

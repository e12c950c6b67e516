"""Query understanding: what an engineer's few words ask for.

Pure and model-free. Finds intent phrases ("caused by", "what did they do", "how long")
that point at a sentence role, strips filler ("incidents", "show me"), and recognises
taxonomy categories and system names so search can boost or filter on them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# (role, pattern) in priority order; the first role found is the query's intent.
INTENT_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "cause",
        r"\b(?:root[- ]?causes?|caused by|causes? of|cause[sd]?|due to|because(?: of)?|"
        r"triggered by|trigger(?:ed|s)?|why did|why was|why were|led to|resulting from|"
        r"made (?:it|things) worse|contribut\w+ factors?|what broke|what went wrong)\b",
    ),
    (
        "action",
        r"\b(?:what did (?:they|we|you) do(?: about)?|how did (?:they|we) (?:fix|resolve|"
        r"mitigate|handle)|action items?|follow[- ]ups?|remediation|remediat\w+|"
        r"corrective actions?|preventive actions?|lessons learned|how to prevent|"
        r"what was done|fix(?:es)? for|mitigations? for)\b",
    ),
    (
        "timeline",
        r"\b(?:timeline|how long|when did|when was|duration|time to (?:detect|"
        r"recover|resolve|mitigate)|sequence of events|what happened when)\b",
    ),
    (
        "impact",
        r"\b(?:impact(?:ed)?|who was affected|affected (?:customers|users)|how many "
        r"(?:users|customers|requests)|customer impact|blast radius)\b",
    ),
)

FILLER = re.compile(
    r"\b(?:incidents?|postmortems?|post-mortems?|outages? (?:where|that|with)|show me|find|"
    r"list|all|any|the|a|an|with|where|that|which|were|was|by|of|for|about|in|on|did|do|"
    r"they|we|our|there|has|have|had|this|happened|before|what|how|when|why)\b",
    re.I,
)
GENERIC = re.compile(
    r"\b(?:show me|find|list|all|any|incidents?|postmortems?|post-mortems?|reports?)\b", re.I
)
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
FTS_STOP = frozenset(
    "a an and are as at be by for from has have how in incident incidents is it of on or "
    "postmortem postmortems that the their there they this to was we were what when where "
    "which who why with did do does our show me find list all any".split()
    # what is left of a negative contraction ("didn't" -> "didn" "t"), and "itself"
    + "didn doesn don isn wasn weren won couldn wouldn shouldn hasn haven hadn aren ain".split()
    + ["itself"]
)


@dataclass(frozen=True)
class QueryReading:
    """How a query was read; shown to the user."""

    raw: str
    topic: str  # the words left once intent phrases and filler are removed
    role: str | None = None  # cause | action | timeline | impact, from intent phrases
    intent_phrase: str = ""
    categories: tuple[str, ...] = ()  # taxonomy category ids named in the query
    systems: tuple[str, ...] = ()  # canonical system names named in the query
    terms: tuple[str, ...] = field(default=())  # lexical terms for BM25
    dense_text: str = ""  # what the embedding model reads: the query minus generic filler

    def describe(self) -> str:
        parts = [f"topic: “{self.topic or self.raw}”"]
        if self.role:
            parts.append(f"looking in {self.role} sentences (from “{self.intent_phrase}”)")
        if self.categories:
            parts.append("categories: " + ", ".join(self.categories))
        if self.systems:
            parts.append("systems: " + ", ".join(self.systems))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "topic": self.topic,
            "role": self.role,
            "intent_phrase": self.intent_phrase,
            "categories": list(self.categories),
            "systems": list(self.systems),
            "terms": list(self.terms),
        }


def detect_intent(query: str) -> tuple[str | None, str, str]:
    """(role, matched phrase, query without the phrase) for the first intent found."""
    for role, pattern in INTENT_PATTERNS:
        m = re.search(pattern, query, re.I)
        if m:
            rest = (query[: m.start()] + " " + query[m.end() :]).strip()
            return role, m.group(0), rest
    return None, "", query


def lexical_terms(text: str) -> tuple[str, ...]:
    """Content words for BM25, lower-cased, filler removed, order kept, no repeats."""
    out: list[str] = []
    for tok in TOKEN.findall(text.lower()):
        tok = tok.strip(".-+")
        if len(tok) < 2 or tok in FTS_STOP or tok in out:
            continue
        out.append(tok)
    return tuple(out)


def fts_expression(terms: Iterable[str]) -> str:
    """An FTS5 MATCH expression: any of the terms, each quoted (so no syntax injection)."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms if t]
    return " OR ".join(quoted)


def fts_expression_requiring(terms: Sequence[str], required: Sequence[str]) -> str:
    """An FTS5 expression matching sentences with at least one ``required`` term, ranked by
    all ``terms``: "(r1 OR r2) AND (t1 OR ... OR tn)" (Lucene's common-terms query). With no
    required term, or all of them required, it is the plain :func:`fts_expression`."""
    if not required or set(required) >= set(terms):
        return fts_expression(terms)
    return f"({fts_expression(required)}) AND ({fts_expression(terms)})"


@functools.cache
def _phrase_regex(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(phrase.lower()) + r"(?![\w-])")


@functools.cache
def _cue_regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(r"\b(?:" + pattern + r")\b", re.I)
    except re.error:
        return None


def _phrase_found(phrase: str, text: str) -> bool:
    """Whole-word occurrence of a plain phrase (compiled once per phrase)."""
    return _phrase_regex(phrase).search(text) is not None


def _pattern_found(pattern: str, text: str) -> bool:
    """Whole-word match of a taxonomy cue regex (compiled once; a bad regex never matches)."""
    regex = _cue_regex(pattern)
    return regex is not None and regex.search(text) is not None


def read_query(
    query: str,
    *,
    category_names: dict[str, Iterable[str]] | None = None,
    category_patterns: dict[str, Iterable[str]] | None = None,
    system_names: dict[str, str] | None = None,
) -> QueryReading:
    """Read a query: intent role, topic words, categories and systems it names.

    ``category_names`` maps a category id to plain names that name it in a query,
    ``category_patterns`` to regular expressions (the taxonomy's cues); ``system_names`` maps
    a lower-cased alias to a canonical system name.
    """
    raw = " ".join(query.split())
    role, phrase, rest = detect_intent(raw)
    topic = " ".join(FILLER.sub(" ", rest).split()) or " ".join(rest.split())
    lowered = raw.lower()
    named = [
        cid
        for cid, names in (category_names or {}).items()
        if any(_phrase_found(n, lowered) for n in names if n)
    ]
    for cid, patterns in (category_patterns or {}).items():
        if cid not in named and any(_pattern_found(p, lowered) for p in patterns if p):
            named.append(cid)
    categories = tuple(named)
    systems = tuple(
        dict.fromkeys(
            canon for alias, canon in (system_names or {}).items() if _phrase_found(alias, lowered)
        )
    )
    return QueryReading(
        raw=raw,
        topic=topic,
        role=role,
        intent_phrase=phrase,
        categories=categories,
        systems=systems,
        terms=lexical_terms(topic or raw),
        dense_text=" ".join(GENERIC.sub(" ", raw).split()) or raw,
    )

"""Causes: root cause, trigger and contributing factors, found by what sentences say.

A sentence is causal when it carries a causal cue (spaCy ``Matcher`` patterns on lemmas:
"caused by", "due to", "triggered", "as a result of", "because", "led to", "resulted in",
"root cause", "the cause of", "compounded", "responsible for" ...) or sits under a cause
heading. Consecutive sentences that continue one cause ("This introduced ...",
"Combined with ...", "Additionally, ...") are merged into one span, and a "This ..." sentence
takes in the sentence it refers back to. Speculation the text rejects ("did not reveal any
clear set of queries that caused ...", "we ruled out ...") is dropped. Categories are left
empty: the taxonomy stage fills them.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from ingest.records import Cause

from .roles import (
    ACTION_CUES,
    CAUSE_REJECTED,
    SentenceView,
    cause_score,
    heading_scores,
    normalize_quotes,
)

if TYPE_CHECKING:
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

TRIGGER = re.compile(
    r"\btrigger(ed|ing|s)?\b|\bkicked off\b|\bset off\b|\b(began|started) when\b|"
    r"\binitiated by\b|\bprecipitat"
)
CONTRIBUTING = re.compile(
    r"\bcontribut|\bcompound|\bexacerbat|^\W*(additionally|in addition|also|furthermore|"
    r"moreover|combined with|coupled with|on top of)\b|"
    r"\bmade (the situation|things|it|this) worse\b|"
    r"\bfurther\b|\bamplif|\baggravat"
)
ROOT = re.compile(r"\broot[\s-]cause\b|\bthe (underlying|main|primary|real) cause\b")
CONTINUATION = re.compile(
    r"^\W*(this|that|these|those|it|combined with|coupled with|together with|additionally|"
    r"in addition|also|furthermore|moreover|on top of( that| this)?|as a result|consequently|"
    r"in turn|which|because of this|due to this)\b",
    re.IGNORECASE,
)
BACK_REFERENCE = re.compile(r"^\W*(this|that|these|those)\b(?! (is|was) (why|how))", re.IGNORECASE)

# Matcher patterns on lemmas; each names a cue kind.
CAUSE_PATTERNS: dict[str, list[list[dict]]] = {
    "caused_by": [[{"LEMMA": "cause"}, {"LOWER": "by"}]],
    "cause_verb": [[{"LEMMA": "cause", "POS": "VERB"}]],
    "due_to": [[{"LOWER": "due"}, {"LOWER": "to"}]],
    "trigger": [[{"LEMMA": "trigger"}]],
    "as_a_result_of": [[{"LOWER": "as"}, {"LOWER": "a"}, {"LOWER": "result"}, {"LOWER": "of"}]],
    "because": [[{"LOWER": "because"}]],
    "lead_to": [[{"LEMMA": "lead"}, {"LOWER": "to"}]],
    "result_in": [[{"LEMMA": "result"}, {"LOWER": {"IN": ["in", "from"]}}]],
    "root_cause": [[{"LOWER": "root"}, {"LEMMA": "cause"}], [{"LOWER": "root-cause"}]],
    "the_cause_of": [[{"LOWER": "the"}, {"LEMMA": "cause"}, {"LOWER": "of"}]],
    "compound": [[{"LEMMA": "compound", "POS": "VERB"}]],
    "responsible_for": [[{"LOWER": "responsible"}, {"LOWER": "for"}]],
    "contribute": [[{"LEMMA": "contribute"}], [{"LEMMA": "contributing"}]],
    "stem_from": [[{"LEMMA": "stem"}, {"LOWER": "from"}]],
    "introduce": [
        [
            {"LEMMA": "introduce"},
            {"POS": {"IN": ["DET", "ADJ", "NOUN", "PROPN"]}, "OP": "*"},
            {
                "LEMMA": {
                    "IN": [
                        "latency",
                        "bug",
                        "regression",
                        "error",
                        "issue",
                        "problem",
                        "load",
                        "delay",
                        "change",
                        "race",
                        "defect",
                    ]
                }
            },
        ]
    ],
}


@functools.cache
def _matcher(vocab: Vocab) -> Matcher:
    from spacy.matcher import Matcher

    matcher = Matcher(vocab)
    for name, patterns in CAUSE_PATTERNS.items():
        matcher.add(name, patterns)
    return matcher


def cue_names(view: SentenceView) -> set[str]:
    """Names of the Matcher cause cues found in the sentence's spaCy span."""
    span = view.span
    if span is None:
        return set()
    matcher = _matcher(span.doc.vocab)
    return {span.doc.vocab.strings[match_id] for match_id, _, _ in matcher(span)}


def is_causal(view: SentenceView) -> bool:
    """True when the sentence states (not rejects, not merely seeks) a cause.

    A sentence that reports or commits to a fix ("we have identified the bug that caused the
    slow down and rolled out a fix") is an action, not a cause.
    """
    lowered = normalize_quotes(view.text).lower()
    if CAUSE_REJECTED.search(lowered):
        return False
    if view.sentence.role == "action" or ACTION_CUES.search(lowered):
        return False
    if "cause" in view.sentence.roles:
        return True
    return cause_score(view.text) >= 2.0


def cause_kind(text: str, heading: str, dated: bool = False) -> str:
    """root_cause, trigger or contributing, from the span's wording and its heading.

    ``dated``: the sentence is also a timeline event; a dated event that causes is a trigger.
    """
    lowered = normalize_quotes(text).lower()
    head = heading.lower()
    if "contributing" in head or "contributor" in head:
        return "contributing"
    if "trigger" in head:
        return "trigger"
    if ROOT.search(lowered) or "root cause" in head:
        return "root_cause"
    if CONTRIBUTING.search(lowered):
        return "contributing"
    if TRIGGER.search(lowered) or dated:
        return "trigger"
    return "root_cause"


def _under_cause_heading(view: SentenceView) -> bool:
    return heading_scores(view.heading).get("cause", 0.0) >= 3.0


def _timeline_entry(view: SentenceView) -> bool:
    """A row or line of a timeline section: an event, even when it names a cause."""
    heads = heading_scores(view.heading)
    return heads.get("timeline", 0.0) >= 3.0 and view.sentence.role == "timeline"


def extract_causes(text: str, views: list[SentenceView]) -> tuple[Cause, ...]:
    """Cause spans of one document, merged across continuing sentences, in text order.

    When the report has a cause section ("Root cause", "Contributing factors"), causes come
    from there only: sentences elsewhere restate them in passing.
    """
    causes: list[Cause] = []
    has_cause_section = any(_under_cause_heading(view) for view in views)
    i = 0
    while i < len(views):
        view = views[i]
        under_heading = _under_cause_heading(view)
        if has_cause_section and not under_heading:
            i += 1
            continue
        if _timeline_entry(view) or not (
            is_causal(view) or (under_heading and _not_rejected(view))
        ):
            i += 1
            continue
        first = i
        # A "This ..." sentence refers back: take in the previous sentence of the same block.
        if (
            BACK_REFERENCE.match(view.text)
            and i > 0
            and views[i - 1].block == view.block
            and _not_rejected(views[i - 1])
            and not (causes and causes[-1].end >= views[i - 1].sentence.end)
        ):
            first = i - 1
        last = i
        while (
            last + 1 < len(views)
            and views[last + 1].block == view.block
            and CONTINUATION.match(views[last + 1].text)
            and is_causal(views[last + 1])
        ):
            last += 1
        start, end = views[first].sentence.start, views[last].sentence.end
        kind = cause_kind(
            text[views[i].sentence.start : views[i].sentence.end],
            view.heading,
            dated="timeline" in view.sentence.roles,
        )
        causes.append(Cause(text=text[start:end], start=start, end=end, kind=kind, sentence=first))
        i = last + 1
    return tuple(causes)


def _not_rejected(view: SentenceView) -> bool:
    return not CAUSE_REJECTED.search(normalize_quotes(view.text).lower())

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
from typing import TYPE_CHECKING, Any

from ingest.records import Cause

from .roles import (
    ACTION_CUES,
    CAUSE_REJECTED,
    SentenceView,
    cause_score,
    heading_scores,
    item_form,
    list_runs,
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


def _forms(*words: str) -> dict[str, Any]:
    return {"LOWER": {"IN": list(words)}}


CAUSE_VERB = _forms("cause", "caused", "causes", "causing")
# spaCy Matcher patterns (on lower-case forms: the pipeline runs without a lemmatizer); each
# names a causal cue. The regular expressions of ``roles`` score a sentence; these patterns
# use the tagger, e.g. "cause" as a verb but not as a noun in "the cause was unknown".
CAUSE_PATTERNS: dict[str, list[list[dict[str, Any]]]] = {
    "caused_by": [[CAUSE_VERB, {"LOWER": "by"}]],
    "cause_verb": [[{**CAUSE_VERB, "POS": "VERB"}]],
    "due_to": [[{"LOWER": "due"}, {"LOWER": "to"}]],
    "trigger": [[{**_forms("trigger", "triggered", "triggers", "triggering"), "POS": "VERB"}]],
    "as_a_result_of": [[{"LOWER": "as"}, {"LOWER": "a"}, {"LOWER": "result"}, {"LOWER": "of"}]],
    "because": [[{"LOWER": "because"}]],
    "lead_to": [[_forms("lead", "led", "leads", "leading"), {"LOWER": "to"}]],
    "result_in": [[_forms("result", "resulted", "results", "resulting"), _forms("in", "from")]],
    "root_cause": [[{"LOWER": "root"}, _forms("cause", "causes")], [{"LOWER": "root-cause"}]],
    "the_cause_of": [[{"LOWER": "the"}, _forms("cause", "causes"), {"LOWER": "of"}]],
    "compound": [[{**_forms("compound", "compounded", "compounds", "compounding"), "POS": "VERB"}]],
    "responsible_for": [[{"LOWER": "responsible"}, {"LOWER": "for"}, {"TAG": {"NOT_IN": ["VBG"]}}]],
    "contribute": [[_forms("contribute", "contributed", "contributes", "contributing")]],
    "stem_from": [[_forms("stem", "stemmed", "stems", "stemming"), {"LOWER": "from"}]],
    "introduce": [
        [
            _forms("introduce", "introduced", "introduces", "introducing"),
            {"POS": {"IN": ["DET", "ADJ", "NOUN", "PROPN"]}, "OP": "*"},
            _forms(
                "latency",
                "bug",
                "bugs",
                "regression",
                "error",
                "errors",
                "issue",
                "problem",
                "load",
                "delay",
                "delays",
                "race",
                "defect",
            ),
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
    score = cause_score(view.text, view.sentence.block_kind)
    # A Matcher cue that survives the regex filters (score > 0) is enough on its own.
    return score >= 2.0 or (score > 0 and bool(cue_names(view)))


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


_LEADING_CLOCK = re.compile(r"^\W*~?(\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\*\*\d{1,2}:\d{2})")


def _timeline_entry(view: SentenceView) -> bool:
    """A row or line of a timeline: an event, even when it names a cause.

    That is a sentence of a timeline section whose primary role is timeline, or a table row
    or list item that opens with a date or clock time ("2019-12-04 00:30 | ...").
    """
    listed = view.sentence.block_kind in ("table_row", "list_item")
    if listed and _LEADING_CLOCK.match(view.text):
        return True
    if view.sentence.role != "timeline":
        return False
    return heading_scores(view.heading).get("timeline", 0.0) >= 3.0


def extract_causes(text: str, views: list[SentenceView]) -> tuple[Cause, ...]:
    """Cause spans of one document, merged across continuing sentences, in text order.

    When the report has a cause section ("Root cause", "Contributing factors"), causes come
    from there only: sentences elsewhere restate them in passing.
    """
    causes: list[Cause] = []
    has_cause_section = any(_under_cause_heading(view) for view in views)
    factors, after_timeline = ([], False) if has_cause_section else factor_list(views, text)
    if factors and after_timeline:
        # The list of findings after the timeline stands for the cause section.
        return tuple(_factor_causes(text, views, factors))
    listed = {i for item in factors for i in item}
    i = 0
    while i < len(views):
        view = views[i]
        under_heading = _under_cause_heading(view)
        if (has_cause_section and not under_heading) or i in listed:
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
    if factors:
        causes.extend(_factor_causes(text, views, factors))
        causes.sort(key=lambda cause: cause.start)
    return tuple(causes)


def _item_forms(views: list[SentenceView], run: list[list[int]]) -> list[str]:
    return [item_form(views[item[0]].text, views[item[0]].span) for item in run]


def timeline_end(views: list[SentenceView], runs: list[list[list[int]]]) -> int:
    """Index of the last sentence of the last dated list (a timeline table), or -1."""
    end = -1
    for run in runs:
        forms = _item_forms(views, run)
        if forms.count("dated") >= 2 and 2 * forms.count("dated") >= len(forms):
            end = run[-1][-1]
    return end


def factor_list(views: list[SentenceView], text: str) -> tuple[list[list[int]], bool]:
    """The list of contributing factors of a report without cause headings, if it has one.

    That is the first list of at least two items that are mostly findings or states (not
    imperatives, plans, dated events, fields or names) and that comes after the timeline;
    without a timeline, the first such list of which at least one item states a cause.
    Returns the list's items (sentence indices per item) and whether it follows a timeline.
    """
    runs = list_runs(views, text)
    end = timeline_end(views, runs)
    for run in runs:
        if len(run) < 2 or run[0][0] <= end:
            continue
        if heading_scores(views[run[0][0]].heading):
            continue  # under a heading with a role of its own (actions, impact, ...)
        forms = _item_forms(views, run)
        statements = forms.count("statement")
        if statements < 2 or 3 * statements < 2 * len(forms):
            continue
        if end >= 0:
            return run, True
        if any(is_causal(views[i]) for item in run for i in item):
            return run, False
    return [], False


def _factor_causes(
    text: str, views: list[SentenceView], items: list[list[int]]
) -> list[Cause]:
    """One contributing cause per item of a factor list (nested items included)."""
    causes = []
    for item in items:
        first, last = views[item[0]], views[item[-1]]
        start, end = first.sentence.start, last.sentence.end
        body = text[start:end]
        kind = "root_cause" if ROOT.search(normalize_quotes(body).lower()) else "contributing"
        causes.append(Cause(text=body, start=start, end=end, kind=kind, sentence=item[0]))
    return causes


def _not_rejected(view: SentenceView) -> bool:
    return not CAUSE_REJECTED.search(normalize_quotes(view.text).lower())

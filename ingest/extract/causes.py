"""Causes: root cause, trigger and contributing factors, found by what sentences say.

A sentence is causal when it carries a causal cue (spaCy ``Matcher`` patterns on lemmas:
"caused by", "due to", "triggered", "as a result of", "because", "led to", "resulted in",
"root cause", "the cause of", "compounded", "responsible for" ...) or sits under a cause
heading. Consecutive sentences that continue one cause ("This introduced ...",
"Combined with ...", "Additionally, ...") are merged into one span, and a "This ..." sentence
takes in the sentence it refers back to. Speculation the text rejects ("did not reveal any
clear set of queries that caused ...", "we ruled out ...") is dropped. Categories are left
empty: the taxonomy stage fills them.

Without cause headings, the layout stands in for them: the first list of findings after the
timeline is the contributing-factors list (every item a cause, cue or not), the stretch
between the timeline and that list is read for causes in prose, and dated rows are timeline
events, never causes (see :func:`factor_lists`). Questions are never causes, and a
sub-heading without a role of its own inside a cause section ("Root cause analysis" > "The
technical problem") counts as part of it.

Outside a cause section (the summary, "What happened"), and in the summary above the first
timeline of a report without cause headings, a prose sentence is a cause when its own words
state one (:func:`_stated_in_narrative`): not a consequence told with a pronoun ("This in
turn caused ..."), which instead takes in the sentence before it when that one is not a cause
yet, not a hedge ("Potentially causing ..."), and not a remedy ("resolved the underlying
issues", "would have prevented ...").
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from ingest.records import Cause

from .roles import (
    ACTION_CUES,
    CAUSE_REJECTED,
    CAUSE_SEARCH,
    GOOD_OUTCOME,
    HINDSIGHT,
    SentenceView,
    cause_score,
    form_pieces,
    heading_scores,
    is_finite_statement,
    is_imperative,
    item_form,
    list_runs,
    normalize_quotes,
    smooth_forms,
    status_entry,
)

if TYPE_CHECKING:
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

TRIGGER = re.compile(
    r"\btrigger(ed|ing|s)?\b|\bkicked off\b|\bset off\b|\b(began|started) when\b|"
    r"\binitiated by\b|\bprecipitat|\bset in motion\b"
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
    r"in turn|which|because of (this|that|it)|due to (this|that|it))\b",
    re.IGNORECASE,
)
# A sentence whose only cause is a pronoun states a consequence ("This in turn caused a
# large number of other pods to crash-loop"); "This CPU saturation led to ..." names its cause.
CONSEQUENCE = re.compile(
    r"^\W*(this|that|it|which)( in turn| also| then| eventually|,)* (in turn )?"
    r"(caused|causes|resulted|results|led|leads|meant|means|left|made|triggered)\b",
    re.IGNORECASE,
)
# A sentence that opens by calling itself the result of the one before ("As a result, users
# were served 404s"): that one is a cause, whatever its words.
RESULT_OPENER = re.compile(
    r"^\W*(as a result|consequently|because of this|due to this)\b(?! of)", re.IGNORECASE
)
# Hedged wording opens speculation ("Potentially causing all of the pods ...").
HEDGED = re.compile(r"^\W*(potentially|possibly|probably|perhaps|maybe|presumably)\b", re.I)
# Speculation anywhere in the sentence ("It could be that ...", "I suspect this is due to
# ...", "which may be due to ...", "as likely culprits"): outside a cause section, not a
# cause the text states.
SPECULATION = re.compile(
    r"\b(could|might|may) (be|have been) (that|due|because|related|caused|the result|a result|"
    r"responsible|a recipe)\b|\b(could|might|may) have (contributed|caused|led|triggered|"
    r"resulted|gone out|made|exacerbated|worsened|amplified|aggravated|compounded)\b|"
    r"\b(i|we) (suspect|believe|think|guess)\b|"
    r"\b(i|we) (don't|do not|didn't|did not) (believe|think)\b(?! (of|about|to|twice)\b)|"
    r"\b(likely|possible|potential) (culprit|cause|explanation)s?\b|\binconclusive\b|"
    r"\bunclear (if|whether)\b|\b(perhaps|presumably|possibly|probably|most likely)\b|"
    r"\b(assumed|believed|thought|suspected) to be (due|caused|because|related)\b|"
    r"\b(seems|seem|seemed|appears|appear) to be (causing|the cause|due|related)\b|"
    r"\bsuspected (of|to be|as)\b|\bwe don't know\b|\b(started|began) (suspecting|to suspect)\b|"
    r"\b(could|might|may) be involved\b|"
    r"\b(is|are|was|were) (most |very )?likely (the result|a result|due|caused|related|the cause|"
    r"because)\b|"
    # "It is also possible that ...", "We thought that ...", "the current theory is that
    # ...", "is not yet understood", "It's not clear what caused ...".
    r"\bit (is|was|'s) (also |quite |very |entirely )?possible that\b|\b(i|we) thought that\b|"
    r"\btheory (is|was) that\b|\bnot yet understood\b|"
    r"(\bnot clear|n't clear|\bunclear|\bnot known|\bunknown) (what|why)\b[^.;]{0,30}"
    r"(caus|trigger|happen|broke|\bled\b|fail|crash|corrupt|went wrong)|"
    # "it is likely that it was due to ...", "It's probable that the disk ..."
    r"\bit (is|was|'s) (also |very |quite |most )?(likely|probable|plausible) that\b"
)
# What went well ("The staging cluster helped us catch this", "did a great job", "Cluster
# healed itself", "We were alerted to the outage by automated bots").
WENT_WELL = re.compile(
    r"\b(great|good|excellent) job\b|\bhelped (us|to)\b|\bheal(ed|s) itself\b|"
    r"\bwe were alerted\b|\bwent (well|smoothly)\b|\b(what|which|that) saved us\b"
)
# Advice, a lesson told as a rule ("Unrelated deployments shouldn't trigger rollouts"); not
# "must", which also states requirements ("requests with a body must set duplex").
# What to do next ("We need to readjust how we use the database", "We may want to reload it
# as well", "We may consider inlining more URIs"), not what happened.
NEXT_STEP = re.compile(
    r"\b(we|you) (still |also |really )?(need|have) to\b|"
    r"\b(we|you) (may|might|could) (also )?(want to|wish to|consider)\b"
)
ADVICE = re.compile(r"\b(should|shouldn't|ought to)\b|" + NEXT_STEP.pattern)
# Why the team responded as it did ("The reason for the partial revert was that ..."), not why
# the incident happened.
RESPONSE_REASON = re.compile(
    r"\b(reason|rationale|motivation) (for|behind) (the|this|that|our|a) ([\w-]+ ){0,2}(revert|"
    r"rollback|roll-back|decision|choice|workaround|failover|restart|delay in)\b"
)
# A guess at what made it worse ("it might have exacerbated the problem"), left open.
HEDGED_EFFECT = re.compile(
    r"\b(could|might|may) (also )?have (contributed|caused|made|exacerbated|worsened|amplified|"
    r"aggravated|compounded|played)\b"
)
# A line that gives the cause as a field ("Cause: Human error (restarted too many squids at
# once)", "Root cause: an expired certificate"), unless the field says it is not known yet.
CAUSE_FIELD = re.compile(
    r"^\W*(root[\s-]?causes?|causes?|reasons?|triggers?|trigger(ed|ing) events?|underlying causes?|"
    r"contributing (factors?|causes?))\W{0,4}:\W*\w"
)
CAUSE_UNKNOWN = re.compile(
    r"\b(unknown|unclear|not (yet |fully )?(known|understood|determined)|(still |being )?"
    r"investigat\w*|under investigation|tbd|to be determined|n/a)\b"
)
# A condition stated as how the system behaves ("If the spawn takes more than 10s, the hub
# returns a 202"): background, not what happened; "If the policy had been set to ignore, the
# issue would have ..." says what went wrong in this incident and is not matched.
HYPOTHETICAL = re.compile(r"^\W*if\b(?!.*\b(was|were|had|did)\b.*\bwould\b)")
BACK_REFERENCE = re.compile(
    r"^\W*((due to|because of) )?(this|that|these|those)\b(?! (is|was) (why|how))", re.IGNORECASE
)


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
    if _says_no_cause(view, lowered):
        return False
    if CAUSE_FIELD.match(lowered):
        return not CAUSE_UNKNOWN.search(lowered)  # "Cause: still unknown" names none
    if "cause" in view.sentence.roles:
        return not BACKGROUND.search(lowered)  # under a cause heading: background excepted
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
    if HINDSIGHT.search(lowered):
        return "contributing"  # what should have happened and did not
    if CONTRIBUTING.search(lowered):
        return "contributing"
    if TRIGGER.search(lowered) or dated:
        return "trigger"
    return "root_cause"


def _says_no_cause(view: SentenceView, lowered: str) -> bool:
    """The sentence's own words make it no cause, whatever its cue words (``lowered``: its
    text with quotes normalised, lower-cased)."""
    if CAUSE_REJECTED.search(lowered) or REMEDY.search(lowered) or _is_question(lowered):
        return True  # rejected, a remedy, or a question
    if status_entry(lowered) or TASK_MARKER.match(lowered):
        return True  # "Status: Done - ...", "Done Split ..." are items of the follow-up list
    counterfactual = bool(HINDSIGHT.search(lowered))
    if (view.sentence.role == "action" and not counterfactual) or ACTION_CUES.search(lowered):
        return True
    if SPECULATION.search(lowered) or WENT_WELL.search(lowered) or HYPOTHETICAL.match(lowered):
        return True  # "It could be that the pool was draining", "great job debugging"
    if ADVICE.search(lowered) and not counterfactual:
        return True
    if RESPONSE_REASON.search(lowered):
        return True  # "The reason for the partial revert was that ...": why they did it
    # "Fix bug preventing ..." asks for a change: an action
    return is_imperative(view.text, view.span) and not is_finite_statement(view.text, view.span)


# How the trouble was noticed ("The health check triggered the first alert", "The first sign
# was ..."): detection, not cause.
DETECTED = re.compile(r"\b(first|initial) (indication|sign|symptom|alert|alarm|page)s?\b")


def refuses_cause(views: list[SentenceView], i: int, text: str) -> bool:
    """What the rules never take as a cause, whatever else says so: a sentence whose words
    make it none (see :func:`is_causal`), a cause field that names no cause ("Cause: still
    unknown"), background, a consequence of "this", how the trouble was noticed, a line that
    announces what follows (":"), reads as a heading or describes its section, or the event
    of a timeline entry or dated row."""
    view = views[i]
    lowered = normalize_quotes(view.text).lower()
    return (
        _says_no_cause(view, lowered)
        or bool(CAUSE_FIELD.match(lowered) and CAUSE_UNKNOWN.search(lowered))
        or bool(BACKGROUND.search(lowered))
        or bool(CONSEQUENCE.match(view.text))
        or bool(DETECTED.search(lowered))
        or lowered.rstrip(" *_").endswith(":")
        or _heading_like(view)
        or _describes_section(view)
        or _timeline_entry(view)
        or bool(_LEADING_CLOCK.match(view.text))
        or _opens_time_row(views, i, text)
        or _in_row_paragraph(views, i, text)
        or (i > 0 and views[i - 1].block == view.block and _opens_time_row(views, i - 1, text))
    )


def _under_cause_heading(view: SentenceView) -> bool:
    """Under a cause heading, or under a sub-heading of no role of its own inside a cause
    section ("Root cause analysis" > "The technical problem")."""
    for heading in reversed(view.heading_path or (view.heading,)):
        scores = heading_scores(heading)
        if scores:
            return scores.get("cause", 0.0) >= 3.0
    return False


# "What went wrong" lists everything that went badly (slow detection, manual steps); only
# an item that says why, or what it lacked, is a cause ("Root cause" sections say only that).
WENT_WRONG = re.compile(r"went wrong|could have gone better|went (badly|poorly)|didn'?t go well")


def _under_what_went_wrong(view: SentenceView) -> bool:
    for heading in reversed(view.heading_path or (view.heading,)):
        if heading_scores(heading):
            return bool(WENT_WRONG.search(normalize_quotes(heading).lower()))
    return False


def _has_cause_signal(view: SentenceView) -> bool:
    """Any cue of a cause, weak ones and deficiencies included ("We still don't have ...")."""
    return cause_score(view.text, view.sentence.block_kind) > 0 or bool(cue_names(view))


# A row that opens with a clock time written with a dot ("22.10: Mark found ...", "22.00 -
# 22.25 : ..."): dated, as "22:10" is.
_DOTTED_CLOCK = re.compile(r"^\W*\d{1,2}\.[0-5]\d(\s*[-–]\s*\d{1,2}[.:][0-5]\d)?\s*:")
_CLOCK = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b\d{1,2}\s?[ap]\.?m\b|" + _DOTTED_CLOCK.pattern, re.IGNORECASE
)


def _row_form(text: str, span: Any = None) -> str:
    """:func:`item_form`, with rows that open with a dotted clock time dated too."""
    return "dated" if _DOTTED_CLOCK.match(text) else item_form(text, span)


_LEADING_CLOCK = re.compile(r"^\W*~?(\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\*\*\d{1,2}:\d{2})")


# A heading or line that is a time of the timeline ("### 13:35", "2018-03-26 10:34",
# "07:35 - Note pending pods", "2018-01-15"): a clock time near its start, or a date alone.
_TIME_ROW = re.compile(
    r"^\W*[^:\n]{0,18}\b\d{1,2}:\d{2}\b|^\W*(\d{4}-\d{2}-\d{2}|"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(,? \d{4})?)\W*$",
    re.IGNORECASE,
)


def _opens_time_row(views: list[SentenceView], i: int, text: str) -> bool:
    """The first sentence after a line that is only a time (a time heading, or the line it
    leaves without headings): the event of that timeline row ("### 14:55" / "Autoscaling
    increases node count to 4"), never a cause (the sentences after it may be)."""
    view = views[i]
    if not view.first_in_block or view.sentence.block_kind != "paragraph":
        return False
    end = view.block_start
    while end > 0 and text[end - 1].isspace():
        end -= 1
    line = text[text.rfind("\n", 0, end) + 1 : end].strip(" *_#\t")  # the line above
    return len(line) <= 40 and bool(_TIME_ROW.match(line))


def _in_row_paragraph(views: list[SentenceView], i: int, text: str) -> bool:
    """A later sentence of the paragraph that a timeline row's event opens: the row's
    narrative, a cause only when it names one (see :func:`_names_cause_in_row`)."""
    k = i - 1
    while k >= 0 and views[k].block == views[i].block:
        if _opens_time_row(views, k, text):
            return True
        k -= 1
    return False


def _timeline_entry(view: SentenceView) -> bool:
    """A row or line of a timeline: an event, even when it names a cause.

    That is a sentence of a timeline section whose primary role is timeline, or a table row
    or list item that opens with a date or clock time ("2019-12-04 00:30 | ..."), whatever
    its role unless it sits under a cause heading.
    """
    listed = view.sentence.block_kind in ("table_row", "list_item")
    if listed and not _under_cause_heading(view) and _row_form(view.text) == "dated":
        return True  # "**October 21 & 28**: ..." under a cause heading is a cause
    if view.sentence.role != "timeline":
        return False
    if heading_scores(view.heading).get("timeline", 0.0) >= 3.0:
        return True
    return listed and bool(_LEADING_CLOCK.match(view.text))


# Words that name the cause outright ("This is the direct cause of the runaway pod growth",
# "the root cause is that ...", "is attributed to ...").
NAMES_CAUSE = re.compile(
    r"\broot[\s-]cause\b|\bthe (\w+ )?cause (of|is|was)\b|\bcaused by\b|\battributed to\b|"
    r"\b(is|was) (because|due to)\b|^\W*due to\b|\b(it )?turn(s|ed) out\b|"
    # "... plus in-progress schema changes is the cause.", "That was a mistake: ..."
    r"\b(is|was|are|were) the (\w+ ){0,2}cause\b|\b(is|was|'s) a mistake\b|"
    r"\b(has|had|contains|contained|introduced) (a|an) (\w+ ){0,2}(bug|typo|mistake|flaw|defect)\b"
)


def _names_cause_in_row(views: list[SentenceView], i: int, text: str) -> bool:
    """A sentence of a timeline row after its event that names the cause outright: what the
    team found out, told where they found it (the row's event is never a cause)."""
    view = views[i]
    if view.sentence.block_kind != "paragraph" or _opens_time_row(views, i, text):
        return False
    in_timeline = heading_scores(view.heading).get("timeline", 0.0) >= 3.0 or bool(
        _TIME_ROW.match(view.heading)
    )
    if not (in_timeline or _in_row_paragraph(views, i, text)):
        return False
    lowered = normalize_quotes(view.text).lower()
    if SPECULATION.search(lowered) or HEDGED.match(view.text):
        return False
    return bool(NAMES_CAUSE.search(CAUSE_SEARCH.sub(" ", lowered))) and _states_cause(view)


# A later sentence of a dated list row ("• 18:03 Replication reported as broken. Mixed
# schema versions on the replicas is the cause."): the row is one item, cut here.
_ROW_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _row_findings(text: str, view: SentenceView, index: int) -> list[Cause]:
    """The sentences after the event of a dated list row that name its cause outright (see
    ``NAMES_CAUSE``): what the team found out, told in the row where they found it."""
    start, end = view.sentence.start, view.sentence.end
    row = text[start:end]
    found = []
    cuts = [m.end() for m in _ROW_SENTENCE.finditer(row)]
    if not cuts:
        return found
    for begin, stop in zip(cuts, cuts[1:] + [len(row)], strict=True):
        piece = row[begin:stop].rstrip()
        lowered = normalize_quotes(piece).lower()
        if (
            SPECULATION.search(lowered)
            or HEDGED.match(piece)
            or CAUSE_REJECTED.search(lowered)
            or REMEDY.search(lowered)
            or ACTION_CUES.search(lowered)
            or _is_question(piece)
            or not NAMES_CAUSE.search(CAUSE_SEARCH.sub(" ", lowered))
            or cause_score(piece) < 2.0
        ):
            continue
        kind = cause_kind(piece, view.heading)
        first = start + begin
        found.append(
            Cause(text=piece, start=first, end=first + len(piece), kind=kind, sentence=index)
        )
    return found


# A sentence that announces a list of causes ("This was caused by two factors:", "This was
# because of a few factors:", "Post-mortem suggests this is the problem:"); "resulted in the
# following problems:" announces consequences instead.
LEAD_IN_CAUSES = re.compile(
    r"\b(caused by|because|due to|factors?|reasons?|root[\s-]causes?|causes|contributed|"
    r"(is|was|are|were) the (problem|issue|cause)s?)\b"
)


def _announces_causes(view: SentenceView) -> bool:
    """A sentence ending with a colon whose words announce the causes listed below it."""
    lowered = normalize_quotes(view.text).lower().rstrip(" *_\n")
    return (
        lowered.endswith(":")
        and not CAUSE_SEARCH_LEAD.search(lowered)
        and not MITIGATION.search(lowered)
        and bool(LEAD_IN_CAUSES.search(lowered))
    )


# What worked against the failure ("there are two mitigating factors working in our favor:",
# "What limited the impact:"): the list below it holds no causes.
MITIGATION = re.compile(
    r"\bmitigating (factors?|circumstances)\b|\bin (our|their|its) favou?r\b|"
    r"\bwent (well|right)\b|\bwhat saved us\b|"
    r"\b(helped|limited|reduced|contained) (the )?(impact|damage|blast radius|scope)\b"
)


def _announces_mitigation(view: SentenceView) -> bool:
    """A sentence ending with a colon that announces what limited the damage."""
    lowered = normalize_quotes(view.text).lower().rstrip(" *_\n")
    return lowered.endswith(":") and bool(MITIGATION.search(lowered))


# "the following conclusions:", "what caused it:" announce findings or questions, not causes.
CAUSE_SEARCH_LEAD = re.compile(r"\b(if|whether|how|what|why|could|might|may)\b")


def _announced_items(
    views: list[SentenceView], runs: list[list[list[int]]], i: int
) -> list[list[int]]:
    """The items of the list right below the announcing sentence ``i``: the run of list items
    that starts with the next sentence, or the items nested under ``i`` when it is an item."""
    for n, run in enumerate(runs):
        if run[0][0] == i + 1 and views[i + 1].sentence.block_kind == "list_item":
            items = list(run)
            # A loose list whose items hold nested lists comes as runs of one item each; a
            # run of several items after it is another list (its heading removed).
            for after in runs[n + 1 :]:
                section = views[after[0][0]].sentence.section != views[i].sentence.section
                if after[0][0] != items[-1][-1] + 1 or len(after) > 1 or section:
                    break
                items += after
            return items
        for item in run:
            if i in item and item[-1] > i and views[item[-1]].block != views[i].block:
                nested: list[list[int]] = []
                for k in item[item.index(i) + 1 :]:
                    if views[k].block == views[i].block:
                        continue
                    if nested and views[nested[-1][-1]].block == views[k].block:
                        nested[-1].append(k)
                    else:
                        nested.append([k])
                return nested
    return []


def extract_causes(text: str, views: list[SentenceView]) -> tuple[Cause, ...]:
    """Cause spans of one document, merged across continuing sentences, in text order.

    When the report has a cause section ("Root cause", "Contributing factors"), causes come
    from there and from the prose sentences of sections without a role of their own that
    state a cause in their own words (:func:`_stated_in_narrative`); without cause headings,
    the same holds for the summary above the first timeline.
    """
    causes: list[Cause] = []
    has_cause_section = any(_under_cause_heading(view) for view in views)
    factors: list[list[int]] = []
    regions = [(-1, len(views))]
    explained = (-1, -1)
    if not has_cause_section:
        lists, regions = factor_lists(views, text)
        explained = regions[-1] if lists and regions[-1][0] >= 0 else explained
        factors = [item for run in lists for item in run]
    runs = list_runs(views, text)
    # The items of a list announced as what limited the damage are not causes.
    shielded = {
        j
        for k, view in enumerate(views)
        if _announces_mitigation(view)
        for item in _announced_items(views, runs, k)
        for j in item
    }
    listed = {i for item in factors for i in item} | shielded
    announced: list[list[int]] = []
    leads: set[int] = set()
    for k, view in enumerate(views):
        items = _announced_items(views, runs, k) if _announces_causes(view) else []
        if items and view.sentence.block_kind == "paragraph" and len(view.text) <= 120:
            leads.add(k)  # it only announces; a longer one or an item may state a cause too
        if items:
            announced += [
                item
                for item in items
                if not any(j in listed for j in item) and all(_not_rejected(views[j]) for j in item)
            ]
    listed |= leads | {j for item in announced for j in item}
    i = 0
    while i < len(views):
        view = views[i]
        if view.sentence.block_kind == "list_item" and i not in listed:
            if _row_form(view.text, view.span) == "dated":
                causes.extend(_row_findings(text, view, i))
        under_heading = _under_cause_heading(view)
        outside = not any(low < i <= high for low, high in regions)
        # Outside the cause section, or in the summary above the first timeline of a report
        # without cause headings, only a sentence that states a cause in its own words counts.
        in_summary = outside and i <= regions[0][0]
        told_elsewhere = (has_cause_section and not under_heading) or in_summary
        named = _names_cause_in_row(views, i, text)
        opening = _opening_change(views, i)
        enumerated = _enumerated_factor(views, i)
        if told_elsewhere and not (_stated_in_narrative(view) or named or opening or enumerated):
            # "This resulted in ..." names the sentence before it as the cause, unless that
            # sentence is a cause already (then it only tells the consequence).
            pulls_back = (
                CONSEQUENCE.match(view.text)
                and i > 0
                and views[i - 1].block == view.block
                and not (causes and causes[-1].end >= views[i - 1].sentence.end)
                and _stated_in_narrative(view, consequence_ok=True)
            )
            if not pulls_back:
                i += 1
                continue
        if i in listed or (outside and not in_summary):
            i += 1
            continue
        in_explanation = explained[0] < i <= explained[1] and _explains(view)
        listed_item = view.sentence.block_kind in ("list_item", "table_row")
        opens_row = (
            i > 0 and views[i - 1].block == view.block and _opens_time_row(views, i - 1, text)
        )
        if (
            (_timeline_entry(view) and not named)
            or _opens_time_row(views, i, text)
            or (opens_row and CONSEQUENCE.match(view.text))  # the event's consequence
            or (_in_row_paragraph(views, i, text) and not named)
            or (_is_question(view.text) and not (under_heading and listed_item))
            or _heading_like(view)
            or _describes_section(view)
            or not (
                is_causal(view)
                or (
                    (under_heading or in_explanation)
                    and _not_rejected(view)
                    and not BACKGROUND.search(normalize_quotes(view.text).lower())
                )
                or _result_follows(views, i)
                or opening
                or enumerated
            )
            or (_under_what_went_wrong(view) and not _has_cause_signal(view))
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
            and not opens_row
        ):
            first = i - 1
        last = i
        while (
            last + 1 < len(views)
            and views[last + 1].block == view.block
            and CONTINUATION.match(views[last + 1].text)
            and (is_causal(views[last + 1]) or _carries_on(views[last + 1]))
            and not (told_elsewhere and CONSEQUENCE.match(views[last + 1].text))
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
    if factors or announced:
        kept = [item for item in factors + announced if not shielded.intersection(item)]
        causes.extend(_factor_causes(text, views, kept))
        causes.sort(key=lambda cause: cause.start)
    return tuple(causes)


# A change being shipped ("change Ie5a86 was merged", "a change was pushed out which removed
# the extension", "https://review.example.org/c/123 was merged"), not a fix or a revert.
CHANGE_SHIPPED = re.compile(
    r"\b(change|commit|patch|pull request|pr|release|upgrade|https?://\S+)\b[^.;]{0,80}?\b(was|were|"
    r"got|had been|has been) (merged|deployed|pushed( out)?|rolled out|released|applied|shipped)\b"
)
CHANGE_IS_FIX = re.compile(
    r"\b(fix\w*|revert\w*|roll(ed|ing)? ?back|hotfix|mitigat\w*|restor\w*)\b"
)


def _carries_on(view: SentenceView) -> bool:
    """A sentence of a cause's paragraph that goes on with its mechanism ("This flag made the
    workers skip the lock. It then ..."), though it names no cause itself."""
    return (
        view.sentence.block_kind == "paragraph"
        and view.sentence.role in ("cause", "other")
        and _not_rejected(view)
        and not _is_question(view.text)
        and not SPECULATION.search(normalize_quotes(view.text).lower())
        and not re.search(r"\b(unlikely|not clear|unclear|unknown)\b", view.text, re.I)
    )


def _opening_change(views: list[SentenceView], i: int) -> bool:
    """A sentence of the opening paragraphs of a report (before any list, at most one
    paragraph before it) that tells a change being shipped: what set the incident off, in
    short prose reports that open with it ("At 20:25, change Ie5a86 was merged.")."""
    view = views[i]
    if view.sentence.block_kind != "paragraph" or heading_scores(view.heading):
        return False
    before = views[:i]
    if any(v.sentence.block_kind != "paragraph" for v in before):
        return False
    if len({v.block for v in before} - {view.block}) > 1:
        return False
    lowered = normalize_quotes(view.text).lower()
    return (
        bool(CHANGE_SHIPPED.search(lowered))
        and not CHANGE_IS_FIX.search(lowered)
        and _not_rejected(view)
        and not _is_question(view.text)
        and not SPECULATION.search(normalize_quotes(view.text).lower())
        and not re.search(r"\b(unlikely|not clear|unclear|unknown)\b", view.text, re.I)
    )


# "The outage had three causes." then "First, ...", "Second, ...": the factors told in prose.
FACTOR_COUNT = re.compile(
    r"\b(combination of |number of )?(two|three|four|five|several|multiple|a few|a number of) "
    r"(\w+ )?(factors|conditions|causes|reasons|issues|problems|failures|faults|mistakes)\b"
)
ORDINAL_OPENER = re.compile(
    r"^\W*(first|firstly|second|secondly|third|thirdly|fourth|finally|lastly)\b,?\s", re.I
)


def _enumerated_factor(views: list[SentenceView], i: int) -> bool:
    """A sentence that opens with "First," / "Second," ... in a paragraph whose earlier
    sentence counts the causes ("... a combination of three factors.")."""
    view = views[i]
    if view.sentence.block_kind != "paragraph" or not ORDINAL_OPENER.match(view.text):
        return False
    for j in range(i - 1, -1, -1):
        if views[j].block != view.block:
            return False
        lowered = normalize_quotes(views[j].text).lower()
        if FACTOR_COUNT.search(lowered) and _has_cause_signal(views[j]):
            return _not_rejected(view) and not ACTION_CUES.search(view.text.lower())
    return False


def _result_follows(views: list[SentenceView], i: int) -> bool:
    """The next sentence of the paragraph calls itself the result of this one ("Apache loaded
    its sites from that directory. As a result, users were served 404s.")."""
    view = views[i]
    return (
        i + 1 < len(views)
        and views[i + 1].block == view.block
        and view.sentence.block_kind == "paragraph"
        and bool(RESULT_OPENER.match(views[i + 1].text))
        and views[i + 1].sentence.role != "action"  # "As a result, we are taking these steps"
        and not ACTION_CUES.search(normalize_quotes(views[i + 1].text).lower())
        and _not_rejected(view)
        and view.sentence.role != "action"
        and not _is_question(view.text)
    )


def _item_forms(views: list[SentenceView], run: list[list[int]]) -> list[str]:
    return [_row_form(views[item[0]].text, views[item[0]].span) for item in run]


def timelines(views: list[SentenceView], runs: list[list[list[int]]]) -> list[tuple[int, int]]:
    """(first, last) sentence index of every timeline: a list of dated items, two or more of
    them with a clock time (a list of days with durations is a summary, not a timeline)."""
    found = []
    for run in runs:
        forms = _item_forms(views, run)
        clocked = sum(bool(_CLOCK.search(views[item[0]].text[:40])) for item in run)
        if clocked >= 2 and 2 * forms.count("dated") >= len(forms):
            found.append((run[0][0], run[-1][-1]))
    return found


def _pieces(views: list[SentenceView], run: list[list[int]]) -> list[tuple[list[list[int]], str]]:
    """A list cut into pieces of one form (a removed heading between a list of findings and
    a list of actions leaves one run), each with its kind."""
    kinds = smooth_forms(_item_forms(views, run))
    return [(piece, kind) for _, piece, kind in form_pieces(run, kinds)]


def _states_cause(view: SentenceView) -> bool:
    """The sentence's own wording states a cause (whatever role its list gave it)."""
    lowered = normalize_quotes(view.text).lower()
    if CAUSE_REJECTED.search(lowered) or ACTION_CUES.search(lowered) or _is_question(lowered):
        return False
    if REMEDY.search(lowered):
        return False
    score = cause_score(view.text, view.sentence.block_kind)
    return score >= 2.0 or (score > 0 and bool(cue_names(view)))


def _stated_in_narrative(view: SentenceView, consequence_ok: bool = False) -> bool:
    """A prose sentence of a section without a role of its own (the summary, "What
    happened") that states a cause in its own words: a cause even when the report also has a
    cause section ("The root cause was a Grafana Agent pod using a high amount of memory").

    Not hedged ("Potentially causing ..."), and not a consequence told with a pronoun ("This
    in turn caused ...") unless ``consequence_ok``.
    """
    if view.sentence.block_kind != "paragraph" or heading_scores(view.heading):
        return False
    if (CONSEQUENCE.match(view.text) and not consequence_ok) or HEDGED.match(view.text):
        return False
    return _states_cause(view)


def _causal_items(views: list[SentenceView], run: list[list[int]]) -> int:
    """How many items of a list have a sentence whose own wording states a cause."""
    return sum(any(_states_cause(views[i]) for i in item) for item in run)


def _is_factor_run(views: list[SentenceView], run: list[list[int]]) -> bool:
    """Mostly findings or states (not imperatives, plans, dated events, fields or names)."""
    if heading_scores(views[run[0][0]].heading):
        return False  # under a heading with a role of its own (actions, impact, ...)
    forms = _item_forms(views, run)
    statements = forms.count("statement")
    return statements >= min(2, len(run)) and 3 * statements >= 2 * len(forms)


def factor_lists(
    views: list[SentenceView], text: str
) -> tuple[list[list[list[int]]], list[tuple[int, int]]]:
    """Lists of contributing factors of a report without cause headings, and the stretches
    of sentences (exclusive start, inclusive end) where causes are looked for.

    Lists are first cut into pieces of one form (a removed heading between findings and
    actions leaves one run; statements that go on from a dated row continue a timeline). A
    factor list is the first piece after a timeline whose items are mostly findings or
    states; when prose comes between, it must be a piece of which at least half the items
    state a cause in their own words (otherwise it holds lessons or background, and no list
    is taken), and lists after the first list of actions hold lessons, not findings. A
    report of several incidents, each with its own timeline, may put each incident's
    factors just before its timeline instead: then the last such list before each timeline
    counts too. A stretch runs from the previous timeline (or the start) to
    the end of a factor list; the summary above a single timeline only restates its causes,
    and the stretch from the last timeline to its factor list explains them (every sentence
    of it is taken, see :func:`extract_causes`).
    Without a timeline, the first factor list of two or more items of which at least one
    states a cause is taken, and causes are looked for everywhere.
    """
    runs = list_runs(views, text)
    spans = timelines(views, runs)
    # Statements that go on from a dated row in the same list ("13:43 Citoid outage begins",
    # "Cxserver was hit shortly after") continue the timeline: not a list of factors.
    pieces = [
        (piece, kind if _row_form(views[run[0][0]].text) != "dated" else "dated")
        for run in runs
        for piece, kind in _pieces(views, run)
    ]
    factor_runs = [
        piece for piece, kind in pieces if kind == "statement" and _is_factor_run(views, piece)
    ]
    if not spans:
        for run in factor_runs:
            if len(run) >= 2 and _causal_items(views, run) > 0:
                return [run], [(-1, len(views))]
        return [], [(-1, len(views))]
    chosen: list[list[list[int]]] = []
    regions: list[tuple[int, int]] = []
    previous_end = -1
    if len(spans) >= 2:
        for first, last in spans:
            before = [r for r in factor_runs if previous_end < r[0][0] and r[-1][-1] < first]
            if before:
                chosen.append(before[-1])
                regions.append((previous_end, before[-1][-1][-1]))
            previous_end = last
    last_end = spans[-1][1]
    # Findings come before the list of actions; statements after it are lessons.
    action_runs = [
        piece[0][0]
        for piece, kind in pieces
        if piece[0][0] > last_end and len(piece) >= 2 and kind == "action"
    ]
    actions_start = action_runs[0] if action_runs else len(views)
    after = [r for r in factor_runs if last_end < r[0][0] < actions_start]
    # Findings that state a cause ("No version compatibility testing") are preferred over
    # background lists that come first ("The extension is loaded from our CDN").
    stating = [r for r in after if 2 * _causal_items(views, r) >= len(r)]
    if after:
        # A list right after the timeline is its factor list; lists inside an explanation
        # in prose may be background ("The extension is loaded from our CDN").
        direct = all(
            views[k].sentence.block_kind != "paragraph" for k in range(last_end + 1, after[0][0][0])
        )
        pick = after[0] if direct else (stating[0] if stating else None)
        if pick is not None:
            chosen.append(pick)
            regions.append((last_end, pick[-1][-1]))
    if not chosen:
        return [], [(-1, len(views))]
    return chosen, regions


# A bare task marker in front of an item ("Done Split the namespace ...", "TODO: ..."): an item
# of the follow-up list, like a "Status: Done - ..." entry.
TASK_MARKER = re.compile(r"^\W*(done|todo|to-do|wip)\b(?![-'])")


# How the service came back ("The cache sizes were corrected and service was restored"): in a
# list of findings, the fix, not a cause.
RECOVERED = re.compile(r"\b(was|were|got|is|are) (\w+ )?(restored|recovered|resolved|mitigated)\b")


def _factor_causes(text: str, views: list[SentenceView], items: list[list[int]]) -> list[Cause]:
    """One contributing cause per item of a factor list (nested items included)."""
    causes = []
    for item in items:
        lowered = normalize_quotes(views[item[0]].text).lower()
        if (
            not any(_not_rejected(views[i]) for i in item)
            or GOOD_OUTCOME.search(lowered)
            or WENT_WELL.search(lowered)
            or status_entry(lowered)
            or TASK_MARKER.match(lowered)
            or (RECOVERED.search(lowered) and cause_score(views[item[0]].text, "list_item") < 2)
        ):
            continue  # a remedy ("Banning the repository resolved the issue"), a good outcome
        if HEDGED_EFFECT.search(lowered) or HEDGED.match(lowered):
            continue  # a guess the report leaves open ("it might have made things worse")
        if NEXT_STEP.search(lowered):
            continue  # what to do next ("We need to cap the pool:", "We may consider ...")
        head = views[item[0]]
        if is_imperative(head.text, head.span) and not is_finite_statement(head.text, head.span):
            continue  # an action ("Fix bug preventing ...") where a list of actions runs on
        first, last = views[item[0]], views[item[-1]]
        start, end = first.sentence.start, last.sentence.end
        body = text[start:end]
        kind = "root_cause" if ROOT.search(normalize_quotes(body).lower()) else "contributing"
        causes.append(Cause(text=body, start=start, end=end, kind=kind, sentence=item[0]))
    return causes


def _heading_like(view: SentenceView) -> bool:
    """A short line standing alone without closing punctuation ("October 21, 2025 - Redis
    Overload", "**Resolution:**"): the title of a part, not a statement of cause."""
    text = view.text.strip().rstrip("*_ ")
    whole_block = view.block_end - view.block_start <= len(view.text) + 8
    return (
        view.sentence.block_kind == "paragraph"
        and whole_block
        and len(text) < 80
        and "\n" not in text
        and not text.endswith((".", "!", "?"))
        and not (text.endswith(":") and len(text) > 30)  # "The errors were:" introduces
    )


# Template text that describes a section instead of the incident ("Things that could have gone
# better.", "Ideally these should result in concrete action items ...").
SECTION_DESCRIPTION = re.compile(
    r"^\W*(list of )?things that\b|\baction items?\b|^\W*(for example|e\.g\.)\W*$"
)


def _describes_section(view: SentenceView) -> bool:
    """A paragraph sentence that tells what the section holds, not what happened."""
    lowered = normalize_quotes(view.text).lower()
    return view.sentence.block_kind == "paragraph" and bool(SECTION_DESCRIPTION.search(lowered))


# Who suffered and for how long: the impact, told in the explanation of a report.
WHO_SUFFERED = re.compile(
    r"\b(users?|customers?|visitors?|editors?|clients?)\b[^.;]{0,60}\b(were|was|are|is) "
    r"(also |mostly |largely )?(impacted|affected)\b|\bexperienced the (outage|incident|errors)\b|"
    r"\b(outage|incident|downtime|disruption) lasted\b"
)


# A pointer to another document ("(For the corresponding incident, see ...)", "See T1234.").
CROSS_REFERENCE = re.compile(r"^\W*(for [^.;:]{0,60},\s*)?(see|cf\.?)\s")


# A line that only introduces the list below it ("There are some remarks to highlight:", "The
# sequence was as follows:", "Points worth noting:").
LIST_LEAD = re.compile(
    r"^\W*(there (is|are|were|was) (some|a few|several|a number of|two|three|four|many) "
    r"([\w-]+ ){0,3}(remarks|points|notes|observations|things|details|facts)\b[^:]*|"
    r"[^:]*\b(as follows|the following|to highlight|worth (noting|mentioning)|to note))\s*:$"
)


def _explains(view: SentenceView) -> bool:
    """A sentence of the explanation between a timeline and its factor list: prose, or a
    listed finding (not a plan, field or name)."""
    lowered = normalize_quotes(view.text).lower()
    if GOOD_OUTCOME.search(lowered) or ACTION_CUES.search(lowered):
        return False  # how it was resolved, not why it happened
    if HYPOTHETICAL.match(lowered):
        return False  # how the system behaves under a condition
    if CROSS_REFERENCE.match(lowered):
        return False  # "(For a previous occurrence of this, see 2020-01-26.)"
    if WHO_SUFFERED.search(lowered) and not _has_cause_signal(view):
        return False  # "Mobile users were impacted as well.", "The total outage lasted 46 min"
    if LIST_LEAD.search(lowered.rstrip(" *_\n")) and not LEAD_IN_CAUSES.search(lowered):
        return False  # a lead-in ("There are some remarks to highlight:")
    if CAUSE_SEARCH.search(lowered) and not cause_score(view.text, view.sentence.block_kind):
        return False  # the cause not found yet ("We still don't have an exact root cause.")
    return item_form(view.text, view.span) == "statement"


def _is_question(text: str) -> bool:
    return text.rstrip(" *_\n").endswith("?")


# What a fix did or would have done ("resolved the underlying issues", "this worked correctly",
# "would have prevented those copycats"): the remedy, not the cause.
REMEDY = re.compile(
    r"\b(resolved|fixed|addressed|eliminated) the ([\w-]+ ){0,3}(issue|problem|cause)s?\b|"
    r"\bworked (correctly|as (expected|intended)|fine|well)\b|"
    r"\b(was|were|been) (identified|found|diagnosed) and (fixed|resolved)\b|"
    r"\bwould (not )?have (prevented|protected|avoided|caught|stopped)\b|"
    r"\bcould (not )?have been prevented\b"
)


# Background that a cause section also holds: what the team wants or usually does ("For
# outside contributions we want reviewers assigned automatically", "A CODEOWNERS file is
# typically used for this"), an aside ("Honestly, ..."), a pointer to an earlier report ("I
# think this has been reported before: <link>") and the lesson drawn from an effect ("...,
# highlighting how tightly the services are coupled").
BACKGROUND = re.compile(
    r"\bwe (want|'d like|would like|wish)\b|"
    r"\b(is|are) (typically|usually|normally|generally|commonly) (used|done|set|run)\b|"
    r"^\W*(honestly|frankly|to be fair)\b|"
    r"\b(has|have) (already )?been reported (before|previously|upstream|elsewhere)\b|"
    r", (demonstrating|highlighting|underscoring|illustrating) "
)


def _not_rejected(view: SentenceView) -> bool:
    """Neither speculation the text rejects nor a remedy (see ``REMEDY``)."""
    lowered = normalize_quotes(view.text).lower()
    return not (CAUSE_REJECTED.search(lowered) or REMEDY.search(lowered))

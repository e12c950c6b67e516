"""Impact: who and what was affected, with the numbers kept as written.

An impact is a sentence whose primary role is ``impact``, or that has the impact role and
carries a figure. Figures are the numeric entities spaCy finds (percentages, counts,
quantities) widened to the phrase that says what they count ("approximately 100,000 duplicate
emails", "75% of our typical request throughput"), plus durations ("nearly an hour", "for
2 hours") and error rates.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ingest.records import Impact

from .roles import (
    _GERUND_LEAD,
    IMPACT_NOT_REPORTED,
    IMPACT_OBJECTS,
    IMPACT_RESOURCE_PERCENT,
    STATUS_LEAD,
    SentenceView,
    heading_scores,
    is_imperative,
    normalize_quotes,
)

if TYPE_CHECKING:
    from spacy.tokens import Span

NUMERIC_LABELS = {"PERCENT", "CARDINAL", "QUANTITY", "MONEY"}
DURATION = re.compile(
    r"\b(?:(?:about|approximately|around|nearly|almost|over|more than|less than|roughly|~)\s+)?"
    r"(?:\d+(?:[.,]\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|"
    r"fifteen|twenty|thirty|forty|forty-five|ninety|several|a few|half an?)\s*"
    r"(?:-\s*)?(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|h|days?|weeks?)\b",
    re.IGNORECASE,
)
RATE = re.compile(
    r"\b\d+(?:\.\d+)?\s?%(?:\s+(?:of|error|errors|failure|failures|packet|increase|decrease|"
    r"drop|higher|lower)\b(?:\s+(?:our|the|all|its|their))?(?:\s+[\w-]+){0,4})?|"
    r"\b(?:elevated|increased|high|higher) (?:error rates?|latency|levels of \w+)",
    re.IGNORECASE,
)
_CLOCK = r"\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*(?:UTC|GMT|[A-Z]{2,4}T))?"
TIME_RANGE = re.compile(
    r"\b(?:from|between)\s+(?:approximately\s+|about\s+|around\s+|roughly\s+)?"
    + _CLOCK
    + r"\s+(?:to|and|until|till)\s+"
    + _CLOCK,
    re.IGNORECASE,
)
SHARE = re.compile(
    r"\b(?:an?\s+(?:small|large|significant|limited|growing|substantial)\s+(?:number|portion|"
    r"subset|percentage|fraction|share)\s+of|a\s+(?:portion|subset|fraction|majority|minority)\s+of|"
    r"the\s+majority\s+of|(?:some|many|most|all)(?:\s+of)?)\s+(?:our\s+|the\s+|their\s+)?"
    r"(?:[A-Z][\w-]*\s+)?(?:[\w-]+\s+)?(?:customers|users|accounts|requests|messages|emails|"
    r"services|clients|tenants|sites|builds|deployments|queries|visitors|editors)\b",
    re.IGNORECASE,
)
_APPROX = {
    "approximately",
    "about",
    "around",
    "nearly",
    "almost",
    "roughly",
    "over",
    "some",
    "up",
    "to",
    "more",
    "than",
    "less",
    "fewer",
    "~",
}


def _numeric_phrase(span: Span, ent: Span) -> tuple[int, int]:
    """Token range of the phrase an entity counts: its noun chunk, or "X% of <noun phrase>"."""
    doc = span.doc
    start, end = ent.start, ent.end
    # Widen to the noun chunk that contains the entity ("100,000 duplicate emails").
    for chunk in doc.noun_chunks:
        if chunk.start <= ent.start and ent.end <= chunk.end:
            start, end = min(start, chunk.start), max(end, chunk.end)
            break
    # Keep qualifiers that spaCy leaves outside ("approximately", "up to").
    while start > span.start and doc[start - 1].lower_ in _APPROX:
        start -= 1
    # "75% of our typical request throughput": follow "of" to its object's subtree.
    if end < span.end and doc[end].lower_ == "of":
        objects = [t for t in doc[end].children if t.dep_ == "pobj"]
        if objects:
            end = max(end, objects[0].right_edge.i + 1)
    # A bare number followed by what it counts ("421 errors", "3 nodes").
    if end < span.end and end == ent.end and IMPACT_OBJECTS.fullmatch(doc[end].text):
        end += 1
    return max(start, span.start), min(end, span.end)


def impact_figures(view: SentenceView, text: str) -> tuple[str, ...]:
    """Figures of one sentence as written in the source, in order, without duplicates."""
    found: list[tuple[int, int]] = []
    s = view.sentence
    span = view.span
    if span is not None:
        doc = span.doc
        offset = view.offset
        for ent in span.ents:
            if ent.label_ not in NUMERIC_LABELS:
                continue
            if re.fullmatch(r"\d{1,2}", ent.text) and not IMPACT_OBJECTS.search(
                doc[ent.end : ent.end + 1].text if ent.end < len(doc) else ""
            ):
                continue  # a bare small number ("step 2") is not a figure
            tok_start, tok_end = _numeric_phrase(span, ent)
            phrase = doc[tok_start:tok_end].text
            if ent.label_ in ("CARDINAL", "QUANTITY") and not IMPACT_OBJECTS.search(phrase):
                continue  # "the 512 MTU", "296": a number that counts nothing affected
            start = offset + doc[tok_start].idx
            end = offset + doc[tok_end - 1].idx + len(doc[tok_end - 1].text)
            if s.start <= start < end <= s.end:
                found.append((start, end))
    for pattern in (RATE, DURATION, TIME_RANGE, SHARE):
        for match in pattern.finditer(text, s.start, s.end):
            found.append((match.start(), match.end()))
    # "CPU pressure exceeding 90%": a load figure, not one of what was affected.
    lowered = normalize_quotes(text[s.start : s.end]).lower()
    loads = [
        (s.start + m.start(), s.start + m.end()) for m in IMPACT_RESOURCE_PERCENT.finditer(lowered)
    ]
    found = [
        (a, b)
        for a, b in found
        if not any(lo < b and a < hi and "%" in text[a:b] for lo, hi in loads)
    ]
    return _dedupe(text, found)


def _dedupe(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
    """Drop spans contained in another, then return the texts in order."""
    spans = sorted(set(spans), key=lambda p: (p[0], -(p[1] - p[0])))
    kept: list[tuple[int, int]] = []
    for start, end in spans:
        if any(k_start <= start and end <= k_end for k_start, k_end in kept):
            continue
        kept = [(a, b) for a, b in kept if not (start <= a and b <= end)]
        kept.append((start, end))
    return tuple(text[a:b].strip() for a, b in sorted(kept))


# Who suffers: the people a service serves ("users", "a customer", "305 teams").
IMPACT_PARTY = re.compile(
    r"\b(users?|customers?|clients?|visitors?|editors?|readers?|subscribers?|tenants?|"
    r"merchants?|end[- ]users?)\b(?! (support|reports?|tickets?|communications?|success|"
    r"service team|facing)\b)|\b\d[\d,]* (teams|organi[sz]ations|projects|sites)\b"
)
# What they suffered, said after them ("Mobile users were impacted", "users were served with
# 404s", "305 teams saw increased exception volumes", "customers reported critical issues",
# "customers were forced to remove the SDK") or before them ("afflicted some of our customers").
_SUFFERED = (
    r"(impacted|affected|affect|affecting|impacting|experienc(ed|ing)|suffer(ed|ing)|unable|"
    r"could not|couldn't|cannot|can't|were served|saw|seeing|lost|forced to|broken|unusable|"
    r"reported (\w+ ){0,2}(issues?|errors?|problems?|failures?|outages?)|"
    r"receiv(e|ed|ing) (\S+ ){0,3}(errors?|failures?|timeouts?|broken|[45]\d\ds?))\b"
)
PARTY_SUFFERED = re.compile(
    r"("
    + IMPACT_PARTY.pattern
    + r")[^;]{0,100}?\b"
    + _SUFFERED
    + r"|\b(impacted|impacting|affected|affecting|afflicted|disrupted|disrupting|hit) "
    r"(\S+ ){0,4}(" + IMPACT_PARTY.pattern + r")"
)
# A consequence that names what users or services suffered ("..., resulting in an increase in
# latency", "This caused a complete network outage", "so the error-rate spiked").
IMPACT_CONSEQUENCE = re.compile(
    r"\bresult(ed|ing|s)? in (the following |several |multiple |many )?(problems|issues|errors)\b|"
    r"\b(result(ed|ing|s)? in|caus(ed|ing|es)|le(d|ading) to|so the|hence|incurr(ed|ing))\b"
    r"[^.;]{0,80}?\b(outages?|downtime|error[- ]rates?|[45]\d\d (rate|errors|responses)|"
    r"[45]\d\ds|[45]xx|delays|latency|(request |connection )?timeouts|unavailab\w*|lost \w+|"
    r"loss of (data|\w+ data))\b"
)
# How long the harm lasted ("The issue persisted for an additional two days", "They were
# affected for about 6min", "we blocked all traffic ... for a period of ~20 minutes").
HARM_LASTED = re.compile(
    r"\b((issue|outage|problem|incident|degradation|disruption|errors?|failures?)s? "
    r"(persisted|lasted|continued)|(were|was) (affected|impacted|down|unavailable|unreachable|"
    r"degraded|broken)|blocked all)\b[^.;]{0,80}?\b(for|across) "
    r"(a period of |an additional |another |about |approximately |around |nearly |over |~)*"
    r"(\d|an?\b|one|two|three|four|five|six|several|a few)"
)
# A rise in what users see ("elevated levels of 421s", "the elevated errors with our tracking
# services", "a spike in 5xx responses").
HARM_SIGNAL = re.compile(
    r"\b((elevated|increased|higher|high) (levels? of |rates? of |numbers? of )?|"
    r"(increase|rise|spike|surge|jump) in (\S+ ){0,3})"
    r"([45]\d\ds|[45]xx|errors|error rates?|latency|timeouts|failures|failed requests)\b"
)
# A state of harm ("functionality completely broken", "messages were not delivered",
# "EventStreams stopped sending events", "packages were compromised"), or a service said to be
# out of order ("the service was down from 14:27 to 16:11", "enwiki went into read-only mode",
# "which took down swift", "services that forward to others didn't work", "Mediawiki servers
# served HTTP 5xx for 101 seconds", "No further updates were possible", "Etherpad had a
# catastrophic downtime", "the update process started failing").
HARM_STATE = re.compile(
    r"\b(completely|totally|fully|entirely|partially) (broken|down|unavailable|unusable|"
    r"unreachable|inaccessible|unresponsive|offline)\b|"
    r"\bnot (delivered|processed|served|saved|stored|indexed)\b|"
    r"\bstopped (sending|serving|working|responding|processing|accepting|loading|delivering)\b|"
    r"\b(were|was|been|got) (compromised|breached|leaked|corrupted|wiped)\b|"
    r"\b(was|were|went|been|is|are) (\w+ly )?(down|offline|unavailable|unreachable|inaccessible|"
    r"unusable|unresponsive)\b|\b(in|into) read[- ]only mode\b|"
    r"\b(took|take|takes|taking|brought|bring|brings|bringing|knocked) (\S+ ){0,3}?"
    r"(down|offline)\b|"
    r"\b(did not|didn't|does not|doesn't|were not|was not|weren't|wasn't) (\w+ )?work(ing)?\b|"
    r"\b(served|serving|returned|returning|threw|throwing) (\S+ ){0,3}?([45]\d\d|[45]xx)s?\b|"
    r"\b(no|not) (\S+ ){0,3}?(was|were) possible\b|\b(was|were) not possible\b|"
    r"\b(had|suffered|experienced|saw) (an? )?(\S+ ){0,4}?(downtime|outage|disruption)\b|"
    r"\b(started|began|start|begin) (failing|to fail|erroring|timing out|returning errors)\b"
)
# What the incident cost the people running the service ("we had to rerun a number of jobs",
# "waste some hours", "we spent a lot of time deploying and reverting") or how big the impact
# was ("Any impact was minimal and relatively brief").
HARM_COST = re.compile(
    r"\bhad to (re-?run|redo|re-?process|replay|resend|re-?send|rebuild|restore)\b|"
    r"\bwaste(d)? (some |several |many |a few )?hours\b|\bspent a lot of time\b|"
    r"\bimpact (was|were) (minimal|limited|brief|small|minor|significant|severe|major|"
    r"widespread|substantial)\b"
)
# A line labelled as the impact ("**Cross-service impact:** ...", "Severity: major").
IMPACT_LABEL = re.compile(r"^[\W_]*[^:\n]{0,40}\b(impact|affected|severity)\b[^:\n]{0,20}:")
# What the incident hurt, named as ours or as a whole ("The attack only affected our
# JavaScript SDKs", "took down all regions").
SERVICE_HIT = re.compile(
    r"\b(impacted|affected|disrupted|took down|brought down)\b (only |also )?"
    r"(our|all|both|every|the (whole|entire)) "
)
# Wording about the incident that reports no harm to users: how long detection took, an
# apology, a step taken to mitigate ("To mitigate the outage, we disabled ...").
NOT_AN_IMPACT = re.compile(
    r"\bdetection (delay|time)|\bdelay(ed)? (in|before) (detection|detecting|noticing)|"
    r"\b(first|initial) (indication|sign|signs|alert)\b|"
    # The responders at work ("We identified the bug and rolled out the fix", "After several
    # attempts, we were finally able to verify ...", "We also began rotating ..."), a link.
    r"^\W*([^,]{0,40}, )?we (also )?(were (finally )?able to|identified|maintain|"
    r"began(?! to (see|notice|receive|get))|investigated|rolled|deployed|decided|"
    r"tried)\b|"
    r"^[^:\n]{0,60}:\s*<?https?://\S+\W*$|"
    r"\btime to (detect|detection)\b|\bapologi[sz]|\bsorry\b|\b(would|should) (not |n't )?have\b|"
    # What could happen or happens whenever ("A single slow request could fan out to dozens of
    # calls", "In the event of outages, traffic is rerouted from the affected site").
    r"\bcould (potentially |also |easily )?(fan out|cascade|lead to|result in|cause|trigger|"
    r"amplify|affect|impact)\b|^\W*(in the event of|whenever|in case of)\b|"
    r"\b(keep|stop|prevent)\w* [^,.;]{0,60}?\bfrom (affecting|impacting|reaching)\b|"
    r"\b(issued|issuing|offered|offering|provided|providing|refunded)\b[^.;]{0,30}?"
    r"\b(credits?|refunds?|compensation)\b|"
    r"^\W*(in order )?to (mitigate|resolve|fix|address|stop|contain|work around|remedy)\b"
)
# A row of a timeline: the block opens with a date or a clock time ("16:03: ...", "**18:01
# UTC** - ...", "22.26 : ...", "2019-03-24 8:54 ...", "October 24 (72 minutes): ...").
DATED_ROW = re.compile(
    r"^[\W_]*~?(\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\d{1,2}\.\d{2}\s*[:-]|\[\d{1,2}:\d{2}|"
    r"\d{1,2}\s?(am|pm)\b|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}"
    r"(st|nd|rd|th)?\b)",
    re.IGNORECASE,
)


def _block_opening(view: SentenceView, text: str) -> str:
    """The first 40 characters of the block that holds the sentence."""
    return text[view.block_start : min(view.block_end, view.block_start + 40)]


def in_dated_row(view: SentenceView, text: str) -> bool:
    """The sentence belongs to a block that opens with a date or a clock time."""
    return bool(DATED_ROW.match(_block_opening(view, text)))


def _tracked_entry(view: SentenceView, text: str) -> bool:
    """The sentence belongs to an entry that opens with a task status ("Status: Done - ...")."""
    return bool(STATUS_LEAD.match(_block_opening(view, text)))


def states_impact(text: str) -> bool:
    """The sentence says what users suffered ("Mobile users were impacted as well", "At least
    4 customers reported critical issues") or names a consequence users feel ("..., resulting
    in an increase in latency and error rate", "This caused a complete network outage")."""
    lowered = normalize_quotes(text).lower()
    return not NOT_AN_IMPACT.search(lowered) and _harm_stated(lowered)


def _harm_stated(lowered: str) -> bool:
    """:func:`states_impact` for quote-normalised lowercase text already known to be no
    detection delay, apology or mitigation step (``NOT_AN_IMPACT``)."""
    lowered = IMPACT_NOT_REPORTED.sub(" ", lowered)
    if PARTY_SUFFERED.search(lowered) or HARM_LASTED.search(lowered):
        return True
    if HARM_SIGNAL.search(lowered) or SERVICE_HIT.search(lowered):
        return True
    if HARM_STATE.search(lowered) or IMPACT_LABEL.match(lowered) or HARM_COST.search(lowered):
        return True
    return bool(IMPACT_CONSEQUENCE.search(lowered))


def _names_work(view: SentenceView) -> bool:
    """A list item that names a task by its verb ("Add alerting", "Implementing monitoring")."""
    stripped = re.sub(r"^[\W_]+", "", view.text)
    return is_imperative(view.text, view.span) or bool(_GERUND_LEAD.match(stripped))


def extract_impacts(text: str, views: list[SentenceView]) -> tuple[Impact, ...]:
    """Impact statements of one document, each with its figures.

    Action items and timeline entries that mention affected users are left to those lists.
    """
    impacts: list[Impact] = []
    for view in views:
        s = view.sentence
        if heading_scores(view.heading).get("action", 0.0) >= 3.0 or s.role == "action":
            continue  # "Issued credits to all affected customers" is an action item
        if in_dated_row(view, text):
            continue  # a timeline entry ("18:01 UTC - 429 errors for most requests")
        if _tracked_entry(view, text):
            continue  # "Status: Done - Improve the error messages users saw": a follow-up task
        if s.block_kind == "list_item" and _names_work(view):
            continue  # "Implementing alerting for SDK errors", "Add a retry for 5xx responses"
        lowered = normalize_quotes(s.text).lower()
        if NOT_AN_IMPACT.search(lowered):
            continue  # "a 4+ hour detection delay", "we apologize to affected customers"
        stated = _harm_stated(lowered)
        if "impact" not in s.roles and not stated:
            continue
        figures = impact_figures(view, text)
        if s.role != "impact" and not figures and not stated:
            continue
        impacts.append(
            Impact(text=s.text, start=s.start, end=s.end, figures=figures, sentence=s.index)
        )
    return tuple(impacts)

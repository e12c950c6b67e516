"""Sentence roles: cause, timeline, action, impact or other.

A role comes from two kinds of evidence that add up: the heading of the section a sentence
sits under (fuzzy: "Root cause", "Contributing factors", "Timeline", "Action items",
"What we are doing about it", "Impact" ...) and the sentence itself (causal cues, a time
expression leading an event, commitment or progress language, numbers of affected users,
requests or errors). The sentence cues alone are enough when a text has no headings.

:class:`SentenceView` is what every extractor in this package reads: the shared
:class:`~ingest.records.Sentence` plus the spaCy span and the heading it sits under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.records import Sentence

if TYPE_CHECKING:
    from spacy.tokens import Span

ROLE_ORDER = ("cause", "action", "impact", "timeline")  # tie-break, most specific first
MIN_SCORE = 2.0  # a role applies at this score or above


@dataclass(frozen=True)
class SentenceView:
    """One sentence with what the extractors need beyond the record."""

    sentence: Sentence
    span: Span | None  # the spaCy span (offsets relative to its block), None without NLP
    heading: str  # title of the section it belongs to, "" for the preamble
    block: int  # index of the block within the document (sentences of one block share it)
    block_start: int
    block_end: int
    first_in_block: bool = False
    heading_path: tuple[str, ...] = ()  # enclosing headings, outermost first, own heading last
    offset: int = 0  # where the spaCy doc of ``span`` starts in the source text
    after_action_heading: bool = False  # an action heading came earlier at the same level

    @property
    def text(self) -> str:
        return self.sentence.text


def normalize_quotes(text: str) -> str:
    """Straight quotes for curly ones (same length), so cues match either spelling."""
    return text.translate(str.maketrans("\u2018\u2019\u201c\u201d\u2032", "''\"\"'"))


# --- headings ----------------------------------------------------------------------------

_HEADING_RULES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    (
        "cause",
        3.0,
        re.compile(
            r"root[\s-]*cause|\bcauses?\b|contributing|contributors?\b|why (did|it|this|was)|"
            r"what went wrong|\btrigger|\brca\b|five whys|5 whys|failure (mode|analysis)|"
            r"technical (details|analysis|explanation)|\bdiagnosis\b"
        ),
    ),
    (
        "timeline",
        3.0,
        re.compile(
            r"time\s?line|chronolog|sequence of events|\bevents\b|incident log|"
            r"detailed (description|account)|^\s*(\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2})"
        ),
    ),
    (
        "action",
        3.0,
        re.compile(
            r"\bactions?\b|remediat|corrective|prevent|follow[\s-]*ups?|next steps|going forward|"
            r"what (we are|we're|we will|we'll|we) (doing|do|going to do|done)|doing about it|"
            r"improvements?|to[\s-]?dos?\b|future (work|plans?)|lessons|takeaways|"
            r"mitigations? (planned|going forward)|recommendations|"
            r"resilien|fix(es)?\b|changes we|action plan|what('s| is) next|moving forward"
        ),
    ),
    (
        "impact",
        3.0,
        re.compile(
            r"\bimpact|\baffected|customer experience|user experience|symptoms|blast radius|"
            r"who was affected|consequences|\bscope\b|\bdamage\b|delays|duplicate"
        ),
    ),
)
_WEAK_HEADINGS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "timeline",
        re.compile(r"what (actually )?happened|the situation|incident (details|description)"),
    ),
    ("cause", re.compile(r"what happened|investigation|analysis|background|details")),
)


def heading_scores(heading: str) -> dict[str, float]:
    """Role scores a section heading alone gives its sentences (strong 3, weak 1)."""
    lowered = normalize_quotes(heading).lower().strip()
    scores: dict[str, float] = {}
    if not lowered:
        return scores
    for role, weight, pattern in _HEADING_RULES:
        if pattern.search(lowered):
            scores[role] = max(scores.get(role, 0.0), weight)
    if scores:
        return scores
    for role, pattern in _WEAK_HEADINGS:
        if pattern.search(lowered):
            scores[role] = max(scores.get(role, 0.0), 1.0)
    return scores


# --- sentence cues -----------------------------------------------------------------------

CAUSE_STRONG = re.compile(
    r"\bcaused\b|\bcausing\b|\bcauses\b|\bdue to\b|\btrigger(ed|ing|s)?\b|\bas a result of\b|"
    r"\bbecause\b|\bled to\b|\bleads? to\b|\bleading to\b|\bresult(ed|ing|s)? in\b|"
    r"\broot[\s-]cause\b|\bthe cause\b|\bcompound(ed|ing|s)?\b|\bresponsible for\b(?! \w+ing\b)|"
    r"\bcoincid(ed|es|ing) with\b|"
    r"\bcontribut(ed|ing|es?|or|ors) (to|factor)|"
    r"\bintroduc(ed|ing|es) (a |an |additional |the |some |new |extra |significant )*"
    r"(bug|regression|latency|error|issue|problem|load|delay|fault|defect|race)|"
    r"\bstemm(ed|ing|s) from\b|\battributed to\b|\bresulted from\b|\bwas the result of\b|"
    r"\bsource of the (problem|issue)\b|\bexacerbat|\bmade (the situation|things|it|this) worse\b|"
    r"\bcombined with\b|\brace condition\b|\bmemory leak\b|\bdeadlock|\bran out of\b|"
    r"\bexhaust(ed|ion|ing)\b|\bmisconfigur|\boverload(ed|ing)?\b|\bbottleneck"
)
CAUSE_WEAK = re.compile(
    r"\bbug\b|\bregression\b|\bhuman error\b|\btypo\b|\bexpired\b|\bsaturat|\bspike\b|"
    r"\bfailed to\b|\bwithout\b.*\b(limit|check|validation)|\bincorrect(ly)?\b|\bwrong\b|"
    r"\bunexpected(ly)?\b|\bleak\b|\bflood|\bstorm\b|\bcascad|\bretr(y|ied|ies|ying)\b|"
    r"\b(is|was|were|are) related to\b"
)
# A finding that names a problem ("we discovered that our DDoS mitigation was impacting ...").
CAUSE_FINDING = re.compile(
    r"\b(discovered|found|determined|identified|realized|realised|confirmed|traced|learned)"
    r"( \w+)? that\b.*\b(impact|caus|bug|fail|broke|misconfig|overload|exhaust|block|drop|"
    r"reject|leak|stuck|stall|not |wasn't|weren't|incorrect|wrong)"
)
# A cue that names the search for a cause rather than a cause.
CAUSE_SEARCH = re.compile(
    r"\b(determine|determining|find|finding|identify|identifying|search(ing)? for|investigat\w*|"
    r"understand(ing)?|analy[sz]\w*|of|on|into|complete[d]?|for|around|about|regarding|behind)"
    r"\s+(a|the|our|any|its)\s+(root[\s-]cause|cause|source)|"
    r"(root[\s-]cause|cause) (analysis|is (still )?(unknown|unclear))|"
    r"possible causes|what the (possible )?causes|"
    r"as a result of (this|the|these) (outage|incident|event|issue|disruption)s?|"
    r"\bwhether\b.*|\bif\b.*\bcaus\w*|\bto (prevent|avoid|minimi[sz]e|reduce) [^,.;]*"
)
# A result that is a recovery, not a failure ("resulted in our services resuming").
GOOD_OUTCOME = re.compile(
    r"\b(result(ed|ing|s)? in|led to|leading to|caus(ed|ing)|allow(ed|ing)|enabl(ed|ing))\b"
    r".{0,60}\b(resum|recover|restor|normal|stabili[sz]|improv|success|healthy|back to)"
)
# Speculation the text itself rejects.
CAUSE_REJECTED = re.compile(
    r"\bdid not reveal\b|\bdidn't reveal\b|\bruled out\b|\bno evidence\b|"
    r"\b(was|were|is|are) not (the|a) (root[\s-])?cause|\bwasn't (the|a) cause|"
    r"\bnot caused by\b|\bturned out not\b|\bnot (related|responsible)\b|\bdid not cause\b|"
    r"\bwithout customer impact\b"
)

# Commitment or progress with "we" (or a status marker): enough on its own for an action.
ACTION_CUES = re.compile(
    r"\bwe ?(will|'ll|are going to|'re going to|plan to|intend to|are planning|'re planning|"
    r"are (also |currently |now |actively )?(working|developing|adding|implementing|building|"
    r"tuning|reviewing|improving|creating|updating|introducing|migrating|formalizing|evaluating|"
    r"exploring|investing|re-?architecting|redesigning|rolling out|moving|changing)|"
    r"'re (also |currently |now |actively )?(working|developing|adding|implementing|building|"
    r"tuning|reviewing|improving|creating|updating|introducing|migrating|in the process)|"
    r"are (also )?in the process|"
    r"(have|'ve) (already |since |now |also )*(added|implemented|deployed|introduced|"
    r"rolled out|updated|created|improved|increased|moved|migrated|started|begun|fixed|"
    r"put in place|made|changed|enabled|disabled|written|worked|completed|scheduled|"
    r"upgraded|reduced|removed|configured|set up|established)|"
    r"(would|need to|should|must) (add|improve|review|investigate|implement|"
    r"consider|ensure|document|update|create|make|build|set up)|"
    r"(are|'re) going to)|"
    r"\b(rolled out|deployed|shipped|released|applied) (a |the )?(fix|patch|hotfix)\b|"
    r"\baction items?\b|\bfollow[\s-]?ups?\b|"
    r"\(\s*(complete[d]?|planned|in progress|done|ongoing|todo|not started)\s*\)|"
    r"\bTODO\b|\[[ xX]\]|\u2705"
)
# Forward-looking wording that supports an action but is not one by itself.
ACTION_WEAK = re.compile(
    r"\bto prevent\b|\breduce the (likelihood|risk|chance)|\bgoing forward\b|\blonger term\b|"
    r"\bin the future\b|\bwill be (\w+ing|\w+ed)\b|\bexpect (this|the) work\b|\bis underway\b|"
    r"\bunder way\b|\bto avoid\b|\bnext steps?\b|\bto ensure\b"
)
# Sentences that announce actions rather than state one.
ACTION_ANNOUNCEMENT = re.compile(
    r"\b(identified|following|several|some|these|a number of|list of|the following) "
    r"(\w+ )?(actions|steps|changes|measures|improvements|action items)\b(?! to )|"
    r"\b(are|is) (as follows|listed below|below)\b|:\s*$"
)
ACTION_IMPERATIVE = re.compile(
    r"^(add|create|implement|improve|investigate|review|update|document|migrate|upgrade|remove|"
    r"set up|setup|configure|enable|disable|monitor|alert|automate|ensure|introduce|increase|"
    r"reduce|write|build|fix|change|move|replace|deploy|evaluate|consider|define|establish|"
    r"make|limit|test|audit|rotate|switch|separate|split|tune|refactor|train|schedule|"
    r"reconfigure|restrict|clean up|verify|validate|require|track|expose|adjust|extend)\b",
    re.IGNORECASE,
)

IMPACT_WORDS = re.compile(
    r"\bimpact(ed|ing|s)?\b|\baffect(ed|ing|s)?\b|\bdowntime\b|\boutages?\b|\bunavailab|"
    r"\bunable to\b|\berror rates?\b|\belevated (error|latency|levels)|\bdelay(s|ed)?\b|"
    r"\bduplicat|\bdegrad|\btimeouts?\b|\btim(ed|ing) out\b|\blost\b|\bloss\b|\bslow(ed|er)?\b|"
    r"\bfailures?\b|\bfailed\b|\b5\d\d\b|\b4\d\d\b|\berrors?\b|\bdisrupt|\bintermittent|"
    r"\binaccessible\b|\bcould not\b|\bcouldn't\b|\bnot (able|available|reachable)"
)
IMPACT_OBJECTS = re.compile(
    r"\b(users?|customers?|clients?|accounts?|requests?|errors?|emails?|messages?|"
    r"queries|query|builds?|deploys?|deployments?|jobs?|pods?|nodes?|servers?|sites?|pages?|"
    r"visitors?|events?|transactions?|orders?|sessions?|calls?|tenants?|teams?|services?|"
    r"throughput|traffic|capacity|editors?|edits?|launches|uploads?|records?|rows?|"
    r"packets?|connections?|minutes?|hours?|seconds?|days?)\b",
    re.IGNORECASE,
)
NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|"
    r"thousands?|millions?|half|all|most|many|some|several)\b",
    re.IGNORECASE,
)
_LEADING_TIME = re.compile(
    r"^\W*(at|on|by|from|between|around|about|approximately|shortly after|shortly before|"
    r"after|before|until|starting|beginning|as of|circa|~)?\s*"
    r"(\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}|\d{1,2}(am|pm)|"
    r"(mon|tues|wednes|thurs|fri|satur|sun)day|"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d)",
    re.IGNORECASE,
)


def _entity_labels(view: SentenceView) -> list[tuple[str, int]]:
    """(label, position relative to the sentence start) of every entity of the sentence."""
    return [(e.label, e.start - view.sentence.start) for e in view.sentence.entities]


def cause_score(text: str) -> float:
    """How strongly the sentence itself states a cause (0 when it rejects one)."""
    lowered = normalize_quotes(text).lower()
    if CAUSE_REJECTED.search(lowered):
        return 0.0
    if GOOD_OUTCOME.search(lowered) and not CAUSE_WEAK.search(lowered):
        return 0.0
    scrubbed = CAUSE_SEARCH.sub(" ", lowered)
    strong = len(CAUSE_STRONG.findall(scrubbed)) + len(CAUSE_FINDING.findall(scrubbed))
    weak = len(CAUSE_WEAK.findall(scrubbed))
    return min(3.0, 2.0 * strong + 1.0 * weak)


def action_score(text: str, block_kind: str) -> float:
    """How strongly the sentence commits to or reports a corrective/preventive step."""
    lowered = normalize_quotes(text).lower()
    score = 2.0 * min(2, len(ACTION_CUES.findall(lowered)))
    score += 1.0 * min(2, len(ACTION_WEAK.findall(lowered)))
    stripped = re.sub(r"^[\W_]+", "", text)
    if block_kind in ("list_item", "table_row") and ACTION_IMPERATIVE.match(stripped):
        score += 2.0
    elif ACTION_IMPERATIVE.match(stripped) and len(text) < 200:
        score += 1.0
    return min(3.0, score)


# Wording that mentions impact without reporting any ("to prevent customer impact").
IMPACT_NOT_REPORTED = re.compile(
    r"\bto (prevent|avoid|minimi[sz]e|reduce|limit|mitigate) [^,.;]*|"
    r"\b(unable|not able) to (determine|identify|find|reproduce|confirm|verify)\b|"
    r"\bwithout (any )?(customer |user )?impact\b|\bin the event of\b[^,]*|"
    r"\bif this affected\b[^,]*"
)


def impact_score(text: str) -> float:
    """How strongly the sentence describes who or what was affected (figures count most)."""
    lowered = IMPACT_NOT_REPORTED.sub(" ", normalize_quotes(text).lower())
    words = len(IMPACT_WORDS.findall(lowered))
    score = min(2.0, 1.0 * words)
    objects = IMPACT_OBJECTS.search(lowered)
    if words and NUMBER.search(lowered) and objects:
        score += 1.0
    if re.search(r"\d+(\.\d+)?\s?%", lowered) and (words or objects):
        score += 2.0
    return min(3.0, score)


def timeline_score(view: SentenceView) -> float:
    """How strongly the sentence is a dated event: a time leading it counts most."""
    text = view.text
    labels = _entity_labels(view)
    if _LEADING_TIME.match(text):
        return 2.5
    if any(label == "TIME" and pos < 40 for label, pos in labels):
        return 2.5
    if any(label == "TIME" for label, _ in labels):
        return 1.5
    if any(label == "DATE" and pos < 25 for label, pos in labels):
        return 1.0
    return 0.0


def role_scores(view: SentenceView) -> dict[str, float]:
    """Scores per role from the heading (own or enclosing) and the sentence's own cues."""
    scores = {role: 0.0 for role in ROLE_ORDER}
    heads = heading_scores(view.heading)
    if not heads and view.after_action_heading:
        heads = {"action": 1.0}
    if not heads:
        # Sub-headings without a role of their own ("More resilient architecture") inherit a
        # weaker score from the nearest enclosing heading that has one.
        for outer in reversed(view.heading_path[:-1]):
            outer_scores = heading_scores(outer)
            if outer_scores:
                heads = {role: value - 1.0 for role, value in outer_scores.items()}
                break
    for role, value in heads.items():
        scores[role] += value
    text = view.text
    kind = view.sentence.block_kind
    scores["cause"] += cause_score(text)
    scores["action"] += action_score(text, kind)
    scores["impact"] += impact_score(text)
    scores["timeline"] += timeline_score(view)
    if CAUSE_REJECTED.search(normalize_quotes(text).lower()):
        scores["cause"] = min(scores["cause"], 1.0)
    return scores


def assign_roles(view: SentenceView) -> tuple[str, ...]:
    """Every role that applies to the sentence, primary first; ("other",) when none does."""
    scores = role_scores(view)
    ranked = sorted(ROLE_ORDER, key=lambda role: (-scores[role], ROLE_ORDER.index(role)))
    roles = tuple(role for role in ranked if scores[role] >= MIN_SCORE)
    return roles or ("other",)

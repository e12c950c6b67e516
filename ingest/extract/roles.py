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

import functools
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
            r"improvements?|to[\s-]?dos?\b|future (work|plans?)|"
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


# Headings of sections that hold none of the roles (material appended to the report, such as
# "## Logs" or "## References", included): their sentences are "other" unless the sentence
# itself says otherwise, and they end the reach of an earlier action heading.
OTHER_HEADING = re.compile(
    r"^\W*(stats|statistics|metadata|appendix|appendices|glossary|references?|links?|"
    r"useful links|logs?|log (excerpts?|output|links?)|attachments?|screenshots?|resources|"
    r"sources|acknowledge?ments?|participants|attendees|authors?|lessons learned|lessons|"
    r"takeaways|what went well|supporting information|further reading|"
    r"related( (incidents|documents|links|reading|issues|tickets|posts))?|terminology|"
    r"definitions|contact|questions|faq|comments|discussion)\W*$"
)


def heading_scores(heading: str) -> dict[str, float]:
    """Role scores a section heading alone gives its sentences (strong 3, weak 1).

    A heading of a section known to hold none of the roles ("Stats", "Lessons learned")
    scores ``{"other": 3.0}``.
    """
    lowered = normalize_quotes(heading).lower().strip()
    scores: dict[str, float] = {}
    if not lowered:
        return scores
    if OTHER_HEADING.match(lowered):
        return {"other": 3.0}
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
    r"(bug|regression|latency|error|issue|problem|load|delay|fault|defect|race|dependency)|"
    r"\bstemm(ed|ing|s) from\b|\battributed to\b|\bresulted from\b|\bwas the result of\b|"
    r"\bsource of the (problem|issue)\b|\bexacerbat|\bmade (the situation|things|it|this) worse\b|"
    r"\bcombined with\b|\brace condition\b|\bmemory leak\b|\bdeadlock|\b(ran|run) out of\b|"
    r"\b(prevent(ed|ing|s)?|kept|keep(s|ing)?|stopp(ed|ing)|block(ed|ing|s)?) [^.;:]{1,60}? from "
    r"(being |getting |\w+ly )?\w+ing\b|\bbroke (the|our|all|its)\b|\bpart of the problem\b|"
    r"\bthe (main |real |actual |underlying )?(problem|issue)( (of|with) [^.;,]{1,40})? (was|is) "
    r"that\b|"
    r"\b(which|that) cause (the|a|an|it|them)\b|\bresulted on\b|"
    r"(\bthe |^\W*)(main |primary |underlying |root |actual |real )?reason (was|is|for|why)\b|"
    r"\bexhaust(ed|ion|ing)\b|\bmisconfigur|\bover-?load(ed|ing)?\b|\bbottleneck|"
    # "The failures were set in motion by ...", "a job mistakenly dropped the table", "the
    # delete hit a bug in the broker, bringing the cluster into an unrecoverable state", "an
    # unclear runbook delayed recovery".
    r"\bset in motion\b|\bmistaken(ly)?\b|\b(is|was|'s) a mistake\b|"
    r"\bhit(s|ting)? (a|an|the) (\w+ ){0,2}bugs?\b|"
    r"\b(brought|bringing|brings|bring|put|putting|puts|sent|sending|pushed|pushing) "
    r"([\w-]+ ){1,4}into (a |an )?(\w+ )?(degraded|unrecoverable|broken|inconsistent|bad|"
    r"unusable|unresponsive|read-only|split-brain) state\b|"
    r"\bdelay(ed|ing|s)? (\w+ ){0,5}(recovery|resolution|detection|mitigation|diagnosis)\b|"
    # "The immediate cause was ...", "snapshots were not enabled for the database hosts", "the
    # queue wasn't designed to fail over", "engineers were unaware of the file size limit".
    r"\b(proximate|immediate|direct|primary|main|underlying|ultimate|technical|actual|real) "
    r"causes? (of|was|is|were|are)\b|\b(was|were|is|are)(n't| not) (designed|enabled)\b|"
    r"\bunaware (of|that)\b|"
    # "The script has a bug and truncates the binary", "the rules were not correctly applied".
    r"\b(has|had|have|contains|contained) (a|an) (\w+ ){0,2}bug\b(?! (tracker|report|bounty|fix))|"
    r"\b(was|were|is|are|been)(n't| not) (correctly|properly) \w+(ed|en)\b|"
    # "The lockups stalled the network stack", "retries flooded the queue", "the backfills
    # consumed shared resources", "the scheme did not provide adequate relief", "the database
    # was already saturated with queued writes", "introduced different but related regressions".
    r"\b(stall|flood)(ed|s|ing) (the|all|its|our|their)\b|"
    r"\bconsum(ed|ing|es) (\w+ ){0,2}(resources|capacity|memory|cpu|connections)\b|"
    r"\b(did not|didn't|does not|doesn't|failed to) (provide|have|offer|give) (adequate|enough|"
    r"sufficient)\b|\bsaturated with\b|\b(was|were) (already |fully |completely )?saturated\b|"
    r"\bintroduc(ed|ing|es) ([\w-]+ ){0,3}(bugs?|regressions?|latency|errors?|issues?|problems?|"
    r"load|delays?|faults?|defects?|races?|dependency)\b|"
    # "The client picked the right host but didn't use the right database name".
    r"\b(did not|didn't|does not|doesn't|was not|wasn't|were not|weren't) (use|using|pick|picking|"
    r"read|reading|point|pointing|select|selecting|send|sending|set|setting|load|loading)( to)? "
    r"the (right|correct|proper|expected)\b|"
    # "The core issue was a mismatch ...", "The incident began ... when GCP deployed ...",
    # "Initial mitigation attempts were hampered by red herrings".
    r"\bthe (core|main|primary|underlying|real|actual|fundamental) (problem|issue|flaw|culprit) "
    r"(was|is)\b(?! (\w+ly )?(identified|found|located|fixed|resolved|terminated|removed|"
    r"killed|stopped|addressed|mitigated)\b)|"
    r"\b(incident|outage|issue|problem|disruption)s? (began|started) [^.;]{0,40}\bwhen\b"
    r"(?! (\w+ ){0,2}(detected|noticed|reported|alerted|paged|saw|observed|flagged)\b)|"
    r"\b(hampered|hindered) by\b|"
    # "The culprit was determined to be this commit" (not "the culprit was identified").
    r"\bthe (\w+ )?culprit (was|is)\b(?! (\w+ly )?(identified|found|located|fixed|resolved|"
    r"terminated|removed|killed|stopped)\b)|"
    # "images were impacted by an issue with our cache servers": a cause in the passive.
    r"\b(impacted|affected|disrupted|degraded)\b[^.;]{0,80}\bby an? (\w+ ){0,2}(issue|problem|bug|"
    r"fault|failure) with\b|"
    # "Debugging was complicated by ...", "Redis is a single point of failure".
    r"\bcomplicated by\b|\bsingle point of failure\b|\binfinite loop\b|"
    # "the automation failed, extending a 2 minute outage to two hours"
    r"(?<!\ban )(?<!\bthe )(?<!\ba )"  # not "an extended outage"
    r"\b(extend(ed|ing|s)?|prolong(ed|ing|s)?|lengthen(ed|ing|s)?)\b[^.;]{0,60}\b(outage|downtime|"
    r"disruption)s?\b|"
    # "Key issues included previously unknown network limits ..."
    r"\b(key|main|primary|underlying|contributing) (issues|problems|factors|causes) "
    r"(included|were)\b|"
    # "The retry storm overwhelmed the queue", "a reboot exposed a latent bug in the driver".
    r"\boverwhelm(ed|ing|s)?\b|"
    r"\bexpos(ed|ing|es) (a |an |the |several |some |various )?(\w+ ){0,2}(bug|issue|limitation|"
    r"weakness|flaw|defect|problem|race condition|bottleneck)s?\b|"
    # A safeguard that did not do its job: "the validator failed to detect the bad file".
    r"\bfailed to (detect|catch|flag|notice|prevent|block|reject)\b|"
    # A ceiling met: "the autoscaler hit its node quota", "our token limits were reached".
    # "its unresponsiveness led the balancer to remove the servers" (not "led us to look at").
    r"\bled (the|a|an|its|our|their|these|those|many|some) ([\w-]+ ){0,3}to (?!(investigat|look|"
    r"check|believe|think|conclude|escalat|page|alert|notic|discover|find|identif|suspect|"
    r"question|review)\w*)\w+|"
    # A condition and the check it disabled: "Ping checks do not page, so the first failure
    # went unnoticed", "the file is not in git so nobody would be told of a change".
    r"\bso ([\w-]+ ){1,5}(would not|wouldn't|could not|couldn't|did not|didn't|was not|wasn't|"
    r"were not|weren't|never)\b(?! (lose|lost|affect|impact)\w*)|"
    r"\bso (nobody|no one) (would|could|was|were|knew|noticed)\b|"
    r"\b(hit|hitting|reach(ed|ing)?|exceed(ed|ing)?|encounter(ed|ing)?) (the |a |its |their |our )?"
    r"(\w+ ){0,3}(limits?|quotas?)\b|\blimits? (was|were) (also )?(hit|reached|exceeded|"
    r"encountered)\b|"
    # The cause named by its relation to the incident: "I traced the outage back to a cache
    # change", "This outage is a direct consequence of ...", "a limit of 10K consumers, which
    # has been hit", "the patch contained a typo".
    r"\b(traced|tracked|narrowed) ([\w-]+ ){0,4}(back |down )?to\b(?! (see|find|check|confirm)\b)|"
    r"\b(is|was|are|were) (a |the )?(direct |natural |known |further )?(consequence|side[ -]effect|"
    r"byproduct|by-product)s? of\b|\bas a (direct )?consequence of\b|"
    r"\b(limits?|quotas?|ceiling)\b[^.;]{0,60}\b(which |that )?(has|have|had) (also )?been "
    r"(hit|reached|exceeded)\b|"
    r"\b(has|had|have|contains|contained) (a|an) (\w+ ){0,2}(typo|mistake|flaw|defect)\b|"
    # "The plan did not use the index, so it ended up scanning every row"
    r"\bso (it|this|that|they|the [\w-]+) (\w+ )?ended up\b|"
    # What a fault did next: "The rule blocked legitimate traffic", "The outage cascaded into
    # other services", "a stolen laptop, allowing the attacker to ...".
    r"\bblock(ed|s|ing) (all |legitimate |the |some |most |incoming |outgoing |new )?([\w-]+ )?"
    r"(traffic|requests|connections|access|writes|logins)\b|\bcascad(ed|ing|es) (in)?to\b|"
    r"\b(enabling|allowing|letting|allowed|enabled) (the |an? )?(attacker|intruder|threat actor|"
    r"unauthori[sz]ed|malicious|adversar)|"
    # A lack or a weakness told as a predicate: "newer products lacked robust recovery
    # procedures", "QA is insufficient", "the install did not contain the bug fix", "the change
    # didn't take effect until a week later", "it was meant to be fixed by ...", "this change made
    # the cluster dependent on ...", "set the stage for", "prolonging the recovery", "broke many
    # tools", "hindering their ability to ...".
    r"\black(ed|s)\b|\b(is|was|are|were) (\w+ )?(insufficient|inadequate)\b|"
    r"\b(did not|didn't|does not|doesn't) (contain|include|have) (an? |the )?(\w+ ){0,2}"
    r"(bug ?fix|fix|patch)(es)?\b|\b(did not|didn't|does not|doesn't) take effect\b|"
    r"\b(is|was|are|were) (meant|supposed) to (be fixed|have been fixed|fix|prevent)\b|"
    r"\bmade ([\w-]+ ){1,5}(dependent on|vulnerable to|susceptible to)\b|\bset the stage for\b|"
    r"\b(prolong|extend|lengthen)(ed|ing|s)? (the |its |our )?(recovery|resolution|restoration)\b|"
    r"\bbroke (many|several|most|some|multiple|every|critical|various)\b|"
    r"\b(hinder|hamper|imped)(ed|ing|es|s)? (the |our |their |its )?(\w+ )?(ability|recovery|"
    r"efforts?|diagnosis|investigation|response)\b|"
    # What slowed detection or repair, and what a shortfall led to: "It was difficult to get in
    # touch with the owners", "checks are suppressed, so no other paging was sent", "capacity is
    # far below that, so the system stagnated".
    r"\b(was|were) (\w+ )?(hard|difficult|tricky|impossible) to (spot|notice|detect|catch|see|"
    r"diagnose|debug|reach|get in touch|find|identify|foresee)\b|"
    r"\bso no (other |further )?(paging|pages?|alerts?|alarms?|notifications?)\b|"
    r"\bso (the|it|this|our|its) ([\w-]+ ){0,2}(stagnated|stalled|crashed|fell over|went down|"
    r"froze|hung)\b"
)
CAUSE_WEAK = re.compile(
    r"\bbug\b|\bregression\b|\bhuman error\b|\btypo\b|\bexpired\b|\bsaturat|\bspike\b|"
    r"\bfailed to\b|\bwithout\b.*\b(limit|check|validation)|\bincorrect(ly)?\b|\bwrong\b|"
    r"\bunexpected(ly)?\b|\bleak\b|\bflood|\bstorm\b|\bcascad|\bretr(y|ied|ies|ying)\b|"
    r"\b(is|was|were|are) related to\b|\bnot (correctly|properly)\b|\bincompatib|"
    r"\bbreaking change\b|\bcompatibility (break|issue|problem)\b|\bhence\b|"
    r"\bunder-?(sized|provisioned)\b|\black(ed|s|ing)? (sufficient|enough|adequate)\b"
)
# A deficiency named as a noun phrase: how "Contributing factors" lists are written.
CAUSE_DEFICIENCY = re.compile(
    r"^\W*(no|lack of|lacking|insufficient|missing|too (much|many|high|low|little|few|close|"
    r"early|late)|not enough|inadequate|poor|absence of|unclear|without|only|limited|"
    r"unintentional|accidental|unexpected|outdated|manual|misbehaving|dependency on)\b|"
    r"\b(was|were|is|are|been) not (configured|in place|monitored|managed|tested|running|"
    r"possible|set up|documented|covered|locked|pinned|noticed|detected)\b|"
    r"\bnot (configured|in place|monitored|managed|tested|possible|locked|pinned)\b|"
    r"\bno (alert|alerts|alerting|monitoring|documentation|version lock|tests?|testing|"
    r"runbook|playbook|record|owner|limits?|backups?|redundancy)\b|\bhad no\b|"
    r"\b(don't|do not|didn't|did not|doesn't|does not) (yet |currently |still )?have\b|"
    r"\bthere (was|were|is|are) (no|only one)\b|\bcomplicated by\b|"
    r"\bmade (it|this|things|\w+ing)\b[^.]{0,30}\b(more difficult|harder)\b"
)
# A lack stated as a clause ("There was no verification step to confirm releases", "we had
# no alerts on ..."): a contributing factor in prose too.
LACK_STATED = re.compile(
    r"\b(there (was|were) no|(we|they|it) (had|have) no|(we|they) (did not|didn't|do not|don't) "
    r"have( any)?) (\w+ ){0,2}(verification|validation|check|checks|test|tests|testing|alert|"
    r"alerts|alerting|monitoring|documentation|runbook|playbook|process|review|limit|limits)\b"
)
# A finding that names a problem ("we discovered that our DDoS mitigation was impacting ...").
CAUSE_FINDING = re.compile(
    r"\b(discovered|found|determined|identified|realized|realised|confirmed|traced|learned)"
    r"( \w+)? that\b.*\b(impact(ed|ing|s)\b|caus|bug|fail|broke|misconfig|overload|exhaust|block|"
    r"drop|reject|leak|stuck|stall|not |wasn't|weren't|incorrect|wrong)"
)
# A cue that names the search for a cause rather than a cause.
CAUSE_SEARCH = re.compile(
    r"\b(determine|determining|find|finding|found|identify|identifying|located|fixed|addressed|"
    r"search(ing)? for|investigat\w*|"
    r"understand(ing)?|analy[sz]\w*|of|on|into|complete[d]?|for|around|about|regarding|"
    r"behind)\s+(a|the|our|any|its)\s+(root[\s-]cause|cause|source)|"
    # "We find out the root cause and ...", not "I tracked down the actual root cause:" (it
    # introduces the cause)
    r"\b(find(s|ing)? out|found out|track(s|ed|ing)? down|figur(e|es|ed|ing) out|pin(ned)? down)"
    r"\s+(a|the|our|any|its)\s+((actual|real|exact|underlying|true|likely|probable)\s+)?"
    r"(root[\s-]cause|cause|source)(?!\s*:)|"
    # "The cause of the problem was immediately apparent": that it was found, not what it was
    r"\bthe (root[\s-])?cause (of (the|this|that) \w+ )?(was|is|became) (immediately |quickly |"
    r"soon |now |not |still )?(apparent|clear|obvious|evident|unclear|unknown)\b(?!\s*[:,-])|"
    r"\b(explored|considered|examined|investigated|checked) (various |several |possible |"
    r"potential |other |many )?causes\b|"
    # "engineers identified the root cause by 13:01" (not "identified the root cause as ...")
    r"\b(identified|pinpointed|diagnosed|traced)\s+(the|its)\s+(root[\s-]cause|cause)"
    r"(?!\s+(as|to be|to)\b|\s*:)|"
    r"(root[\s-]cause|cause) (analysis|(is|was|remained|remains) (still )?(unknown|unclear))|"
    # "an alert ..., leading to an immediate investigation": what the alert set in motion
    r"\b(leading to|led to|resulting in|resulted in|triggering|triggered|prompting|prompted) "
    r"(an? |the )?(\w+ )?(investigation|escalation|review|page|alert)s?\b|"
    r"possible causes|what the (possible )?causes|\broot[\s-]?caused\b|"
    r"\broot[\s-]cause (finding|identification|was found|was identified)(?! as| to be)|"
    r"different root[\s-]causes|"
    r"\banother root[\s-]cause\b|"
    r"\b(don't|do not|didn't|did not|doesn't) (yet )?(have|know) (an?|the|any)"
    r"( exact| clear| definitive| final)? root[\s-]cause|"
    r"as a result of (this|the|these) (outage|incident|event|issue|disruption)s?|"
    r"\bwhether\b.*|\bif\b.*\bcaus\w*|\bto (prevent|avoid|minimi[sz]e|reduce) ((?!\bbut\b)[^,.;])*|"
    # "a scheduled pipeline was automatically triggered": what started, not what caused it
    r"\b(was|were|got|been|being|is|are) (\w+ly )?triggered\b(?! (by|during)\b)"
    r"(?![^.;]{0,40}\bwhen\b)|"
    # "not because we had planned for them": the cause it names is denied
    r"\bnot because\b|"
    # A design's purpose ("We run two pools because it lets us drain one"), and the reason for
    # a response ("The release was rolled back due to rising errors"): not the incident's cause.
    r"\bbecause (it|this|that) (lets|allows|enables|helps|makes it (easier|simpler|possible))\b|"
    r"\b(rolled back|reverted|depooled|paused|halted|aborted) (\w+ ){0,2}(due to|because of)\b|"
    # "resulted in the following problems:" announces the consequences listed below it
    r"\b(result(ed|s|ing)? in|led to|lead(s|ing)? to|caus(ed|es|ing))\b[^.:]{0,40}"
    r"\bthe following\b.*:\W*$"
)
# A result that is a recovery, not a failure ("resulted in our services resuming").
GOOD_OUTCOME = re.compile(
    r"\b(result(ed|ing|s)? in|led to|leading to|caus(ed|ing)|allow(ed|ing)|enabl(ed|ing))\b"
    r".{0,60}\b(resum|recover|restor|normal|stabili[sz]|improv|success|health(y|ier)|back to|"
    r"mitigat|correct (itself|themselves)|self-heal)|\bwithout causing\b|"
    r"\b(changes?|fix(es)?|patch(es)?) that (resolved|fixed|addressed|mitigated)\b|"
    # "Our staged rollout prevented this from having an impact on the databases"
    r"\bprevent(ed|s|ing)? (this|it|that|them|the \w+) from (having|causing|affecting|impacting|"
    r"reaching)\b"
)
# An item that opens with the status of a tracked task ("Status: Done - ...", "Status: Declined
# - Fix ...", "Status: on-going - Audit ..."): an action whatever its wording, never a finding.
STATUS_LEAD = re.compile(
    r"^\W*status\s*:\s*(done|resolved|fixed|complete[d]?|closed|on-?going|in[ -]progress|started|"
    r"declined|unresolved|open|to ?do|planned|pending|not started|won'?t ?fix)\b",
    re.IGNORECASE,
)
# A status entry that marks a note, not a task ("Status: informational - ...", "Status: None").
STATUS_NOTE = re.compile(r"^\W*status\s*:\s*(informational|info|n/?a|none)\b", re.IGNORECASE)


def status_entry(text: str) -> str:
    """``task`` for an item that opens with the status of a task ("Status: Done - ..."),
    ``note`` for an "informational" one, else ""."""
    normalized = normalize_quotes(text)
    if STATUS_LEAD.match(normalized):
        return "task"
    return "note" if STATUS_NOTE.match(normalized) else ""


# What should have happened in this incident and did not ("The operator should have checked the
# output", "the alert should not have been silenced"): a finding about the incident (a cause
# when its words name one), neither advice nor a step to take. A noun phrase after "should
# have" ("should have an owner") is a requirement, not hindsight.
HINDSIGHT = re.compile(
    r"\b(should|ought to)(n't| not)? have (been |had )?(?!(an?|the|that|this|these|its|their|our|"
    r"some|more|better|at|no|enough|dedicated|separate)\b)([a-z]+(ed|en|n|t)|run|done|made|put|"
    r"set|found)\b",
    re.IGNORECASE,
)
# A cue the sentence breaks off after ("no nodes were pooled due to"): it names no cause.
CAUSE_DANGLING = re.compile(r"\b(due to|because of|caused by|as a result of)\s*$")
# Speculation the text itself rejects.
CAUSE_REJECTED = re.compile(
    r"\bdid not reveal\b|\bdidn't reveal\b|\bruled out\b|\bno evidence\b|"
    r"\b(was|were|is|are) not (the|a) (root[\s-])?cause|\bwasn't (the|a) cause|"
    r"\bnot caused by\b|\bturned out not\b|\bnot (related|responsible)\b|\bdid not cause\b|"
    r"\bwithout customer impact\b|\b(we|they) (were|are) not (affected|impacted)\b|"
    r"\bthere (was|were) no (loss|impact|outage|downtime|disruption)\b|"
    r"^\W*(luckily|fortunately|thankfully)\b|"  # what went right
    # "So it caused a short slowdown, not an outage": a consequence whose cause is a pronoun.
    r"^\W*so,? (it|this|that) (caused|resulted|led)\b|"
    # What the incident did, not what caused it: "The incident resulted in 31 hours of
    # downtime", "These issues led to ...", "Customer impact included ...", an apology for
    # "the inconvenience caused".
    # ("This degradation affected a few repositories due to a fileserver going offline" names
    # its cause after all.)
    r"^(?!.*\b(due to|because of|caused by)\b)"
    r"\W*(the|this|these|that|those)( \w+)? (incidents?|outages?|disruptions?|issues|compromise|"
    r"breach|degradation|downtime) (also |further |then |ultimately |eventually |in turn )?"
    r"(caused|resulted|led|meant|left|affected|impacted)\b|"
    r"^\W*(the )?(\w+ )?(customer |user )?impact (included|includes|was|were)\b|"
    r"\bapologi[sz]|\bapology\b|\binconvenience\b|"
    # What a service went through and what that did ("X experienced lookup failures, leading
    # to SERVFAIL responses"), with no cause named before it.
    r"^(?!.*\b(due to|because|caused by|after|when|following)\b).*(\b(experienced|suffered)\b"
    r"[^.;]{0,150}?|\b(were|was) (\w+ )?(affected|impacted),? )\b(leading to|resulting in)\b|"
    r"\b(were|was) (\w+ )?not (affected|impacted) because\b|"
    # How the incident was noticed: "began receiving reports that uploads were failing",
    # "The first indication of trouble was ...", "Ann noticed at 09:10 that logins failed".
    r"^(?!.*(\bdue to\b|\bbecause\b|\bcaus)).*\b((began|started) (receiving|getting) "
    r"reports|received (a |an |several |many )?(warnings?|alerts?|reports?|pages?|notifications?) "
    r"(from|about|saying|that)|noticed (\w+ ){0,4}that|(first|initial) (indication|sign|symptom)s? "
    r"(of|was))\b|"
    # The response, not the cause: "The fix involved restarting ...", "it was decided to ...".
    r"^(?!.*\b(due to|because|caused by|led to|result(ed|ing)? in)\b).*\b(it was decided|"
    r"the decision was made|we decided|(we|they|the team) chose) to\b|"
    r"^\W*(the )?(\w+ )?(fix|mitigation|workaround|remediation) (involved|was to|consisted)\b|"
    # What the fault did to users, and nothing more: "As a result of this lag, users saw stale
    # pages", "The bad cache key led to customer issues", "..., resulting in a total downtime
    # of 40 minutes".
    r"^\W*as a result of (this|that|these|those)( \w+){0,3}, (\w+ ){0,3}(customers|users|clients|"
    r"visitors|players|developers)\b|"
    r"\b(led to|lead to|leads to|resulted in|result in|caused) (\w+ ){0,3}(user|customer)"
    r"(-facing| facing)? (impact|problems|issues)\b|"
    r"\b(resulting in|leading to) (a |an )?(total |combined |overall |cumulative )?"
    r"(downtime|outage|disruption) of\b"
)

# Verbs of follow-up work after "has since" ("Acme has since added ...").
SINCE_WORK = (
    r"(added|implemented|deployed|introduced|rolled out|updated|created|improved|increased|"
    r"moved|migrated|fixed|put in place|made|changed|enabled|disabled|upgraded|reduced|removed|"
    r"configured|set up|established|patched|replaced|hardened|expanded|audited|reviewed|"
    r"completed|shipped|automated|documented|rewritten|redesigned|tightened)"
)

# A team at work on a follow-up ("The storage team is adding capacity alerts", "Engineers are
# rewriting the cache client") and a team that has done one ("The team has also updated its
# runbook").
TEAM_SUBJECT = r"\b(?:the )?(?:\w+ ){0,2}(?:team|teams|engineers|engineering|company|staff)"
TEAM_AT_WORK = (
    TEAM_SUBJECT + r" (?:is|are) (?:also |now |currently |actively |already )*(?:adding|creating|"
    r"updating|improving|building|rebuilding|expanding|hardening|automating|introducing|"
    r"rewriting|reworking|redesigning)\b"
)
TEAM_DID = TEAM_SUBJECT + r" (?:has|have) (?:also |already |now |since )*" + SINCE_WORK + r"\b"
# "Acme is taking steps to ...", "we are making changes to ...": work under way (only our own
# changes: "that GitHub is making changes to simplify them" says why something is hard).
TAKING_STEPS = (
    r"\b(?:is|are|'re) (?:also |now |currently |actively |already )*taking (?:steps|measures|"
    r"action)\b|\bwe(?: are|'re) (?:also |now |currently |actively |already )*making "
    r"(?:changes|improvements)\b"
)

# Follow-up work named by a noun that heads a list of it ("Key remediation steps include ...",
# "Storage improvements involve ...", "Future plans include ...", "Schema updates are planned").
NAMED_WORK = (
    r"(?:improvements|changes|actions|measures|remediations?|safeguards|initiatives|efforts|"
    r"steps|plans|fixes|updates|upgrades|enhancements)"
)
# The same in the present tense only: work named, not reported as done ("... included ...").
NAMED_WORK_PLANNED = NAMED_WORK + r" (?:include|includes|involve|involves|are (?:also )?planned)\b"

# Work under way told in provider prose, whoever does it.
PROGRESS_PROSE = (
    # "The retry bug in the client is also being addressed", "the scheduler is being rewritten".
    r"\b(?:is|are) (?:also |now |currently )?being (?:addressed|fixed|reworked|rewritten|"
    r"redesigned|re-?architected|hardened|revised|remediated|refactored)\b|"
    # "Improvements to X, along with Y, are also underway": the work heads a long subject.
    # Not the recovery ("Work ... is underway to restore the remaining volumes").
    r"^\W*(?:\w+ ){0,3}(?:improvements|changes|fixes|upgrades|enhancements|work|efforts?|"
    r"projects?|initiatives?)\b[^.;]{0,120}?\b(?:is|are) (?:also |now |already )?(?:underway|"
    r"under way|in progress|ongoing)\b(?! to (?:restore|recover|mitigate|bring|return|resolve)\b)|"
    # "Acme has launched a 'Safe Deploys' initiative", "has initiated a project to ...".
    r"\b(?:has|have) (?:also |now |recently )?(?:initiated|launched|started|kicked off|begun|"
    r"set up|formed) (?:a|an|the) [^.;]{0,40}?\b(?:program|programme|project|initiative|"
    r"workstream|working group|task force)\b|"
    # "The company is conducting a thorough review to learn from the outage".
    r"\b(?:is|are) (?:also |now |currently )?(?:conducting|undertaking|carrying out|performing) "
    r"(?:a|an) [^.;]{0,40}?\b(?:review|audit|assessment)\b"
)

# A fix proposed for later ("A fix proposed was to drop the lock while logging", "A cleaner
# solution would remove the nested lock"); not hindsight ("The proper fix would have been ...").
SUGGESTED_FIX = (
    r"\b(?:fix|solution|approach|remedy)(?:es|s)? (?:suggested|proposed|recommended) "
    r"(?:is|was|would be) to\b|"
    r"\b(?:suggested|proposed|recommended) (?:fix|solution|approach|remedy) (?:is|was|would be)\b|"
    r"\b(?:better|cleaner|more robust|long[- ]term|longer[- ]term|permanent|proper|preferred|"
    r"more desirable|complete|durable) (?:and (?:\w+ ){1,2})?(?:solution|fix|approach|remedy) "
    r"(?:would|will|is to)\b(?! have\b)"
)
# Safeguards the provider reports it added since ("Acme implemented additional safeguards,
# including ...", "They also built new tools for customers", "installed enhanced detection
# tools"): done follow-ups.
MEASURES_ADDED = (
    r"\b(?:implemented|introduced|added|deployed|installed|put in place|rolled out|developed|"
    r"built|created|shipped|adopted|enforced) (?:several |a number of |a series of |a set of )?"
    r"(?:additional|new|further|extra|stricter|stronger|improved|enhanced|more) (?:[\w-]+ ){0,2}"
    r"(?:measures|safeguards|controls|protections|checks|tools|tooling|alerts|alerting|"
    r"monitoring|limits|guardrails|processes|procedures|validations?|defen[cs]es)\b"
    # Not tools made to work through the incident ("built new tools to drain the backlog").
    r"(?![^.;]*\b(?:backlog|to (?:restore|recover|mitigate|drain|clear|bring back)\b))"
)

# A requirement put in place since ("The other repositories were configured to require
# review before a push", "Token scopes have been tightened to restrict writes"): a done
# follow-up; not the block that stops an attack ("The firewall was updated to block them").
RESTRICTION_ADDED = (
    r"\b(?:was|were|has been|have been) (?:\w+ly )?(?:configured|updated|changed|modified|"
    r"tightened|adjusted|refreshed|revised|reconfigured|hardened) to (?:now |also )?(?:require|"
    r"enforce|restrict|disallow|forbid)\b"
)

# A change made since so that it cannot happen again ("New alerting has been deployed to catch
# expiring certificates in the future", "the plugin was removed to prevent recurrence", "...
# and added safeguards to prevent ..."), not one that stops the damage ("... disabled to
# prevent further abuse").
PREVENTION_DONE = (
    r"\b(has|have|had) been (\w+ly )?(added|deployed|implemented|introduced|put in place|updated|"
    r"configured|built|installed|enabled|tightened|hardened|removed|disabled|changed|modified|"
    r"adjusted)\b[^.;]*(\bto (prevent|avoid|protect|guard|catch|detect)\b(?! (any )?further\b)|"
    r"\bin the future\b|\bgoing forward\b|\brecurrence\b|\bfrom (recurring|happening again)\b)|"
    r"\b(was|were) (\w+ly )?(\w+ and (then )?(\w+ly )?)?(removed|replaced|added|introduced|"
    r"implemented|put in place)\b[^.;]*\bto prevent (a )?(recurrence|similar|future)\b|"
    r"\b(added|introduced|implemented|built|installed|put in place) (\w+ ){0,3}(safeguards?|"
    r"guardrails?|protections?|validation checks?)\b"
)
# Work under way told in the third person ("AWS is reviewing ...", "Acme is now manually
# auditing ...", "is working to modify ..."): a role cue here, in-progress status in actions.
THIRD_PERSON_WORK = (
    r"\b(?:is|are) (?:also |now |currently |actively |already )*(?:\w+ly )?(?:working on|"
    r"working to|reviewing|implementing|enhancing|collaborating|developing|building|"
    r"prioriti[sz]ing|investing in|evaluating|rolling out|re-?architecting|redesigning|exploring|"
    r"introducing|auditing|establishing|strengthening|hardening)\b"
)
# Commitment or progress with "we" (or a status marker): enough on its own for an action.
ACTION_CUES = re.compile(
    # "we will see this again" predicts; it commits to nothing.
    r"\bwe ?(?!(will|'ll) (probably |likely |again )?(see|experience|encounter|run into)\b)"
    r"(will|'ll|are going to|'re going to|plan to|intend to|are planning|'re planning|"
    r"are (also |currently |now |actively |already )*(working|developing|adding|implementing|"
    r"building|tuning|reviewing|improving|creating|updating|introducing|migrating|formalizing|"
    r"evaluating|exploring|investing|re-?architecting|redesigning|rolling out|moving|changing)|"
    r"'re (also |currently |now |actively )?(working|developing|adding|implementing|building|"
    r"tuning|reviewing|improving|creating|updating|introducing|migrating|in the process)|"
    r"are (also )?in the process|"
    r"(have|'ve) (already |since |now |also )*(added|implemented|deployed|introduced|"
    r"rolled out|updated|created|improved|increased|moved|migrated|started|begun|fixed|"
    r"put in place|made|changed|enabled|disabled|written|worked|completed|scheduled|"
    r"upgraded|reduced|removed|configured|set up|established)|"
    r"(would|need to|should|must) (add|improve|review|investigate|implement|"
    r"consider|ensure|document|update|create|make|build|set up|streamline|automate)|"
    # "We need a way to mark a host as page-worthy": a missing capability named as work.
    r"need (a|an|some) (better |new |reliable |automated )?(way|process|mechanism|tool|procedure) "
    r"(to|for)\b|"
    r"(are|'re) going to|(are|'re) still (investigating|looking into))|"
    # A recommendation in the passive ("X should be upgraded", "Y should really have its own
    # deploy window"); "should have been" is hindsight, not a step.
    r"\bshould (really |also |probably |definitely |eventually )?be (?!able\b)[a-z]+(ed|en)\b|"
    r"\bshould (really |also )?have (a|an|its|it's|their|our|some|more|better|dedicated) |"
    r"\b(rolled out|deployed|shipped|released|applied) (a |the )?(fix|patch|hotfix)\b|"
    # "Follow-up tasks", not a message sent during the response ("Follow-up email posted").
    r"\baction items?\b|\bfollow[\s-]?ups?\b(?! (message|e-?mail|mail|post|call|note|reply)s?\b)|"
    r"\(\s*(complete[d]?|planned|in progress|done|ongoing|todo|not started)\s*\)|"
    r"\bTODO\b|\[[ xX]\]|\u2705|"
    # The same commitments told in the third person, as provider reports and summaries of
    # them do ("GitHub plans to ...", "AWS is reviewing ...", "procedures are being updated").
    r"\b(plans|planned|intends|aims|(?<!is )(?<!are )(?<!'re )committed|pledged) to (?!be\b)|"
    r"\bplans (several|numerous|a number of|further|additional|various|multiple) |"
    r"\b(they|the (\w+ ){0,2}teams?|engineers|the company) (will|'ll|are going to)\b|"
    # Not the generic "you" ("... when you are working on that part of the stack").
    r"(?<!\byou )" + THIRD_PERSON_WORK + r"|" + PREVENTION_DONE + r"|"
    # A fix put forward for later ("A more permanent fix was proposed to ...").
    r"\b(fix|solution|change|improvement)s? (was|were|has been|have been) proposed\b|"
    # "We continue to work with the vendor to ...": work still going on.
    r"\bwe (will )?continue to (work|invest|improve|review)\b|"
    + TEAM_AT_WORK
    + "|"
    + TEAM_DID
    + "|"
    + TAKING_STEPS
    + "|"
    + PROGRESS_PROSE
    + "|"
    + SUGGESTED_FIX
    + "|"
    + MEASURES_ADDED
    + "|"
    + RESTRICTION_ADDED
    + "|"
    # "Going forward, every change needs two reviewers": a commitment.
    r"^\W*(going|moving) forward,(?! (we|they|customers|users) (expect|anticipate|believe|think|"
    r"hope)\b)|"
    # "Work is underway to split the cache", "Efforts are in progress to ...".
    # Not the recovery ("Work is underway to restore the remaining volumes").
    r"\b(work|efforts?|a project|projects) (is|are) (now |already |also )?(underway|under way|"
    r"in progress|ongoing)\b(?! to (restore|recover|mitigate|bring|return|resolve)\b)|"
    # "Acme will be adding automated checks": future work in the progressive.
    r"\bwill (also )?be (adding|introducing|implementing|rolling out|improving|updating|reviewing|"
    r"migrating|moving|building|creating|expanding|deploying)\b|"
    # "Ongoing projects include ...", "ongoing work to shard the queue".
    r"\bongoing (efforts?|work|initiatives?|projects?) (include\b|on\b|to (?!(restore|recover|"
    r"mitigate|bring|return|resolve)\b))|"
    # "Acme has since added ...", "the bug has since been fixed": work done after it; not
    # "service has since recovered / been restored", an outcome.
    r"\b(has|have) (also |already )?since (been )?" + SINCE_WORK + r"\b|"
    # A suggestion ("Request tracing would be invaluable here", "we might want to review the
    # retry policy"), unless it hangs on a condition ("If this recurs, we may want to ...").
    r"^(?!\W*if\b).*\b(would be (very |really |extremely )?(invaluable|useful|helpful|nice|good|"
    r"beneficial)|can be (very )?useful|(might|may) want to)\b|"
    # "The key recommendation is that ...", "Recommendations include ...".
    r"\brecommendations? ((was|were|is|are) (that|to)|include|included|covered)\b|"
    # "A quota was put in place on the build hosts to avoid another full disk": a change made
    # to prevent a repeat.
    r"\b(was|were|has been|have been) (\w+ly )?(added|introduced|implemented|put in place|"
    r"updated|configured|built|deployed)\b[^.;]*\bto (prevent|avoid) (?!(any )?further\b)|"
    r"\b(is|are) being (updated|improved|reviewed|implemented|enhanced|introduced|strengthened|"
    r"made|added|developed|built|deployed|rolled out|written|tested|expanded|extended|"
    r"put in place)\b|"
    # Future work told in the passive ("Disaster recovery testing will also be enhanced").
    r"\bwill (also |further |then )?be (enhanced|improved|added|updated|implemented|reviewed|"
    r"introduced|rolled out|migrated|replaced|upgraded|extended|expanded|strengthened|automated|"
    r"documented|hardened|revisited|reconfigured|audited|tuned|adjusted)\b|"
    # Work told as done after the incident ("Post-incident, a new cluster was provisioned").
    r"^\W*(post-incident|after the (incident|outage)|since the (incident|outage)),|"
    # A step named for what it prevents ("To prevent recurrence, Acme disabled ...").
    r"^\W*to (prevent|avoid|reduce the (chance|likelihood|risk) of) (a |any )?(recurrence|"
    r"reoccurrence|repeat|repetition|similar|future|"
    r"(this|it) (from )?(happening|occurring) again)|"
    # Not the response ("Mitigation steps included ...", "Remediation involved a restart").
    r"(?<!mitigation )(?<!recovery )(?<!response )\b" + NAMED_WORK + r" (include|included|"
    r"includes|involve|involves|are (also )?planned)\b|"
    r"\b(were|are) also planned\b|"
    # A hold kept in place until the follow-up work is done ("Deploys have been frozen until
    # the migration tooling is fixed").
    r"\b(has|have) been (paused|suspended|frozen|halted|put on hold) (while|until|pending)\b"
)
# Forward-looking wording that supports an action but is not one by itself.
ACTION_WEAK = re.compile(
    r"\bto prevent\b|\breduce the (likelihood|risk|chance)|\bgoing forward\b|\blonger term\b|"
    r"\bin the future\b|\bwill be (\w+ing|\w+ed)\b|\bexpect (this|the) work\b|\bis underway\b|"
    r"\bunder way\b|\bto avoid\b|\bnext steps?\b|\bto ensure\b"
)
# Wording of a listed action item that is not an imperative ("Better monitoring of OOM",
# "The alert needs a more descriptive name", "We need a SOC").
ACTION_LISTED = re.compile(
    r"^\W*(better|improved?|more|increased?|additional|automatic|automated|new|proper|"
    r"clearer|dedicated)\b|\b(needs?|should|must|ought to)\b|\bwe ?(need|want)\b"
)
# Sentences that announce actions rather than state one.
ACTION_ANNOUNCEMENT = re.compile(
    r"\b(identified|following|several|some|these|a number of|list of|the following) "
    r"(\w+ )?(actions|steps|changes|measures|improvements|action items)\b"
    r"(?! to | include|,? (including|such as)\b| (are|were) (also )?planned\b)|"
    r"\b(are|is) (as follows|listed below|below)\b|:\s*$|\bevery action item|"
    r"\baction items? (that|should|have)\b|\bunder action items\b"
)
ACTION_IMPERATIVE = re.compile(
    r"^(add|create|implement|improve|investigate|determine|review|update|document|migrate|upgrade|remove|"
    r"set up|setup|configure|enable|disable|monitor|alert|automate|ensure|introduce|increase|"
    r"reduce|write|build|fix|change|move|replace|deploy|evaluate|consider|define|establish|"
    r"make|limit|test|audit|rotate|switch|separate|split|tune|refactor|train|schedule|"
    r"reconfigure|restrict|clean up|verify|validate|require|track|expose|adjust|extend|"
    r"discuss|prioriti[sz]e|teach|figure out|look into|assess|ask|agree|reflect|get in touch|"
    r"identify|revert|bring down|enhance|collect|modify|handle|diagnose|do|version lock|"
    r"explore|research|plan|communicate|inform|notify|share|prepare|pin|lock|backport|"
    r"announce|coordinate|allocate|hire|reach out|follow up|look at|check|decide|measure|"
    r"minimi[sz]e|simplify|gather|run|find|come up with|try|use|keep|stop|start|standardi[sz]e|"
    r"make sure|nominate|need to|devise|wipe|alarm|page|escalate|block|rate[- ]limit|prevent|"
    r"re-?evaluate|revisit|rethink|avoid)\b",
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


@functools.lru_cache(maxsize=4096)  # the roles and the learned model score the same sentences
def cause_score(text: str, block_kind: str = "paragraph") -> float:
    """How strongly the sentence itself states a cause (0 when it rejects one).

    A deficiency ("No version lock on Flux", "Insufficient monitoring of X") counts fully in
    a list item or table row, where contributing factors are listed, and half elsewhere.
    """
    lowered = normalize_quotes(text).lower()
    if CAUSE_REJECTED.search(lowered) or CAUSE_DANGLING.search(lowered):
        return 0.0
    if GOOD_OUTCOME.search(lowered) and not CAUSE_WEAK.search(lowered):
        return 0.0
    scrubbed = CAUSE_SEARCH.sub(" ", lowered)
    strong = len(CAUSE_STRONG.findall(scrubbed)) + len(CAUSE_FINDING.findall(scrubbed))
    weak = len(CAUSE_WEAK.findall(scrubbed))
    if CAUSE_DEFICIENCY.search(scrubbed):
        if block_kind in ("list_item", "table_row") or LACK_STATED.search(scrubbed):
            strong += 1
        else:
            weak += 1
    return min(3.0, 2.0 * strong + 1.0 * weak)


# A past-tense verb after a bold lead-in reports a step taken ("**Retry limits**: Implemented").
PAST_ACTION = re.compile(
    r"(implemented|added|deployed|fixed|created|updated|moved|migrated|enabled|removed|increased|"
    r"reduced|upgraded|rolled out|released|patched|replaced|configured|introduced|documented|"
    r"reverted|switched|changed|improved|raised|lowered|pinned)\b",
    re.IGNORECASE,
)
LEAD_IN = re.compile(
    r"^\W*(\*\*|__)[^*_\n]{1,80}(\*\*|__)\s*[:.\u2013\u2014-]*\s*|^[^:\n]{1,60}:\s+|"
    # a ticket that heads a task ("T1234 - Determine why ...", "OPS-42 – Add ...")
    r"^\W*([a-z]+:)?([A-Z][A-Z0-9]*-\d+|T\d+|#\d+)\s*[\u2013\u2014-]\s+"
)


def is_imperative(text: str, span: Span | None = None) -> bool:
    """The sentence opens with a bare verb ("Add alerting", "**Title**: Look into ...")."""
    lead = LEAD_IN.match(text)
    if lead and not re.search(r"\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}", lead.group(0)):
        stripped = re.sub(r"^[\W_]+", "", text[lead.end() :])
        if ACTION_IMPERATIVE.match(stripped) or PAST_ACTION.match(stripped):
            return True  # "**Retry limits**: Add ..." / "... : Implemented retry limits"
    stripped = re.sub(r"^[\W_]+", "", text)
    if ACTION_IMPERATIVE.match(stripped):
        return True
    if span is None:
        return False
    words = [t for t in span if not (t.is_punct or t.is_space or t.text in ("*", "**", "_"))]
    return bool(words) and words[0].tag_ == "VB" and words[0].is_title


def action_score(text: str, block_kind: str, span: Span | None = None) -> float:
    """How strongly the sentence commits to or reports a corrective/preventive step."""
    lowered = normalize_quotes(text).lower()
    score = 2.0 * min(2, len(ACTION_CUES.findall(lowered)))
    score += 1.0 * min(2, len(ACTION_WEAK.findall(lowered)))
    listed = block_kind in ("list_item", "table_row")
    if is_imperative(text, span):
        score += 2.0 if listed else (1.0 if len(text) < 200 else 0.0)
    elif listed and ACTION_LISTED.search(lowered):
        score += 2.0
    return min(3.0, score)


# Wording that mentions impact without reporting any ("to prevent customer impact").
IMPACT_NOT_REPORTED = re.compile(
    r"\bto (prevent|avoid|minimi[sz]e|reduce|limit|mitigate) [^,.;]*|"
    r"\b(unable|not able) to (determine|identify|find|reproduce|confirm|verify)\b|"
    r"\bwithout (any )?(customer |user )?impact\b|\bin the event of\b[^,]*|"
    r"\bif this affected\b[^,]*|"
    # A timeout as a setting ("within the 20-second startup timeout", "set to time out after
    # 60 seconds"), not requests timing out.
    r"\b(\d+(\.\d+)?[- ]?(ms|s|secs?|seconds?|minutes?|mins?)[- ]|the |an? )([\w-]+ )?timeout\b|"
    r"\b(set|configured) to time ?out\b|\btime ?out after\b"
)


# A percentage of a machine resource ("CPU pressure exceeding 90%", "memory usage at 95%"):
# how loaded the system was, not a share of users or requests affected.
IMPACT_RESOURCE_PERCENT = re.compile(
    r"\b(cpu|memory|mem|ram|disk|heap|swap|load|utili[sz]ation|usage|saturation|pressure)\b"
    r"[^.;%]{0,40}?\d+(\.\d+)?\s?%"
)


def impact_score(text: str) -> float:
    """How strongly the sentence describes who or what was affected (figures count most)."""
    lowered = IMPACT_NOT_REPORTED.sub(" ", normalize_quotes(text).lower())
    lowered = IMPACT_RESOURCE_PERCENT.sub(" ", lowered)
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
        if role in scores:
            scores[role] += value
    if "other" in heads:  # "Stats", "Lessons learned": only strong sentence cues count
        scores = {role: value - 1.0 for role, value in scores.items()}
    text = view.text
    kind = view.sentence.block_kind
    scores["cause"] += cause_score(text, kind)
    scores["action"] += action_score(text, kind, view.span)
    scores["impact"] += impact_score(text)
    scores["timeline"] += timeline_score(view)
    if CAUSE_REJECTED.search(normalize_quotes(text).lower()):
        scores["cause"] = min(scores["cause"], 1.0)
    return scores


def assign_roles(view: SentenceView) -> tuple[str, ...]:
    """Every role that applies to the sentence, primary first; ("other",) when none does."""
    return _rank(role_scores(view))


def _list_groups(views: list[SentenceView]) -> list[list[int]]:
    """Indices of sentences forming one list (consecutive list items / table rows of a section)."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i, view in enumerate(views):
        listed = view.sentence.block_kind in ("list_item", "table_row")
        previous = views[current[-1]] if current else None
        if (
            listed
            and previous is not None
            and previous.sentence.section == view.sentence.section
            and view.block - previous.block <= 1
            and previous.sentence.block_kind == view.sentence.block_kind
        ):
            current.append(i)
            continue
        if len(current) >= 2:
            groups.append(current)
        current = [i] if listed else []
    if len(current) >= 2:
        groups.append(current)
    return groups


def assign_all(views: list[SentenceView]) -> list[tuple[str, ...]]:
    """Roles for every sentence of a document, primary first.

    Besides each sentence's own scores, items of one list share a role: when at least half
    of the items of a list are causes (or actions), every item is given that role too, so a
    "Contributing factors" or "Action items" list keeps its meaning when its heading is gone.
    Rows of a list with a dated row (a timeline) keep their own roles.
    """
    scores = [role_scores(view) for view in views]
    for group in _list_groups(views):
        items = {views[i].block for i in group}
        if len(items) < 2 or any(_LEADING_DATE.match(views[i].text.strip()) for i in group):
            continue  # a lone item, or a timeline (its rows keep their own roles)
        for role in ("cause", "action"):
            hits = {views[i].block for i in group if scores[i][role] >= MIN_SCORE}
            if 2 * len(hits) >= len(items):
                for i in group:
                    scores[i][role] = max(scores[i][role], MIN_SCORE)
    return [_rank(score) for score in scores]


def _rank(scores: dict[str, float]) -> tuple[str, ...]:
    ranked = sorted(ROLE_ORDER, key=lambda role: (-scores[role], ROLE_ORDER.index(role)))
    roles = tuple(role for role in ranked if scores[role] >= MIN_SCORE)
    return roles or ("other",)


# --- lists without headings ----------------------------------------------------------------

_BLANK_LINE = re.compile(r"\n[ \t>]*\n")
_LEADING_DATE = re.compile(
    r"^\W*~?(\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\d{1,2}/\d{1,2}(/\d{2,4})?\b|\d{1,2}\s?(am|pm)\b|"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(st|nd|rd|th)?\b)",
    re.IGNORECASE,
)


_DATED_LINE = re.compile(_LEADING_DATE.pattern.replace("^\\W*", "^[^\\w\\n]*", 1), re.I | re.M)


def dated_lines(text: str) -> list[int]:
    """Offsets of the lines of ``text`` that open with a date or a clock time ("13:35",
    "- 2019-03-24 8:54 ...", "| Feb 20 14:17 | ..."): the entries of a timeline."""
    return [match.start() for match in _DATED_LINE.finditer(text)]


# "Category: Kubernetes", "Time to detection: 5 minutes": a field of the report, not a finding.
_FIELD = re.compile(r"^\W*[A-Z][\w /&()-]{0,40}:\W*\S[^.!?]{0,60}$")
# "EC, MM, WC, AN", "Jane Doe, John Smith": who took part.
_NAMES = re.compile(
    r"^\W*([A-Z]{2,4}|[A-Z][a-z]+(?: [A-Z][a-z]+){0,2})(\s*(,|and|&)\s*"
    r"([A-Z]{2,4}|[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}))*\W*$"
)
_MODAL = re.compile(
    r"\b(should|must|needs? to|ought to|will|shall|has to|have to)\b|\bwe ?(need|want)\b|"
    r"^\W*(better|improved?|more|increased?|additional|automatic|automated|proper|clearer|"
    r"dedicated|stricter|regular)\b",
    re.IGNORECASE,
)
# Wording of a report line that has happened: past tense or a state ("... is too high").
_STATEMENT = re.compile(
    r"\b(was|were|is|are|has|had|have|did|does|do|didn't|doesn't|don't|wasn't|weren't|isn't|"
    r"aren't|can|could|poses?|depends?|[a-z]{3,}ed|too)\b",
    re.IGNORECASE,
)


# "Test clusters does not validate ...": a noun that looks like a verb, then its subject's verb.
_SUBJECT_FIRST = re.compile(
    r"^\W*(?!(ensure|make|verify|check|validate|confirm|document|note|decide|determine)\b)"
    r"[A-Za-z]+ [\w'-]+ (does|do|did|is|are|was|were|doesn't|don't|didn't|isn't|aren't|"
    r"wasn't|weren't|has|had)\b",
    re.IGNORECASE,
)


# "Implementing monitoring for X", "Adding a verification step": work named by its gerund.
_GERUND_LEAD = re.compile(
    r"^\W*(implementing|adding|documenting|investigating|establishing|improving|creating|"
    r"updating|building|migrating|reviewing|evaluating|introducing|automating|removing|"
    r"enabling|setting up|writing|exploring|moving|replacing|testing|upgrading)\b",
    re.IGNORECASE,
)


# A status or ticket marker before an item's wording ("Done Document the workaround",
# "phab:T158054 - create a job", "JIRA-12: Add alerts", "[x] Add alerts").
_ITEM_MARKER = re.compile(
    r"^\W*((done|todo|fixed|wip|open|closed)\b\W*|\[[ xX]\]\s*|"
    r"([a-z]+:)?(#|[A-Z]{1,10}-?)\d{2,}\s*[-:\u2013\u2014]\s+)+",
    re.IGNORECASE,
)
# A suggestion written as a statement ("A set of SLOs might also be helpful", "it would be nice
# if there was a report").
_SUGGESTION = re.compile(
    r"\b(might|may|could|would) (also |really |probably )?be (helpful|useful|nice|good|worth)|"
    r"\bit would be (nice|good|helpful|useful|great)\b|\bworth (considering|looking|investigating)"
)


def item_form(text: str, span: Span | None = None) -> str:
    """What a list item or table row is by its form alone.

    ``dated`` (opens with a date or clock time: a timeline entry), ``field`` ("Category:
    Kubernetes"), ``names`` (an attendee list), ``action`` (an imperative, "should"/"will"/
    "need to", "Better monitoring of X", or a suggestion: "X might also be helpful"),
    otherwise ``statement`` (a finding or a state, the form contributing factors and
    lessons take). A status or ticket marker before the wording ("Done", "[x]",
    "phab:T158054 -") is skipped.
    """
    stripped = normalize_quotes(text).strip()
    if _LEADING_DATE.match(stripped):
        return "dated"
    marker = _ITEM_MARKER.match(stripped)
    if marker and marker.end() < len(stripped):
        stripped = stripped[marker.end() :]
        span = None  # the parse starts at the marker, not at the wording
    if _NAMES.match(stripped):
        return "names"
    if _FIELD.match(stripped) and not is_imperative(stripped):
        return "field"
    if _SUBJECT_FIRST.match(stripped):
        return "statement"
    if is_imperative(stripped, span) or _GERUND_LEAD.match(stripped):
        return "action"
    lead = LEAD_IN.match(stripped)
    if lead and _GERUND_LEAD.match(stripped[lead.end() :]):
        return "action"  # "**Redis isolation**: Investigating decoupling the instances"
    if stripped.endswith("?"):
        return "statement"
    lowered = stripped.lower()
    if _MODAL.search(lowered) or ACTION_CUES.search(lowered) or _SUGGESTION.search(lowered):
        return "action"
    return "statement"


def list_runs(views: list[SentenceView], text: str) -> list[list[list[int]]]:
    """Lists of the document as runs of items, each item the indices of its sentences.

    Consecutive list items (or table rows) of one section form a sequence; it ends at any
    other block. A blank line between two items splits a sequence whose other items follow
    each other without one (a tight list): a heading that was removed leaves two lists
    separated by a blank line only. A nested item (indented deeper than the first item of
    its run) belongs to the item above it.
    """
    sequences: list[list[list[int]]] = []
    current: list[list[int]] = []
    previous: SentenceView | None = None
    for i, view in enumerate(views):
        kind = view.sentence.block_kind
        listed = kind in ("list_item", "table_row")
        if previous is not None and view.block == previous.block and current:
            current[-1].append(i)
        elif (
            listed
            and previous is not None
            and current
            and previous.sentence.block_kind == kind
            and previous.sentence.section == view.sentence.section
            and view.block - previous.block <= 1
        ):
            current.append([i])
        else:
            if current:
                sequences.append(current)
            current = [[i]] if listed else []
        previous = view
    if current:
        sequences.append(current)
    return [run for sequence in sequences for run in _split_sequence(views, text, sequence)]


def _split_sequence(
    views: list[SentenceView], text: str, sequence: list[list[int]]
) -> list[list[list[int]]]:
    """One sequence of items cut at blank lines (unless all gaps are blank) and with nested
    items folded into their parents."""
    starts = [views[item[0]] for item in sequence]
    blanks = [
        bool(_BLANK_LINE.search(text[views[before[-1]].block_end : view.block_start]))
        for before, view in zip(sequence, starts[1:], strict=False)
    ]
    loose = bool(blanks) and all(blanks)
    runs: list[list[list[int]]] = []
    base_indent = 0
    for k, item in enumerate(sequence):
        indent = _indent(text, starts[k].block_start)
        if k == 0 or (blanks[k - 1] and not loose and indent <= base_indent):
            runs.append([list(item)])
            base_indent = indent
        elif starts[k].sentence.block_kind == "list_item" and indent > base_indent:
            runs[-1][-1].extend(item)  # a nested item belongs to its parent
        else:
            runs[-1].append(list(item))
    return runs


def _indent(text: str, position: int) -> int:
    """Columns of white space before the list marker of the line holding ``position``."""
    line_start = text.rfind("\n", 0, position) + 1
    line = text[line_start:position]
    return len(line) - len(line.lstrip(" \t>"))


_FINITE_TAGS = ("VBD", "VBZ", "VBP", "MD")


def is_finite_statement(text: str, span: Span | None) -> bool:
    """The item's main clause is a finite statement ("Alert noise is still too high", "The
    change was considered from performance only"), not an imperative or a noun phrase
    ("Flux metrics and alerts"). An item with a title lead-in ("**Retry limits**: ...") is
    never one here: its body is a description of the title."""
    if span is None or LEAD_IN.match(text):
        return False
    roots = [token for token in span if token.dep_ == "ROOT"]
    if not roots:
        return False
    root = roots[0]
    has_subject = any(child.dep_ in ("nsubj", "nsubjpass", "expl") for child in root.children)
    finite = root.tag_ in _FINITE_TAGS or any(
        child.dep_ in ("aux", "auxpass") and child.tag_ in _FINITE_TAGS for child in root.children
    )
    return finite and has_subject


# A bold title at the start of an item ("**Retry limits**: ...", "**Test under load** - ...").
_BOLD_LEAD = re.compile(r"^\W*?(\*\*|__)(?P<title>[^*_\n]{1,80}?)(\*\*|__)")


def title_is_claim(view: SentenceView) -> bool:
    """The item's bold title is itself a statement, a subject with its verb ("**Progressive
    rollouts save lives** - ...", "**Configuration must be flexible** - ..."): the title of a
    takeaway or a finding, not the name of a task ("**Retry limits**: ...", "**Test under
    load** - ...", "**Make sure X has Y**: ...", "**Alerts must page on-call**: ...")."""
    match = _BOLD_LEAD.match(view.text)
    if view.span is None or not match:
        return False
    low = view.sentence.start + match.start("title")
    high = view.sentence.start + match.end("title")
    inside = {t.i: t for t in view.span if low <= view.offset + t.idx < high}
    for token in inside.values():
        if token.head.i in inside and token.head.i != token.i:
            continue  # not a head of the title's words
        subject = any(
            child.i in inside and child.dep_ in ("nsubj", "nsubjpass", "expl")
            for child in token.children
        )
        modal = any(child.tag_ == "MD" for child in token.children)
        if subject and token.pos_ in ("VERB", "AUX") and not modal:
            return True  # "**Alerts must page on-call**" states a requirement: a task
    return False


def smooth_forms(forms: list[str]) -> list[str]:
    """Item forms of one list with a lone ``action`` or ``statement`` item among items of
    another form given their form: between two of them, or at either end of the list next
    to two of them (a heading removed between two lists leaves them as one run)."""
    kinds = list(forms)
    for k in range(len(kinds)):
        before = kinds[k - 1] if k > 0 else None
        after = kinds[k + 1] if k + 1 < len(kinds) else None
        if after is None and k >= 2 and kinds[k - 2] == before:
            after = before
        if before is None and k + 2 < len(kinds) and kinds[k + 2] == after:
            before = after
        others = (None, kinds[k], "field", "names")
        if kinds[k] in ("action", "statement") and before == after and before not in others:
            kinds[k] = before
    return kinds


def form_pieces(run: list[list[int]], kinds: list[str]) -> list[tuple[int, list[list[int]], str]]:
    """The run cut where the (smoothed) kind of its items changes: (position of the piece's
    first item in the run, its items, their kind)."""
    pieces: list[tuple[int, list[list[int]], str]] = []
    for k, (item, kind) in enumerate(zip(run, kinds, strict=True)):
        if pieces and pieces[-1][2] == kind:
            pieces[-1][1].append(item)
        else:
            pieces.append((k, [item], kind))
    return pieces

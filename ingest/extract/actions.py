"""Actions: corrective and preventive action items with status, title, owner and due date.

Under an action heading ("Corrective actions", "Action items", "Remediation", "Going forward",
"What we are doing about it" ...) each list item or table row is one action, and each sentence
of a paragraph that commits to or reports a step is one. Elsewhere, sentences whose primary
role is ``action`` become actions. The status comes from explicit markers ("(Complete)",
"(Planned)", "[x]") first, then from the wording ("we are in the process of" -> in_progress,
"we've already" -> done, "we will" -> planned).

Without action headings, a list is a list of actions by the form of its items: a run of two or
more imperatives, gerunds ("Implementing ...") or plans ("should", "Better X") is one, and each
of its items is an action (noun phrases among them too); lists of findings, lessons, names or
report fields give none (see :func:`action_lists`). A list in which finite statements follow
the imperatives ("Actively monitor X", "Alert noise is still too high") holds lessons, and a
timeline that runs into the next list gives actions only after its last dated row. Items
are read for what they are: a bold title that states a claim ("**Progressive rollouts save
lives** - ...") makes a takeaway, an item ending in a colon introduces a command, and noun
phrases or reports of work done ("Values increased to accommodate peak load", "We've moved
releases to trusted publishing") are actions among actions (see :func:`_action_forms`).
Without action headings, what is told between two dated lines belongs to the timeline's
story. Status words stand before or after an item too ("Done Document the workaround", "...
T215339 Done").
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from ingest.records import Action

from .roles import (
    ACTION_ANNOUNCEMENT,
    ACTION_CUES,
    ACTION_IMPERATIVE,
    ACTION_LISTED,
    ACTION_WEAK,
    HINDSIGHT,
    LEAD_IN,
    MEASURES_ADDED,
    NAMED_WORK_PLANNED,
    PREVENTION_DONE,
    PROGRESS_PROSE,
    RESTRICTION_ADDED,
    SINCE_WORK,
    STATUS_LEAD,
    SUGGESTED_FIX,
    TAKING_STEPS,
    TEAM_AT_WORK,
    TEAM_DID,
    THIRD_PERSON_WORK,
    SentenceView,
    _indent,
    dated_lines,
    form_pieces,
    heading_scores,
    is_finite_statement,
    is_imperative,
    item_form,
    list_runs,
    normalize_quotes,
    smooth_forms,
    status_entry,
    title_is_claim,
)

if TYPE_CHECKING:
    from spacy.tokens import Span

DONE_MARK = re.compile(
    r"\(\s*(complete[d]?|done|fixed|resolved|finished|implemented|deployed|shipped)\s*\)|"
    r"\[\s*(complete[d]?|done|fixed|resolved|finished|implemented)\s*\]|\[[xX]\]|\u2705|"
    # "(Done in T1234)", "(fixed via PR 56)": done, with where it was done.
    r"\(\s*(done|fixed|completed?|resolved) (in|via|with|by|on)\b|"
    r"\bstatus\s*:\s*(complete[d]?|done|fixed|resolved|closed)\b|~~.+~~",
    re.IGNORECASE,
)
# A note under the item that says it is done ("- This has been done: team@example.org").
DONE_NOTE = re.compile(
    r"(?:^|\n)[^\w\n]*(?:this|that|it) (?:has (?:now |already )?been |is (?:now |already )?)"
    r"(?:done|completed|fixed|implemented)\b",
    re.IGNORECASE,
)
PLANNED_MARK = re.compile(
    r"\(\s*(planned|todo|to do|not started|open|pending|backlog|proposed)\s*\)|\[ \]|"
    r"\bstatus\s*:\s*(planned|todo|to do|not started|open|pending|backlog|declined|unresolved|"
    r"won'?t ?fix)\b",
    re.IGNORECASE,
)
IN_PROGRESS_MARK = re.compile(
    r"\(\s*(in progress|ongoing|in-progress|started|wip|underway)\s*\)|"
    r"\bstatus\s*:\s*(in progress|on-?going|in-progress|started|wip)\b",
    re.IGNORECASE,
)
IN_PROGRESS_WORDS = re.compile(
    r"^\W*continu(?:e|ing) (?:work|working|to)\b|"
    r"\bin the process of\b|\bwe(?: are|'re) still (?:investigating|looking into)\b|"
    r"\bwe(?: are|'re) (?:also |currently |now |actively |still |already )*(?:working|"
    r"tuning|developing|building|implementing|rolling out|migrating|re-?architecting|redesigning|"
    r"reviewing|evaluating|testing|formalizing|adding|creating|updating|investigating|improving)\b|"
    r"\bunderway\b|\bunder way\b|\bongoing\b|\bin progress\b|\b(?:have|'ve) (?:already )?"
    r"(?:started|begun)\b|\bstarted (?:to|performing|working|rolling|migrating)\b|"
    r"\b(?:is|are) being (?:deployed|rolled|implemented|added|built|developed|worked on|tested)\b|"
    r"\bcurrently (?:being|working|in progress|underway|implementing|rolling|testing)\b|"
    # Progress told in the third person ("AWS is reviewing ...", "are being updated").
    + THIRD_PERSON_WORK
    + r"|\bwe (?:will )?continue to (?:work|invest|improve|"
    r"review)\b|"
    r"\b(?:is|are) being (?:updated|improved|reviewed|enhanced|introduced|strengthened|made|"
    r"written|expanded|extended|put in place)\b|"
    + TEAM_AT_WORK
    + "|"
    + TAKING_STEPS
    + "|"
    + PROGRESS_PROSE,
    re.IGNORECASE,
)
# "Other remediations included ...", "Follow-up changes included ...": follow-ups told as
# done; not the response ("Remediation included reverting the change").
DONE_LISTED = (
    r"(?<!mitigation )(?<!recovery )\b(?:actions|remediations?|improvements|changes|measures|"
    r"safeguards) included\b(?! (?:reverting|rolling back|restarting|rebooting|failing over|"
    r"restoring|disabling|re-?enabling|scaling up)\b)"
)
DONE_WORDS = re.compile(
    r"\b(?:we(?: have|'ve)|has been|have been|was|were) (?:already |since |now |also )*"
    r"(?:added|implemented|deployed|introduced|rolled out|updated|created|improved|increased|"
    r"moved|migrated|fixed|put in place|made|changed|enabled|disabled|written|worked|completed|"
    r"upgraded|reduced|removed|configured|set up|established|identified|patched|resolved|"
    r"reverted|documented|raised|replaced|turned off|switched)\b|\b(?:have|'ve) already\b|"
    r"\bnow (?:operates|runs|uses|has|have|includes|alerts)\b|\bwe (?:made|rolled out|deployed|"
    r"added|implemented|fixed|moved|increased|upgraded|patched|introduced|replaced|changed|"
    r"created|configured|enabled|removed|reverted|switched)\b|\b(?:is|are) now\b|\bcompleted\b|"
    # "Acme has since added ...", "Other remediations included ...": work reported as done.
    r"\b(?:has|have) (?:also |already )?since (?:been )?"
    + SINCE_WORK
    + r"\b|"
    + DONE_LISTED
    + "|"
    + TEAM_DID
    + "|"
    + MEASURES_ADDED
    + "|"
    + RESTRICTION_ADDED
    + "|"
    + PREVENTION_DONE,
    re.IGNORECASE,
)
PLANNED_WORDS = re.compile(
    r"\bwe(?: will|'ll| are going to|'re going to| plan| intend| aim)\b|\bwill be\b|\bwill\b|"
    r"\bplan(?:ned|s)? to\b|\b(?:aims?|intends?|committed|commits|pledged) to\b|"
    r"\b(?:was|were|has been|have been) proposed\b|"
    r"\bplans (?:several|numerous|a number of|further|additional|various|multiple)\b|"
    r"\b(?:going|moving) forward\b|\blonger term\b|\bin the future\b|\bshould\b|"
    r"\bneeds?\b|\bmust\b|\bwould like to\b|\bnext (?:week|month|quarter|year)\b|\bTODO\b|"
    # "Corrective actions include ...", "Identified improvements include ...": work named, not
    # reported as done.
    r"(?<!mitigation )(?<!recovery )(?<!response )\b" + NAMED_WORK_PLANNED + r"|\blong[- ]term\b|"
    # "The vendor named three follow-up items", "The key recommendation is that ...".
    r"\bfollow[- ]?ups?\b|\brecommendations?\b|"
    # A suggestion ("Request tracing would be invaluable", "we might want to review ...").
    r"\bwould be (?:very |really |extremely )?(?:invaluable|useful|helpful|nice|good|beneficial)\b|"
    r"\bcan be (?:very )?useful\b|\b(?:might|may) want to\b|" + SUGGESTED_FIX,
    re.IGNORECASE,
)
# A hold put in place until the follow-up work is done ("Deploys have been frozen until the
# migration tooling is fixed"): a step taken.
HOLD = re.compile(
    r"\b(?:has|have) been (?:paused|suspended|frozen|halted|put on hold) (?:while|until|pending)\b",
    re.IGNORECASE,
)
# An item that opens with a past-tense verb reports work done ("Implemented retry limits").
PAST_LEAD = re.compile(
    r"(implemented|added|deployed|fixed|created|updated|moved|migrated|enabled|disabled|removed|"
    r"increased|reduced|upgraded|rolled out|released|patched|replaced|configured|introduced|"
    r"wrote|documented|issued|sent|reverted|switched|changed|improved|merged|shipped|"
    r"restored|rotated|published|notified|contacted|raised|lowered|pinned|locked)\b",
    re.IGNORECASE,
)
# "To prevent recurrence, Acme (immediately) disabled ...": a step taken since, done.
PREVENTED_SINCE = re.compile(
    r"^\W*to (?:prevent|avoid|reduce the (?:chance|likelihood|risk) of) [^,.]{1,60}, "
    r"(?:\w+ ){1,4}?(?:\w+ly )?(?!need)\w+ed\b",
    re.I,
)
# "Post-incident, a new cluster was provisioned": work done since the incident.
DONE_SINCE = re.compile(
    r"^\W*(?:post-incident|after the (?:incident|outage)|since the (?:incident|outage)),"
    r"[^.]*\b(?:was|were|has been|have been) (?:\w+ly )?\w+(?:ed|en|t)\b",
    re.IGNORECASE,
)
# A change made so that it cannot happen again ("A quota was put in place on the build hosts to
# avoid another full disk", "The branch settings were updated to prevent force pushes"); not
# one that stops the damage ("A block rule was deployed to prevent further abuse").
PREVENTIVE_CHANGE = re.compile(
    r"\b(?:was|were|has been|have been) (?:\w+ly )?(?:added|introduced|implemented|put in place|"
    r"updated|configured|built|deployed)\b[^.;]*\bto (?:prevent|avoid) (?!(?:any )?further\b)|"
    + PREVENTION_DONE,
    re.IGNORECASE,
)
# Work the team reports as its own and done ("we have added", "we've moved").
WE_DID = re.compile(r"\bwe(?: have|'ve)\b|\bwe (?:made|added|moved|fixed|deployed)\b", re.I)
# "Once we have completed X, we will ..." is a plan, whatever the first clause says.
CONDITIONAL_PLAN = re.compile(
    r"^\W*(once|when|after|as soon as) we(?: have|'ve)? [^,.]*,\s*we(?: will|'ll)\b",
    re.IGNORECASE,
)
# A task filed for later is planned work, whatever verb files it.
BACKLOG = re.compile(
    r"\b(added|created|filed|opened|raised) (a |an )?(backlog|jira|github)? ?(task|ticket|issue|"
    r"story|item)s?\b|\bif possible\b|\bhas been scheduled\b|\bis scheduled\b",
    re.IGNORECASE,
)
PREVENTIVE = re.compile(
    r"\bprevent|\bfuture\b|\bavoid|\breduce the (?:likelihood|risk|chance|impact)|\balert|"
    r"\bmonitor|\brecurr|\bagain\b|\bresilien|\bredundan|\brobust|\bvisibility|\bdetect|"
    r"\bprocess\b|\brunbook|\bplaybook|\btraining|\bdocument|\bslos?\b|\btest(?:s|ing)?\b|"
    r"\bchaos|\bcapacity planning|\bearlier\b",
    re.IGNORECASE,
)
BOLD_TITLE = re.compile(r"^\s*(?:\*\*|__)(?P<title>[^*_\n]{2,120}?)(?:\*\*|__)")
DASH_TITLE = re.compile(
    r"^\s*(?P<title>[A-Z][\w/&,()' +-]{1,60}?)\s+(?:[\u2013\u2014]|--?)\s+(?=\S)"
)
COLON_TITLE = re.compile(r"^\s*(?P<title>[A-Z][\w/&,()' -]{1,60}?):\s+(?=\S)")
OWNER = re.compile(
    r"\b(?:owner|owners|assignee|assigned to|owned by|responsible)\s*[:=-]?\s*"
    r"(?P<owner>@?[A-Za-z][\w.-]*(?: [A-Z][\w-]*)?)|(?<![\w@])(?P<handle>@[A-Za-z][\w-]{1,38})\b",
    re.IGNORECASE,
)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
DUE = re.compile(
    r"\b(?:due(?: date)?|by|before|deadline|target(?:ed)?(?: date)?|eta|expected(?: by)?|"
    r"completed|complete)\s*:?\s*(?:the )?(?:on |in |by )?"
    r"(?P<due>\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|Q[1-4](?:\s*\d{4})?|"
    r"(?:the )?end of (?:the )?(?:week|month|quarter|year|" + _MONTHS + r")(?:\s*\d{4})?|"
    r"(?:this|next) (?:week|month|quarter|year|sprint)|"
    + _MONTHS
    + r"(?: \d{1,2}(?:st|nd|rd|th)?)?(?:,? \d{4})?)",
    re.IGNORECASE,
)


# "Done" standing as a status word before or after an item ("Done Document the workaround",
# "Fix the jobrunner T215339 Done").
DONE_WORD = re.compile(r"^\W*Done\b(?! (?:by|in|on|when|with|after|before|once)\b)|\bDone\W*$")


def heading_status(heading: str) -> str:
    """The status a section heading gives its items ("Immediate actions (completed)"), or ""."""
    lowered = heading.lower()
    # "(Completed)", "Done"; not "To complete before re-enabling sync", work still to do.
    if re.search(
        r"\b(?<!to )(completed?|done|finished|shipped|already (taken|done)|taken)\b", lowered
    ):
        return "done"
    if re.search(r"\b(in progress|ongoing|underway)\b", lowered):
        return "in_progress"
    if re.search(r"\b(planned|future|long[\s-]term|to ?do|next steps|upcoming|backlog)\b", lowered):
        return "planned"
    return ""


def action_status(text: str, heading: str = "") -> str:
    """done, in_progress, planned or unknown.

    Explicit markers in the item come first ("(Complete)", "[x]"), then the status its section
    heading gives ("... (completed)"), then the wording: "once we ..., we will" and filed
    tasks are planned, progress language is in_progress, perfect or past tense ("we have
    deployed", "Implemented retry limits") is done, future and imperative wording is planned.
    """
    normalized = normalize_quotes(text)
    if (
        DONE_MARK.search(normalized)
        or DONE_WORD.search(normalized.strip())
        or DONE_NOTE.search(normalized)
    ):
        return "done"
    if IN_PROGRESS_MARK.search(normalized):
        return "in_progress"
    if PLANNED_MARK.search(normalized):
        return "planned"
    from_heading = heading_status(heading)
    if from_heading:
        return from_heading
    if CONDITIONAL_PLAN.search(normalized) or BACKLOG.search(normalized):
        return "planned"
    if IN_PROGRESS_WORDS.search(normalized):
        return "in_progress"
    body = re.sub(r"^[\W_]+", "", LEAD_IN.sub("", normalized, count=1))
    if ACTION_IMPERATIVE.match(body) and not WE_DID.search(normalized):
        return "planned"  # "Decide what to do with hosts that have already failed"
    if (
        DONE_WORDS.search(normalized)
        or HOLD.search(normalized)
        or PAST_LEAD.match(body)
        or WE_PERFECT.match(body)
        or PREVENTED_SINCE.match(normalized)
        or DONE_SINCE.match(normalized)
    ):
        return "done"
    if PLANNED_WORDS.search(normalized) or ACTION_IMPERATIVE.match(body):
        return "planned"
    if ACTION_IMPERATIVE.match(re.sub(r"^[\W_]+", "", normalized)):
        return "planned"
    return "unknown"


def action_kind(text: str) -> str:
    """preventive when the item guards against recurrence, else corrective."""
    return "preventive" if PREVENTIVE.search(text) else "corrective"


def action_title(text: str) -> str:
    """A lead-in such as "**Connection Limits**" or "Alerting – ...", without markup."""
    for pattern in (BOLD_TITLE, DASH_TITLE, COLON_TITLE):
        match = pattern.match(text)
        if match:
            title = match.group("title").strip(" *_")
            if 1 <= len(title.split()) <= 10:
                return title
    return ""


def action_owner(text: str) -> str:
    """The owner when one is named ("Owner: Jane", "@jane")."""
    match = OWNER.search(text)
    if not match:
        return ""
    return (match.group("owner") or match.group("handle") or "").strip()


def action_due(text: str) -> str:
    """The due date as written ("by Q3 2021", "end of month"), if any."""
    match = DUE.search(text)
    return match.group("due").strip() if match else ""


def _is_action_section(view: SentenceView) -> bool:
    scores = heading_scores(view.heading)
    if scores.get("action", 0.0) >= 3.0:
        return True
    if scores:
        return False
    for outer in reversed(view.heading_path[:-1]):
        outer_scores = heading_scores(outer)
        if outer_scores:
            return outer_scores.get("action", 0.0) >= 3.0
    return False


# A label that stands before the action it names ("**Action item:** Start incidents earlier").
ACTION_LABEL = re.compile(
    r"^\W*(action items?|follow[\s-]?ups?|to[\s-]?dos?|next steps?)\W*$", re.I
)
# What a thing is for ("This transparency aims to allow customers ..."), not a plan.
PURPOSE = re.compile(
    r"^\W*(this|that|these|those|it|which)\b[^,.;]{0,40}?\b(aims?|intends?|is (meant|intended|"
    r"designed)) to\b",
    re.IGNORECASE,
)
# What someone decided or argued during the incident ("it was decided that the host should be
# removed") tells the story; it recommends nothing.
REPORTED_SHOULD = re.compile(
    r"\b(decided|argue|argued|agreed|thought|assumed|believed|expected) that\b[^.;]*\bshould\b",
    re.IGNORECASE,
)
# "... and we feel confident we will.": a commitment with nothing to do.
WILL_ALONE = re.compile(r"\bwe(?: will|'ll)(?: too| again)?\W*$", re.IGNORECASE)
# A promise to keep customers informed is no corrective step ("committed to providing more
# information as it becomes available").
KEEP_INFORMED = re.compile(
    r"\b(provid|shar|post|publish|giv)\w* (more |further |additional |regular |frequent )?"
    r"(information|updates|details)\b|\bkeep (\w+ )?(informed|updated|posted)\b",
    re.IGNORECASE,
)
# A link to a tracked ticket: an issue or pull request, a Phabricator task ("phab:T12345").
TICKET = re.compile(
    r"https?://\S+/(issues|pull|pulls|merge_requests)/\d+|\bphab(ricator)?\S*?\bT\d{3,}\b",
    re.IGNORECASE,
)
CONTINUES_ACTION = re.compile(
    r"^\W*(this|that|these|it|the) (will|would|should|effort|work|change|changes|project|tool|"
    r"include|includes|included|"
    r"tooling|allows?|helps?|gives?|means|ensures?|is|was|has been)\b",
    re.IGNORECASE,
)


def _has_action_language(
    text: str, block_kind: str, in_section: bool = False, span: Span | None = None
) -> bool:
    lowered = normalize_quotes(text).lower()
    if ACTION_CUES.search(lowered):
        return True
    if in_section and ACTION_WEAK.search(lowered):
        return True
    if block_kind not in ("list_item", "table_row"):
        return False
    if is_imperative(text):
        return True
    if not ACTION_LISTED.search(lowered):
        return False
    # "Better monitoring of X" names a plan; "Proper right-sizing resolved the issues" and
    # "Improved alerting caught it early" are statements that open with the same words.
    return bool(MODAL_PLAN.search(lowered)) or not is_finite_statement(text, span)


# Steps of the response itself, when a sentence lists what was done ("... included revoking
# the tokens, rotating the keys and notifying customers").
RESPONSE_STEP = re.compile(
    r"(reverting|rolling|restarting|rebooting|failing|restoring|disabling|re-?enabling|scaling|"
    r"revoking|rotating|resetting|invalidating|purging|notifying|contacting|deleting)"
)


def _response_only(listed: str) -> bool:
    """Every step a list of work names (by its gerunds) is a step of the response: revoking,
    rotating, restarting ...; one other step ("placing limits on ...") makes it follow-up work."""
    steps = re.findall(r"(?:^|,|\band\b|\bor\b)\s*(?:and\s+)?([a-z-]+ing)\b", listed.strip())
    return bool(steps) and all(RESPONSE_STEP.fullmatch(step) for step in steps)


def _follow_up(action: Action, lowered: str) -> bool:
    """Outside action sections, a step done during the response ("we rolled out the fix") is
    narrative; only plans, work in progress and steps taken since count as action items."""
    if action.status in ("planned", "in_progress"):
        return True
    if PREVENTED_SINCE.match(lowered) or DONE_SINCE.match(lowered) or HOLD.search(lowered):
        return True  # "To prevent recurrence, Acme disabled ...", "Post-incident, X was ..."
    listed = re.search(DONE_LISTED, lowered)
    if listed and _response_only(lowered[listed.end() :]):
        return False  # "Later actions included revoking the tokens and rotating the keys"
    if re.search(DONE_LISTED + "|" + TEAM_DID + "|" + MEASURES_ADDED, lowered):
        return True  # "Other remediations included ...", "Acme implemented new safeguards"
    if re.search(RESTRICTION_ADDED, lowered):
        return True  # "The other repositories were configured to require review"
    if PREVENTIVE_CHANGE.search(lowered):
        return True  # "A quota was put in place to avoid ...", "... added safeguards"
    return bool(
        re.search(
            r"\b(already|since|now|going forward|follow[- ]?up|permanent)",
            lowered,
        )
    )


def _make_action(text: str, start: int, end: int, sentence: int, heading: str = "") -> Action:
    body = text[start:end]
    return Action(
        text=body,
        start=start,
        end=end,
        status=action_status(body, heading),
        kind=action_kind(body),
        owner=action_owner(body),
        due=action_due(body),
        title=action_title(body),
        sentence=sentence,
    )


# A modal or a need: the item says what should be done ("PyBal should check ...", "We need
# monitoring of core services").
MODAL_PLAN = re.compile(
    r"\b(should|must|needs?|ought to|will|shall|has to|have to)\b|\bwe ?(need|want)\b", re.I
)
# "We have added", "we've significantly tightened": work the team reports as done since.
WE_PERFECT = re.compile(r"\bwe(?: have|'ve) (?:\w+ly )*(?:re-?)?[a-z]+ed\b", re.I)
# Work named by its gerund ("Investigating decoupling the instances"), unless the item is a
# finding told without its verb "to be" ("Testing in staging not thorough enough").
GERUND_WORK = re.compile(r"^\W*[A-Za-z]+ing\b(?!.*(\b(not|no|never|enough|too)\b|n't\b))", re.I)
_TITLE = re.compile(r"^\W*?(?:\*\*|__)[^*_\n]{1,80}?(?:\*\*|__)")


def _body_kind(view: SentenceView, known_verbs: bool = False) -> str:
    """How the item's words after any bold title are built: ``noun`` (a noun phrase naming
    something: "Action plan for checking release notes", "Gradual deployments to limit blast
    radius"), ``work`` (a report of work done: "Switched to pnpm 10", "Values increased to
    accommodate peak load", "We've tightened our release workflows") or ``clause`` (anything
    else, findings told without their verb "to be" too: "kube-system namespace not managed
    by Terraform", "Testing in staging not thorough enough"). With ``known_verbs``, an item
    without a subject is ``work`` only when its verb is one of :data:`PAST_LEAD` ("Staged
    deployments to limit the blast radius" opens with a participle, not a report)."""
    if view.span is None:
        return "clause"
    title = _TITLE.match(view.text)
    start = view.sentence.start + (title.end() if title else 0)
    body = [t for t in view.span if view.offset + t.idx >= start]
    inside = {t.i for t in body}
    heads = [
        t
        for t in body
        if (t.head.i not in inside or t.head.i == t.i) and not (t.is_punct or t.is_space)
    ]
    if not heads:
        return "clause"
    main = heads[0]
    if main.text.lower() == "re" and main.i + 2 < len(main.doc):
        main = main.doc[main.i + 2]  # "Re-worked our secrets management"
    subject = [c for c in main.children if c.dep_ in ("nsubj", "nsubjpass")]
    if main.tag_ in ("VBD", "VBN"):
        if WE_PERFECT.search(normalize_quotes(view.text)):
            return "work"
        first = next((t for t in body if t.is_alpha), main)
        known = bool(PAST_LEAD.fullmatch(main.text))
        if not subject and main.i <= first.i + 2 and (known or not known_verbs):
            return "work"  # "Switched to pnpm 10"
        if subject and known:
            return "work"  # "Settings moved to runtime configuration"
        return "clause"
    predicate = any(c.dep_ == "acl" and c.tag_ in ("VBN", "VBG") for c in main.children)
    if main.pos_ in ("NOUN", "PROPN") and not predicate:
        return "noun"
    return "clause"


def _reports_work(view: SentenceView) -> bool:
    """The item reports work done: a status marker, "we have ...", or a past-tense verb of
    work as its main verb (see :func:`_body_kind`)."""
    text = normalize_quotes(view.text)
    if DONE_MARK.search(text) or WE_DID.search(text) or DONE_WORDS.search(text):
        return True
    return _body_kind(view) == "work"


def _lesson_statement(view: SentenceView) -> bool:
    """A finite statement that is not a report of work done ("Alert noise is still too high",
    not "We reverted the change" or "Retry limits were added"), or an item whose bold title
    is a statement ("**Progressive rollouts save lives** - ...")."""
    if title_is_claim(view):
        return True
    return not _reports_work(view) and is_finite_statement(view.text, view.span)


# An item that ends with a colon introduces what follows it (a command, a code block).
INTRODUCES = re.compile(r":\W*$")


def _action_forms(views: list[SentenceView], run: list[list[int]]) -> list[str]:
    """The form of each item of a list as :func:`item_form` gives it, read for actions.

    An item whose bold title is a statement is a statement, whatever its body says; an item
    that ends with a colon introduces something else and stands alone (``field``). A
    statement that names something (a noun phrase: "Action plan for checking release
    notes") or reports work done ("Values increased to accommodate peak load") is an
    action when the items around it are (see :func:`_resolve_neutral`).
    """
    forms, strong, ours = [], [], []
    for item in run:
        view = views[item[0]]
        text = normalize_quotes(view.text)
        form = item_form(view.text, view.span)
        if form == "action" and _hindsight(view):
            form = "statement"  # "The operator should have checked ...": what went wrong
        if STATUS_LEAD.match(text):
            forms.append("action")  # a tracked task, whatever its wording
            strong.append(True)
            ours.append(False)
            continue
        lead = LEAD_IN.match(text)
        planned = form == "action" and (
            is_imperative(view.text, view.span)
            or bool(MODAL_PLAN.search(text) or ACTION_CUES.search(text.lower()))
            or bool(GERUND_WORK.match(text[lead.end() if lead else 0 :]))
        )
        # A report of work done is no plan, whatever cue it has ("We've moved X", "Increased Y").
        reported = form == "statement" or not planned or bool(WE_PERFECT.search(text))
        kind = _body_kind(view) if form in ("action", "statement") and reported else ""
        if form in ("action", "statement") and INTRODUCES.search(views[item[-1]].text):
            form = "field"
        elif form in ("action", "statement") and title_is_claim(view):
            form = "statement"
        elif kind == "work" or (form == "statement" and kind == "noun"):
            form = "neutral"  # "Increased the scrutiny ..." reports work, it is not a plan
        forms.append(form)
        strong.append(form == "action" and planned)
        ours.append(kind == "work" and bool(WE_PERFECT.search(text) or DONE_MARK.search(text)))
    return _resolve_neutral(forms, strong, ours)


def _resolve_neutral(forms: list[str], strong: list[bool], ours: list[bool]) -> list[str]:
    """Each stretch of ``neutral`` items becomes ``action`` when the items on either side of
    it are actions, one of them an imperative or a plan ("should", "we need"; "Increased
    error tracking bill" is neither), and the list holds at least as many actions as the
    stretch has items. A list that holds nothing else is a list of work done when one of
    its items says the team did it ("We've tightened our release workflows", then "Switched
    to pnpm 10"). Other stretches are statements."""
    resolved = list(forms)
    actions = forms.count("action")
    k = 0
    while k < len(forms):
        if forms[k] != "neutral":
            k += 1
            continue
        end = k
        while end < len(forms) and forms[end] == "neutral":
            end += 1
        sides = [x for x in (k - 1, end) if 0 <= x < len(forms)]
        if sides:
            adopt = (
                all(forms[x] == "action" for x in sides)
                and any(strong[x] for x in sides)
                and actions >= end - k
            )
        else:
            adopt = end - k >= 2 and any(ours[k:end])
        resolved[k:end] = ["action" if adopt else "statement"] * (end - k)
        k = end
    return resolved


# A line that introduces the list below it as follow-up work ("Next steps to prevent this from
# happening again:", "Follow-up tasks", "Action items:"), even a template line that was
# dropped as boilerplate.
FOLLOW_UP_INTRO = re.compile(
    r"\b(next steps|follow[- ]?up (tasks|items|actions|work)|action ?items|actionables|"
    r"corrective (actions|measures)|remediation (items|steps|tasks))\b",
    re.IGNORECASE,
)


def _introduced_as_follow_ups(views: list[SentenceView], first: int, text: str) -> bool:
    """The lines just above a list (not list items, at most a few) introduce it as follow-ups:
    the text dropped between the previous sentence and the list, or a paragraph right above
    it that ends with a colon."""
    view = views[first]
    before = views[first - 1] if first > 0 else None
    gap_start = before.sentence.end if before is not None else 0
    gap = text[max(gap_start, view.sentence.start - 400) : view.sentence.start]
    lines = [line for line in gap.splitlines() if line.strip()]
    if any(FOLLOW_UP_INTRO.search(line) for line in lines[-3:]):
        return True
    return (
        before is not None
        and before.sentence.block_kind == "paragraph"
        and before.block == view.block - 1
        and before.text.rstrip().endswith(":")
        and bool(FOLLOW_UP_INTRO.search(before.text))
    )


def _hindsight(view: SentenceView, text: str = "") -> bool:
    """The item says what should have happened ("The operator should have checked ..."),
    not what to do ("Investigate what should have paged and fix it" is a step)."""
    text = text or view.text
    return bool(HINDSIGHT.search(text)) and not is_imperative(text, view.span)


def _tells_how_it_was(view: SentenceView) -> bool:
    """The sentence's main verb is a past "to be": it tells how things were ("This was an
    action item after the last outage too"), not what to do or what was done."""
    if view.span is None:
        return False
    roots = [t for t in view.span if t.dep_ == "ROOT"]
    return bool(roots) and roots[0].lower_ in ("was", "were")


def _empty_commitment(lowered: str) -> bool:
    """Wording that looks committed and commits to nothing (``lowered``: quote-normalised,
    lower-case): what something is for, what someone decided during the incident, a bare
    "... we will." with no other cue."""
    return (
        bool(PURPOSE.search(lowered))
        or bool(REPORTED_SHOULD.search(lowered))
        or bool(WILL_ALONE.search(lowered) and len(ACTION_CUES.findall(lowered)) <= 1)
    )


def refuses_action(view: SentenceView) -> bool:
    """What the rules never take as an action item, whatever else says so: what something is
    for, what someone decided during the incident, a bare "we will", a promise to keep people
    informed, hindsight, how things were, a question, an announcement of steps listed
    elsewhere, a timeline entry, or a listed finding ("Alert messages are still unclear")."""
    lowered = normalize_quotes(view.text).lower()
    return (
        _empty_commitment(lowered)
        or bool(KEEP_INFORMED.search(lowered))
        or bool(ACTION_ANNOUNCEMENT.search(lowered))
        or _hindsight(view)
        or _tells_how_it_was(view)
        or view.text.rstrip().endswith(("?", ":"))
        or view.sentence.role == "timeline"
        or (view.sentence.block_kind != "paragraph" and _lesson_statement(view))
        # An imperative paragraph tells the reader what to do unless it cites its ticket.
        or (
            view.sentence.block_kind == "paragraph"
            and is_imperative(view.text, view.span)
            and not TICKET.search(view.text)
        )
    )


def action_lists(views: list[SentenceView], text: str) -> list[tuple[list[list[int]], bool]]:
    """The lists of the document cut where the form of their items changes, and for each
    piece (sentence indices per item) whether it is a list of actions.

    A list whose heading was removed can run into the next one ("Lessons learned" into
    "Action items"), so a list is cut into pieces of items of one form: imperatives and
    plans, or statements; fields ("Category: X") and names stand alone. A lone item of the
    other form inside a piece, or at its end next to two of its items, stays with it. A
    piece of two or more imperatives or plans is a list of actions, unless it comes before
    the last dated row of its list (a timeline) or the list holds lessons: at least a third
    of its items from the first imperative on are finite statements that report no work
    done (see :func:`_lesson_statement`).
    """
    result: list[tuple[list[list[int]], bool]] = []
    for run in list_runs(views, text):
        forms = _action_forms(views, run)
        tracked = [status_entry(views[item[0]].text) for item in run]
        if _introduced_as_follow_ups(views, run[0][0], text):
            # Every item of a list introduced as follow-ups is one, as under an action heading,
            # except a remark on how things were ("This was an action item last time too")
            # and an "informational" entry.
            for item, status in zip(run, tracked, strict=True):
                remark = status == "note" or _tells_how_it_was(views[item[0]])
                result.append(([item], not remark))
            continue
        if sum(1 for status in tracked if status) >= 2:
            # A list of tracked tasks: the items with a status are the tasks, an
            # "informational" entry is none; the items between them are tasks when they are
            # imperatives or plans, else notes judged by their own wording ("We should have
            # an alert for X" is one, "Ops disabled this alert" is not).
            for item, status, form in zip(run, tracked, forms, strict=True):
                if status:
                    result.append(([item], status == "task"))
                elif form == "action":
                    result.append(([item], True))
            continue
        # A timeline that runs into the next list (no blank line, no heading): only items
        # after its last dated row can be actions.
        last_dated = max((k for k, form in enumerate(forms) if form == "dated"), default=-1)
        tail = list(range(last_dated + 1, len(run)))
        first_action = next((k for k in tail if forms[k] == "action"), len(run))
        # A finite statement after an imperative ("Actively monitor X", then "Alert noise is
        # too high") marks lessons learned, not a list of action items.
        judged = [
            forms[k] == "statement" and _lesson_statement(views[run[k][0]])
            for k in range(first_action, len(run))
        ]
        lessons = any(judged) and 3 * sum(judged) >= len(judged)
        if len(run) < 2:
            continue  # a lone item is judged by its own wording
        kinds = smooth_forms(["statement" if form == "dated" else form for form in forms])
        for k in {0, len(run) - 1}:
            # A finding at either end of a list of actions stays one ("Users were very
            # understanding", then three imperatives); between two actions it is taken in.
            if forms[k] == "statement" and _lesson_statement(views[run[k][0]]):
                kinds[k] = "statement"
        for position, piece, kind in form_pieces(run, kinds):
            is_list = kind == "action" and len(piece) > 1 and position > last_dated
            result.append((piece, is_list and not lessons))
    return result


def _done_note_below(views: list[SentenceView], i: int, j: int, text: str) -> bool:
    """The list item ``views[i:j]`` has a note nested under it that says it is done
    ("- Use a shared team address" then "  - This has been done: team@example.org")."""
    if j >= len(views) or views[j].sentence.block_kind != "list_item":
        return False
    if _indent(text, views[j].block_start) <= _indent(text, views[i].block_start):
        return False
    return bool(DONE_NOTE.match(normalize_quotes(views[j].text)))


def _block_end(views: list[SentenceView], i: int) -> int:
    """Index after the last sentence of the block that holds ``views[i]``."""
    j = i + 1
    while j < len(views) and views[j].block == views[i].block:
        j += 1
    return j


def _block_text(views: list[SentenceView], i: int, text: str) -> str:
    return text[views[i].sentence.start : views[_block_end(views, i) - 1].sentence.end]


# The sentence after an announcement that lists the work ("These include ...", "They
# involve ...", "The changes are: ...").
LISTS_WORK = re.compile(
    r"^\W*(these|they|those|the (\w+ )?(changes|improvements|steps|measures|fixes|actions|plans|"
    r"items)) (will )?(include|includes|involve|involves|cover|covers|consist of|are)\b",
    re.IGNORECASE,
)


def _announced_list(views: list[SentenceView], i: int) -> int | None:
    """The index of the sentence right after ``views[i]`` in its block when that sentence lists
    the work ``views[i]`` announces ("These include ..."), else None."""
    j = i + 1
    if j >= len(views) or views[j].block != views[i].block:
        return None
    follow = normalize_quotes(views[j].text)
    if not LISTS_WORK.match(follow) or ACTION_ANNOUNCEMENT.search(follow.lower()):
        return None
    return j


def extract_actions(text: str, views: list[SentenceView]) -> tuple[Action, ...]:
    """Action items of one document, one per list item / table row / committing sentence.

    When the report has an action section, action items come from there only.
    """
    actions: list[Action] = []
    has_action_section = any(_is_action_section(view) for view in views)
    # Without action headings, a list is a list of actions when most of its items are
    # imperatives or plans; items of other lists (findings, lessons, names) are not actions.
    action_items: dict[int, bool] = {}
    if not has_action_section:
        for run, is_action_list in action_lists(views, text):
            for item in run:
                action_items[item[0]] = is_action_list
    i = 0
    while i < len(views):
        view = views[i]
        kind = view.sentence.block_kind
        in_section = _is_action_section(view) or view.after_action_heading
        if has_action_section and not in_section:
            i += 1
            continue
        if kind in ("list_item", "table_row"):
            # The whole item is one action; its sentences are views[i:j].
            j = i + 1
            while j < len(views) and views[j].block == view.block:
                j += 1
            item = views[i:j]
            body = text[item[0].sentence.start : item[-1].sentence.end]
            if i in action_items:
                if action_items[i]:
                    action = _make_action(
                        text,
                        view.sentence.start,
                        item[-1].sentence.end,
                        view.sentence.index,
                        view.heading,
                    )
                    if _done_note_below(views, i, j, text):
                        action = replace(action, status="done")  # "- This has been done"
                    if action.status == "unknown":
                        # A listed item to do, or one that reports the work as done.
                        done = _body_kind(view, known_verbs=True) == "work"
                        action = replace(action, status="done" if done else "planned")
                    actions.append(action)
                i = j
                continue
            tracked = bool(STATUS_LEAD.match(normalize_quotes(body)))
            # "The operator should have checked ..." tells what went wrong: no step.
            hindsight = not in_section and not tracked and _hindsight(view, body)
            if not hindsight and (
                in_section
                or tracked
                or any(v.sentence.role == "action" for v in item)
                or (
                    any("action" in v.sentence.roles for v in item)
                    and (
                        is_imperative(body, view.span)
                        or ACTION_CUES.search(normalize_quotes(body).lower())
                    )
                )
            ):
                if in_section or tracked or _has_action_language(body, kind, span=view.span):
                    start, end = item[0].sentence.start, item[-1].sentence.end
                    action = _make_action(text, start, end, view.sentence.index, view.heading)
                    if _done_note_below(views, i, j, text):
                        action = replace(action, status="done")  # "- This has been done"
                    if action.status == "unknown" and in_section:
                        action = replace(action, status="planned")  # a listed item to do
                    actions.append(action)
            i = j
            continue
        if (
            not has_action_section
            and kind == "paragraph"
            and view.first_in_block
            and is_imperative(view.text, view.span)
            and TICKET.search(_block_text(views, i, text))
        ):
            # "Limit memory available to build pods. (https://.../pull/159)": a paragraph that
            # opens with an imperative and cites its ticket is a tracked step.
            j = _block_end(views, i)
            start, end = view.sentence.start, views[j - 1].sentence.end
            action = _make_action(text, start, end, view.sentence.index, view.heading)
            if action.status == "unknown":
                action = replace(action, status="planned")
            actions.append(action)
            i = j
            continue
        if (
            ACTION_LABEL.match(view.text)
            and i + 1 < len(views)
            and views[i + 1].block == view.block
        ):
            # "**Action item:** Start incidents earlier.": the label names the sentence after it.
            start, end = view.sentence.start, views[i + 1].sentence.end
            action = _make_action(text, start, end, view.sentence.index, view.heading)
            if action.status == "unknown":
                action = replace(action, status="planned")
            actions.append(action)
            i += 2
            continue
        lowered = normalize_quotes(view.text).lower()
        committed = bool(ACTION_CUES.search(lowered)) and not _empty_commitment(lowered)
        is_action = "action" in view.sentence.roles and (
            view.sentence.role == "action" or committed or in_section
        )
        listed_next = _announced_list(views, i) if is_action and committed else None
        if listed_next is not None and ACTION_ANNOUNCEMENT.search(lowered):
            # "Acme plans several improvements. These include a, b and c": the announcement is
            # no item; the sentence that lists the work is, with the announcement's status.
            follow = views[listed_next]
            start, end = follow.sentence.start, follow.sentence.end
            action = _make_action(text, start, end, follow.sentence.index, view.heading)
            both = f"{view.text} {follow.text}"
            action = replace(action, status=action_status(both, view.heading))
            if in_section or _follow_up(action, normalize_quotes(both).lower()):
                actions.append(action)
                i = listed_next + 1
                continue
        if (
            is_action
            and (
                committed
                or (in_section and kind != "paragraph")
                # "### Repo2docker" then "Limit memory available to build pods.": a step
                # written as a paragraph of its own under an action heading.
                or (in_section and view.first_in_block and is_imperative(view.text, view.span))
            )
            and not ACTION_ANNOUNCEMENT.search(lowered)
            and not KEEP_INFORMED.search(lowered)
        ):
            # Sentences that go on about the same step ("This will help ...") join it.
            j = i + 1
            while (
                j < len(views)
                and views[j].block == view.block
                and CONTINUES_ACTION.match(views[j].text)
                and not ACTION_CUES.search(normalize_quotes(views[j].text).lower())
            ):
                j += 1
            start, end = view.sentence.start, views[j - 1].sentence.end
            action = _make_action(text, start, end, view.sentence.index, view.heading)
            if in_section or view.after_action_heading or _follow_up(action, lowered):
                actions.append(action)
                i = j
                continue
        i += 1
    if not has_action_section:
        # Without action headings, what is told between two dated entries is part of the
        # timeline's story ("Some maintenance is then begun: 1. Make sure nodes have SSDs"),
        # not a follow-up.
        dated = dated_lines(text)
        if len(dated) >= 2:
            actions = [a for a in actions if not dated[0] < a.start < a.end < dated[-1]]
    return tuple(actions)

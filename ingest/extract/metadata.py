"""Metadata: title, organisation, incident and publication dates, duration and a summary.

* Title: the ``<title>`` hint or the first heading-like line that is not page furniture
  ("Product", "Incident Report for [mailgun](/)", "• What's new", "Postmortem", bylines,
  "5 min read"); else a short summary sentence, prefixed with the organisation.
* Organisation: the name the text uses for "us": frequent ORG (and vendor-like SYSTEM)
  entities, weighted by "our"/"X team"/"X engineering" context and presence in the title.
* Dates: the publication date from "originally posted on July 18, 2018" and the like; the
  incident date from the first date written in an event sentence, its year taken from the date
  itself, else from the publication date, the file name or another year in the text, else left
  empty with a ``date_note``. A date in the file name ("2018-01-18-reddit-hug.md",
  "20170728-s5-outage.txt") also picks, among the text's dates, the one of the incident when the
  first event date lies weeks before it (a latent bug "that started back on 5th of July"), and is
  the incident date when the text states none (the note then says so).
* Summary: 2-3 sentences from a Summary section, else early sentences heavy in cause and
  impact.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath

from ingest.nlp import system_kinds
from ingest.records import Document, Section

from .roles import SentenceView, normalize_quotes

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY_RE = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
DATE_PATTERNS = (
    re.compile(r"\b(?P<year>(?:19|20)\d{2})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(
        r"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?P<month>"
        + _MONTH_RE
        + r")\s+"
        + _DAY_RE
        + r"\b(?:,?\s+(?P<year>(?:19|20)\d{2})\b)?",
        re.IGNORECASE,
    ),
    re.compile(
        # "3 February", "3rd of February", "3. February 2020" (the European ordinal dot)
        r"(?<![.\d])\b" + _DAY_RE + r"\.?\s+(?:of\s+)?(?P<month>" + _MONTH_RE + r")\b(?:,?\s+"
        r"(?P<year>(?:19|20)\d{2})\b)?",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?P<month>" + _MONTH_RE + r")\s+(?P<year>(?:19|20)\d{2})\b", re.IGNORECASE),
)
PUBLISHED = re.compile(
    r"\b(?:originally\s+)?(?:posted|published|reported|written|released)\s+(?:on\s+)?",
    re.IGNORECASE,
)
UPDATED = re.compile(r"\b(?:last\s+)?(?:updated|modified|edited)\s+(?:on\s+)?$", re.IGNORECASE)
YEAR = re.compile(r"\b((?:19|20)\d{2})\b")

FURNITURE = re.compile(
    r"^\W*(product|products|blog|home|menu|navigation|skip to (main )?content|what's new|"
    r"featured|share|tweet|postmortem|post-mortem|post mortem|incident report|incident|"
    r"status|resolved|update|summary|overview|introduction|background|tl;?dr|"
    r"executive summary|table of contents|contents|\d+ min(ute)? read|by [\w .]+|"
    r"tags?:.*|last updated.*|posted.*|published.*|written by.*|sign up.*|subscribe.*|"
    r"incident report for .*|related posts?|recent posts?|top posts?)\W*$",
    re.IGNORECASE,
)
GENERIC_HEADING = re.compile(
    r"^\W*(summary|overview|introduction|background|timeline|root cause.*|impact|"
    r"corrective actions?|action items?|lessons learned|what happened\??|details|"
    r"contributing factors|resolution|detection|remediation|follow[- ]?ups?|next steps|"
    r"stats|appendix|description|incident summary|the situation|the plan)\W*$",
    re.IGNORECASE,
)
SUMMARY_HEADING = re.compile(
    r"summary|overview|tl;?dr|description|what happened|introduction|abstract", re.IGNORECASE
)
REPORT_FOR = re.compile(
    r"\b(?:incident|status|postmortem|post-mortem|outage) (?:report|update|page)?\s*(?:for|from)\s+"
    r"\[?(?P<name>[A-Za-z][\w.-]{1,40})\]?",
    re.IGNORECASE,
)
DOMAIN = re.compile(
    r"(?<![\w.@/-])(?:https?://)?(?:www\.)?([a-z0-9][a-z0-9-]{1,40}\.(?:org|com|io|net|dev|app|cloud))"
    r"(?![\w-])",
    re.IGNORECASE,
)
# A web host with subdomains ("hub.mybinder.org"): the registrable name is what counts.
SUBDOMAIN_HOST = re.compile(
    r"(?<![\w@/.-])(?:https?://)?(?:[a-z0-9-]+\.)+"
    r"([a-z0-9][a-z0-9-]{1,40}\.(?:org|com|io|net|dev|app|cloud))(?![\w.-]*\w)",
    re.IGNORECASE,
)
# "On June 8, 2021, Fastly experienced a global disruption", "CircleCI customers experienced
# delays", "Acme's network began experiencing failures", "incident.io experienced downtime":
# the subject of the opening sentence that suffered the incident is the writer (or the
# provider the report is about).
OPENING_SUBJECT = re.compile(
    r"(?:^\W*|[,;:]\s+|\b(?:when|and|but)\s+)(?:[Tt]he\s+)?(?:entire\s+)?"
    r"(?P<name>[A-Z][\w.&-]*(?:\s+[A-Z][\w.&-]*){0,2}|[a-z][\w-]*\.(?:io|com|org|net|dev|app))"
    r"(?:'s|\u2019s)?(?:\s+[a-z][\w-]*){0,3}?\s+(?:began\s+)?"
    r"(?:experienc(?:ed|ing)|suffered|(?:was|were)\s+notified|identified\s+and\s+fixed|"
    # "mybinder.org was failing to launch", "GitHub was down", "Acme had an outage"
    r"(?P<down>(?:was|were)\s+(?:(?:partially|completely|largely)\s+)?(?:down|unavailable|"
    r"unreachable|inaccessible|degraded|failing)|went\s+down|had\s+an?\s+(?:outage|incident|"
    r"disruption)))\b"
)
# Trailing words that name a part of the organisation's offering, not the organisation.
_PART_WORDS = re.compile(
    r"\s+(?:Networking|Network|Services?|Platform|Storage|Compute|Engineering|Team|API|App)$"
)
_COMMON_DOMAINS = {
    "github",
    "gitlab",
    "google",
    "googleapis",
    "amazon",
    "amazonaws",
    "aws",
    "microsoft",
    "slack",
    "twitter",
    "x",
    "youtube",
    "medium",
    "stackoverflow",
    "wikipedia",
    "readthedocs",
    "docker",
    "npmjs",
    "pypi",
    "statuspage",
    "bitbucket",
    "cloudflare",
    "example",
    "gstatic",
    "githubusercontent",
    "atlassian",
    "zoom",
    "linkedin",
    "facebook",
    "apple",
    "letsencrypt",
    "gcr",
    "quay",
    "k8s",
    "kubernetes",
}
_VENDOR_KINDS = {
    "email",
    "hosting",
    "cloud",
    "cdn",
    "vendor",
    "analytics",
    "collaboration",
    "payments",
    "vcs",
    "messaging",
    "monitoring",
    "alerting",
    "",
}
# "from Wednesday", "at February 4": days and months are not who wrote the report.
_CALENDAR_WORD = re.compile(
    r"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|january|february|march|april|may|june|"
    r"july|august|september|october|november|december|today|yesterday|tonight)(?:\W|$)"
)
_NOT_ORGS = {
    "cest",
    "cet",
    "pst",
    "pdt",
    "est",
    "edt",
    "utc",
    "gmt",
    "api",
    "smtp",
    "dns",
    "sla",
    "slo",
    "the mailgunners",
    "engineering",
    "support",
    "ops",
    "sre",
    "it",
}


@dataclass(frozen=True)
class Metadata:
    """Document-level facts found by :func:`extract_metadata`."""

    title: str
    organization: str
    date: str
    published: str
    date_note: str
    summary: tuple[str, ...]
    duration_minutes: float | None = None


@dataclass(frozen=True)
class DateMention:
    """A date written in the text, possibly without a year or day."""

    start: int
    end: int
    year: int | None
    month: int | None
    day: int | None

    def iso(self, year: int | None = None) -> str:
        """yyyy-mm-dd, yyyy-mm or yyyy with the given year if the text had none; "" if none."""
        year = self.year or year
        if not year:
            return ""
        if self.month and self.day:
            return f"{year:04d}-{self.month:02d}-{self.day:02d}"
        if self.month:
            return f"{year:04d}-{self.month:02d}"
        return f"{year:04d}"


def find_dates(text: str, start: int = 0, end: int | None = None) -> list[DateMention]:
    """Dates written in text[start:end], longest match first at each place, in order."""
    end = len(text) if end is None else end
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(text, start, end):
            if any(a < match.end() and match.start() < b for a, b in taken):
                continue
            groups = match.groupdict()
            month_text = (groups.get("month") or "").rstrip(".").lower()
            month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text[:3])
            if month_text and not month_text.isdigit():
                month = MONTHS.get(month_text) or MONTHS.get(month_text[:3])
            day = int(groups["day"]) if groups.get("day") else None
            year = int(groups["year"]) if groups.get("year") else None
            if not month or not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
                continue
            if month_text == "may" and day is None and year is None:
                continue
            taken.append((match.start(), match.end()))
            found.append(DateMention(match.start(), match.end(), year, month, day))
    return sorted(found, key=lambda d: d.start)


FILE_DATE = re.compile(
    r"(?<![0-9A-Za-z])((?:19|20)\d{2})([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?![0-9])"
)
FILE_DATE_NOTE = "date from the file name"
# A text date this many days before the file's date, or more than a day after it, is not taken
# as the incident's when another text date falls inside that window.
FILE_WINDOW_BEFORE = 14
FILE_WINDOW_AFTER = 1
# ... and when no text date is in that window, the file's date is the incident's if the text's
# lies more than this many days from it (a date in the text about something else).
FILE_FAR_DAYS = 45


def date_from_path(path: str) -> DateMention | None:
    """The calendar day a file name carries, if any: "2018-01-18-reddit-hug.md",
    "20170728-s5-outage.txt", "postmortem_2021_03_04.md" (offsets -1: not in the text).

    >>> date_from_path("incidents/2018-01-18-reddit-hug.md").iso()
    '2018-01-18'
    >>> date_from_path("PM2019-009.md") is None, date_from_path("2019-02-30-x.md") is None
    (True, True)
    """
    match = FILE_DATE.search(PurePath(path).name)
    if not match:
        return None
    year = int(match.group(1))
    mention = DateMention(-1, -1, year, int(match.group(3)), int(match.group(4)))
    return mention if _day(mention, year) else None


def _day(mention: DateMention, year: int | None) -> dt.date | None:
    if not (year and mention.month and mention.day):
        return None
    try:
        return dt.date(year, mention.month, mention.day)
    except ValueError:
        return None


def find_published(text: str) -> DateMention | None:
    """The publication date ("originally posted on July 18, 2018"), if the text gives one."""
    for match in PUBLISHED.finditer(text):
        dates = find_dates(text, match.end(), min(len(text), match.end() + 40))
        if dates and dates[0].start - match.end() <= 3 and dates[0].year:
            return dates[0]
    return None


def _excluded_date(text: str, mention: DateMention, published: DateMention | None) -> bool:
    if published and mention.start == published.start:
        return True
    before = text[max(0, mention.start - 40) : mention.start]
    return bool(UPDATED.search(before) or PUBLISHED.search(before[-25:]))


def _infer_year(
    mention: DateMention,
    published: DateMention | None,
    text: str,
    file_date: DateMention | None = None,
) -> int | None:
    if mention.year:
        return mention.year
    for known in (published, file_date):
        if known and known.year:
            if mention.month and known.month and mention.month > known.month:
                return known.year - 1
            return known.year
    years = [int(y) for y in YEAR.findall(text)]
    return Counter(years).most_common(1)[0][0] if years else None


def incident_date(
    text: str,
    views: list[SentenceView],
    published: DateMention | None,
    title: str,
    file_date: DateMention | None = None,
) -> tuple[str, str]:
    """(ISO incident date or "", note) from the first date written in an event sentence.

    ``file_date`` (:func:`date_from_path`) gives a year to dates written without one, picks the
    text date nearest it when the first event date lies outside its window, and is the answer
    when the text states no date at all.
    """
    event_day: DateMention | None = None  # the first event sentence's date with a day
    event_month: DateMention | None = None  # ... or, before it, one with a month only
    first_date: DateMention | None = None
    days: list[DateMention] = []
    for view in views:
        s = view.sentence
        mentions = [
            m
            for m in find_dates(text, s.start, s.end)
            if m.month and not _excluded_date(text, m, published)
        ]
        days.extend(m for m in mentions if m.day)
        if not mentions or event_day is not None:
            continue
        if first_date is None or (not first_date.day and mentions[0].day):
            first_date = mentions[0] if first_date is None or mentions[0].day else first_date
        if s.role in ("timeline", "impact", "cause") or set(s.roles) & {"timeline", "impact"}:
            with_day = next((m for m in mentions if m.day), None)
            if with_day is not None and _refines(event_month, with_day):
                event_day = with_day
            elif event_month is None:
                event_month = mentions[0]
                if with_day is not None:
                    event_day = mentions[0]
    chosen = event_day or event_month or first_date
    if chosen is None:
        title_dates = find_dates(title)
        if not title_dates:
            if file_date is not None:
                return file_date.iso(), FILE_DATE_NOTE
            return "", "date not stated in the text"
        if file_date is None:
            return title_dates[0].iso(), ""
        chosen = title_dates[0]
    if file_date is not None:
        chosen = _near_file_date(chosen, days, published, text, file_date)
        if chosen is file_date:
            return file_date.iso(), FILE_DATE_NOTE
    year = _infer_year(chosen, published, text, file_date)
    if not year:
        title_years = YEAR.findall(title)
        year = int(title_years[0]) if title_years else None
    if not year:
        return "", "year not stated in the text"
    return chosen.iso(year), ""


def _refines(month: DateMention | None, day: DateMention) -> bool:
    """A date with a day may stand for an earlier event date written as a month only."""
    if month is None:
        return True
    return month.month == day.month and (not month.year or not day.year or month.year == day.year)


def _near_file_date(
    chosen: DateMention,
    days: list[DateMention],
    published: DateMention | None,
    text: str,
    file_date: DateMention,
) -> DateMention:
    """``chosen``, unless it falls outside the file date's window: then the first text date
    inside the window, else the file's date when ``chosen`` lies far from it."""
    anchor = _day(file_date, file_date.year)
    assert anchor is not None

    def inside(mention: DateMention) -> bool:
        day = _day(mention, _infer_year(mention, published, text, file_date))
        return day is not None and (-FILE_WINDOW_BEFORE <= (day - anchor).days <= FILE_WINDOW_AFTER)

    if inside(chosen):
        return chosen
    near = next((m for m in days if inside(m)), None)
    if near is not None:
        return near
    # No text date near the file's: the file's own date, unless the text's is close to it
    # (a report filed a few weeks later) or a month that holds it.
    year = _infer_year(chosen, published, text, file_date)
    if chosen.day:
        day = _day(chosen, year)
        if day is not None and abs((day - anchor).days) <= FILE_FAR_DAYS:
            return chosen
    elif year == file_date.year and chosen.month == file_date.month:
        return file_date
    elif (
        year is not None
        and chosen.month
        and abs((dt.date(year, chosen.month, 15) - anchor).days) <= FILE_FAR_DAYS
    ):
        return chosen
    return file_date


def _heading_like(line: str) -> bool:
    words = line.split()
    return (
        0 < len(words) <= 14
        and len(line) <= 100
        and not line.endswith((".", ",", ";"))
        and not FURNITURE.match(line)
        and not GENERIC_HEADING.match(line)
        and bool(re.search(r"[A-Za-z]{3}", line))
        and not re.match(r"^\W*(this was|last updated|tags?:)", line, re.IGNORECASE)
    )


def _clean_title(line: str) -> str:
    line = re.sub(r"^[#>*\s•]+|[*_`]+", "", line).strip()
    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)  # [text](link) -> text
    return re.sub(r"\s+", " ", line).strip(" -:|")


PROSE_WORDS = 25  # a paragraph this long is body text: no title line comes after it


def _standalone_lines(text: str, limit: int = 15) -> list[str]:
    """The first non-blank lines that stand alone (not wrapped into the next line), up to the
    first paragraph of body text: a short line after the report has begun ("The parameters
    governing the recovery were:", "Mainly between 22:26 and 22:39 UTC") is not its title."""
    head = text[:4000]
    lines = head.split("\n")
    if len(head) < len(text):
        lines = lines[:-1]  # the last line may be cut short
    has_blank_lines = any(not line.strip() for line in lines)
    found = []
    paragraph_words = 0
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            paragraph_words = 0
            continue
        paragraph_words = (paragraph_words if has_blank_lines else 0) + len(line.split())
        if paragraph_words >= PROSE_WORDS:
            break
        before_blank = i == 0 or not lines[i - 1].strip() or not has_blank_lines
        after_blank = i + 1 >= len(lines) or not lines[i + 1].strip() or not has_blank_lines
        if before_blank and after_blank:
            found.append(raw)
        if len(found) >= limit:
            break
    return found


def _top_heading(text: str) -> str:
    """A Markdown level-1 heading on the first line titles the report, even "2017-09-29, 504"."""
    match = re.match(r"\s*#[ \t]+(\S[^\n]*)", text)
    if not match:
        return ""
    line = _clean_title(match.group(1))
    if (
        not line
        or len(line) > 100
        or _is_question(line)
        or FURNITURE.match(line)
        or GENERIC_HEADING.match(line)
        or re.fullmatch(r"[\d:.\s]+(?:UTC|Z)?", line)  # a bare time stamp
    ):
        return ""
    return line


def find_title(
    document: Document, sections: tuple[Section, ...], views: list[SentenceView], org: str
) -> str:
    """The title a person would give the report (see module docstring)."""
    hint = _clean_title(
        re.split(r"\s+[|\u2013\u2014]\s+|\s+-\s+(?=[^-]+$)", document.title_hint)[0]
    )
    if hint and _heading_like(hint):
        return hint
    top = _top_heading(document.text)
    if top:
        return top
    for raw in _standalone_lines(document.text):
        line = _clean_title(raw)
        if line and _title_like(line):
            return line
    for section in sections[:8]:
        if section.level:
            title = _clean_title(section.title)
            if _title_like(title):
                return title
    return _title_from_sentences(views, org)


def _title_like(line: str) -> bool:
    """A heading that can title the report.

    Not a timeline row ("09:25 ...", "Aug 25 07:35 ...": a dated title such as "2018-01-18,
    Reddit hug" is fine) and not one of the questions a template asks further down ("What
    went well?").
    """
    return (
        _heading_like(line)
        and len(line.split()) >= 2
        and not _LEADING_STAMP.match(line)
        and not _is_question(line)
    )


_LEADING_ADVERBIAL = re.compile(
    r"^\W*(?:(?:approximately|about|roughly|around|just|some|nearly|almost|mainly|mostly|"
    r"primarily|largely)\s+)?"
    r"(?:[\w-]+\s+(?:seconds?|minutes?|hours?|days?|weeks?|months?)\s+(?:after|before|into)|"
    r"on|at|by|around|between|from|shortly after|after|beginning|starting|earlier|"
    r"yesterday|today|last|this past|recently|while|when|during|following|although|though|"
    r"despite|as part of|in|within|over|since|throughout)\b[^,]{0,60},\s*",
    re.IGNORECASE,
)
# What is left at the front once a date adverbial is gone ("On June 13th, 2023, starting at
# ...": the year), and discourse adverbs that open a sentence.
_LEADING_FRAGMENT = re.compile(
    r"^\W*(\d{4}\b[^,]{0,30}|(?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?|"
    r"separately|additionally|however|meanwhile|unfortunately|initially|overall|"
    r"in (?:summary|short|brief)|in total|in all|first(?:ly)?)\s*,\s*",
    re.IGNORECASE,
)
_PRONOUN_START = re.compile(r"^\W*(this|these|that|those|it|they|we would|we'd)\b", re.IGNORECASE)
# Words that show a sentence tells what went wrong (an opening sentence that does is the
# report's own summary, the best title a prose report offers).
_INCIDENT_WORDS = re.compile(
    r"\b(outages?|incidents?|disruptions?|degrad\w*|errors?|fail\w*|down(?:time)?|crash\w*|"
    r"latenc\w*|unavailab\w*|unresponsive\w*|inaccessible|interruptions?|breach\w*|"
    r"leak\w*|broke\w*|lost|loss|deleted|corrupt\w*|expired|exposed|compromised|bugs?|"
    r"defects?|problems?|issues?|caus\w*|trigger\w*|impact\w*|affect\w*|experienc\w*|"
    r"dropped|flood\w*|stopped|slow\w*|timeouts?|timed out|overload\w*|saturat\w*|"
    r"unreachable|misbehav\w*|went wrong|read-only|unable|could ?n[o']t|can ?n[o']t|offline|"
    r"delay(?:s|ed)?|stuck|lag(?:s|ged|ging)?|blocked|wrongly|not (?:available|accessible|"
    r"reachable|possible|working|served|delivered))\b",
    re.IGNORECASE,
)


# A time stamp that opens a timeline row: "09:25", "Aug 25 07:35", "22 Jun 2015 16:43:17 UTC",
# "2020-01-01 00:43".
_LEADING_STAMP = re.compile(
    r"^\W*(?:\d{4}-\d{2}-\d{2}[T ]\s*)?"
    r"(?:(?:\d{1,2}\s+[A-Za-z]{3,9}\.?|[A-Za-z]{3,9}\.?\s+\d{1,2})(?:,?\s+\d{4})?\s+)?"
    r"\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?\s*)?(?:[A-Z]{2,5}\b)?[\s:,-]*",
    re.IGNORECASE,
)


def _strip_leading(text: str) -> str:
    """Drop the date adverbials, time stamps and discourse adverbs that open a sentence."""
    for _ in range(4):
        stripped = _LEADING_FRAGMENT.sub("", _LEADING_ADVERBIAL.sub("", text))
        stripped = _LEADING_STAMP.sub("", stripped)
        if stripped == text or len(stripped.split()) < 3:
            break
        text = stripped
    return text


_DANGLING = re.compile(
    r"(?:\s+(?:on|at|in|from|to|by|of|for|with|and|or|but|the|a|an|between|since|until|"
    r"during|after|before|while|which|that|who|its|their|our|his|her|[\d:.]+))+\W*$",
    re.IGNORECASE,
)


def _clip(view: SentenceView, max_words: int = 14) -> str:
    """The sentence without a leading time adverbial, cut after a noun phrase near max_words."""
    text = re.sub(r"\s+", " ", re.sub(r"[*_`]+", "", view.text)).strip().rstrip(".")
    # Asides between dashes or in parentheses are not what happened.
    text = re.sub(r"\s+[\u2013\u2014]\s+[^\u2013\u2014]{1,100}?\s+[\u2013\u2014]\s+", " ", text)
    text = re.sub(r"\s*\([^()]{1,80}\)", "", text)
    text = _strip_leading(text)
    if len(text.split()) > max_words:
        # Cut at the first clause boundary that leaves a phrase of 5+ words, else hard.
        for boundary in re.finditer(
            r",|;|\s(?:that|which|who|where|while|and|but|so|because)\s", text
        ):
            head = text[: boundary.start()]
            if 5 <= len(head.split()) <= max_words:
                text = head
                break
        else:
            text = " ".join(text.split()[:max_words])
            # A hard cut must not end on a word that needs the next one ("... from 5:48 on").
            text = re.sub(_DANGLING, "", text)
    text = text.strip(" ,;:-")
    return text[:1].upper() + text[1:]


def _title_from_sentences(views: list[SentenceView], org: str) -> str:
    """ "Org: <short clause>" from the sentence that best says what happened.

    The report's opening sentence wins when it tells what went wrong (prose reports without
    a title open with their own summary); otherwise the best-placed impact, cause or
    timeline sentence does.
    """
    best: SentenceView | None = None
    best_score = -1.0
    first: SentenceView | None = None
    opening = True
    for position, view in enumerate(views[:30]):
        s = view.sentence
        words = len(s.text.split())
        if s.block_kind == "table_row" or _is_question(s.text):
            continue
        if first is None and words >= 3:
            first = view
        if words < 6 or _PRONOUN_START.match(s.text):
            continue
        score = 2.0 * ("impact" in s.roles) + 1.5 * ("cause" in s.roles)
        score += 1.0 * ("timeline" in s.roles) + (
            2.0 if SUMMARY_HEADING.search(view.heading) else 0
        )
        score -= 0.08 * position + (0.05 * max(0, words - 20))
        if s.role in ("action", "other"):
            score -= 1.0
        if _LEADING_STAMP.match(s.text):
            score -= 2.0  # a timeline row tells one step, not the incident
        if opening and _INCIDENT_WORDS.search(s.text):
            score += 3.0
        opening = False
        if score > best_score:
            best, best_score = view, score
    best = best or first
    if best is None:
        return org or "Untitled incident"
    clause = _clip(best)
    if org and org.lower() not in " ".join(clause.lower().split()[:6]):
        return f"{org}: {clause}"
    return clause


def _is_question(text: str) -> bool:
    return text.rstrip().rstrip("*_\"')").endswith("?")


def _opening_subjects(
    text: str, views: list[SentenceView], kinds: dict[str, str], limit: int = 3
) -> list[str]:
    """Names that suffered the incident in the report's first sentences ("Fastly experienced").

    ``kinds`` is the gazetteer (``system_kinds()``) the caller already holds.
    """
    names = []
    technologies = {name.lower() for name, kind in kinds.items() if kind not in _VENDOR_KINDS}
    prose = [v for v in views if not _is_question(v.text)][:limit]
    for view in prose:
        for match in OPENING_SUBJECT.finditer(normalize_quotes(view.text)):
            name = match.group("name")
            if " " in name:
                name = _PART_WORDS.sub("", name)
            words = name.split()
            if len(words) > 1 and words[-1].lower() in technologies:
                name = " ".join(words[:-1])  # "The WebKit Subversion repository"
            if match.group("down") and name.lower() in technologies:
                continue  # "Redis was down": a technology the writer runs, not the writer
            first = name.split()[0]
            # "Users experienced errors", "Some customers ...": a common word written in lower
            # case elsewhere in the report is no name.
            if first[:1].isupper() and re.search(r"\b" + re.escape(first.lower()) + r"s?\b", text):
                continue
            names.append(name)
    return names


def find_organization(text: str, views: list[SentenceView], title: str) -> str:
    """The organisation the report speaks for (most cited ORG-like name, "our"-weighted)."""
    kinds = system_kinds()
    scores: Counter[str] = Counter()
    surface: dict[str, str] = {}
    evidence: set[str] = set()  # names with a sign of being the writer's own
    org_mentions: Counter[str] = Counter()
    for view in views:
        span = view.span
        if span is None:
            continue
        for ent in span.ents:
            label = ent.label_
            if label == "SYSTEM":
                if kinds.get(ent.ent_id_, "") not in _VENDOR_KINDS:
                    continue
                name = ent.ent_id_
            elif label in ("ORG", "PERSON", "PRODUCT", "GPE", "NORP"):
                name = re.sub(r"(’s|'s)$", "", ent.text.strip())
                if label in ("PERSON", "GPE", "NORP") and name.lower() not in text[:400].lower():
                    continue
            else:
                continue
            key = name.lower()
            if (
                key in _NOT_ORGS
                or len(name) < 2
                or not name[:1].isupper()
                or _CALENDAR_WORD.match(key)
            ):
                continue
            surface.setdefault(key, name)
            weight = 1.0 if label in ("ORG", "SYSTEM") else 0.5
            if re.fullmatch(r"[A-Z0-9]{2,4}s?", name):
                weight *= 0.3  # "IP", "SDK", "CPU", "KIAM": mostly technical acronyms
            start = view.offset + ent.start_char
            context = normalize_quotes(text[max(0, start - 12) : start + len(name) + 30]).lower()
            # "at Mailgun", "Mailgun's", "the Mailgun team": the writer's own name. ("our X"
            # says the opposite: X is something the writer owns; "looked at grafana" names a
            # tool, and a name written in lower case is a tool, not who writes.)
            if ent.text[:1].isupper() and re.search(
                r"(?<!look )(?<!looked )(?<!looking )\b(at|from|we at|here at) "
                + re.escape(key)
                + r"\b|"
                + re.escape(key)
                + r"(?:'s)? (team|engineering|engineers|customers|users|status|community|"
                r"operations|sre|staff|support)\b|" + re.escape(key) + r"'s\b",
                context,
            ):
                weight += 1.0
                evidence.add(key)
            if label == "ORG" and not re.fullmatch(r"[A-Z0-9]{2,5}s?", name):
                org_mentions[key] += 1
            scores[key] += weight
    for key in list(scores):
        if re.search(r"(?<!\w)" + re.escape(key) + r"(?!\w)", title.lower()):
            scores[key] += 1.0
            if re.match(
                r"^\W*" + re.escape(key) + r"\W+(post[\s-]?mortem|incident|outage|status|report|"
                r"engineering|service disruption|experienced|suffered|had an?)\b",
                title.lower(),
            ):
                scores[key] += 3.0
                evidence.add(key)
    for match in REPORT_FOR.finditer(text[:3000]):
        name = match.group("name")
        key = name.lower()
        # "Incident Report for [mailgun](/)", "Status page for Acme"; not "an outage from
        # Wednesday" or "an outage for customers".
        linked = "[" in match.group(0)
        if _CALENDAR_WORD.match(key) or key in _NOT_ORGS or not (linked or name[:1].isupper()):
            continue
        surface.setdefault(key, name if name[:1].isupper() else name.capitalize())
        scores[key] += 5.0
        evidence.add(key)
    for name in _opening_subjects(text, views, kinds):
        key = name.lower()
        if key in _NOT_ORGS or _CALENDAR_WORD.match(key):
            continue
        surface.setdefault(key, name)
        scores[key] += 4.0
        evidence.add(key)
    hosts = [m.group(1).lower() for m in DOMAIN.finditer(text)]
    hosts += [m.group(1).lower() for m in SUBDOMAIN_HOST.finditer(text)]
    for domain, count in Counter(hosts).items():
        if domain.split(".")[0] in _COMMON_DOMAINS:
            continue
        surface.setdefault(domain, domain)
        scores[domain] += min(6.0, 1.5 * count)
        if count >= 2:
            evidence.add(domain)
    # A name counts when something marks it as the writer's own (title, "at X", "X team",
    # "X's", its web domain), or when spaCy calls it an organisation again and again.
    eligible = [
        (score, key) for key, score in scores.items() if key in evidence or org_mentions[key] >= 5
    ]
    if not eligible:
        return ""
    score, key = max(eligible)
    return surface[key] if score >= 3.0 else ""


def summarize(
    sections: tuple[Section, ...], views: list[SentenceView], limit: int = 3
) -> tuple[str, ...]:
    """2-3 sentences that best say what happened (Summary section first)."""
    prose = [v for v in views if len(v.text.split()) >= 6 and v.sentence.block_kind != "table_row"]
    in_summary = [
        v
        for v in prose
        if v.heading and SUMMARY_HEADING.search(v.heading) and v.sentence.section < len(sections)
    ]
    if in_summary:
        first_section = in_summary[0].sentence.section
        picked = [v for v in in_summary if v.sentence.section == first_section][:limit]
        return tuple(v.text for v in picked)
    weights = {"cause": 3.0, "impact": 2.5, "timeline": 1.0, "action": 0.2, "other": 0.0}
    scored = []
    for position, view in enumerate(prose[:40]):
        if _is_question(view.text):
            continue  # a template's prompt ("Why did mysqld run out of memory?")
        score = sum(weights[r] for r in view.sentence.roles) - 0.05 * position
        if view.sentence.role == "other":
            score -= 0.5
        if _LEADING_STAMP.match(view.text):
            score -= 2.0  # a timeline row tells one step, not the incident
        if position == 0 and _INCIDENT_WORDS.search(view.text):
            score += 5.0  # a report without a Summary heading opens with its summary
        scored.append((score, position, view))
    top = sorted(scored, key=lambda item: (-item[0], item[1]))[:limit]
    return tuple(view.text for _, _, view in sorted(top, key=lambda item: item[1]))


_CLOCK_AT = r"(\d{1,2}):(\d{2})\s*(a\.?m\.?|p\.?m\.?)?"
CLOCK_RANGE = re.compile(
    r"\b(?:from|between)\s+(?:the hours of\s+)?(?:approximately\s+|about\s+|around\s+|~)?"
    + _CLOCK_AT
    + r"[^\d]{0,12}?\s+(?:to|and|until|till|-)\s+(?:approximately\s+|about\s+)?"
    + _CLOCK_AT,
    re.IGNORECASE,
)
LASTED = re.compile(
    r"\b(?:lasted|lasting|for a total of|total (?:impact )?duration[:*\s]*|outage of|downtime of)"
    r"\s*(?:about|approximately|around|roughly|nearly|~)?\s*"
    r"(?:(\d+(?:\.\d+)?)\s*(?:hours?|hrs?|h)\b)?\s*(?:and\s*)?"
    r"(?:(\d+)\s*(?:minutes?|mins?|m)\b)?",
    re.IGNORECASE,
)


def _minutes_of_day(hour: str, minute: str, ampm: str | None) -> int:
    h = int(hour) % 24
    if ampm and ampm.lower().startswith("p") and h < 12:
        h += 12
    if ampm and ampm.lower().startswith("a") and h == 12:
        h = 0
    return h * 60 + int(minute)


def duration_from_text(views: list[SentenceView]) -> float | None:
    """Overall duration in minutes when the text states it ("lasted 2 hours", "from 20:40 to
    04:40 UTC"), for reports whose timeline gives no start and end; None otherwise."""
    for view in views:
        if not set(view.sentence.roles) & {"impact", "timeline"}:
            continue
        text = view.text
        lasted = LASTED.search(text)
        if lasted and (lasted.group(1) or lasted.group(2)):
            hours = float(lasted.group(1) or 0)
            return round(hours * 60 + int(lasted.group(2) or 0), 1)
        span = CLOCK_RANGE.search(text)
        if span:
            start = _minutes_of_day(*span.group(1, 2, 3))
            end = _minutes_of_day(*span.group(4, 5, 6))
            return float((end - start) % (24 * 60)) or None
    return None


def extract_metadata(
    document: Document, sections: tuple[Section, ...], views: list[SentenceView]
) -> Metadata:
    """Title, organisation, dates and summary of one document."""
    text = document.text
    provisional = find_title(document, sections, views, "")
    organization = find_organization(text, views, provisional)
    title = find_title(document, sections, views, organization)
    published_mention = find_published(text)
    published = published_mention.iso() if published_mention else ""
    file_date = date_from_path(document.path)
    date, note = incident_date(text, views, published_mention, title, file_date)
    return Metadata(
        title=title,
        organization=organization,
        date=date,
        published=published,
        date_note=note,
        summary=summarize(sections, views),
        duration_minutes=duration_from_text(views),
    )

"""Timeline extraction: time expressions, their normalisation to ISO 8601, and timeline events.

Everything here is pure Python and regular expressions, so it is model-free and fast. Sentences
may carry spaCy TIME/DATE entities, but nothing here depends on them.

Three layers:

* :func:`find_time_expressions` finds times as written ("at 15:15 UTC", "Between 16:00 and
  19:00 UTC", "On Saturday, September 27, at 6:50 p.m. UTC", "2021-08-26 08:22", "Within ten
  minutes", ...) and parses them into :class:`TimeExpr` records with offsets into the text.
* :func:`normalize_time` turns one written expression into an ISO 8601 string, given an anchor
  date and the previous event's time.
* :func:`extract_timeline` walks a document's sentences, keeps one :class:`TimelineEvent` per
  sentence (or table row / bullet / ``### time`` heading) that carries an event time, labels its
  kind (start/detection/mitigation/resolution/event) and computes the incident's metrics.

ISO output: ``2018-01-12T14:09:00Z`` for UTC, ``2018-01-18T04:19:00-08:00`` for a stated other
zone, no suffix when no zone is stated anywhere, and ``T14:09:00Z`` (time of day only) when the
date cannot be known because no year is written anywhere and none was given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.records import Sentence, TimelineEvent

# A datetime whose year is this one carries a time of day only: its date is unknown.
_PLACEHOLDER_YEAR = 1900
_ROLLOVER = timedelta(hours=12)  # a time this much earlier than the previous one is the next day

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}  # fmt: skip
_ZONES = {
    "utc": 0, "gmt": 0, "z": 0, "pst": -480, "pdt": -420, "pt": -480, "mst": -420, "mdt": -360,
    "cst": -360, "cdt": -300, "est": -300, "edt": -240, "et": -300, "cet": 60, "cest": 120,
    "bst": 60, "eet": 120, "eest": 180,
    "pacific": -480, "us/pacific": -480, "uc/pacific": -480, "ist": 330, "jst": 540,
    "aest": 600, "aedt": 660,
}  # fmt: skip
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
    "half an": 0.5, "a couple of": 2, "a few": 3,
}  # fmt: skip

_MONTH_RE = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY_RE = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_ZONE_RE = (
    r"(?P<zone>(?:UTC|GMT)(?:\s?[+-]\d{1,2}(?::?\d{2})?)?|[PMCE][SD]T|PT|ET|CES?T|BST|EES?T|IST|"
    r"JST|AE[SD]T|Z\b)"
)
_AMPM_RE = r"(?P<ampm>[ap]\.\s?m\.|[ap]\.?\s?m\b)"

_ISO_DATETIME = re.compile(
    r"(?<![\d-])(?P<year>\d{4})[-/](?P<month>\d{1,2})[-/](?P<day>\d{1,2})"
    r"(?:(?:T|\s+|,\s*|\s+at\s+)(?P<hour>\d{1,2}):(?P<minute>\d{2}|\?\?)(?::(?P<second>\d{2}))?"
    r"(?:\.\d+)?(?:\s?" + _AMPM_RE + r")?(?:\s?" + _ZONE_RE + r")?)?(?![\d/-])",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"(?<![\w:.,/-])(?P<hour>\d{1,2}):(?P<minute>\d{2}|\?\?)(?::(?P<second>\d{2}))?(?!\d|:\d)"
    r"(?:\s?" + _AMPM_RE + r")?(?:\s?(?:\(\s?)?" + _ZONE_RE + r"\)?)?",
    re.IGNORECASE,
)
_COMPACT_END = re.compile(
    r"(?<=\d:\d\d)[-–](?P<hour>\d{1,2}):(?P<minute>\d{2})(?!\d)(?:\s?" + _ZONE_RE + r")?",
    re.IGNORECASE,
)
_HOUR_AMPM = re.compile(
    r"(?<![\w:.])(?P<hour>\d{1,2})\s?" + _AMPM_RE + r"(?:\s?" + _ZONE_RE + r")?", re.IGNORECASE
)
_MONTH_DAY = re.compile(
    r"\b" + _WEEKDAY_RE + _MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b(?!:)"
    r"(?:,?\s+(?P<year>\d{4})\b)?",
    re.IGNORECASE,
)
_DAY_MONTH = re.compile(
    r"\b"
    + _WEEKDAY_RE
    + r"(?:the\s+)?(?P<day>\d{1,2})(?:st|nd|rd|th|\.)?\s+(?:of\s+)?"
    + _MONTH_RE
    + r"\b(?:,?\s+(?P<year>\d{4})\b)?",
    re.IGNORECASE,
)
_NUM_RE = r"(?P<num>\d+(?:\.\d+)?|half an|a couple of|an?|one|two|three|four|five|six|"
_NUM_RE += r"seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty-five|forty|fifty|"
_NUM_RE += r"sixty|ninety)"
_UNIT_RE = r"(?P<unit>minutes?|mins?|hours?|hrs?|seconds?|secs?)"
_RELATIVE = re.compile(
    r"\b(?:(?:within|after|in)\s+(?:about\s+|approximately\s+|roughly\s+|around\s+|another\s+)?"
    + _NUM_RE
    + r"\s+"
    + _UNIT_RE
    + r"\b(?!\s+(?:of|before|earlier))"
    r"|"
    + _NUM_RE.replace("num", "num2")
    + r"\s+"
    + _UNIT_RE.replace("unit", "unit2")
    + r"\s+(?:later|afterwards?|after\s+that)\b)",
    re.IGNORECASE,
)
_YEAR_HINT = re.compile(
    r"\b(?:" + _MONTH_RE.replace("?P<month>", "?:") + r"\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH_RE.replace("?P<month>", "?:") + r",?\s+)"
    r"(?P<year>(?:19|20)\d{2})\b|(?<![\d-])(?P<isoyear>(?:19|20)\d{2})-\d{2}-\d{2}",
    re.IGNORECASE,
)
_PUBLICATION = re.compile(
    r"\b(?:posted|published|reported|written|updated|released)\s+(?:on\s+)?", re.IGNORECASE
)
_DOC_ZONE = re.compile(
    r"\b(?:all\s+)?times?\s+(?:are\s+|is\s+)?(?:(?:shown|given|listed|displayed)\s+)?(?:in\s+)?"
    r"(?:[a-z]+(?:\s[a-z]+)*\s+time\s+)?\(?(?P<zone>(?:UTC|GMT)\s?[+-]\d{1,2}(?::?\d{2})?|UTC|GMT|"
    r"[PMCE][SD]T|CES?T|BST|IST|JST|U[SC]/Pacific|Pacific)\b\)?"
    r"(?:\s*\((?P<exact>(?:UTC|GMT)\s?[+-]\d{1,2}(?::?\d{2})?)\))?",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)[ \t#]*$", re.MULTILINE)
_SETEXT = re.compile(r"^(?P<title>[^\n|#>*-][^\n]*)\n(?P<rule>=+|-+)[ \t]*$", re.MULTILINE)
_TIMELINE_TITLE = re.compile(
    r"\b(timeline|chronology|sequence of events|time ?line of events)\b", re.IGNORECASE
)
_JOINER_DATE_CLOCK = re.compile(
    r"[\s,]*(?:at|@|around|about|approximately|from|ca\.?|circa|~)?[\s,]*\Z", re.IGNORECASE
)
_JOINER_CLOCK_DATE = re.compile(r"[\s,]*(?:on|of)?[\s,]*\Z", re.IGNORECASE)
_JOINER_INTERVAL = re.compile(
    r",?\s*(?:-|–|—|to|and|until|till|through)\s*(?:approximately\s+|about\s+|around\s+)?\Z",
    re.IGNORECASE,
)
_INTERVAL_LEAD = re.compile(r"(?:between|from)\s+(?:the\s+hours\s+of\s+)?\Z", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_MARKUP_ONLY = re.compile(r"^[\s#*_|`>:.,()~\-–—\[\]]*$")

_RESOLUTION = re.compile(
    r"(?<!not )(?<!no longer )\b(resolved|resolution|resum\w*\s+(?:normal|operations)|"
    r"back to normal|back to (?:working|normal) order|fully (?:functional|restored|operational|"
    r"recovered|available)|recovered|recovery|(?<!not )operational again|"
    r"(?:all )?systems operational|"
    r"(?:service|services|traffic)\s+(?:\w+\s+)?(?:restored|back)|restored|"
    r"working (?:as (?:intended|expected)|again|normally)|incident (?:closed|over|ended)|"
    r"is back|are back|back up|healthy again|green again|that it works|works again)",
    re.IGNORECASE,
)
_MITIGATION = re.compile(
    r"\b(roll(?:ed|ing)?[ -]?back|rollback|revert\w*|mitigat\w*|deployed (?:a |the )?fix|"
    r"(?:fix|patch|workaround|change)\w* (?:was |were )?(?:deployed|applied|rolled out)|"
    r"restart\w*|fail(?:ed)?[ -]?over|cordon\w*|scaled|downgrad\w*|workaround|"
    r"deployed limits|began deployment|remov(?:ed|ing)|disabl(?:ed|ing)|"
    r"manually marked|marked (?:the )?\S+ (?:instances? )?as unhealthy|terminated|uncordon\w*)",
    re.IGNORECASE,
)
_DETECTION = re.compile(
    r"\b(alert\w*|notic\w*|detect\w*|reported|reporting|report(?:s)? (?:of|that|back)|"
    r"discover\w*|identified|began (?:responding|receiving|investigating)|paged|"
    r"investigation(?:s)? (?:started|began)|incident (?:declared|raised|opened)|"
    r"first noticed|became aware)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimeExpr:
    """A time expression as written, parsed into its parts (``None`` where not written)."""

    text: str  # == source[start:end]
    start: int
    end: int
    kind: str  # datetime | time | date | relative
    year: int | None = None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    zone: str = ""  # the zone as written ("UTC", "PST"), "" when none
    offset_minutes: float | None = None  # for relative expressions: minutes after the previous
    until: TimeExpr | None = None  # the end of an interval ("Between 16:00 and 19:00 UTC")

    @property
    def has_clock(self) -> bool:
        return self.hour is not None


def _zone_offset(zone: str) -> timezone | None:
    """The fixed offset for a written zone name ("UTC", "PST", "UTC+2"), or None."""
    if not zone:
        return None
    name = zone.strip().lower().replace(" ", "")
    if name in ("pacific", "us/pacific", "uc/pacific"):  # a named region keeps daylight time
        try:
            return ZoneInfo("America/Los_Angeles")  # type: ignore[return-value]
        except ZoneInfoNotFoundError:
            pass
    if name in _ZONES:
        return timezone(timedelta(minutes=_ZONES[name]))
    match = re.fullmatch(r"(?:utc|gmt)([+-])(\d{1,2}):?(\d{2})?", name)
    if match:
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        if minutes > 14 * 60:  # no zone is further than 14 h from UTC: not an offset
            return None
        return timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))
    return None


def _hour_24(hour: int, ampm: str | None) -> int:
    """Apply a.m./p.m. to an hour; a 24-hour value stays as it is ("20:40 pm")."""
    if not ampm or hour > 12:
        return hour
    if ampm.lower().startswith("p"):
        return hour if hour == 12 else hour + 12
    return 0 if hour == 12 else hour


def _atoms(text: str) -> list[TimeExpr]:
    """Every single date, clock time and relative expression, possibly overlapping."""
    atoms: list[TimeExpr] = []
    for m in _ISO_DATETIME.finditer(text):
        month, day = int(m["month"]), int(m["day"])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        hour = _hour_24(int(m["hour"]), m["ampm"]) if m["hour"] else None
        if hour is not None and hour > 23:
            continue
        minute = None if hour is None else (0 if m["minute"] == "??" else int(m["minute"]))
        second = int(m["second"]) if m["second"] else None
        kind = "date" if hour is None else "datetime"
        zone = m["zone"] or ""
        atoms.append(
            TimeExpr(m.group(0), m.start(), m.end(), kind, int(m["year"]), month, day, hour,
                     minute, second, zone)
        )  # fmt: skip
    for m in _CLOCK.finditer(text):
        hour = _hour_24(int(m["hour"]), m["ampm"])
        minute = 0 if m["minute"] == "??" else int(m["minute"])
        if hour > 23 or minute > 59:
            continue
        second = int(m["second"]) if m["second"] else None
        atoms.append(
            TimeExpr(m.group(0), m.start(), m.end(), "time", hour=hour, minute=minute,
                     second=second, zone=m["zone"] or "")
        )  # fmt: skip
    for m in _COMPACT_END.finditer(text):  # the "13:45" of "13:30-13:45"
        hour, minute = int(m["hour"]), int(m["minute"])
        if hour <= 23 and minute <= 59:
            atoms.append(
                TimeExpr(m.group(0)[1:], m.start() + 1, m.end(), "time", hour=hour, minute=minute,
                         zone=m["zone"] or "")
            )  # fmt: skip
    for m in _HOUR_AMPM.finditer(text):
        hour = int(m["hour"])
        if not 1 <= hour <= 12:
            continue
        atoms.append(
            TimeExpr(m.group(0), m.start(), m.end(), "time", hour=_hour_24(hour, m["ampm"]),
                     minute=0, zone=m["zone"] or "")
        )  # fmt: skip
    for pattern in (_MONTH_DAY, _DAY_MONTH):
        for m in pattern.finditer(text):
            day = int(m["day"])
            if not 1 <= day <= 31:
                continue
            year = int(m["year"]) if m["year"] else None
            month = _MONTHS[m["month"].lower().rstrip(".")]
            atoms.append(TimeExpr(m.group(0), m.start(), m.end(), "date", year, month, day))
    for m in _RELATIVE.finditer(text):
        num = (m["num"] or m["num2"]).lower()
        unit = (m["unit"] or m["unit2"]).lower()
        amount = float(num) if num[0].isdigit() else float(_NUMBER_WORDS[num])
        scale = 60 if unit.startswith("h") else (1 / 60 if unit.startswith("s") else 1)
        atoms.append(
            TimeExpr(m.group(0), m.start(), m.end(), "relative", offset_minutes=amount * scale)
        )
    return atoms


def _drop_overlaps(atoms: list[TimeExpr]) -> list[TimeExpr]:
    """Keep the longest of overlapping atoms, in text order."""
    kept: list[TimeExpr] = []
    for atom in sorted(atoms, key=lambda a: (-(a.end - a.start), a.start)):
        if all(atom.end <= k.start or atom.start >= k.end for k in kept):
            kept.append(atom)
    return sorted(kept, key=lambda a: a.start)


def _span(text: str, first: TimeExpr, last: TimeExpr, **changes: Any) -> TimeExpr:
    """``first`` widened to end where ``last`` ends, with some parts changed."""
    return replace(first, text=text[first.start : last.end], end=last.end, **changes)


def _joinable(text: str, first: TimeExpr, second: TimeExpr, longest: int) -> bool:
    """Two expressions close enough to be one, and not split by a paragraph or heading line."""
    gap = text[first.end : second.start]
    if len(gap) > longest or gap.count("\n") > 1:
        return False
    line_start = text.rfind("\n", 0, first.start) + 1
    return "\n" not in gap or not text.startswith("#", line_start)


def _merge_date_and_clock(text: str, atoms: list[TimeExpr]) -> list[TimeExpr]:
    """Join a date and a clock time written together ("September 27, at 6:50 p.m. UTC")."""
    merged: list[TimeExpr] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        if nxt is not None and _joinable(text, atom, nxt, 12):
            gap = text[atom.end : nxt.start]
            if atom.kind == "date" and nxt.kind == "time" and _JOINER_DATE_CLOCK.match(gap):
                merged.append(
                    _span(text, atom, nxt, kind="datetime", hour=nxt.hour, minute=nxt.minute,
                          second=nxt.second, zone=nxt.zone)
                )  # fmt: skip
                i += 2
                continue
            if atom.kind == "time" and nxt.kind == "date" and _JOINER_CLOCK_DATE.match(gap):
                merged.append(
                    _span(text, atom, nxt, kind="datetime", year=nxt.year, month=nxt.month,
                          day=nxt.day)
                )  # fmt: skip
                i += 2
                continue
        merged.append(atom)
        i += 1
    return merged


def _merge_intervals(text: str, atoms: list[TimeExpr]) -> list[TimeExpr]:
    """Join "16:00 and 19:00 UTC" / "8:20 - 8:24" into one expression with an ``until`` end."""
    merged: list[TimeExpr] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        if (
            nxt is not None
            and atom.has_clock
            and nxt.has_clock
            and _joinable(text, atom, nxt, 16)
            and _JOINER_INTERVAL.match(text[atom.end : nxt.start])
        ):
            first = atom
            if not first.zone and nxt.zone:  # "16:00 and 19:00 UTC": the zone applies to both
                first = replace(first, zone=nxt.zone)
            ampm = re.search(r"([ap])\.?\s?m\b", nxt.text, re.IGNORECASE)
            if ampm and not re.search(r"[ap]\.?\s?m\b", atom.text, re.IGNORECASE):
                first = replace(first, hour=_hour_24(first.hour or 0, ampm.group(1)))
            lead = _INTERVAL_LEAD.search(text[max(0, atom.start - 30) : atom.start])
            start = atom.start - (len(lead.group(0)) if lead else 0)
            merged.append(replace(first, text=text[start : nxt.end], start=start, end=nxt.end,
                                  until=nxt))  # fmt: skip
            i += 2
            continue
        merged.append(atom)
        i += 1
    return merged


def find_time_expressions(text: str) -> list[TimeExpr]:
    """Find the time expressions written in ``text``, in order, with offsets into ``text``.

    >>> [e.text for e in find_time_expressions("Between 16:00 and 19:00 UTC, we resized it.")]
    ['Between 16:00 and 19:00 UTC']
    """
    atoms = _drop_overlaps(_atoms(text))
    return _merge_intervals(text, _merge_date_and_clock(text, atoms))


# --- resolution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    """What a document says about dates: a reference date and how to use it for the year."""

    day: date | None = None  # the incident date, or the publication date
    is_publication: bool = False  # a written date may not lie after a publication date
    zone: timezone | None = None  # "All times in PST"
    exact: bool = False  # ``day`` is the incident's date, so a bare clock time falls on it


def _year_for(month: int, day: int, ref: _Reference) -> int | None:
    """The year of a month/day written without one, from the document's reference date."""
    if ref.day is None:
        return None
    candidates = []
    for year in (ref.day.year - 1, ref.day.year, ref.day.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        return None
    if ref.is_publication:
        before = [c for c in candidates if c <= ref.day + timedelta(days=1)]
        if before:
            return max(before).year
    return min(candidates, key=lambda c: abs((c - ref.day).days)).year


def _resolve(
    expr: TimeExpr, ref: _Reference, previous: datetime | None
) -> tuple[datetime | None, bool]:
    """The datetime an expression stands for, and whether it has a clock time.

    A datetime in the placeholder year has a time of day but no known date.
    """
    if expr.kind == "relative":
        if previous is None or expr.offset_minutes is None:
            return None, False
        return previous + timedelta(minutes=expr.offset_minutes), True
    tz = _zone_offset(expr.zone) or ref.zone or (previous.tzinfo if previous else None)
    year, month, day = expr.year, expr.month, expr.day
    from_previous = False
    if month is not None and day is not None and year is None:
        year = _year_for(month, day, ref) or _PLACEHOLDER_YEAR
        if year == _PLACEHOLDER_YEAR and previous is not None:
            year = previous.year
    if month is None or day is None:
        if previous is not None:
            year, month, day = previous.year, previous.month, previous.day
            from_previous = True
        elif ref.day is not None and ref.exact:
            year, month, day = ref.day.year, ref.day.month, ref.day.day
        else:
            year, month, day = _PLACEHOLDER_YEAR, 1, 1
    try:
        when = datetime(year, month, day, expr.hour or 0, expr.minute or 0, expr.second or 0)
    except ValueError:
        return None, False
    when = when.replace(tzinfo=tz)
    if from_previous and previous is not None and expr.has_clock:
        if _naive_utc(when) + _ROLLOVER < _naive_utc(previous):
            when += timedelta(days=1)  # 23:50 then 00:10: the day rolled over
    return when, expr.has_clock


def _naive_utc(when: datetime) -> datetime:
    """A comparable naive datetime (UTC when the zone is known)."""
    if when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


def _format_iso(when: datetime | None, has_clock: bool) -> str:
    """ISO 8601 text: date and time, time of day only ("T14:09:00Z"), or date only."""
    if when is None:
        return ""
    suffix = ""
    if when.tzinfo is not None:
        offset = when.utcoffset() or timedelta(0)
        if offset == timedelta(0):
            suffix = "Z"
        else:
            minutes = int(offset.total_seconds() // 60)
            sign = "+" if minutes >= 0 else "-"
            suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    clock = f"T{when:%H:%M:%S}{suffix}"
    if when.year == _PLACEHOLDER_YEAR:
        return clock if has_clock else ""
    return f"{when:%Y-%m-%d}{clock}" if has_clock else f"{when:%Y-%m-%d}"


def normalize_time(
    expr: str, *, anchor: datetime | None = None, previous: datetime | None = None
) -> str:
    """Normalise one written time expression to ISO 8601, or "" when it cannot be resolved.

    ``anchor`` supplies the date (and the year of a date written without one) and, if it has a
    zone, the zone of a time written without one; ``previous`` is the previous event's time, used
    for relative expressions ("an hour later") and, first, for the date of a bare clock time.

    >>> normalize_time("at 15:15 UTC", anchor=datetime(2018, 1, 12))
    '2018-01-12T15:15:00Z'
    >>> normalize_time("1:10 a.m. UTC on Monday, September 30", anchor=datetime(2014, 10, 2))
    '2014-09-30T01:10:00Z'
    >>> normalize_time("14:09 UTC")
    'T14:09:00Z'
    """
    found = find_time_expressions(expr)
    if not found:
        return ""
    ref = _Reference(
        anchor.date() if anchor else None,
        zone=anchor.tzinfo if anchor else None,  # type: ignore[arg-type]
        exact=anchor is not None,
    )
    when, has_clock = _resolve(found[0], ref, previous)
    return _format_iso(when, has_clock)


# --- events -----------------------------------------------------------------------------------


def _parse_iso_date(value: str) -> date | None:
    """``yyyy-mm-dd`` (or ``yyyy-mm``, ``yyyy``, or a longer ISO datetime) -> date."""
    match = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value.strip())
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1))
    except ValueError:
        return None


def _document_reference(text: str, anchor_date: str, published: str) -> tuple[_Reference, str]:
    """The date reference for a document, and a note when the date cannot be known."""
    zone_match = _DOC_ZONE.search(text)
    zone = None
    if zone_match:  # "All times in PST (UTC-7)": the written offset wins over the name
        zone = _zone_offset(zone_match["exact"] or "") or _zone_offset(zone_match["zone"])
    incident = _parse_iso_date(anchor_date) if anchor_date else None
    if incident:
        return _Reference(incident, zone=zone, exact=True), ""
    pub = _parse_iso_date(published) if published else None
    if pub:
        return _Reference(pub, is_publication=True, zone=zone), ""
    # A publication date written in the text ("originally posted on July 18, 2018").
    for match in _PUBLICATION.finditer(text):
        for expr in find_time_expressions(text[match.end() : match.end() + 40])[:1]:
            if expr.start == 0 and expr.year and expr.month and expr.day:
                return _Reference(date(expr.year, expr.month, expr.day), True, zone=zone), ""
    year = _YEAR_HINT.search(text)
    if year:
        return _Reference(date(int(year["year"] or year["isoyear"]), 7, 1), zone=zone), ""
    return _Reference(zone=zone), "date unknown: no year in the text; times of day only"


_BLOCK_LINE = re.compile(r"^[ \t]*(?:\||[-*+\u2022][ \t]|\d{1,3}[.)][ \t]|#{1,6}[ \t])")
_SENTENCE_END = re.compile(
    r"(?<=[.!?])\s+(?=[A-Z0-9(*\"])(?!(?:UTC|GMT|[PMCE][SD]T|CES?T|BST)\b)(?<![ap]\.m\.\s)"
)


def _fallback_sentences(text: str) -> tuple[Sentence, ...]:
    """Split text into sentences without a model (used when none are given).

    Paragraphs (separated by blank lines) are split at sentence ends; table rows, list items and
    headings are units of their own, with their continuation lines.
    """
    units: list[tuple[int, int, str]] = []
    for para in re.finditer(r"(?:[^\n]*\S[^\n]*(?:\n|\Z))+", text):
        unit_start = None
        unit_kind = "paragraph"
        pos = para.start()
        for line in para.group(0).splitlines(keepends=True):
            marker = _BLOCK_LINE.match(line)
            if marker or unit_start is None:
                if unit_start is not None:
                    units.append((unit_start, pos, unit_kind))
                unit_start = pos
                unit_kind = "paragraph"
                if marker:
                    lead = marker.group(0).strip()
                    unit_kind = (
                        "table_row" if lead == "|" else "heading" if lead[0] == "#" else "list_item"
                    )
                if unit_kind == "table_row":
                    units.append((unit_start, pos + len(line.rstrip("\n")), unit_kind))
                if unit_kind in ("table_row", "heading"):  # headings are read apart
                    unit_start = None
            pos += len(line)
        if unit_start is not None:
            units.append((unit_start, pos, unit_kind))
    pieces: list[Sentence] = []
    for start, end, kind in units:
        chunk = text[start:end]
        bounds = [0, len(chunk)]
        if kind in ("paragraph", "list_item"):
            bounds[1:1] = [m.end() for m in _SENTENCE_END.finditer(chunk)]
        for a, b in zip(bounds, bounds[1:], strict=False):
            s, e = start + a, start + b
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if s < e:
                pieces.append(Sentence(len(pieces), 0, s, e, text[s:e], "other", block_kind=kind))
    return tuple(pieces)


def _headings(text: str) -> list[tuple[int, int, int, str]]:
    """(line start, line end, level, title) of every Markdown heading (ATX and setext)."""
    found = [(m.start(), m.end(), len(m["hashes"]), m["title"]) for m in _HEADING.finditer(text)]
    for m in _SETEXT.finditer(text):
        found.append((m.start(), m.end(), 1 if m["rule"][0] == "=" else 2, m["title"].strip()))
    return sorted(found)


def _timeline_spans(text: str, headings: list[tuple[int, int, int, str]]) -> list[tuple[int, int]]:
    """The character ranges of sections titled "Timeline" (down to the next heading as high)."""
    spans = []
    for i, (_, end, level, title) in enumerate(headings):
        if not _TIMELINE_TITLE.search(title):
            continue
        stop = len(text)
        for start2, _, level2, _ in headings[i + 1 :]:
            if level2 <= level:
                stop = start2
                break
        spans.append((end, stop))
    return spans


_NEXT_DAY = re.compile(r"\b(?:the\s+)?(?:following|next)\s+(?:morning|day)\b", re.IGNORECASE)
_APPROXIMATE = re.compile(r"\b(?:ca|approx|circa|about|around)\b\.?|\([^)]*\)", re.IGNORECASE)


def _is_time_only(text: str, exprs: list[TimeExpr], offset: int) -> bool:
    """True when a piece of text is nothing but times and markup ("### 4:27", "ca. 18:30")."""
    rest = text
    for expr in sorted(exprs, key=lambda e: -e.start):
        rest = rest[: expr.start - offset] + rest[expr.end - offset :]
    return bool(exprs) and bool(_MARKUP_ONLY.match(_APPROXIMATE.sub("", rest)))


def _event_kind(sentence_text: str) -> str:
    """The kind an event's wording signals (resolution before mitigation before detection)."""
    if _RESOLUTION.search(sentence_text):
        return "resolution"
    if _MITIGATION.search(sentence_text):
        return "mitigation"
    if _DETECTION.search(sentence_text):
        return "detection"
    return "event"


_NOT_EVENT_DAY = re.compile(
    r"(?:\b(?:as|from|since|before|after|than|until|till|by|of)\s+(?:the\s+)?"
    r"|\b(?:as|than|before|since|until)\s+(?:\S+\s+){1,3}|\(\s*[^)]*)\Z",
    re.IGNORECASE,
)


# The time stamp of a wiki signature ("-- Jane (talk) 20:18, 8 July 2016 (UTC)") dates a
# comment on the page, not an event of the incident.
_SIGNATURE = re.compile(r"\((?:talk|contribs|talk\s*\|\s*contribs)\)[\s,]*\Z", re.IGNORECASE)


def _is_event_expr(expr: TimeExpr, sentence: Sentence, source: str) -> bool:
    """Whether an expression can date the event a sentence tells.

    A clock time can; a relative time only when it opens the sentence ("Within ten minutes, ...")
    or says "later"; a day's date unless it is a publication note, a template placeholder
    ("| 2024-03-13 HH:mm | Short event description. |"), in brackets, or a reference to another
    day ("the same root cause as October 21", "before the attack on the 24th"). The time stamp
    of a wiki signature is no event.
    """
    if _SIGNATURE.search(source[max(0, expr.start - 40) : expr.start]):
        return False  # a wiki signature ("Springle (talk) 06:03, 15 April 2014 (UTC)")
    if expr.has_clock:
        return True
    if expr.kind == "relative":
        lead = source[sentence.start : expr.start]
        return bool(_MARKUP_ONLY.match(lead)) or expr.text.lower().endswith(("later", "after"))
    if expr.month is None or expr.day is None or _publication_context(source, expr):
        return False
    if "Short event description" in sentence.text:
        return False
    before = source[max(sentence.start, expr.start - 40) : expr.start]
    return not _NOT_EVENT_DAY.search(before)


def _event_expr(exprs: list[TimeExpr]) -> tuple[TimeExpr | None, TimeExpr | None]:
    """The expression that dates a sentence's event, and a date written apart from its clock.

    The first expression wins. A leading date followed by a clock with no date of its own
    ("On Friday, July 13, shortly before noon, at 11:00 UTC") gives the clock on that date.
    """
    if not exprs:
        return None, None
    if exprs[0].kind == "relative" and any(e.has_clock for e in exprs):
        exprs = [e for e in exprs if e.kind != "relative"]  # "12 hours later, at 4:11 AM UTC"
    first = exprs[0]
    if first.kind == "date":
        for later in exprs[1:]:
            if later.has_clock and later.month is None:
                return later, first
    return first, None


def _publication_context(source: str, expr: TimeExpr) -> bool:
    """True for the date of a publication note ("originally posted on July 18, 2018")."""
    before = source[max(0, expr.start - 30) : expr.start]
    return bool(re.search(r"(?:posted|published|updated|reported|written)\s+(?:on\s+)?\Z", before))


@dataclass
class _Candidate:
    sentence: Sentence
    expr: TimeExpr
    when: datetime | None
    has_clock: bool
    leading: bool = False  # the time opens its unit: a table row, bullet, heading or line


def extract_timeline(
    text: str, sentences: tuple[Sentence, ...], *, anchor_date: str = "", published: str = ""
) -> tuple[tuple[TimelineEvent, ...], dict[str, Any]]:
    """Timeline events of one document and its metrics.

    One event per sentence (or table row, bullet, or paragraph under a ``### time`` heading) that
    carries an event time. ``anchor_date`` is the incident date and ``published`` the publication
    date (ISO ``yyyy-mm-dd``), both optional: without them the year comes from the text.
    Events are ordered by time when every one resolves, else by position. The metrics dict has
    ``start``/``detection``/``mitigation``/``resolution`` (ISO) and, when supported,
    ``time_to_detect_min`` (detection - start), ``time_to_mitigate_min`` (mitigation - start),
    ``time_to_resolve_min`` (resolution - detection) and ``duration_min`` (resolution - start).
    """
    ref, note = _document_reference(text, anchor_date, published)
    fences = [m.span() for m in _FENCE.finditer(text)]
    exprs = [e for e in find_time_expressions(text) if not any(a <= e.start < b for a, b in fences)]
    headings = [h for h in _headings(text) if not any(a <= h[0] < b for a, b in fences)]
    timeline_spans = _timeline_spans(text, headings)
    if not sentences:
        sentences = _fallback_sentences(text)

    candidates: list[_Candidate] = []
    state = _WalkState()
    units = _heading_units(text, headings, exprs) + [
        (sentence.start, "sentence", sentence) for sentence in sentences
    ]
    for _, kind, payload in sorted(units, key=lambda unit: (unit[0], unit[1] != "heading")):
        if kind == "heading":
            heading_kind, expr, heading_sentence = payload
            state.pending = None
            state.under_time_heading = heading_kind in ("time", "titled")
            if heading_kind == "time":
                state.pending = expr
            elif heading_kind == "titled":
                _add_candidate(candidates, state, heading_sentence, expr, None, ref, text)
            elif heading_kind == "dated":
                when, _ = _resolve(expr, ref, None)
                if when is not None and when.year != _PLACEHOLDER_YEAR:
                    state.context_date = when.replace(tzinfo=None)
                    state.previous = None
            continue
        sentence = payload
        inside = [e for e in exprs if sentence.start <= e.start and e.end <= sentence.end]
        if inside and _is_time_only(sentence.text, inside, sentence.start):
            state.pending = inside[0]
            state.under_time_heading = True
            continue
        usable = [e for e in inside if _is_event_expr(e, sentence, text)]
        own, day_expr = _event_expr(usable)
        leads = own is not None and bool(_MARKUP_ONLY.match(text[sentence.start : own.start]))
        if state.pending is not None:
            expr, day_expr, leads = state.pending, None, True
            state.pending = None
        elif state.under_time_heading and not leads:
            continue  # later sentences under a "### 4:27" heading only tell what happened then
        else:
            expr = own
        if expr is None:
            continue
        _add_candidate(candidates, state, sentence, expr, day_expr, ref, text)
        candidates[-1].leading = leads
        if leads and sentence.block_kind == "paragraph" and _is_own_line(text, sentence):
            state.under_time_heading = True  # "07:35 - Note pending pods" on a line of its own
        for other in inside:  # dates written in passing set the day of later bare clock times
            if other.kind == "date" and other is not expr and not _publication_context(text, other):
                other_when, _ = _resolve(other, ref, None)
                if other_when is not None and other_when.year != _PLACEHOLDER_YEAR:
                    state.context_date = other_when.replace(tzinfo=None)
    chosen = [c for c in candidates if any(a <= c.sentence.start < b for a, b in timeline_spans)]
    leading = [c for c in candidates if c.leading]
    if len(chosen) >= 2:
        candidates = chosen  # a "Timeline" section: its events only
    elif len(leading) >= 3 and 2 * len(leading) >= len(candidates):
        candidates = leading  # a timeline table or list without its heading: its rows only
    _backfill_dates(candidates)
    if candidates and all(c.when is not None for c in candidates):
        candidates = _sorted_by_time(candidates)
    events = _events(candidates, text)
    metrics = _metrics(candidates, events)
    if note and candidates:
        metrics["note"] = note
    return tuple(events), metrics


def _is_own_line(text: str, sentence: Sentence) -> bool:
    """True when a short sentence fills its line."""
    line_start = text.rfind("\n", 0, sentence.start) + 1
    line_end = text.find("\n", sentence.end)
    line_end = len(text) if line_end < 0 else line_end
    line = text[line_start:line_end]
    return len(line) <= 80 and line.strip() == sentence.text.strip()


def _heading_units(
    text: str, headings: list[tuple[int, int, int, str]], exprs: list[TimeExpr]
) -> list[tuple[int, str, tuple[str, TimeExpr | None, Sentence | None]]]:
    """(position, "heading", (kind, time, heading as a sentence)) for every heading.

    kind is "time" for a heading that is only a time or a day ("### 2018-01-18 4:19"), "titled"
    for a time followed by words ("### 07:35 - Note pending pods"), "dated" for a heading that
    names a day ("### October 21, 2025 - Redis Overload") and "" for any other heading.
    """
    units: list[tuple[int, str, tuple[str, TimeExpr | None, Sentence | None]]] = []
    for start, end, level, title in headings:
        inside = [e for e in exprs if start <= e.start and e.end <= end]
        title_start = text.find(title, start, end) if title else -1
        kind, expr, sentence = "", None, None
        if inside and (inside[0].has_clock or inside[0].day is not None):
            first = inside[0]
            lead = text[title_start if title_start >= 0 else start : first.start]
            if _is_time_only(text[start:end], inside, start):
                kind, expr = "time", first
            elif first.has_clock and _MARKUP_ONLY.match(lead) and title_start >= 0 and level > 1:
                kind, expr = "titled", first
                title_end = title_start + len(title)
                sentence = Sentence(-1, -1, title_start, title_end, title, "timeline",
                                    block_kind="heading")  # fmt: skip
            elif first.day is not None and first.month is not None:
                kind, expr = "dated", replace(first, hour=None, minute=None, second=None)
        units.append((end if kind != "titled" else start, "heading", (kind, expr, sentence)))
    heading_starts = {start for start, _, _, _ in headings}
    for line in re.finditer(r"^[ \t]*\S[^\n]*$", text, re.MULTILINE):
        if line.start() in heading_starts or len(line.group(0)) > 60:
            continue
        inside = [e for e in exprs if line.start() <= e.start and e.end <= line.end()]
        if inside and (inside[0].has_clock or inside[0].day is not None):
            if _is_time_only(line.group(0), inside, line.start()):
                # a line that is only a time ("4:27" left when a heading's marks are gone)
                units.append((line.end(), "heading", ("time", inside[0], None)))
    return units


@dataclass
class _WalkState:
    """What the walk over a document's headings and sentences carries from one to the next."""

    previous: datetime | None = None  # the last event's time
    context_date: datetime | None = None  # the last day written, for bare clock times
    pending: TimeExpr | None = None  # a "### 4:27" heading's time, for the next sentence
    under_time_heading: bool = False


def _add_candidate(
    candidates: list[_Candidate],
    state: _WalkState,
    sentence: Sentence,
    expr: TimeExpr,
    day_expr: TimeExpr | None,
    ref: _Reference,
    text: str,
) -> None:
    """Resolve an event's time against the walk's state and record it."""
    if day_expr is not None:
        day_when, _ = _resolve(day_expr, ref, None)
        if day_when is not None:
            state.context_date = day_when.replace(tzinfo=None)
    base = state.previous
    context = state.context_date
    if (
        context is not None
        and expr.month is None
        and expr.kind != "relative"
        and (base is None or context > _naive_utc(base))
    ):
        # a day written since the previous event starts a new day
        base = context.replace(tzinfo=base.tzinfo if base else None)
    when, has_clock = _resolve(expr, ref, base)
    if (
        when is not None
        and base is not None
        and expr.month is None
        and expr.kind != "relative"
        and _NEXT_DAY.search(sentence.text)
        and _naive_utc(when) <= _naive_utc(base)
    ):
        when += timedelta(days=1)  # "at 4:11 AM UTC the following morning"
    if when is not None and when.year != _PLACEHOLDER_YEAR and expr.kind in ("date", "datetime"):
        state.context_date = when.replace(tzinfo=None, hour=0, minute=0, second=0)
    candidates.append(_Candidate(sentence, expr, when, has_clock))
    if when is not None and (has_clock or state.previous is None):
        state.previous = when


def _sorted_by_time(candidates: list[_Candidate]) -> list[_Candidate]:
    """Candidates in time order; an event dated by day only keeps its place among that day's."""
    keys: list[datetime] = []
    for c in candidates:
        key = _naive_utc(c.when)  # type: ignore[arg-type]
        if not c.has_clock and keys and keys[-1].date() == key.date():
            key = keys[-1]
        keys.append(key)
    order = sorted(range(len(candidates)), key=lambda i: keys[i])
    return [candidates[i] for i in order]


def _backfill_dates(candidates: list[_Candidate]) -> None:
    """Give times of day with no known date the date of the nearest dated event, if any."""
    dated = [
        (i, c.when) for i, c in enumerate(candidates) if c.when and c.when.year != _PLACEHOLDER_YEAR
    ]
    if not dated:
        return
    for i, c in enumerate(candidates):
        if c.when is not None and c.when.year == _PLACEHOLDER_YEAR:
            _, nearest = min(dated, key=lambda pair: (abs(pair[0] - i), pair[0] < i))
            c.when = c.when.replace(year=nearest.year, month=nearest.month, day=nearest.day)


def _events(candidates: list[_Candidate], source: str) -> list[TimelineEvent]:
    """TimelineEvent records, the first one a start unless it reads as a detection."""
    events = []
    for i, c in enumerate(candidates):
        kind = _event_kind(c.sentence.text)
        if i == 0 and kind == "event":
            kind = "start"
        until_iso = ""
        if c.expr.until is not None and c.when is not None:
            until, has_clock = _resolve(c.expr.until, _Reference(), c.when)
            until_iso = _format_iso(until, has_clock)
        events.append(
            TimelineEvent(
                text=c.sentence.text, start=c.sentence.start, end=c.sentence.end,
                time_text=c.expr.text, time_start=c.expr.start, time_end=c.expr.end,
                iso=_format_iso(c.when, c.has_clock), kind=kind, sentence=c.sentence.index,
                iso_end=until_iso,
            )
        )  # fmt: skip
    return events


def _metrics(candidates: list[_Candidate], events: list[TimelineEvent]) -> dict[str, Any]:
    """start/detection/mitigation/resolution times and the minutes between them."""
    metrics: dict[str, Any] = {}
    resolved = [
        (c.when, e) for c, e in zip(candidates, events, strict=True) if c.when and c.has_clock
    ]
    if not resolved:
        return metrics
    start_when, start_event = min(resolved, key=lambda pair: _naive_utc(pair[0]))
    points = {"start": (start_when, start_event.iso)}
    for kind in ("detection", "mitigation", "resolution"):
        hits = [(w, e) for w, e in resolved if e.kind == kind]
        if kind == "detection" and not hits:
            continue
        if hits:
            when, event = min(hits, key=lambda pair: _naive_utc(pair[0]))
            points[kind] = (when, event.iso)
    for name, (_, iso) in points.items():
        metrics[name] = iso

    def minutes(a: str, b: str) -> float | None:
        if a not in points or b not in points:
            return None
        delta = _naive_utc(points[b][0]) - _naive_utc(points[a][0])
        value = delta.total_seconds() / 60
        return round(value, 1) if value >= 0 else None

    for key, (a, b) in {
        "time_to_detect_min": ("start", "detection"),
        "time_to_mitigate_min": ("start", "mitigation"),
        "time_to_resolve_min": ("detection", "resolution"),
        "duration_min": ("start", "resolution"),
    }.items():
        value = minutes(a, b)
        if value is not None:
            metrics[key] = value
    return metrics

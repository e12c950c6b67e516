"""Safe highlighting of untrusted postmortem text for the app.

Every character of the source is HTML-escaped, and the characters Markdown or Streamlit
would interpret (``* _ [ ] ( ) ` $ : ~ # | \\ !`` and more) become numeric entities, so the
output renders as inert text with ``<mark>`` around the matches and nothing else: no links,
no scripts, no Streamlit colour directives, no LaTeX. Newlines become ``<br>`` so no blank
line can end the surrounding HTML block. Pure functions, no Streamlit import.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

_MD_SPECIAL = {c: f"&#{ord(c)};" for c in "*_[]()`$:~#|\\!{}<>+-=.^%@/&\"'"}
# Suffixes removed by the light stemmer, longest first; ("ies", "ied") leave an "i" behind.
_SUFFIXES = ("ions", "ion", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "ly", "s", "e")
_MIN_STEM = 3
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_SAFE_COLOUR = re.compile(r"#[0-9A-Fa-f]{3,8}|[a-z]{3,20}")

ROLE_COLOURS = {
    "cause": "#fde2e1",
    "timeline": "#e1ecfd",
    "action": "#e2f5e1",
    "impact": "#fdf3d9",
    "other": "#eeeeee",
}


def escape_inert(text: str) -> str:
    """Escape text so that neither HTML, Markdown nor Streamlit markup interprets any of it."""
    out = []
    for ch in text:
        if ch in _MD_SPECIAL:
            out.append(_MD_SPECIAL[ch])
        elif ch == "\n":
            out.append("<br>")
        elif ch == "\r":
            continue
        else:
            out.append(html.escape(ch, quote=True))
    return "".join(out)


def stem(word: str) -> str:
    """A light English stem so that retry, retries, retried and retrying meet ("retri")."""
    w = word.lower().strip("'-")
    if len(w) <= _MIN_STEM:
        return w
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= _MIN_STEM:
            if suffix == "s" and w.endswith("ss"):
                break
            w = w[: -len(suffix)] + ("i" if suffix in ("ies", "ied") else "")
            break
    if w.endswith("y") and len(w) > _MIN_STEM:
        w = w[:-1] + "i"
    if len(w) > _MIN_STEM + 1 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # stopped -> stopp -> stop
    return w


def word_stems(text: str) -> frozenset[str]:
    """The stems of every word in ``text``, as :func:`match_spans` compares them."""
    return frozenset(stem(w) for w in _WORD.findall(text))


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of the words in ``text`` that share a stem with any word of the query terms."""
    stems = {stem(w) for t in terms for w in _WORD.findall(t) if len(w) >= 2}
    if not stems:
        return []
    return [(m.start(), m.end()) for m in _WORD.finditer(text) if stem(m.group(0)) in stems]


def render_spans(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """Inert HTML of ``text`` with each (start, end, css-colour) span wrapped in <mark>.

    Overlapping spans are resolved in favour of the one that starts first; a colour that is
    not a plain hex code or colour name is dropped (the mark keeps its default colour).
    """
    out, pos = [], 0
    for start, end, colour in sorted(spans):
        start, end = max(start, pos, 0), min(end, len(text))
        if start >= end:
            continue
        out.append(escape_inert(text[pos:start]))
        safe = colour if colour and _SAFE_COLOUR.fullmatch(colour) else ""
        style = f' style="background:{safe}"' if safe else ""
        out.append(f"<mark{style}>{escape_inert(text[start:end])}</mark>")
        pos = end
    out.append(escape_inert(text[pos:]))
    return "".join(out)


def highlight_terms(text: str, terms: Iterable[str]) -> str:
    """Inert HTML of ``text`` with the words matching query terms marked."""
    return render_spans(text, [(s, e, "") for s, e in match_spans(text, terms)])

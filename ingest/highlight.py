"""Safe highlighting of untrusted postmortem text for the app.

Every character of the source is HTML-escaped, and the characters Markdown or Streamlit
would interpret (``* _ [ ] ( ) ` $ : ~ # | \\ !``) become numeric entities, so the output
renders as inert text with ``<mark>`` around the matches and nothing else: no links, no
scripts, no Streamlit colour directives. Newlines become ``<br>`` so no blank line can end
the surrounding HTML block.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

_MD_SPECIAL = {c: f"&#{ord(c)};" for c in "*_[]()`$:~#|\\!{}<>+-=.^%"}
_STEM = re.compile(r"(ies|es|s|ed|ing|e|y)$")

ROLE_COLOURS = {
    "cause": "#fde2e1",
    "timeline": "#e1ecfd",
    "action": "#e2f5e1",
    "impact": "#fdf3d9",
    "other": "#eeeeee",
}


def escape_inert(text: str) -> str:
    """Escape text so that neither HTML nor Markdown interprets any of it."""
    out = []
    for ch in text:
        if ch in _MD_SPECIAL:
            out.append(_MD_SPECIAL[ch])
        elif ch == "\n":
            out.append("<br>")
        else:
            out.append(html.escape(ch, quote=True))
    return "".join(out)


def _stem(word: str) -> str:
    word = word.lower()
    return _STEM.sub("", word) if len(word) > 4 else word


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of words in ``text`` sharing a crude stem with any query term."""
    stems = {_stem(t) for t in terms if len(t) >= 2}
    if not stems:
        return []
    spans = []
    for m in re.finditer(r"[A-Za-z0-9][A-Za-z0-9'-]*", text):
        if _stem(m.group(0)) in stems:
            spans.append((m.start(), m.end()))
    return spans


def render_spans(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """Inert HTML of ``text`` with each (start, end, css-colour) span wrapped in <mark>.

    Overlapping spans are resolved in favour of the one that starts first.
    """
    out, pos = [], 0
    for start, end, colour in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        out.append(escape_inert(text[pos:start]))
        style = f' style="background:{html.escape(colour)}"' if colour else ""
        out.append(f"<mark{style}>{escape_inert(text[start:end])}</mark>")
        pos = end
    out.append(escape_inert(text[pos:]))
    return "".join(out)


def highlight_terms(text: str, terms: Iterable[str]) -> str:
    """Inert HTML of ``text`` with the words matching query terms marked."""
    return render_spans(text, [(s, e, "") for s, e in match_spans(text, terms)])

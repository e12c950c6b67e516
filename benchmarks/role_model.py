"""A learned sentence-role model for reports without role headings (an experiment, not wired).

Two logistic regressions (cause vs not, action vs not) score each *unit* of a document: a
list item or table row (all its sentences), or a paragraph sentence. Their features do not
depend on headings: hashed words and word pairs, the item's form and its neighbours' forms,
spaCy cues of the parse already made (root tag, modal "will", imperative), the rule scores
of :mod:`ingest.extract.roles`, the position in the document, the sentence introducing a
list, and whether the rules took the unit (or its neighbours) as a cause or an action: the
model is a second opinion on the rules that can veto a rule item or add one they missed
(:func:`revise`, :func:`decide`).

``benchmarks/train_roles.py`` trains it on the dev split of the gold set and prints its
cross-validated effect. It did not help enough to be used (see "Learned role model" in
``benchmarks/RESULTS.md``), so no extractor calls it and no weights ship with the package;
``--write PATH`` of the script writes plain JSON weights that :func:`load_model` reads.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.extract.roles import (
    SentenceView,
    action_score,
    cause_score,
    impact_score,
    is_imperative,
    item_form,
    normalize_quotes,
)

_WORD = re.compile(r"[a-z][a-z'-]*|\d+")
LISTED = ("list_item", "table_row")


@dataclass(frozen=True)
class Unit:
    """One scored piece of a document: a list item / table row, or a paragraph sentence."""

    first: int  # index of its first view
    last: int  # index of its last view (inclusive)
    start: int
    end: int
    listed: bool = False  # a list item or table row


@dataclass(frozen=True)
class RoleModel:
    """Hashed-feature logistic regressions, one per role, with their decision thresholds."""

    dim: int
    weights: dict[str, tuple[float, ...]]  # role -> weight per hashed feature
    bias: dict[str, float]
    veto: dict[str, float]  # role -> drop a rule item whose probability is below this
    add: dict[str, float]  # role -> add a unit the rules missed above this

    def probability(self, role: str, features: Sequence[str]) -> float:
        """P(unit has ``role``) for the unit's feature names."""
        weights = self.weights[role]
        total = self.bias[role] + sum(weights[feature_index(f, self.dim)] for f in features)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, total))))


def feature_index(name: str, dim: int) -> int:
    """Stable hash bucket of a feature name."""
    return zlib.crc32(name.encode("utf-8")) % dim


@lru_cache(maxsize=2)
def load_model(path: str) -> RoleModel | None:
    """The model stored at ``path`` (JSON written by the training script), None if missing."""
    file = Path(path)
    if not file.exists():
        return None
    data = json.loads(file.read_text(encoding="utf-8"))
    return RoleModel(
        dim=int(data["dim"]),
        weights={role: tuple(values) for role, values in data["weights"].items()},
        bias={role: float(value) for role, value in data["bias"].items()},
        veto={role: float(value) for role, value in data["veto"].items()},
        add={role: float(value) for role, value in data["add"].items()},
    )


def document_units(views: Sequence[SentenceView]) -> list[Unit]:
    """The units of a document in order: sentences of one list item or row stay together."""
    units: list[Unit] = []
    i = 0
    while i < len(views):
        j = i
        if views[i].sentence.block_kind in LISTED:
            while j + 1 < len(views) and views[j + 1].block == views[i].block:
                j += 1
        listed = views[i].sentence.block_kind in LISTED
        units.append(Unit(i, j, views[i].sentence.start, views[j].sentence.end, listed))
        i = j + 1
    return units


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize_quotes(text).lower())


def _form(view: SentenceView) -> str:
    if view.sentence.block_kind not in LISTED:
        return "para"
    return item_form(view.text, view.span)


def unit_features(
    views: Sequence[SentenceView],
    units: Sequence[Unit],
    k: int,
    forms: Sequence[str],
    rule_spans: dict[str, Sequence[tuple[int, int]]],
) -> list[str]:
    """Feature names of unit ``k`` (see the module docstring)."""
    unit = units[k]
    view = views[unit.first]
    text = " ".join(views[i].text for i in range(unit.first, unit.last + 1))
    kind = view.sentence.block_kind
    words = _words(text)[:60]
    features = [f"w:{w}" for w in set(words)]
    features += [f"b:{a}_{b}" for a, b in set(zip(words, words[1:], strict=False))]
    if words:
        features.append(f"first:{words[0]}")
    features.append(f"kind:{kind}")
    features.append(f"form:{forms[k]}")
    previous = forms[k - 1] if k > 0 else "none"
    following = forms[k + 1] if k + 1 < len(forms) else "none"
    features += [f"prev:{previous}", f"next:{following}", f"form2:{forms[k]}_{previous}"]
    features.append(f"pos:{int(5 * k / max(1, len(units)))}")
    features.append(f"cs:{min(3, int(cause_score(text, kind)))}")
    features.append(f"as:{min(3, int(action_score(text, kind, view.span)))}")
    features.append(f"is:{min(3, int(impact_score(text)))}")
    features.append(f"role:{view.sentence.role}")
    features.append(f"len:{min(4, len(words) // 8)}")
    if is_imperative(view.text, view.span):
        features.append("imperative")
    if text.rstrip().endswith("?"):
        features.append("question")
    if view.span is not None:
        for token in view.span:
            if token.dep_ == "ROOT":
                features.append(f"root_tag:{token.tag_}")
                features.append(f"root:{token.lemma_.lower()}")
                break
        if any(t.tag_ == "MD" and t.lower_ in ("will", "'ll", "shall") for t in view.span):
            features.append("will")
        if any(t.tag_ == "VBD" for t in view.span):
            features.append("past")
        if any(t.lower_ == "we" for t in view.span):
            features.append("we")
    if kind in LISTED:
        # The paragraph sentence before the list ("We will take the following steps:").
        intro = next(
            (
                units[m]
                for m in range(k - 1, -1, -1)
                if views[units[m].first].sentence.block_kind not in LISTED
            ),
            None,
        )
        if intro is not None and k - units.index(intro) <= 30:
            intro_text = views[intro.last].text
            features += [f"intro:{w}" for w in set(_words(intro_text)[-12:])]
            if intro_text.rstrip().endswith(":"):
                features.append("intro_colon")
    for role, spans in rule_spans.items():
        if any(_overlaps((unit.start, unit.end), span) for span in spans):
            features.append(f"rule:{role}")
            features.append(f"rule:{role}:{forms[k]}")
        for side, m in (("prev", k - 1), ("next", k + 1)):
            if 0 <= m < len(units) and any(
                _overlaps((units[m].start, units[m].end), span) for span in spans
            ):
                features.append(f"rule:{role}:{side}")
    return features


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Spans overlap by at least half of the shorter one (the benchmark's matching rule)."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared > 0 and 2 * shared >= min(a[1] - a[0], b[1] - b[0])


def all_features(
    views: Sequence[SentenceView], rule_spans: dict[str, Sequence[tuple[int, int]]]
) -> tuple[list[Unit], list[list[str]]]:
    """The document's units and the feature names of each."""
    units = document_units(views)
    forms = [_form(views[unit.first]) for unit in units]
    features = [unit_features(views, units, k, forms, rule_spans) for k in range(len(units))]
    return units, features


_LAST: list[tuple[Sequence[SentenceView], tuple[object, ...], Any]] = []


def _cached_features(
    views: Sequence[SentenceView], rule_spans: dict[str, Sequence[tuple[int, int]]]
) -> tuple[list[Unit], list[list[str]]]:
    """:func:`all_features`, computed once for the cause and the action revision of one
    document (the cache holds the last document's views, so their identity stays valid)."""
    key = tuple((role, tuple(spans)) for role, spans in sorted(rule_spans.items()))
    if _LAST and _LAST[0][0] is views and _LAST[0][1] == key:
        return _LAST[0][2]
    result = all_features(views, rule_spans)
    _LAST[:] = [(views, key, result)]
    return result


def revise(
    role: str,
    views: Sequence[SentenceView],
    rule_spans: dict[str, Sequence[tuple[int, int]]],
    model: RoleModel,
) -> tuple[set[tuple[int, int]], list[Unit]]:
    """The model's second opinion on the rule items of ``role``: the rule spans to drop and
    the units to add (not overlapping any rule item)."""
    if role not in model.weights or not views:
        return set(), []
    units, features = _cached_features(views, rule_spans)
    probabilities = [model.probability(role, names) for names in features]
    own = rule_spans.get(role, ())
    return decide(
        units,
        probabilities,
        own,
        model.veto[role],
        model.add[role],
        firm_units(role, units, features),
    )


def firm_units(role: str, units: Sequence[Unit], features: Sequence[Sequence[str]]) -> list[bool]:
    """Per unit: a paragraph sentence whose own cue score for ``role`` is strong (2 or more)."""
    prefix = {"cause": "cs:", "action": "as:"}[role]
    strong = {f"{prefix}2", f"{prefix}3"}
    return [
        not unit.listed and any(name in strong for name in names)
        for unit, names in zip(units, features, strict=True)
    ]


def decide(
    units: Sequence[Unit],
    probabilities: Sequence[float],
    own: Sequence[tuple[int, int]],
    veto: float,
    add: float,
    firm: Sequence[bool],
) -> tuple[set[tuple[int, int]], list[Unit]]:
    """Rule spans to drop and units to add, given each unit's probability of the role.

    A rule item is dropped when every unit it covers scores below ``veto`` and none of them
    is *firm*: a paragraph sentence whose own wording states the role strongly ("... failed
    because ...", "We will add ...") keeps it whatever the model says (the dev labels of
    some sources leave causal summary sentences unlabelled, which a veto of such sentences
    would learn). A unit scoring ``add`` or more that overlaps no rule item is added.
    """
    drop = set()
    for span in own:
        covered = [
            (unit, p)
            for unit, p in zip(units, probabilities, strict=True)
            if _overlaps(span, unit_span(unit))
        ]
        if covered and not any(firm[units.index(unit)] for unit, _ in covered):
            if max(p for _, p in covered) < veto:
                drop.add(span)
    added = [
        unit
        for unit, p in zip(units, probabilities, strict=True)
        if p >= add and not any(_overlaps(unit_span(unit), span) for span in own)
    ]
    return drop, added


def unit_span(unit: Unit) -> tuple[int, int]:
    """(start, end) of a unit in the source text."""
    return unit.start, unit.end

"""A learned second opinion on the cause and action rules, for reports without such sections.

The cue rules of :mod:`ingest.extract.causes` and :mod:`ingest.extract.actions` learn the
phrasings of the reports they were written from; on reports nobody tuned them on they miss
about half of the causes (see ``benchmarks/RESULTS.md``). Two logistic regressions (cause vs
not, action vs not), trained on the dev and heldout splits of the gold set (headings removed)
by ``benchmarks/train_roles.py``, with the add thresholds chosen on heldout with a dev-only fit,
and shipped as plain JSON (``ingest/data/role_model.json``), score every *unit* of a report: a
list item or table row (all its sentences), or a paragraph sentence. Their features do not
depend on headings nor on what the rules decided: hashed words and word pairs, the first word,
the item's form and its neighbours' forms, spaCy cues of the parse already made (root tag and
lemma, modal "will", past tense, "we", imperative), the cue scores of
:mod:`ingest.extract.roles`, the position in the report and the sentence that introduces a list.

:func:`revise` applies the model only where a report has no cause (resp. action) section,
as reports written in prose: a unit that scores ``add`` or more, shares no character with an
item the rules found and is not one the rules refuse (:func:`ingest.extract.causes.refuses_cause`:
a guess, a remedy, a question, a detection ...; :func:`ingest.extract.actions.refuses_action`)
is added; causes are added from paragraph sentences only (the rules read lists by their
structure). The model never removes an item the rules found. Reports with the section keep the
rules' items, which follow the report's own structure.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from ingest.records import Action, Cause

from .actions import (
    _is_action_section,
    _make_action,
    _reports_work,
    refuses_action,
)
from .causes import _under_cause_heading, cause_kind, refuses_cause
from .impact import states_impact
from .roles import (
    SentenceView,
    action_score,
    cause_score,
    dated_lines,
    impact_score,
    is_imperative,
    item_form,
    normalize_quotes,
)

__all__ = [
    "MODEL_PATH",
    "RoleModel",
    "Unit",
    "candidates",
    "document_units",
    "feature_index",
    "load_model",
    "revise",
    "unit_features",
]

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "role_model.json"
ROLES = ("cause", "action")
LISTED = ("list_item", "table_row")
_Item = TypeVar("_Item", Cause, Action)
_WORD = re.compile(r"[a-z][a-z'-]*|\d+")


@dataclass(frozen=True)
class Unit:
    """One scored piece of a report: a list item / table row, or a paragraph sentence."""

    first: int  # index of its first view
    last: int  # index of its last view (inclusive)
    start: int
    end: int
    listed: bool = False  # a list item or table row

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


@dataclass(frozen=True)
class RoleModel:
    """Hashed-feature logistic regressions, one per role, with their decision thresholds."""

    dim: int
    weights: dict[str, tuple[float, ...]]  # role -> weight per hashed feature
    bias: dict[str, float]
    add: dict[str, float]  # role -> add a unit the rules missed that scores this or more

    def buckets(self, features: Sequence[str]) -> frozenset[int]:
        """The hashed buckets of a unit's feature names (a bucket counts once, as in the
        binary training matrix); computed once per unit for both roles."""
        return frozenset(feature_index(name, self.dim) for name in features)

    def probability(self, role: str, features: Sequence[str]) -> float:
        """P(unit has ``role``) for the unit's feature names."""
        return self.bucket_probability(role, self.buckets(features))

    def bucket_probability(self, role: str, buckets: frozenset[int]) -> float:
        """P(unit has ``role``) for the unit's hashed buckets (:meth:`buckets`)."""
        weights = self.weights[role]
        total = self.bias[role] + sum(weights[b] for b in buckets)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, total))))


def feature_index(name: str, dim: int) -> int:
    """Stable hash bucket of a feature name."""
    return zlib.crc32(name.encode("utf-8")) % dim


@lru_cache(maxsize=4)
def load_model(path: str = str(MODEL_PATH)) -> RoleModel | None:
    """The model stored at ``path`` (JSON written by ``benchmarks/train_roles.py``), None
    when the file does not exist (the rules then decide alone)."""
    file = Path(path)
    if not file.exists():
        return None
    data = json.loads(file.read_text(encoding="utf-8"))
    dim = int(data["dim"])
    weights = {role: tuple(float(v) for v in values) for role, values in data["weights"].items()}
    if any(len(values) != dim for values in weights.values()):
        raise ValueError(f"{path}: every weight vector must have {dim} values")
    return RoleModel(
        dim=dim,
        weights=weights,
        bias={role: float(value) for role, value in data["bias"].items()},
        add={role: float(value) for role, value in data["add"].items()},
    )


def document_units(views: Sequence[SentenceView]) -> list[Unit]:
    """The units of a report in order: the sentences of one list item or row stay together."""
    units: list[Unit] = []
    i = 0
    while i < len(views):
        j = i
        listed = views[i].sentence.block_kind in LISTED
        if listed:
            while j + 1 < len(views) and views[j + 1].block == views[i].block:
                j += 1
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
    views: Sequence[SentenceView], units: Sequence[Unit], k: int, forms: Sequence[str]
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
        m = k - 1
        while m >= 0 and units[m].listed:
            m -= 1
        if m >= 0 and k - m <= 30:
            intro_text = views[units[m].last].text
            features += [f"intro:{w}" for w in set(_words(intro_text)[-12:])]
            if intro_text.rstrip().endswith(":"):
                features.append("intro_colon")
    return features


def all_features(views: Sequence[SentenceView]) -> tuple[list[Unit], list[list[str]]]:
    """The report's units and the feature names of each."""
    units = document_units(views)
    forms = [_form(views[unit.first]) for unit in units]
    return units, [unit_features(views, units, k, forms) for k in range(len(units))]


def candidates(
    units: Sequence[Unit],
    probabilities: Sequence[float],
    own: Sequence[tuple[int, int]],
    add: float,
) -> list[int]:
    """Indices of the units that score ``add`` or more and share no character with a rule
    item (``own``)."""
    return [
        k
        for k, (unit, p) in enumerate(zip(units, probabilities, strict=True))
        if p >= add and not any(min(unit.end, e) > max(unit.start, s) for s, e in own)
    ]


def revise(
    text: str,
    views: Sequence[SentenceView],
    causes: Sequence[Cause],
    actions: Sequence[Action],
    model: RoleModel | None = None,
) -> tuple[tuple[Cause, ...], tuple[Action, ...]]:
    """The rules' causes and actions with the model's additions (module docstring).

    ``model`` defaults to the shipped one; without a model file the rules' items are
    returned unchanged.
    """
    model = load_model() if model is None else model
    causes, actions = tuple(causes), tuple(actions)
    if model is None or not views:
        return causes, actions
    revise_causes = "cause" in model.weights and not any(_under_cause_heading(v) for v in views)
    revise_actions = "action" in model.weights and not any(_is_action_section(v) for v in views)
    if not (revise_causes or revise_actions):
        return causes, actions
    views = list(views)
    units, features = all_features(views)
    buckets = [model.buckets(names) for names in features]
    if revise_causes:
        added = [
            units[k]
            for k in _candidates(model, "cause", units, buckets, causes)
            if not units[k].listed and not _refuses_cause(views, units[k].first, text)
        ]
        causes = _merge(list(causes), [_added_cause(text, views, unit) for unit in added])
    if revise_actions:
        dated = dated_lines(text)
        added = [
            units[k]
            for k in _candidates(model, "action", units, buckets, actions)
            if not _refuses_action(views, units[k], dated)
        ]
        actions = _merge(list(actions), [_added_action(text, views, unit) for unit in added])
    return causes, actions


def _candidates(
    model: RoleModel,
    role: str,
    units: Sequence[Unit],
    buckets: Sequence[frozenset[int]],
    found: Sequence[Cause] | Sequence[Action],
) -> list[int]:
    probabilities = [model.bucket_probability(role, unit) for unit in buckets]
    own = [(item.start, item.end) for item in found]
    return candidates(units, probabilities, own, model.add[role])


def _refuses_cause(views: list[SentenceView], i: int, text: str) -> bool:
    """What the cause rules refuse, and a symptom told without a cause word ("The mail relay
    was down for a night")."""
    view = views[i]
    if refuses_cause(views, i, text):
        return True
    return states_impact(view.text) and cause_score(view.text, view.sentence.block_kind) == 0


def _refuses_action(views: list[SentenceView], unit: Unit, dated: Sequence[int]) -> bool:
    """What the action rules refuse in any sentence of the unit, or a step told between two
    dated entries (``dated``: their offsets; part of the timeline's story). An item of a list
    the rules read as lessons may be added: on reports nobody tuned on, such lists hold steps
    more often than the rules expect (see ``benchmarks/RESULTS.md``); a listed finding stays
    refused."""
    if len(dated) >= 2 and dated[0] < unit.start < unit.end < dated[-1]:
        return True
    return any(refuses_action(view) for view in views[unit.first : unit.last + 1])


def _added_cause(text: str, views: Sequence[SentenceView], unit: Unit) -> Cause:
    view = views[unit.first]
    body = text[unit.start : unit.end]
    return Cause(
        text=body,
        start=unit.start,
        end=unit.end,
        kind=cause_kind(body, view.heading),
        sentence=view.sentence.index,
    )


def _added_action(text: str, views: Sequence[SentenceView], unit: Unit) -> Action:
    view = views[unit.first]
    action = _make_action(text, unit.start, unit.end, view.sentence.index, view.heading)
    if action.status == "unknown":
        # As the rules read a listed step: work reported as done, else a step to take.
        action = replace(action, status="done" if _told_as_done(view) else "planned")
    return action


_PAST_AUX = frozenset({"was", "were", "has", "have", "had", "'ve", "been"})


def _told_as_done(view: SentenceView) -> bool:
    """The unit reports work as done: the rules' reading of a listed step, or a main verb in
    the past without a modal ("The configuration was adjusted", "we deleted them")."""
    if _reports_work(view):
        return True
    root = next((t for t in view.span or () if t.dep_ == "ROOT"), None)
    if root is None or any(c.tag_ == "MD" for c in root.children):
        return False
    if root.tag_ == "VBD":
        return True
    return root.tag_ == "VBN" and any(
        c.dep_ in ("aux", "auxpass") and c.lower_ in _PAST_AUX for c in root.children
    )


def _merge(kept: list[_Item], added: list[_Item]) -> tuple[_Item, ...]:
    return tuple(sorted(kept + added, key=lambda item: (item.start, item.end)))

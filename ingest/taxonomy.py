"""The incident taxonomy: load ``taxonomy.yaml``, classify cause sentences, find recurring causes.

Three axes of categories live in ``ingest/data/taxonomy.yaml`` (users may edit it, or point the
``PMKB_TAXONOMY`` environment variable at their own copy):

* ``cause``      why the incident happened (config change, software defect, retry storm, ...)
* ``mitigation`` what stopped it (rollback, failover, scaling, restart, ...)
* ``impact``     what users saw (outage, latency, errors, data loss, ...)

How a sentence is scored against a category (``CauseClassifier``):

1. **Cues.** Each category lists phrases/regular expressions; ``cue`` is the number of distinct
   cues that match the sentence (case-insensitive, at word boundaries), capped at 2, over 2.
2. **Similarity.** The category's definition and examples are embedded once per classifier
   (prototype vectors, cached per axis); ``sim`` is the best cosine similarity between the
   sentence and any prototype, and ``margin`` is ``sim`` minus the best ``sim`` of any *other*
   category on the same axis (positive only for the nearest category).
3. **Calibration.** A logistic (Platt-style) mapping turns the features into a confidence in
   [0, 1]: ``sigmoid(bias + w_cue*cue + w_sim*sim + w_margin*margin + offset[category])``. The
   four shared coefficients and the per-category offsets (fitted, shrunk towards 0, only for
   categories with enough DEV examples) are stored under ``calibration`` in the YAML, fitted by
   ``benchmarks/taxonomy_eval.py --fit`` on DEV documents only: the DEV split of the public
   corpora's own labels (icco tags, dfds categories, mapped to ours) and of our document labels
   for the structured reports. Labels are per document, and a document's score for a category
   is its best cause sentence's score, so the fit is a multiple-instance logistic regression:
   pick each document's best sentence under the current coefficients, refit, a few rounds. The
   threshold is the one that maximises DEV macro-F1 (searched from 0.2 up). The held-out splits
   are never used for fitting. Without an embedder a cue-only mapping (``cue_only``) is used.
   The coefficients were fitted with the embedder named in ``calibration.embedder``; another
   embedder gives similarities on a different scale, so its confidences are not calibrated.
   Because the labels are per document, a sentence's confidence reads as "how likely a report
   whose strongest sentence looks like this one has this category", not a per-sentence truth.

4. **Stated causes.** On the cause axis, a sentence that states causation (it matches one of
   the taxonomy's ``cause_statements``: "the root cause was", "caused by", "due to", ...) adds
   ``calibration.statement_bonus`` to every category's logit: it is stronger evidence for its
   categories than a sentence that only uses their vocabulary ("General alert noise too high
   again"), and cause labels are kept at the higher ``calibration.cause_threshold``. On DEV
   (5-fold cross-validation, both chosen inside the folds: bonus 0.25, threshold 0.25) this
   raised our labels' roll-up macro-F1 from 0.499 to 0.560, the sources' from 0.585 to 0.594.

Labels at or above ``calibration.threshold`` (on the cause axis ``cause_threshold``, when set)
are kept (multi-label); when none is, the classifier answers
``(CategoryScore("unknown", "Unknown", 1 - best),)`` instead of a forced guess.

``rollup`` combines a cause list's labels into incident-level categories (what ingest stores).
``CauseClassifier.classify_incident`` decides them from the cause sentences *plus* the title
and summary sentences, at ``calibration.incident_threshold``: on our own DEV labels that beats
the roll-up by about 0.08 macro-F1 and ties it on the sources' labels (``benchmarks/RESULTS.md``),
because the extracted causes often miss the sentence that names the category while the summary
states it, and the higher threshold drops weak similarity-only labels. ``cluster_causes``
groups similar cause sentences across incidents (average-linkage agglomerative clustering on
cosine similarity) so that recurring patterns show up even when the taxonomy has no name for them.
"""

from __future__ import annotations

import math
import os
import re
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ingest.embed import Embedder
from ingest.records import CategoryScore

DEFAULT_TAXONOMY_PATH = Path(__file__).parent / "data" / "taxonomy.yaml"
TAXONOMY_ENV = "PMKB_TAXONOMY"
AXES: tuple[str, ...] = ("cause", "mitigation", "impact")
UNKNOWN_ID = "unknown"
UNKNOWN_NAME = "Unknown"
MAX_CUE_HITS = 2


class TaxonomyError(ValueError):
    """The taxonomy file is missing, malformed or refers to an unknown category or axis."""


@dataclass(frozen=True)
class Category:
    """One category of one axis of the taxonomy."""

    id: str
    name: str
    definition: str
    cues: tuple[str, ...]
    examples: tuple[str, ...]
    axis: str

    @cached_property
    def cue_patterns(self) -> tuple[re.Pattern[str], ...]:
        """The cues compiled case-insensitively, anchored at word boundaries."""
        return tuple(re.compile(rf"(?<!\w)(?:{cue})(?!\w)", re.IGNORECASE) for cue in self.cues)

    @cached_property
    def any_cue(self) -> re.Pattern[str] | None:
        """One pattern matching wherever some cue matches (a cheap first test per text)."""
        if not self.cues:
            return None
        either = "|".join(f"(?:{cue})" for cue in self.cues)
        return re.compile(rf"(?<!\w)(?:{either})(?!\w)", re.IGNORECASE)

    def cue_hits(self, text: str) -> tuple[str, ...]:
        """The cues (as written in the taxonomy) that match ``text``."""
        if self.any_cue is None or not self.any_cue.search(text):
            return ()  # most texts match no cue of most categories: one search, not one per cue
        return tuple(c for c, p in zip(self.cues, self.cue_patterns, strict=True) if p.search(text))

    @property
    def prototypes(self) -> tuple[str, ...]:
        """The texts embedded as this category's prototype vectors."""
        return (f"{self.name}: {self.definition}", *self.examples)


@dataclass(frozen=True)
class LogisticCoefficients:
    """``sigmoid(bias + w_cue*cue + w_sim*sim + w_margin*margin)``."""

    bias: float
    w_cue: float
    w_sim: float = 0.0
    w_margin: float = 0.0

    def logit(self, cue: np.ndarray, sim: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """The linear score, elementwise over feature arrays of one shape."""
        return self.bias + self.w_cue * cue + self.w_sim * sim + self.w_margin * margin

    def confidence(
        self, cue: np.ndarray, sim: np.ndarray, margin: np.ndarray, offset: Any = 0.0
    ) -> np.ndarray:
        """``sigmoid(logit + offset)``; ``offset`` broadcasts (e.g. one value per category)."""
        return 1.0 / (1.0 + np.exp(-(self.logit(cue, sim, margin) + offset)))


@dataclass(frozen=True)
class Calibration:
    """The fitted confidence mapping and the label threshold (see the module docstring)."""

    embedder: str = "sentence-transformers/all-MiniLM-L6-v2"
    threshold: float = 0.5
    incident_threshold: float | None = None  # for ``classify_incident``; None: ``threshold``
    cause_threshold: float | None = None  # for cause labels (``classify``); None: ``threshold``
    statement_bonus: float = 0.0  # logit added on the cause axis to stated causes
    with_embedder: LogisticCoefficients = LogisticCoefficients(-4.0, 6.0, 4.0, 4.0)
    cue_only: LogisticCoefficients = LogisticCoefficients(-1.5, 5.0)
    offsets: tuple[tuple[str, float], ...] = ()  # per-category logit offsets (with embedder)

    def offset(self, category_id: str) -> float:
        """The fitted logit offset of one category (0 when it has none)."""
        return dict(self.offsets).get(category_id, 0.0)

    def label_threshold(self, axis: str) -> float:
        """The confidence a label of ``axis`` needs (``classify``)."""
        if axis == "cause" and self.cause_threshold is not None:
            return self.cause_threshold
        return self.threshold

    @property
    def incident_cutoff(self) -> float:
        """The confidence an incident-level category needs (``classify_incident``)."""
        return self.threshold if self.incident_threshold is None else self.incident_threshold

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Calibration:
        """Read the ``calibration`` mapping of the YAML file; missing keys keep defaults."""
        if not data:
            return cls()
        default = cls()
        return cls(
            embedder=str(data.get("embedder", default.embedder)),
            threshold=float(data.get("threshold", default.threshold)),
            incident_threshold=float(data["incident_threshold"])
            if data.get("incident_threshold") is not None
            else None,
            cause_threshold=float(data["cause_threshold"])
            if data.get("cause_threshold") is not None
            else None,
            statement_bonus=float(data.get("statement_bonus", default.statement_bonus)),
            with_embedder=LogisticCoefficients(**data.get("with_embedder", {}))
            if data.get("with_embedder")
            else default.with_embedder,
            cue_only=LogisticCoefficients(**data.get("cue_only", {}))
            if data.get("cue_only")
            else default.cue_only,
            offsets=tuple((str(k), float(v)) for k, v in (data.get("offsets") or {}).items()),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Taxonomy:
    """All categories of all axes, the studies they are based on, and the calibration."""

    categories: tuple[Category, ...]
    sources: tuple[str, ...] = ()
    calibration: Calibration = field(default_factory=Calibration)
    path: str = ""
    cause_statements: tuple[str, ...] = ()  # regexes of a sentence that states causation

    @cached_property
    def cause_statement(self) -> re.Pattern[str] | None:
        """One pattern matching a sentence that states causation (``cause_statements``)."""
        if not self.cause_statements:
            return None
        either = "|".join(f"(?:{p})" for p in self.cause_statements)
        return re.compile(rf"(?<!\w)(?:{either})(?!\w)", re.IGNORECASE)

    def states_cause(self, text: str) -> bool:
        """Whether ``text`` states causation ("the root cause was", "caused by", "due to")."""
        return bool(self.cause_statement and self.cause_statement.search(text))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Load a taxonomy file: ``path``, else ``$PMKB_TAXONOMY``, else the bundled one."""
        chosen = Path(path or os.environ.get(TAXONOMY_ENV) or DEFAULT_TAXONOMY_PATH)
        try:
            data = yaml.safe_load(chosen.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TaxonomyError(f"cannot read taxonomy file {chosen}: {exc}") from exc
        except yaml.YAMLError as exc:
            raise TaxonomyError(f"taxonomy file {chosen} is not valid YAML: {exc}") from exc
        return cls.from_dict(data, path=str(chosen))

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> Taxonomy:
        """Build a taxonomy from the parsed YAML mapping, checking it as it goes."""
        if not isinstance(data, dict) or not isinstance(data.get("axes"), dict):
            raise TaxonomyError(f"taxonomy {path or '<dict>'} needs an 'axes' mapping")
        categories = []
        for axis, entries in data["axes"].items():
            seen: set[str] = set()
            for entry in entries or ():
                category = _category_from_dict(entry, axis, path)
                if category.id in seen:
                    raise TaxonomyError(f"duplicate category {axis}/{category.id} in {path}")
                seen.add(category.id)
                categories.append(category)
        statements = tuple(str(p) for p in data.get("cause_statements") or ())
        for pattern in statements:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise TaxonomyError(
                    f"cause_statements in {path}: bad regex {pattern!r}: {exc}"
                ) from exc
        return cls(
            categories=tuple(categories),
            sources=tuple(str(s) for s in data.get("sources") or ()),
            calibration=Calibration.from_dict(data.get("calibration")),
            path=path,
            cause_statements=statements,
        )

    @property
    def axes(self) -> tuple[str, ...]:
        """The axis names in file order."""
        return tuple(dict.fromkeys(c.axis for c in self.categories))

    def axis(self, name: str) -> tuple[Category, ...]:
        """The categories of one axis, in file order."""
        found = tuple(c for c in self.categories if c.axis == name)
        if not found:
            raise TaxonomyError(f"no axis {name!r}; the taxonomy has {', '.join(self.axes)}")
        return found

    def get(self, id: str, axis: str | None = None) -> Category:  # noqa: A002 - API name
        """The category with this id (on ``axis``; by default the cause axis is searched first)."""
        order = [axis] if axis else ["cause", *[a for a in self.axes if a != "cause"]]
        for axis_name in order:
            for category in self.categories:
                if category.axis == axis_name and category.id == id:
                    return category
        raise TaxonomyError(f"no category {id!r}" + (f" on axis {axis!r}" if axis else ""))


def _category_from_dict(entry: Any, axis: str, path: str) -> Category:
    if not isinstance(entry, dict) or not entry.get("id"):
        raise TaxonomyError(f"a category on axis {axis!r} in {path} has no id: {entry!r}")
    missing = [k for k in ("name", "definition") if not entry.get(k)]
    if missing:
        raise TaxonomyError(f"category {axis}/{entry['id']} lacks {', '.join(missing)}")
    category = Category(
        id=str(entry["id"]),
        name=str(entry["name"]),
        definition=" ".join(str(entry["definition"]).split()),
        cues=tuple(str(c) for c in entry.get("cues") or ()),
        examples=tuple(" ".join(str(e).split()) for e in entry.get("examples") or ()),
        axis=axis,
    )
    try:
        category.cue_patterns  # noqa: B018 - compile now so a bad regex fails at load time
    except re.error as exc:
        raise TaxonomyError(f"category {axis}/{category.id}: bad cue regex: {exc}") from exc
    return category


@dataclass(frozen=True)
class CategoryFeatures:
    """The raw features of every (text, category) pair of one axis, before calibration."""

    categories: tuple[Category, ...]
    cue: np.ndarray  # (n_texts, n_categories) in [0, 1]
    sim: np.ndarray  # (n_texts, n_categories) cosine, 0 without an embedder
    margin: np.ndarray  # (n_texts, n_categories)
    stated: np.ndarray | None = None  # (n_texts,) 1.0 where a cause-axis text states causation

    def rows(self, start: int, end: int) -> CategoryFeatures:
        """The features of texts ``start`` to ``end``."""
        stated = None if self.stated is None else self.stated[start:end]
        return CategoryFeatures(
            self.categories,
            self.cue[start:end],
            self.sim[start:end],
            self.margin[start:end],
            stated,
        )


# Embedded prototypes per embedder object and prototype texts: computed once per process for
# the (cached) product embedder, so adding one postmortem does not re-embed them.
_PROTOTYPE_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


class CauseClassifier:
    """Multi-label classifier of sentences into the categories of one taxonomy axis."""

    def __init__(self, taxonomy: Taxonomy, embedder: Embedder | None = None) -> None:
        self.taxonomy = taxonomy
        self.embedder = embedder
        self._prototypes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def coefficients(self) -> LogisticCoefficients:
        """The calibration in use: with or without similarity features."""
        cal = self.taxonomy.calibration
        return cal.with_embedder if self.embedder is not None else cal.cue_only

    def prototype_vectors(self, axis: str) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors, owner)``: every prototype of the axis embedded, and its category index."""
        if axis not in self._prototypes:
            if self.embedder is None:
                raise TaxonomyError("prototype vectors need an embedder")
            categories = self.taxonomy.axis(axis)
            texts, owner = [], []
            for index, category in enumerate(categories):
                texts.extend(category.prototypes)
                owner.extend([index] * len(category.prototypes))
            cache = _PROTOTYPE_CACHE.setdefault(self.embedder, {})  # shared across ingests
            key = tuple(texts)
            if key not in cache:
                cache[key] = np.asarray(self.embedder.encode(texts), dtype=np.float32)
            self._prototypes[axis] = (cache[key], np.asarray(owner))
        return self._prototypes[axis]

    def features(
        self, texts: Sequence[str], *, axis: str = "cause", vectors: np.ndarray | None = None
    ) -> CategoryFeatures:
        """Cue and similarity features of ``texts`` for every category of ``axis``.

        ``vectors`` may pass the texts' embeddings if they are already computed.
        """
        categories = self.taxonomy.axis(axis)
        n, k = len(texts), len(categories)
        cue = np.zeros((n, k), dtype=np.float64)
        for j, category in enumerate(categories):
            for i, text in enumerate(texts):
                cue[i, j] = min(len(category.cue_hits(text)), MAX_CUE_HITS) / MAX_CUE_HITS
        sim = np.zeros((n, k), dtype=np.float64)
        margin = np.zeros((n, k), dtype=np.float64)
        if self.embedder is not None and n:
            if vectors is None:
                vectors = np.asarray(self.embedder.encode(list(texts)), dtype=np.float32)
            proto, owner = self.prototype_vectors(axis)
            cosine = vectors @ proto.T  # (n, n_prototypes)
            for j in range(k):
                sim[:, j] = cosine[:, owner == j].max(axis=1)
            margin = _margins(sim)
        stated = None
        if axis == "cause":
            stated = np.array([float(self.taxonomy.states_cause(t)) for t in texts])
        return CategoryFeatures(categories, cue, sim, margin, stated)

    def confidences(self, features: CategoryFeatures) -> np.ndarray:
        """Calibrated confidence of every (text, category) pair, shape ``(n, k)``."""
        calibration = self.taxonomy.calibration
        offsets: Any = 0.0
        if self.embedder is not None:
            offsets = np.array([calibration.offset(c.id) for c in features.categories])
        if features.stated is not None and calibration.statement_bonus:
            offsets = offsets + calibration.statement_bonus * features.stated[:, None]
        return self.coefficients.confidence(features.cue, features.sim, features.margin, offsets)

    def classify(
        self,
        texts: Sequence[str],
        *,
        axis: str = "cause",
        vectors: np.ndarray | None = None,
    ) -> list[tuple[CategoryScore, ...]]:
        """Label each text with every category of ``axis`` it fits, most confident first.

        A text that fits no category gets ``(CategoryScore("unknown", "Unknown", c),)`` where
        ``c`` is one minus the best confidence of any category.
        """
        features = self.features(texts, axis=axis, vectors=vectors)
        conf = self.confidences(features)
        threshold = self.taxonomy.calibration.label_threshold(axis)
        results: list[tuple[CategoryScore, ...]] = []
        for row in conf:
            order = np.argsort(-row, kind="stable")
            labels = tuple(
                CategoryScore(
                    features.categories[j].id, features.categories[j].name, round(float(row[j]), 4)
                )
                for j in order
                if row[j] >= threshold
            )
            known = tuple(s for s in labels if s.category_id != UNKNOWN_ID)
            if known:
                results.append(known)
            elif labels:
                results.append(labels)
            else:
                best = float(row.max()) if row.size else 0.0
                results.append((CategoryScore(UNKNOWN_ID, UNKNOWN_NAME, round(1.0 - best, 4)),))
        return results

    def classify_incident(
        self,
        causes: Sequence[str],
        context: Sequence[str] = (),
        *,
        cause_vectors: np.ndarray | None = None,
        context_vectors: np.ndarray | None = None,
    ) -> tuple[CategoryScore, ...]:
        """Incident-level cause categories from its cause sentences plus context sentences.

        ``context`` is what else states the incident in brief: its title and summary sentences.
        A category's incident confidence is its best confidence over all these sentences, and
        it is kept at or above ``calibration.incident_cutoff`` (fitted on DEV documents by
        ``benchmarks/taxonomy_eval.py --fit-incident``). Most confident first; ``unknown`` (with
        one minus the best confidence) when no category reaches it; ``()`` without sentences.
        Vectors, when given, must be one row per text in the same order.
        """
        texts = [*causes, *context]
        if not texts:
            return ()
        vectors = None
        if self.embedder is not None and (cause_vectors is not None or context_vectors is not None):
            parts = []
            for part, given in ((causes, cause_vectors), (context, context_vectors)):
                if not part:
                    continue
                if given is None:
                    given = self.embedder.encode(list(part))
                parts.append(np.asarray(given, dtype=np.float32))
            vectors = np.concatenate(parts, axis=0)
        features = self.features(texts, axis="cause", vectors=vectors)
        best = self.confidences(features).max(axis=0)
        cutoff = self.taxonomy.calibration.incident_cutoff
        chosen = [
            CategoryScore(c.id, c.name, round(float(conf), 4))
            for c, conf in zip(features.categories, best, strict=True)
            if conf >= cutoff and c.id != UNKNOWN_ID
        ]
        if not chosen:
            top = float(best.max()) if best.size else 0.0
            return (CategoryScore(UNKNOWN_ID, UNKNOWN_NAME, round(1.0 - top, 4)),)
        return tuple(sorted(chosen, key=lambda s: (-s.confidence, s.category_id)))


def _margins(sim: np.ndarray) -> np.ndarray:
    """Each column's similarity minus the best similarity among the other columns."""
    if sim.shape[1] < 2:
        return np.zeros_like(sim)
    top2 = np.sort(sim, axis=1)[:, -2:]
    best, second = top2[:, 1:2], top2[:, 0:1]
    other_best = np.where(sim >= best, second, best)
    return sim - other_best


def rollup(per_cause: Sequence[Sequence[CategoryScore]]) -> tuple[CategoryScore, ...]:
    """Incident-level categories from the labels of its causes.

    A category's incident confidence is its best confidence over the causes; ``unknown`` is kept
    only when no cause has a known category. Most confident first.
    """
    best: dict[str, CategoryScore] = {}
    for scores in per_cause:
        for score in scores:
            held = best.get(score.category_id)
            if held is None or score.confidence > held.confidence:
                best[score.category_id] = score
    known = [s for s in best.values() if s.category_id != UNKNOWN_ID]
    chosen = known or list(best.values())
    return tuple(sorted(chosen, key=lambda s: (-s.confidence, s.category_id)))


@dataclass(frozen=True)
class CauseCluster:
    """Similar causes from two or more incidents."""

    label: str  # a few salient words of the member texts
    incident_ids: tuple[str, ...]  # distinct, in order of first appearance
    texts: tuple[str, ...]  # member cause texts
    members: tuple[int, ...]  # indices into the clustered items
    cohesion: float  # mean pairwise cosine similarity of the members

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_STOPWORDS = frozenset(
    """a an the and or but if then than that this these those there their them they it its
    is are was were be been being has have had having do does did doing of in on at to for from
    by with as into onto over under about after before during while when which who whom what
    we our us you your i he she his her not no nor so too very can could would should will
    may might must also all any each some more most other such only own same both few
    out up down off again further once here where why how because due which one two new
    caused cause causes causing result resulted resulting led lead leading issue issues
    experienced incident incidents outage outages identified root factors combination""".split()
)
_WORD = re.compile(r"[a-z][a-z0-9_\-]+")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2}


def salient_words(texts: Sequence[str], background: Sequence[str], *, top: int = 4) -> list[str]:
    """Words frequent in ``texts`` but rare in ``background`` (document frequency x idf)."""
    n_background = max(len(background), 1)
    background_df = Counter(w for t in background for w in _words(t))
    cluster_df = Counter(w for t in texts for w in _words(t))
    scored = [
        (df * math.log((1 + n_background) / (1 + background_df[w])), w)
        for w, df in cluster_df.items()
        if df >= 2 or len(texts) < 2
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [w for _, w in scored[:top]]


_CAUSE_FRAME = re.compile(
    r"^(?:(?:on|in|at|during|by)\s+[^,]{0,60}\d[^,]{0,30},\s*)?"  # "On October 9, 2020, ..."
    r"(?:the\s+)?(?:(?:root|underlying|primary|main|ultimate|initial|immediate|core)\s+)?"
    r"(?:cause|causes|trigger|problem|issue|culprit)\s+(?:of\s+(?:the|this)\s+\w+\s+)?"
    r"(?:was|were|is|has\s+been)\s+(?:\w+\s+)?(?:identified|traced|determined|found|"
    r"attributed|believed|thought)?\s*(?:as|to\s+be|to|that)?\s*",
    re.IGNORECASE,
)
_DATE_OR_TIME = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s*(?:am|pm|utc|pst|pdt|cet|cest|gmt|[a-z]{2,4}/[a-z_]+))?|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:,?\s+\d{4})?)\b\s*\|?",
    re.IGNORECASE,
)
_DANGLING_PREPOSITION = re.compile(
    r"\b(?:starting|beginning|ending)?\s*\b(?:on|at|from|to|until|since|by)\s*(?=[,.;|])\s*[,;|]?",
    re.IGNORECASE,
)
MIN_CONTENT_WORDS = 3


def cause_core(text: str) -> str:
    """A cause sentence without its frame ("The root cause was identified as"), dates and times.

    Embedding the core rather than the sentence keeps clusters about *what* failed instead of
    about how the sentence was phrased or when it happened.
    """
    core = _DATE_OR_TIME.sub(" ", text)
    core = _DANGLING_PREPOSITION.sub("", core)
    core = _CAUSE_FRAME.sub("", core.strip(" ,|-*:\t\n"))
    return " ".join(core.split()) or text


def embed_causes(items: Sequence[tuple[str, str]], embedder: Embedder) -> np.ndarray:
    """Vectors for ``cluster_causes``: the embedded ``cause_core`` of every cause text."""
    return np.asarray(embedder.encode([cause_core(text) for _, text in items]), dtype=np.float32)


def cluster_causes(
    items: Sequence[tuple[str, str]],
    vectors: np.ndarray,
    *,
    threshold: float = 0.6,
    min_incidents: int = 2,
) -> list[CauseCluster]:
    """Group similar causes across incidents.

    ``items`` are ``(incident_id, cause_text)`` pairs and ``vectors`` their L2-normalised
    embeddings (one row per item; ``embed_causes`` makes them from the causes' cores, which
    clusters better than the raw sentences). Causes whose core has fewer than
    ``MIN_CONTENT_WORDS`` content words ("Things that could have gone better.") are left out.
    Average-linkage agglomerative clustering merges groups while their mean cosine similarity is
    at least ``threshold``. Only clusters spanning at least ``min_incidents`` distinct incidents
    are returned, largest (by incidents) first; ``members`` index into ``items``. Memory grows
    with the square of the number of causes (about 200 MB for 7,000).
    """
    if len(items) != len(vectors):
        raise ValueError(f"{len(items)} items but {len(vectors)} vectors")
    keep = [
        i for i, (_, text) in enumerate(items) if len(_words(cause_core(text))) >= MIN_CONTENT_WORDS
    ]
    if len(keep) < 2:
        return []
    from scipy.cluster.hierarchy import fcluster, linkage

    matrix = np.asarray(vectors, dtype=np.float64)[keep]
    matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    distances = np.clip(1.0 - matrix @ matrix.T, 0.0, 2.0)
    condensed = distances[np.triu_indices(len(keep), k=1)]
    tree = linkage(condensed, method="average")
    assignment = fcluster(tree, t=1.0 - threshold, criterion="distance")

    all_cores = [cause_core(items[i][1]) for i in keep]
    clusters = []
    for cluster_id in np.unique(assignment):
        rows = [int(r) for r in np.flatnonzero(assignment == cluster_id)]
        members = tuple(keep[r] for r in rows)
        incidents = tuple(dict.fromkeys(items[i][0] for i in members))
        if len(incidents) < min_incidents:
            continue
        texts = tuple(items[i][1] for i in members)
        block = matrix[rows] @ matrix[rows].T
        pairs = len(rows) * (len(rows) - 1)
        cohesion = float((block.sum() - np.trace(block)) / pairs) if pairs else 1.0
        cores = [all_cores[r] for r in rows]
        label = " ".join(salient_words(cores, all_cores)) or texts[0][:60]
        clusters.append(CauseCluster(label, incidents, texts, members, round(cohesion, 4)))
    clusters.sort(key=lambda c: (-len(c.incident_ids), -len(c.members), c.label))
    return clusters


__all__ = [
    "AXES",
    "Calibration",
    "Category",
    "CategoryFeatures",
    "CauseClassifier",
    "CauseCluster",
    "DEFAULT_TAXONOMY_PATH",
    "Embedder",
    "LogisticCoefficients",
    "Taxonomy",
    "TaxonomyError",
    "cause_core",
    "cluster_causes",
    "embed_causes",
    "rollup",
    "salient_words",
]

"""Benchmark: the cause classifier against the categories the corpora's sources assign.

Scores document-level cause categories (the ``rollup`` of the labels of a document's cause
sentences) against the source's own labels, per category (precision, recall, F1) and as
macro-F1, separately on a DEV split (used to fit the calibration) and a HELD-OUT split (never
used for fitting or tuning). The split is fixed by a hash of the file name.

Label mapping (source label -> taxonomy categories; a document counts as predicted for the
label when the classifier gives it any of the mapped categories):

    icco  config-change      -> config_change or deploy_change  (icco's config-change tag also
                                fires on "deploy"/"rollout", so it covers both)
    icco  cascading-failure  -> retry_storm
    icco  time               -> time_clock
    icco  hardware           -> hardware
    icco  security           -> security
    dfds  Security Incident  -> security
    dfds  Observability, Prometheus -> monitoring_gap   (the monitoring itself broke)

Not scored: icco ``automation`` and ``cloud`` (topic tags, not causes: icco applies ``cloud`` to
any page that mentions AWS or Kubernetes), the other dfds categories (Kubernetes,
Self-service, ...: components, not causes), wikitech (no labels). Only icco files with at least
one source label count (the others are unlabelled, not "no category"); dfds files count only
for the dfds-mapped labels. icco texts are read and measured here, never copied.

Cause sentences: the causes ``ingest.extract.analyze_many`` finds (``--sentences extract``, the
default; documents where it finds none fall back to the quick finder), or a quick finder
(``--sentences quick``: sentences with causal cue words, plus every sentence under a heading
about causes).

    .venv/bin/python benchmarks/taxonomy_eval.py            # evaluate with the real embedder
    .venv/bin/python benchmarks/taxonomy_eval.py --fit      # refit calibration on DEV, then eval
    .venv/bin/python benchmarks/taxonomy_eval.py --no-embedder   # cue-only classifier
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.taxonomy import (
    DEFAULT_TAXONOMY_PATH,
    CategoryFeatures,
    CauseClassifier,
    LogisticCoefficients,
    Taxonomy,
)

CORPORA = Path("/work/shared/corpora")
PUBLIC = CORPORA / "public"
STRUCTURED = CORPORA / "structured"
DEV_SHARE = 0.6  # of files, by hash of the file name

# scored label -> the taxonomy categories that count for it
GROUPS: dict[str, tuple[str, ...]] = {
    "config_change/deploy_change": ("config_change", "deploy_change"),
    "retry_storm": ("retry_storm",),
    "time_clock": ("time_clock",),
    "hardware": ("hardware",),
    "security": ("security",),
    "monitoring_gap": ("monitoring_gap",),
}
ICCO_MAP = {
    "config-change": "config_change/deploy_change",
    "cascading-failure": "retry_storm",
    "time": "time_clock",
    "hardware": "hardware",
    "security": "security",
}
DFDS_MAP = {
    "Security Incident": "security",
    "Observability": "monitoring_gap",
    "Prometheus": "monitoring_gap",
}
ICCO_COVERS = frozenset(ICCO_MAP.values())
DFDS_COVERS = frozenset(DFDS_MAP.values())


@dataclass(frozen=True)
class LabelledDoc:
    name: str
    path: Path
    text: str
    labels: frozenset[str]  # scored groups the source assigns
    covered: frozenset[str]  # scored groups the source's labels can speak for

    @property
    def split(self) -> str:
        digest = hashlib.sha256(self.name.encode()).digest()
        return "dev" if int.from_bytes(digest[:4], "big") / 2**32 < DEV_SHARE else "heldout"


def load_docs() -> list[LabelledDoc]:
    """The icco files with source labels and the dfds structured files."""
    docs = []
    with open(PUBLIC / "MANIFEST.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            source_labels = [c for c in row["categories_from_source"].split(";") if c]
            if not row["file"].startswith("icco-") or not source_labels:
                continue
            path = PUBLIC / "incidents" / row["file"]
            text = path.read_text(encoding="utf-8")
            labels = frozenset(ICCO_MAP[c] for c in source_labels if c in ICCO_MAP)
            docs.append(LabelledDoc(row["file"], path, text, labels, ICCO_COVERS))
    for path in sorted((STRUCTURED / "dfds").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        found = re.findall(r"Category:\s*(.+?)\s*$", text, flags=re.M)
        labels = frozenset(DFDS_MAP[c] for c in found if c in DFDS_MAP)
        docs.append(LabelledDoc("dfds/" + path.name, path, text, labels, DFDS_COVERS))
    return docs


_CAUSAL = re.compile(
    r"\b(caus\w*|due to|because|root|trigger\w*|result(ed|ing|s)? in|led to|lead to|"
    r"contribut\w*|fail\w*|bug|broke\w*|problem|issue|error\w*|outage|incident was|stemm\w*|"
    r"began|started|origin\w*|underlying|mistaken\w*|accident\w*|inadvertent\w*|misconfigur\w*|"
    r"attack\w*|exhaust\w*|overload\w*|expired|leap second|clock)\b",
    re.I,
)
_CAUSE_HEADING = re.compile(r"cause|what happened|why|contributing|analysis|background", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"'(\[])")


def quick_cause_sentences(text: str) -> list[str]:
    """Sentences with causal cue words, plus every sentence under a heading about causes."""
    found: list[str] = []
    under_cause_heading = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            under_cause_heading = bool(_CAUSE_HEADING.search(stripped))
            continue
        if stripped.startswith("|") and "---" in stripped:
            continue
        stripped = re.sub(r"^([-*+•]|\d+[.)])\s+", "", stripped)
        for sentence in _SENTENCE_END.split(stripped):
            sentence = sentence.strip(" |")
            if len(sentence) < 20:
                continue
            if under_cause_heading or _CAUSAL.search(sentence):
                found.append(sentence)
    return found


def cause_sentences(docs: Sequence[LabelledDoc], method: str) -> tuple[list[list[str]], str]:
    """Each document's cause sentences and a note on how they were found.

    ``method`` "extract" uses ``ingest.extract.analyze_many`` (the product's cause extraction;
    a document where it finds no cause falls back to the quick finder), "quick" the finder here.
    """
    if method == "quick":
        return [quick_cause_sentences(d.text) for d in docs], "quick cause-sentence finder"
    from ingest.extract import analyze_many
    from ingest.nlp import load_nlp
    from ingest.read import read_document
    from ingest.sections import split_sections

    items = []
    for doc in docs:
        document = read_document(doc.path)
        items.append((document, split_sections(document)))
    out, fallbacks = [], 0
    for doc, analysis in zip(docs, analyze_many(items, load_nlp()), strict=True):
        texts = [cause.text for cause in analysis.causes]
        if not texts:
            fallbacks += 1
            texts = quick_cause_sentences(doc.text)
        out.append(texts)
    return out, f"ingest.extract.analyze_many; quick finder for {fallbacks} documents w/o causes"


def document_features(
    classifier: CauseClassifier, sentences: list[list[str]]
) -> list[CategoryFeatures]:
    """Cause-axis features of every document's cause sentences (one embedding batch)."""
    flat = [s for doc in sentences for s in doc]
    vectors = None
    if classifier.embedder is not None:
        vectors = np.asarray(classifier.embedder.encode(flat), dtype=np.float32)
    features = classifier.features(flat, axis="cause", vectors=vectors)
    out, start = [], 0
    for doc in sentences:
        end = start + len(doc)
        out.append(
            CategoryFeatures(
                features.categories,
                features.cue[start:end],
                features.sim[start:end],
                features.margin[start:end],
            )
        )
        start = end
    return out


def predict(
    classifier: CauseClassifier, features: CategoryFeatures, threshold: float
) -> frozenset[str]:
    """Document-level categories: any cause sentence at or above the threshold."""
    if not len(features.cue):
        return frozenset()
    best = classifier.confidences(features).max(axis=0)
    return frozenset(
        c.id for c, conf in zip(features.categories, best, strict=True) if conf >= threshold
    )


@dataclass(frozen=True)
class GroupScore:
    group: str
    support: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score(docs: Sequence[LabelledDoc], predictions: Sequence[frozenset[str]]) -> list[GroupScore]:
    """Per scored label: counts over the documents whose source covers that label."""
    scores = []
    for group, categories in GROUPS.items():
        tp = fp = fn = support = 0
        for doc, predicted in zip(docs, predictions, strict=True):
            if group not in doc.covered:
                continue
            gold = group in doc.labels
            hit = bool(predicted & set(categories))
            support += gold
            tp += gold and hit
            fp += hit and not gold
            fn += gold and not hit
        scores.append(GroupScore(group, support, tp, fp, fn))
    return scores


def macro_f1(scores: Sequence[GroupScore]) -> float:
    scored = [s for s in scores if s.support]
    return sum(s.f1 for s in scored) / len(scored) if scored else 0.0


def fit_coefficients(
    classifier: CauseClassifier,
    docs: Sequence[LabelledDoc],
    features: Sequence[CategoryFeatures],
    *,
    use_similarity: bool,
    rounds: int = 6,
) -> LogisticCoefficients:
    """Multiple-instance logistic fit on DEV documents (see the module docstring of taxonomy).

    Each (document, scored label) is one example; its features are those of the
    (sentence, mapped category) pair with the highest score under the current coefficients.
    """
    from sklearn.linear_model import LogisticRegression

    index = {c.id: j for j, c in enumerate(features[0].categories)}
    coef = classifier.coefficients
    for _ in range(rounds):
        rows, targets = [], []
        for doc, feats in zip(docs, features, strict=True):
            for group in doc.covered:
                columns = [index[c] for c in GROUPS[group]]
                if len(feats.cue):
                    cue = feats.cue[:, columns]
                    sim = feats.sim[:, columns]
                    margin = feats.margin[:, columns]
                else:
                    cue = sim = margin = np.zeros((1, len(columns)))
                z = coef.confidence(cue, sim, margin)
                i, j = np.unravel_index(int(np.argmax(z)), z.shape)
                x = [cue[i, j], sim[i, j], margin[i, j]] if use_similarity else [cue[i, j]]
                rows.append(x)
                targets.append(int(group in doc.labels))
        model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000)
        model.fit(np.asarray(rows), np.asarray(targets))
        w = model.coef_[0]
        if use_similarity:
            coef = LogisticCoefficients(
                float(model.intercept_[0]), float(w[0]), float(w[1]), float(w[2])
            )
        else:
            coef = LogisticCoefficients(float(model.intercept_[0]), float(w[0]))
    return LogisticCoefficients(
        *(round(v, 3) for v in (coef.bias, coef.w_cue, coef.w_sim, coef.w_margin))
    )


def write_calibration(path: Path, calibration: dict[str, object]) -> None:
    """Replace the trailing ``calibration:`` block of the taxonomy file, keeping the rest."""
    text = path.read_text(encoding="utf-8")
    head, marker, _ = text.rpartition("\ncalibration:\n")
    if not marker:
        raise SystemExit(f"{path} has no trailing 'calibration:' block")
    lines = [f"  {key}: {value}" for key, value in calibration.items()]
    path.write_text(head + marker + "\n".join(lines) + "\n", encoding="utf-8")


def _coef_yaml(c: LogisticCoefficients, with_similarity: bool) -> str:
    if with_similarity:
        return f"{{bias: {c.bias}, w_cue: {c.w_cue}, w_sim: {c.w_sim}, w_margin: {c.w_margin}}}"
    return f"{{bias: {c.bias}, w_cue: {c.w_cue}}}"


def print_table(title: str, scores: Sequence[GroupScore], n_docs: int) -> None:
    print(f"\n{title} ({n_docs} documents)")
    print("| label | support | precision | recall | F1 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for s in scores:
        print(f"| {s.group} | {s.support} | {s.precision:.2f} | {s.recall:.2f} | {s.f1:.2f} |")
    print(f"| **macro** | | | | **{macro_f1(scores):.3f}** |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", action="store_true", help="refit calibration on DEV and save it")
    parser.add_argument("--no-embedder", action="store_true", help="cue-only classifier")
    parser.add_argument("--taxonomy", type=Path, default=DEFAULT_TAXONOMY_PATH)
    parser.add_argument("--errors", action="store_true", help="list held-out misses")
    parser.add_argument(
        "--sentences",
        choices=("extract", "quick"),
        default="extract",
        help="cause sentences from ingest.extract (default) or the quick finder",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    taxonomy = Taxonomy.load(args.taxonomy)
    embedder = None
    if not args.no_embedder:
        from ingest.embed import load_embedder

        embedder = load_embedder()
    classifier = CauseClassifier(taxonomy, embedder)
    docs = load_docs()
    sentences, method = cause_sentences(docs, args.sentences)
    features = document_features(classifier, sentences)
    print(f"{len(docs)} labelled documents, {sum(map(len, sentences))} cause sentences ({method})")
    print(f"embedder: {embedder.name if embedder else 'none (cue-only)'}")

    dev = [i for i, d in enumerate(docs) if d.split == "dev"]
    heldout = [i for i, d in enumerate(docs) if d.split == "heldout"]
    threshold = taxonomy.calibration.threshold
    if args.fit:
        with_sim = embedder is not None
        coef = fit_coefficients(
            classifier, [docs[i] for i in dev], [features[i] for i in dev], use_similarity=with_sim
        )
        calibration = taxonomy.calibration
        best = max(
            (
                macro_f1(
                    score(
                        [docs[i] for i in dev],
                        [predict(_with(classifier, coef, with_sim), features[i], t) for i in dev],
                    )
                ),
                -abs(t - 0.5),
                t,
            )
            for t in np.round(np.arange(0.2, 0.91, 0.05), 2)
        )
        threshold = float(best[2])
        new = {
            "embedder": calibration.embedder if not with_sim else embedder.name,
            "threshold": threshold,
            "with_embedder": _coef_yaml(coef if with_sim else calibration.with_embedder, True),
            "cue_only": _coef_yaml(calibration.cue_only if with_sim else coef, False),
        }
        write_calibration(args.taxonomy, new)
        print(f"fitted on DEV: {coef}, threshold {threshold}; written to {args.taxonomy}")
        taxonomy = Taxonomy.load(args.taxonomy)
        classifier = CauseClassifier(taxonomy, embedder)
        threshold = taxonomy.calibration.threshold

    for name, subset in (("DEV", dev), ("HELD-OUT", heldout)):
        predictions = [predict(classifier, features[i], threshold) for i in subset]
        print_table(f"{name} split", score([docs[i] for i in subset], predictions), len(subset))
        if args.errors and name == "HELD-OUT":
            for i, predicted in zip(subset, predictions, strict=True):
                gold = docs[i].labels
                hit = {g for g in docs[i].covered if predicted & set(GROUPS[g])}
                if hit != set(gold):
                    print(f"  {docs[i].name}: gold {sorted(gold)} predicted {sorted(hit)}")
    print(f"\nthreshold {threshold}; {time.perf_counter() - started:.1f} s")
    return 0


def _with(
    classifier: CauseClassifier, coef: LogisticCoefficients, with_similarity: bool
) -> CauseClassifier:
    """A classifier sharing the embedder and cached prototypes but using ``coef``."""
    from dataclasses import replace

    calibration = classifier.taxonomy.calibration
    calibration = (
        replace(calibration, with_embedder=coef)
        if with_similarity
        else replace(calibration, cue_only=coef)
    )
    clone = CauseClassifier(
        replace(classifier.taxonomy, calibration=calibration), classifier.embedder
    )
    clone._prototypes = classifier._prototypes
    return clone


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the cause classifier against the corpora's own labels and against ours.

Scores document-level cause categories (the ``rollup`` of the labels of a document's cause
sentences) per category (precision, recall, F1) and as macro-F1, on two label sets:

* SOURCE LABELS: the categories the public corpora's sources assign (mapping below);
* OWN LABELS: our document labels for the 67 structured reports (``OWN_LABELS_TEXT``), which
  cover most cause categories.

Each set is split 60/40 into DEV (used by ``--fit`` for the calibration and threshold) and
HELD-OUT (never used for fitting or tuning) by a hash of the file name.

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
    .venv/bin/python benchmarks/taxonomy_eval.py --fit --no-embedder   # refit cue-only part
    (add --sentence-cache /tmp/causes.json to skip spaCy on reruns, --errors for DEV misses)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
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
# Our own document-level cause labels for the structured corpora (dfds, mybinder, posthog), made
# by reading each report's summary and contributing-factor / root-cause sections, before looking
# at the classifier's output for them. Only file names and category ids are stored here. Two
# reports whose cause fits no category clearly (dfds PM2022-003, PM2022-007) are left out.
# One line per report: file name (dfds: its PM number) and category ids.
# These labels cover most cause categories, unlike the source labels; they are never used for
# fitting.
OWN_LABELS_TEXT = """
dfds/PM2019-009                                      capacity monitoring_gap
dfds/PM2019-010                                      human_error capacity
dfds/PM2019-011                                      config_change human_error
dfds/PM2020-001                                      capacity code_defect
dfds/PM2020-002                                      cert_expiry monitoring_gap
dfds/PM2020-003                                      deploy_change config_change code_defect
dfds/PM2020-004                                      deploy_change network
dfds/PM2020-005                                      config_change network
dfds/PM2020-006                                      code_defect cert_expiry
dfds/PM2020-007                                      capacity
dfds/PM2020-008                                      config_change human_error
dfds/PM2020-009                                      deploy_change config_change monitoring_gap
dfds/PM2021-001                                      config_change deploy_change monitoring_gap
dfds/PM2021-002                                      deploy_change
dfds/PM2021-003                                      deploy_change
dfds/PM2021-004                                      cert_expiry monitoring_gap dependency_failure
dfds/PM2021-005                                      config_change network
dfds/PM2021-006                                      deploy_change network
dfds/PM2021-007                                      deploy_change network
dfds/PM2021-008                                      config_change deploy_change
dfds/PM2021-009                                      code_defect config_change
dfds/PM2021-010                                      config_change code_defect
dfds/PM2021-011                                      security
dfds/PM2022-001                                      capacity config_change
dfds/PM2022-002                                      config_change human_error
dfds/PM2022-004                                      monitoring_gap
dfds/PM2022-005                                      security
dfds/PM2022-006                                      code_defect monitoring_gap
dfds/PM2022-008                                      cert_expiry dependency_failure
dfds/PM2022-009                                      deploy_change dependency_failure
dfds/PM2023-001                                      config_change human_error
dfds/PM2023-002                                      deploy_change
dfds/PM2024-001                                      capacity
dfds/PM2024-002                                      deploy_change capacity
dfds/PM2024-003                                      config_change deploy_change
dfds/PM2025-001                                      capacity monitoring_gap
dfds/PM2025-002                                      config_change monitoring_gap
mybinder/2017-09-27-hub-403                          deploy_change code_defect
mybinder/2017-09-29-504                              code_defect
mybinder/2017-10-17-cluster-full                     capacity code_defect
mybinder/2017-11-30-oom-proxy                        capacity monitoring_gap
mybinder/2018-01-04-failed-staging-deploy            deploy_change human_error
mybinder/2018-01-17-ubuntu-upgrade                   dependency_failure
mybinder/2018-01-18-reddit-hug                       traffic_surge
mybinder/2018-01-18-ssl-outdated                     cert_expiry
mybinder/2018-02-12-launch-fail                      monitoring_gap
mybinder/2018-02-20-jupyterlab-announcement          traffic_surge deploy_change code_defect
mybinder/2018-02-22-nginx-down                       network
mybinder/2018-03-13-PVC-hub-locked                   datastore monitoring_gap
mybinder/2018-03-26-no-space-left                    capacity monitoring_gap
mybinder/2018-03-31-server-start-fail                network
mybinder/2018-04-18-cull-flood                       deploy_change code_defect
mybinder/2018-07-08-podsnips-aplenty                 code_defect capacity monitoring_gap
mybinder/2018-07-30-jupyterlab-build-cpu-saturate    capacity traffic_surge
mybinder/2019-02-20-no-logs                          dependency_failure
mybinder/2019-03-24-r2d-upgrade                      capacity
mybinder/2019-04-03-ingress-cordoned                 deploy_change monitoring_gap
mybinder/2020-07-09-simultaneous-launches-scipy      traffic_surge capacity
mybinder/2022-01-27-prime-version                    code_defect monitoring_gap
mybinder/2022-06-02-pod-limit                        dependency_failure monitoring_gap
posthog/2025-09-29-flags-is-down                     config_change retry_storm capacity
posthog/2025-10-03-surveys-sdk-bug                   code_defect deploy_change monitoring_gap
posthog/2025-10-21-feature-flags-recurring-outages   capacity retry_storm
posthog/2025-11-15-persons-db-migration              datastore capacity
posthog/2025-11-26-shai-hulud-attack                 security
posthog/2026-01-17-replay-sdk-fetch-wrapper-incident code_defect deploy_change
posthog/investigations-2024-02-28-decide-is-down     datastore retry_storm capacity
"""
ICCO_GROUPS = {g: GROUPS[g] for g in ICCO_MAP.values()}
DFDS_GROUPS = {g: GROUPS[g] for g in DFDS_MAP.values()}


@dataclass(frozen=True)
class LabelledDoc:
    name: str
    path: Path
    text: str
    labels: frozenset[str]  # scored labels the source assigns
    groups: dict[str, tuple[str, ...]]  # labels the source can speak for -> categories that count

    @property
    def covered(self) -> frozenset[str]:
        return frozenset(self.groups)

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
            docs.append(LabelledDoc(row["file"], path, text, labels, ICCO_GROUPS))
    for path in sorted((STRUCTURED / "dfds").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        found = re.findall(r"Category:\s*(.+?)\s*$", text, flags=re.M)
        labels = frozenset(DFDS_MAP[c] for c in found if c in DFDS_MAP)
        docs.append(LabelledDoc("dfds/" + path.name, path, text, labels, DFDS_GROUPS))
    return docs


def own_labels() -> dict[str, tuple[str, ...]]:
    """``OWN_LABELS_TEXT`` as {file path under STRUCTURED: category ids}."""
    labels = {}
    for line in OWN_LABELS_TEXT.strip().splitlines():
        key, *categories = line.split()
        (path,) = STRUCTURED.glob(key + "*.md") if "PM" in key else [STRUCTURED / (key + ".md")]
        labels[str(path.relative_to(STRUCTURED))] = tuple(categories)
    return labels


def load_own_labelled_docs(categories: Sequence[str]) -> list[LabelledDoc]:
    """The structured reports with our own labels; every cause category counts for each."""
    groups = {c: (c,) for c in categories}
    docs = []
    for name, labels in own_labels().items():
        path = STRUCTURED / name
        text = path.read_text(encoding="utf-8")
        docs.append(LabelledDoc(name, path, text, frozenset(labels), groups))
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


def cached_cause_sentences(
    docs: Sequence[LabelledDoc], method: str, cache: Path | None
) -> tuple[list[list[str]], str]:
    """``cause_sentences``, kept in a JSON file between runs when ``cache`` is given."""
    cached: dict = {"method": "", "sentences": {}}
    if cache and cache.exists():
        cached = json.loads(cache.read_text(encoding="utf-8"))
    missing = [d for d in docs if d.name not in cached["sentences"]]
    if missing:
        found, note = cause_sentences(missing, method)
        cached["sentences"].update({d.name: s for d, s in zip(missing, found, strict=True)})
        cached["method"] = note if not cached["method"] else cached["method"] + " | " + note
        if cache:
            cache.write_text(json.dumps(cached), encoding="utf-8")
    return [cached["sentences"][d.name] for d in docs], cached["method"]


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
    """Per scored label: counts over the documents whose source can speak for that label."""
    names = list(dict.fromkeys(g for doc in docs for g in doc.groups))
    counts = {g: [0, 0, 0, 0] for g in names}  # support, tp, fp, fn
    for doc, predicted in zip(docs, predictions, strict=True):
        for group, categories in doc.groups.items():
            gold = group in doc.labels
            hit = bool(predicted & set(categories))
            row = counts[group]
            row[0] += gold
            row[1] += gold and hit
            row[2] += hit and not gold
            row[3] += gold and not hit
    return [GroupScore(g, *counts[g]) for g in names]


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
            for group, categories in doc.groups.items():
                columns = [index[c] for c in categories]
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
        model = LogisticRegression(C=10.0, max_iter=1000)
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


def fit_offsets(
    coef: LogisticCoefficients,
    docs: Sequence[LabelledDoc],
    features: Sequence[CategoryFeatures],
    *,
    min_positives: int = 3,
    shrinkage: float = 2.0,
) -> dict[str, float]:
    """Per-category logit offsets on DEV documents, shrunk towards 0 (an L2 penalty).

    Uses the labels that map to exactly one category; a category needs ``min_positives`` DEV
    documents with it to get an offset.
    """
    from scipy.optimize import minimize_scalar

    categories = features[0].categories
    examples: dict[str, list[tuple[float, int]]] = {c.id: [] for c in categories}
    for doc, feats in zip(docs, features, strict=True):
        for group, mapped in doc.groups.items():
            if len(mapped) != 1:
                continue
            j = next(k for k, c in enumerate(categories) if c.id == mapped[0])
            if len(feats.cue):
                z = float(coef.logit(feats.cue[:, j], feats.sim[:, j], feats.margin[:, j]).max())
            else:
                z = coef.bias
            examples[mapped[0]].append((z, int(group in doc.labels)))
    offsets = {}
    for category_id, pairs in examples.items():
        if sum(y for _, y in pairs) < min_positives:
            continue
        z = np.array([p[0] for p in pairs])
        y = np.array([p[1] for p in pairs])

        def loss(b: float, z: np.ndarray = z, y: np.ndarray = y) -> float:
            logits = z + b
            return float(np.sum(np.logaddexp(0, logits) - y * logits) + shrinkage * b * b)

        offsets[category_id] = round(
            float(minimize_scalar(loss, bounds=(-5, 5), method="bounded").x), 3
        )
    return offsets


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
    parser.add_argument("--errors", action="store_true", help="list DEV misses (never held-out)")
    parser.add_argument(
        "--sentence-cache",
        type=Path,
        help="JSON file to keep the cause sentences in between runs (skips spaCy)",
    )
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
    categories = [c.id for c in taxonomy.axis("cause") if c.id != "unknown"]
    sets = {"SOURCE LABELS": load_docs(), "OWN LABELS": load_own_labelled_docs(categories)}
    docs = [d for subset in sets.values() for d in subset]
    sentences, method = cached_cause_sentences(docs, args.sentences, args.sentence_cache)
    features = dict(
        zip([d.name for d in docs], document_features(classifier, sentences), strict=True)
    )
    print(f"{len(docs)} labelled documents, {sum(map(len, sentences))} cause sentences")
    print(f"cause sentences: {method}")
    print(f"embedder: {embedder.name if embedder else 'none (cue-only)'}")

    def split(name: str, part: str) -> list[LabelledDoc]:
        return [d for d in sets[name] if d.split == part]

    threshold = taxonomy.calibration.threshold
    if args.fit:
        classifier, threshold = fit_and_save(classifier, sets, features, args.taxonomy)

    for name in sets:
        for part in ("dev", "heldout"):
            subset = split(name, part)
            predictions = [predict(classifier, features[d.name], threshold) for d in subset]
            scores = [s for s in score(subset, predictions) if s.support]
            print_table(f"{name}, {part.upper()} split", scores, len(subset))
            if args.errors and part == "dev":
                for doc, predicted in zip(subset, predictions, strict=True):
                    hit = {g for g, cats in doc.groups.items() if predicted & set(cats)}
                    if hit != set(doc.labels):
                        print(f"  {doc.name}: gold {sorted(doc.labels)} predicted {sorted(hit)}")
    print(f"\nthreshold {threshold}; {time.perf_counter() - started:.1f} s")
    return 0


def fit_and_save(
    classifier: CauseClassifier,
    sets: dict[str, list[LabelledDoc]],
    features: dict[str, CategoryFeatures],
    path: Path,
) -> tuple[CauseClassifier, float]:
    """Fit the calibration and threshold on the DEV documents of every set; write them to ``path``.

    With an embedder: the shared coefficients, per-category offsets and the threshold (which
    maximises the mean over sets of DEV macro-F1; ties go to the one nearest 0.5). Without one
    (``--no-embedder``): only the cue-only coefficients, for the threshold already in the file.
    """
    dev = {name: [d for d in docs if d.split == "dev"] for name, docs in sets.items()}
    dev_docs = [d for docs in dev.values() for d in docs]
    with_sim = classifier.embedder is not None
    coef = fit_coefficients(
        classifier, dev_docs, [features[d.name] for d in dev_docs], use_similarity=with_sim
    )
    offsets = {}
    if with_sim:
        offsets = fit_offsets(coef, dev_docs, [features[d.name] for d in dev_docs])
    candidate = _with(classifier, coef, with_sim, offsets)

    def dev_macro(threshold: float) -> float:
        per_set = [
            macro_f1(score(docs, [predict(candidate, features[d.name], threshold) for d in docs]))
            for docs in dev.values()
        ]
        return sum(per_set) / len(per_set)

    calibration = classifier.taxonomy.calibration
    threshold = calibration.threshold
    if with_sim:  # the cue-only fit keeps the threshold and offsets of the embedder fit
        grid = [float(t) for t in np.round(np.arange(0.2, 0.91, 0.05), 2)]
        threshold = max(grid, key=lambda t: (round(dev_macro(t), 4), -abs(t - 0.5)))
    else:
        offsets = dict(calibration.offsets)
    new = {
        "embedder": classifier.embedder.name if with_sim else calibration.embedder,
        "threshold": threshold,
        "with_embedder": _coef_yaml(coef if with_sim else calibration.with_embedder, True),
        "cue_only": _coef_yaml(calibration.cue_only if with_sim else coef, False),
        "offsets": "{" + ", ".join(f"{k}: {v}" for k, v in offsets.items()) + "}",
    }
    write_calibration(path, new)
    print(f"fitted on {len(dev_docs)} DEV documents: {coef}, threshold {threshold}; wrote {path}")
    print(f"per-category offsets: {offsets}")
    return CauseClassifier(Taxonomy.load(path), classifier.embedder), threshold


def _with(
    classifier: CauseClassifier,
    coef: LogisticCoefficients,
    with_similarity: bool,
    offsets: dict[str, float] | None = None,
) -> CauseClassifier:
    """A classifier sharing the embedder and cached prototypes but using ``coef``."""
    from dataclasses import replace

    calibration = classifier.taxonomy.calibration
    calibration = (
        replace(calibration, with_embedder=coef, offsets=tuple((offsets or {}).items()))
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

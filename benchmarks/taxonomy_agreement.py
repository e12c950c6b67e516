"""Benchmark: how attainable is a cause-category macro-F1 of 0.80? (issue 4; measurement only)

Two measurements of the labels the cause classifier is scored against:

* AGREEMENT (the default): a second reader ("rater2") labelled 30 DEV reports of the OWN
  LABELS set blind (``benchmarks/eval/cause_labels_rater2.txt``). Printed: per category
  precision / recall / F1 of rater2 with rater1 (``cause_labels.txt``) as gold, macro-F1 over
  the categories with support (F1 pooled per label is symmetric, so this is also rater1
  against rater2 up to which categories have support), Cohen's kappa per category, and the
  classifier's roll-up macro-F1 on the same 30 reports against each rater.
* SOURCE CEILING (``--source-ceiling``): icco's tags are regular expressions run over the
  *original* web page (icco/postmortems ``tool/categorize.go``, the ``categoryPatterns`` map;
  commits 0ad49720 and 3f0f7a70 have the same patterns) and merged into tags that were there
  before, while the corpus text is an LLM rewrite. For each scored icco tag, on the DEV and
  HELD-OUT icco reports of the source-label set: how many reports with the tag still match one
  of its patterns in the rewritten text, how many without it do, and the macro-F1 of "regex
  replay" (predict the tag when its own patterns match). Then, on icco DEV only, our first
  reader's cause labels scored against the tags. Counts only; no text is printed.

The 30 reports: the DEV reports of OWN LABELS (hash split of ``taxonomy_eval``; not the
heldout2 block, not HELD-OUT), first 30 in the order of sha256("rater2:" + key), key as
written in ``cause_labels.txt``. ``--choose`` prints only their keys (never the labels).

    .venv/bin/python benchmarks/taxonomy_agreement.py --choose          # the 30 keys only
    .venv/bin/python benchmarks/taxonomy_agreement.py --no-classifier   # rater agreement only
    .venv/bin/python benchmarks/taxonomy_agreement.py --sentence-cache /tmp/causes.json
    .venv/bin/python benchmarks/taxonomy_agreement.py --source-ceiling --no-classifier
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import taxonomy_eval as te  # noqa: E402

RATER2_PATH = Path(__file__).parent / "eval" / "cause_labels_rater2.txt"
SAMPLE_SIZE = 30
SAMPLE_SALT = "rater2:"

# icco/postmortems tool/categorize.go (commit 0ad49720), ``categoryPatterns`` for the four
# scored tags, rewritten as Python regular expressions (Go's (?i) -> re.I; same word
# boundaries). The tool matches them against the body of the postmortem's source URL and
# adds every matching tag the file does not already have.
ICCO_PATTERNS: dict[str, tuple[str, ...]] = {
    "cascading-failure": (r"\bcascad(e|ing)\b", r"\bdomino\b", r"\bthundering herd\b"),
    "config-change": (
        r"\bconfig(uration)? change\b",
        r"\bbad config\b",
        r"\bmisconfigur(ation|ed)\b",
        r"\bdeploy(ment)?\b",
        r"\brollout\b",
    ),
    "hardware": (
        r"\bhardware (failure|fault|issue)\b",
        r"\bdisk (failure|fault|fail)\b",
        r"\bssd (failure|fault)\b",
        r"\bnetwork card\b",
        r"\brouter (failure|fault)\b",
        r"\bpower (failure|outage|loss)\b",
        r"\bdata ?cent(re|er) (failure|outage)\b",
    ),
    "security": (
        r"\bsecurity (incident|breach|advisory)\b",
        r"\bvulnerab(le|ility)\b",
        r"\bexploit(ed|ation)?\b",
        r"\bbreach\b",
        r"\bleaked? credential\b",
        r"\bcve-\d{4}-\d+",
    ),
}


def label_keys(path: Path = te.OWN_LABELS_PATH) -> dict[str, str]:
    """{key as written in the label file: document name as ``taxonomy_eval`` splits it}.

    Reads only the first field of each label line (the labels are not looked at).
    """
    raw = [
        line.split()[0]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    resolved = list(te._own_label_lines(path))
    return dict(zip(raw, resolved, strict=True))


def sample_keys(
    keys: Mapping[str, str],
    splits: Mapping[str, str],
    n: int = SAMPLE_SIZE,
    salt: str = SAMPLE_SALT,
) -> list[str]:
    """The first ``n`` DEV keys in the order of sha256(salt + key).

    ``keys`` maps a label-file key to its document name; ``splits`` gives the fixed split of
    the names that have one (those are never DEV); the others split by ``LabelledDoc.split``.
    """

    def split(name: str) -> str:
        return te.LabelledDoc(name, Path(name), "", frozenset(), {}, splits.get(name)).split

    dev = [key for key, name in keys.items() if split(name) == "dev"]
    return sorted(dev, key=lambda k: hashlib.sha256((salt + k).encode()).hexdigest())[:n]


@dataclass(frozen=True)
class Agreement:
    """One category: counts of (rater1, rater2) over the shared reports, F1 and kappa."""

    category: str
    both: int  # both raters gave it
    only1: int  # rater1 only (a miss of rater2 against rater1)
    only2: int  # rater2 only
    neither: int

    @property
    def support(self) -> int:
        return self.both + self.only1

    @property
    def precision(self) -> float:
        return self.both / (self.both + self.only2) if self.both + self.only2 else 0.0

    @property
    def recall(self) -> float:
        return self.both / (self.both + self.only1) if self.both + self.only1 else 0.0

    @property
    def f1(self) -> float:
        denominator = 2 * self.both + self.only1 + self.only2
        return 2 * self.both / denominator if denominator else 0.0

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa of the two raters' yes/no on this category (None if undefined)."""
        n = self.both + self.only1 + self.only2 + self.neither
        observed = (self.both + self.neither) / n
        yes1, yes2 = (self.both + self.only1) / n, (self.both + self.only2) / n
        expected = yes1 * yes2 + (1 - yes1) * (1 - yes2)
        return None if expected == 1 else (observed - expected) / (1 - expected)


def agreement(
    gold: Mapping[str, Sequence[str]],
    other: Mapping[str, Sequence[str]],
    categories: Sequence[str],
) -> list[Agreement]:
    """Per category, over the documents both label sets hold, ``gold`` as rater1."""
    names = [n for n in gold if n in other]
    rows = []
    for c in categories:
        a = [c in gold[n] for n in names]
        b = [c in other[n] for n in names]
        rows.append(
            Agreement(
                c,
                sum(x and y for x, y in zip(a, b, strict=True)),
                sum(x and not y for x, y in zip(a, b, strict=True)),
                sum(y and not x for x, y in zip(a, b, strict=True)),
                sum(not x and not y for x, y in zip(a, b, strict=True)),
            )
        )
    return rows


def macro(rows: Sequence[Agreement], min_support: int = 1) -> float:
    """Mean F1 over the categories with at least ``min_support`` gold positives."""
    scored = [r for r in rows if r.support >= min_support]
    return sum(r.f1 for r in scored) / len(scored) if scored else 0.0


def pooled_f1(rows: Sequence[Agreement]) -> float:
    """Micro F1 over all (document, category) pairs: symmetric in the two raters."""
    both = sum(r.both for r in rows)
    disagree = sum(r.only1 + r.only2 for r in rows)
    return 2 * both / (2 * both + disagree) if both or disagree else 0.0


def bootstrap_macro(
    gold: Mapping[str, Sequence[str]],
    other: Mapping[str, Sequence[str]],
    categories: Sequence[str],
    rounds: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """A 95% percentile interval of ``macro`` over documents resampled with replacement."""
    import numpy as np

    names = [n for n in gold if n in other]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        picked = [names[i] for i in rng.integers(0, len(names), len(names))]
        keys = [f"{i}:{n}" for i, n in enumerate(picked)]
        a = {k: gold[n] for k, n in zip(keys, picked, strict=True)}
        b = {k: other[n] for k, n in zip(keys, picked, strict=True)}
        values.append(macro(agreement(a, b, categories)))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def replay_tags(text: str, patterns: Mapping[str, Sequence[str]] = ICCO_PATTERNS) -> set[str]:
    """The icco tags whose patterns match ``text`` (as ``matchCategories`` does)."""
    return {
        tag for tag, regexes in patterns.items() if any(re.search(p, text, re.I) for p in regexes)
    }


def print_agreement(rows: Sequence[Agreement], n_docs: int) -> None:
    """The per-category table (rater1 as gold) and the macro and pooled figures."""
    print(f"\nAGREEMENT, rater2 against rater1 ({n_docs} DEV reports)")
    print("| category | rater1 | rater2 | both | precision | recall | F1 | kappa |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        if not r.support and not r.only2:
            continue
        kappa = "n/a" if r.kappa is None else f"{r.kappa:.2f}"
        print(
            f"| {r.category} | {r.support} | {r.both + r.only2} | {r.both} | "
            f"{r.precision:.2f} | {r.recall:.2f} | {r.f1:.2f} | {kappa} |"
        )
    swapped = [Agreement(r.category, r.both, r.only2, r.only1, r.neither) for r in rows]
    kappas = [r.kappa for r in rows if (r.support or r.only2) and r.kappa is not None]
    used = [r for r in rows if r.support]
    label = f"**macro, rater1 as gold** ({len(used)} categories)"
    print(f"| {label} | | | | | | **{macro(rows):.3f}** | |")
    print(f"| macro, rater2 as gold | | | | | | {macro(swapped):.3f} | |")
    print(
        f"| macro, rater1 support >= {te.MIN_SUPPORT} | | | | | | "
        f"{macro(rows, te.MIN_SUPPORT):.3f} | |"
    )
    print(f"| pooled (micro) F1 | | | | | | {pooled_f1(rows):.3f} | |")
    print(
        f"| mean kappa ({len(kappas)} categories) | | | | | | | {sum(kappas) / len(kappas):.2f} |"
    )


def classify(
    docs: Sequence[te.LabelledDoc], sentence_cache: Path | None
) -> tuple[list[frozenset[str]], list[frozenset[str]], str]:
    """The shipped classifier's roll-up and incident-level categories for ``docs``."""
    import numpy as np

    from ingest.embed import load_embedder
    from ingest.taxonomy import CauseClassifier, Taxonomy

    taxonomy = Taxonomy.load(te.DEFAULT_TAXONOMY_PATH)
    embedder = load_embedder()
    classifier = CauseClassifier(taxonomy, embedder)
    sentences, contexts, method = te.cached_cause_sentences(docs, "extract", sentence_cache)
    vectors = np.asarray(embedder.encode([s for doc in sentences for s in doc]), dtype=np.float32)
    features = te.document_features(classifier, sentences, vectors)
    context_features = te.document_features(classifier, contexts)
    threshold = taxonomy.calibration.label_threshold("cause")
    cutoff = taxonomy.calibration.incident_cutoff
    rolled = [te.predict(classifier, f, threshold) for f in features]
    incident = [
        te.predict_incident(classifier, f, c, cutoff)
        for f, c in zip(features, context_features, strict=True)
    ]
    return rolled, incident, f"{method}; embedder {embedder.name}"


def classifier_scores(
    names: Sequence[str],
    raters: Mapping[str, Mapping[str, Sequence[str]]],
    categories: Sequence[str],
    sentence_cache: Path | None,
) -> None:
    """The classifier's roll-up (and incident-level) macro-F1 on ``names`` against each rater."""
    groups = {c: (c,) for c in categories}
    base = [
        te.LabelledDoc(
            n, te._own_path(n), te._own_path(n).read_text(encoding="utf-8"), frozenset(), groups
        )
        for n in names
    ]
    rolled, incident, note = classify(base, sentence_cache)
    print(f"\nCLASSIFIER on the same {len(names)} reports ({note})")
    print("| gold | roll-up macro-F1 | incident-level macro-F1 | categories with support |")
    print("| --- | ---: | ---: | ---: |")
    for rater, labels in raters.items():
        docs = [replace_labels(d, labels[d.name]) for d in base]
        scores = te.score(docs, rolled)
        print(
            f"| {rater} | {te.macro_f1(scores):.3f} | "
            f"{te.macro_f1(te.score(docs, incident)):.3f} | "
            f"{sum(1 for s in scores if s.support)} |"
        )


def replace_labels(doc: te.LabelledDoc, labels: Sequence[str]) -> te.LabelledDoc:
    from dataclasses import replace

    return replace(doc, labels=frozenset(labels))


def source_ceiling() -> None:
    """Regex replay of icco's own tag patterns on the rewritten texts (counts only)."""
    docs = [d for d in te.withhold_heldout2(te.load_docs(te.AUDITED)) if d.name.startswith("icco-")]
    tag_of = {group: tag for tag, group in te.AUDITED.icco.items()}
    for part in ("dev", "heldout"):
        subset = [d for d in docs if d.split == part]
        replayed = [replay_tags(d.text) for d in subset]
        print(f"\nSOURCE CEILING, icco {part.upper()} ({len(subset)} reports with a source tag)")
        print("| tag | with tag | ... pattern in rewrite | without tag | ... pattern in rewrite |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for group, tag in tag_of.items():
            pos = [tag in r for d, r in zip(subset, replayed, strict=True) if group in d.labels]
            neg = [tag in r for d, r in zip(subset, replayed, strict=True) if group not in d.labels]
            print(f"| {tag} | {len(pos)} | {sum(pos)} | {len(neg)} | {sum(neg)} |")
        predicted = [
            frozenset(c for tag in r for c in te.GROUPS[te.AUDITED.icco[tag]]) for r in replayed
        ]
        te.print_table(
            f"Regex replay (the tags' own patterns on the rewritten text), icco {part.upper()}",
            [s for s in te.score(subset, predicted) if s.support],
            len(subset),
        )


def reader_vs_source(sentence_cache: Path | None, with_classifier: bool) -> None:
    """Our first reader's cause labels scored as a classifier against icco's tags (DEV only).

    On the icco reports that carry a source tag and are in our own labels, outside heldout2;
    both sets split by the same hash of the name, so these are DEV in both.
    """
    own = te.own_labels()
    fixed = te.fixed_splits()
    docs = [
        d
        for d in te.withhold_heldout2(te.load_docs(te.AUDITED))
        if d.name.startswith("icco-") and d.split == "dev" and d.name in own and d.name not in fixed
    ]
    predicted = [frozenset(own[d.name]) for d in docs]
    te.print_table(
        "Careful reader (rater1's cause labels) against icco's tags, icco DEV",
        [s for s in te.score(docs, predicted) if s.support],
        len(docs),
    )
    replayed = [
        frozenset(c for tag in replay_tags(d.text) for c in te.GROUPS[te.AUDITED.icco[tag]])
        for d in docs
    ]
    print(
        f"regex replay on the same {len(docs)} reports: macro-F1 "
        f"{te.macro_f1(te.score(docs, replayed)):.3f}"
    )
    if with_classifier:
        rolled, incident, _ = classify(docs, sentence_cache)
        print(
            f"shipped classifier on the same {len(docs)} reports: macro-F1 roll-up "
            f"{te.macro_f1(te.score(docs, rolled)):.3f}, incident level "
            f"{te.macro_f1(te.score(docs, incident)):.3f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--choose", action="store_true", help="print the 30 keys and stop")
    parser.add_argument(
        "--no-classifier", action="store_true", help="skip the classifier (no spaCy, no embedder)"
    )
    parser.add_argument(
        "--source-ceiling", action="store_true", help="also replay icco's tag patterns"
    )
    parser.add_argument(
        "--sentence-cache",
        type=Path,
        help="JSON file of cause sentences shared with taxonomy_eval.py (skips spaCy)",
    )
    args = parser.parse_args(argv)
    if args.choose:
        for key in sample_keys(label_keys(), te.fixed_splits()):
            print(key)
        return 0
    from ingest.taxonomy import Taxonomy

    categories = [
        c.id for c in Taxonomy.load(te.DEFAULT_TAXONOMY_PATH).axis("cause") if c.id != "unknown"
    ]
    rater2 = te.own_labels(RATER2_PATH)
    rater1 = {n: labels for n, labels in te.own_labels().items() if n in rater2}
    if set(rater1) != set(rater2):
        raise SystemExit(f"not in cause_labels.txt: {sorted(set(rater2) - set(rater1))}")
    print_agreement(agreement(rater1, rater2, categories), len(rater2))
    low, high = bootstrap_macro(rater1, rater2, categories)
    same = sum(1 for n in rater2 if set(rater1[n]) == set(rater2[n]))
    print(
        f"\nmacro-F1 (rater1 as gold), 95% bootstrap interval over reports: {low:.3f}-{high:.3f}; "
        f"identical label sets: {same} of {len(rater2)}; labels given: rater1 "
        f"{sum(map(len, rater1.values()))}, rater2 {sum(map(len, rater2.values()))}"
    )
    if not args.no_classifier:
        names = list(rater2)
        raters = {"rater1": rater1, "rater2": rater2}
        classifier_scores(names, raters, categories, args.sentence_cache)
    if args.source_ceiling:
        source_ceiling()
        reader_vs_source(args.sentence_cache, not args.no_classifier)
    return 0


if __name__ == "__main__":
    sys.exit(main())

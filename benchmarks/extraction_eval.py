"""Extraction quality on the gold set: causes, timeline, actions, impacts, title, org, date.

Runs the real pipeline (read -> sections -> spaCy -> extract) over every document labelled in
``tests/gold/labels/`` and prints precision / recall / F1 per field, separately for the ``dev``,
``heldout``, ``heldout3`` and ``val`` splits, in two modes:

* ``as-written``: the documents as they are;
* ``no-headings``: every section heading line is deleted before ingest, so the sentences alone
  must carry the structure. Two exceptions: the document's title (a level-1 heading before any
  other text) stays, and a heading that starts with a time or a day ("### 4:27", "### 07:35 -
  Note pending pods", "### 2018-01-15") loses only its ``#`` marks and stays as a plain line,
  because there the heading *is* the event's time.

Matching rule (documented in benchmarks/RESULTS.md): a predicted item matches a gold item when
their character spans overlap by at least half of the shorter span. Precision is the share of
predicted items that match some gold item, recall the share of gold items matched by some
prediction (so a gold list item split into two predicted sentences is not punished twice).
"timeline+time" additionally needs the predicted ISO time to equal the gold one (compared to the
minute, "+00:00" == "Z"; a gold time of "" accepts any). Action status accuracy is measured on the
gold actions that were matched (status of the best-overlapping prediction). Title, organisation
and date are accuracies over the documents where they are labelled; a date is right when it is the
gold date or lies inside the gold ``date_range``.

Sources: the folders of ``tests/gold/labels/`` (seeds, dfds, mybinder, posthog, wikitech) and
``icco``: offset-only labels in ``benchmarks/eval/icco_gold/`` of GPL-3.0 prose reports that are
never copied into this repository; their text is read from the corpus root (``$PMKB_CORPORA``,
else ``/work/shared/corpora``) and checked against the recorded SHA-256. Without ``--sources``
every source is scored, ``icco`` only when the corpus is present (a printed line says which).

Splits: ``dev`` is tuned on; ``heldout``, ``heldout3`` and ``val`` are not. ``heldout3`` is the
blind split of 2026-12-07 (tests/gold/README.md), scored once; ``val`` is the blind validation
split of the same day: its aggregates may be printed as often as needed to accept or reject a
rule change, its errors never. Both are aggregates-only: their error examples are never printed,
whatever ``--errors-split`` says (``--errors-split all`` means ``dev`` and ``heldout``), and
``--split all`` prints their figures only when some document of them was loaded. ``--split``
defaults to ``dev``, so the other splits are scored only when asked for.

Usage:
    .venv/bin/python benchmarks/extraction_eval.py [--mode as-written|no-headings|both]
        [--split dev|heldout|heldout3|val|all] [--sources dfds,posthog,icco,...] [--errors N]
        [--errors-split dev|heldout|all] [--json out.json] [--rules-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIR = ROOT / "tests" / "gold" / "labels"
ICCO_DIR = ROOT / "benchmarks" / "eval" / "icco_gold"
DEFAULT_CORPORA = Path("/work/shared/corpora")
SPAN_FIELDS = ("causes", "timeline", "actions", "impacts")
TARGETS = {"causes": 0.85, "timeline+time": 0.90, "actions": 0.85, "action_status": 0.90}
SPLITS = ("dev", "heldout", "heldout3", "val")  # the values of a label's "split", in print order
BLIND_SPLITS = frozenset({"heldout3", "val"})  # aggregates only: error examples are never printed


# --- matching -------------------------------------------------------------------------------


def spans_match(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """True when two spans overlap by at least half of the shorter one.

    >>> spans_match((0, 10), (5, 30))
    True
    >>> spans_match((0, 10), (8, 30))
    False
    """
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    shorter = min(a[1] - a[0], b[1] - b[0])
    return shorter > 0 and overlap >= 0.5 * shorter


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})?(?:T(?P<hm>\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?P<zone>Z|[+-]\d{2}:\d{2})?)?$"
)


def canonical_iso(value: str) -> str:
    """ISO text reduced to date, hour:minute and zone ("+00:00" -> "Z") for comparison.

    >>> canonical_iso("2018-01-12T14:09:00+00:00")
    '2018-01-12T14:09Z'
    >>> canonical_iso("T14:09:00Z")
    'T14:09Z'
    """
    match = _ISO.match(value.strip())
    if not match:
        return value.strip()
    zone = match["zone"] or ""
    zone = "Z" if zone in ("+00:00", "-00:00") else zone
    clock = f"T{match['hm']}{zone}" if match["hm"] else ""
    return f"{match['date'] or ''}{clock}"


def _norm_text(value: str) -> str:
    value = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", value)  # [text](link) -> text
    value = re.sub(r"[*_`#]+", "", value)
    return re.sub(r"\s+", " ", value).strip().lower()


# --- scoring --------------------------------------------------------------------------------


@dataclass
class Counts:
    """Counts for one field, summed over documents."""

    pred: int = 0
    pred_ok: int = 0
    gold: int = 0
    gold_ok: int = 0

    def add(self, other: Counts) -> None:
        self.pred += other.pred
        self.pred_ok += other.pred_ok
        self.gold += other.gold
        self.gold_ok += other.gold_ok

    @property
    def precision(self) -> float:
        return self.pred_ok / self.pred if self.pred else 0.0

    @property
    def recall(self) -> float:
        return self.gold_ok / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class DocScore:
    """Counts and error examples for one document."""

    doc: str
    split: str
    counts: dict[str, Counts] = field(default_factory=dict)
    accuracy: dict[str, tuple[int, int]] = field(default_factory=dict)  # field -> (right, total)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (field, kind, detail)


def _pred_spans(items: Sequence[Any]) -> list[tuple[int, int]]:
    return [(item.start, item.end) for item in items]


def _gold_spans(items: Sequence[dict[str, Any]], text: str) -> list[tuple[int, int]]:
    return [(item["start"], item["start"] + len(item["text"])) for item in items]


def score_spans(
    pred: list[tuple[int, int]], gold: list[tuple[int, int]]
) -> tuple[Counts, list[int], list[int | None]]:
    """Counts, indexes of unmatched predictions, and for each gold item its best prediction."""
    counts = Counts(pred=len(pred), gold=len(gold))
    unmatched = []
    for i, p in enumerate(pred):
        if any(spans_match(p, g) for g in gold):
            counts.pred_ok += 1
        else:
            unmatched.append(i)
    best: list[int | None] = []
    for g in gold:
        hits = [(overlap(p, g), i) for i, p in enumerate(pred) if spans_match(p, g)]
        best.append(max(hits)[1] if hits else None)
        if hits:
            counts.gold_ok += 1
    return counts, unmatched, best


def _iso_ok(pred_iso: str, gold_iso: str) -> bool:
    return not gold_iso or canonical_iso(pred_iso) == canonical_iso(gold_iso)


def score_document(gold: dict[str, Any], analysis: Any, text: str) -> DocScore:
    """Score one Analysis (or anything with the same attributes) against one gold record."""
    result = DocScore(doc=gold["doc"], split=gold["split"])
    labelled = set(gold["labelled"])
    for name in SPAN_FIELDS:
        if name not in labelled:
            continue
        pred_items = list(getattr(analysis, name))
        pred = _pred_spans(pred_items)
        gold_items = gold[name]
        golds = _gold_spans(gold_items, text)
        counts, unmatched, best = score_spans(pred, golds)
        result.counts[name] = counts
        for i in unmatched:
            result.errors.append((name, "FP", pred_items[i].text[:160]))
        for g, b in zip(gold_items, best, strict=True):
            if b is None:
                result.errors.append((name, "FN", g["text"][:160]))
        if name == "timeline":
            timed = Counts(pred=len(pred), gold=len(golds))
            for i, p in enumerate(pred):
                ok = any(
                    spans_match(p, gs) and _iso_ok(pred_items[i].iso, g["iso"])
                    for gs, g in zip(golds, gold_items, strict=True)
                )
                timed.pred_ok += ok
            for g, b in zip(gold_items, best, strict=True):
                if b is None:
                    continue
                if _iso_ok(pred_items[b].iso, g["iso"]):
                    timed.gold_ok += 1
                else:
                    detail = f"{pred_items[b].iso or '(none)'} != {g['iso']}: {g['text'][:100]}"
                    result.errors.append(("timeline+time", "wrong time", detail))
            result.counts["timeline+time"] = timed
        if name == "actions":
            right = total = 0
            for g, b in zip(gold_items, best, strict=True):
                if b is None:
                    continue
                total += 1
                if pred_items[b].status == g["status"]:
                    right += 1
                else:
                    detail = f"{pred_items[b].status} != {g['status']}: {g['text'][:100]}"
                    result.errors.append(("action_status", "wrong status", detail))
            result.accuracy["action_status"] = (right, total)
    if "title" in labelled:
        wanted = {_norm_text(t) for t in [gold["title"], *gold.get("title_alternatives", [])]}
        ok = _norm_text(analysis.title) in wanted
        result.accuracy["title"] = (int(ok), 1)
        if not ok:
            result.errors.append(("title", "wrong", f"{analysis.title!r} != {gold['title']!r}"))
    if "organization" in labelled:
        ok = _norm_text(analysis.organization) in {_norm_text(o) for o in gold["organization"]}
        result.accuracy["organization"] = (int(ok), 1)
        if not ok:
            detail = f"{analysis.organization!r} not in {gold['organization']}"
            result.errors.append(("organization", "wrong", detail))
    if "date" in labelled:
        pred_date = analysis.date or ""
        low, high = gold.get("date_range") or [gold["date"], gold["date"]]
        ok = pred_date == gold["date"] or (
            bool(low) and len(pred_date) == 10 and low <= pred_date <= high
        )
        result.accuracy["date"] = (int(ok), 1)
        if not ok:
            result.errors.append(
                ("date", "wrong", f"{pred_date!r} != {gold['date']!r} {low}..{high}")
            )
    return result


@dataclass
class Summary:
    counts: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    accuracy: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    docs: int = 0

    def add(self, doc: DocScore) -> None:
        self.docs += 1
        for name, counts in doc.counts.items():
            self.counts[name].add(counts)
        for name, (right, total) in doc.accuracy.items():
            self.accuracy[name][0] += right
            self.accuracy[name][1] += total


def summarize(scores: Iterable[DocScore]) -> Summary:
    summary = Summary()
    for doc in scores:
        summary.add(doc)
    return summary


def format_summary(title: str, summary: Summary) -> str:
    lines = [f"## {title} ({summary.docs} documents)", ""]
    lines.append("| field | P | R | F1 | pred | gold | target |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in ("causes", "timeline", "timeline+time", "actions", "impacts"):
        if name not in summary.counts:
            continue
        c = summary.counts[name]
        target = TARGETS.get(name)
        flag = "" if target is None else (f"F1>={target} " + ("ok" if c.f1 >= target else "SHORT"))
        lines.append(
            f"| {name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {c.pred} | {c.gold} "
            f"| {flag} |"
        )
    lines.append("")
    lines.append("| accuracy | right / total | value | target |")
    lines.append("| --- | ---: | ---: | --- |")
    for name in ("action_status", "title", "organization", "date"):
        if name not in summary.accuracy:
            continue
        right, total = summary.accuracy[name]
        value = right / total if total else 0.0
        target = TARGETS.get(name)
        flag = "" if target is None else (f">={target} " + ("ok" if value >= target else "SHORT"))
        lines.append(f"| {name} | {right} / {total} | {value:.3f} | {flag} |")
    return "\n".join(lines)


# --- documents --------------------------------------------------------------------------------


def shows_errors(errors_split: str, doc_split: str) -> bool:
    """True when ``--errors-split errors_split`` may print the error examples of a document of
    ``doc_split``: never for a blind split (``heldout3``, ``val``), ``all`` meaning every other
    split.

    >>> shows_errors("all", "heldout"), shows_errors("all", "val"), shows_errors("dev", "dev")
    (True, False, True)
    """
    if doc_split in BLIND_SPLITS:
        return False
    return errors_split in ("all", doc_split)


def splits_to_print(split: str, golds: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The splits whose figures are printed: the one asked for, or for ``all`` every split in
    ``SPLITS`` order (a blind split only when some document of it was loaded)."""
    if split != "all":
        return (split,)
    present = {gold["split"] for gold in golds}
    return tuple(s for s in SPLITS if s not in BLIND_SPLITS or s in present)


def load_gold(split: str = "all", sources: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every gold label file (sorted), optionally only one split and only some sources (the
    folders of ``labels/``: seeds, dfds, mybinder, posthog, wikitech)."""
    golds = []
    for path in sorted(GOLD_DIR.glob("*/*.json")):
        if sources and path.parent.name not in sources:
            continue
        gold = json.loads(path.read_text(encoding="utf-8"))
        if split in ("all", gold["split"]):
            golds.append(gold)
    return golds


def corpora_root() -> Path:
    """Where the shared corpora live: ``$PMKB_CORPORA``, else ``/work/shared/corpora``."""
    return Path(os.environ.get("PMKB_CORPORA") or DEFAULT_CORPORA)


def icco_available(root: Path | None = None) -> bool:
    """True when every document named by an icco label file is present under the corpus root."""
    root = corpora_root() if root is None else root
    paths = sorted(ICCO_DIR.glob("*.json"))
    return bool(paths) and all(
        (root / json.loads(p.read_text(encoding="utf-8"))["doc"]).is_file() for p in paths
    )


def load_icco(split: str = "all", root: Path | None = None) -> list[dict[str, Any]]:
    """The icco labels as gold records like those of ``load_gold``.

    The label files hold offsets only (the texts are GPL-3.0 and stay in the corpus): each
    file's text is read from the corpus root, its SHA-256 checked, every item's ``text`` filled
    in from its offsets, ``doc`` set to the absolute path, and the unlabelled span fields set
    to empty lists.
    """
    root = corpora_root() if root is None else root
    golds = []
    for path in sorted(ICCO_DIR.glob("*.json")):
        label = json.loads(path.read_text(encoding="utf-8"))
        if split not in ("all", label["split"]):
            continue
        doc = (root / label["doc"]).resolve()
        data = doc.read_bytes()
        if hashlib.sha256(data).hexdigest() != label["sha256"]:
            raise SystemExit(f"icco label {path.name}: {doc} has changed (sha256 differs)")
        text = data.decode("utf-8")
        gold = {**label, "doc": str(doc)}
        for name in SPAN_FIELDS:
            gold[name] = [
                {**item, "text": text[item["start"] : item["end"]]} for item in label.get(name, [])
            ]
        golds.append(gold)
    return golds


def _starts_with_time(title: str) -> bool:
    from ingest.extract.timeline import find_time_expressions

    found = find_time_expressions(title)
    return bool(found) and found[0].start <= 1 and (found[0].has_clock or found[0].day is not None)


def heading_cuts(text: str, sections: Sequence[Any]) -> list[tuple[int, int]]:
    """Ranges to delete so that the section headings disappear (time headings keep their text)."""
    cuts = []
    headed = [s for s in sections if s.level > 0 and s.heading_start >= 0]
    for section in headed:
        if section is headed[0] and section.level == 1 and not text[: section.start].strip():
            continue  # the document's title, not a section heading

        line_start = text.rfind("\n", 0, section.heading_start) + 1
        line_end = text.find("\n", section.heading_end)
        line_end = len(text) if line_end < 0 else line_end
        underline = re.match(r"\n[ \t]*(=+|-+)[ \t]*(?=\n|$)", text[line_end:])
        if _starts_with_time(section.title):
            cuts.append((line_start, section.heading_start))  # keep "4:27" as a plain line
            continue
        end = line_end + (len(underline.group(0)) if underline else 0)
        if end < len(text) and text[end] == "\n":
            end += 1
        cuts.append((line_start, end))
    return sorted(set(cuts))


def apply_cuts(text: str, cuts: list[tuple[int, int]]) -> tuple[str, Any]:
    """The text without the cut ranges, and a function mapping old offsets to new ones."""
    pieces, removed, pos = [], [], 0
    for start, end in cuts:
        if start < pos:
            start = pos
        if end <= start:
            continue
        pieces.append(text[pos:start])
        removed.append((start, end))
        pos = end
    pieces.append(text[pos:])

    def shift(offset: int) -> int:
        moved = 0
        for start, end in removed:
            if offset >= end:
                moved += end - start
            elif offset > start:
                moved += offset - start
        return offset - moved

    return "".join(pieces), shift


def _shift_gold(gold: dict[str, Any], shift: Any, text: str) -> dict[str, Any]:
    moved = dict(gold)
    for name in SPAN_FIELDS:
        items = []
        for item in gold[name]:
            start, end = shift(item["start"]), shift(item["start"] + len(item["text"]))
            items.append({**item, "start": start, "text": text[start:end]})
        moved[name] = items
    return moved


def prepare(golds: list[dict[str, Any]], mode: str) -> list[tuple[dict[str, Any], Any, Any]]:
    """(gold, Document, sections) per gold record, headings removed in no-headings mode."""
    from ingest.read import read_document
    from ingest.records import Document
    from ingest.sections import split_sections

    prepared = []
    for gold in golds:
        document: Document = read_document(str(ROOT / gold["doc"]))
        sections = split_sections(document)
        for name in SPAN_FIELDS:
            for item in gold[name]:
                start = item["start"]
                if document.text[start : start + len(item["text"])] != item["text"]:
                    raise SystemExit(f"gold span not found in read text: {gold['doc']}")
        if mode == "no-headings":
            text, shift = apply_cuts(document.text, heading_cuts(document.text, sections))
            document = replace(document, text=text)
            sections = split_sections(document)
            gold = _shift_gold(gold, shift, text)
        prepared.append((gold, document, sections))
    return prepared


def run(mode: str, golds: list[dict[str, Any]], nlp: Any) -> list[DocScore]:
    from ingest.extract import analyze_many

    prepared = prepare(golds, mode)
    analyses = analyze_many(((doc, sections) for _, doc, sections in prepared), nlp)
    return [
        score_document(gold, analysis, doc.text)
        for (gold, doc, _), analysis in zip(prepared, analyses, strict=True)
    ]


def use_rules_only() -> None:
    """Turn off the learned additions (``ingest/extract/learned.py``) in this process: the
    analyses then hold the cue rules' causes and actions alone (``--rules-only``)."""
    import ingest.extract as extract

    extract.revise = lambda text, views, causes, actions: (tuple(causes), tuple(actions))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("as-written", "no-headings", "both"), default="both")
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "all"),
        default="dev",
        help="which labels to score (default dev: the held-out splits only when asked for)",
    )
    parser.add_argument("--errors", type=int, default=0, help="print N error examples per field")
    parser.add_argument(
        "--errors-split",
        choices=("dev", "heldout", "all"),
        default="dev",
        help="whose errors to print (dev by default: never tune on heldout; heldout3 and val "
        "errors are never printed)",
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument(
        "--sources",
        default="",
        help="comma-separated label folders to score (default: all), e.g. dfds,posthog",
    )
    parser.add_argument(
        "--rules-only",
        action="store_true",
        help="score the cue rules alone, without the learned additions of "
        "ingest/extract/learned.py (trained on the dev split, so dev figures with it are "
        "in-sample; benchmarks/train_roles.py prints their cross-validated figure)",
    )
    args = parser.parse_args(argv)

    from ingest.nlp import load_nlp

    if args.rules_only:
        use_rules_only()

    started = time.perf_counter()
    sources = tuple(name.strip() for name in args.sources.split(",") if name.strip())
    golds = load_gold(args.split, sources)
    if "icco" in sources or not sources:
        root = corpora_root()
        if icco_available(root):
            icco = load_icco(args.split, root)
            golds += icco
            print(f"(icco: {len(icco)} offset-only labels, texts read from {root})")
        elif sources:
            raise SystemExit(f"icco: corpus not found under {root} (set PMKB_CORPORA)")
        else:
            print(f"(icco: skipped, corpus not found under {root}; set PMKB_CORPORA)")
    nlp = load_nlp()
    modes = ("as-written", "no-headings") if args.mode == "both" else (args.mode,)
    splits = splits_to_print(args.split, golds)
    report: dict[str, Any] = {}
    for mode in modes:
        scores = run(mode, golds, nlp)
        for split in splits:
            summary = summarize(s for s in scores if s.split == split)
            print(format_summary(f"{mode} / {split}", summary))
            print()
            report[f"{mode}/{split}"] = {
                "documents": summary.docs,
                "fields": {
                    k: {
                        "precision": c.precision,
                        "recall": c.recall,
                        "f1": c.f1,
                        "pred": c.pred,
                        "gold": c.gold,
                    }
                    for k, c in summary.counts.items()
                },  # fmt: skip
                "accuracy": {k: {"right": r, "total": t} for k, (r, t) in summary.accuracy.items()},
            }
        if args.errors:
            print(f"### error examples ({mode})")
            by_field: dict[str, list[str]] = defaultdict(list)
            for s in scores:
                if not shows_errors(args.errors_split, s.split):
                    continue
                for name, kind, detail in s.errors:
                    by_field[name].append(f"  [{s.split}] {Path(s.doc).name}: {kind}: {detail!r}")
            for name, lines in sorted(by_field.items()):
                print(f"{name}: {len(lines)} errors")
                print("\n".join(lines[: args.errors]))
            print()
    print(f"({len(golds)} gold documents, {time.perf_counter() - started:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

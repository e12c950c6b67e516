"""Benchmark: how far do two careful readers agree on extraction labels? (issue 3; measurement only)

A second reader labelled 12 ``dev`` reports blind (``benchmarks/eval/extraction_rater2/``: 6
wikitech reports of the "gold-dev3" batch, 6 icco reports of the "icco-gold3" batch; how they were
chosen is in that folder's README). This script scores reader 2 against reader 1 (the gold of
``tests/gold/labels/`` and ``benchmarks/eval/icco_gold/``) with the extraction benchmark's own
matching (``extraction_eval.score_spans``: spans match when they overlap by at least half of the
shorter one), per source and per field (causes, actions, impacts):

* P / R / F1 with reader 1 as gold. Swapping the readers swaps P and R, so F1 is symmetric: it is
  the ceiling a perfect copy of either reader would reach when scored against the other.
* On the matched items (each reader-1 item and the reader-2 item that overlaps it most): agreement
  on the action ``status`` and on the cause ``kind``, with the pairs that differ counted.

No extractor is run. ``--show`` prints, per document, the items only one reader took (the text
of icco items is printed to the terminal only: it is GPL-3.0 and must not be copied into the
repository).

``--extractor`` also runs the extractor (real spaCy pipeline, texts as written) on the same
reports and scores it against each reader: if the rules had learned reader 1's habits rather than
the reports' phrasings, they would score clearly lower against reader 2.

    .venv/bin/python benchmarks/extraction_agreement.py
    .venv/bin/python benchmarks/extraction_agreement.py --show
    .venv/bin/python benchmarks/extraction_agreement.py --extractor
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import extraction_eval as ee  # noqa: E402

RATER2_DIR = ee.ROOT / "benchmarks" / "eval" / "extraction_rater2"
FIELDS = ("causes", "actions", "impacts")
LABEL_KEY = {"causes": "kind", "actions": "status"}  # the per-item label compared on matches


@dataclass
class Agreement:
    """Reader 2 against reader 1 for one field, summed over documents."""

    counts: ee.Counts = field(default_factory=ee.Counts)
    same_span: int = 0  # matched reader-1 items whose best match has exactly the same span
    label_same: int = 0
    label_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (r1, r2) on matches

    @property
    def label_total(self) -> int:
        return sum(self.label_pairs.values())


def spans(items: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
    """Character spans of label items, whether they carry ``text`` or an ``end``."""
    return [
        (item["start"], item["end"] if "end" in item else item["start"] + len(item["text"]))
        for item in items
    ]


def compare(
    gold: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]], name: str
) -> tuple[Agreement, list[int], list[int]]:
    """One document's field: the agreement, and the indexes of the items only reader 1 (gold)
    and only reader 2 (other) took."""
    gold_spans, other_spans = spans(gold), spans(other)
    counts, only2, best = ee.score_spans(other_spans, gold_spans)
    result = Agreement(counts=counts)
    key = LABEL_KEY.get(name)
    only1 = [i for i, b in enumerate(best) if b is None]
    for i, b in enumerate(best):
        if b is None:
            continue
        result.same_span += gold_spans[i] == other_spans[b]
        if key is None:
            continue
        pair = (gold[i].get(key, ""), other[b].get(key, ""))
        result.label_pairs[pair] += 1
        result.label_same += pair[0] == pair[1]
    return result, only1, only2


def load_rater2(root: Path | None = None, folder: Path = RATER2_DIR) -> list[dict[str, Any]]:
    """Reader 2's label files, each with ``source`` set; icco files (offsets only) get their
    ``text`` filled in from the corpus after the SHA-256 check, as ``extraction_eval.load_icco``
    does, and ``doc`` set to the absolute path."""
    root = ee.corpora_root() if root is None else root
    records = []
    for path in sorted(folder.glob("*/*.json")):
        label = json.loads(path.read_text(encoding="utf-8"))
        label["source"] = path.parent.name
        if "sha256" in label:
            doc = (root / label["doc"]).resolve()
            data = doc.read_bytes()
            if hashlib.sha256(data).hexdigest() != label["sha256"]:
                raise SystemExit(f"rater2 label {path.name}: {doc} has changed (sha256 differs)")
            text = data.decode("utf-8")
            label["doc"] = str(doc)
            for name in FIELDS:
                label[name] = [
                    {**it, "text": text[it["start"] : it["end"]]} for it in label.get(name, [])
                ]
        records.append(label)
    return records


def reader1_by_name(sources: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Reader 1's dev labels of the given sources, keyed by the document's file name."""
    golds = ee.load_gold("dev", [s for s in sources if s != "icco"])
    if "icco" in sources:
        golds += ee.load_icco("dev")
    return {Path(g["doc"]).name: g for g in golds}


def agreement_table(
    rater1: dict[str, dict[str, Any]], rater2: Sequence[dict[str, Any]]
) -> tuple[dict[tuple[str, str], Agreement], list[tuple[str, str, str, str, dict[str, Any]]]]:
    """Per (source, field) agreement over the fields both readers labelled, and the items only
    one reader took: (doc name, field, "only1"/"only2", source, item)."""
    table: dict[tuple[str, str], Agreement] = {}
    lonely = []
    for r2 in rater2:
        name = Path(r2["doc"]).name
        r1 = rater1[name]
        for fname in FIELDS:
            if fname not in r1["labelled"] or fname not in r2["labelled"]:
                continue
            got, only1, only2 = compare(r1[fname], r2[fname], fname)
            total = table.setdefault((r2["source"], fname), Agreement())
            total.counts.add(got.counts)
            total.same_span += got.same_span
            total.label_same += got.label_same
            total.label_pairs.update(got.label_pairs)
            lonely += [(name, fname, "only1", r2["source"], r1[fname][i]) for i in only1]
            lonely += [(name, fname, "only2", r2["source"], r2[fname][i]) for i in only2]
    return table, lonely


def format_table(table: dict[tuple[str, str], Agreement]) -> str:
    lines = [
        "| source | field | reader 1 | reader 2 | P | R | F1 | same span"
        " | label agreement on matches |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    pooled: dict[str, Agreement] = {}
    for (source, fname), agr in sorted(
        table.items(), key=lambda kv: (FIELDS.index(kv[0][1]), kv[0][0])
    ):
        lines.append(_row(source, fname, agr))
        total = pooled.setdefault(fname, Agreement())
        total.counts.add(agr.counts)
        total.same_span += agr.same_span
        total.label_same += agr.label_same
        total.label_pairs.update(agr.label_pairs)
    for fname in FIELDS:
        if fname in pooled and sum(1 for s, f in table if f == fname) > 1:
            lines.append(_row("all", fname, pooled[fname]))
    return "\n".join(lines)


def _row(source: str, fname: str, agr: Agreement) -> str:
    c = agr.counts
    label = (
        f"{LABEL_KEY[fname]} {agr.label_same}/{agr.label_total}"
        f" ({agr.label_same / agr.label_total:.2f})"
        if fname in LABEL_KEY and agr.label_total
        else "-"
    )
    return (
        f"| {source} | {fname} | {c.gold} | {c.pred} | {c.precision:.2f} | {c.recall:.2f} "
        f"| {c.f1:.2f} | {agr.same_span}/{c.gold_ok} | {label} |"
    )


def format_pairs(table: dict[tuple[str, str], Agreement]) -> str:
    """The (reader 1 -> reader 2) label pairs that differ, per source and field."""
    lines = []
    for (source, fname), agr in sorted(table.items()):
        diff = {p: n for p, n in agr.label_pairs.items() if p[0] != p[1]}
        if diff:
            pairs = ", ".join(f"{a}->{b} {n}" for (a, b), n in sorted(diff.items()))
            lines.append(f"{source} {fname}: {pairs}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print items only one reader took")
    parser.add_argument(
        "--extractor", action="store_true", help="also score the extractor against each reader"
    )
    args = parser.parse_args(argv)
    rater2 = load_rater2()
    rater1 = reader1_by_name(sorted({r["source"] for r in rater2}))
    table, lonely = agreement_table(rater1, rater2)
    print(
        f"{len(rater2)} reports read by both readers; reader 1 = gold, reader 2 = extraction_rater2"
    )
    print(format_table(table))
    pairs = format_pairs(table)
    if pairs:
        print("\nlabels that differ on matched items (reader 1 -> reader 2):\n" + pairs)
    if args.show:
        for name, fname, who, _source, item in lonely:
            label = item.get(LABEL_KEY.get(fname, ""), "")
            print(f"\n[{name} {fname} {who} {label}] {item['text']}")
    if args.extractor:
        readers = {"reader 1": [rater1[Path(r["doc"]).name] for r in rater2], "reader 2": rater2}
        print("\nextractor (as written) against each reader, same reports:")
        print(extractor_table(readers))
    return 0


def as_gold(record: dict[str, Any]) -> dict[str, Any]:
    """A label record as ``extraction_eval.run`` scores it: only causes, actions and impacts
    (those both readers labelled), every other span field empty."""
    labelled = [f for f in FIELDS if f in record.get("labelled", FIELDS)]
    return {**{f: [] for f in ee.SPAN_FIELDS}, **record, "labelled": labelled}


def extractor_table(readers: dict[str, list[dict[str, Any]]]) -> str:
    """P / R / F1 of the extractor against each reader's labels of the same reports."""
    from ingest.nlp import load_nlp

    nlp = load_nlp()
    rows = ["| reader | field | P | R | F1 |", "| --- | --- | ---: | ---: | ---: |"]
    for reader, records in readers.items():
        summary = ee.summarize(ee.run("as-written", [as_gold(r) for r in records], nlp))
        for name in FIELDS:
            c = summary.counts[name]
            if c.gold:
                rows.append(
                    f"| {reader} | {name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} |"
                )
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())

"""Probe: would a MiniLM sentence classifier find the causes / actions that cue rules miss on
reports nobody tuned on? (issue 3; an experiment, not part of the product)

Setting. Two batches of 12 dev reports each were labelled blind on 2026-12-07 ("gold-dev3":
wikitech, commit d7580d3; "icco-gold3": icco, commit f5ae9af). The rules of commit d1348e2 had
never seen them. So "rules of d1348e2 on these 24 reports" is a fresh-report measurement. This
script asks whether a logistic regression on the all-MiniLM-L6-v2 vectors of the sentences,
trained on the other 104 dev reports, adds what the rules miss there. Two uses are tried: "add"
(rule items plus sentences the model scores at or above t) and "model" (the model alone). t is
chosen by 5-fold cross-validation over the training reports. ``--with-rule-flag`` adds the
rules' own decision as a feature.

Step 1: dump the analyses of the dev reports under the code of a commit (run once per commit,
from a worktree of it), with the real spaCy pipeline:

    git worktree add /tmp/old d1348e2
    .venv/bin/python benchmarks/embedding_role_probe.py dump /tmp/old /tmp/old.json

Step 2: train and score (embeds every dev sentence with the real model, about a minute):

    .venv/bin/python benchmarks/embedding_role_probe.py probe /tmp/old.json [--with-rule-flag]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import extraction_eval as ee  # noqa: E402

BATCH_COMMITS = ("d7580d3", "f5ae9af")  # the two blind batches' label commits
GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def dump(code: str, out: str) -> None:
    """Sentences, rule items and gold items of every dev report, under the code at ``code``."""
    sys.path.insert(0, code)
    import ingest

    assert ingest.__file__.startswith(code), ingest.__file__
    from ingest.extract import analyze_many
    from ingest.nlp import load_nlp

    golds = ee.load_gold("dev") + ee.load_icco("dev")
    prepared = ee.prepare(golds, "as-written")
    analyses = analyze_many(((d, s) for _, d, s in prepared), load_nlp())
    rows = []
    for (gold, _doc, _), a in zip(prepared, analyses, strict=True):
        rows.append(
            {
                "doc": gold["doc"],
                "labelled": gold.get("labelled", []),
                "sents": [[s.start, s.end, s.text] for s in a.sentences],
                "rule_causes": [[c.start, c.end] for c in a.causes],
                "rule_actions": [[x.start, x.end] for x in a.actions],
                "gold_causes": [[g["start"], g["start"] + len(g["text"])] for g in gold["causes"]],
                "gold_actions": [
                    [g["start"], g["start"] + len(g["text"])] for g in gold["actions"]
                ],
            }
        )
    Path(out).write_text(json.dumps(rows), encoding="utf-8")
    print(f"{len(rows)} dev reports dumped to {out}")


def batch_names() -> set[str]:
    """File stems of the reports the two blind batches added."""
    names = set()
    for commit in BATCH_COMMITS:
        listing = subprocess.run(
            ["git", "show", "--name-only", "--format=", commit],
            cwd=HERE.parent,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        names |= {Path(p).stem for p in listing if p.endswith(".json") and "/labels/" in p}
        names |= {Path(p).stem for p in listing if p.endswith(".json") and "icco_gold/" in p}
    return names


def _key(row: dict[str, Any]) -> str:
    return Path(row["doc"]).stem


def _covered(span: tuple[int, int], spans: list[list[int]]) -> bool:
    return any(ee.spans_match(span, (g[0], g[1])) for g in spans)


class Probe:
    def __init__(self, rows: list[dict[str, Any]], with_flag: bool) -> None:
        from ingest.embed import load_embedder

        self.with_flag = with_flag
        texts = sorted({s[2] for r in rows for s in r["sents"]})
        vectors = np.asarray(load_embedder().encode(texts), dtype=np.float32)
        self.vec = dict(zip(texts, vectors, strict=True))

    def units(self, row: dict[str, Any], field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        spans = [(s[0], s[1]) for s in row["sents"]]
        x = np.array([self.vec[s[2]] for s in row["sents"]])
        y = np.array([_covered(sp, row["gold_" + field]) for sp in spans])
        rule = np.array([_covered(sp, row["rule_" + field]) for sp in spans], dtype=float)
        if self.with_flag:
            x = np.hstack([x, 3.0 * rule[:, None]])
        return x, y, rule

    def fit(self, rows: list[dict[str, Any]], field: str) -> Any:
        from sklearn.linear_model import LogisticRegression

        xs, ys = zip(
            *[self.units(r, field)[:2] for r in rows if field in r["labelled"]], strict=True
        )
        model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
        return model.fit(np.vstack(xs), np.concatenate(ys))

    def counts(
        self,
        rows: list[dict[str, Any]],
        field: str,
        model: Any = None,
        t: float = 1.1,
        mode: str = "add",
    ) -> ee.Counts:
        total = ee.Counts()
        for row in rows:
            if field not in row["labelled"]:
                continue
            picked = [tuple(p) for p in row["rule_" + field]] if mode == "add" else []
            if model is not None:
                x, _, rule = self.units(row, field)
                prob = model.predict_proba(x)[:, 1]
                for s, p, r in zip(row["sents"], prob, rule, strict=True):
                    if p >= t and (mode == "model" or not r):
                        picked.append((s[0], s[1]))
            got, _, _ = ee.score_spans(picked, [(g[0], g[1]) for g in row["gold_" + field]])
            total.add(got)
        return total


def _fold(row: dict[str, Any], k: int = 5) -> int:
    return int.from_bytes(hashlib.sha256(_key(row).encode()).digest()[:4], "big") % k


def probe(dump_path: str, with_flag: bool) -> None:
    rows = json.loads(Path(dump_path).read_text(encoding="utf-8"))
    batch = batch_names()
    train = [r for r in rows if _key(r) not in batch]
    test = [r for r in rows if _key(r) in batch]
    print(f"train {len(train)} dev reports, test {len(test)} blind-batch reports")
    p = Probe(rows, with_flag)
    for field in ("causes", "actions"):
        base = p.counts(test, field)
        print(
            f"\n{field}: rules alone: P {base.precision:.3f} R {base.recall:.3f} F1 {base.f1:.3f}"
        )
        for mode in ("add", "model"):
            cv = {}
            for t in GRID:
                total = ee.Counts()
                for k in range(5):
                    fitted = p.fit([r for r in train if _fold(r) != k], field)
                    held = [r for r in train if _fold(r) == k]
                    total.add(p.counts(held, field, fitted, t, mode))
                cv[t] = total.f1
            t = max(GRID, key=lambda g: cv[g])
            c = p.counts(test, field, p.fit(train, field), t, mode)
            print(
                f"  {mode}: t={t} (train CV F1 {cv[t]:.3f}) -> "
                f"P {c.precision:.3f} R {c.recall:.3f} F1 {c.f1:.3f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("code")
    d.add_argument("out")
    q = sub.add_parser("probe")
    q.add_argument("dump")
    q.add_argument("--with-rule-flag", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.code, args.out)
    else:
        probe(args.dump, args.with_rule_flag)
    return 0


if __name__ == "__main__":
    sys.exit(main())

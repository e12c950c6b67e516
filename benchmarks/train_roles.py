"""Train the learned sentence-role model (``benchmarks/role_model.py``) on the dev split.

Runs the real pipeline over the dev gold documents with their headings removed (the mode the
model is for; the wikitech reports have none anyway), takes the rule extraction of causes and
actions, labels every unit (list item / paragraph sentence) by the gold spans (the
benchmark's matching rule) and fits two L2 logistic regressions on hashed features. It then
prints document-grouped k-fold cross-validation figures on dev, rules alone vs rules revised
by the model, for a grid of veto / add thresholds, and with ``--write PATH`` writes the model
fitted on all dev documents with the chosen thresholds as JSON (``learned.load_model`` reads
it; no extractor uses it, see RESULTS.md). The heldout split is never read here.

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_roles.py [--folds 5] [--c 1.0]
        [--write PATH] [--no-rule-features] [--also-as-written]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.sparse import csr_matrix

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import role_model as learned  # noqa: E402
from extraction_eval import load_gold, prepare, score_spans  # noqa: E402

DIM = 1 << 13
ROLES = ("cause", "action")
FIELD = {"cause": "causes", "action": "actions"}
VETO_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
ADD_GRID = (1.01, 0.9, 0.8, 0.7, 0.6)


def collect(mode: str) -> list[dict[str, Any]]:
    """Per dev document: units, features, gold labels, rule spans and gold spans per role."""
    import ingest.extract as extract
    from ingest.extract.actions import extract_actions
    from ingest.extract.causes import extract_causes
    from ingest.nlp import load_nlp

    captured: list[Any] = []
    original = extract._extract

    def capture(document: Any, sections: Any, views: Any) -> Any:
        captured.append(views)
        return original(document, sections, views)

    extract._extract = capture
    try:
        prepared = prepare(load_gold("dev"), mode)
        nlp = load_nlp()
        list(extract.analyze_many(((doc, sections) for _, doc, sections in prepared), nlp))
    finally:
        extract._extract = original
    rows = []
    for (gold, document, _), views in zip(prepared, captured, strict=True):
        text = document.text
        rule = {
            "cause": [(c.start, c.end) for c in extract_causes(text, views)],
            "action": [(a.start, a.end) for a in extract_actions(text, views)],
        }
        units, features = learned.all_features(views, rule)
        golds = {
            role: [(g["start"], g["start"] + len(g["text"])) for g in gold[FIELD[role]]]
            for role in ROLES
        }
        labels = {
            role: [
                any(learned._overlaps(learned.unit_span(u), g) for g in golds[role]) for u in units
            ]
            for role in ROLES
        }
        rows.append(
            {
                "doc": gold["doc"],
                "labelled": {role: FIELD[role] in gold["labelled"] for role in ROLES},
                "units": units,
                "features": features,
                "labels": labels,
                "rule": rule,
                "gold": golds,
            }
        )
    return rows


def matrix(features: list[list[str]]) -> csr_matrix:
    """Binary hashed feature matrix."""
    indptr, indices = [0], []
    for names in features:
        cols = sorted({learned.feature_index(name, DIM) for name in names})
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    return csr_matrix((data, indices, indptr), shape=(len(features), DIM))


def fit(x: csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression (L-BFGS); returns weights and bias."""

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-12
        value = -np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
        value += 0.5 / c * float(w @ w)
        grad_z = p - y
        grad = np.concatenate([x.T @ grad_z + w / c, [grad_z.sum()]])
        return float(value), grad

    result = minimize(
        loss, np.zeros(DIM + 1), jac=True, method="L-BFGS-B", options={"maxiter": 300}
    )
    return result.x[:-1], float(result.x[-1])


def revised_spans(
    row: dict[str, Any], role: str, probs: np.ndarray, veto: float, add: float
) -> list[tuple[int, int]]:
    """Rule spans of ``role`` after the model's veto and additions (``learned.decide``)."""
    own = row["rule"][role]
    firm = learned.firm_units(role, row["units"], row["features"])
    drop, added = learned.decide(row["units"], list(probs), own, veto, add, firm)
    return [s for s in own if s not in drop] + [learned.unit_span(u) for u in added]


def prf(rows: list[dict[str, Any]], role: str, spans_of: Any) -> tuple[float, float, float]:
    """Micro P / R / F1 over the documents where ``role`` is labelled."""
    pred = pred_ok = gold = gold_ok = 0
    for k, row in enumerate(rows):
        if not row["labelled"][role]:
            continue
        counts, _, _ = score_spans(spans_of(k, row), row["gold"][role])
        pred += counts.pred
        pred_ok += counts.pred_ok
        gold += counts.gold
        gold_ok += counts.gold_ok
    p = pred_ok / pred if pred else 0.0
    r = gold_ok / gold if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--write", type=Path, help="write the fitted model (JSON) here")
    parser.add_argument(
        "--no-rule-features", action="store_true", help="drop the rule:* features (ablation)"
    )
    parser.add_argument(
        "--also-as-written",
        action="store_true",
        help="also train on the dev documents as written (scored on no-headings only)",
    )
    args = parser.parse_args(argv)
    rows = collect("no-headings")
    extra = collect("as-written") if args.also_as_written else []
    if args.no_rule_features:
        for row in rows:
            row["features"] = [
                [f for f in names if not f.startswith("rule:")] for names in row["features"]
            ]
    print(f"{len(rows)} dev documents, {sum(len(r['units']) for r in rows)} units")
    chosen: dict[str, tuple[float, float]] = {}
    models: dict[str, tuple[np.ndarray, float]] = {}
    for role in ROLES:
        train_rows = [r for r in rows if r["labelled"][role]]
        oof: list[np.ndarray] = [np.zeros(len(r["units"])) for r in rows]
        for fold in range(args.folds):
            fit_rows = [r for k, r in enumerate(train_rows) if k % args.folds != fold]
            fit_docs = {r["doc"] for r in fit_rows}
            fit_rows += [r for r in extra if r["doc"] in fit_docs and r["labelled"][role]]
            x = matrix([f for r in fit_rows for f in r["features"]])
            y = np.array([lab for r in fit_rows for lab in r["labels"][role]], dtype=float)
            w, b = fit(x, y, args.c)
            for k, r in enumerate(train_rows):
                if k % args.folds == fold:
                    oof[rows.index(r)] = 1.0 / (1.0 + np.exp(-(matrix(r["features"]) @ w + b)))
        base = prf(rows, role, lambda k, row: row["rule"][role])  # noqa: B023
        print(
            f"\n{role}: rules alone (no headings, dev) P/R/F1 = {base[0]:.3f} / {base[1]:.3f} / "
            f"{base[2]:.3f}"
        )
        best = (base[2], 0.0, 1.01)
        for veto in VETO_GRID:
            line = []
            for add in ADD_GRID:
                score = prf(
                    rows,
                    role,
                    lambda k, row: revised_spans(row, role, oof[k], veto, add),  # noqa: B023
                )
                line.append(f"{score[2]:.3f}")
                if score[2] > best[0] + 1e-9:
                    best = (score[2], veto, add)
            print(
                f"  veto<{veto:.2f}  add>="
                + " ".join(f"{a:.2f}:{s}" for a, s in zip(ADD_GRID, line, strict=True))
            )
        for threshold in (0.3, 0.4, 0.5, 0.6):
            alone = prf(
                rows,
                role,
                lambda k, row: [  # noqa: B023
                    learned.unit_span(u)
                    for u, p in zip(row["units"], oof[k], strict=True)  # noqa: B023
                    if p >= threshold  # noqa: B023
                ],
            )
            print(
                f"  model alone p>={threshold}: P/R/F1 = {alone[0]:.3f} / {alone[1]:.3f} / "
                f"{alone[2]:.3f}"
            )
        final = prf(rows, role, lambda k, row: revised_spans(row, role, oof[k], best[1], best[2]))  # noqa: B023
        print(
            f"  best CV: veto<{best[1]} add>={best[2]}: "
            f"P/R/F1 = {final[0]:.3f} / {final[1]:.3f} / {final[2]:.3f}"
        )
        chosen[role] = (best[1], best[2])
        train_rows += [r for r in extra if r["labelled"][role]]
        x = matrix([f for r in train_rows for f in r["features"]])
        y = np.array([lab for r in train_rows for lab in r["labels"][role]], dtype=float)
        models[role] = fit(x, y, args.c)
    if args.write:
        data = {
            "dim": DIM,
            "trained_on": "tests/gold dev split, headings removed (benchmarks/train_roles.py)",
            "c": args.c,
            "weights": {role: [round(float(v), 4) for v in models[role][0]] for role in ROLES},
            "bias": {role: round(models[role][1], 4) for role in ROLES},
            "veto": {role: chosen[role][0] for role in ROLES},
            "add": {role: chosen[role][1] for role in ROLES},
        }
        args.write.write_text(json.dumps(data) + "\n", encoding="utf-8")
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

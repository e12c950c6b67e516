"""Tune the search constants on the DEV queries only (the held-out split is never read here).

Loads the index that retrieval_eval.py built (pass --index), caches query embeddings, and
prints dev nDCG@10 / relevant-first / MRR for a grid of settings of `ingest.search`:

    .venv/bin/python benchmarks/retrieval_tune.py --index benchmarks/.cache/retrieval-index-<key>
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_eval as ev  # noqa: E402
from retrieval_metrics import query_metrics  # noqa: E402

import ingest.search as search  # noqa: E402
from ingest.embed import load_embedder  # noqa: E402

# Passes so far (dev only): (1) 108 settings over DENSE_WEIGHT 0.4-0.6, ROLE_BOOST 0-1,
# DOC_WEIGHT 0-0.6, TITLE_WEIGHT 0-0.3 and two AGG_WEIGHTS; (2) the upper edges extended;
# (3) fusing each side's incident scores instead of sentence scores (worse: dropped);
# (4) the query boosts re-checked on an index rebuilt with the current extraction (48).
# This pass (5) adds the incident-level BM25 (INCIDENT_BM25_WEIGHT) and re-checks the
# fusion weight and the other incident-level signals around it.
GRID = {
    "DENSE_WEIGHT": (0.4, 0.5, 0.6),
    "INCIDENT_BM25_WEIGHT": (0.4, 0.6, 0.8),
    "TITLE_WEIGHT": (0.15, 0.3),
    "DOC_WEIGHT": (0.4, 0.6),
}


class CachedEmbedder:
    """Wraps the real embedder; remembers query vectors across grid points."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts, *, batch_size: int = 64) -> np.ndarray:
        missing = [t for t in texts if t not in self.cache]
        if missing:
            for t, v in zip(missing, self.inner.encode(missing), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--top", type=int, default=12, help="settings to print")
    args = parser.parse_args()
    queries = [q for q in ev.load_queries() if q.split == "dev"]
    engine = search.SearchEngine.open(args.index, CachedEmbedder(load_embedder()))
    names = list(GRID)
    results = []
    for values in itertools.product(*(GRID[n] for n in names)):
        for name, value in zip(names, values, strict=True):
            setattr(search, name, value)
        per_query = []
        for q in queries:
            ranking = ev.rank_files(engine, q.query, "hybrid")
            per_query.append(query_metrics(ranking, q.relevant))
        mean = {k: float(np.mean([m[k] for m in per_query])) for k in per_query[0]}
        results.append((mean["nDCG@10"], mean, dict(zip(names, values, strict=True))))
    results.sort(key=lambda r: -r[0])
    print(f"dev queries: {len(queries)}; settings tried: {len(results)}")
    for ndcg, mean, setting in results[: args.top]:
        print(f"nDCG@10 {ndcg:.4f}  rel@1 {mean['rel@1']:.3f}  MRR {mean['MRR']:.3f}  {setting}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

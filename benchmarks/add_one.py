"""Time the commit path of one added and one changed postmortem on a copy of a large index.

The index writer is timed directly (no spaCy, no embedding model): an existing incident read
back with ``KnowledgeBase.incident`` is added again under a new id with random unit vectors,
and a changed file is an incident removed and added back with one sentence fewer. Wall times
of opening the writer, ``add_incident`` (and ``remove_incident``) and ``commit`` are printed.

    python benchmarks/add_one.py                       # the cached 10k index
    python benchmarks/add_one.py --index PATH --runs 3 --tail-search

The index is copied (live generation only) to ``--work`` and deleted afterwards. An index in
the layout written before ``vectors.f32`` is converted by its first commit, timed apart.
``--tail-search`` then appends incidents until the exactly searched tail holds
``MAX_TAIL_ROWS`` rows, times dense searches (k=300) before and after, and adds one more
postmortem, whose commit folds the tail into the FAISS file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # last, so PYTHONPATH can point at another version of ingest/
    sys.path.append(str(ROOT))

from ingest import store, vectors  # noqa: E402
from ingest.records import Incident  # noqa: E402
from ingest.store import IndexWriter, KnowledgeBase, read_manifest  # noqa: E402

CACHED_10K = ROOT / "benchmarks" / ".cache" / "n10000-s7-b323b5ec34a4" / "index"
WORK = Path("/work/tmp-add-one")


def copy_live_generation(src: Path, dest: Path) -> None:
    """Copy ``manifest.json`` and the generation it names (not the older one)."""
    manifest = read_manifest(src)
    dest.mkdir(parents=True)
    shutil.copytree(src / manifest["generation"], dest / manifest["generation"])
    shutil.copy2(src / "manifest.json", dest / "manifest.json")


def unit_vectors(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def renamed(incident: Incident, tag: str) -> Incident:
    """The same incident under a new id and source (a new file with the same content)."""
    return dataclasses.replace(
        incident,
        incident_id=f"{incident.incident_id}-{tag}",
        source=f"bench/{tag}/{incident.source}",
        sha256=f"{incident.sha256[:48]}{tag}",
    )


def changed(incident: Incident) -> Incident:
    """The incident with its last sentence gone (a changed file, same id and source)."""
    return dataclasses.replace(
        incident, sentences=incident.sentences[:-1], sha256=incident.sha256[::-1]
    )


def timed_write(index: Path, dim: int, model: str, steps: list[tuple[str, Any]]) -> dict[str, Any]:
    """Run one writer: ``steps`` of ("add", incident) / ("remove", incident_id), then commit."""
    rng = np.random.default_rng(len(steps))
    t0 = time.perf_counter()
    with IndexWriter(index, embedder_name=model, dim=dim) as writer:
        t_open = time.perf_counter()
        for kind, item in steps:
            if kind == "remove":
                writer.remove_incident(item)
            else:
                writer.add_incident(item, unit_vectors(len(item.sentences), dim, rng))
        t_add = time.perf_counter()
        manifest = writer.commit()
        t_commit = time.perf_counter()
    t_end = time.perf_counter()
    return {
        "open": t_open - t0,
        "add": t_add - t_open,
        "commit": t_commit - t_add,
        "total": t_end - t0,
        "rows": (manifest.get("vectors") or {}).get("rows", manifest["faiss"]["vectors"]),
        "base_rows": manifest["faiss"].get("base_rows", manifest["faiss"]["vectors"]),
        "dead_rows": (manifest.get("vectors") or {}).get("dead_rows", 0),
    }


def show(label: str, r: dict[str, Any]) -> None:
    print(
        f"{label:<42} open {r['open']:.2f}  add {r['add']:.3f}  commit {r['commit']:.2f}  "
        f"total {r['total']:.2f} s   (rows {r['rows']}, FAISS base {r['base_rows']}, "
        f"dead {r['dead_rows']})",
        flush=True,
    )


def search_times(index: Path, queries: np.ndarray, k: int = 300) -> tuple[float, float]:
    """p50 and p95 in ms of ``vectors.search`` for one query at a time, after a warm-up."""
    kb = KnowledgeBase.open(index)
    for q in queries[:20]:
        vectors.search(kb.ann, q[None, :], k)
    times = []
    for q in queries:
        t = time.perf_counter()
        vectors.search(kb.ann, q[None, :], k)
        times.append((time.perf_counter() - t) * 1000)
    kb.close()
    return statistics.median(times), float(np.percentile(times, 95))


def check_search(index: Path, incident_ids: list[str]) -> str:
    """Each sentence vector of the given incidents finds a row with the same vector at score ~1,
    and no result is a dead row (a row no sentence uses)."""
    kb = KnowledgeBase.open(index)
    matrix = kb.vectors()
    checked = 0
    for incident_id in incident_ids:
        rows = kb.incident_vec_rows(incident_id)
        scores, ids = vectors.search(kb.ann, np.asarray(matrix[rows]), 10)
        assert np.allclose(scores[:, 0], 1.0, atol=1e-4), incident_id
        assert np.allclose(matrix[ids[:, 0]], matrix[rows], atol=1e-4), incident_id
        live = kb.sentences_by_vec_rows(ids.ravel().tolist())
        assert all(int(i) in live for i in ids.ravel()), "a dead row was returned"
        checked += len(rows)
    kb.close()
    return f"search check: {checked} sentence vectors of {len(incident_ids)} incidents found"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=CACHED_10K)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--runs", type=int, default=3, help="steady-state repeats of each case")
    parser.add_argument("--tail-search", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the copied index")
    args = parser.parse_args()
    import spacy  # noqa: F401  # loaded in any ingest process (older code imported it at commit)

    index = args.work / "index"
    if args.work.exists():
        shutil.rmtree(args.work)
    t = time.perf_counter()
    copy_live_generation(args.index, index)
    print(f"copied {args.index} to {index} in {time.perf_counter() - t:.1f} s", flush=True)
    try:
        manifest = read_manifest(index)
        dim, model = int(manifest["embedding"]["dim"]), manifest["embedding"]["model"]
        print(f"layout: {'vectors.f32' if 'vectors' in manifest else 'legacy vectors.npy'}, ")
        print(f"  {manifest['counts']}, FAISS {manifest['faiss']['type']}", flush=True)
        kb = KnowledgeBase.open(index)
        ids = [r["incident_id"] for r in kb.incident_rows()[: 2 * args.runs + 2]]
        originals = [kb.incident(i) for i in ids]
        queries = np.array(kb.vectors()[:: max(1, len(kb.vectors()) // 200)][:200])
        kb.close()
        if args.tail_search:
            p50, p95 = search_times(index, queries)
            print(f"dense search k=300 before: p50 {p50:.2f} ms, p95 {p95:.2f} ms", flush=True)

        first = timed_write(index, dim, model, [("add", renamed(originals[0], "first"))])
        show("add one (first commit on this copy)", first)
        for run in range(args.runs):
            r = timed_write(index, dim, model, [("add", renamed(originals[1 + run], f"r{run}"))])
            show(f"add one, run {run + 1}", r)
        for run in range(args.runs):
            old = originals[1 + args.runs + run]
            steps = [("remove", old.incident_id), ("add", changed(old))]
            show(f"changed file, run {run + 1}", timed_write(index, dim, model, steps))

        if args.tail_search and hasattr(store, "MAX_TAIL_ROWS"):
            now = read_manifest(index)
            room = store.MAX_TAIL_ROWS - (now["vectors"]["rows"] - now["faiss"]["base_rows"])
            steps, rows, n = [], 0, 0
            while room > 0:
                inc = renamed(originals[n % len(originals)], f"tail{n}")
                if rows + len(inc.sentences) > room:
                    break
                steps.append(("add", inc))
                rows += len(inc.sentences)
                n += 1
            r = timed_write(index, dim, model, steps)
            show(f"{n} incidents appended to fill the tail", r)
            p50, p95 = search_times(index, queries)
            print(
                f"dense search k=300 with a {r['rows'] - r['base_rows']}-row tail and "
                f"{r['dead_rows']} dead rows: p50 {p50:.2f} ms, p95 {p95:.2f} ms",
                flush=True,
            )
            r = timed_write(index, dim, model, [("add", renamed(originals[0], "fold"))])
            show("add one past the tail limit (fold)", r)
        print(json.dumps({"final_manifest_vectors": read_manifest(index).get("vectors")}))
        added = [renamed(originals[0], "first").incident_id]
        added += [originals[1 + args.runs + run].incident_id for run in range(args.runs)]
        print(check_search(index, added), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
            os.sync()


if __name__ == "__main__":
    main()

"""Retrieval benchmark: ranks the eval corpus for every query in benchmarks/eval/queries.jsonl.

Builds (or reuses) an index of the evaluation corpus with the real embedding model, runs each
query in every retrieval mode (lexical-only, dense-only, hybrid and variants) and prints, side
by side, recall@5, recall@10, MRR@10, graded nDCG@10 and "relevant first" for the dev, heldout
and all splits, then the targets and the dev queries that fail.

The index is cached under ``benchmarks/.cache/`` keyed by a hash of the index-building code,
the embedding model name and the corpus file list (names and sizes), so a second run only
searches. Ingesting the ~660 files takes several minutes on 2 cores.

Usage::

    .venv/bin/python benchmarks/retrieval_eval.py            # build or reuse, then evaluate
    .venv/bin/python benchmarks/retrieval_eval.py --rebuild  # force a fresh index
    .venv/bin/python benchmarks/retrieval_eval.py --json benchmarks/.cache/retrieval.json

Held-out queries are scored but their per-query failures are never printed: tune on dev only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrieval_metrics import METRIC_NAMES, mean_metrics, query_metrics  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
QUERIES_PATH = REPO_ROOT / "benchmarks" / "eval" / "queries.jsonl"
CACHE_DIR = REPO_ROOT / "benchmarks" / ".cache"
CORPORA_ROOT = Path(os.environ.get("PMKB_CORPORA", "/work/shared/corpora"))
STRUCTURED_FOLDERS = ("mybinder", "posthog")  # structured/dfds duplicates public dfds- files
CORPUS_SUFFIXES = (".md", ".txt", ".html", ".htm")
# Modules that only read the index: changing them must not force a re-ingest.
READ_SIDE_MODULES = {"search.py", "query.py", "highlight.py", "cli.py", "__main__.py"}
SPLITS = ("dev", "heldout", "all")
TOP_K = 10
BENCHMARK_VERSION = "1"


@dataclass(frozen=True)
class EvalQuery:
    """One judged query: graded relevance per file key (2 exact, 1 related, unlisted 0)."""

    qid: str
    query: str
    split: str
    relevant: dict[str, int]
    note: str = ""


@dataclass(frozen=True)
class Variant:
    """A retrieval configuration to score: a search mode plus optional module overrides."""

    name: str
    mode: str
    overrides: tuple[tuple[str, float], ...] = ()


VARIANTS: tuple[Variant, ...] = (
    Variant("lexical", "lexical"),
    Variant("dense", "dense"),
    Variant("hybrid", "hybrid"),
    # The textbook baselines: sentence BM25 alone (over every term: no common-term split)
    # and sentence embeddings alone, without query-understanding boosts, the title match or
    # incident-level BM25 (lexical) or the incident centroid (dense).
    Variant(
        "bm25-only",
        "lexical",
        (
            ("ROLE_BOOST", 0.0),
            ("CATEGORY_BOOST", 0.0),
            ("SYSTEM_BOOST", 0.0),
            ("TITLE_WEIGHT", 0.0),
            ("INCIDENT_BM25_WEIGHT", 0.0),
            ("COMMON_TERMS_SPLIT", False),
        ),
    ),
    Variant(
        "embeddings-only",
        "dense",
        (("ROLE_BOOST", 0.0), ("CATEGORY_BOOST", 0.0), ("SYSTEM_BOOST", 0.0), ("DOC_WEIGHT", 0.0)),
    ),
    # Each side with the weights that suit it best on DEV (retrieval_tune-style grid, dev
    # only): the product shares one set of constants, tuned for hybrid, so these check that
    # the gain of hybrid does not come from giving the single sides weights made for hybrid.
    Variant(
        "lexical-own-weights", "lexical", (("INCIDENT_BM25_WEIGHT", 1.5), ("TITLE_WEIGHT", 0.6))
    ),
    Variant("dense-own-weights", "dense", (("DOC_WEIGHT", 1.0),)),
    Variant("rrf", "rrf"),
    # Hybrid whose sentence-level BM25 matches every query term, common ones included: what
    # the common-terms split (a speed measure at 10k documents) costs in quality.
    Variant("hybrid-all-terms", "hybrid", (("COMMON_TERMS_SPLIT", False),)),
    # Hybrid as plain rank fusion: intent/category/system boosts switched off.
    Variant(
        "hybrid-noboost",
        "hybrid",
        (("ROLE_BOOST", 0.0), ("CATEGORY_BOOST", 0.0), ("SYSTEM_BOOST", 0.0)),
    ),
)


# -- corpus and queries -------------------------------------------------------------------------
def corpus_files(root: Path = CORPORA_ROOT) -> list[Path]:
    """The evaluation corpus: public/incidents plus structured/mybinder and structured/posthog."""
    folders = [root / "public" / "incidents"] + [
        root / "structured" / f for f in STRUCTURED_FOLDERS
    ]
    files: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"corpus folder missing: {folder}")
        files += sorted(p for p in folder.iterdir() if p.suffix.lower() in CORPUS_SUFFIXES)
    return files


def file_key(source: str | Path) -> str:
    """Judgment key of an ingested file: basename, or ``mybinder/<name>`` / ``posthog/<name>``."""
    path = Path(source)
    if path.parent.name in STRUCTURED_FOLDERS and path.parent.parent.name == "structured":
        return f"{path.parent.name}/{path.name}"
    return path.name


def load_queries(path: Path = QUERIES_PATH) -> list[EvalQuery]:
    """Read the judged query set (one JSON object per line)."""
    queries = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                queries.append(
                    EvalQuery(
                        qid=obj["qid"],
                        query=obj["query"],
                        split=obj["split"],
                        relevant={k: int(v) for k, v in obj["relevant"].items()},
                        note=obj.get("note", ""),
                    )
                )
    return queries


def unknown_judged_keys(queries: Sequence[EvalQuery], keys: set[str]) -> list[tuple[str, str]]:
    """(qid, key) pairs whose judged file is not in the corpus (a typo in the query set)."""
    return [(q.qid, k) for q in queries for k in q.relevant if k not in keys]


# -- index cache ----------------------------------------------------------------------------------
def code_fingerprint(package_dir: Path) -> str:
    """Hash of the index-building code and data of the ``ingest`` package."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if path.suffix not in (".py", ".yaml", ".txt", ".json") or path.name in READ_SIDE_MODULES:
            continue
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def index_key(code_hash: str, model_name: str, files: Sequence[Path]) -> str:
    """Cache key of an index: code version + model name + corpus file list (name and size)."""
    digest = hashlib.sha256()
    digest.update(f"benchmark={BENCHMARK_VERSION}\ncode={code_hash}\nmodel={model_name}\n".encode())
    for path in files:
        digest.update(f"{file_key(path)}\t{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def build_or_reuse_index(
    files: Sequence[Path], embedder: Any, *, rebuild: bool = False, cache_dir: Path = CACHE_DIR
) -> tuple[Path, dict[str, Any]]:
    """Return the cached index for ``files`` (building it first when needed) and build info."""
    import ingest
    from ingest.pipeline import ingest_paths

    key = index_key(code_fingerprint(Path(ingest.__file__).parent), embedder.name, files)
    index_dir = cache_dir / f"retrieval-index-{key}"
    info_path = cache_dir / f"retrieval-index-{key}.json"
    if index_dir.is_dir() and info_path.is_file() and not rebuild:
        return index_dir, json.loads(info_path.read_text()) | {"reused": True}
    building = cache_dir / f"retrieval-index-{key}.building"
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(index_dir, ignore_errors=True)
    building.mkdir(parents=True)
    folders = sorted({str(p.parent) for p in files})
    report = ingest_paths(folders, building / "index", embedder=embedder, progress=True)
    not_ingested = [
        {"key": file_key(o.source), "status": o.status, "detail": o.detail}
        for o in report.outcomes
        if o.status not in ("added", "updated", "unchanged")
    ]
    info = {
        "key": key,
        "files": len(files),
        "incidents": report.incidents,
        "sentences": report.sentences_embedded,
        "ingest_seconds": round(report.seconds, 1),
        "not_ingested": not_ingested,
        "model": embedder.name,
    }
    (building / "index").rename(index_dir)
    shutil.rmtree(building, ignore_errors=True)
    info_path.write_text(json.dumps(info, indent=2))
    return index_dir, info | {"reused": False}


def reuse_given_index(index_dir: Path, n_files: int) -> dict[str, Any]:
    """Build info for an index given on the command line (from its sidecar file if any)."""
    info_path = index_dir.parent / f"{index_dir.name}.json"
    if info_path.is_file():
        info = json.loads(info_path.read_text())
    else:
        info = {"key": "?", "files": n_files, "incidents": "?", "not_ingested": [], "model": "?"}
    print(f"warning: scoring the given index {index_dir}; it may predate the current code")
    return info | {"reused": True}


# -- running and scoring --------------------------------------------------------------------------
@contextlib.contextmanager
def module_overrides(module: Any, overrides: Sequence[tuple[str, float]]) -> Iterator[list[str]]:
    """Temporarily set module constants; yields the names that did not exist (not applied)."""
    saved: dict[str, Any] = {}
    missing = []
    for name, value in overrides:
        if hasattr(module, name):
            saved[name] = getattr(module, name)
            setattr(module, name, value)
        else:
            missing.append(name)
    try:
        yield missing
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


def rank_files(engine: Any, query: str, mode: str, k: int = TOP_K) -> list[str]:
    """File keys of the top ``k`` incidents for ``query`` in ``mode``, best first."""
    result = engine.search(query, k=k, mode=mode)
    return [file_key(hit.source) for hit in result.hits]


def run_variant(
    engine: Any, queries: Sequence[EvalQuery], variant: Variant
) -> tuple[dict[str, list[str]], list[str]]:
    """Rankings per qid for one variant, plus override names the search module lacks."""
    import ingest.search as search_module

    with module_overrides(search_module, variant.overrides) as missing:
        rankings = {q.qid: rank_files(engine, q.query, variant.mode) for q in queries}
    return rankings, missing


def split_queries(queries: Sequence[EvalQuery], split: str) -> list[EvalQuery]:
    """The queries of one split; ``all`` is every query."""
    return [q for q in queries if split == "all" or q.split == split]


def score_variant(
    queries: Sequence[EvalQuery], rankings: dict[str, list[str]]
) -> dict[str, dict[str, float]]:
    """Mean metrics per split for one variant's rankings."""
    per_query = {q.qid: query_metrics(rankings[q.qid], q.relevant) for q in queries}
    return {
        split: mean_metrics([per_query[q.qid] for q in split_queries(queries, split)])
        for split in SPLITS
    }


def relative_gain(hybrid: float, baseline: float) -> float:
    """Relative improvement of ``hybrid`` over ``baseline`` (inf when the baseline is 0)."""
    return (hybrid - baseline) / baseline if baseline else float("inf")


# -- reporting ----------------------------------------------------------------------------------
def format_table(scores: dict[str, dict[str, dict[str, float]]], split: str, n: int) -> str:
    """A Markdown table: one row per variant, one column per metric, for one split."""
    lines = [
        f"**{split}** ({n} queries)",
        "",
        "| mode | " + " | ".join(METRIC_NAMES) + " |",
        "| --- | " + " | ".join("---:" for _ in METRIC_NAMES) + " |",
    ]
    for name, by_split in scores.items():
        row = by_split[split]
        lines.append(f"| {name} | " + " | ".join(f"{row[m]:.3f}" for m in METRIC_NAMES) + " |")
    return "\n".join(lines)


def format_targets(scores: dict[str, dict[str, dict[str, float]]]) -> str:
    """Check the issue's targets per split: hybrid nDCG@10 >= 1.10 x best baseline, rel@1 >= 85%."""
    lines = ["| split | hybrid nDCG@10 | best baseline | gain | target >= +10% | rel@1 | >= 0.85 |"]
    lines.append("| --- | ---: | --- | ---: | --- | ---: | --- |")
    for split in SPLITS:
        hyb = scores["hybrid"][split]
        base_name = max(("lexical", "dense"), key=lambda m: scores[m][split]["nDCG@10"])
        base = scores[base_name][split]["nDCG@10"]
        gain = relative_gain(hyb["nDCG@10"], base)
        lines.append(
            f"| {split} | {hyb['nDCG@10']:.3f} | {base_name} {base:.3f} | {gain:+.1%} | "
            f"{'met' if gain >= 0.10 else 'NOT met'} | {hyb['rel@1']:.3f} | "
            f"{'met' if hyb['rel@1'] >= 0.85 else 'NOT met'} |"
        )
    return "\n".join(lines)


def format_gains(scores: dict[str, dict[str, dict[str, float]]], of: str = "hybrid") -> str:
    """Relative nDCG@10 gain of ``of`` over every other variant, per split."""
    lines = ["| over | " + " | ".join(SPLITS) + " |", "| --- |" + " ---: |" * len(SPLITS)]
    for name, by_split in scores.items():
        if name == of:
            continue
        gains = [relative_gain(scores[of][s]["nDCG@10"], by_split[s]["nDCG@10"]) for s in SPLITS]
        lines.append(f"| {name} | " + " | ".join(f"{g:+.1%}" for g in gains) + " |")
    return "\n".join(lines)


def format_failures(
    queries: Sequence[EvalQuery], rankings: dict[str, list[str]], mode: str, max_expected: int = 4
) -> str:
    """Dev queries whose top result is not relevant or whose nDCG@10 is below 0.5."""
    lines = []
    for q in split_queries(queries, "dev"):
        got = rankings[q.qid]
        m = query_metrics(got, q.relevant)
        if m["rel@1"] == 1.0 and m["nDCG@10"] >= 0.5:
            continue
        exact = [k for k, g in q.relevant.items() if g == 2]
        expected = ", ".join(exact[:max_expected]) + (" ..." if len(exact) > max_expected else "")
        top = ", ".join(f"{key}({q.relevant.get(key, 0)})" for key in got[:3]) or "(nothing)"
        lines.append(
            f"- {q.qid} {q.query!r}: nDCG@10 {m['nDCG@10']:.2f}, rel@1 {m['rel@1']:.0f}\n"
            f"  expected ({len(exact)} exact): {expected}\n  got (grade): {top}"
        )
    heading = f"Dev failures for {mode} (top result not relevant, or nDCG@10 < 0.5): {len(lines)}"
    return "\n".join([heading, *lines])


def heldout_failure_count(queries: Sequence[EvalQuery], rankings: dict[str, list[str]]) -> int:
    """How many held-out queries fail (count only; their details are not shown)."""
    return sum(
        1
        for q in split_queries(queries, "heldout")
        if query_metrics(rankings[q.qid], q.relevant)["rel@1"] == 0.0
    )


def per_query_dev_report(
    queries: Sequence[EvalQuery], all_rankings: dict[str, dict[str, list[str]]]
) -> list[dict[str, Any]]:
    """Per-query rankings and metrics of every variant, for dev queries only (JSON output)."""
    rows = []
    for q in split_queries(queries, "dev"):
        rows.append(
            {
                "qid": q.qid,
                "query": q.query,
                "relevant": q.relevant,
                "variants": {
                    name: {"got": r[q.qid], "metrics": query_metrics(r[q.qid], q.relevant)}
                    for name, r in all_rankings.items()
                },
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Build or reuse the index, evaluate every variant and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached index")
    parser.add_argument("--queries", type=Path, default=QUERIES_PATH)
    parser.add_argument("--json", type=Path, help="write dev per-query results here")
    parser.add_argument(
        "--index",
        type=Path,
        help="score this existing index instead of the cached one for the current code "
        "(for iterating on read-side ranking; it may predate the current extraction code)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ingest.embed import load_embedder
    from ingest.search import SearchEngine

    queries = load_queries(args.queries)
    files = corpus_files()
    bad = unknown_judged_keys(queries, {file_key(p) for p in files})
    if bad:
        print(f"error: judged files not in the corpus: {bad}", file=sys.stderr)
        return 2
    embedder = load_embedder()
    t0 = time.perf_counter()
    if args.index:
        index_dir, info = args.index, reuse_given_index(args.index, len(files))
    else:
        index_dir, info = build_or_reuse_index(files, embedder, rebuild=args.rebuild)
    print(
        f"index {index_dir.name} ({'reused' if info['reused'] else 'built'}): "
        f"{info['files']} files, {info['incidents']} incidents, model {info['model']}"
        f" [{time.perf_counter() - t0:.0f} s]"
    )
    judged = {k for q in queries for k in q.relevant}
    lost = [f for f in info["not_ingested"] if f["key"] in judged]
    if info["not_ingested"]:
        print(
            f"not ingested: {len(info['not_ingested'])} files, {len(lost)} of them judged: {lost}"
        )

    engine = SearchEngine.open(index_dir, embedder=embedder)
    all_rankings: dict[str, dict[str, list[str]]] = {}
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for variant in VARIANTS:
        t = time.perf_counter()
        rankings, missing = run_variant(engine, queries, variant)
        if missing:
            print(f"variant {variant.name} skipped: ingest.search has no {missing}")
            continue
        all_rankings[variant.name] = rankings
        scores[variant.name] = score_variant(queries, rankings)
        ms = (time.perf_counter() - t) * 1000 / len(queries)
        print(f"variant {variant.name}: {ms:.0f} ms/query")

    counts = {s: len(split_queries(queries, s)) for s in SPLITS}
    print(
        f"\nR@k = recall@k, MRR = MRR@{TOP_K}, rel@1 = share of queries whose top hit is relevant"
    )
    for split in SPLITS:
        print("\n" + format_table(scores, split, counts[split]))
    print("\nTargets (hybrid vs the better of lexical/dense):\n" + format_targets(scores))
    print("\nHybrid nDCG@10 gain over each variant:\n" + format_gains(scores))
    print("\n" + format_failures(queries, all_rankings["hybrid"], "hybrid"))
    print(
        f"\nHeld-out queries whose top hybrid result is not relevant: "
        f"{heldout_failure_count(queries, all_rankings['hybrid'])} of {counts['heldout']}"
        " (details withheld)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "index": info,
            "scores": scores,
            "dev": per_query_dev_report(queries, all_rankings),
        }
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

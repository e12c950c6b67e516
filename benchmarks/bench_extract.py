"""Speed of the spaCy pipeline + extraction against embedding the same sentences.

Reads postmortems (default: every file in /work/shared/corpora/public/incidents), splits them
into sections, runs ``analyze_many`` over all of them and then embeds every extracted sentence
with the real all-MiniLM-L6-v2 model. Prints sentences per second for both and the ratio
``(extract + embed) / embed``, the cost of ingest relative to embedding alone (target <= 1.5).
Also reports any document whose analysis raised, and checks every offset.

Usage:
    .venv/bin/python benchmarks/bench_extract.py [--limit N] [--no-embed] [--batch-size 64]
        [paths ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_DIR = Path("/work/shared/corpora/public/incidents")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="files or folders (default: public incidents)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-embed", action="store_true", help="skip the embedding baseline")
    parser.add_argument(
        "--rules-only", action="store_true", help="without the learned additions (learned.py)"
    )
    args = parser.parse_args(argv)
    if args.rules_only:
        from extraction_eval import use_rules_only

        use_rules_only()

    from ingest.extract import analyze_many
    from ingest.nlp import load_nlp, pipeline_info
    from ingest.read import read_document
    from ingest.sections import split_sections

    roots = [Path(p) for p in args.paths] or [DEFAULT_DIR]
    files = sorted(
        f for root in roots for f in ([root] if root.is_file() else root.rglob("*")) if f.is_file()
    )
    files = [f for f in files if f.suffix.lower() in (".md", ".txt", ".html", ".htm", ".markdown")]
    if args.limit:
        files = files[: args.limit]

    t0 = time.perf_counter()
    nlp = load_nlp()
    load_s = time.perf_counter() - t0
    items = []
    for path in files:
        document = read_document(path)
        items.append((document, split_sections(document)))
    chars = sum(len(d.text) for d, _ in items)

    t0, c0 = time.perf_counter(), time.process_time()
    analyses = list(analyze_many(items, nlp, batch_size=args.batch_size))
    extract_s, extract_cpu = time.perf_counter() - t0, time.process_time() - c0
    sentences = [s.text for a in analyses for s in a.sentences]

    bad_offsets = 0
    for (document, _), analysis in zip(items, analyses, strict=True):
        records = [*analysis.sentences, *analysis.causes, *analysis.actions, *analysis.impacts]
        bad_offsets += sum(document.text[r.start : r.end] != r.text for r in records)

    print(f"pipeline: {pipeline_info()}")
    print(f"documents: {len(items)}  characters: {chars}  sentences: {len(sentences)}")
    print(f"spaCy load: {load_s:.2f} s")
    print(
        f"extract: {extract_s:.2f} s  = {len(sentences) / extract_s:.0f} sentences/s"
        f"  ({chars / extract_s / 1000:.0f} k chars/s); CPU {extract_cpu:.2f} s"
        f" = {len(sentences) / extract_cpu:.0f} sentences per CPU-second"
    )
    fields = ("causes", "actions", "impacts", "timeline", "systems")
    means = {f: sum(len(getattr(a, f)) for a in analyses) / max(1, len(analyses)) for f in fields}
    print("per document: " + ", ".join(f"{f} {v:.1f}" for f, v in means.items()))
    print(f"offset mismatches: {bad_offsets}")
    if args.no_embed:
        return 0

    from ingest.embed import load_embedder

    embedder = load_embedder()
    embedder.encode(sentences[:64])  # warm up
    t0, c0 = time.perf_counter(), time.process_time()
    embedder.encode(sentences)
    embed_s, embed_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"embed: {embed_s:.2f} s  = {len(sentences) / embed_s:.0f} sentences/s;"
        f" CPU {embed_cpu:.2f} s (all threads)"
    )
    print(
        f"(extract + embed) / embed, wall = {(extract_s + embed_s) / embed_s:.2f}  (target <= 1.5)"
    )
    print(f"(extract + embed) / embed, CPU  = {(extract_cpu + embed_cpu) / embed_cpu:.2f}")
    print(f"load average during run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

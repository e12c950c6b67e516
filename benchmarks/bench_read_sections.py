"""Speed and structure figures for ingest.read + ingest.sections (no models).

Reads every file under the given folders (default: the seed corpus and the shared public and
structured corpora), splits it into sections and prints throughput, error counts and how
much structure was found per source prefix; then times two synthetic stress inputs (a 20 MB
Markdown file and a single 1 MB line) in a temporary folder.

Usage: .venv/bin/python benchmarks/bench_read_sections.py [FOLDER ...]
"""

from __future__ import annotations

import collections
import resource
import sys
import tempfile
import time
from pathlib import Path

from ingest.read import ReadError, discover_files, read_document
from ingest.sections import split_sections

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"
DEFAULT_FOLDERS = [ROOT / "corpus", SHARED / "public" / "incidents", SHARED / "structured"]


def source_of(path: str) -> str:
    """Group files by corpus: seed, dfds, wikitech, icco, mybinder, posthog."""
    name = Path(path).name
    parent = Path(path).parent.name
    if parent in ("dfds", "mybinder", "posthog"):
        return f"structured/{parent}"
    if parent == "corpus":
        return "seed"
    return name.split("-")[0]


def corpus_figures(folders: list[Path]) -> None:
    files, skipped = discover_files(folders)
    per_source: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    errors: list[tuple[str, str]] = []
    total_chars = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for path in files:
        try:
            document = read_document(path)
        except ReadError as error:
            errors.append((path, error.reason))
            continue
        sections = split_sections(document)
        counts = per_source[source_of(path)]
        total_chars += len(document.text)
        counts["files"] += 1
        counts["sections"] += len(sections)
        counts["files_with_headings"] += any(s.level > 0 for s in sections)
        for section in sections:
            for block in section.blocks:
                counts[block.kind] += 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(f"files: {len(files)}  skipped: {len(skipped)}  read errors: {len(errors)}")
    for path, reason in errors[:10]:
        print(f"  error: {path}: {reason}")
    print(
        f"read+split: {elapsed:.2f} s wall ({cpu:.2f} s CPU), {len(files) / cpu:.0f} files "
        f"and {total_chars / cpu / 1e6:.2f} M chars per CPU second"
    )
    kinds = ("paragraph", "list_item", "table_row", "code", "quote")
    print(f"{'source':22} files  w/headings  sections  " + "  ".join(kinds))
    for source, counts in sorted(per_source.items()):
        print(
            f"{source:22} {counts['files']:5}  {counts['files_with_headings']:10}  "
            f"{counts['sections']:8}  " + "  ".join(f"{counts[k]:{len(k)}}" for k in kinds)
        )


def stress_figures() -> None:
    with tempfile.TemporaryDirectory() as folder:
        unit = (
            "## Heading {n}\n\nThe API failed at 14:00 UTC because the pool was exhausted.\n\n"
            "- item one\n- item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        )
        big_md = Path(folder) / "big.md"
        with big_md.open("w", encoding="utf-8") as handle:
            n = 0
            while handle.tell() < 20_000_000:
                handle.write(unit.format(n=n))
                n += 1
        big_txt = Path(folder) / "big.txt"
        paragraph = (
            "This is a wrapped line of plain text that goes on for about seventy\n"
            "chars and then wraps onto the next line again and again and again.\n\n"
        )
        big_txt.write_text(paragraph * (20_000_000 // len(paragraph)), encoding="utf-8")
        line = Path(folder) / "line.md"
        line.write_text("word *a* [b](c) " * 65_000, encoding="utf-8")
        for path in (line, big_txt, big_md):
            started, cpu_started = time.perf_counter(), time.process_time()
            document = read_document(path)
            read_wall, read_cpu = time.perf_counter() - started, time.process_time() - cpu_started
            sections = split_sections(document)
            split_wall = time.perf_counter() - started - read_wall
            split_cpu = time.process_time() - cpu_started - read_cpu
            blocks = sum(len(s.blocks) for s in sections)
            print(
                f"{path.name:9} {path.stat().st_size / 1e6:5.1f} MB: "
                f"read {read_wall:5.2f} s wall / {read_cpu:5.2f} s CPU, "
                f"split {split_wall:6.2f} s wall / {split_cpu:6.2f} s CPU "
                f"({len(sections)} sections, {blocks} blocks)"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB")


def main(argv: list[str]) -> None:
    folders = [Path(arg) for arg in argv] or [f for f in DEFAULT_FOLDERS if f.exists()]
    corpus_figures(folders)
    stress_figures()


if __name__ == "__main__":
    main(sys.argv[1:])

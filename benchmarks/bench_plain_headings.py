"""How well does the plain-text heading heuristic find real headings?

The structured public postmortems (dfds, mybinder, posthog) mark their headings in Markdown.
This script removes the markup of every heading (``## Timeline`` -> ``Timeline``, setext
underlines dropped, bold one-line sub-headings unwrapped, table header rows dropped and
table pipes removed), splits the result as *plain text* (list markers stay: plain text uses
them too) and compares
the heading lines found with the Markdown ones. Prints precision and recall per source.

Usage: .venv/bin/python benchmarks/bench_plain_headings.py [STRUCTURED_FOLDER]
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

from ingest.read import read_document
from ingest.records import Document
from ingest.sections import split_sections

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT.parent / "shared" / "corpora" / "structured"

_ATX = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-{3,}")
_FENCE = re.compile(r"^\s*(```|~~~)")


def plain_version(document: Document) -> tuple[str, set[str]]:
    """The document as plain text, and the set of its heading lines (whitespace-normalized)."""
    sections = split_sections(document)
    gold = {
        " ".join(document.text[s.heading_start : s.heading_end].split()).strip("*_ :")
        for s in sections
        if s.level > 0
    }
    lines: list[str] = []
    in_fence = False
    for line in document.text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or _SETEXT_UNDERLINE.match(line):
            continue
        if _TABLE_DELIMITER.match(line) and "|" in line:
            if lines and "|" in lines[-1]:
                lines.pop()  # a table's header row ("Time | Event") is not prose
            continue
        atx = _ATX.match(line)
        if atx:
            line = atx.group(1)
        lines.append(line)
    lines = [
        line.replace("**", "").replace("__", "").strip("|").replace(" | ", " ") for line in lines
    ]
    return "\n".join(lines), gold


def evaluate(folder: Path) -> None:
    totals: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for path in sorted(folder.glob("*/*.md")):
        document = read_document(path)
        text, gold = plain_version(document)
        plain = Document(path=str(path), text=text, format="text", sha256="")
        sections = split_sections(plain, parse_as="text")  # no Markdown sniff
        found = {
            " ".join(text[s.heading_start : s.heading_end].split()).strip("*_ :")
            for s in sections
            if s.level > 0
        }
        counts = totals[path.parent.name]
        counts["files"] += 1
        counts["gold"] += len(gold)
        counts["found"] += len(found)
        counts["correct"] += len(found & gold)
    print(f"{'source':10} files  gold  found  correct  precision  recall")
    overall: collections.Counter[str] = collections.Counter()
    for source, counts in sorted(totals.items()):
        overall.update(counts)
        report(source, counts)
    report("all", overall)


def report(name: str, counts: collections.Counter[str]) -> None:
    precision = counts["correct"] / counts["found"] if counts["found"] else 0.0
    recall = counts["correct"] / counts["gold"] if counts["gold"] else 0.0
    print(
        f"{name:10} {counts['files']:5}  {counts['gold']:4}  {counts['found']:5}  "
        f"{counts['correct']:7}  {precision:9.3f}  {recall:6.3f}"
    )


if __name__ == "__main__":
    evaluate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER)

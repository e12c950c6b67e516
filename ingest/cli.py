"""`pmkb`: the command line. Argument parsing and output formatting only.

Every command works on an index directory (``--index``, default ``index/``, or the
``PMKB_INDEX`` environment variable). Library errors become one-line messages.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import IncidentNotFound, PmkbError

DEFAULT_INDEX = "index"
DEFAULT_CORPUS = "corpus"
EXPORT_COLUMNS = (
    "incident_id",
    "source",
    "title",
    "date",
    "category_id",
    "category",
    "cause",
    "confidence",
    "start",
    "end",
)
F = TypeVar("F", bound=Callable[..., Any])


def index_option(fn: F) -> F:
    """The shared ``--index DIR`` option."""
    return click.option(
        "--index",
        "index_dir",
        default=lambda: os.environ.get("PMKB_INDEX", DEFAULT_INDEX),
        show_default="index/ (or $PMKB_INDEX)",
        type=click.Path(file_okay=False),
        help="Index directory.",
    )(fn)


def friendly_errors(fn: F) -> F:
    """Turn library errors into a clean message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PmkbError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _engine(index_dir: str) -> Any:
    from .search import SearchEngine

    return SearchEngine.open(index_dir)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="postmortem-kb")
def cli() -> None:
    """postmortem-kb: a local knowledge base of incident postmortems.

    \b
    Example:
      pmkb ingest corpus/ && pmkb search "incidents caused by retries"
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@index_option
@click.option("--rebuild", is_flag=True, help="Start a fresh index instead of updating.")
@click.option("--prune", is_flag=True, help="Remove incidents whose files are gone.")
@click.option(
    "--strict", is_flag=True, help="Exit 1 if any file was skipped (or nothing was ingested)."
)
@click.option(
    "--max-chars",
    type=click.IntRange(1000),
    default=None,
    help="Skip texts longer than this many characters  [default: 200000].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly_errors
def ingest(
    paths: tuple[str, ...],
    index_dir: str,
    rebuild: bool,
    prune: bool,
    strict: bool,
    max_chars: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Read postmortems (.md, .txt, .html; folders recursively) into the index.

    Unchanged files are skipped, changed files replace their old version, and the index
    on disk is replaced atomically at the end. A file that cannot be read is skipped
    with a reason (listed at the end) and the rest go on. Exit status: 0 when some
    given file is in the index, 1 when none is (or, with --strict, when any file was
    skipped), 2 on an error such as "index is locked".

    \b
    Example:
      pmkb ingest corpus/ ~/postmortems --index index/
    """
    from .pipeline import MAX_DOC_CHARS, REEXTRACTED, ingest_paths

    report = ingest_paths(
        list(paths) or [DEFAULT_CORPUS],
        index_dir,
        prune=prune,
        rebuild=rebuild,
        progress=not quiet and sys.stderr.isatty(),
        max_chars=max_chars or MAX_DOC_CHARS,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        counts = report.to_dict()["counts"]
        click.echo(
            f"indexed {report.incidents} incidents in {report.index_dir} "
            f"({counts['added']} added, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['duplicate']} duplicate, "
            f"{counts['removed']} removed, {counts['skipped']} skipped) "
            f"in {report.seconds:.1f}s"
        )
        for o in report.by_status("duplicate"):
            click.echo(f"  duplicate: {o.source}: {o.detail}")
        if report.skipped:
            click.echo(f"skipped {len(report.skipped)} file(s):", err=True)
            for o in report.skipped:
                click.echo(f"  skipped: {o.source}: {o.detail}", err=True)
        reextracted = [o for o in report.outcomes if o.detail == REEXTRACTED]
        if reextracted:
            click.echo(f"analysed {len(reextracted)} unchanged file(s) again: {REEXTRACTED}")
        if report.stale_sources:
            shown = ", ".join(report.stale_sources[:3])
            more = (
                f" (+{len(report.stale_sources) - 3} more)" if len(report.stale_sources) > 3 else ""
            )
            click.echo(
                f"note: {len(report.stale_sources)} incident(s) were extracted by older rules "
                f"and keep their old causes, timeline and actions until their files are "
                f"ingested again: {shown}{more}",
                err=True,
            )
        if report.exit_code() != 0:
            click.echo("error: nothing was ingested", err=True)
    sys.exit(report.exit_code(strict=strict))


def _print_hit(rank: int, hit: Any) -> None:
    meta = " · ".join(x for x in (hit.organization, hit.date, ", ".join(hit.categories)) if x)
    click.echo(
        f"{rank:>2}. {click.style(hit.title, bold=True)}  [{hit.incident_id}]  "
        f"score {hit.score:.4f}"
    )
    if meta:
        click.echo(f"    {meta}")
    click.echo(f"    {hit.source}")
    for ev in hit.evidence:
        text = " ".join(ev.text.split())
        click.echo(
            textwrap.fill(
                f"[{ev.section}] {text}",
                width=100,
                initial_indent="    > ",
                subsequent_indent="      ",
            )
        )


@cli.command()
@click.argument("query", required=False)
@click.option(
    "-k",
    "k",
    default=10,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Number of incidents.",
)
@click.option(
    "--section",
    type=click.Choice(["any", "cause", "timeline", "action", "impact"]),
    default="any",
    show_default=True,
    help="Only sentences of this role.",
)
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "dense", "lexical"]),
    default="hybrid",
    show_default=True,
    help="Retrieval mode.",
)
@click.option("--category", help="Only incidents with this cause category id (see pmkb taxonomy).")
@click.option("--system", help="Only incidents involving this system (e.g. mongodb).")
@click.option("--organization", "--org", "organization", help="Only this organisation.")
@click.option("--year", type=int, help="Only incidents of this year.")
@click.option(
    "--queries",
    type=click.File("r", encoding="utf-8"),
    help="Answer one query per line of FILE (JSON Lines out with --json).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@index_option
@friendly_errors
def search(
    query: str | None,
    k: int,
    section: str,
    mode: str,
    category: str | None,
    system: str | None,
    organization: str | None,
    year: int | None,
    queries: Any,
    as_json: bool,
    index_dir: str,
) -> None:
    """Find incidents matching QUERY, best first, each with its evidence sentences.

    \b
    Example:
      pmkb search "incidents caused by retries" -k 5 --json
    """
    if not query and queries is None:
        raise click.UsageError("give a QUERY or --queries FILE")
    engine = _engine(index_dir)
    kwargs = dict(
        k=k,
        section=section,
        mode=mode,
        category=category,
        system=system,
        organization=organization,
        year=year,
    )
    texts = [q.strip() for q in queries if q.strip()] if queries is not None else [query]
    for text in texts:
        result = engine.search(text, **kwargs)
        if as_json:
            click.echo(
                json.dumps(
                    result.to_dict(), ensure_ascii=False, indent=None if queries is not None else 2
                )
            )
            continue
        click.echo(f"query: {text}  ({result.reading.describe()})")
        if not result.hits:
            click.echo("  no matching incidents; try fewer words or --section any")
        for rank, hit in enumerate(result.hits, 1):
            _print_hit(rank, hit)
        click.echo()


def _system_line(system: Any) -> str:
    """A system as one line: "MongoDB (datastore, 3x)", or "PoolCounter (3x)" without a kind."""
    details = [system.kind] if system.kind else []
    return f"{system.name} ({', '.join([*details, f'{system.mentions}x'])})"


@cli.command()
@click.argument("incident_id")
@click.option("--json", "as_json", is_flag=True, help="Print the full record as JSON.")
@index_option
@friendly_errors
def show(incident_id: str, as_json: bool, index_dir: str) -> None:
    """Print one incident: title, summary, causes, timeline, actions, impact, systems.

    \b
    Example:
      pmkb show 001-18547d42d4387836-0c1f2a --json
    """
    from .store import KnowledgeBase

    kb = KnowledgeBase.open(index_dir)
    inc = kb.incident(incident_id)
    if inc is None:
        raise IncidentNotFound(incident_id)
    if as_json:
        click.echo(json.dumps(inc.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(click.style(inc.title, bold=True))
    click.echo(
        " · ".join(x for x in (inc.organization, inc.date or inc.date_note, inc.source) if x)
    )
    if inc.summary:
        click.echo("\nSummary\n  " + "\n  ".join(" ".join(s.split()) for s in inc.summary))
    if inc.categories:
        click.echo(
            "\nCategories: "
            + ", ".join(f"{c.category} ({c.confidence:.2f})" for c in inc.categories)
        )
    sections: list[tuple[str, list[str]]] = [
        (
            "Causes",
            [
                f"[{c.kind}] {c.text}"
                + (
                    f"  ({', '.join(cs.category_id for cs in c.categories)})"
                    if c.categories
                    else ""
                )
                for c in inc.causes
            ],
        ),
        (
            "Timeline",
            [f"{e.iso or e.time_text or '?':<22} {e.kind:<10} {e.text}" for e in inc.timeline],
        ),
        ("Actions", [f"[{a.status}] {a.text}" for a in inc.actions]),
        ("Impact", [i.text for i in inc.impacts]),
        ("Systems", [_system_line(s) for s in inc.systems]),
    ]
    for name, lines in sections:
        click.echo(f"\n{name}")
        if not lines:
            click.echo("  (none found)")
        for line in lines:
            click.echo(
                textwrap.fill(
                    " ".join(line.split()),
                    width=100,
                    initial_indent="  - ",
                    subsequent_indent="    ",
                )
            )


@cli.command()
@click.argument("incident_id")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True)
@index_option
@friendly_errors
def similar(incident_id: str, k: int, as_json: bool, index_dir: str) -> None:
    """Incidents most like INCIDENT_ID (by causes first, then the whole text).

    \b
    Example:
      pmkb similar 000-b8c8c00f2bf6ff1e-5d1e0c -k 3
    """
    hits = _engine(index_dir).similar(incident_id, k=k)
    if as_json:
        click.echo(
            json.dumps(
                {"incident_id": incident_id, "results": [h.to_dict() for h in hits]}, indent=2
            )
        )
        return
    for rank, hit in enumerate(hits, 1):
        _print_hit(rank, hit)


def write_causes(rows: Any, out: Any, fmt: str) -> int:
    """Write cause rows as RFC 4180 CSV (fixed column order) or a JSON array; return count."""
    n = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            row = dict(row, confidence=f"{row['confidence']:.3f}")
            writer.writerow([row[c] for c in EXPORT_COLUMNS])
            n += 1
    else:
        items = [{c: r[c] for c in EXPORT_COLUMNS} | {"kind": r["kind"]} for r in rows]
        json.dump(items, out, ensure_ascii=False, indent=2)
        out.write("\n")
        n = len(items)
    return n


@cli.command("export-causes")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    help="Output file (default: standard output).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@index_option
@friendly_errors
def export_causes(output: str | None, fmt: str, index_dir: str) -> None:
    """Export every cause with its categories: one row per (cause, category).

    Columns: incident_id, source, title, date, category_id, category, cause, confidence,
    start, end (UTF-8, RFC 4180 quoting).

    \b
    Example:
      pmkb export-causes -o causes.csv
    """
    from .store import KnowledgeBase

    kb = KnowledgeBase.open(index_dir)
    if output:
        tmp = Path(output).with_name(f".{Path(output).name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            n = write_causes(kb.cause_rows(), fh, fmt)
        os.replace(tmp, output)
        click.echo(f"wrote {n} rows to {output}", err=True)
    else:
        write_causes(kb.cause_rows(), sys.stdout, fmt)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@index_option
@friendly_errors
def taxonomy(as_json: bool, index_dir: str) -> None:
    """Counts of incidents and causes per cause category.

    \b
    Example:
      pmkb taxonomy
    """
    from .store import KnowledgeBase

    counts = KnowledgeBase.open(index_dir).category_counts()
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    click.echo(f"{'category':<32} {'incidents':>9} {'causes':>7}")
    for row in counts:
        click.echo(
            f"{row['category'] + ' (' + row['category_id'] + ')':<32} "
            f"{row['incidents']:>9} {row['causes']:>7}"
        )


@cli.command()
@click.option(
    "--threshold",
    default=0.6,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Cosine similarity that joins two causes.",
)
@click.option("--min-incidents", default=2, show_default=True, type=click.IntRange(2))
@click.option("--json", "as_json", is_flag=True)
@index_option
@friendly_errors
def patterns(threshold: float, min_incidents: int, as_json: bool, index_dir: str) -> None:
    """Recurring causes: similar cause sentences shared by several incidents.

    Finds patterns the taxonomy does not name, e.g. "these 6 incidents share this cause".

    \b
    Example:
      pmkb patterns --min-incidents 3
    """
    from .patterns import cause_items, pattern_rows, recurring_patterns
    from .store import KnowledgeBase

    kb = KnowledgeBase.open(index_dir)
    clusters = recurring_patterns(kb, threshold=threshold, min_incidents=min_incidents)
    rows = pattern_rows(kb, cause_items(kb), clusters)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no cause is shared by enough incidents; try a lower --threshold")
    for row in rows:
        click.echo(click.style(f"{row['incidents']} incidents share: {row['label']}", bold=True))
        for member in row["members"]:
            line = " ".join(member["cause"].split())
            click.echo(textwrap.shorten(f"  - {member['title']}: {line}", width=110))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@index_option
@friendly_errors
def stats(as_json: bool, index_dir: str) -> None:
    """Summarise the index: counts, roles, years, model.

    \b
    Example:
      pmkb stats --json
    """
    from .store import KnowledgeBase

    kb = KnowledgeBase.open(index_dir)
    data = kb.stats()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:<18} {value}")
    click.echo("\nincidents:")
    for row in kb.incident_rows():
        click.echo(f"  {row['incident_id']:<40} {row['date'] or '----------':<10} {row['title']}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pmkb")


if __name__ == "__main__":
    main()

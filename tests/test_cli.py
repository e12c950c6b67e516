"""The pmkb command line: every command, JSON contracts, CSV columns, clean errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from ingest.cli import EXPORT_COLUMNS, _system_line, cli
from ingest.records import System


@pytest.fixture()
def run(seed_index_fake, monkeypatch):
    monkeypatch.setenv("PMKB_INDEX", str(seed_index_fake))

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help and "Example" in result.output, name


def test_search_json_contract(run, corpus_dir):
    result = run("search", "MongoDB connections", "--json", "-k", "3")
    data = json.loads(result.output)
    assert data["query"] == "MongoDB connections"
    assert 0 < len(data["results"]) <= 3
    first = data["results"][0]
    assert {"incident_id", "source", "title", "score", "evidence"} <= set(first)
    # source is the path of the ingested file as it was given to ingest
    assert first["source"].startswith(str(corpus_dir) + "/")


def test_batch_queries_emit_json_lines(run, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("MTU\n\nduplicate emails\n")
    lines = run("search", "--queries", str(queries), "--json").output.strip().splitlines()
    assert [json.loads(line)["query"] for line in lines] == ["MTU", "duplicate emails"]


def test_show_text_and_json(run, seed_index_fake):
    listing = json.loads(run("search", "MTU", "--json", "-k", "1").output)
    incident_id = listing["results"][0]["incident_id"]
    text = run("show", incident_id).output
    assert "Causes" in text and "Timeline" in text and "Actions" in text
    record = json.loads(run("show", incident_id, "--json").output)
    assert record["incident_id"] == incident_id
    for key in ("causes", "timeline", "actions", "impacts", "systems", "sentences"):
        assert key in record


def test_export_causes_csv_columns(run, tmp_path):
    out = tmp_path / "causes.csv"
    run("export-causes", "-o", str(out))
    raw = out.read_bytes()
    assert raw.startswith(b"incident_id,source,title,date,category_id,category,cause,")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert len(rows) > 1 and all(len(r) == len(EXPORT_COLUMNS) for r in rows)
    data = json.loads(run("export-causes", "--format", "json").output)
    assert len(data) == len(rows) - 1


def test_stats_and_taxonomy(run):
    stats = json.loads(run("stats", "--json").output)
    assert stats["incidents"] == 5
    assert "category" in run("taxonomy").output


def test_errors_are_messages_not_tracebacks(tmp_path, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(cli, ["search", "x", "--index", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no index" in result.output and "Traceback" not in result.output
    monkeypatch.setenv("PMKB_INDEX", str(tmp_path / "none"))
    result = runner.invoke(cli, ["ingest", str(tmp_path / "empty-dir-missing")])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_unknown_incident_is_a_message(run):
    result = CliRunner().invoke(cli, ["show", "no-such-id"])
    assert result.exit_code == 2
    assert "no incident with id" in result.output


def test_patterns_groups_similar_causes_across_incidents(tmp_path, nlp):
    from ingest.embed import HashingEmbedder
    from ingest.pipeline import ingest_paths

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, cause in (
        ("a", "The outage was caused by an expired TLS certificate on the load balancer."),
        ("b", "The outage was caused by an expired TLS certificate on the API gateway."),
        ("c", "A full disk on the database host stopped all writes."),
    ):
        (docs / f"{name}.md").write_text(f"# Incident {name}\n\n## Root cause\n\n{cause}\n")
    index = tmp_path / "ix"
    ingest_paths([str(docs)], index, embedder=HashingEmbedder(64), nlp=nlp)
    result = CliRunner().invoke(
        cli, ["patterns", "--json", "--threshold", "0.5", "--index", str(index)]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and rows[0]["incidents"] == 2
    assert {m["incident_id"][:1] for m in rows[0]["members"]} == {"a", "b"}


def test_a_system_without_a_kind_prints_no_empty_field():
    assert _system_line(System("MongoDB", "datastore", 3)) == "MongoDB (datastore, 3x)"
    assert _system_line(System("PoolCounter", "", 2)) == "PoolCounter (2x)"


def test_ingest_says_which_files_new_rules_analysed_again_and_which_are_stale(
    tmp_path, nlp, monkeypatch
):
    import shutil
    from pathlib import Path

    from ingest import pipeline
    from ingest.embed import HashingEmbedder

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, seed in zip(("a.txt", "b.txt"), sorted(Path("corpus").glob("*.txt")), strict=False):
        shutil.copy(seed, docs / name)
    index = tmp_path / "ix"
    pipeline.ingest_paths([str(docs)], index, embedder=HashingEmbedder(64), nlp=nlp)
    monkeypatch.setattr(pipeline, "load_embedder", lambda: HashingEmbedder(64))
    monkeypatch.setattr(pipeline, "extractor_fingerprint", lambda root=None: "new-rules")
    result = CliRunner().invoke(cli, ["ingest", str(docs / "a.txt"), "--index", str(index)])
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output
    assert "analysed 1 unchanged file(s) again: extraction rules changed" in result.output
    assert "1 incident(s) were extracted by older rules" in result.output
    assert str(docs / "b.txt") in result.output

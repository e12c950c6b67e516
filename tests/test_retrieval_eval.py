"""Tests for the retrieval benchmark runner's pure parts and for the judged query set."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import retrieval_eval as rev  # noqa: E402

QUERIES = rev.load_queries(rev.QUERIES_PATH)


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("/c/public/incidents/dfds-PM2021-008.md", "dfds-PM2021-008.md"),
        ("/c/public/incidents/wikitech-20150820-OCSP.txt", "wikitech-20150820-OCSP.txt"),
        ("/c/structured/mybinder/2018-01-18-reddit-hug.md", "mybinder/2018-01-18-reddit-hug.md"),
        ("/c/structured/posthog/p.md", "posthog/p.md"),
        ("relative/mybinder/x.md", "x.md"),  # only under structured/ is the folder kept
    ],
)
def test_file_key(source, key):
    assert rev.file_key(source) == key


def test_query_set_is_well_formed():
    qids = [q.qid for q in QUERIES]
    assert len(qids) == len(set(qids)) >= 50
    assert len({q.query for q in QUERIES}) == len(QUERIES)
    for q in QUERIES:
        assert q.split in ("dev", "heldout")
        assert set(q.relevant.values()) <= {1, 2}, q.qid
        assert 2 in q.relevant.values(), f"{q.qid} has no grade-2 file"
        for key in q.relevant:
            assert "/" not in key or key.split("/")[0] in rev.STRUCTURED_FOLDERS, key


def test_about_a_third_of_queries_are_held_out():
    held = sum(q.split == "heldout" for q in QUERIES)
    assert 0.25 <= held / len(QUERIES) <= 0.40


def test_unknown_judged_keys_reports_typos():
    queries = [rev.EvalQuery("q1", "x", "dev", {"a.md": 2, "typo.md": 1})]
    assert rev.unknown_judged_keys(queries, {"a.md"}) == [("q1", "typo.md")]


def test_load_queries_reads_jsonl(tmp_path):
    path = tmp_path / "q.jsonl"
    rec = {"qid": "q1", "query": "cert expired", "split": "dev", "relevant": {"a.md": "2"}}
    path.write_text(json.dumps(rec) + "\n\n")
    (q,) = rev.load_queries(path)
    assert q.relevant == {"a.md": 2} and q.note == ""


def test_index_key_depends_on_code_model_and_files(tmp_path):
    a = tmp_path / "a.md"
    a.write_text("one")
    b = tmp_path / "b.md"
    b.write_text("two")
    base = rev.index_key("code1", "model", [a, b])
    assert rev.index_key("code1", "model", [a, b]) == base
    assert rev.index_key("code2", "model", [a, b]) != base
    assert rev.index_key("code1", "other-model", [a, b]) != base
    assert rev.index_key("code1", "model", [a]) != base
    b.write_text("two, longer now")
    assert rev.index_key("code1", "model", [a, b]) != base


def test_code_fingerprint_ignores_read_side_modules(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "store.py").write_text("X = 1\n")
    (pkg / "search.py").write_text("RRF_K = 60\n")
    before = rev.code_fingerprint(pkg)
    (pkg / "search.py").write_text("RRF_K = 10\n")
    assert rev.code_fingerprint(pkg) == before
    (pkg / "store.py").write_text("X = 2\n")
    assert rev.code_fingerprint(pkg) != before


def test_module_overrides_restores_values_and_reports_missing():
    module = types.SimpleNamespace(ROLE_BOOST=1.0)
    with rev.module_overrides(module, [("ROLE_BOOST", 0.0), ("NOPE", 0.0)]) as missing:
        assert module.ROLE_BOOST == 0.0
        assert missing == ["NOPE"]
    assert module.ROLE_BOOST == 1.0
    assert not hasattr(module, "NOPE")


def test_score_variant_and_targets_on_hand_made_rankings():
    queries = [
        rev.EvalQuery("q1", "a", "dev", {"a.md": 2}),
        rev.EvalQuery("q2", "b", "heldout", {"b.md": 2}),
    ]
    perfect = rev.score_variant(queries, {"q1": ["a.md"], "q2": ["b.md"]})
    half = rev.score_variant(queries, {"q1": ["a.md"], "q2": ["x.md"]})
    assert perfect["all"]["rel@1"] == 1.0
    assert half["dev"]["rel@1"] == 1.0 and half["heldout"]["rel@1"] == 0.0
    assert half["all"]["nDCG@10"] == pytest.approx(0.5)
    scores = {"lexical": half, "dense": half, "hybrid": perfect}
    table = rev.format_targets(scores)
    assert "| all | 1.000 | lexical 0.500 | +100.0% | met | 1.000 | met |" in table
    gains = rev.format_gains(scores)
    assert "| lexical | +0.0% | +inf% | +100.0% |" in gains
    assert "| hybrid |" not in gains
    assert rev.relative_gain(0.55, 0.5) == pytest.approx(0.10)


def test_failures_list_dev_queries_only():
    queries = [
        rev.EvalQuery("q1", "dev miss", "dev", {"a.md": 2}),
        rev.EvalQuery("q2", "held miss", "heldout", {"b.md": 2}),
    ]
    rankings = {"q1": ["x.md", "a.md"], "q2": ["y.md"]}
    text = rev.format_failures(queries, rankings, "hybrid")
    assert "dev miss" in text and "held miss" not in text
    assert "got (grade): x.md(0), a.md(2)" in text
    assert rev.heldout_failure_count(queries, rankings) == 1

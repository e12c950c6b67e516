"""The logic of benchmarks/extraction_agreement.py: matching two readers' labels (no model)."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def xa():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module("extraction_agreement")


def test_compare_counts_matches_lonely_items_spans_and_labels(xa) -> None:
    reader1 = [
        {"start": 0, "end": 40, "kind": "trigger"},
        {"start": 50, "end": 90, "kind": "contributing"},
        {"start": 100, "end": 120, "kind": "root_cause"},  # reader 2 misses it
    ]
    reader2 = [
        {"start": 0, "text": "x" * 40, "kind": "trigger"},  # same span, given by its text
        {"start": 60, "end": 90, "kind": "root_cause"},  # overlaps 30 of 30: a match
        {"start": 200, "end": 230, "kind": "trigger"},  # reader 1 did not take it
    ]
    got, only1, only2 = xa.compare(reader1, reader2, "causes")
    assert (got.counts.gold, got.counts.gold_ok, got.counts.pred, got.counts.pred_ok) == (
        3,
        2,
        3,
        2,
    )
    assert only1 == [2] and only2 == [2]
    assert got.same_span == 1
    assert got.label_same == 1 and got.label_total == 2
    assert got.label_pairs[("contributing", "root_cause")] == 1


def test_compare_has_no_label_agreement_for_impacts(xa) -> None:
    got, _, _ = xa.compare([{"start": 0, "end": 10}], [{"start": 0, "end": 10}], "impacts")
    assert got.counts.f1 == 1.0 and got.label_total == 0 and got.same_span == 1


def test_agreement_table_sums_per_source_and_skips_unlabelled_fields(xa) -> None:
    item = {"start": 0, "text": "abc", "status": "planned"}
    reader1 = {
        "a.txt": {"labelled": ["causes", "actions"], "causes": [], "actions": [item]},
        "b.txt": {"labelled": ["actions"], "causes": [item], "actions": [item]},
    }
    reader2 = [
        {"doc": "x/a.txt", "source": "s", "labelled": ["actions", "impacts"], "actions": [item]},
        {"doc": "x/b.txt", "source": "s", "labelled": ["causes", "actions"], "causes": [],
         "actions": [{**item, "status": "done"}]},
    ]  # fmt: skip
    table, lonely = xa.agreement_table(reader1, reader2)
    assert set(table) == {("s", "actions")}  # causes: b.txt not labelled by reader 1
    actions = table[("s", "actions")]
    assert actions.counts.f1 == 1.0 and actions.label_same == 1 and actions.label_total == 2
    assert lonely == []
    assert "| s | actions | 2 | 2 | 1.00 | 1.00 | 1.00 | 2/2 | status 1/2 (0.50) |" in (
        xa.format_table(table)
    )


def test_load_rater2_fills_icco_text_from_offsets_and_checks_sha(xa, tmp_path: Path) -> None:
    corpus = tmp_path / "corpora"
    (corpus / "public").mkdir(parents=True)
    text = "The disk filled up. We will add an alert."
    (corpus / "public" / "doc.md").write_text(text, encoding="utf-8")
    labels = tmp_path / "labels" / "icco"
    labels.mkdir(parents=True)
    label = {
        "doc": "public/doc.md",
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "labelled": ["causes", "actions"],
        "causes": [{"start": 0, "end": 19, "kind": "root_cause"}],
        "actions": [{"start": 20, "end": 41, "status": "planned"}],
    }
    (labels / "doc.json").write_text(json.dumps(label), encoding="utf-8")
    (record,) = xa.load_rater2(corpus, tmp_path / "labels")
    assert record["source"] == "icco"
    assert record["causes"][0]["text"] == "The disk filled up."
    assert record["actions"][0]["text"] == "We will add an alert."
    (corpus / "public" / "doc.md").write_text(text + " ", encoding="utf-8")
    with pytest.raises(SystemExit, match="sha256"):
        xa.load_rater2(corpus, tmp_path / "labels")


def test_second_reader_wikitech_labels_are_exact_substrings_of_dev_reports(xa) -> None:
    paths = sorted((xa.RATER2_DIR / "wikitech").glob("*.json"))
    assert len(paths) == 6
    for path in paths:
        label = json.loads(path.read_text(encoding="utf-8"))
        gold = json.loads((ROOT / "tests/gold/labels/wikitech" / path.name).read_text("utf-8"))
        assert gold["split"] == label["split"] == "dev"
        source = (ROOT / label["doc"]).read_text(encoding="utf-8")
        for name in xa.FIELDS:
            for item in label[name]:
                assert source[item["start"] : item["start"] + len(item["text"])] == item["text"]


def test_a_reader_record_is_scored_on_the_fields_it_labelled_only(xa) -> None:
    record = {"doc": "x.md", "labelled": ["causes", "actions"], "causes": [{"start": 0}]}
    gold = xa.as_gold(record)
    assert gold["labelled"] == ["causes", "actions"]
    assert gold["timeline"] == [] and gold["impacts"] == []
    assert gold["causes"] == [{"start": 0}]
    assert xa.as_gold({"doc": "y.md"})["labelled"] == ["causes", "actions", "impacts"]

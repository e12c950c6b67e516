"""The logic of benchmarks/taxonomy_agreement.py: sampling, agreement figures, regex replay."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def ta():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    return importlib.import_module("taxonomy_agreement")


def test_agreement_counts_f1_and_kappa_per_category(ta) -> None:
    rater1 = {"a": ["x"], "b": ["x", "y"], "c": []}
    rater2 = {"a": ["x"], "b": ["x"], "c": ["y"], "d": ["x"]}  # "d" is not shared: ignored
    x, y, z = ta.agreement(rater1, rater2, ["x", "y", "z"])
    assert (x.both, x.only1, x.only2, x.neither) == (2, 0, 0, 1)
    assert x.f1 == 1.0 and x.kappa == pytest.approx(1.0)
    assert (y.both, y.only1, y.only2, y.neither) == (0, 1, 1, 1)
    assert y.f1 == 0.0 and y.kappa == pytest.approx(-0.5)  # (1/3 - 5/9) / (1 - 5/9)
    assert z.support == 0 and z.kappa is None  # nobody used it: kappa undefined
    assert ta.macro([x, y, z]) == pytest.approx(0.5)  # over categories rater1 used
    assert ta.pooled_f1([x, y, z]) == pytest.approx(4 / 6)


def test_bootstrap_interval_brackets_perfect_agreement(ta) -> None:
    labels = {f"r{i}": ["x"] if i % 2 else ["y"] for i in range(10)}
    assert ta.bootstrap_macro(labels, labels, ["x", "y"], rounds=50) == (1.0, 1.0)


def test_sample_keys_takes_dev_keys_in_salted_hash_order(ta) -> None:
    keys = {f"wikitech-{i}.txt": f"wikitech-{i}.txt" for i in range(40)}
    fixed = {"wikitech-0.txt": "heldout2", "wikitech-1.txt": "heldout2"}
    chosen = ta.sample_keys(keys, fixed, n=5, salt="s:")
    assert len(chosen) == 5 and not set(chosen) & set(fixed)
    for key in chosen:
        assert ta.te.LabelledDoc(key, Path(key), "", frozenset(), {}).split == "dev"
    order = [hashlib.sha256(("s:" + k).encode()).hexdigest() for k in chosen]
    assert order == sorted(order)


def test_label_keys_reads_only_the_key_column(ta, tmp_path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text(
        "# header\nwikitech-a.txt network\n#! split heldout2\nwikitech-b.txt capacity\n",
        encoding="utf-8",
    )
    assert ta.label_keys(labels) == {
        "wikitech-a.txt": "wikitech-a.txt",
        "wikitech-b.txt": "wikitech-b.txt",
    }


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("One slow shard started a cascading failure across the fleet.", {"cascading-failure"}),
        ("The deployment of the new build went wrong.", {"config-change"}),
        ("We deployed a new build.", set()),  # the pattern is \bdeploy(ment)?\b: not "deployed"
        ("A power outage in the hall took racks offline.", {"hardware"}),
        ("Attackers used CVE-2031-12345 to get in.", {"security"}),
        ("The queue grew because consumers were slow.", set()),
    ],
)
def test_replay_tags_follows_the_icco_patterns(ta, text: str, tags: set[str]) -> None:
    assert ta.replay_tags(text) == tags

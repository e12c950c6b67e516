"""The synthetic postmortem generator (benchmarks/synth.py): determinism, variety and sizes."""

from __future__ import annotations

import hashlib
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import synth  # noqa: E402

N = 300
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


@pytest.fixture(scope="module")
def docs() -> list[tuple[str, str]]:
    return list(synth.generate(N, seed=7))


def _digest(items: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for name, text in items:
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()


def test_same_seed_gives_identical_documents(docs):
    assert _digest(list(synth.generate(N, seed=7))) == _digest(docs)


def test_other_seed_gives_other_documents(docs):
    other = list(synth.generate(N, seed=8))
    assert sum(a[1] == b[1] for a, b in zip(docs, other, strict=True)) == 0


def test_a_shorter_run_is_a_prefix(docs):
    assert list(synth.generate(20, seed=7)) == docs[:20]


def test_write_corpus_writes_identical_bytes(tmp_path, docs):
    paths = synth.write_corpus(tmp_path / "a", 25, seed=7)
    assert [p.name for p in paths] == [name for name, _ in docs[:25]]
    assert [p.read_bytes() for p in paths] == [text.encode("utf-8") for _, text in docs[:25]]
    synth.main(["--n", "25", "--seed", "7", "--out", str(tmp_path / "b")])
    assert sorted(p.read_bytes() for p in (tmp_path / "b").iterdir()) == sorted(
        p.read_bytes() for p in paths
    )


def test_file_names_are_unique_and_extensions_vary(docs):
    names = [name for name, _ in docs]
    assert len(set(names)) == N
    exts = Counter(name.rsplit(".", 1)[1] for name in names)
    assert set(exts) == {"md", "txt", "html"}
    assert exts["md"] > 0.35 * N and exts["html"] > 0.04 * N


def test_structures_vary(docs):
    texts = [text for _, text in docs]

    def share(pattern: str) -> float:
        return sum(bool(re.search(pattern, t, re.M)) for t in texts) / N

    assert share(r"^\| \d{4}-\d{2}-\d{2} \d{2}:\d{2} \| ") > 0.05  # timeline tables
    assert share(r"^- \*\*\d{2}:\d{2} UTC\*\* - ") > 0.1  # bold bullet timelines
    assert share(r"^1\. .*\((Complete|Planned|In progress|Done|Not started)\)$") > 0.1
    assert share(r"^At \d{2}:\d{2} UTC, ") > 0.05  # prose timelines
    assert share(r"Related posts") > 0.1  # saved web pages
    assert share(r"[Nn]ewsletter") > 0.05
    assert share(r"^#{2,3} (Root Cause|Root cause analysis|What went wrong|Cause)") > 0.1
    assert share(r"^#{2,3} (Action Items|Remediation|Next steps|Corrective actions)") > 0.1
    assert share(r"\d+(,\d{3})* customers were affected|\d+% of requests") > 0.2


def test_section_order_varies(docs):
    orders = set()
    for _, text in docs:
        if text.startswith("# "):
            heads = re.findall(r"^#{2,3} (.+)$", text, re.M)
            cause = [h for h in heads if h in synth.CAUSE_HEADINGS]
            timeline = [h for h in heads if h in synth.TIMELINE_HEADINGS]
            if cause and timeline:
                orders.add(heads.index(cause[0]) < heads.index(timeline[0]))
    assert orders == {True, False}


def test_causes_systems_organisations_and_years_vary(docs):
    kinds = Counter(name.split("-", 3)[3].rsplit(".", 1)[0] for name, _ in docs)
    assert len(kinds) >= 10
    assert max(kinds.values()) < 0.2 * N
    joined = "\n".join(text for _, text in docs)
    assert sum(s in joined for s in synth.SYSTEMS) >= 25
    years = {int(y) for y in re.findall(r"\b(20[12]\d)-\d{2}-\d{2}\b", joined)}
    assert min(years) <= 2013 and max(years) >= 2024 and years <= set(range(2012, 2026))
    orgs = {m for m in re.findall(r"\b([A-Z][a-z]+[A-Z][A-Za-z]+)\b", joined)}
    assert len(orgs) >= 100


def test_lengths_are_like_real_postmortems(docs):
    counts = [len(_SENTENCE_END.findall(re.sub(r"<[^>]+>", " ", text))) for _, text in docs]
    sizes = [len(text) for _, text in docs]
    assert 15 <= statistics.median(counts) <= 35
    assert min(counts) >= 8 and max(counts) <= 120
    assert 1200 <= statistics.median(sizes) <= 4000
    assert statistics.pstdev(counts) > 4  # not all the same length


def test_html_documents_are_well_formed_enough(docs):
    html = [text for name, text in docs if name.endswith(".html")]
    assert html
    for text in html:
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
        assert text.count("<p") == text.count("</p>")

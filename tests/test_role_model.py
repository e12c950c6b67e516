"""Tests for benchmarks/role_model.py, the learned role model (tried, not wired)."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import role_model as learned  # noqa: E402

import ingest.extract as extract
from ingest.extract.actions import extract_actions
from ingest.extract.causes import extract_causes
from ingest.records import Document
from ingest.sections import split_sections

NO_HEADINGS = """Incident on 2024-03-02

The API returned errors for 40 minutes because the connection pool was exhausted.
The pool size had been lowered in a configuration change the day before.

- No alert on pool saturation
- The change was not reviewed by the database team

- Add an alert on pool saturation
- Require a database review for pool settings
- Document the pool sizing rules
"""


def _views(nlp, text: str, monkeypatch) -> list:
    """The SentenceViews the pipeline hands to the extractors for ``text``."""
    captured = []
    original = extract._extract

    def capture(document, sections, views):
        captured.append(views)
        return original(document, sections, views)

    monkeypatch.setattr(extract, "_extract", capture)
    document = Document(
        path="x", text=text, format="text", sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    extract.analyze(document, split_sections(document), nlp)
    return captured[0]


def _model(bias: float, veto: float, add: float) -> learned.RoleModel:
    zeros = (0.0,) * 16
    return learned.RoleModel(
        dim=16,
        weights={"cause": zeros, "action": zeros},
        bias={"cause": bias, "action": bias},
        veto={"cause": veto, "action": veto},
        add={"cause": add, "action": add},
    )


def test_load_model_reads_plain_json(tmp_path):
    path = tmp_path / "model.json"
    data = {
        "dim": 4,
        "weights": {"cause": [0.0, 1.0, 0.0, 0.0], "action": [0.0] * 4},
        "bias": {"cause": -1.0, "action": 2.0},
        "veto": {"cause": 0.25, "action": 0.25},
        "add": {"cause": 1.01, "action": 1.01},
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    model = learned.load_model(str(path))
    assert model is not None and model.dim == 4
    assert model.weights["cause"] == (0.0, 1.0, 0.0, 0.0)
    assert model.probability("action", []) == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert learned.load_model(str(tmp_path / "missing.json")) is None


def test_feature_index_is_stable_and_in_range():
    assert learned.feature_index("w:because", 8192) == learned.feature_index("w:because", 8192)
    assert all(0 <= learned.feature_index(f"w:{i}", 100) < 100 for i in range(200))


def test_probability_is_logistic_of_bias():
    model = _model(bias=0.0, veto=0.5, add=0.9)
    assert model.probability("cause", ["w:x", "w:y"]) == pytest.approx(0.5)
    assert _model(bias=4.0, veto=0.5, add=0.9).probability("action", []) > 0.98


@pytest.mark.models
def test_units_keep_list_items_whole_and_offsets_exact(nlp, monkeypatch):
    text = "We fixed it. It took long.\n\n- First item. With two sentences.\n- Second item\n"
    views = _views(nlp, text, monkeypatch)
    units = learned.document_units(views)
    pieces = [text[u.start : u.end] for u in units]
    assert pieces == [
        "We fixed it.",
        "It took long.",
        "First item. With two sentences.",
        "Second item",
    ]


@pytest.mark.models
def test_features_name_form_rules_and_list_intro(nlp, monkeypatch):
    views = _views(nlp, NO_HEADINGS, monkeypatch)
    first = NO_HEADINGS.index("Add an alert")
    rule = {"action": [(first, first + len("Add an alert on pool saturation"))]}
    units, features = learned.all_features(views, rule)
    texts = [NO_HEADINGS[u.start : u.end] for u in units]
    add = features[texts.index("Add an alert on pool saturation")]
    assert "form:action" in add and "imperative" in add and "rule:action" in add
    assert "intro:lowered" in add  # the paragraph sentence before the lists
    because = features[texts.index(next(t for t in texts if "because" in t))]
    assert "kind:paragraph" in because and "w:because" in because
    assert not any(f.startswith("rule:") for f in because)


@pytest.mark.models
def test_revise_vetoes_and_adds_by_threshold(nlp, monkeypatch):
    views = _views(nlp, NO_HEADINGS, monkeypatch)
    lowered = next(v for v in views if v.text.startswith("The pool size had been lowered"))
    rule = {"cause": [(lowered.sentence.start, lowered.sentence.end)]}
    # probability 0.018 everywhere: the rule cause is vetoed, nothing is added
    drop, added = learned.revise("cause", views, rule, _model(bias=-4.0, veto=0.5, add=0.9))
    assert drop == set(rule["cause"]) and added == []
    # probability 0.982 everywhere: nothing vetoed, every other unit added
    drop, added = learned.revise("cause", views, rule, _model(bias=4.0, veto=0.5, add=0.9))
    assert drop == set()
    assert len(added) == len(learned.document_units(views)) - 1


@pytest.mark.models
def test_firm_paragraph_sentences_are_never_vetoed(nlp, monkeypatch):
    views = _views(nlp, NO_HEADINGS, monkeypatch)
    causes = extract_causes(NO_HEADINGS, views)
    actions = extract_actions(NO_HEADINGS, views)
    rule = {
        "cause": [(c.start, c.end) for c in causes],
        "action": [(a.start, a.end) for a in actions],
    }
    # probability 0.018 everywhere: list items are vetoed, the "because" sentence is not
    drop, _ = learned.revise("cause", views, rule, _model(bias=-4.0, veto=0.5, add=1.01))
    because = next(c for c in causes if "because" in c.text)
    assert (because.start, because.end) not in drop
    listed = [c for c in causes if c.text.startswith(("No alert", "The change was not"))]
    assert listed and all((c.start, c.end) in drop for c in listed)
    for start, end in drop:
        assert NO_HEADINGS[start:end] in {c.text for c in causes}

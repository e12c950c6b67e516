"""Tests for ingest/extract/learned.py: the learned second opinion on causes and actions."""

from __future__ import annotations

import hashlib
import json
import math

import pytest

import ingest.extract as extract
from ingest.extract import learned
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


def _model(bias: float, add: float, roles=("cause", "action")) -> learned.RoleModel:
    """A model that gives every unit the same probability, the logistic of ``bias``."""
    zeros = (0.0,) * 16
    return learned.RoleModel(
        dim=16,
        weights={role: zeros for role in roles},
        bias={role: bias for role in roles},
        add={role: add for role in roles},
    )


def _spans(items) -> list[tuple[int, int]]:
    return [(item.start, item.end) for item in items]


def test_load_model_reads_plain_json(tmp_path):
    path = tmp_path / "model.json"
    data = {
        "dim": 4,
        "weights": {"cause": [0.0, 1.0, 0.0, 0.0], "action": [0.0] * 4},
        "bias": {"cause": -1.0, "action": 2.0},
        "add": {"cause": 1.01, "action": 1.01},
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    model = learned.load_model(str(path))
    assert model is not None and model.dim == 4
    assert model.weights["cause"] == (0.0, 1.0, 0.0, 0.0)
    assert model.probability("action", []) == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert learned.load_model(str(tmp_path / "missing.json")) is None
    data["weights"]["action"] = [0.0] * 3
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="4 values"):
        learned.load_model.__wrapped__(str(path))


def test_shipped_model_loads_with_thresholds_for_both_roles():
    model = learned.load_model()
    assert model is not None, f"{learned.MODEL_PATH} is missing"
    assert set(model.weights) == {"cause", "action"}
    for role in ("cause", "action"):
        assert len(model.weights[role]) == model.dim
        assert 0.0 < model.add[role] <= 1.01
        # The weights are not all zero: a trained model.
        assert max(abs(w) for w in model.weights[role]) > 0.1


def test_feature_index_is_stable_and_in_range():
    assert learned.feature_index("w:because", 8192) == learned.feature_index("w:because", 8192)
    assert all(0 <= learned.feature_index(f"w:{i}", 100) < 100 for i in range(200))


def test_probability_is_logistic_of_bias_and_counts_a_bucket_once():
    model = _model(bias=0.0, add=0.9)
    assert model.probability("cause", ["w:x", "w:y"]) == pytest.approx(0.5)
    assert _model(bias=4.0, add=0.9).probability("action", []) > 0.98
    weighted = learned.RoleModel(dim=1, weights={"cause": (1.0,)}, bias={"cause": 0.0}, add={})
    # Two names in one bucket count once, as in the binary training matrix.
    assert weighted.probability("cause", ["w:a", "w:b"]) == pytest.approx(1 / (1 + math.exp(-1)))


def test_candidates_are_strong_units_that_share_nothing_with_a_rule_item():
    units = [learned.Unit(0, 0, 0, 10), learned.Unit(1, 1, 11, 20), learned.Unit(2, 2, 21, 30)]
    probabilities = [0.9, 0.9, 0.2]
    assert learned.candidates(units, probabilities, [], 0.5) == [0, 1]
    # One shared character with a rule item is enough to keep a unit out.
    assert learned.candidates(units, probabilities, [(9, 12)], 0.5) == []
    assert learned.candidates(units, probabilities, [(21, 30)], 0.5) == [0, 1]
    assert learned.candidates(units, probabilities, [], 0.95) == []


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
    assert [u.listed for u in units] == [False, False, True, True]


@pytest.mark.models
def test_features_name_form_cues_and_list_intro_but_not_the_rules(nlp, monkeypatch):
    views = _views(nlp, NO_HEADINGS, monkeypatch)
    units, features = learned.all_features(views)
    texts = [NO_HEADINGS[u.start : u.end] for u in units]
    add = features[texts.index("Add an alert on pool saturation")]
    assert "form:action" in add and "imperative" in add
    assert "intro:lowered" in add  # the paragraph sentence before the lists
    because = features[texts.index(next(t for t in texts if "because" in t))]
    assert "kind:paragraph" in because and "w:because" in because and "past" in because
    assert not any(name.startswith("rule:") for names in features for name in names)


@pytest.mark.models
def test_revise_adds_units_but_never_removes_a_rule_item(nlp, monkeypatch):
    views = _views(nlp, NO_HEADINGS, monkeypatch)
    causes = extract_causes(NO_HEADINGS, views)
    actions = extract_actions(NO_HEADINGS, views)
    assert causes and actions
    # probability 0.018 everywhere: the rules' items, unchanged
    low = learned.revise(NO_HEADINGS, views, causes, actions, _model(bias=-4.0, add=0.5))
    assert low == (causes, actions)
    # probability 0.982 everywhere: every allowed unit without an item is added
    high_causes, high_actions = learned.revise(
        NO_HEADINGS, views, causes, actions, _model(bias=4.0, add=0.5)
    )
    assert set(_spans(causes)) < set(_spans(high_causes))
    assert set(_spans(actions)) <= set(_spans(high_actions))
    for item in (*high_causes, *high_actions):
        assert NO_HEADINGS[item.start : item.end] == item.text
        assert item.sentence >= 0
    assert _spans(high_causes) == sorted(_spans(high_causes))
    # Causes come from paragraph sentences only; the lists are the rules' to read.
    added = [c for c in high_causes if (c.start, c.end) not in _spans(causes)]
    assert all("\n- " + c.text not in NO_HEADINGS for c in added)


@pytest.mark.models
def test_what_the_rules_refuse_is_never_added(nlp, monkeypatch):
    text = (
        "A cron job rotated the signing keys on every node.\n\n"
        "We thought that the cache flush caused it, but it did not.\n\n"
        "The first indication of trouble was a burst of failed health checks.\n\n"
        "Why did the pool drain so fast?\n\n"
        "Restart the workers once the disk is cleaned.\n\n"
        "- The alert messages are still unclear.\n"
        "- This was discussed at the last review too.\n"
    )
    views = _views(nlp, text, monkeypatch)
    causes, actions = learned.revise(text, views, (), (), _model(bias=4.0, add=0.5))
    cause_texts = {c.text for c in causes}
    assert "A cron job rotated the signing keys on every node." in cause_texts  # allowed
    for refused in ("We thought", "The first indication", "Why did the pool"):
        assert not any(t.startswith(refused) for t in cause_texts)
    action_texts = {a.text for a in actions}
    assert "The alert messages are still unclear." not in action_texts  # a listed finding
    assert "Why did the pool drain so fast?" not in action_texts
    # An imperative paragraph without a ticket tells the reader what to do: no step.
    assert "Restart the workers once the disk is cleaned." not in action_texts


@pytest.mark.models
def test_reports_with_the_section_keep_the_rules_items(nlp, monkeypatch):
    text = (
        "# Outage\n\nThe API failed for an hour.\n\n## Root cause\n\n"
        "A configuration change lowered the pool size.\n\n## Action items\n\n"
        "- Add an alert on pool saturation\n"
    )
    views = _views(nlp, text, monkeypatch)
    causes, actions = extract_causes(text, views), extract_actions(text, views)
    model = _model(bias=4.0, add=0.5)
    assert learned.revise(text, views, causes, actions, model) == (causes, actions)


@pytest.mark.models
def test_status_of_an_added_step_is_read_from_its_tense(nlp, monkeypatch):
    text = (
        "The database ran out of connections.\n\n"
        "The pool configuration was adjusted to allow more clients.\n\n"
        "- Move the reporting jobs to a replica\n"
    )
    views = _views(nlp, text, monkeypatch)
    model = _model(bias=4.0, add=0.5, roles=("action",))
    _, actions = learned.revise(text, views, (), (), model)
    status = {a.text: a.status for a in actions}
    assert status["The pool configuration was adjusted to allow more clients."] == "done"
    assert status["Move the reporting jobs to a replica"] == "planned"


@pytest.mark.models
def test_shipped_model_finds_a_mechanism_cause_and_a_step_the_rules_miss(nlp, monkeypatch):
    # Invented prose in the style of real reports: the second sentence tells the mechanism
    # with no cause word, and the last paragraph proposes work without "we will".
    text = (
        "Users could not log in between 10:02 and 10:40 UTC.\n\n"
        "A cron job rotated the signing keys on every node, and the cached tokens no longer "
        "matched the new keys, so every session was rejected.\n\n"
        "The on-call engineer restored the previous keys at 10:38 UTC.\n\n"
        "Going forward, key rotation should be staged so that old keys stay valid for a day.\n"
    )
    views = _views(nlp, text, monkeypatch)
    model = learned.load_model()
    assert model is not None
    causes, actions = learned.revise(
        text, views, extract_causes(text, views), extract_actions(text, views), model
    )
    assert any("rotated the signing keys" in c.text for c in causes)
    assert any("key rotation should be staged" in a.text for a in actions)
    assert not any("restored the previous keys" in c.text for c in causes)

"""The Streamlit app driven by AppTest: every page and the main interactions."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def make_app(index: Path, monkeypatch, tmp_path=None) -> AppTest:
    monkeypatch.setenv("PMKB_INDEX", str(index))
    if tmp_path is not None:
        monkeypatch.setenv("PMKB_UPLOADS", str(tmp_path / "uploads"))
    return AppTest.from_file(APP, default_timeout=120)


def rendered(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown) + "\n".join(
        str(c.value) for c in at.caption
    )


def test_search_page_shows_ranked_evidence(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    assert not at.exception
    assert at.text_input(key="query").value == "incidents caused by retries"
    text = rendered(at)
    assert "Read as" in text and "cause" in text
    assert "<mark>" in text  # matching words highlighted
    assert at.button(key="open-" + _first_open_id(at)).label == "Open incident"


def _first_open_id(at: AppTest) -> str:
    for b in at.button:
        if b.key and b.key.startswith("open-"):
            return b.key[len("open-") :]
    raise AssertionError("no result card")


def test_no_result_state_helps(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    at.selectbox(key="f_mode").set_value("lexical")
    at.text_input(key="query").set_value("zzzz qqqq").run()
    assert not at.exception
    assert at.warning and "No incident matches" in at.warning[0].value


def test_open_incident_page_from_a_result(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    incident_id = _first_open_id(at)
    at.button(key="open-" + incident_id).click().run()
    assert not at.exception
    assert at.session_state["page"] == "Incident"
    assert at.selectbox(key="incident_id").value == incident_id
    headers = [h.value for h in at.subheader]
    for name in ("Causes", "Timeline", "Actions", "Similar incidents"):
        assert name in headers


def test_incident_page_is_linkable(seed_index_fake, monkeypatch):
    from ingest.store import KnowledgeBase

    target = KnowledgeBase.open(seed_index_fake).incident_rows()[-1]["incident_id"]
    at = make_app(seed_index_fake, monkeypatch)
    at.query_params["incident"] = target
    at.run()
    assert not at.exception
    assert at.selectbox(key="incident_id").value == target


def test_browse_and_taxonomy_pages(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    at.radio(key="page").set_value("Browse").run()
    assert not at.exception
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 5
    at.radio(key="page").set_value("Taxonomy").run()
    assert not at.exception
    assert any(e.key == "tax_category" for e in at.selectbox)
    assert "What keeps hurting us" in [h.value for h in at.header]


def test_missing_index_is_a_message(tmp_path, monkeypatch):
    at = make_app(tmp_path / "none", monkeypatch).run()
    assert not at.exception
    assert at.error and "no index" in at.error[0].value


@pytest.mark.models
def test_app_with_real_models_ranks_auth_incident_first(seed_index_real, monkeypatch):
    at = make_app(seed_index_real, monkeypatch).run()
    assert not at.exception
    assert _first_open_id(at).startswith("001-18547d42d4387836")

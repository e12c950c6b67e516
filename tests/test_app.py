"""The Streamlit app driven by AppTest: every page and the main interactions.

Fast tests run over the corpus index built with the fake (hashing) embedder; the one marked
`models` uses the real embedding model. Untrusted postmortem text must reach the page only
escaped: the tests upload a hostile postmortem and inspect what the app sends to the browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.store import KnowledgeBase

APP = str(Path(__file__).resolve().parent.parent / "app.py")
# A postmortem full of markup that must stay inert (shared with tests/test_browser.py).
HOSTILE = (Path(__file__).resolve().parent / "data" / "hostile_postmortem.md").read_bytes()
# What must never reach a Markdown/HTML element as live markup.
LIVE_MARKUP = re.compile(
    r"<script|<img|<b |<iframe|onerror=|onmouseover=|\]\(javascript|:red\[|\$x\^2\$|\*\*bold",
    re.I,
)


def make_app(index: Path, monkeypatch, tmp_path=None) -> AppTest:
    monkeypatch.setenv("PMKB_INDEX", str(index))
    if tmp_path is not None:
        monkeypatch.setenv("PMKB_UPLOADS", str(tmp_path / "uploads"))
    return AppTest.from_file(APP, default_timeout=120)


def rendered(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown) + "\n".join(
        str(c.value) for c in at.caption
    )


def chart_frames(chart) -> list:
    """The data frames a chart element sent to the browser."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    return [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]


def _open_ids(at: AppTest, prefix: str = "open-") -> list[str]:
    return [b.key[len(prefix) :] for b in at.button if b.key and b.key.startswith(prefix)]


def _first_open_id(at: AppTest) -> str:
    ids = _open_ids(at)
    assert ids, "no result card"
    return ids[0]


def test_search_page_shows_ranked_evidence(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    assert not at.exception
    assert at.text_input(key="query").value == "incidents caused by retries"
    text = rendered(at)
    assert "Read as" in text and "cause" in text
    assert "<mark>" in text  # matching words highlighted
    assert "pmkb-hit" in text and "score" in text
    assert at.button(key="open-" + _first_open_id(at)).label == "Open"


def test_example_pills_fill_the_query(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    at.pills(key="example").set_value("MTU packet loss").run()
    assert not at.exception
    assert at.text_input(key="query").value == "MTU packet loss"
    assert at.pills(key="example").value is None  # ready to be picked again
    assert "MTU" in rendered(at)


def test_empty_query_shows_the_intro(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    at.text_input(key="query").set_value("   ").run()
    assert not at.exception
    assert at.info and "Type a symptom" in at.info[0].value
    assert not _open_ids(at)
    assert [m.label for m in at.metric][:1] == ["Incidents"]
    assert at.metric[0].value == "5"


def test_no_result_state_helps(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    at.selectbox(key="f_mode").set_value("lexical")
    at.text_input(key="query").set_value("zzzz qqqq").run()
    assert not at.exception
    assert at.warning and "No incident matches" in at.warning[0].value


def test_filters_narrow_results_and_can_be_cleared(seed_index_fake, monkeypatch):
    kb = KnowledgeBase.open(seed_index_fake)
    network = {r["incident_id"] for r in kb.incident_rows() if "network" in r["categories"]}
    at = make_app(seed_index_fake, monkeypatch).run()
    unfiltered = _open_ids(at)
    at.selectbox(key="f_category").set_value("network").run()
    assert not at.exception
    filtered = _open_ids(at)
    assert filtered and set(filtered) <= network and len(filtered) < len(unfiltered)
    assert at.button(key="clear_filters").label == "Clear filters (1)"
    at.button(key="clear_filters").click().run()
    assert at.selectbox(key="f_category").value == ""
    assert _open_ids(at) == unfiltered


def test_filtered_no_result_offers_to_clear(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    at.selectbox(key="f_mode").set_value("lexical")
    at.selectbox(key="f_year").set_value(2014)
    at.text_input(key="query").set_value("zzzz qqqq").run()
    assert not at.exception
    assert "clear them" in at.warning[0].value
    at.button(key="clear_filters_empty").click().run()
    assert at.selectbox(key="f_year").value == 0
    assert "Try fewer" in at.warning[0].value  # no filter left to blame


def test_year_filter_keeps_only_that_year(seed_index_fake, monkeypatch):
    years = {
        r["incident_id"]: r["year"] for r in KnowledgeBase.open(seed_index_fake).incident_rows()
    }
    at = make_app(seed_index_fake, monkeypatch).run()
    at.selectbox(key="f_year").set_value(2016).run()
    found = _open_ids(at)
    assert found and all(years[i] == 2016 for i in found)


def test_open_incident_page_from_a_result(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    incident_id = _first_open_id(at)
    at.button(key="open-" + incident_id).click().run()
    assert not at.exception
    assert at.session_state["page"] == "Incident"
    assert at.selectbox(key="incident_id").value == incident_id
    assert at.query_params["incident"] == incident_id
    headers = [h.value for h in at.subheader]
    for name in ("Summary", "Causes", "Timeline", "Actions", "Similar incidents"):
        assert name in headers
    assert [m.label for m in at.metric] == [
        "Time to detect",
        "Time to mitigate",
        "Time to resolve",
        "Duration",
    ]


def test_incident_page_shows_timeline_chart_actions_and_spans(seed_index_fake, monkeypatch):
    kb = KnowledgeBase.open(seed_index_fake)
    target = next(r for r in kb.incident_rows() if r["source"].endswith("001_18547d42d4387836.txt"))
    inc = kb.incident(target["incident_id"])
    at = make_app(seed_index_fake, monkeypatch)
    at.query_params["incident"] = target["incident_id"]
    at.run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1  # the timeline
    frames = chart_frames(charts[0])
    labels = [label for f in frames if "label" in f for label in f["label"]]
    assert labels == ["to detect: 1 h 00 min", "to resolve: 1 h 44 min"]  # durations drawn
    events = next(f for f in frames if "event" in f)
    assert sorted(events["lane"]) == sorted(e.kind for e in inc.timeline if e.iso)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == len(inc.timeline)
    html = rendered(at)
    assert html.count("pmkb-badge pmkb-status-") == len(inc.actions)
    assert "1 h 44 min" in [m.value for m in at.metric]  # time to resolve, 104 min
    source = next(m.value for m in at.markdown if "<div class='pmkb-source" in m.value)
    assert source.count("<mark") == sum(s.role != "other" for s in inc.sentences)
    assert _open_ids(at, "sim-")  # similar incidents, each with a button


def test_incident_page_is_linkable(seed_index_fake, monkeypatch):
    target = KnowledgeBase.open(seed_index_fake).incident_rows()[-1]["incident_id"]
    at = make_app(seed_index_fake, monkeypatch)
    at.query_params["incident"] = target
    at.run()
    assert not at.exception
    assert at.session_state["page"] == "Incident"
    assert at.selectbox(key="incident_id").value == target


def test_choosing_another_incident_sticks_and_is_remembered(seed_index_fake, monkeypatch):
    ids = [r["incident_id"] for r in KnowledgeBase.open(seed_index_fake).incident_rows()]
    at = make_app(seed_index_fake, monkeypatch)
    at.query_params["incident"] = ids[0]
    at.run()
    at.selectbox(key="incident_id").set_value(ids[2]).run()
    assert at.selectbox(key="incident_id").value == ids[2]
    assert at.query_params["incident"] == ids[2]  # the URL follows the choice
    at.radio(key="page").set_value("Browse").run()
    assert "incident" not in at.query_params
    at.radio(key="page").set_value("Incident").run()
    assert not at.exception
    assert at.selectbox(key="incident_id").value == ids[2]


def test_unknown_incident_link_is_reported_escaped(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch)
    at.query_params["incident"] = "![x](http://evil.example/t.png):red[x]"
    at.run()
    assert not at.exception
    warning = at.warning[0].value
    assert "There is no incident" in warning
    assert "![x](" not in warning and ":red[" not in warning
    assert "\\!\\[x\\]\\(http\\:" in warning  # shown as text
    assert at.selectbox(key="incident_id").value  # and some incident is still shown


def test_browse_filters_and_click_through(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    at.radio(key="page").set_value("Browse").run()
    assert not at.exception
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 5
    columns = list(at.dataframe[0].value.columns)
    assert columns[:6] == [
        "date",
        "title",
        "organization",
        "category_names",
        "duration_minutes",
        "n_open_actions",
    ]
    links = list(at.dataframe[0].value["link"])
    assert all(link.startswith("?incident=") for link in links)  # click-through links
    at.text_input(key="browse_filter").set_value("September 2014").run()
    assert len(at.dataframe[0].value) == 1
    at.text_input(key="browse_filter").set_value("").run()
    at.multiselect(key="browse_categories").set_value(["network"]).run()
    kb = KnowledgeBase.open(seed_index_fake)
    expected = sum("network" in r["categories"] for r in kb.incident_rows())
    assert len(at.dataframe[0].value) == expected
    at.multiselect(key="browse_categories").set_value([]).run()
    at.toggle(key="browse_open_only").set_value(True).run()
    assert (at.dataframe[0].value["n_open_actions"] > 0).all()


def test_taxonomy_page(seed_index_fake, monkeypatch):
    at = make_app(seed_index_fake, monkeypatch).run()
    at.radio(key="page").set_value("Taxonomy").run()
    assert not at.exception
    assert "What keeps hurting us" in [h.value for h in at.header]
    assert len(at.get("vega_lite_chart")) == 2  # counts and trend by year
    assert at.get("download_button")[0].proto.label == "Download causes (CSV)"
    kb = KnowledgeBase.open(seed_index_fake)
    category = kb.category_counts()[-1]["category_id"]
    at.selectbox(key="tax_category").set_value(category).run()
    expected = {r["incident_id"] for r in kb.cause_rows() if r["category_id"] == category}
    assert set(_open_ids(at, "tax-open-")) == expected
    at.button(key=f"tax-open-{sorted(expected)[0]}").click().run()
    assert at.session_state["page"] == "Incident"


def test_taxonomy_page_shows_recurring_patterns(seed_index_fake, monkeypatch):
    from ingest.embed import HashingEmbedder
    from ingest.patterns import cause_items, recurring_patterns

    kb = KnowledgeBase.open(seed_index_fake)
    at = make_app(seed_index_fake, monkeypatch).run()
    at.radio(key="page").set_value("Taxonomy").run()
    at.slider(key="pattern_threshold").set_value(0.4).run()
    assert not at.exception
    assert "Recurring patterns" in [h.value for h in at.subheader]
    clusters = recurring_patterns(kb, HashingEmbedder(64), threshold=0.4)
    assert cause_items(kb) and clusters  # the seeds share causes at this similarity
    assert len(at.expander) == min(20, len(clusters))
    for cluster, expander in zip(clusters, at.expander, strict=False):
        assert expander.label.startswith(f"{len(cluster.incident_ids)} incidents share")


def test_hostile_upload_is_ingested_and_shown_inert(seed_index_copy, monkeypatch, tmp_path):
    at = make_app(seed_index_copy, monkeypatch, tmp_path).run()
    at.radio(key="page").set_value("Add postmortems").run()
    at.file_uploader[0].set_value(
        [
            ("../../evil <x> postmortem.md", HOSTILE, "text/markdown"),
            ("binary.txt", b"abc\x00def", "text/plain"),
        ]
    ).run()
    at.button(key="ingest_uploads").click().run()
    assert not at.exception
    assert at.success and "searchable now" in at.success[0].value
    assert at.file_uploader[0].key == "uploads_1" and not at.file_uploader[0].value  # cleared
    assert {p.name for p in (tmp_path / "uploads").iterdir()} == {"evil_x_postmortem.md"}
    assert not (tmp_path / "evil <x> postmortem.md").exists()
    warnings = " ".join(w.value for w in at.warning)
    assert "binary" in warnings
    new_ids = _open_ids(at, "up-")
    assert len(new_ids) == 1
    at.button(key=f"up-{new_ids[0]}").click().run()
    assert not at.exception and at.selectbox(key="incident_id").value == new_ids[0]
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert any("pwned" in v for v in shown)  # the hostile text is on the page...
    assert not [v for v in shown if LIVE_MARKUP.search(v)]  # ...but never as live markup
    assert any("&#60;script&#62;" in v for v in shown)
    # Searchable without a restart, and the result card is inert too.
    at.radio(key="page").set_value("Search").run()
    at.text_input(key="query").set_value("gateway config push retry storm").run()
    assert new_ids[0] in _open_ids(at)
    assert not [m.value for m in at.markdown if LIVE_MARKUP.search(m.value)]


def test_missing_index_is_a_message(tmp_path, monkeypatch):
    at = make_app(tmp_path / "none", monkeypatch).run()
    assert not at.exception
    assert at.error and "no index" in at.error[0].value


def test_add_page_works_without_an_index(tmp_path, monkeypatch):
    at = make_app(tmp_path / "none", monkeypatch, tmp_path).run()
    at.radio(key="page").set_value("Add postmortems").run()
    assert not at.exception
    assert set(at.file_uploader[0].allowed_type) >= {".md", ".txt", ".html"}
    assert not at.error
    too_big = b"a" * (5 * 1024 * 1024 + 1)
    at.file_uploader[0].set_value([("big.txt", too_big, "text/plain"), ("e.md", b"", "text/md")])
    at.run()
    at.button(key="ingest_uploads").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "larger than 5 MB" in errors and "empty file" in errors
    assert not (tmp_path / "uploads").exists() and not (tmp_path / "none").exists()


@pytest.mark.models
def test_app_with_real_models_ranks_auth_incident_first(seed_index_real, monkeypatch):
    at = make_app(seed_index_real, monkeypatch).run()
    assert not at.exception
    assert _first_open_id(at).startswith("001-18547d42d4387836")

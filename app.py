"""postmortem-kb — the Streamlit app: search, incident pages, browse, taxonomy, uploads.

Plain top-to-bottom UI over the `ingest` library. Models and the index are cached
resources; the app reopens the index when an ingest commits a new generation.
Run with `streamlit run app.py` (the index directory comes from $PMKB_INDEX, default index/).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from ingest.cli import write_causes
from ingest.errors import PmkbError
from ingest.highlight import ROLE_COLOURS, highlight_terms, render_spans
from ingest.search import SearchEngine
from ingest.store import KnowledgeBase

INDEX_DIR = os.environ.get("PMKB_INDEX", "index")
UPLOAD_DIR = os.environ.get("PMKB_UPLOADS", "uploads")
UPLOAD_LIMIT_MB = 5
EXAMPLES = (
    "incidents caused by retries",
    "root cause of database overload",
    "what did they do about DDoS",
    "MTU packet loss",
    "duplicate emails",
)
PAGES = ("Search", "Incident", "Browse", "Taxonomy", "Add postmortems")
STATUS_BADGE = {
    "done": ":green-badge[done]",
    "in_progress": ":orange-badge[in progress]",
    "planned": ":blue-badge[planned]",
    "unknown": ":gray-badge[unknown]",
}

st.set_page_config(page_title="postmortem-kb", page_icon="🧯", layout="wide")


@st.cache_resource(show_spinner="Loading the embedding model…")
def get_embedder(model_name: str):
    from ingest.embed import embedder_for

    return embedder_for(model_name)


@st.cache_resource(show_spinner="Opening the index…")
def get_kb(index_dir: str, generation: str) -> KnowledgeBase:
    """One open index per generation (a new ingest gives a new generation)."""
    return KnowledgeBase.open(index_dir)


def current_kb() -> KnowledgeBase:
    from ingest.store import read_manifest

    manifest = read_manifest(INDEX_DIR)
    return get_kb(INDEX_DIR, manifest["generation"])


def get_engine() -> SearchEngine:
    kb = current_kb()
    return SearchEngine(kb, get_embedder(kb.embedding_model))


@st.cache_data(show_spinner=False)
def incident_table(index_dir: str, generation: str) -> pd.DataFrame:
    rows = get_kb(index_dir, generation).incident_rows()
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["date"] = df["date"].replace("", None)
    return df


@st.cache_data(show_spinner=False)
def cause_table(index_dir: str, generation: str) -> pd.DataFrame:
    return pd.DataFrame(list(get_kb(index_dir, generation).cause_rows()))


@st.cache_data(show_spinner=False)
def causes_csv(index_dir: str, generation: str) -> bytes:
    buf = io.StringIO()
    write_causes(get_kb(index_dir, generation).cause_rows(), buf, "csv")
    return buf.getvalue().encode("utf-8")


def inert(text: str) -> None:
    """Show untrusted text as plain, inert text (highlighting via escaped HTML only)."""
    st.markdown(f"<div>{highlight_terms(text, ())}</div>", unsafe_allow_html=True)


def open_incident(incident_id: str) -> None:
    st.session_state["page"] = "Incident"
    st.session_state["incident_id"] = incident_id
    st.query_params["incident"] = incident_id


def chips(items: list[str]) -> str:
    safe = [re.sub(r"[^A-Za-z0-9_ -]", "", i) for i in items if i]
    return " ".join(f":violet-badge[{s}]" for s in safe if s)


# -- pages ---------------------------------------------------------------------------------
def page_search(kb: KnowledgeBase) -> None:
    st.header("Has this happened before?")
    st.caption("Search causes, timelines and actions across every postmortem.")
    cols = st.columns(len(EXAMPLES))
    for col, example in zip(cols, EXAMPLES, strict=True):
        if col.button(example, key=f"ex-{example}", use_container_width=True):
            st.session_state["query"] = example
    query = st.text_input("Query", key="query", placeholder="e.g. incidents caused by retries")
    with st.sidebar:
        st.subheader("Filters")
        section = st.selectbox(
            "Role", ["any", "cause", "timeline", "action", "impact"], key="f_section"
        )
        mode = st.selectbox("Retrieval", ["hybrid", "dense", "lexical"], key="f_mode")
        counts = kb.category_counts()
        cat_ids = [""] + [c["category_id"] for c in counts]
        category = st.selectbox(
            "Cause category", cat_ids, key="f_category", format_func=lambda c: c or "any"
        )
        table = incident_table(INDEX_DIR, kb.generation)
        systems = sorted({s for v in table.get("systems", []) for s in str(v).split(";") if s})
        system = st.selectbox(
            "System", [""] + systems, key="f_system", format_func=lambda s: s or "any"
        )
        orgs = sorted({o for o in table.get("organization", []) if o})
        org = st.selectbox(
            "Organisation", [""] + orgs, key="f_org", format_func=lambda s: s or "any"
        )
        years = sorted({int(y) for y in table.get("year", []) if pd.notna(y)})
        year = st.selectbox(
            "Year", [0] + years, key="f_year", format_func=lambda y: str(y) if y else "any"
        )
        k = st.slider("Results", 1, 50, 10, key="f_k")
    if not query.strip():
        st.info("Type a few words — a symptom, a cause, a system — or pick an example above.")
        return
    engine = get_engine()
    result = engine.search(
        query,
        k=k,
        mode=mode,
        section=section,
        category=category or None,
        system=system or None,
        organization=org or None,
        year=year or None,
    )
    st.caption(f"Read as — {result.reading.describe()} · {result.took_ms:.0f} ms")
    if not result.hits:
        st.warning("No incident matches. Try fewer words, role “any”, or clear the filters.")
        return
    terms = list(result.reading.terms)
    for rank, hit in enumerate(result.hits, 1):
        with st.container(border=True):
            head, score = st.columns([5, 1])
            head.markdown(f"**{rank}.** {escape_title(hit.title)}")
            score.caption(f"score {hit.score:.3f}")
            meta = " · ".join(x for x in (hit.organization, hit.date, hit.source) if x)
            st.caption(meta)
            if hit.categories:
                st.markdown(chips(list(hit.categories)))
            for ev in hit.evidence:
                st.markdown(
                    f"<div class='evidence'><b>{ev.section}</b> — "
                    f"{highlight_terms(' '.join(ev.text.split()), terms)}</div>",
                    unsafe_allow_html=True,
                )
            st.button(
                "Open incident",
                key=f"open-{hit.incident_id}",
                on_click=open_incident,
                args=(hit.incident_id,),
            )


def escape_title(title: str) -> str:
    """A title for Markdown: only letters, digits and plain punctuation survive."""
    return re.sub(r"[^\w\s,.'’()/&-]", " ", title).strip() or "(untitled)"


def timeline_chart(events: list) -> alt.Chart | None:
    rows = [
        {"time": e.iso, "kind": e.kind, "event": " ".join(e.text.split())[:120]}
        for e in events
        if e.iso and len(e.iso) >= 16 and e.iso[:4].isdigit()
    ]
    if len(rows) < 2:
        return None
    df = pd.DataFrame(rows)
    df["time"] = pd.to_datetime(df["time"], utc=True, errors="coerce")
    df = df.dropna(subset=["time"])
    if len(df) < 2:
        return None
    return (
        alt.Chart(df)
        .mark_circle(size=120)
        .encode(
            x=alt.X("time:T", title="time (UTC)"),
            y=alt.Y(
                "kind:N",
                title=None,
                sort=["start", "detection", "event", "mitigation", "resolution"],
            ),
            color=alt.Color("kind:N", legend=None),
            tooltip=["time:T", "kind:N", "event:N"],
        )
        .properties(height=220)
    )


def page_incident(kb: KnowledgeBase) -> None:
    table = incident_table(INDEX_DIR, kb.generation)
    if table.empty:
        st.info("The index is empty.")
        return
    ids = list(table["incident_id"])
    wanted = st.query_params.get("incident") or st.session_state.get("incident_id")
    if wanted in ids and st.session_state.get("incident_id") != wanted:
        st.session_state["incident_id"] = wanted
    if st.session_state.get("incident_id") not in ids:
        if wanted:
            st.warning(f"No incident {escape_title(wanted)!s} in this index.")
        st.session_state["incident_id"] = ids[0]
    titles = dict(zip(table["incident_id"], table["title"], strict=True))
    incident_id = st.selectbox(
        "Incident", ids, key="incident_id", format_func=lambda i: f"{titles[i]} [{i}]"
    )
    st.query_params["incident"] = incident_id
    inc = kb.incident(incident_id)
    if inc is None:
        st.error("Incident not found.")
        return
    st.header(escape_title(inc.title))
    st.caption(
        " · ".join(x for x in (inc.organization, inc.date or inc.date_note, inc.source) if x)
    )
    if inc.categories:
        st.markdown(chips([c.category for c in inc.categories]))
    m = inc.metrics or {}
    cols = st.columns(4)
    for col, (label, key) in zip(
        cols,
        (
            ("Time to detect", "time_to_detect_min"),
            ("Time to mitigate", "time_to_mitigate_min"),
            ("Time to resolve", "time_to_resolve_min"),
            ("Duration", "duration_min"),
        ),
        strict=True,
    ):
        value = m.get(key)
        col.metric(label, f"{value:.0f} min" if isinstance(value, int | float) else "—")
    if inc.summary:
        st.subheader("Summary")
        for s in inc.summary:
            inert(" ".join(s.split()))
    if inc.impacts:
        st.subheader("Impact")
        for i in inc.impacts:
            inert("• " + " ".join(i.text.split()))
    st.subheader("Causes")
    if not inc.causes:
        st.caption("No cause sentence found.")
    for c in inc.causes:
        cats = ", ".join(f"{cs.category} {cs.confidence:.2f}" for cs in c.categories)
        st.markdown(
            f"<div><b>{c.kind.replace('_', ' ')}</b> — {highlight_terms(c.text, ())}"
            f"<br><small>{highlight_terms(cats, ())}</small></div>",
            unsafe_allow_html=True,
        )
    st.subheader("Timeline")
    if inc.timeline:
        chart = timeline_chart(list(inc.timeline))
        if chart is not None:
            st.altair_chart(chart, use_container_width=True)
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "time": e.iso or e.time_text,
                        "as written": e.time_text,
                        "kind": e.kind,
                        "event": " ".join(e.text.split()),
                    }
                    for e in inc.timeline
                ]
            ),
            hide_index=True,
            use_container_width=True,
        )
    else:
        st.caption("No timed events found.")
    st.subheader("Actions")
    if not inc.actions:
        st.caption("No action items found.")
    for a in inc.actions:
        st.markdown(STATUS_BADGE.get(a.status, STATUS_BADGE["unknown"]))
        inert(" ".join(a.text.split()))
    if inc.systems:
        st.subheader("Systems involved")
        st.markdown(chips([s.name for s in inc.systems]))
    st.subheader("Similar incidents")
    try:
        similar = get_engine().similar(incident_id, k=5)
    except PmkbError as exc:
        similar = []
        st.caption(str(exc))
    for hit in similar:
        c1, c2 = st.columns([5, 1])
        c1.markdown(f"{escape_title(hit.title)} · {hit.organization} {hit.date}")
        c2.button(
            "Open", key=f"sim-{hit.incident_id}", on_click=open_incident, args=(hit.incident_id,)
        )
    with st.expander("Original text with extracted spans"):
        st.caption(
            "Highlighted: " + ", ".join(f"{r}" for r in ("cause", "timeline", "action", "impact"))
        )
        spans = [
            (s.start, s.end, ROLE_COLOURS.get(s.role, ""))
            for s in inc.sentences
            if s.role != "other"
        ]
        st.markdown(
            f"<div style='white-space:normal'>{render_spans(inc.text, spans)}</div>",
            unsafe_allow_html=True,
        )


def page_browse(kb: KnowledgeBase) -> None:
    st.header("All incidents")
    table = incident_table(INDEX_DIR, kb.generation)
    if table.empty:
        st.info("The index is empty: add postmortems first.")
        return
    text = st.text_input("Filter by title, organisation or system", key="browse_filter")
    view = table
    if text:
        needle = text.lower()
        view = table[
            table.apply(
                lambda r: needle in f"{r['title']} {r['organization']} {r['systems']}".lower(),
                axis=1,
            )
        ]
    shown = view[
        [
            "date",
            "title",
            "organization",
            "categories",
            "duration_minutes",
            "n_open_actions",
            "incident_id",
        ]
    ].rename(columns={"duration_minutes": "duration (min)", "n_open_actions": "open actions"})
    event = st.dataframe(
        shown,
        hide_index=True,
        use_container_width=True,
        on_select="rerun",
        selection_mode="single-row",
        key="browse_table",
    )
    selected = getattr(getattr(event, "selection", None), "rows", []) if event else []
    if selected:
        chosen = shown.iloc[selected[0]]["incident_id"]
        st.button(f"Open {chosen}", key="browse_open", on_click=open_incident, args=(chosen,))
    st.caption(f"{len(view)} of {len(table)} incidents · select a row to open it")


def page_taxonomy(kb: KnowledgeBase) -> None:
    st.header("What keeps hurting us")
    counts = pd.DataFrame(kb.category_counts())
    if counts.empty:
        st.info("No causes have been classified yet.")
        return
    st.altair_chart(
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("incidents:Q"),
            y=alt.Y("category:N", sort="-x", title=None),
            tooltip=["category", "incidents", "causes"],
        ),
        use_container_width=True,
    )
    causes = cause_table(INDEX_DIR, kb.generation)
    dated = causes[causes["date"].str[:4].str.isdigit()] if not causes.empty else causes
    if not dated.empty:
        trend = (
            dated.assign(year=dated["date"].str[:4].astype(int))
            .groupby(["year", "category"])["incident_id"]
            .nunique()
            .reset_index(name="incidents")
        )
        st.subheader("Trend by year")
        st.altair_chart(
            alt.Chart(trend)
            .mark_bar()
            .encode(
                x="year:O",
                y="incidents:Q",
                color="category:N",
                tooltip=["year", "category", "incidents"],
            ),
            use_container_width=True,
        )
    st.subheader("Drill down")
    choice = st.selectbox(
        "Category",
        list(counts["category_id"]),
        key="tax_category",
        format_func=lambda c: dict(zip(counts["category_id"], counts["category"], strict=True))[c],
    )
    rows = causes[causes["category_id"] == choice]
    for incident_id, group in rows.groupby("incident_id", sort=False):
        with st.container(border=True):
            st.markdown(f"**{escape_title(group.iloc[0]['title'])}** · {group.iloc[0]['date']}")
            for _, r in group.iterrows():
                inert(f"{r['cause']}  ({r['confidence']:.2f})")
            st.button(
                "Open incident",
                key=f"tax-open-{incident_id}",
                on_click=open_incident,
                args=(incident_id,),
            )
    st.download_button(
        "Download causes (CSV)",
        causes_csv(INDEX_DIR, kb.generation),
        file_name="causes.csv",
        mime="text/csv",
        key="download_csv",
    )


def safe_upload_name(name: str) -> str:
    """A file name with no directories and only safe characters."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem or "upload").strip("._") or "upload"
    return f"{stem[:80]}.{suffix.lower()}" if dot else stem[:80]


def page_add(kb: KnowledgeBase | None) -> None:
    st.header("Add postmortems")
    st.caption(f"Markdown, text or saved HTML pages, up to {UPLOAD_LIMIT_MB} MB each.")
    files = st.file_uploader(
        "Postmortem files",
        type=["md", "txt", "html", "htm"],
        accept_multiple_files=True,
        key="uploads",
    )
    if not files or not st.button("Ingest", key="ingest_uploads", type="primary"):
        return
    target = Path(UPLOAD_DIR)
    target.mkdir(parents=True, exist_ok=True)
    saved = []
    for f in files:
        if f.size > UPLOAD_LIMIT_MB * 1024 * 1024:
            st.error(f"{safe_upload_name(f.name)}: larger than {UPLOAD_LIMIT_MB} MB, skipped")
            continue
        name = safe_upload_name(f.name)
        if not name.endswith((".md", ".txt", ".html", ".htm")):
            st.error(f"{name}: not a .md, .txt or .html file, skipped")
            continue
        with tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
            tmp.write(f.getvalue())
        os.replace(tmp.name, target / name)
        saved.append(str(target / name))
    if not saved:
        return
    from ingest.pipeline import ingest_paths

    bar = st.progress(0.0, text="Ingesting…")
    embedder = get_embedder(kb.embedding_model) if kb else None
    try:
        report = ingest_paths(
            saved,
            INDEX_DIR,
            embedder=embedder,
            on_progress=lambda _s, d, t: bar.progress(d / max(t, 1), text=f"{d}/{t} files"),
        )
    except PmkbError as exc:
        st.error(str(exc))
        return
    bar.progress(1.0, text="Done")
    st.success(
        f"Ingested {report.ingested} file(s); the index now holds {report.incidents} incidents."
    )
    for o in report.skipped:
        st.warning(f"{safe_upload_name(o.source)}: {o.detail}")
    for o in report.outcomes:
        if o.incident_id and o.status in ("added", "updated"):
            st.button(
                f"Open {o.incident_id}",
                key=f"up-{o.incident_id}",
                on_click=open_incident,
                args=(o.incident_id,),
            )


# -- main ------------------------------------------------------------------------------------
def main() -> None:
    if "query" not in st.session_state:
        st.session_state["query"] = EXAMPLES[0]
    if "page" not in st.session_state:
        st.session_state["page"] = "Incident" if st.query_params.get("incident") else "Search"
    with st.sidebar:
        st.title("🧯 postmortem-kb")
        page = st.radio("Page", PAGES, key="page")
    try:
        kb = current_kb()
    except PmkbError as exc:
        if page == "Add postmortems":
            page_add(None)
            return
        st.error(str(exc))
        st.info("Build the index with `pmkb ingest corpus/` or add files on “Add postmortems”.")
        return
    with st.sidebar:
        st.caption(f"{kb.manifest['counts']['incidents']} incidents · index {kb.generation}")
    if page != "Incident" and "incident" in st.query_params:
        del st.query_params["incident"]
    {
        "Search": page_search,
        "Incident": page_incident,
        "Browse": page_browse,
        "Taxonomy": page_taxonomy,
        "Add postmortems": page_add,
    }[page](kb)


main()

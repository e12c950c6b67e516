"""postmortem-kb — the Streamlit app: search, incident pages, browse, taxonomy, uploads.

Plain top-to-bottom UI over the `ingest` library. Models and the open index are cached
resources, derived tables and search results are cached data keyed by the index
generation, so an ingest that commits a new generation is picked up on the next rerun.
Postmortem text is untrusted: everything taken from it goes through
:func:`ingest.highlight.escape_inert` (or a widget that renders plain text) before it is shown.
Run with `streamlit run app.py` (the index directory comes from $PMKB_INDEX, default index/).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from ingest.cli import write_causes
from ingest.errors import PmkbError
from ingest.highlight import ROLE_COLOURS, escape_inert, highlight_terms, render_spans
from ingest.records import Hit, Incident, TimelineEvent
from ingest.search import SearchEngine, SearchResult
from ingest.store import KnowledgeBase, read_manifest

INDEX_DIR = os.environ.get("PMKB_INDEX", "index")
UPLOAD_DIR = os.environ.get("PMKB_UPLOADS") or str(Path(INDEX_DIR) / "uploads")
UPLOAD_LIMIT_MB = 5
UPLOAD_TYPES = ("md", "markdown", "txt", "html", "htm")
EXAMPLES = (
    "incidents caused by retries",
    "root cause of database overload",
    "what did they do about DDoS",
    "MTU packet loss",
    "duplicate emails",
)
PAGES = ("Search", "Incident", "Browse", "Taxonomy", "Add postmortems")
PAGE_ICONS = {  # Material icons ship with Streamlit; emoji fonts may be missing
    "Search": ":material/search:",
    "Incident": ":material/description:",
    "Browse": ":material/table_view:",
    "Taxonomy": ":material/bar_chart:",
    "Add postmortems": ":material/upload_file:",
}
ROLES = ("any", "cause", "timeline", "action", "impact")
FILTER_DEFAULTS: dict[str, Any] = {
    "f_section": "any",
    "f_category": "",
    "f_system": "",
    "f_org": "",
    "f_year": 0,
}
STATUS_LABELS = {
    "done": "done",
    "in_progress": "in progress",
    "planned": "planned",
    "unknown": "status unknown",
}
LEGEND = ("cause", "timeline", "action", "impact")
# Lanes of the timeline chart, top to bottom, and their colours.
LANES = ("start", "detection", "event", "mitigation", "resolution", "durations")
KIND_COLOURS = {
    "start": "#6b7280",
    "detection": "#d97706",
    "event": "#2563eb",
    "mitigation": "#7c3aed",
    "resolution": "#059669",
}
PHASES = (
    ("start", "detection", "to detect", "#fbbf24"),
    ("detection", "mitigation", "to mitigate", "#a78bfa"),
    ("mitigation", "resolution", "to resolve", "#34d399"),
    ("detection", "resolution", "to resolve", "#34d399"),
)
CSS = """
<style>
.pmkb-meta {color: #6b7280; font-size: 0.85rem; margin-bottom: 0.3rem;}
.pmkb-hit-title {font-size: 1.08rem; font-weight: 600; line-height: 1.35;}
.pmkb-title {font-size: 1.7rem; font-weight: 700; line-height: 1.25; margin: 0.2rem 0 0.2rem;}
.pmkb-chip {display: inline-block; padding: 0 0.55rem; margin: 0.1rem 0.3rem 0.1rem 0;
  border-radius: 0.8rem; font-size: 0.78rem; line-height: 1.5rem; background: #ede9fe;
  color: #4c1d95; white-space: nowrap;}
.pmkb-chip.sys {background: #e0f2fe; color: #075985;}
.pmkb-chip.plain {background: #f3f4f6; color: #374151;}
.pmkb-role {display: inline-block; padding: 0 0.45rem; margin-right: 0.4rem; border-radius: 0.3rem;
  font-size: 0.72rem; font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em;
  color: #1f2937;}
.pmkb-evidence {border-left: 3px solid #e5e7eb; padding: 0.15rem 0 0.15rem 0.7rem;
  margin: 0.35rem 0; line-height: 1.5;}
.pmkb-evidence mark, .pmkb-text mark {background: #fde68a; padding: 0 1px; border-radius: 2px;}
.pmkb-heading {color: #6b7280; font-size: 0.8rem;}
.pmkb-badge {display: inline-block; padding: 0 0.5rem; border-radius: 0.3rem; font-size: 0.75rem;
  font-weight: 600; margin-right: 0.4rem; line-height: 1.4rem; white-space: nowrap;}
.pmkb-status-done {background: #d1fae5; color: #065f46;}
.pmkb-status-in_progress {background: #ffedd5; color: #9a3412;}
.pmkb-status-planned {background: #dbeafe; color: #1e40af;}
.pmkb-status-unknown {background: #f3f4f6; color: #4b5563;}
.pmkb-item {margin: 0.25rem 0 0.6rem; line-height: 1.5;}
.pmkb-conf {color: #6b7280; font-size: 0.8rem;}
.pmkb-source {max-height: 34rem; overflow: auto; border: 1px solid #e5e7eb; border-radius: 0.4rem;
  padding: 0.8rem 1rem; font-size: 0.9rem; line-height: 1.55; white-space: normal;
  overflow-wrap: anywhere;}
.pmkb-legend mark {padding: 0 0.4rem; margin-right: 0.4rem; border-radius: 2px;}
.pmkb-reading {font-size: 0.88rem; color: #374151;}
@media (max-width: 640px) {
  .pmkb-title {font-size: 1.3rem;}
  .pmkb-source {max-height: 22rem; font-size: 0.85rem;}
}
</style>
"""

st.set_page_config(
    page_title="postmortem-kb",
    page_icon=":material/local_fire_department:",
    layout="wide",
    initial_sidebar_state="auto",
)


# -- cached resources and data ----------------------------------------------------------------
@st.cache_resource(show_spinner="Loading the embedding model…")
def get_embedder(model_name: str):
    """The embedder named in the index manifest, loaded once per process."""
    from ingest.embed import embedder_for

    return embedder_for(model_name)


@st.cache_resource(show_spinner="Opening the index…", max_entries=4)
def get_kb(index_dir: str, generation: str) -> KnowledgeBase:
    """One open index per generation (a new ingest gives a new generation)."""
    return KnowledgeBase.open(index_dir)


@st.cache_resource(show_spinner=False, max_entries=4)
def get_engine(index_dir: str, generation: str) -> SearchEngine:
    """A search engine over one generation, sharing the cached embedder."""
    kb = get_kb(index_dir, generation)
    return SearchEngine(kb, get_embedder(kb.embedding_model))


def current_kb() -> KnowledgeBase:
    """The live generation of the index (reopened when an ingest has committed a new one)."""
    return get_kb(INDEX_DIR, read_manifest(INDEX_DIR)["generation"])


@st.cache_data(show_spinner="Searching…", max_entries=256)
def run_search(
    index_dir: str,
    generation: str,
    query: str,
    k: int,
    mode: str,
    section: str,
    category: str,
    system: str,
    organization: str,
    year: int,
) -> SearchResult:
    """One search, cached per generation and parameters."""
    return get_engine(index_dir, generation).search(
        query,
        k=k,
        mode=mode,
        section=section,
        category=category or None,
        system=system or None,
        organization=organization or None,
        year=year or None,
    )


@st.cache_data(show_spinner=False, max_entries=256)
def similar_incidents(index_dir: str, generation: str, incident_id: str) -> list[Hit]:
    """The incidents most like this one (cached)."""
    return get_engine(index_dir, generation).similar(incident_id, k=5)


@st.cache_data(show_spinner=False, max_entries=64)
def load_incident(index_dir: str, generation: str, incident_id: str) -> Incident | None:
    """One incident with its sentences (cached: reruns of its page do not reparse it)."""
    return get_kb(index_dir, generation).incident(incident_id)


@st.cache_data(show_spinner=False, max_entries=32)
def source_html(index_dir: str, generation: str, incident_id: str) -> str:
    """The incident's original text as inert HTML, extracted sentences marked by role."""
    inc = load_incident(index_dir, generation, incident_id)
    if inc is None:
        return ""
    spans = [(s.start, s.end, ROLE_COLOURS[s.role]) for s in inc.sentences if s.role in LEGEND]
    return f"<div class='pmkb-source pmkb-text'>{render_spans(inc.text, spans)}</div>"


@st.cache_data(show_spinner=False, max_entries=8)
def incident_table(index_dir: str, generation: str) -> pd.DataFrame:
    """One row per incident, with category names and a link to its page."""
    kb = get_kb(index_dir, generation)
    df = pd.DataFrame(kb.incident_rows())
    if df.empty:
        return df
    names = category_names(index_dir, generation)
    df["date"] = df["date"].fillna("")
    df["duration_minutes"] = pd.to_numeric(df["duration_minutes"], errors="coerce")
    df["category_ids"] = df["categories"].fillna("").map(lambda s: [c for c in s.split(";") if c])
    df["category_names"] = df["category_ids"].map(lambda ids: [names.get(c, c) for c in ids])
    df["system_list"] = df["systems"].fillna("").map(lambda s: [x for x in s.split(";") if x])
    df["link"] = "?incident=" + df["incident_id"]
    return df


@st.cache_data(show_spinner=False, max_entries=8)
def category_names(index_dir: str, generation: str) -> dict[str, str]:
    """Category id -> readable name, for every category used in the index."""
    return {
        c["category_id"]: c["category"] for c in get_kb(index_dir, generation).category_counts()
    }


@st.cache_data(show_spinner=False, max_entries=8)
def cause_table(index_dir: str, generation: str) -> pd.DataFrame:
    """One row per (cause, category)."""
    return pd.DataFrame(list(get_kb(index_dir, generation).cause_rows()))


@st.cache_data(show_spinner=False, max_entries=8)
def causes_csv(index_dir: str, generation: str) -> bytes:
    """The causes export, as the CLI writes it (`pmkb export-causes`)."""
    buf = io.StringIO()
    write_causes(get_kb(index_dir, generation).cause_rows(), buf, "csv")
    return buf.getvalue().encode("utf-8")


# -- rendering helpers (all untrusted text goes through escape_inert) -----------------------
def show_html(fragment: str) -> None:
    """Render an HTML fragment built only from escaped text and our own tags."""
    st.markdown(fragment, unsafe_allow_html=True)


def esc(text: Any) -> str:
    """Untrusted text as inert HTML (no HTML, Markdown or Streamlit markup survives)."""
    return escape_inert(" ".join(str(text or "").split()))


def md_plain(text: Any) -> str:
    """Text for widgets that render Markdown (alerts, captions): every ASCII punctuation
    character is backslash-escaped, so no link, image, directive or formula can form."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", " ".join(str(text or "").split()))


def chip(text: str, kind: str = "") -> str:
    return f"<span class='pmkb-chip {kind}'>{esc(text)}</span>"


def role_chip(role: str) -> str:
    colour = ROLE_COLOURS.get(role, ROLE_COLOURS["other"])
    return f"<span class='pmkb-role' style='background:{colour}'>{esc(role)}</span>"


def inert(text: str) -> None:
    """Show untrusted text as plain, inert text."""
    show_html(f"<div class='pmkb-item'>{esc(text)}</div>")


def escape_title(title: str) -> str:
    """A title as inert HTML, or a placeholder when there is none."""
    return esc(title) or "(untitled)"


def meta_line(*parts: Any) -> str:
    return " · ".join(esc(p) for p in parts if p)


def fmt_minutes(minutes: float | None) -> str:
    """60 -> '60 min', 104 -> '1 h 44 min', 2900 -> '2 d 0 h'."""
    if minutes is None or pd.isna(minutes):
        return "—"
    m = int(round(float(minutes)))
    if m < 60:
        return f"{m} min"
    if m < 24 * 60:
        return f"{m // 60} h {m % 60:02d} min"
    return f"{m // 1440} d {(m % 1440) // 60} h"


def open_incident(incident_id: str) -> None:
    """Callback: go to an incident's page (and put its id in the URL)."""
    st.session_state["page"] = "Incident"
    st.session_state["incident_id"] = incident_id
    st.session_state["current_incident"] = incident_id
    st.session_state["url_incident"] = incident_id
    st.query_params["incident"] = incident_id


def use_example() -> None:
    """Callback: copy the picked example into the query box."""
    picked = st.session_state.get("example")
    if picked:
        st.session_state["query"] = picked
    st.session_state["example"] = None


def clear_filters() -> None:
    """Callback: reset every search filter."""
    for key, value in FILTER_DEFAULTS.items():
        st.session_state[key] = value


# -- search ---------------------------------------------------------------------------------
def search_filters(kb: KnowledgeBase) -> dict[str, Any]:
    """The sidebar filters of the search page; returns search() keyword arguments."""
    table = incident_table(INDEX_DIR, kb.generation)
    names = category_names(INDEX_DIR, kb.generation)
    with st.sidebar:
        st.subheader("Filters")
        section = st.selectbox(
            "Role of the matching sentence",
            ROLES,
            key="f_section",
            format_func=lambda r: "any role" if r == "any" else r,
        )
        category = st.selectbox(
            "Cause category",
            [""] + sorted(names, key=lambda c: names[c].lower()),
            key="f_category",
            format_func=lambda c: names.get(c, c) if c else "any",
        )
        systems = sorted({s for v in table.get("system_list", []) for s in v}, key=str.lower)
        system = st.selectbox(
            "System", [""] + systems, key="f_system", format_func=lambda s: s or "any"
        )
        orgs = sorted({o for o in table.get("organization", []) if o}, key=str.lower)
        org = st.selectbox(
            "Organisation", [""] + orgs, key="f_org", format_func=lambda s: s or "any"
        )
        years = sorted({int(y) for y in table.get("year", []) if pd.notna(y)}, reverse=True)
        year = st.selectbox(
            "Year", [0] + years, key="f_year", format_func=lambda y: str(y) if y else "any"
        )
        active = sum(st.session_state.get(k) != v for k, v in FILTER_DEFAULTS.items())
        st.button(
            f"Clear filters ({active})",
            key="clear_filters",
            on_click=clear_filters,
            disabled=not active,
            width="stretch",
        )
        with st.expander("Ranking"):
            mode = st.selectbox(
                "Retrieval",
                ["hybrid", "dense", "lexical"],
                key="f_mode",
                help="hybrid = meaning (embeddings) + words (BM25)",
            )
            k = st.slider("Results", 1, 50, 10, key="f_k")
    return {
        "k": k,
        "mode": mode,
        "section": section,
        "category": category,
        "system": system,
        "organization": org,
        "year": year,
    }


def reading_html(result: SearchResult, names: dict[str, str]) -> str:
    """'How the query was read', as inert HTML."""
    r = result.reading
    parts = [f"topic <b>{esc(r.topic or r.raw)}</b>"]
    if r.role:
        parts.append(f"looking in {role_chip(r.role)} sentences (from “{esc(r.intent_phrase)}”)")
    if r.categories:
        parts.append("categories " + "".join(chip(names.get(c, c)) for c in r.categories))
    if r.systems:
        parts.append("systems " + "".join(chip(s, "sys") for s in r.systems))
    if r.terms:
        parts.append("words " + ", ".join(esc(t) for t in r.terms))
    return (
        f"<div class='pmkb-reading'>Read as — {' · '.join(parts)} "
        f"<span class='pmkb-meta'>({result.took_ms:.0f} ms, {esc(result.mode)})</span></div>"
    )


def hit_card(rank: int, hit: Hit, terms: list[str], names: dict[str, str]) -> None:
    """One result: title, organisation and date, score, evidence with matches marked, chips."""
    with st.container(border=True):
        head, side = st.columns([5, 1], vertical_alignment="top")
        roles = list(dict.fromkeys(ev.section for ev in hit.evidence))
        matched = "".join(role_chip(r) for r in roles)
        head.markdown(
            f"<div class='pmkb-hit-title pmkb-hit'>{rank}. {escape_title(hit.title)}</div>"
            f"<div class='pmkb-meta'>{meta_line(hit.organization, hit.date or 'date unknown')}"
            f" · score <b>{hit.score:.3f}</b> · matched {matched}</div>",
            unsafe_allow_html=True,
        )
        side.button(
            "Open",
            key=f"open-{hit.incident_id}",
            on_click=open_incident,
            args=(hit.incident_id,),
            icon=":material/arrow_forward:",
            width="stretch",
            help=f"Open incident {hit.incident_id}",
        )
        for ev in hit.evidence:
            heading = f" <span class='pmkb-heading'>under “{esc(ev.heading)}”</span>"
            show_html(
                f"<div class='pmkb-evidence'>{role_chip(ev.section)}"
                f"{highlight_terms(' '.join(ev.text.split()), terms)}"
                f"{heading if ev.heading else ''}</div>"
            )
        if hit.categories:
            show_html("".join(chip(names.get(c, c)) for c in hit.categories))


def search_intro(kb: KnowledgeBase) -> None:
    """What the search page shows before a query is typed."""
    stats = kb.stats()
    st.info(
        "Type a symptom, a cause or a system — or pick an example above. "
        "Words like “caused by”, “what did they do” or “how long” steer the search "
        "to cause, action or timeline sentences."
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Incidents", stats["incidents"])
    c2.metric("Causes", stats["causes"])
    c3.metric("Action items", stats["actions"])
    c4.metric("Open actions", stats["open_actions"])


def page_search(kb: KnowledgeBase) -> None:
    st.header("Has this happened before?")
    query = st.text_input(
        "Search causes, timelines and actions across every postmortem",
        key="query",
        placeholder="e.g. incidents caused by retries",
    )
    st.pills(
        "Examples", EXAMPLES, key="example", on_change=use_example, label_visibility="collapsed"
    )
    params = search_filters(kb)
    if not query.strip():
        search_intro(kb)
        return
    result = run_search(INDEX_DIR, kb.generation, query.strip(), **params)
    names = category_names(INDEX_DIR, kb.generation)
    show_html(reading_html(result, names))
    if not result.hits:
        filtered = any(st.session_state.get(k) != v for k, v in FILTER_DEFAULTS.items())
        advice = (
            "The sidebar filters are narrowing the search: clear them to search everything."
            if filtered
            else "Try fewer or more general words, a system name, or the “hybrid” ranking."
        )
        st.warning(f"No incident matches. {advice}")
        if filtered:
            st.button("Clear filters", key="clear_filters_empty", on_click=clear_filters)
        return
    terms = list(result.reading.terms)
    for rank, hit in enumerate(result.hits, 1):
        hit_card(rank, hit, terms, names)


# -- incident -------------------------------------------------------------------------------
def parse_time(iso: str) -> pd.Timestamp | None:
    """A timeline ISO string as a UTC timestamp, or None when it is not a date."""
    if not iso or not iso[:4].isdigit():
        return None
    ts = pd.to_datetime(iso, utc=True, errors="coerce")
    return None if pd.isna(ts) else ts


def timeline_frames(
    events: list[TimelineEvent], metrics: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events, phases) for the timeline chart; times as UTC ISO strings."""
    rows = []
    for e in events:
        t = parse_time(e.iso)
        if t is None:
            continue
        end = parse_time(e.iso_end)
        rows.append(
            {
                "time": t,
                "end": end if end is not None and end > t else t,
                "lane": e.kind if e.kind in KIND_COLOURS else "event",
                "colour": KIND_COLOURS.get(e.kind, KIND_COLOURS["event"]),
                "as written": e.time_text,
                "event": " ".join(e.text.split())[:160],
            }
        )
    milestones = {k: parse_time(str(metrics.get(k) or "")) for k in KIND_COLOURS}
    phases, covered = [], set()
    for a, b, label, colour in PHASES:
        ta, tb = milestones.get(a), milestones.get(b)
        if ta is None or tb is None or tb <= ta or label in covered:
            continue
        covered.add(label)
        minutes = (tb - ta).total_seconds() / 60
        phases.append(
            {
                "time": ta,
                "end": tb,
                "lane": "durations",
                "colour": colour,
                "phase": label,
                "label": f"{label}: {fmt_minutes(minutes)}",
                "minutes": round(minutes),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(phases)


def timeline_chart(events: list[TimelineEvent], metrics: dict[str, Any]) -> alt.Chart | None:
    """Events on a UTC time axis, milestones marked, phase durations as labelled bars."""
    ev, ph = timeline_frames(events, metrics)
    if len(ev) < 2:
        return None
    times = pd.concat([ev["time"], ev["end"]] + ([ph["time"], ph["end"]] if len(ph) else []))
    span_hours = (times.max() - times.min()).total_seconds() / 3600
    margin = max(pd.Timedelta(minutes=2), (times.max() - times.min()) * 0.04)
    scale = alt.Scale(
        type="utc",
        domain=[(times.min() - margin).value // 10**6, (times.max() + margin).value // 10**6],
    )
    fmt = "%H:%M" if span_hours <= 30 else ("%b %d %H:%M" if span_hours <= 24 * 10 else "%Y-%m-%d")
    for df in (ev, ph):
        for col in ("time", "end"):
            if col in df:
                df[col] = df[col].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    lanes = [lane for lane in LANES if lane in set(ev["lane"]) or (lane == "durations" and len(ph))]
    x = alt.X(
        "time:T",
        title="time (UTC)",
        scale=scale,
        axis=alt.Axis(format=fmt, labelOverlap=True),
    )
    y = alt.Y("lane:N", title=None, sort=lanes, scale=alt.Scale(domain=lanes))
    base = alt.Chart(ev)
    layers = [
        base.transform_filter("datum.end != datum.time")
        .mark_rule(strokeWidth=4, opacity=0.5)
        .encode(x=x, x2="end:T", y=y, color=alt.Color("colour:N", scale=None)),
        base.mark_point(filled=True, size=150, opacity=0.9).encode(
            x=x,
            y=y,
            color=alt.Color("colour:N", scale=None),
            shape=alt.Shape("lane:N", legend=None),
            tooltip=[
                alt.Tooltip("time:T", format="%Y-%m-%d %H:%M", title="UTC"),
                alt.Tooltip("as written:N"),
                alt.Tooltip("lane:N", title="kind"),
                alt.Tooltip("event:N"),
            ],
        ),
        base.transform_filter("datum.lane != 'event'")
        .mark_rule(strokeDash=[4, 4], opacity=0.6)
        .encode(x=x, color=alt.Color("colour:N", scale=None)),
    ]
    if len(ph):
        phase_base = alt.Chart(ph)
        layers += [
            phase_base.mark_bar(height=22, opacity=0.75, cornerRadius=3).encode(
                x=x,
                x2="end:T",
                y=y,
                color=alt.Color("colour:N", scale=None),
                tooltip=["phase:N", alt.Tooltip("minutes:Q", title="minutes")],
            ),
            phase_base.transform_calculate(mid="(toDate(datum.time) + toDate(datum.end)) / 2")
            .mark_text(fontSize=12, fontWeight="bold", color="#111827")
            .encode(x=alt.X("mid:T", scale=scale), y=y, text="label:N"),
        ]
    return alt.layer(*layers).properties(height=44 * len(lanes) + 50)


@st.cache_data(show_spinner=False, max_entries=64)
def timeline_spec(index_dir: str, generation: str, incident_id: str) -> dict[str, Any] | None:
    """The timeline chart as a Vega-Lite spec, built and validated once per incident."""
    inc = load_incident(index_dir, generation, incident_id)
    chart = timeline_chart(list(inc.timeline), inc.metrics or {}) if inc else None
    return chart.to_dict() if chart is not None else None


def cause_html(cause: Any) -> str:
    cats = "".join(
        f"{chip(c.category)}<span class='pmkb-conf'>{c.confidence:.2f}</span> "
        for c in cause.categories
    )
    kind = esc(cause.kind.replace("_", " "))
    return (
        f"<div class='pmkb-item'>{role_chip('cause')}<b>{kind}</b> — {esc(cause.text)}"
        f"<div>{cats or '<span class=pmkb-conf>no category</span>'}</div></div>"
    )


def action_html(action: Any) -> str:
    status = action.status if action.status in STATUS_LABELS else "unknown"
    badge = f"<span class='pmkb-badge pmkb-status-{status}'>{STATUS_LABELS[status]}</span>"
    extra = meta_line(
        action.kind,
        f"owner {action.owner}" if action.owner else "",
        f"due {action.due}" if action.due else "",
    )
    title = f"<b>{esc(action.title)}</b> — " if action.title else ""
    return (
        f"<div class='pmkb-item'>{badge}{title}{esc(action.text)} "
        f"<span class='pmkb-meta'>({extra})</span></div>"
    )


def choose_incident(table: pd.DataFrame) -> str:
    """The incident to show: a new id in the URL, else the last one shown, else the newest."""
    ids = list(table["incident_id"])
    state = st.session_state
    wanted = st.query_params.get("incident")
    if wanted and wanted != state.get("url_incident"):  # a link was opened
        state["url_incident"] = wanted
        if wanted in ids:
            state["incident_id"] = wanted
        else:
            st.warning(f"There is no incident “{md_plain(wanted)}” in this index; showing another.")
    if state.get("incident_id") not in ids:  # the widget's state is dropped on other pages
        state["incident_id"] = (
            state.get("current_incident") if state.get("current_incident") in ids else ids[0]
        )
    titles = dict(zip(table["incident_id"], table["title"], strict=True))
    incident_id = st.selectbox(
        "Incident",
        ids,
        key="incident_id",
        format_func=lambda i: f"{' '.join(str(titles[i]).split())[:90]} [{i}]",
        label_visibility="collapsed",
    )
    state["current_incident"] = state["url_incident"] = incident_id
    st.query_params["incident"] = incident_id
    return incident_id


def page_incident(kb: KnowledgeBase) -> None:
    table = incident_table(INDEX_DIR, kb.generation)
    if table.empty:
        st.info("The index is empty: add postmortems first.")
        return
    incident_id = choose_incident(table)
    inc = load_incident(INDEX_DIR, kb.generation, incident_id)
    if inc is None:
        st.error("Incident not found.")
        return
    show_html(f"<div class='pmkb-title'>{escape_title(inc.title)}</div>")
    show_html(
        f"<div class='pmkb-meta'>{meta_line(inc.organization, inc.date or inc.date_note)}"
        f" · <code>{esc(inc.source)}</code></div>"
    )
    if inc.categories:
        show_html("".join(chip(c.category) for c in inc.categories))
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
        col.metric(label, fmt_minutes(value) if isinstance(value, int | float) else "—")

    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Summary")
        if inc.summary:
            for s in inc.summary:
                inert(s)
        else:
            st.caption("No summary sentence found.")
        if inc.impacts:
            st.subheader("Impact")
            for i in inc.impacts:
                figures = "".join(chip(f, "plain") for f in i.figures)
                show_html(f"<div class='pmkb-item'>{esc(i.text)}<div>{figures}</div></div>")
    with right:
        st.subheader("Systems involved")
        if inc.systems:
            show_html(
                "".join(
                    chip(f"{s.name} ×{s.mentions}" if s.mentions > 1 else s.name, "sys")
                    for s in inc.systems
                )
            )
        else:
            st.caption("No system named.")
        st.subheader("Similar incidents")
        try:
            similar = similar_incidents(INDEX_DIR, kb.generation, incident_id)
        except PmkbError as exc:
            similar = []
            st.caption(md_plain(exc))
        if not similar:
            st.caption("Nothing similar in this index yet.")
        for hit in similar:
            c1, c2 = st.columns([5, 2], vertical_alignment="center")
            c1.markdown(
                f"<div>{escape_title(hit.title)}</div>"
                f"<div class='pmkb-meta'>{meta_line(hit.organization, hit.date)} · "
                f"similarity {hit.score:.2f}</div>",
                unsafe_allow_html=True,
            )
            c2.button(
                "Open",
                key=f"sim-{hit.incident_id}",
                on_click=open_incident,
                args=(hit.incident_id,),
                width="stretch",
            )

    st.subheader("Causes")
    if not inc.causes:
        st.caption("No cause sentence found.")
    for c in inc.causes:
        show_html(cause_html(c))

    st.subheader("Timeline")
    if inc.timeline:
        spec = timeline_spec(INDEX_DIR, kb.generation, incident_id)
        if spec is not None:
            st.vega_lite_chart(spec=spec, width="stretch")
        else:
            st.caption("Too few dated events to draw; the table lists them as written.")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "time (UTC)": e.iso + (f" → {e.iso_end}" if e.iso_end else ""),
                        "as written": e.time_text,
                        "kind": e.kind,
                        "event": " ".join(e.text.split()),
                    }
                    for e in inc.timeline
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config={"event": st.column_config.TextColumn(width="large")},
        )
    else:
        st.caption("No timed events found.")

    st.subheader("Actions")
    if not inc.actions:
        st.caption("No action items found.")
    else:
        open_n = sum(a.status != "done" for a in inc.actions)
        st.caption(f"{len(inc.actions)} action items, {open_n} not reported done")
    for a in inc.actions:
        show_html(action_html(a))

    with st.expander("Original text with the extracted spans highlighted"):
        show_html(
            "<div class='pmkb-legend pmkb-meta'>"
            + "".join(f"<mark style='background:{ROLE_COLOURS[r]}'>{r}</mark>" for r in LEGEND)
            + "</div>"
        )
        spans = [
            (s.start, s.end, ROLE_COLOURS.get(s.role, ""))
            for s in inc.sentences
            if s.role != "other"
        ]
        show_html(f"<div class='pmkb-source pmkb-text'>{render_spans(inc.text, spans)}</div>")


# -- browse ---------------------------------------------------------------------------------
def page_browse(kb: KnowledgeBase) -> None:
    st.header("All incidents")
    table = incident_table(INDEX_DIR, kb.generation)
    if table.empty:
        st.info("The index is empty: add postmortems first.")
        return
    names = category_names(INDEX_DIR, kb.generation)
    c1, c2, c3, c4 = st.columns([3, 2, 2, 1.6], vertical_alignment="bottom")
    text = c1.text_input(
        "Filter", key="browse_filter", placeholder="words in the title, organisation or systems"
    )
    cats = c2.multiselect(
        "Categories",
        sorted(names, key=lambda c: names[c].lower()),
        key="browse_categories",
        format_func=lambda c: names.get(c, c),
    )
    orgs = sorted({o for o in table["organization"] if o}, key=str.lower)
    org = c3.selectbox(
        "Organisation", [""] + orgs, key="browse_org", format_func=lambda s: s or "any"
    )
    open_only = c4.toggle(
        "Open actions", key="browse_open_only", help="Only incidents with open action items"
    )
    view = table
    if text:
        needle = text.lower()
        haystack = (view["title"].fillna("") + " " + view["organization"].fillna("") + " ") + view[
            "systems"
        ].fillna("")
        view = view[haystack.str.lower().str.contains(needle, regex=False)]
    if cats:
        view = view[view["category_ids"].map(lambda ids: bool(set(ids) & set(cats)))]
    if org:
        view = view[view["organization"] == org]
    if open_only:
        view = view[view["n_open_actions"].fillna(0) > 0]
    shown = view[
        [
            "date",
            "title",
            "organization",
            "category_names",
            "duration_minutes",
            "n_open_actions",
            "link",
        ]
    ].reset_index(drop=True)
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="browse_table",
        column_config={
            "date": st.column_config.TextColumn("date", width=88),
            "title": st.column_config.TextColumn("title", width=250),
            "organization": st.column_config.TextColumn("organisation", width=95),
            "category_names": st.column_config.ListColumn("categories", width=160),
            "duration_minutes": st.column_config.NumberColumn(
                "duration", format="%d min", width=75
            ),
            "n_open_actions": st.column_config.NumberColumn(
                "open", width=55, help="open action items"
            ),
            "link": st.column_config.LinkColumn("page", display_text="open ↗", width=60),
        },
    )
    st.caption(
        f"{len(view)} of {len(table)} incidents · click a column header to sort · "
        "select a row to open it here, or use “open ↗” for a new tab"
    )
    selected = getattr(getattr(event, "selection", None), "rows", []) if event else []
    if selected and selected[0] < len(view):
        chosen = view.iloc[selected[0]]
        show_html(f"<div class='pmkb-hit-title'>{escape_title(chosen['title'])}</div>")
        st.button(
            "Open the selected incident",
            icon=":material/arrow_forward:",
            key="browse_open",
            type="primary",
            on_click=open_incident,
            args=(chosen["incident_id"],),
        )


# -- taxonomy -------------------------------------------------------------------------------
def page_taxonomy(kb: KnowledgeBase) -> None:
    st.header("What keeps hurting us")
    counts = pd.DataFrame(kb.category_counts())
    if counts.empty:
        st.info("No causes have been classified yet.")
        return
    causes = cause_table(INDEX_DIR, kb.generation)
    top, side = st.columns([3, 1], vertical_alignment="top")
    with top:
        st.subheader("Incidents per cause category")
        st.altair_chart(
            alt.Chart(counts)
            .mark_bar(cornerRadiusEnd=3, color="#7c3aed")
            .encode(
                x=alt.X("incidents:Q", title="incidents", axis=alt.Axis(tickMinStep=1)),
                y=alt.Y("category:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
                tooltip=["category", "incidents", "causes"],
            )
            .properties(height=max(120, 28 * len(counts))),
            width="stretch",
        )
    with side:
        st.subheader("Export")
        st.caption(
            "Every cause with its categories, one row per (cause, category) — "
            "the same file as `pmkb export-causes`."
        )
        st.download_button(
            "Download causes (CSV)",
            causes_csv(INDEX_DIR, kb.generation),
            file_name="causes.csv",
            mime="text/csv",
            key="download_csv",
            icon=":material/download:",
            width="stretch",
        )
        st.metric("Classified causes", len(causes.drop_duplicates(["incident_id", "start"])))
    dated = causes[causes["date"].fillna("").str[:4].str.isdigit()] if not causes.empty else causes
    st.subheader("Trend by year")
    if dated.empty:
        st.caption("No dated incidents yet.")
    else:
        trend = (
            dated.assign(year=dated["date"].str[:4].astype(int))
            .groupby(["year", "category"])["incident_id"]
            .nunique()
            .reset_index(name="incidents")
        )
        st.altair_chart(
            alt.Chart(trend)
            .mark_bar()
            .encode(
                x=alt.X("year:O", title=None, axis=alt.Axis(labelAngle=0)),
                y=alt.Y("incidents:Q", title="incidents", axis=alt.Axis(tickMinStep=1)),
                color=alt.Color(
                    "category:N",
                    title=None,
                    legend=alt.Legend(orient="bottom", columns=3, labelLimit=240),
                ),
                tooltip=["year", "category", "incidents"],
            )
            .properties(height=300),
            width="stretch",
        )
        undated = causes["incident_id"].nunique() - dated["incident_id"].nunique()
        if undated:
            st.caption(f"{undated} incident(s) with classified causes have no known date.")
    st.subheader("Drill down")
    labels = {
        r.category_id: f"{r.category} ({r.incidents})" for r in counts.itertuples(index=False)
    }
    choice = st.selectbox(
        "Category", list(counts["category_id"]), key="tax_category", format_func=labels.get
    )
    rows = causes[causes["category_id"] == choice]
    for incident_id, group in rows.groupby("incident_id", sort=False):
        with st.container(border=True):
            head, button = st.columns([6, 1], vertical_alignment="center")
            first = group.iloc[0]
            head.markdown(
                f"<div class='pmkb-hit-title'>{escape_title(first['title'])}</div>"
                f"<div class='pmkb-meta'>{meta_line(first['organization'], first['date'])}</div>",
                unsafe_allow_html=True,
            )
            button.button(
                "Open",
                key=f"tax-open-{incident_id}",
                on_click=open_incident,
                args=(incident_id,),
                width="stretch",
            )
            for _, r in group.iterrows():
                show_html(
                    f"<div class='pmkb-evidence'>{esc(r['cause'])} "
                    f"<span class='pmkb-conf'>confidence {r['confidence']:.2f}</span></div>"
                )

    recurring_section(kb)


@st.cache_data(show_spinner="Grouping similar causes…", max_entries=8)
def pattern_table(index_dir: str, generation: str, threshold: float) -> list[dict[str, Any]]:
    from ingest.patterns import cause_items, pattern_rows, recurring_patterns

    kb = get_kb(index_dir, generation)
    embedder = get_embedder(kb.embedding_model)
    clusters = recurring_patterns(kb, embedder, threshold=threshold)
    return pattern_rows(kb, cause_items(kb), clusters)


def recurring_section(kb: KnowledgeBase) -> None:
    """Clusters of similar causes across incidents, beyond the fixed categories."""
    st.subheader("Recurring patterns")
    st.caption(
        "Similar cause sentences shared by several incidents, found by meaning — including "
        "patterns the taxonomy has no category for (`pmkb patterns`)."
    )
    threshold = st.slider(
        "Similarity",
        0.4,
        0.9,
        0.6,
        0.05,
        key="pattern_threshold",
        help="How alike two causes must be to join the same pattern.",
    )
    rows = pattern_table(INDEX_DIR, kb.generation, threshold)
    if not rows:
        st.caption("No cause is shared by two or more incidents at this similarity.")
        return
    for n, row in enumerate(rows[:20]):
        with st.expander(f"{row['incidents']} incidents share: {md_plain(row['label'])}"):
            for member in row["members"]:
                show_html(
                    f"<div class='pmkb-evidence'><b>{esc(member['title'])}</b> — "
                    f"{esc(' '.join(member['cause'].split()))}</div>"
                )
            for incident_id in row["incident_ids"]:
                st.button(
                    f"Open {incident_id}",
                    key=f"pat-{n}-{incident_id}",
                    on_click=open_incident,
                    args=(incident_id,),
                )


# -- add postmortems ------------------------------------------------------------------------
def safe_upload_name(name: str) -> str:
    """A file name with no directories and only safe characters."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem or "upload").strip("._") or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    return f"{stem[:80]}.{suffix}" if suffix else stem[:80]


def check_upload(name: str, size: int, head: bytes) -> str:
    """Why an upload is refused ('' when it is acceptable)."""
    if size > UPLOAD_LIMIT_MB * 1024 * 1024:
        return f"larger than {UPLOAD_LIMIT_MB} MB"
    if size == 0:
        return "empty file"
    if name.rpartition(".")[2] not in UPLOAD_TYPES:
        return "not a .md, .txt or .html file"
    if b"\x00" in head:
        return "binary content, not text"
    return ""


def save_uploads(files: list[Any]) -> tuple[list[str], list[str]]:
    """Write accepted uploads atomically into UPLOAD_DIR; return (paths, refusals)."""
    target = Path(UPLOAD_DIR)
    saved, refused = [], []
    for f in files:
        name = safe_upload_name(f.name)
        data = f.getvalue()
        reason = check_upload(name, len(data), data[:4096])
        if reason:
            refused.append(f"{name}: {reason}, skipped")
            continue
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target, delete=False, prefix=".upload-") as tmp:
            tmp.write(data)
        os.replace(tmp.name, target / name)
        saved.append(str(target / name))
    return saved, refused


def page_add(kb: KnowledgeBase | None) -> None:
    st.header("Add postmortems")
    st.caption(
        f"Markdown, plain text or saved HTML pages, up to {UPLOAD_LIMIT_MB} MB each. Files are "
        f"kept in `{UPLOAD_DIR}`; uploading a file with the same name again replaces it."
    )
    last = st.session_state.pop("last_ingest", None)
    if last:
        st.success(last["message"])
        for line in last["warnings"]:
            st.warning(md_plain(line))
        for incident_id, title in last["added"]:
            name, button = st.columns([5, 1], vertical_alignment="center")
            name.markdown(
                f"<div class='pmkb-hit-title'>{escape_title(title)}</div>", unsafe_allow_html=True
            )
            button.button(
                "Open",
                key=f"up-{incident_id}",
                on_click=open_incident,
                args=(incident_id,),
                icon=":material/arrow_forward:",
                width="stretch",
            )
    files = st.file_uploader(
        "Postmortem files",
        type=list(UPLOAD_TYPES),
        accept_multiple_files=True,
        key=f"uploads_{st.session_state.get('upload_round', 0)}",
    )
    if not files:
        return
    if not st.button(f"Ingest {len(files)} file(s)", key="ingest_uploads", type="primary"):
        return
    saved, refused = save_uploads(list(files))
    for line in refused:
        st.error(md_plain(line))
    if not saved:
        return
    from ingest.embed import MODEL_NAME
    from ingest.pipeline import ingest_paths

    bar = st.progress(0.0, text="Reading files…")
    embedder = get_embedder(kb.embedding_model if kb else MODEL_NAME)

    def progress(_stage: str, done: int, total: int) -> None:
        bar.progress(0.5 * done / max(total, 1), text=f"Read {done}/{total} files")

    try:
        with st.spinner("Extracting causes, timeline and actions, and embedding sentences…"):
            report = ingest_paths(saved, INDEX_DIR, embedder=embedder, on_progress=progress)
    except PmkbError as exc:
        st.error(md_plain(exc))
        return
    bar.progress(1.0, text="Done")
    added = [o for o in report.outcomes if o.incident_id and o.status in ("added", "updated")]
    new_kb = current_kb()
    st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1  # clear
    st.session_state["last_ingest"] = {
        "message": (
            f"Ingested {report.ingested} file(s) in {report.seconds:.1f} s; the index now holds "
            f"{report.incidents} incidents and they are searchable now."
        ),
        "warnings": refused
        + [f"{safe_upload_name(o.source)}: {o.detail}" for o in report.skipped]
        + [
            f"{safe_upload_name(o.source)}: {o.status} ({o.detail})"
            for o in report.outcomes
            if o.status in ("duplicate", "unchanged")
        ],
        "added": [
            (o.incident_id, getattr(new_kb.incident(o.incident_id), "title", o.incident_id))
            for o in added
        ],
    }
    st.rerun()


# -- main ------------------------------------------------------------------------------------
def main() -> None:
    show_html(CSS)
    if "query" not in st.session_state:
        st.session_state["query"] = EXAMPLES[0]
    if "page" not in st.session_state:
        st.session_state["page"] = "Incident" if st.query_params.get("incident") else "Search"
    with st.sidebar:
        st.title(":material/local_fire_department: postmortem-kb")
        page = st.radio(
            "Page",
            PAGES,
            key="page",
            format_func=lambda p: f"{PAGE_ICONS[p]} {p}",
            label_visibility="collapsed",
        )
    try:
        kb = current_kb()
    except PmkbError as exc:
        if page == "Add postmortems":
            page_add(None)
            return
        st.error(md_plain(exc))
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

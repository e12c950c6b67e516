"""How long the Streamlit app takes to answer an interaction (AppTest, server side).

Drives app.py with streamlit's AppTest over an existing index and prints the wall time of:
the first run (loads the embedding model and opens the index), a rerun with the same query
(served from the caches), a new query, each page, and an incident page. Browser rendering
time is not included.

    PMKB_INDEX=index .venv/bin/python benchmarks/app_latency.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

APP = str(Path(__file__).resolve().parent.parent / "app.py")
QUERIES = ("root cause of database overload", "MTU packet loss", "what did they do about DDoS")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    from streamlit.testing.v1 import AppTest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    at = AppTest.from_file(APP, default_timeout=300)
    figures: dict[str, list[float]] = {}
    figures["first run (model load, default query)"] = [timed(at.run)]
    assert not at.exception, at.exception
    for _ in range(args.repeat):
        figures.setdefault("rerun, same query (cached)", []).append(timed(at.run))
    for q in QUERIES:
        at.text_input(key="query").set_value(q)
        figures.setdefault("new query", []).append(timed(at.run))
    for page in ("Browse", "Taxonomy", "Search"):
        at.radio(key="page").set_value(page)
        figures.setdefault(f"switch to {page}", []).append(timed(at.run))
    first = next(b.key for b in at.button if b.key and b.key.startswith("open-"))
    at.button(key=first).click()
    figures["open an incident page"] = [timed(at.run)]
    for _ in range(args.repeat):
        figures.setdefault("rerun incident page (cached)", []).append(timed(at.run))
    assert not at.exception, at.exception
    print(f"index: {os.environ.get('PMKB_INDEX', 'index')}")
    for name, values in figures.items():
        print(f"{name:42s} median {statistics.median(values):8.1f} ms  (n={len(values)})")


if __name__ == "__main__":
    main()

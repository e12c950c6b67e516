"""The app end to end in a real headless Chromium, as a user would drive it.

A `streamlit run app.py` subprocess serves a private copy of the corpus index built with the
real models; Playwright (Python) drives Debian's /usr/bin/chromium. Screenshots of every page
go to artifacts/screenshots/ (git-ignored). Under CI=true a missing Chromium or Playwright is
a failure, elsewhere a skip that says what to install.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.models]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PMKB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "artifacts" / "screenshots"
AUTH_INCIDENT = "001-18547d42d4387836"  # corpus/001_...: the authentication-service incident
CSV_HEADER = "incident_id,source,title,date,category_id,category,cause,confidence,start,end"
HOSTILE_NAME = "evil postmortem <x>.md"
# A postmortem full of markup that must stay inert (shared with tests/test_app.py).
HOSTILE = (ROOT / "tests" / "data" / "hostile_postmortem.md").read_text(encoding="utf-8")
SERVER_START_TIMEOUT = 90  # seconds
STEP_TIMEOUT = 120_000  # ms: the first search loads the embedding model
INGEST_TIMEOUT = 400_000  # ms: the first upload loads spaCy and the taxonomy


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str) -> None:
    message = f"{what} — install it to run the browser tests (make setup-test)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session", autouse=True)
def sync_playwright() -> Any:
    """Playwright's entry point, checked first (before any index is built) with Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def app_url(sync_playwright, seed_index_real, tmp_path_factory) -> Iterator[str]:
    """A Streamlit server on a free local port over a private copy of the real index."""
    work = tmp_path_factory.mktemp("browser")
    index = work / "index"
    shutil.copytree(seed_index_real, index)
    port = _free_port()
    env = dict(
        os.environ,
        PMKB_INDEX=str(index),
        PMKB_UPLOADS=str(work / "uploads"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    log_path = work / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        if "Traceback" in log_path.read_text(errors="replace"):
            print(log_path.read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def browser(sync_playwright) -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_url) -> Iterator[Any]:
    """A fresh tab at 1280x900 that records dialogs (alert/confirm) and page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(STEP_TIMEOUT)
    tab.dialogs = []
    tab.errors = []

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    tab.goto(app_url)
    yield tab
    context.close()


def settle(page: Any, seconds: float = 1.5) -> None:
    """Let Streamlit finish its rerun and the charts draw."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(int(seconds * 1000))


def screenshot(page: Any, name: str) -> Path:
    """The whole page (Streamlit scrolls inside its main block, so grow the viewport)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    settle(page)
    size = page.viewport_size
    height = page.evaluate(
        "() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 900"
    )
    page.set_viewport_size(
        {"width": size["width"], "height": max(size["height"], min(height, 8000))}
    )
    page.wait_for_timeout(800)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def go_to(page: Any, name: str) -> None:
    page.locator("[data-testid=stSidebar] label").filter(has_text=re.compile(f"{name}$")).click()
    settle(page)


def first_card_incident(page: Any) -> str:
    classes = page.locator("[class*='st-key-open-']").first.get_attribute("class") or ""
    key = next(c for c in classes.split() if c.startswith("st-key-open-"))
    return key[len("st-key-open-") :]


def search(page: Any, query: str) -> None:
    box = page.locator(".st-key-query input")
    box.fill(query)
    box.press("Enter")
    settle(page)


def test_search_open_incident_and_its_timeline(page):
    from playwright.sync_api import expect

    page.locator(".pmkb-hit").first.wait_for()
    search(page, "MTU packet loss")
    expect(page.locator(".pmkb-reading")).to_contain_text("MTU")
    search(page, "incidents caused by retries")
    expect(page.locator(".pmkb-reading")).to_contain_text("retries")
    expect(page.locator(".pmkb-reading")).to_contain_text("cause")
    assert first_card_incident(page).startswith(AUTH_INCIDENT)
    expect(page.locator(".pmkb-hit").first).to_contain_text("impacted by downtime")
    assert page.locator(".pmkb-evidence mark").count() > 0  # the matching words are marked
    screenshot(page, "01-search")

    page.locator("[class*='st-key-open-'] button").first.click()
    expect(page.locator(".pmkb-title")).to_contain_text("impacted by downtime")
    assert AUTH_INCIDENT in page.url  # linkable: ?incident=ID
    chart = page.locator("[data-testid=stVegaLiteChart]").first
    expect(chart).to_be_visible()
    expect(chart.locator("canvas, svg").first).to_be_visible()
    expect(page.locator(".pmkb-badge").first).to_be_visible()  # action items with status
    for heading in ("Causes", "Timeline", "Actions", "Similar incidents"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    screenshot(page, "02-incident")
    assert not page.errors


def test_incident_link_opens_the_page(browser, app_url, seed_index_real):
    from ingest.store import KnowledgeBase

    rows = KnowledgeBase.open(seed_index_real).incident_rows()
    target = next(r["incident_id"] for r in rows if "003_" in r["source"])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(f"{app_url}/?incident={target}")
        tab.locator(".pmkb-title").wait_for(timeout=STEP_TIMEOUT)
        assert "September 2014" in tab.locator(".pmkb-title").inner_text()
    finally:
        context.close()


def test_hostile_link_is_shown_as_text(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = context.new_page()
        bad = "![x](http://127.0.0.1:9/t.png):red[boom]<img src=x onerror=alert(1)>"
        tab.goto(f"{app_url}/?incident={urllib.parse.quote(bad)}")
        warning = tab.locator("[data-testid=stAlert]").first
        warning.wait_for(timeout=STEP_TIMEOUT)
        assert "![x](http://127.0.0.1:9/t.png):red[boom]<img" in warning.inner_text()
        assert tab.locator("img[src*='t.png'], img[src='x']").count() == 0
    finally:
        context.close()


def test_browse_and_taxonomy_csv(page):
    from playwright.sync_api import expect

    page.locator(".pmkb-hit").first.wait_for()
    go_to(page, "Browse")
    expect(page.get_by_role("heading", name="All incidents")).to_be_visible()
    expect(page.locator("[data-testid=stDataFrame]")).to_be_visible()
    expect(page.get_by_text("5 of 5 incidents")).to_be_visible()
    # Select the first row (the grid is a canvas: click its row-selection cell).
    grid = page.locator("[data-testid=stDataFrame]").bounding_box()
    page.mouse.click(grid["x"] + 16, grid["y"] + 35 + 17)
    opener = page.locator(".st-key-browse_open button")
    expect(opener).to_be_visible()
    screenshot(page, "03-browse")
    opener.click()
    expect(page.locator(".pmkb-title")).to_be_visible()
    assert "incident=" in page.url

    go_to(page, "Taxonomy")
    expect(page.get_by_role("heading", name="What keeps hurting us")).to_be_visible()
    expect(page.locator("[data-testid=stVegaLiteChart]").first).to_be_visible()
    with page.expect_download() as info:
        page.locator(".st-key-download_csv button").click()
    data = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(data)))
    assert ",".join(rows[0]) == CSV_HEADER
    assert len(rows) > 5 and all(len(r) == len(rows[0]) for r in rows)
    assert info.value.suggested_filename == "causes.csv"
    screenshot(page, "04-taxonomy")


def test_hostile_upload_is_shown_inert(page, tmp_path):
    from playwright.sync_api import expect

    page.locator(".pmkb-hit").first.wait_for()
    go_to(page, "Add postmortems")
    screenshot(page, "05-add")
    hostile = tmp_path / HOSTILE_NAME
    hostile.write_text(HOSTILE, encoding="utf-8")
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(hostile))
    page.locator(".st-key-ingest_uploads button").click()
    opener = page.locator("[class*='st-key-up-'] button").first
    opener.wait_for(timeout=INGEST_TIMEOUT)
    expect(page.get_by_text("searchable now")).to_be_visible()
    screenshot(page, "06-added")
    opener.click()
    title = page.locator(".pmkb-title")
    expect(title).to_contain_text("<img src=x onerror=")
    expect(title).to_contain_text(":red[pwned]")
    page.get_by_text("Original text with the extracted spans highlighted").click()
    source = page.locator(".pmkb-source")
    expect(source).to_contain_text("<script>window.__pwned=1</script>")
    expect(source).to_contain_text("[the runbook](javascript:window.__pwned=3)")
    expect(source).to_contain_text("**bold** $x^2$")
    settle(page, 2)
    screenshot(page, "07-hostile-incident")
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.dialogs == []
    injected = page.evaluate(
        """() => ({
            img: document.querySelectorAll('img[src="x"]').length,
            iframe: document.querySelectorAll('iframe[src^="javascript"]').length,
            js_links: document.querySelectorAll('a[href^="javascript"]').length,
            scripts: [...document.scripts].filter(s => s.text.includes('pwned')).length,
            handlers: document.querySelectorAll('[onerror],[onmouseover]').length,
        })"""
    )
    assert injected == {"img": 0, "iframe": 0, "js_links": 0, "scripts": 0, "handlers": 0}

    # The new incident is searchable at once, and its card is inert too.
    go_to(page, "Search")
    search(page, "gateway retry storm config push")
    expect(page.locator(".pmkb-hit").first).to_contain_text("gateway")
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.dialogs == []


def test_narrow_screen_stacks_the_layout(browser, app_url):
    context = browser.new_context(viewport={"width": 420, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(app_url)
        tab.locator(".pmkb-hit").first.wait_for(timeout=STEP_TIMEOUT)
        settle(tab)
        width = tab.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 430  # no horizontal scrolling
        screenshot(tab, "08-search-narrow")
    finally:
        context.close()

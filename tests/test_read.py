"""Tests for ingest.read: discovery, decoding, binary/size/permission errors, HTML to text."""

from __future__ import annotations

import codecs
import os
import time
from pathlib import Path

import pytest

from ingest import read as read_module
from ingest.read import (
    SUPPORTED_SUFFIXES,
    ReadError,
    decode_bytes,
    discover_files,
    html_to_text,
    read_document,
)

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def read_error(path: Path, **kwargs: int) -> ReadError:
    with pytest.raises(ReadError) as caught:
        read_document(path, **kwargs)
    assert caught.value.path == str(path)
    return caught.value


# --- read_document: text and encodings --------------------------------------------------


def test_reads_markdown_with_format_sha_and_path_as_given(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "# Title\n\nBody text.\n")
    doc = read_document(path)
    assert doc.text == "# Title\n\nBody text.\n"
    assert doc.format == "markdown"
    assert doc.encoding == "utf-8"
    assert doc.path == str(path)
    other = read_document(write(tmp_path / "b.markdown", "# Title\n\nBody text.\n"))
    assert other.sha256 == doc.sha256  # identical texts share the hash


@pytest.mark.parametrize(
    ("name", "expected"),
    [("x.md", "markdown"), ("x.MARKDOWN", "markdown"), ("x.txt", "text"), ("x.text", "text")],
)
def test_format_from_suffix(tmp_path: Path, name: str, expected: str) -> None:
    assert read_document(write(tmp_path / name, "Some text here.")).format == expected


def test_relative_path_stays_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "docs" / "a.txt", "Some text.")
    monkeypatch.chdir(tmp_path)
    assert read_document("docs/a.txt").path == "docs/a.txt"


def test_crlf_and_cr_newlines_normalised(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "a.txt", b"one\r\ntwo\rthree\n"))
    assert doc.text == "one\ntwo\nthree\n"


def test_nfc_normalisation_and_sha_of_final_text(tmp_path: Path) -> None:
    decomposed = "Cafe\u0301 outage"  # e + combining acute
    doc = read_document(write(tmp_path / "a.txt", decomposed))
    assert doc.text == "Caf\u00e9 outage"
    import hashlib

    assert doc.sha256 == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()


def test_utf8_bom_removed(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "a.md", codecs.BOM_UTF8 + "Héllo".encode()))
    assert doc.text == "Héllo"
    assert doc.encoding == "utf-8-sig"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    data = bom + "Outage at 14:00 — “bad” day\r\n".encode(codec)
    doc = read_document(write(tmp_path / "a.txt", data))
    assert doc.text == "Outage at 14:00 — “bad” day\n"
    assert doc.encoding == codec


def test_utf16_without_bom_is_detected(tmp_path: Path) -> None:
    data = "The database failed at noon.\n".encode("utf-16-le")
    doc = read_document(write(tmp_path / "a.txt", data))
    assert doc.text == "The database failed at noon.\n"


def test_cp1252_smart_quotes(tmp_path: Path) -> None:
    data = "We\u2019re sorry \u2013 the \u201cAPI\u201d failed.".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    doc = read_document(write(tmp_path / "a.txt", data))
    assert doc.text == "We\u2019re sorry \u2013 the \u201cAPI\u201d failed."
    assert doc.encoding == "cp1252"


def test_invalid_utf8_latin_bytes_fall_back_to_cp1252(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "a.txt", b"caf\xe9 \xe0 la carte"))
    assert doc.text == "café à la carte"


def test_mostly_utf8_with_one_bad_byte_stays_utf8(tmp_path: Path) -> None:
    data = "Zürich – “quoted” text, naïve café. ".encode() * 5 + b"\xff end"
    doc = read_document(write(tmp_path / "a.txt", data))
    assert doc.encoding == "utf-8"
    assert "Zürich – “quoted”" in doc.text  # not mojibake like "ZÃ¼rich"
    assert "\ufffd" in doc.text


def test_charset_normalizer_is_the_last_resort(tmp_path: Path) -> None:
    # Serbian Cyrillic in cp1251 has bytes (0x90 "ђ") that Windows-1252 leaves undefined.
    text = "Сервер базе података је пао у 14:00. Ђорђе је рестартовао сервис. " * 5
    data = text.encode("cp1251")
    with pytest.raises(UnicodeDecodeError):
        data.decode("cp1252")
    doc = read_document(write(tmp_path / "a.txt", data))
    assert doc.encoding == "cp1251"
    assert doc.text == text


def test_decode_bytes_never_returns_wrong_type() -> None:
    text, encoding = decode_bytes(b"plain ascii")
    assert (text, encoding) == ("plain ascii", "utf-8")


def test_stray_nul_bytes_are_stripped(tmp_path: Path) -> None:
    data = b"A long enough line of text with one stray NUL\x00 byte in it." + b" More text." * 20
    doc = read_document(write(tmp_path / "a.txt", data))
    assert "\x00" not in doc.text
    assert "stray NUL byte" in doc.text


# --- read_document: errors ---------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    assert read_error(write(tmp_path / "a.md", b"")).reason == "empty file"


def test_whitespace_only_file(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "a.txt", " \n\t\r\n  \n"))
    assert error.reason.startswith("empty file")


def test_png_renamed_md(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "shot.md", PNG_BYTES))
    assert error.reason == "binary file (looks like PNG image)"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"GIF89a\x01\x00\x01\x00", "GIF image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP archive"),
    ],
)
def test_magic_numbers(tmp_path: Path, data: bytes, kind: str) -> None:
    assert read_error(write(tmp_path / "a.txt", data)).reason == f"binary file (looks like {kind})"


def test_nul_heavy_data_is_binary(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    assert read_error(write(tmp_path / "a.md", data)).reason == "binary file (contains NUL bytes)"


def test_too_large(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"x" * 2_000)
    error = read_error(path, max_bytes=1_000)
    assert error.reason == "file too large (0.0 MB > 0.001 MB limit)"
    big = write(tmp_path / "b.txt", b"y" * 3_100_000)
    assert read_error(big, max_bytes=2_500_000).reason == "file too large (3.1 MB > 2.5 MB limit)"


def test_missing_file_vanished(tmp_path: Path) -> None:
    assert read_error(tmp_path / "gone.md").reason == "file vanished during ingest"


def test_file_deleted_between_discovery_and_read(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "# Outage\n\nText.")
    files, skipped = discover_files([tmp_path])
    assert files == [str(path)] and skipped == []
    path.unlink()
    with pytest.raises(ReadError) as caught:
        read_document(files[0])
    assert caught.value.reason == "file vanished during ingest"


def test_directory_named_like_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "notes.md"
    folder.mkdir()
    assert read_error(folder).reason == "is a directory, not a file"


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    assert read_error(fifo).reason == "not a regular file"  # and does not block
    assert discover_files([tmp_path]) == ([], [(str(fifo), "not a regular file")])


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "secret.md", "# Secret\n\nText.")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            # Running as root: chmod does not block reading, so simulate the OS refusing.
            real_open = open

            def refusing_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
                if str(file) == str(path):
                    raise PermissionError(13, "Permission denied", str(file))
                return real_open(file, *args, **kwargs)

            monkeypatch.setattr("builtins.open", refusing_open)
        assert read_error(path).reason == "permission denied"
    finally:
        path.chmod(0o644)


def test_read_error_message_names_path_and_reason(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "a.md", b""))
    assert str(error) == f"{tmp_path / 'a.md'}: empty file"


def test_twenty_megabyte_file_reads_in_bounded_time(tmp_path: Path) -> None:
    line = "The API failed at 14:00 UTC because the pool was exhausted by retries.\n"
    path = write(tmp_path / "big.txt", line * (20_000_000 // len(line)))
    started = time.perf_counter()
    doc = read_document(path)
    assert time.perf_counter() - started < 5.0
    assert len(doc.text) >= 19_000_000


def test_single_one_megabyte_line_reads_in_bounded_time(tmp_path: Path) -> None:
    path = write(tmp_path / "line.md", "word " * 200_000)
    started = time.perf_counter()
    doc = read_document(path)
    assert time.perf_counter() - started < 2.0
    assert doc.text.count("word") == 200_000


# --- discover_files ------------------------------------------------------------------------


def make_tree(root: Path) -> None:
    write(root / "b.md", "b")
    write(root / "a.txt", "a")
    write(root / "sub" / "c.html", "<p>c</p>")
    write(root / "sub" / "deeper" / "d.markdown", "d")
    write(root / "sub" / "image.png", PNG_BYTES)
    write(root / ".git" / "HEAD.md", "hidden")
    write(root / ".hidden.md", "hidden")


def test_discover_sorted_recursive_skips_hidden(tmp_path: Path) -> None:
    make_tree(tmp_path)
    files, skipped = discover_files([tmp_path])
    assert files == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "b.md"),
        str(tmp_path / "sub" / "c.html"),
        str(tmp_path / "sub" / "deeper" / "d.markdown"),
    ]
    assert skipped == [(str(tmp_path / "sub" / "image.png"), "unsupported file type (.png)")]


def test_discover_relative_paths_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path / "pm")
    monkeypatch.chdir(tmp_path)
    files, _ = discover_files(["./pm", "pm/b.md"])
    assert files[0] == os.path.join("./pm", "a.txt")
    assert all(not os.path.isabs(f) for f in files)
    # pm/b.md was already found inside ./pm: kept once, the repeat is reported.
    assert files.count("./pm/b.md") == 1
    _, skipped = discover_files(["./pm", "pm/b.md"])
    assert ("pm/b.md", "duplicate of ./pm/b.md") in skipped


def test_discover_missing_path_is_a_skip(tmp_path: Path) -> None:
    files, skipped = discover_files([tmp_path / "nope"])
    assert files == []
    assert skipped == [(str(tmp_path / "nope"), "not found")]


def test_discover_explicit_unsupported_file(tmp_path: Path) -> None:
    path = write(tmp_path / "report.pdf", b"%PDF-1.4")
    assert discover_files([path]) == ([], [(str(path), "unsupported file type (.pdf)")])


def test_discover_survives_symlink_loops(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a.md", "a")
    (tmp_path / "docs" / "loop").symlink_to(tmp_path / "docs", target_is_directory=True)
    (tmp_path / "docs" / "self.md").symlink_to(tmp_path / "docs" / "self.md")
    started = time.perf_counter()
    files, skipped = discover_files([tmp_path / "docs"])
    assert time.perf_counter() - started < 2.0
    assert files == [str(tmp_path / "docs" / "a.md")]
    reasons = dict(skipped)
    assert reasons[str(tmp_path / "docs" / "loop")].startswith("symlink loop")
    assert reasons[str(tmp_path / "docs" / "self.md")] == "symlink loop"


def test_discover_broken_symlink(tmp_path: Path) -> None:
    (tmp_path / "dangling.md").symlink_to(tmp_path / "missing.md")
    assert discover_files([tmp_path]) == ([], [(str(tmp_path / "dangling.md"), "broken symlink")])


def test_discover_unreadable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "locked" / "a.md", "a")
    real_listdir = os.listdir

    def refusing_listdir(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)

    monkeypatch.setattr(read_module.os, "listdir", refusing_listdir)
    assert discover_files([tmp_path]) == ([], [(str(tmp_path / "locked"), "permission denied")])


def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == (".md", ".markdown", ".txt", ".text", ".html", ".htm")


# --- HTML ----------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>Outage &amp; Recovery</title>
<style>.x { content: "STYLETEXT" }</style>
<script>var leaked = "SCRIPTTEXT";</script></head>
<body>
<nav><a href="/">NAVTEXT</a></nav>
<header class="site-header">HEADERTEXT</header>
<article>
<h1>Database outage</h1>
<p>On 3 May at 14:00 UTC our <b>primary</b> database failed &mdash; badly.<br>It recovered.</p>
<h2>Timeline</h2>
<ul><li>14:00 alert fired</li><li>14:05 paged<ul><li>nested</li></ul></li></ul>
<ol><li>First</li><li>Second</li></ol>
<table><tr><th>Time</th><th>Event</th></tr><tr><td>14:00</td><td>Alert</td></tr></table>
<pre>$ restart db
ok</pre>
<div class="share-buttons">SHARETEXT</div>
<section id="comments">COMMENTTEXT</section>
<div class="related-posts">RELATEDTEXT</div>
<noscript>NOSCRIPTTEXT</noscript><template>TEMPLATETEXT</template>
<svg><text>SVGTEXT</text></svg><iframe src="x">IFRAMETEXT</iframe>
<form>FORMTEXT<input value="x"></form><aside>ASIDETEXT</aside>
<div hidden>HIDDENTEXT</div><p style="display: none">INVISIBLETEXT</p>
</article>
<footer>FOOTERTEXT</footer>
</body></html>"""


def test_html_to_text_structure() -> None:
    text, title = html_to_text(PAGE)
    assert title == "Outage & Recovery"
    assert text.startswith("# Database outage\n\n")
    assert "On 3 May at 14:00 UTC our **primary** database failed — badly.\nIt recovered." in text
    assert "\n## Timeline\n" in text
    assert "- 14:00 alert fired\n- 14:05 paged\n  - nested\n" in text
    assert "1. First\n2. Second" in text
    assert "| Time | Event |\n| --- | --- |\n| 14:00 | Alert |" in text
    assert "```\n$ restart db\nok\n```" in text


@pytest.mark.parametrize(
    "marker",
    [
        "STYLETEXT",
        "SCRIPTTEXT",
        "NAVTEXT",
        "HEADERTEXT",
        "SHARETEXT",
        "COMMENTTEXT",
        "RELATEDTEXT",
        "NOSCRIPTTEXT",
        "TEMPLATETEXT",
        "SVGTEXT",
        "IFRAMETEXT",
        "FORMTEXT",
        "ASIDETEXT",
        "HIDDENTEXT",
        "INVISIBLETEXT",
        "FOOTERTEXT",
    ],
)
def test_html_drops_invisible_and_boilerplate_elements(marker: str) -> None:
    text, _ = html_to_text(PAGE)
    assert marker not in text


def test_read_html_document(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "page.htm", PAGE))
    assert doc.format == "html"
    assert doc.title_hint == "Outage & Recovery"
    assert "SCRIPTTEXT" not in doc.text and "<" not in doc.text.replace("\\<", "")


def test_html_without_visible_text(tmp_path: Path) -> None:
    page = "<html><head><title>T</title><script>x()</script></head><body></body></html>"
    assert read_error(write(tmp_path / "a.html", page)).reason == "no visible text in HTML page"


def test_html_unclosed_head_does_not_hide_body() -> None:
    text, title = html_to_text("<html><head><title>T</title><body><p>Visible body.</p>")
    assert title == "T"
    assert text == "Visible body.\n"


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("# of users dropped", "\\# of users dropped"),
        ("1. not a list", "1\\. not a list"),
        ("- not a list", "\\- not a list"),
        ("* not a list", "\\* not a list"),
        ("&gt; not a quote", "\\> not a quote"),
        ("&lt;div&gt; not HTML", "\\<div> not HTML"),
        ("===", "\\==="),
        ("-5% errors", "-5% errors"),
        ("&lt;3 is fine", "<3 is fine"),
        ("<b>Bold</b> lead-in", "**Bold** lead-in"),
    ],
)
def test_html_paragraph_that_looks_like_markdown_is_escaped(paragraph: str, expected: str) -> None:
    text, _ = html_to_text(f"<p>{paragraph}</p>")
    assert text == expected + "\n"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>our<strong> primary </strong>db</p>", "our **primary** db\n"),
        ("<li><strong>Pool size</strong> - fixed</li>", "- **Pool size** - fixed\n"),
        ("<p><b></b>empty bold</p>", "empty bold\n"),
        ("<p><b>unclosed<p>next</p>", "unclosed\n\nnext\n"),
        ("<h2><b>Heading</b></h2>", "## Heading\n"),
    ],
)
def test_html_bold_becomes_markdown_bold(html: str, expected: str) -> None:
    assert html_to_text(html)[0] == expected


def test_html_article_header_keeps_title() -> None:
    text, _ = html_to_text("<article><header><h1>Title</h1></header><p>Body.</p></article>")
    assert text == "# Title\n\nBody.\n"


def test_html_entities_and_malformed_markup() -> None:
    text, _ = html_to_text("<p>a &lt;b&gt; &amp; c<p>second <i>para</b></div>")
    assert text == "a <b> & c\n\nsecond para\n"


def test_html_ordered_list_start_and_landmark_roles() -> None:
    page = (
        '<div role="navigation">NAVROLE</div><ol start="3"><li>third</li><li>fourth</li></ol>'
        '<div role="contentinfo">FOOTROLE</div>'
    )
    text, _ = html_to_text(page)
    assert text == "3. third\n4. fourth\n"


def test_html_code_comments_are_kept() -> None:
    page = '<pre><code>x = 1 <span class="hljs-comment"># the fix</span></code></pre>'
    text, _ = html_to_text(page)
    assert text == "```\nx = 1 # the fix\n```\n"


def test_html_layout_wrapper_classes_do_not_hide_content() -> None:
    page = (
        '<div class="page with-sidebar has-comments"><p>Kept body.</p>'
        '<div class="sidebar">SIDEBAR</div><div class="comments-area">COMMENTS</div></div>'
    )
    assert html_to_text(page)[0] == "Kept body.\n"


def test_realistic_blog_page(tmp_path: Path) -> None:
    page = """<!doctype html><html><head><title>Post-mortem: API outage | Acme Blog</title>
    <script src="a.js"></script></head><body class="post-template has-sidebar">
    <div id="cookie-consent">We use cookies. <button>Accept</button></div>
    <header class="site-header"><nav><a href="/blog">Blog</a></nav></header>
    <main><article><header><h1>API outage on 12 March</h1>
    <div class="post-meta">Jane Doe · 6 min read</div></header>
    <p>Between 14:02 and 15:10 UTC the API returned errors for 38% of requests.</p>
    <h2>Timeline</h2><table><thead><tr><th>Time</th><th>Event</th></tr></thead>
    <tbody><tr><td>14:02</td><td>Deploy</td></tr><tr><td>15:10</td><td>Rollback</td></tr></tbody>
    </table><h2>Action items</h2><ol><li><strong>Validate pool size</strong> in CI</li></ol>
    <div class="share-buttons">Share on Twitter</div></article>
    <section class="related-posts"><h3>Related posts</h3></section></main>
    <aside class="sidebar"><h4>Subscribe</h4></aside><footer>© 2024 Acme</footer></body></html>"""
    document = read_document(write(tmp_path / "post.html", page))
    assert document.title_hint == "Post-mortem: API outage | Acme Blog"
    assert document.text == (
        "# API outage on 12 March\n\n"
        "Jane Doe · 6 min read\n\n"
        "Between 14:02 and 15:10 UTC the API returned errors for 38% of requests.\n\n"
        "## Timeline\n\n"
        "| Time | Event |\n| --- | --- |\n| 14:02 | Deploy |\n| 15:10 | Rollback |\n\n"
        "## Action items\n\n"
        "1. **Validate pool size** in CI\n"
    )


def test_deeply_nested_html_in_bounded_time() -> None:
    depth = 20_000  # quadratic handling of end tags would take minutes
    page = "<div>" * depth + "deep text" + "</span>" * depth + "</div>" * depth
    started = time.perf_counter()
    text, _ = html_to_text(page)
    assert time.perf_counter() - started < 5.0
    assert text == "deep text\n"

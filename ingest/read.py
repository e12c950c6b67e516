"""Read postmortem files from disk into :class:`~ingest.records.Document` records.

This module only turns bytes into text: it finds the files to ingest, rejects what is not
text (binary files, oversized files, unreadable paths) with a :class:`ReadError` that says
why in one short sentence, decodes the rest (BOM-aware UTF-8/UTF-16, strict UTF-8, then
Windows-1252, charset-normalizer as a last resort), normalises newlines and Unicode (NFC),
and converts saved HTML pages to Markdown-like text with the standard library's
``html.parser`` (nothing is fetched or executed). Splitting text into sections is done by
:mod:`ingest.sections`.
"""

from __future__ import annotations

import codecs
import collections
import errno
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

from ingest.records import DocFormat, Document

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "ReadError",
    "binary_kind",
    "decode_bytes",
    "discover_files",
    "html_to_text",
    "normalize_text",
    "read_document",
]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".md", ".markdown", ".txt", ".text", ".html", ".htm")
DEFAULT_MAX_BYTES = 25_000_000

_FORMAT_BY_SUFFIX: dict[str, DocFormat] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
}

# Magic numbers of common binary formats that end up next to postmortems (screenshots, PDFs).
_MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x7fELF", "ELF executable"),
    (b"RIFF", "RIFF media file"),
    (b"\x00\x00\x01\x00", "icon image"),
)

# C0 control bytes that never occur in text files (tab, newlines, form feed and ESC are allowed).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


class ReadError(Exception):
    """A file could not be read as a postmortem; ``reason`` says why in one short sentence."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


# ---------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------


def _is_supported(name: str) -> bool:
    return name.lower().endswith(SUPPORTED_SUFFIXES)


def _suffix_label(name: str) -> str:
    suffix = Path(name).suffix
    return suffix if suffix else "no extension"


def discover_files(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand files and folders into the list of files to ingest.

    Folders are walked recursively in sorted order; hidden files and folders (``.git``,
    ``.venv``...) are left out silently; symlinked folders are followed once (a loop is
    reported, not followed). A file reached twice (for example given explicitly and inside a
    given folder) is kept once. Paths are returned as given: a relative folder gives relative
    file paths joined onto the folder as the user wrote it.

    Returns ``(files, skipped)`` where ``skipped`` holds ``(path, reason)`` pairs.
    """
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen_files: dict[str, str] = {}
    seen_dirs: set[str] = set()

    def add_file(path: str) -> None:
        real = os.path.realpath(path)
        if real in seen_files:
            skipped.append((path, f"duplicate of {seen_files[real]}"))
            return
        seen_files[real] = path
        files.append(path)

    def walk(folder: str) -> None:
        real = os.path.realpath(folder)
        if real in seen_dirs:
            skipped.append((folder, "symlink loop (folder already visited)"))
            return
        seen_dirs.add(real)
        try:
            names = sorted(os.listdir(folder))
        except PermissionError:
            skipped.append((folder, "permission denied"))
            return
        except OSError as error:
            skipped.append((folder, _os_error_reason(error)))
            return
        for name in names:
            if name.startswith("."):
                continue
            visit(os.path.join(folder, name))

    def visit(path: str) -> None:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            reason = "broken symlink" if os.path.islink(path) else "not found"
            skipped.append((path, reason))
            return
        except OSError as error:
            skipped.append((path, _os_error_reason(error)))
            return
        if stat.S_ISDIR(mode):
            walk(path)
        elif not stat.S_ISREG(mode):
            skipped.append((path, "not a regular file"))
        elif _is_supported(path):
            add_file(path)
        else:
            skipped.append((path, f"unsupported file type ({_suffix_label(path)})"))

    for given in paths:
        visit(os.fspath(given))
    return files, skipped


def _os_error_reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, FileNotFoundError):
        return "file vanished during ingest"
    if isinstance(error, IsADirectoryError):
        return "is a directory, not a file"
    return f"could not read file ({error.strerror or type(error).__name__})"


# ---------------------------------------------------------------------------
# Reading and decoding
# ---------------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _too_large(size: int, max_bytes: int) -> str:
    return f"file too large ({_megabytes(size)} > {max_bytes / 1_000_000:g} MB limit)"


def read_document(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read one file and return it as a decoded, normalised :class:`Document`.

    The file is read once. Raises :class:`ReadError` for files that are missing, unreadable,
    too large, binary, empty (or whitespace only) or not decodable as text.
    """
    given = os.fspath(path)
    suffix = Path(given).suffix.lower()
    doc_format: DocFormat = _FORMAT_BY_SUFFIX.get(suffix, "text")
    data = _read_bytes(given, max_bytes)
    if not data:
        raise ReadError(given, "empty file")
    kind = binary_kind(data)
    if kind:
        raise ReadError(given, f"binary file ({kind})")
    try:
        text, encoding = decode_bytes(data)
    except UnicodeDecodeError:
        raise ReadError(given, "invalid text encoding") from None
    text = normalize_text(text)
    if _looks_like_garbage(text):
        raise ReadError(given, "binary file (too many control characters)")
    title_hint = ""
    if doc_format == "html":
        text, title_hint = html_to_text(text)
    if not text.strip():
        reason = "no visible text in HTML page" if doc_format == "html" else "empty file"
        if doc_format != "html" and data.strip():
            reason = "empty file (whitespace only)"
        raise ReadError(given, reason)
    sha256 = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return Document(
        path=given,
        text=text,
        format=doc_format,
        sha256=sha256,
        encoding=encoding,
        title_hint=title_hint,
    )


def _read_bytes(path: str, max_bytes: int) -> bytes:
    """Read at most ``max_bytes + 1`` bytes, translating OS errors into ReadError."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ReadError(path, "is a directory, not a file")
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            raise ReadError(path, "not a regular file")
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ReadError(path, _too_large(size, max_bytes))
            data = handle.read(max_bytes + 1)
    except ReadError:
        raise
    except FileNotFoundError:
        raise ReadError(path, "file vanished during ingest") from None
    except OSError as error:
        raise ReadError(path, _os_error_reason(error)) from None
    if len(data) > max_bytes:  # the file grew while we read it, or fstat lied (pipes, /proc)
        raise ReadError(path, _too_large(len(data), max_bytes))
    return data


def binary_kind(data: bytes) -> str:
    """Say why data is binary ("looks like PNG image", "contains NUL bytes"), or "" if text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ""
    for magic, name in _MAGIC_NUMBERS:
        if data.startswith(magic):
            return f"looks like {name}"
    sample = data[:65536]
    nuls = sample.count(b"\x00")
    if nuls:
        if _utf16_without_bom(sample):
            return ""
        # A stray NUL in a text file is tolerated (and stripped); many of them mean binary.
        if nuls > max(2, len(sample) // 1000):
            return "contains NUL bytes"
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > max(8, len(sample) // 20):
        return "contains control bytes"
    return ""


def _utf16_without_bom(sample: bytes) -> str:
    """Return "utf-16-le"/"utf-16-be" if the sample looks like BOM-less UTF-16 text."""
    if len(sample) < 4:
        return ""
    even, odd = sample[0::2], sample[1::2]
    half = len(sample) // 2
    if odd.count(0) > 0.4 * half and even.count(0) < 0.05 * half:
        return "utf-16-le"
    if even.count(0) > 0.4 * half and odd.count(0) < 0.05 * half:
        return "utf-16-be"
    return ""


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes to text; return ``(text, encoding name)``.

    Order: byte-order mark (UTF-8, UTF-16 LE/BE), BOM-less UTF-16, strict UTF-8, Windows-1252,
    then charset-normalizer. Raises ``UnicodeDecodeError`` if nothing fits.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE):
        return data[2:].decode("utf-16-le", errors="replace"), "utf-16-le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return data[2:].decode("utf-16-be", errors="replace"), "utf-16-be"
    if b"\x00" in data[:65536]:
        utf16 = _utf16_without_bom(data[:65536])
        if utf16:
            return data.decode(utf16, errors="replace"), utf16
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace"), "utf-8"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        pass
    return _decode_with_charset_normalizer(data)


def _mostly_utf8(data: bytes) -> bool:
    """True if the data is valid UTF-8 with multibyte characters and only a few bad bytes."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    multibyte = len(data) - len(text.encode("ascii", errors="ignore")) - bad
    return multibyte > 0 and bad <= max(1, multibyte // 50)


def _decode_with_charset_normalizer(data: bytes) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:2_000_000]).best()
    if best is None:
        raise UnicodeDecodeError("unknown", data[:1], 0, 1, "no text encoding fits")
    try:
        return data.decode(best.encoding), best.encoding
    except (UnicodeDecodeError, LookupError):
        raise UnicodeDecodeError("unknown", data[:1], 0, 1, "no text encoding fits") from None


_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")


def normalize_text(text: str) -> str:
    """Normalise newlines to ``\\n``, strip NUL characters and BOMs, and apply NFC."""
    text = _NEWLINES.sub("\n", text)
    text = text.replace("\x00", "").replace("\ufeff", "")
    return unicodedata.normalize("NFC", text)


def _looks_like_garbage(text: str) -> bool:
    """True if decoded text is mostly replacement or control characters."""
    sample = text[:65536]
    if not sample:
        return False
    bad = sample.count("\ufffd") + sum(
        1 for char in sample if ord(char) < 32 and char not in "\t\n\f\x1b"
    )
    return bad > max(8, len(sample) // 10)


# ---------------------------------------------------------------------------
# HTML -> Markdown-like text
# ---------------------------------------------------------------------------

# Elements whose whole content is dropped.
_SKIPPED_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "canvas",
        "form",
        "button",
        "select",
        "textarea",
        "nav",
        "footer",
        "header",
        "aside",
        "head",
        "dialog",
    }
)
_VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "body",
        "html",
        "figure",
        "figcaption",
        "address",
        "details",
        "summary",
        "dl",
        "dt",
        "dd",
        "center",
        "fieldset",
        "caption",
    }
)
_HEADING_TAGS = {f"h{level}": level for level in range(1, 7)}
_BOILERPLATE_ATTR = re.compile(
    r"(?:^|[-_\s])(?:comments?|disqus|newsletter|subscribe|subscription|signup|share|sharing|"
    r"social|related|cookies?|consent|gdpr|sidebar|menu|navbar|nav|breadcrumbs?|promo|"
    r"advert\w*|ads?|popup|modal|skip-link)(?:$|[-_\s])",
    re.IGNORECASE,
)
_LAYOUT_PREFIXES = ("has-", "with-", "no-", "is-", "hljs-", "language-", "lang-", "token")
# ARIA landmarks equivalent to <nav>, <header>, <footer>, <aside>, <form>, <dialog>.
_BOILERPLATE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "form"}
)
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_MARKDOWN_LINE_START = re.compile(
    r"^(?:#{1,6}(?:\s|$)|>|[-+*](?:\s|$)|[-*_=](?:\s*[-*_=]){2,}\s*$|=+\s*$"
    r"|<[A-Za-z/!?]|\d{1,9}[.)](?:\s|$)|\||```|~~~)"
)


def _escape_line_start(line: str) -> str:
    """Escape a character that would make Markdown read a plain paragraph as something else."""
    match = _MARKDOWN_LINE_START.match(line)
    if not match:
        return line
    digits = re.match(r"\d{1,9}(?=[.)])", line)
    if digits:
        return line[: digits.end()] + "\\" + line[digits.end() :]
    return "\\" + line


class _HtmlTextExtractor(HTMLParser):
    """Collect visible text of an HTML page as Markdown-like blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, str]] = []  # (kind, text); kind "li" parts join tightly
        self.buffer: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a skipped region)
        self.open_counts: collections.Counter[str] = collections.Counter()  # tags in the stack
        self.skip_depth = 0
        self.title_parts: list[str] = []
        self.in_title = False
        self.heading_level = 0
        self.lists: list[list[int | str]] = []  # [kind "ul"/"ol", counter, indent]
        self.item_prefix = ""
        self.item_open = False
        self.pre_depth = 0
        self.pre_buffer: list[str] = []
        self.quote_depth = 0
        self.article_depth = 0
        self.table_rows: list[tuple[bool, list[str]]] | None = None
        self.row: tuple[bool, list[str]] | None = None
        self.cell: list[str] | None = None
        self.table_depth = 0
        self.bold_marks: list[int] = []  # buffer positions of open <strong>/<b> marks

    # -- helpers -----------------------------------------------------------
    def _should_skip(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _SKIPPED_TAGS:
            # An article's own <header> usually holds its title: keep it.
            return not (tag == "header" and self.article_depth > 0)
        attributes = {name.lower(): (value or "") for name, value in attrs}
        if "hidden" in attributes or attributes.get("aria-hidden", "").lower() == "true":
            return True
        style = attributes.get("style", "").replace(" ", "").lower()
        if "display:none" in style or "visibility:hidden" in style:
            return True
        if tag in ("html", "body", "main", "article") or self.pre_depth:
            return False  # never drop the page itself, nor code ("hljs-comment" spans)
        if attributes.get("role", "").lower() in _BOILERPLATE_ROLES:
            return True
        for name in ("class", "id"):
            for token in attributes.get(name, "").split():
                # "has-sidebar"/"with-comments" describe a layout wrapper, not the widget.
                if not token.lower().startswith(_LAYOUT_PREFIXES) and _BOILERPLATE_ATTR.search(
                    token
                ):
                    return True
        return False

    def _flush(self) -> None:
        for mark in self.bold_marks:  # a <strong> still open: drop its mark
            if mark < len(self.buffer) and self.buffer[mark] == "**":
                self.buffer[mark] = ""
        raw = "".join(self.buffer)
        self.buffer = []
        self.bold_marks = []
        lines = [_SPACES.sub(" ", line).strip() for line in raw.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            return
        if self.heading_level:
            self._add("heading", "#" * self.heading_level + " " + " ".join(lines))
            return
        if self.item_open:
            indent = " " * len(self.item_prefix)
            body = ("\n" + indent).join(lines)
            kind = "li" if self.item_prefix.strip() else "li-cont"
            self._add(kind, self.item_prefix + body)
            # Later text in the same item continues it as an indented paragraph.
            self.item_prefix = " " * len(self.item_prefix)
            return
        self._add("p", "\n".join(_escape_line_start(line) for line in lines))

    def _add(self, kind: str, text: str) -> None:
        if self.quote_depth:
            text = "\n".join("> " + line if line else ">" for line in text.split("\n"))
            kind = "quote"
        self.parts.append((kind, text))

    # -- HTMLParser callbacks ------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag == "title" and not self.title_parts:
            self.in_title = True
        if tag == "body":
            self._close_open("head")
        if tag in _VOID_TAGS:
            self._void(tag)
            return
        skipped = self.skip_depth > 0 or self._should_skip(tag, attrs)
        self.stack.append((tag, skipped))
        self.open_counts[tag] += 1
        if skipped:
            self.skip_depth += 1
            return
        self._open(tag, {name.lower(): (value or "") for name, value in attrs})

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag in _VOID_TAGS:
            self._void(tag)
        # A self-closed non-void element (<div/>) opens and closes nothing useful.

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag == "title":
            self.in_title = False
        if tag in _VOID_TAGS:
            return
        self._close_open(tag)

    def _close_open(self, tag: str) -> None:
        """Close ``tag`` and every element opened inside it (implied end tags)."""
        if not self.open_counts[tag]:
            return  # a stray end tag
        while self.stack:
            open_tag, skipped = self.stack.pop()
            self.open_counts[open_tag] -= 1
            if skipped:
                self.skip_depth -= 1
            else:
                self._close(open_tag)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
        if self.skip_depth:
            return
        if self.pre_depth:
            self.pre_buffer.append(data)
        elif self.cell is not None:
            self.cell.append(data)
        else:
            self.buffer.append(data.replace("\n", " "))

    # -- element handling ------------------------------------------------------
    def _void(self, tag: str) -> None:
        if self.skip_depth:
            return
        if tag == "br":
            if self.pre_depth:
                self.pre_buffer.append("\n")
            elif self.cell is not None:
                self.cell.append(" ")
            else:
                self.buffer.append(" " if self.heading_level else "\n")
        elif tag == "hr":
            self._flush()

    def _open(self, tag: str, attributes: dict[str, str]) -> None:
        if tag in ("article", "main"):
            self.article_depth += 1
        if self.pre_depth:
            if tag == "pre":
                self.pre_depth += 1
            return
        if self.table_depth and tag not in ("table", "tr", "td", "th"):
            return  # everything inside a table cell is inline text
        if tag in ("strong", "b"):
            if not self.heading_level:
                self.bold_marks.append(len(self.buffer))
                self.buffer.append("**")
            return
        if tag in _HEADING_TAGS:
            self._flush()
            self.heading_level = _HEADING_TAGS[tag]
        elif tag in ("ul", "ol", "menu"):
            self._flush()
            indent = len(self.item_prefix) if self.item_open else 0
            start = attributes.get("start", "1") if tag == "ol" else "1"
            first = int(start) - 1 if start.strip().isdigit() and len(start) < 9 else 0
            self.lists.append(["ol" if tag == "ol" else "ul", first, indent])
            self.item_open = False
            self.item_prefix = ""
        elif tag == "li":
            self._flush()
            if not self.lists:
                self.lists.append(["ul", 0, 0])
            kind, counter, indent = self.lists[-1]
            counter = int(counter) + 1
            self.lists[-1][1] = counter
            marker = f"{counter}. " if kind == "ol" else "- "
            self.item_prefix = " " * int(indent) + marker
            self.item_open = True
        elif tag == "pre":
            self._flush()
            self.pre_depth = 1
            self.pre_buffer = []
        elif tag == "blockquote":
            self._flush()
            self.quote_depth += 1
        elif tag == "table":
            self._flush()
            self.table_depth += 1
            if self.table_depth == 1:
                self.table_rows = []
        elif tag == "tr" and self.table_depth == 1:
            self._end_row()
            self.row = (False, [])
        elif tag in ("td", "th") and self.table_depth == 1:
            self._end_cell()
            if self.row is None:
                self.row = (False, [])
            if tag == "th":
                self.row = (True, self.row[1])
            self.cell = []
        elif tag in _BLOCK_TAGS and not self.item_open:
            self._flush()

    def _close(self, tag: str) -> None:
        if tag in ("article", "main"):
            self.article_depth = max(0, self.article_depth - 1)
        if tag in ("strong", "b"):
            self._close_bold()
            return
        if self.pre_depth:
            if tag == "pre":
                self.pre_depth -= 1
                if self.pre_depth == 0:
                    self._emit_pre()
            return
        if self.table_depth and tag not in ("table", "tr", "td", "th"):
            if tag in _BLOCK_TAGS and self.cell is not None:
                self.cell.append(" ")
            return
        if tag in _HEADING_TAGS:
            self._flush()
            self.heading_level = 0
        elif tag in ("ul", "ol", "menu"):
            self._flush()
            indent = int(self.lists.pop()[2]) if self.lists else 0
            # Back in the parent item (if any), further text is an indented continuation.
            self.item_open = indent > 0
            self.item_prefix = " " * indent
        elif tag == "li":
            self._flush()
            self.item_open = False
            self.item_prefix = ""
        elif tag == "blockquote":
            self._flush()
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag in ("td", "th") and self.table_depth == 1:
            self._end_cell()
        elif tag == "tr" and self.table_depth == 1:
            self._end_row()
        elif tag == "table":
            self.table_depth -= 1
            if self.table_depth == 0:
                self._emit_table()
        elif tag in _BLOCK_TAGS and not self.item_open:
            self._flush()

    def _close_bold(self) -> None:
        """Turn the text since the matching ``<strong>`` into ``**text**`` (or drop the mark)."""
        if not self.bold_marks:
            return
        mark = self.bold_marks.pop()
        if mark >= len(self.buffer) or self.buffer[mark] != "**":
            return  # the paragraph was flushed in between
        inner = "".join(self.buffer[mark + 1 :])
        core = _SPACES.sub(" ", inner).strip()
        if not core or "*" in core:
            self.buffer[mark] = ""
            return
        lead = " " if inner[:1].isspace() else ""
        trail = " " if inner[-1:].isspace() else ""
        self.buffer[mark:] = [f"{lead}**{core}**{trail}"]

    def _emit_pre(self) -> None:
        code = "".join(self.pre_buffer).strip("\n")
        self.pre_buffer = []
        if not code.strip():
            return
        fence = "```"
        while fence in code:
            fence += "`"
        self._flush()
        self._add("pre", f"{fence}\n{code}\n{fence}")

    def _end_cell(self) -> None:
        if self.cell is not None and self.row is not None:
            text = _SPACES.sub(" ", "".join(self.cell)).strip().replace("|", "\\|")
            self.row[1].append(text)
        self.cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self.row is not None and self.table_rows is not None and any(self.row[1]):
            self.table_rows.append(self.row)
        self.row = None

    def _emit_table(self) -> None:
        self._end_row()
        rows = self.table_rows or []
        self.table_rows = None
        if not rows:
            return
        width = max(len(cells) for _, cells in rows)
        header_is_th, header = rows[0]
        body = rows[1:] if header_is_th else rows
        if not header_is_th:
            header = [""] * width
        lines = [_table_line(header, width), "| " + " | ".join(["---"] * width) + " |"]
        lines += [_table_line(cells, width) for _, cells in body]
        self._add("table", "\n".join(lines))

    def finish(self) -> tuple[str, str]:
        if self.pre_depth:
            self.pre_depth = 0
            self._emit_pre()
        if self.table_depth:
            self.table_depth = 0
            self._emit_table()
        self._flush()
        text = ""
        previous = ""
        for kind, part in self.parts:
            if text:
                text += "\n" if kind == previous == "li" else "\n\n"
            text += part
            previous = kind
        title = _SPACES.sub(" ", "".join(self.title_parts)).strip()
        return (text + "\n" if text else ""), title


def _table_line(cells: list[str], width: int) -> str:
    padded = cells + [""] * (width - len(cells))
    return "| " + " | ".join(padded) + " |"


def html_to_text(html: str) -> tuple[str, str]:
    """Convert an HTML page to Markdown-like visible text; return ``(text, title)``.

    Scripts, styles, navigation, headers/footers, forms and elements whose class or id looks
    like boilerplate (comments, newsletter, share, related, cookie, sidebar, menu) are
    dropped. Headings become ``#`` lines, list items ``- item``/``1. item``, table rows
    ``| a | b |``, ``<pre>`` a fenced block. Nothing is fetched or executed.
    """
    parser = _HtmlTextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError, IndexError):  # malformed markup in old parsers
        pass
    return parser.finish()

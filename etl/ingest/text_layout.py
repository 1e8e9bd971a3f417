"""Turning a filing's bytes into one normalized text, whatever layout it was published in.

Filings arrive as the text layout (``<u>value</u> [code]`` lines), as the HTML page that text comes from
(rows in ``<tr>``/``<td>``, ``&nbsp;``, entities), in UTF-8, Windows-1252, Latin-1 or UTF-16 with a BOM,
with CRLF or LF line ends. The result is plain text in which table rows are lines, cells are separated
by tabs, underlines are marked by the control characters ``UNDERLINE_OPEN``/``UNDERLINE_CLOSE``, and
entities are decoded. Scripts, styles and comments are dropped without being interpreted. Every step is
linear in the input size, so hostile input cannot make it hang.
"""

from __future__ import annotations

import codecs
import html
import re

UNDERLINE_OPEN = "\x01"
UNDERLINE_CLOSE = "\x02"


class UnreadableText(ValueError):
    """The bytes are not text (binary data, or no encoding decodes them)."""


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f\v")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes) -> str:
    """Decode the bytes of a filing, refusing binary data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UnreadableText(f"starts with a {encoding} byte-order mark but is not {encoding}") from exc
    head = data[:8192]
    if b"\x00" in head:
        raise UnreadableText("binary data (NUL bytes), not a text or HTML filing")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Windows exports; never fails
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > len(head) // 50:
        raise UnreadableText("binary data (control characters), not a text or HTML filing")
    return text


_HTML_HINT = re.compile(r"<\s*(?:html|body|table|tr|td|th|div|p|br|span|font|head)\b", re.IGNORECASE)
_UNDERLINE_OPEN_TAG = re.compile(r"<\s*u(?:\s[^<>]*)?>", re.IGNORECASE)
_UNDERLINE_CLOSE_TAG = re.compile(r"<\s*/\s*u\s*>", re.IGNORECASE)
_LINE_BREAK_TAGS = re.compile(
    r"<\s*(?:br|tr|/tr|p|/p|div|/div|/h[1-6]|/li|/table|/caption|hr)\b[^<>]*>", re.IGNORECASE)
_CELL_TAGS = re.compile(r"<\s*t[dh]\b[^<>]*>", re.IGNORECASE)  # a cell starts: a tab
_PRE_TAG = re.compile(r"<\s*pre\b", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[!/?A-Za-z][^<>]*>")
_DROPPED_BLOCKS = (("<script", "</script"), ("<style", "</style"), ("<!--", "-->"), ("<head", "</head"))


def _drop_blocks(text: str) -> str:
    """Remove script/style/comment/head blocks with plain searches (an unclosed one drops the rest)."""
    lower = text.lower()
    for start_tag, end_tag in _DROPPED_BLOCKS:
        if start_tag not in lower:
            continue
        pieces, pos = [], 0
        while True:
            start = lower.find(start_tag, pos)
            if start < 0:
                pieces.append(text[pos:])
                break
            pieces.append(text[pos:start])
            end = lower.find(end_tag, start + len(start_tag))
            if end < 0:
                break
            close = lower.find(">", end)
            pos = len(text) if close < 0 else close + 1
        text = "".join(pieces)
        lower = text.lower()
    return text


def looks_like_html(text: str) -> bool:
    """Whether a decoded filing is an HTML page (a table, paragraph or break tag near its start)."""
    return _HTML_HINT.search(text[:65536]) is not None


def normalize(text: str, html_page: bool | None = None) -> str:
    """The normalized text of a decoded filing (see the module docstring). ``html_page`` says whether it is
    an HTML page; by default its first 64 KB decide (``looks_like_html``)."""
    text = text.replace(UNDERLINE_OPEN, "").replace(UNDERLINE_CLOSE, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    is_html = looks_like_html(text) if html_page is None else html_page
    if is_html:
        text = _drop_blocks(text)
        if not _PRE_TAG.search(text):
            text = text.replace("\n", " ")  # outside <pre>, source line breaks in HTML are spaces
    text = _UNDERLINE_OPEN_TAG.sub(UNDERLINE_OPEN, text)
    text = _UNDERLINE_CLOSE_TAG.sub(UNDERLINE_CLOSE, text)
    if is_html:
        text = _LINE_BREAK_TAGS.sub("\n", text)
        text = _CELL_TAGS.sub("\t", text)
        text = _ANY_TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    # Non-breaking and other exotic spaces behave like spaces; NULs and other controls go.
    return text.translate(_SPACES)


_SPACES = {0xA0: " ", 0x2007: " ", 0x202F: " ", 0x2009: " ", 0x200B: None, 0xFEFF: None, 0x00: None,
           0x0B: " ", 0x0C: "\n"}

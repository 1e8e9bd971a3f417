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

# -- HTML: one pass over the tags, left to right ------------------------------------------------------
#: elements whose content is never shown as text: raw text (scripts, styles), the title, inert templates
_HIDDEN = frozenset({"script", "style", "title", "template", "iframe", "noembed", "noframes"})
#: tags that start a new line (a table row, a paragraph, a block), opening or closing
_LINE_BREAKS = frozenset({"br", "tr", "p", "div", "hr", "li", "ul", "ol", "dl", "dt", "dd", "table", "caption",
                          "h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "section", "article", "main",
                          "nav", "aside", "address", "blockquote", "center", "form", "fieldset", "pre"})
_CELLS = frozenset({"td", "th"})  # a cell starts: a tab
# At a "<": a comment's start (1); or a whole tag, its "/" (2), name (3) and attributes, where a ">" inside
# a quoted value does not end it; or other markup (<!DOCTYPE>, <?xml?>). Possessive quantifiers: a "<"
# that starts none of these fails after one look ahead, so the pass stays linear.
_MARKUP = re.compile(r"""<(?:(!--)|(/?)([A-Za-z][^\s/<>]*+)(?:[^<>"']++|"[^"]*+"|'[^']*+')*+>|[!?/][^<>]*+>)""")
_END_TAGS: dict[str, re.Pattern] = {}


def _skip_hidden(text: str, name: str, pos: int) -> int:
    """The position after the end tag of a hidden element whose content starts at ``pos`` (templates nest;
    a script ends at its first ``</script``, whatever it holds), or the end of the text if never closed."""
    if name not in _END_TAGS:
        _END_TAGS[name] = re.compile(rf"<(/?){name}[\s/>]", re.IGNORECASE)
    pattern, depth = _END_TAGS[name], 1
    while True:
        found = pattern.search(text, pos)
        if found is None:
            return len(text)
        pos = found.end() - 1
        if not found[1]:  # an opening tag inside: only a template's counts
            depth += name == "template"
            continue
        depth -= 1
        close = text.find(">", pos)
        pos = len(text) if close < 0 else close + 1
        if depth == 0:
            return pos


def _html_text(text: str) -> str:
    """Tags become line breaks, tabs and underline marks; comments and hidden elements disappear."""
    out: list[str] = []
    text_pieces: list[int] = []  # indices in ``out`` of text between tags
    has_pre = False
    pos = 0
    search = _MARKUP.search
    while (found := search(text, pos)) is not None:
        if found.start() > pos:
            text_pieces.append(len(out))
            out.append(text[pos:found.start()])
        pos = found.end()
        if found[1]:  # a comment, whatever tags it holds ("<!-->" and "<!--->" end at once)
            if text.startswith(">", pos) or text.startswith("->", pos):
                pos = text.index(">", pos) + 1
            else:
                close = text.find("-->", pos)
                pos = len(text) if close < 0 else close + 3
            continue
        name = found[3]
        if name is None:
            continue  # <!DOCTYPE ...>, <?xml ...?>: markup without text
        tag = name.lower()
        closing = bool(found[2])
        if tag == "u":
            out.append(UNDERLINE_CLOSE if closing else UNDERLINE_OPEN)
        elif tag in _LINE_BREAKS:
            out.append("\n")
            has_pre = has_pre or (tag == "pre" and not closing)
        elif tag in _CELLS:
            if not closing:
                out.append("\t")
        elif tag in _HIDDEN and not closing:
            pos = _skip_hidden(text, tag, pos)
    text_pieces.append(len(out))
    out.append(text[pos:])
    if not has_pre:  # outside <pre>, source line breaks in HTML are spaces
        for index in text_pieces:
            out[index] = out[index].replace("\n", " ")
    return "".join(out)


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
        text = _html_text(text)
    else:
        text = _UNDERLINE_OPEN_TAG.sub(UNDERLINE_OPEN, text)
        text = _UNDERLINE_CLOSE_TAG.sub(UNDERLINE_CLOSE, text)
    if "&" in text:
        text = html.unescape(text)
    # Non-breaking and other exotic spaces behave like spaces; NULs and other controls go.
    return text.translate(_SPACES)


_SPACES = {0xA0: " ", 0x2007: " ", 0x202F: " ", 0x2009: " ", 0x200B: None, 0xFEFF: None, 0x00: None,
           0x0B: " ", 0x0C: "\n"}

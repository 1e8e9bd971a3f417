"""The alert email's HTML, as people will see it: strictly well-formed, and rendered by a real browser.

The digest comes from the real path: the planted-problems corpus (every kind of finding) is ingested
and validated, and ``notify_validation_run`` hands its digest to a channel that keeps it; two findings
are added back as "resolved" so that section is on the page too. The HTML part of the email message
is written to a file, parsed strictly (tag balance and HTML's nesting rules, then as XML once the void
elements are closed), and rendered by Debian's headless Chromium into a screenshot that must be a
valid, non-blank PNG showing the severity colours. Chromium's own parse of the page (``--dump-dom``)
must keep every element where the markup put it: a browser that had to repair the page would move
elements around (a stray cell, an unclosed tag).

Chromium is required, not optional: without it the test fails and says how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from etl.alerts import notify_validation_run
from etl.alerts.channels import email_message
from etl.alerts.digest import _COLORS
from etl.dq.validate import validate
from etl.ingest.job import ingest
from etl.settings import load_settings
from tests.dq import planted

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTH, HEIGHT = 1000, 1400
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Where each element of the email may appear (its allowed parents).
PARENTS = {
    "html": {None}, "head": {"html"}, "body": {"html"}, "meta": {"head"}, "title": {"head"},
    "table": {"body"}, "thead": {"table"}, "tbody": {"table"}, "tr": {"thead", "tbody"},
    "th": {"tr"}, "td": {"tr"}, "ul": {"body"}, "li": {"ul"}, "h1": {"body"}, "h2": {"body"},
    "p": {"body"}, "a": {"p", "td", "li"}, "small": {"p", "td", "li"}, "br": {"td", "p", "li"},
}
LINKS = {"Airflow run": "http://airflow.example/dags/daily_seg_load/runs/manual__2016-02-19?try=1&tab=logs"}


class _Keep:
    """An email channel that keeps the digest instead of sending it."""

    name = "email"

    def __init__(self):
        self.digests = []

    def send(self, digest) -> None:
        self.digests.append(digest)

    def secrets(self) -> list[str]:
        return []


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("headless Chromium is needed to render the alert email and is not installed: "
                    "apt-get install chromium (Debian's package; `./dev test` installs it when run as root)",
                    pytrace=False)
    return path


def run_chromium(*args: str, profile: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Chromium headless in a session of its own, killed whole (its helpers too) if it hangs."""
    argv = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={profile}", *args]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium did not finish within {timeout:.0f} s: {' '.join(argv)}")
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


@pytest.fixture(scope="module")
def email_page(tmp_path_factory) -> tuple[Path, object]:
    """(the HTML file of the email's HTML part, the digest it renders)."""
    work = tmp_path_factory.mktemp("email")
    corpus = planted.build(work / "landing")
    settings = load_settings(environ={}, home=work / "home")
    ingest([corpus.landing], settings)
    summary = validate(settings)
    keep = _Keep()
    notify_validation_run(settings, summary.run_id, links=LINKS, channels=[keep])
    assert len(keep.digests) == 1
    digest = keep.digests[0]
    digest.resolved = [replace(i, kind="resolved", severity="info", resolved=True) for i in digest.items[:2]]
    message = email_message(digest, "dailyseg@example.com", ["risk@example.com"])
    page = message.get_body(("html",)).get_content()
    path = work / "email.html"
    path.write_text(page, encoding="utf-8")
    return path, digest


# -- strict well-formedness ---------------------------------------------------------------------------------
class NestingChecker(HTMLParser):
    """Every element closed in order, void elements never closed, each element where HTML allows it,
    no unescaped markup characters in text, and every table row as wide as its header."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.row_widths: list[list[int]] = []  # per table: the width of each row
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        parent = self.stack[-1] if self.stack else None
        if tag not in PARENTS:
            self.errors.append(f"<{tag}> is not an element the email uses")
        elif parent not in PARENTS[tag]:
            self.errors.append(f"<{tag}> inside <{parent}>")
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"<{tag}> repeats an attribute: {names}")
        if tag == "table":
            self.row_widths.append([])
        elif tag == "tr":
            self.row_widths[-1].append(0)
        elif tag in ("td", "th"):
            self.row_widths[-1][-1] += int(dict(attrs).get("colspan") or 1)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.errors.append(f"<{tag}/> is XHTML syntax")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"</{tag}> closes a void element")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if "<" in data or ">" in data:
            self.errors.append(f"unescaped markup in text: {data[:60]!r}")

    def handle_entityref(self, name):
        if name not in ("amp", "lt", "gt", "quot", "nbsp"):
            self.errors.append(f"unexpected entity &{name};")


def as_xml(page: str) -> str:
    """The page with its doctype dropped and void elements closed: what an XML parser can check."""
    page = re.sub(r"^<!DOCTYPE html>\s*", "", page)
    return re.sub(r"<(%s)(\s[^<>]*?)?\s*>" % "|".join(VOID), lambda m: f"<{m.group(1)}{m.group(2) or ''} />",
                  page)


def test_the_email_html_is_strictly_well_formed(email_page):
    path, digest = email_page
    page = path.read_text(encoding="utf-8")
    checker = NestingChecker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert checker.doctype == "DOCTYPE html"
    assert checker.tags[:4] == ["html", "head", "meta", "title"]
    for widths in checker.row_widths:
        assert widths and set(widths) == {8}, f"rows of unequal width: {widths}"
    assert len(checker.row_widths) == len(digest.groups())

    root = ET.fromstring(as_xml(page))  # raises on any unescaped &, <, unquoted attribute or misnesting
    assert root.tag == "html" and root.get("lang") == "en"
    assert root.find("head/meta").get("charset") == "utf-8"
    assert root.find("head/title").text == digest.subject
    text = "".join(root.itertext())
    assert digest.headline in text
    for item in digest.items:
        assert item.rule_id in text and item.message in text
    links = {a.text: a.get("href") for a in root.iter("a")}
    assert links["Airflow run"] == LINKS["Airflow run"]  # the & in the URL came back intact
    assert links["Data Docs"].startswith("file://")
    assert "Müller & Sørensen" in text  # a firm with & and non-ASCII letters, escaped and decoded


# -- rendered by Chromium -----------------------------------------------------------------------------------
def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, channels, rows of pixel bytes) of an 8-bit, non-interlaced PNG; every chunk's
    CRC checked, every filter undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    assert depth == 8 and interlace == 0, (depth, interlace)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    assert len(raw) == height * (stride + 1)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
            else:
                assert kind == 0, f"unknown PNG filter {kind}"
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def test_chromium_renders_the_email_as_a_readable_page(email_page, tmp_path):
    path, _ = email_page
    shot = tmp_path / "out.png"
    result = run_chromium(f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", path.as_uri(),
                          profile=tmp_path / "profile")
    assert shot.exists(), f"no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    width, height, channels, rows = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    assert channels in (3, 4)

    pixels = [tuple(row[x:x + 3]) for row in rows[::2] for x in range(0, width * channels, channels * 2)]
    grey = [(r * 299 + g * 587 + b * 114) // 1000 for r, g, b in pixels]
    mean = sum(grey) / len(grey)
    variance = sum((v - mean) ** 2 for v in grey) / len(grey)
    inked = sum(v < 160 for v in grey) / len(grey)
    assert mean > 200, "the page is not dark text on a light background"
    assert variance > 100 and inked > 0.01, f"the screenshot looks blank (variance {variance:.0f}, ink {inked:.3f})"
    lit_rows = [y for y, row in enumerate(rows) if min(row[::channels]) < 160]
    assert lit_rows and lit_rows[0] < 60, "the headline is not at the top of the page"

    def near(color: str) -> int:
        target = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
        return sum(all(abs(a - b) <= 40 for a, b in zip(p, target)) for p in pixels)
    # the severities in their colours: the deficiency in red, the breaks in orange (first screenful)
    assert near(_COLORS["critical"]) > 5 and near(_COLORS["error"]) > 5


class ElementOrder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_chromium_keeps_every_element_where_the_markup_put_it(email_page, tmp_path):
    path, _ = email_page
    result = run_chromium("--dump-dom", path.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0 and "<body" in result.stdout, result.stderr[-2000:]
    ours, browsers = ElementOrder(), ElementOrder()
    ours.feed(path.read_text(encoding="utf-8"))
    browsers.feed(result.stdout)
    assert browsers.tags == ours.tags  # nothing moved, added (but implied tbody) or dropped by error recovery
    assert browsers.tags.count("tr") == ours.tags.count("tr")

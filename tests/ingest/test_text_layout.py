"""Normalizing bytes and HTML into the parser's text, safely and in linear time."""

from __future__ import annotations

import time

import pytest

from etl.ingest.text_layout import UNDERLINE_CLOSE, UNDERLINE_OPEN, UnreadableText, decode, normalize


def test_html_rows_become_lines_and_cells_tabs():
    out = normalize("<table><tr><td>A.</td><td>Cash</td><td><u>1,000</u> [7010]</td></tr>"
                    "<tr><td>B.</td><td>Securities</td></tr></table>")
    lines = [line for line in out.split("\n") if line.strip()]
    assert lines[0].split("\t")[1:4] == ["A.", "Cash", f"{UNDERLINE_OPEN}1,000{UNDERLINE_CLOSE} [7010]"]
    assert "Securities" in lines[1]


def test_entities_and_nbsp_are_decoded():
    assert normalize("<p>Smith&nbsp;&amp;&nbsp;Jones &#233;</p>").strip() == "Smith & Jones é"


def test_scripts_styles_and_comments_are_dropped_not_run():
    out = normalize("<html><script>fetch('http://x')</script><style>u{}</style><!-- <u>9</u> [7010] -->"
                    "<body><p>kept</p></body></html>")
    assert "fetch" not in out and "7010" not in out and "kept" in out


def test_unclosed_script_drops_the_rest_quickly():
    text = "<html><p>ok</p>" + "<script>" * 200_000
    started = time.perf_counter()
    out = normalize(text)
    assert time.perf_counter() - started < 2.0
    assert "ok" in out


def test_many_unclosed_angle_brackets_are_linear():
    text = "<html><table>" + "<" * 1_000_000
    started = time.perf_counter()
    normalize(text)
    assert time.perf_counter() - started < 2.0


def test_control_markers_in_the_input_cannot_forge_underlines():
    assert UNDERLINE_OPEN not in normalize(f"x {UNDERLINE_OPEN}5{UNDERLINE_CLOSE} [7010]")


@pytest.mark.parametrize("data", [b"\x00" * 100, bytes(range(32)) * 40])
def test_binary_is_refused(data):
    with pytest.raises(UnreadableText):
        decode(data)


def test_byte_order_marks_pick_the_encoding():
    assert decode("End Date:1/2/2014 é".encode("utf-16")) == "End Date:1/2/2014 é"
    assert decode(b"\xef\xbb\xbfEnd Date") == "End Date"
    assert decode("Soci\u00e9t\u00e9".encode("cp1252")) == "Société"

"""Properties of the parser over generated inputs (hypothesis).

Any set of values the form can carry, rendered in any style the renderer knows (text or HTML, CRLF,
parenthesized negatives, statements in any order, headers run together), parses back to exactly those
values. And whatever bytes arrive, mutated filings or noise, the parser either returns a filing or a
clean rejection, never another exception.
"""

from __future__ import annotations

import random
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.form.catalog import STATEMENTS, load_catalog
from etl.ingest.parser import ParsedFiling, RejectedFiling, parse_filing
from etl.synthetic.render import RenderStyle, render_html, render_text

amounts = st.integers(min_value=-10**13, max_value=10**13)
days = st.dates(min_value=date(2012, 1, 1), max_value=date(2025, 12, 31))
firm_names = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" &.,'-"),
                     min_size=3, max_size=40).map(lambda s: " ".join(s.split())).filter(
    lambda s: len(s) >= 3 and not s.lower().startswith(("form", "end date", "submit date")))


@st.composite
def filings(draw):
    day = draw(days)
    catalog = load_catalog()
    chosen = draw(st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=3, unique=True))
    values = {}
    for statement in chosen:
        codes = [i.code for i in catalog.layout(statement, day) if i.code]
        values[statement] = {code: draw(amounts) for code in codes}
    style = RenderStyle(
        statement_order=tuple(draw(st.permutations(STATEMENTS))),
        line_ending=draw(st.sampled_from(["\n", "\r\n"])),
        paren_negatives=draw(st.booleans()),
        run_together_rate=draw(st.sampled_from([0.0, 0.5, 1.0])),
    )
    return day, draw(firm_names), draw(st.sampled_from(["INITIAL", "AMENDED"])), values, style


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filings(), st.sampled_from(["text", "html"]), st.integers(0, 2**32))
def test_rendered_values_parse_back_exactly(filing, fmt, seed):
    day, firm, status, values, style = filing
    render = render_text if fmt == "text" else render_html
    text = render(firm, day, date(day.year + 1, 1, 2), status, values, random.Random(seed), style=style)
    parsed = parse_filing(text.encode("utf-8"))
    got: dict[str, dict[str, int | None]] = {}
    for v in parsed.values:
        got.setdefault(v.statement, {})[v.code] = v.value
    assert got == values
    assert parsed.header.firm == firm
    assert (parsed.header.end_date, parsed.header.status) == (day, status)
    assert parsed.unknown_codes == []


def _outcome(data: bytes) -> ParsedFiling | RejectedFiling:
    try:
        return parse_filing(data)
    except RejectedFiling as rejection:
        assert rejection.reason and rejection.message
        return rejection


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_give_a_filing_or_a_clean_rejection(data):
    assert isinstance(_outcome(data), (ParsedFiling, RejectedFiling))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_sample_gives_a_filing_or_a_clean_rejection(sample_bytes, data):
    raw = bytearray(sample_bytes)
    for _ in range(data.draw(st.integers(1, 20))):
        op = data.draw(st.sampled_from(["flip", "delete", "insert", "duplicate"]))
        at = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[at] = data.draw(st.integers(0, 255))
        elif op == "delete":
            del raw[at:at + data.draw(st.integers(1, 200))]
        elif op == "insert":
            raw[at:at] = data.draw(st.sampled_from([b"<u>", b"</u>", b"[7010]", b"**", b"\n", b"&amp;", b"<tr>",
                                                     b"(", b"-", b"\x00", b"End Date:", b"AMENDED"]))
        else:
            end = min(len(raw), at + data.draw(st.integers(1, 500)))
            raw[at:at] = raw[at:end]
        if not raw:
            break
    outcome = _outcome(bytes(raw))
    if isinstance(outcome, ParsedFiling):
        assert all(v.value is None or isinstance(v.value, int) for v in outcome.values)

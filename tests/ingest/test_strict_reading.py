"""Reading HTML as a browser shows it, and refusing what cannot be read rather than loading a blank or a
wrong date: the traps of real pages (``<header>``, ``>`` in attributes, comments holding tags,
templates, scripts holding table cells), unreadable value cells, two-digit years, implausible dates."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from etl.ingest.parser import RejectedFiling, parse_filing
from etl.ingest.text_layout import UNDERLINE_CLOSE, UNDERLINE_OPEN, normalize
from tests.ingest.filing_variants import to_html


def values_of(parsed) -> dict[tuple[str, str], int | None]:
    return {(v.statement, v.code): v.value for v in parsed.values}


def parse(text: str):
    return parse_filing(text.encode("utf-8"))


def cells(normalized: str) -> list[str]:
    """The cells of the first line that has any."""
    return next(line for line in normalized.split("\n") if line.strip()).split("\t")[1:]


def rejection(text: str) -> RejectedFiling:
    with pytest.raises(RejectedFiling) as caught:
        parse(text)
    return caught.value


# -- the HTML normalizer ----------------------------------------------------------------------------------
def test_header_element_is_content_not_the_document_head():
    out = normalize("<html><head><title>End Date:1/1/2001</title></head><body><header><p>End Date:3/14/2016</p>"
                    "</header><table><tr><td>x</td></tr></table></body></html>")
    assert "End Date:3/14/2016" in out and "1/1/2001" not in out  # the title is dropped, the header kept


def test_a_greater_than_sign_inside_a_quoted_attribute_does_not_end_the_tag():
    out = normalize("<table><tr><td title=\"cash > 0\">Cash</td><td class='a>b'><u data-x=\"1>2\">1,000</u> [7010]"
                    "</td></tr></table>")
    assert cells(out) == ["Cash", f"{UNDERLINE_OPEN}1,000{UNDERLINE_CLOSE} [7010]"]


def test_comments_holding_tags_drop_only_themselves():
    out = normalize("<html><body><!-- <style> and <script> and <td>[7010] 999</td> --><table>"
                    "<tr><td>kept</td></tr></table><!--> <p>shown</p></body></html>")
    assert "999" not in out and "kept" in out and "shown" in out


def test_templates_are_inert_even_nested():
    out = normalize("<html><table><template><tr><td>[7010] 1</td></tr><template>[7020] 2</template>"
                    "<tr><td>[7030] 3</td></tr></template><tr><td>kept</td></tr></table></html>")
    assert "[70" not in out and "kept" in out


def test_script_and_style_bodies_holding_cells_are_dropped_whole():
    out = normalize("<html><table><tr><td>A</td><script>var s = '</td><td>[7010] 5<!--';</script>"
                    "<style>td::after { content: '</td>' }</style><td>B</td></tr></table></html>")
    assert cells(out) == ["A", "B"]


def test_hostile_tag_soup_stays_linear():
    for soup in ('<a b="' * 200_000, "<a '" * 200_000, "<!--" * 200_000, "<template>" * 200_000, "<!" * 500_000):
        started = time.perf_counter()
        normalize("<html><table>" + soup)
        assert time.perf_counter() - started < 2.0


def test_a_filing_page_with_every_trap_reads_as_the_plain_page(sample_text, sample_expected):
    page = to_html(sample_text)
    trapped = (page
               .replace("<body>", "<body><header><!-- <style> --></header>"
                                  "<template><table><tr><td><u>1</u> [7010]</td></tr></table></template>"
                                  "<script>document.write('</td><td><u>2</u> [7020]</td>')</script>")
               .replace("<td>", '<td title="a > b" class=\'x>y\'>')
               .replace("<u>", '<u style="border: 1px solid; content: \'>\'">'))
    assert trapped.count('title="a > b"') > 100
    parsed = parse(trapped)
    assert values_of(parsed) == sample_expected
    assert parsed.header.firm == "Citigroup Global Markets Inc."


# -- value cells ---------------------------------------------------------------------------------------------
HEAD = ("<html><body><table><tr><td>INITIAL</td></tr><tr><td>End Date:</td><td>3/14/2016</td></tr>"
        "<tr><td>Firm Name:</td><td>Plain Cells Futures LLC</td></tr>\n"
        "<tr><td>Daily Segregation - Segregation Statement</td></tr>\n")


def page(*rows: str) -> str:
    return HEAD + "\n".join(rows) + "\n</table></body></html>"


@pytest.mark.parametrize("cell", ["1,000 USD", "see note 4", "TBD", "1,000 [7010]"])
def test_a_value_cell_that_cannot_be_read_rejects_the_filing_with_its_line(cell):
    row = (f"<tr><td>A.</td><td>Cash</td><td>{cell}</td></tr>" if "[7010]" in cell
           else f"<tr><td>A.</td><td>Cash</td><td>{cell}</td><td>[7010]</td></tr>")
    text = page("<tr><td>B.</td><td>Securities</td><td>(250)</td><td>[7020]</td></tr>", row.replace("1,000 [", "1,0o0 ["))
    error = rejection(text)
    assert error.reason == "bad_number" and "7010" in error.message
    assert "Cash" in text.splitlines()[error.line_no - 1]


def test_blank_value_cells_and_labels_right_before_the_code_stay_blank():
    parsed = parse(page("<tr><td>A.</td><td>Cash</td><td></td><td>[7010]</td></tr>",
                        "<tr><td>B.</td><td>Securities</td><td>n/a</td><td>[7020]</td></tr>",
                        "<tr><td>13.</td><td>Total (add lines 7 through 12)</td><td>[7180]</td></tr>",
                        "<tr><td>9.</td><td>Net settlement</td><td>-</td><td>[7130]</td></tr>"))
    assert values_of(parsed) == {("segregation", "7010"): None, ("segregation", "7020"): None,
                                 ("segregation", "7180"): None, ("segregation", "7130"): 0}


# -- dates ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("written, day", [("12/31/13", date(2013, 12, 31)), ("1/2/69", date(2069, 1, 2)),
                                          ("12/31/2013", date(2013, 12, 31)), ("2013-12-31", date(2013, 12, 31))])
def test_two_digit_years_follow_the_pivot(sample_text, written, day):
    text = sample_text.replace("Submit Date:1/2/2014", f"Submit Date:{written}")
    assert parse(text).header.submit_date == day


def test_a_two_digit_end_date_year_reads_as_this_century(sample_text):
    assert parse(sample_text.replace("End Date:12/31/2013", "End Date:12/31/13")).header.end_date == date(2013, 12, 31)


@pytest.mark.parametrize("written, says", [("12/31/99", "is 1999-12-31, before 2000"),
                                           ("12/31/1999", "before 2000"),
                                           ("1/4/2099", "more than 7 days after today")])
def test_an_implausible_end_date_is_rejected_with_its_reason(sample_text, written, says):
    error = rejection(sample_text.replace("End Date:12/31/2013", f"End Date:{written}"))
    assert error.reason == "date_out_of_range" and says in error.message
    assert sample_text.splitlines()[error.line_no - 1] == "End Date:12/31/2013"


def test_an_end_date_up_to_a_week_ahead_loads_and_one_more_day_does_not(sample_text):
    today = date.today()
    for days, loads in ((6, True), (9, False)):
        day = today + timedelta(days=days)
        text = sample_text.replace("End Date:12/31/2013", f"End Date:{day.month}/{day.day}/{day.year}")
        if loads:
            assert parse(text).header.end_date == day
        else:
            assert rejection(text).reason == "date_out_of_range"

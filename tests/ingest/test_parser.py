"""The parser on the real sample and on every layout variant the form allows."""

from __future__ import annotations

from datetime import date

import pytest

from etl.ingest.parser import RejectedFiling, parse_filing
from etl.form.rules import load_rules
from tests.ingest.filing_variants import blank_value, parenthesize_negatives, statements, to_html


def values_of(parsed) -> dict[tuple[str, str], int | None]:
    return {(v.statement, v.code): v.value for v in parsed.values}


def parse_text(text: str):
    return parse_filing(text.encode("utf-8"))


# -- the real sample ----------------------------------------------------------------------------------------
def test_sample_header(sample_bytes):
    header = parse_filing(sample_bytes).header
    assert header.status == "INITIAL"
    assert header.end_date == date(2013, 12, 31)
    assert header.submit_date == date(2014, 1, 2)
    assert header.firm == "Citigroup Global Markets Inc."
    assert header.form == "Daily Seg - FOCUS II"


def test_sample_parses_to_every_value_it_shows(sample_bytes, sample_expected):
    parsed = parse_filing(sample_bytes)
    assert values_of(parsed) == sample_expected
    assert len(parsed.values) == 80
    assert parsed.statements == ("secured", "segregation", "swaps")
    assert parsed.unknown_codes == [] and parsed.notes == []


def test_sample_lines_and_labels_come_from_the_catalog(sample_bytes):
    by_code = {v.code: v for v in parse_filing(sample_bytes).values}
    assert (by_code["7010"].line, by_code["7010"].label) == ("1.A", "Cash")
    assert by_code["7360"].line == "1"  # the 2013 summary secured statement's numbering
    assert by_code["7530"].line == "F1.Total"


def test_sample_identities_tie(sample_bytes):
    by_statement: dict[str, dict[str, int]] = {}
    for v in parse_filing(sample_bytes).values:
        by_statement.setdefault(v.statement, {})[v.code] = v.value
    evaluated = set()
    for rule in load_rules():
        values = by_statement.get(rule.statement, {})
        expected = rule.expected(values)
        if expected is None or values.get(rule.total_code) is None:
            continue
        assert values[rule.total_code] == expected, rule.rule_id
        evaluated.add(rule.rule_id)
    # Every identity whose codes the 2013 sample carries (no targets, no full secured requirement).
    assert evaluated == {
        "SEG-NET-EQUITY", "SEG-DEFICIT-NET", "SEG-REQUIRED", "SEG-FUNDS-TOTAL", "SEG-EXCESS",
        "SEC-CASH-BANKS", "SEC-SECURITIES", "SEC-FCM-EQUITIES", "SEC-FBOT-CLEARING", "SEC-FBOT-MEMBERS",
        "SEC-FUNDS-TOTAL", "SEC-EXCESS", "SEC-SUMMARY-EXCESS", "SEC-SUMMARY-FUNDS",
        "SWP-NET-EQUITY", "SWP-DEFICIT-NET", "SWP-REQUIRED", "SWP-FUNDS-TOTAL", "SWP-EXCESS",
    }


# -- layouts ------------------------------------------------------------------------------------------------
def test_crlf_line_endings(sample_text, sample_expected):
    assert values_of(parse_text(sample_text.replace("\n", "\r\n"))) == sample_expected


def test_html_page(sample_text, sample_expected):
    parsed = parse_text(to_html(sample_text))
    assert values_of(parsed) == sample_expected
    assert parsed.header.firm == "Citigroup Global Markets Inc."
    assert parsed.header.end_date == date(2013, 12, 31)


def test_html_firm_name_entities_are_decoded_and_whitespace_collapsed(sample_text):
    text = sample_text.replace("Firm Name:Citigroup Global Markets Inc.", "Firm Name:  Smith  &   Jones\tFutures ")
    parsed = parse_text(to_html(text))
    assert parsed.header.firm == "Smith & Jones Futures"
    html_entity = sample_text.replace("Citigroup Global Markets Inc.", "Soci&eacute;t&eacute; &amp; Fils")
    assert parse_text(html_entity).header.firm == "Société & Fils"


def test_html_without_underlines_reads_value_cells():
    page = ("<html><body><table>"
            "<tr><td>INITIAL</td></tr><tr><td>End Date:</td><td>3/14/2016</td></tr>"
            "<tr><td>Firm Name:</td><td>Plain Cells Futures LLC</td></tr>"
            "<tr><td>Form:</td><td>Daily Seg - FOCUS II</td></tr><tr><td>Submit Date:</td><td>3/15/2016</td></tr>"
            "<tr><td>Daily Segregation - Segregation Statement</td></tr>"
            "<tr><td>1.</td><td>Net ledger balance</td></tr>"
            "<tr><td>A.</td><td>Cash</td><td>1,000</td><td>[7010]</td></tr>"
            "<tr><td>B.</td><td>Securities (at market)</td><td>(250)</td><td>[7020]</td></tr>"
            "<tr><td>13.</td><td>Total amount in segregation (add lines 7 through 12)</td><td></td><td>[7180]</td></tr>"
            "</table></body></html>")
    parsed = parse_text(page)
    assert values_of(parsed) == {("segregation", "7010"): 1000, ("segregation", "7020"): -250,
                                 ("segregation", "7180"): None}
    assert parsed.header.firm == "Plain Cells Futures LLC"
    assert parsed.header.end_date == date(2016, 3, 14)


def test_parenthesized_negatives(sample_text, sample_expected):
    parsed = parse_text(parenthesize_negatives(sample_text))
    assert values_of(parsed) == sample_expected
    assert values_of(parsed)[("secured", "7735")] == -1837295


def test_blank_value_is_null_not_zero(sample_text):
    parsed = values_of(parse_text(blank_value(sample_text, "7020")))
    assert parsed[("segregation", "7020")] is None
    assert parsed[("segregation", "7010")] == 4362131678


def test_blank_left_pair_of_a_two_pair_line(sample_text):
    parsed = values_of(parse_text(blank_value(sample_text, "7520")))
    assert parsed[("secured", "7520")] is None
    assert parsed[("secured", "7530")] == 498045717


def test_two_pairs_on_one_line_give_component_and_subtotal(sample_bytes):
    parsed = values_of(parse_filing(sample_bytes))
    assert parsed[("segregation", "7047")] == -24374676
    assert parsed[("segregation", "7050")] == 1355691


def test_several_numbers_in_one_underline_take_the_one_before_the_code(sample_text):
    text = sample_text.replace("<u>0 0</u> [8715]", "<u>17 4,250</u> [8715]")
    assert values_of(parse_text(text))[("swaps", "8715")] == 4250


def test_values_without_a_code_are_ignored(sample_bytes):
    swaps = {v.code for v in parse_filing(sample_bytes).values if v.statement == "swaps"}
    assert len(swaps) == 25  # line 12 A and B carry values but no code


def test_wrapped_label_with_code_on_the_next_line(sample_text, sample_expected):
    text = sample_text.replace(
        "1.\tAmount to be set aside in separate section 30.7 accounts\t<u>838,897,759</u> [7360]",
        "1.\tAmount to be set aside in separate\n\tsection 30.7 accounts\t<u>838,897,759</u> [7360]")
    assert values_of(parse_text(text)) == sample_expected


def test_header_run_together_with_double_stars(sample_text, sample_expected):
    blocks = statements(sample_text)
    joined = "".join(b.replace("\n\n", "**", 5) for b in blocks)
    parsed = parse_text(joined)
    assert values_of(parsed) == sample_expected
    assert parsed.header.firm == "Citigroup Global Markets Inc."


def test_statements_in_any_order(sample_text, sample_expected):
    blocks = statements(sample_text)
    parsed = parse_text("\n".join(reversed(blocks)))
    assert values_of(parsed) == sample_expected
    assert parsed.statements == ("swaps", "segregation", "secured")


def test_a_missing_statement(sample_text, sample_expected):
    secured, segregation, swaps = statements(sample_text)
    parsed = parse_text(segregation + swaps)
    assert parsed.statements == ("segregation", "swaps")
    assert values_of(parsed) == {k: v for k, v in sample_expected.items() if k[0] != "secured"}


def test_cover_page_is_recognised_and_its_text_is_not_a_value(sample_text, sample_expected):
    cover = ("INITIAL\n\nEnd Date:12/31/2013\n\nFirm Name:Citigroup Global Markets Inc.\n\n"
             "Form:Daily Seg - FOCUS II\n\nSubmit Date:1/2/2014\n\nDaily Segregation - Cover Page\n\n"
             "Contact Name\tJane Doe\nContact Phone Number\t212-555-0100\n"
             "FCM's Customer Segregated Funds Residual Interest Target (choose one):\n"
             "a. Minimum dollar amount: ; or\t<u>150,000,000</u>\n"
             "b. Minimum percentage of customer segregated funds required:% ; or\t<u>5%</u>\n")
    parsed = parse_text(cover + sample_text)
    assert parsed.statements[0] == "cover"
    assert values_of(parsed) == sample_expected


def test_unknown_code_is_kept_and_reported(sample_text):
    text = sample_text.replace("12.\tSegregated funds on hand\t<u>0</u> [7170]",
                               "12.\tSegregated funds on hand\t<u>0</u> [7170]\n"
                               "12.A\tA line the catalog does not know\t<u>1,234</u> [7175]")
    parsed = parse_text(text)
    assert parsed.unknown_codes == ["7175"]
    unknown = [v for v in parsed.values if v.code == "7175"]
    assert len(unknown) == 1
    assert (unknown[0].statement, unknown[0].value, unknown[0].line) == ("segregation", 1234, "12.A")
    assert unknown[0].label == "A line the catalog does not know"


def test_truncated_file_keeps_what_it_has(sample_bytes, sample_expected):
    cut = sample_bytes[: sample_bytes.index(b"[7100]") + 6]
    parsed = parse_filing(cut)
    got = values_of(parsed)
    assert got[("segregation", "7100")] == 865312633
    assert ("segregation", "7110") not in got
    assert all(sample_expected[k] == v for k, v in got.items())


def test_amended_status(sample_text):
    assert parse_text(sample_text.replace("INITIAL", "AMENDED")).header.status == "AMENDED"


def test_dollar_signs_and_cents(sample_text):
    text = sample_text.replace("<u>430,368</u>", "<u>$430,368.00</u>")
    assert values_of(parse_text(text))[("secured", "7500")] == 430368


# -- rejections ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"   \n\r\n  ", "empty"),
    (b"\x00\x01\x02binary\x00" * 50, "binary"),
    (b"Hello, this is a letter, not a filing.\n", "not_a_filing"),
    (b"INITIAL\nFirm Name:Acme Futures\nDaily Segregation - Segregation Statement\n1. Cash <u>1</u> [7010]\n",
     "incomplete_header"),
])
def test_not_a_filing_is_rejected(data, reason):
    with pytest.raises(RejectedFiling) as caught:
        parse_filing(data)
    assert caught.value.reason == reason


def test_a_value_that_is_not_a_number_is_rejected_with_its_line(sample_text):
    text = sample_text.replace("4,362,131,678", "4,36l,131,678")
    with pytest.raises(RejectedFiling) as caught:
        parse_text(text)
    error = caught.value
    assert error.reason == "bad_number"
    assert "4,36l,131,678" in error.message and "7010" in error.message
    assert sample_text.splitlines()[error.line_no - 1].endswith("[7010]")


def test_bad_number_line_is_reported_in_the_html_file_as_received(sample_text):
    page = to_html(sample_text.replace("4,362,131,678", "4,36l,131,678"))
    with pytest.raises(RejectedFiling) as caught:
        parse_text(page)
    assert "4,36l,131,678" in page.splitlines()[caught.value.line_no - 1]


def test_other_form_is_rejected(sample_text):
    with pytest.raises(RejectedFiling) as caught:
        parse_text(sample_text.replace("Form:Daily Seg - FOCUS II", "Form:FOCUS Report Part II"))
    assert caught.value.reason == "wrong_form"


def test_two_filings_in_one_file_are_rejected(sample_text):
    secured, segregation, swaps = statements(sample_text)
    other_day = swaps.replace("End Date:12/31/2013", "End Date:1/2/2014")
    with pytest.raises(RejectedFiling) as caught:
        parse_text(secured + other_day)
    assert caught.value.reason == "conflicting_headers"


def test_impossible_date_is_rejected(sample_text):
    with pytest.raises(RejectedFiling) as caught:
        parse_text(sample_text.replace("End Date:12/31/2013", "End Date:13/45/2013"))
    assert caught.value.reason == "bad_date"


def test_oversized_file_is_rejected_before_parsing():
    with pytest.raises(RejectedFiling) as caught:
        parse_filing(b"x" * 2001, max_bytes=2000)
    assert caught.value.reason == "too_large"


def test_encodings(sample_text, sample_expected):
    latin = sample_text.replace("Citigroup Global Markets Inc.", "Société Générale Futures")
    assert parse_filing(latin.encode("latin-1")).header.firm == "Société Générale Futures"
    utf16 = parse_filing(latin.encode("utf-16"))
    assert utf16.header.firm == "Société Générale Futures"
    assert values_of(utf16) == sample_expected

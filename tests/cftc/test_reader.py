"""Reading the CFTC's monthly file in each year's layout, by header text, and the one-line errors for
files it cannot read."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from etl.cftc.reader import CftcFormatError, parse_amount, parse_date, read_cftc_file
from etl.synthetic.cftc_file import workbook_bytes
from tests.cftc.sheets import ERAS, era_cell, era_workbook, era_xls

AS_OF = date(2015, 5, 31)  # a Sunday
FIRMS = [
    {"firm": "ARCADIA FUTURES LLC", "registered_as": "FCM", "dsro": "CME", "firm_as_of_date": AS_OF,
     "adjusted_net_capital": 123_456_789, "net_capital_requirement": 20_000_000, "excess_net_capital": 103_456_789,
     "seg_assets": 1_050_000_000, "seg_required": 1_000_000_000, "seg_excess": 50_000_000, "seg_target": 20_000_000,
     "secured_funds": 210_000_000, "secured_required": 200_000_000, "secured_excess": 10_000_000,
     "secured_target": 5_000_000, "swaps_funds": 0, "swaps_required": 0, "swaps_excess": 0, "swaps_target": 0,
     "retail_forex_obligation": 0},
    # a footnote marker after the name, a deficiency (negative excess), an earlier A/O date, blanks
    {"firm": "BELLWETHER SECURITIES & CO (a)", "registered_as": "FCM BD", "dsro": "NFA",
     "firm_as_of_date": date(2015, 4, 30), "adjusted_net_capital": 9_876_543, "net_capital_requirement": 1_000_000,
     "excess_net_capital": 8_876_543, "seg_assets": 4_000_000, "seg_required": 5_234_567, "seg_excess": -1_234_567,
     "seg_target": None, "secured_funds": None, "secured_required": 0, "secured_excess": None,
     "swaps_funds": 700, "swaps_required": 600, "swaps_excess": 100, "retail_forex_obligation": 12_345},
]


def expected(era: int) -> list[dict]:
    fields = [f for f in ERAS[era]["fields"] if f]
    rows = []
    for firm in FIRMS:
        row = {f: firm.get(f) for f in fields}
        row["firm"] = firm["firm"].removesuffix(" (a)")
        if era < 2013:  # a B/D? column: yes for a broker-dealer, no otherwise
            row["registered_as"] = "FCM BD" if firm["registered_as"] == "FCM BD" else "FCM"
        rows.append(row)
    return rows


LAYOUTS = [(era, "xlsx") for era in ERAS] + [(2006, "xls"), (2015, "xls")]


@pytest.mark.parametrize("era, kind", LAYOUTS, ids=[f"{era}-{kind}" for era, kind in LAYOUTS])
def test_each_year_s_layout_reads_every_column_it_has(era, kind):
    data = era_workbook(era, AS_OF, FIRMS, filed_by=date(2015, 6, 30)) if kind == "xlsx" else \
        era_xls(era, AS_OF, FIRMS, filed_by=date(2015, 6, 30))
    parsed = read_cftc_file(data, f"fcm-data.{kind}")
    assert (parsed.as_of_date, parsed.filed_by) == (AS_OF, date(2015, 6, 30))
    assert parsed.fields == tuple(f for f in ERAS[era]["fields"] if f)
    assert parsed.rows == expected(era)  # the totals row and the footnotes are not firms
    assert parsed.unrecognised == ()


def _reordered(era: int) -> dict:
    """``era``'s layout with its figure columns in reverse order."""
    spec = copy.deepcopy(ERAS[era])
    keep = spec["fields"].index("adjusted_net_capital")
    order = list(range(keep)) + list(reversed(range(keep, len(spec["fields"]))))
    spec["fields"] = [spec["fields"][i] for i in order]
    spec["headers"] = [[header[i] for i in order] for header in spec["headers"]]
    return spec


def test_columns_are_known_by_their_header_text_not_their_place(monkeypatch):
    monkeypatch.setitem(ERAS, 2013, _reordered(2013))
    parsed = read_cftc_file(era_workbook(2013, AS_OF, FIRMS), "moved.xlsx")
    assert parsed.rows == expected(2013)
    assert parsed.fields[-1] == "adjusted_net_capital"


def test_the_table_is_found_on_a_sheet_after_the_notes():
    parsed = read_cftc_file(era_workbook(2011, AS_OF, FIRMS, notes_sheet=True), "with-notes.xlsx")
    assert parsed.sheet == "FCM Data" and parsed.rows == expected(2011)


@pytest.mark.parametrize("cell, amount", [
    (1234567.0, 1234567), ("1,234,567", 1234567), ("(1,234,567)", -1234567), ("-1,234", -1234), ("$ 12,000", 12000),
    ("1,234 (b)", 1234), ("98,765*", 98765), ("(5)", -5), ("", None), ("-", None), ("N/A", None), ("0", 0),
])
def test_figures_as_numbers_or_as_text(cell, amount):
    assert parse_amount(cell) == amount


@pytest.mark.parametrize("cell", ["1,23", "12 34", "twelve", "(1,234", True])
def test_text_that_is_no_amount_is_refused(cell):
    with pytest.raises(ValueError):
        parse_amount(cell)


@pytest.mark.parametrize("cell, day", [
    ("12/31/13", date(2013, 12, 31)), ("12/31/2013", date(2013, 12, 31)), ("DECEMBER 31, 2013", date(2013, 12, 31)),
    ("Dec 31, 2013", date(2013, 12, 31)), ("2013-12-31", date(2013, 12, 31)), (41639.0, date(2013, 12, 31)),
    (date(2013, 12, 31), date(2013, 12, 31)), ("", None),
])
def test_dates_as_cells_text_or_serial_numbers(cell, day):
    assert parse_date(cell) == day


def _without(era: int, field: str) -> dict:
    spec = copy.deepcopy(ERAS[era])
    at = spec["fields"].index(field)
    spec["fields"][at] = None
    for header in spec["headers"]:
        header[at] = ""
    return spec


def _workbook(spec: dict, firms=FIRMS, era: int = 2013) -> bytes:
    return workbook_bytes(AS_OF, firms, spec["headers"], spec["fields"], letters=spec["letters"], cell=era_cell(era))


def test_a_layout_without_the_segregation_requirement_is_one_error_naming_it():
    with pytest.raises(CftcFormatError) as caught:
        read_cftc_file(_workbook(_without(2013, "seg_required")), "odd.xlsx")
    assert caught.value.reason_code == "cftc_layout"
    assert "no column header reads as \"customers' seg required 4d(a)(2)\"" in caught.value.message
    assert "CUSTOMERS' ASSETS IN SEG" in caught.value.message  # and what it did find
    assert "\n" not in caught.value.message


def test_a_sheet_without_the_title_says_so():
    data = era_workbook(2013, AS_OF, FIRMS)
    import io

    import openpyxl
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    workbook.active["B1"] = "Selected data"
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(CftcFormatError, match="no title 'SELECTED FCM FINANCIAL DATA AS OF <month-end>'"):
        read_cftc_file(buffer.getvalue(), "untitled.xlsx")


def test_bytes_that_are_no_spreadsheet_are_refused():
    with pytest.raises(CftcFormatError) as caught:
        read_cftc_file(b"FIRM,SEG REQUIRED\nACME,1\n", "fcm.csv")
    assert caught.value.reason_code == "cftc_unreadable"


def test_a_figure_that_is_no_amount_names_its_cell():
    firms = [dict(FIRMS[0], adjusted_net_capital="1,000,0OO,000")]
    with pytest.raises(CftcFormatError) as caught:
        read_cftc_file(era_workbook(2006, AS_OF, firms), "typo.xlsx")
    assert caught.value.reason_code == "cftc_bad_value"
    assert "row 7 column F: '1,000,0OO,000' is not an amount (adjusted net capital)" in str(caught.value)


def test_two_columns_that_read_as_one_field_are_refused(monkeypatch):
    spec = copy.deepcopy(ERAS[2011])
    spec["headers"][0][-1] = "CUSTOMERS' SEG REQUIRED (REVISED)"
    spec["fields"][-1] = "seg_required"
    with pytest.raises(CftcFormatError, match="columns I .* and K .* both read as customers' seg required"):
        read_cftc_file(_workbook(spec, era=2011), "twice.xlsx")


def test_a_figure_column_no_field_matches_is_reported_and_left_out():
    spec = copy.deepcopy(ERAS[2011])
    spec["headers"][0].append("LIQUIDITY BUFFER")
    spec["headers"][1].append("")
    spec["fields"].append("liquidity")
    firms = [dict(f, liquidity=1_000) for f in FIRMS]
    parsed = read_cftc_file(_workbook(spec, firms, era=2011), "new-column.xlsx")
    assert parsed.unrecognised == ("LIQUIDITY BUFFER",)
    assert parsed.rows == expected(2011)


def test_the_eras_cover_every_published_column_set():
    """Each layout adds what its years added (so the tests above cover every published column set)."""
    fields = {era: {f for f in spec["fields"] if f} for era, spec in ERAS.items()}
    assert fields[2008] - fields[2006] == {"secured_required"}
    assert fields[2011] - fields[2008] == {"retail_forex_obligation"}
    assert fields[2013] - fields[2011] == {"seg_assets", "seg_excess", "secured_funds", "secured_excess"}
    assert fields[2015] - fields[2013] == {"seg_target", "secured_target", "swaps_funds", "swaps_required",
                                           "swaps_excess", "swaps_target"}

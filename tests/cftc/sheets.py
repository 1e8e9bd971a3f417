"""The CFTC's monthly file in each era's layout, written with openpyxl for the tests (no binaries in the
repository): the header texts below are the published ones, spread over rows the way each era did,
with the quirks of the real files (a row of column letters, footnote markers, numbered firm rows,
totals and footnotes after the table, figures as text with separators)."""

from __future__ import annotations

from datetime import date

from etl.synthetic.cftc_file import sheet_cells, workbook_bytes
from tests.cftc.xls import xls_bytes

# Each era: header rows (one string per column, "" for none; "<" continues a merged cell to the left),
# the field each column holds (None: the row number), how figures are written, and where the column
# letters go.
ERAS = {
    2006: {
        "headers": [
            ["", "FUTURES COMMISSION", "B/D?", "DSRO", "A/O", "ADJUSTED", "NET CAPITAL", "EXCESS", "CUSTOMERS' SEG"],
            ["", "MERCHANT", "", "", "DATE", "NET CAPITAL", "REQUIREMENT", "NET CAPITAL (a)", "REQUIRED 4D(A)(2)"],
        ],
        "fields": [None, "firm", "registered_as", "dsro", "firm_as_of_date", "adjusted_net_capital",
                   "net_capital_requirement", "excess_net_capital", "seg_required"],
        "figures": "text", "letters": "below",
    },
    2008: {
        "headers": [
            ["", "FUTURES COMMISSION", "B/D?", "DSRO", "A/O", "ADJUSTED", "NET CAPITAL", "EXCESS", "CUSTOMERS'",
             "CUSTOMER"],
            ["", "MERCHANT", "", "", "DATE", "NET", "REQUIREMENT", "NET", "SEG REQUIRED", "AMOUNT PT. 30"],
            ["", "", "", "", "", "CAPITAL", "", "CAPITAL", "4D(A)(2)", "REQUIRED (b)"],
        ],
        "fields": [None, "firm", "registered_as", "dsro", "firm_as_of_date", "adjusted_net_capital",
                   "net_capital_requirement", "excess_net_capital", "seg_required", "secured_required"],
        "figures": "text", "letters": "below",
    },
    2011: {
        "headers": [
            ["", "FUTURES COMMISSION MERCHANT / RETAIL FOREX DEALER", "B/D?", "DSRO", "A/O DATE",
             "ADJUSTED NET CAPITAL", "NET CAPITAL REQUIREMENT", "EXCESS NET CAPITAL",
             "CUSTOMERS' SEG REQUIRED 4D(A)(2)", "CUSTOMER AMOUNT PT. 30 REQUIRED", "RETAIL FOREX OBLIGATION (c)"],
            ["", "", "", "", "", "", "", "", "", "", ""],
        ],
        "fields": [None, "firm", "registered_as", "dsro", "firm_as_of_date", "adjusted_net_capital",
                   "net_capital_requirement", "excess_net_capital", "seg_required", "secured_required",
                   "retail_forex_obligation"],
        "figures": "number", "letters": "below",
    },
    2013: {
        "headers": [
            ["", "FUTURES COMMISSION MERCHANT /", "REG AS", "DSRO", "AS OF", "ADJUSTED", "NET CAPITAL", "EXCESS",
             "CUSTOMERS'", "CUSTOMERS' SEG", "EXCESS/DEFICIENT", "FUNDS IN SEPARATE", "CUSTOMER AMOUNT",
             "EXCESS/DEFICIENT", "RETAIL FOREX"],
            ["", "RETAIL FOREX DEALER", "", "", "DATE", "NET CAPITAL", "REQUIREMENT", "NET CAPITAL",
             "ASSETS IN SEG", "REQUIRED 4D(A)(2)", "FUNDS IN SEG", "SECTION 30.7 ACCOUNTS", "PT. 30 REQUIRED",
             "FUNDS IN 30.7", "OBLIGATION"],
        ],
        "fields": [None, "firm", "registered_as", "dsro", "firm_as_of_date", "adjusted_net_capital",
                   "net_capital_requirement", "excess_net_capital", "seg_assets", "seg_required", "seg_excess",
                   "secured_funds", "secured_required", "secured_excess", "retail_forex_obligation"],
        "figures": "mixed", "letters": "above",
    },
    2015: {  # group headers merged over their columns, four header rows, the letters above them
        "headers": [
            ["", "FUTURES COMMISSION MERCHANT /", "REGISTERED", "DSRO", "AS OF", "ADJUSTED", "NET CAPITAL",
             "EXCESS", "CUSTOMER SEGREGATED FUNDS", "<", "<", "<", "SECURED AMOUNTS (PART 30)", "<", "<", "<",
             "CLEARED SWAPS", "<", "<", "<", "RETAIL FOREX"],
            ["", "RETAIL FOREX DEALER", "AS", "", "DATE", "NET", "REQUIREMENT", "NET", "CUSTOMERS'",
             "CUSTOMERS' SEG", "EXCESS/", "TARGET", "FUNDS IN", "CUSTOMER", "EXCESS/", "TARGET", "FUNDS IN",
             "CLEARED SWAP", "EXCESS/", "TARGET", "OBLIGATION"],
            ["", "", "", "", "", "CAPITAL", "", "CAPITAL", "ASSETS", "REQUIRED", "DEFICIENT", "RESIDUAL",
             "SEPARATE SECTION", "AMOUNT PT. 30", "DEFICIENT", "RESIDUAL", "CLEARED", "SEG", "DEFICIENT",
             "RESIDUAL", ""],
            ["", "", "", "", "", "", "", "", "IN SEG", "4D(A)(2)", "FUNDS IN SEG", "INTEREST (d)",
             "30.7 ACCOUNTS", "REQUIRED", "FUNDS IN 30.7", "INTEREST", "SWAP SEG", "REQUIRED", "FUNDS",
             "INTEREST", ""],
        ],
        "fields": [None, "firm", "registered_as", "dsro", "firm_as_of_date", "adjusted_net_capital",
                   "net_capital_requirement", "excess_net_capital", "seg_assets", "seg_required", "seg_excess",
                   "seg_target", "secured_funds", "secured_required", "secured_excess", "secured_target",
                   "swaps_funds", "swaps_required", "swaps_excess", "swaps_target", "retail_forex_obligation"],
        "figures": "mixed", "letters": "above",
    },
}


def era_cell(era: int):
    """How ``era``'s file writes each cell: dates as text before 2008, B/D? as Y/N before 2013, figures as
    text with separators, as numbers, or mixed."""
    style = ERAS[era]["figures"]

    def cell(field, value, n):
        if value is None or field == "firm" or isinstance(value, str):  # a name, or text as it stands
            return value
        if field == "firm_as_of_date":
            return value if era >= 2008 else value.strftime("%m/%d/%y")
        if field == "registered_as":
            return value if era >= 2013 else ("Y" if value == "FCM BD" else "N")
        if field == "dsro":
            return value
        if style == "number" or (style == "mixed" and n % 2 == 0):
            return value
        return f"({abs(value):,})" if value < 0 else f"{value:,}"
    return cell


def era_workbook(era: int, as_of: date, firms: list[dict], filed_by: date | None = None,
                 notes_sheet: bool = False) -> bytes:
    """A workbook in ``era``'s layout with one numbered row per firm (``firms``: field -> value)."""
    spec = ERAS[era]
    return workbook_bytes(as_of, firms, spec["headers"], spec["fields"], filed_by, letters=spec["letters"],
                          cell=era_cell(era), notes_sheet=notes_sheet)


def era_xls(era: int, as_of: date, firms: list[dict], filed_by: date | None = None) -> bytes:
    """The same sheet as ``era_workbook``, as an Excel 97-2003 (.xls) file, as the older years were published."""
    spec = ERAS[era]
    cells, merges = sheet_cells(as_of, firms, spec["headers"], spec["fields"], filed_by, letters=spec["letters"],
                                cell=era_cell(era))
    return xls_bytes(f"{as_of:%b %Y}", cells, merges)

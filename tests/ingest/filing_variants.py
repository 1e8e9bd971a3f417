"""Ways to rewrite the real sample into the other layouts filings arrive in (test helpers)."""

from __future__ import annotations

import html
import re


def to_html(text: str, firm_entity: bool = True) -> str:
    """The sample as the HTML page it comes from: one <tr> per line, cells in <td>, &nbsp; padding."""
    rows = []
    for line in text.replace("**", "\n").splitlines():
        cells = line.split("\t")
        tds = []
        for cell in cells:
            escaped = html.escape(cell, quote=False).replace("&lt;u&gt;", "<u>").replace("&lt;/u&gt;", "</u>")
            if firm_entity:
                escaped = escaped.replace("&amp;", "&amp;")
            tds.append(f"<td>&nbsp;{escaped}&nbsp;</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return ("<html><head><title>Daily Seg</title><style>td { padding: 2px }</style></head><body>\n"
            "<table border=\"0\">\n" + "\n".join(rows) + "\n</table></body></html>\n")


def parenthesize_negatives(text: str) -> str:
    return re.sub(r"<u>-([\d,]+)</u>", r"<u>(\1)</u>", text)


def blank_value(text: str, code: str) -> str:
    return re.sub(r"<u>[^<]*</u> \[" + code + r"\]", "<u></u> [" + code + "]", text)


def statements(text: str) -> list[str]:
    """The sample split into its three statement blocks (each with its header)."""
    parts = re.split(r"(?=INITIAL(?:\n|\*\*))", text)
    return [p for p in parts if "Daily Segregation" in p]

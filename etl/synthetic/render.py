"""How a Daily Seg filing looks on the page: the published text layout and the HTML it comes from.

This module owns presentation only. Given a firm name, the dates, the status and one filing's coded
values, it prints every statement the way the published filings print it: a header block before each
statement (``INITIAL``/``AMENDED``, ``End Date:M/D/YYYY``, ``Firm Name:``, ``Form:``,
``Submit Date:M/D/YYYY``, each on its own line with blank lines between, or now and then run together
with ``**`` as in the real sample), the statement title, then one line per catalog row: a line number or
letter, a tab, the label and ``<u>value</u> [code]``, with a subtotal printed on the same line as the
component it follows. The same lines can be written as an HTML page (one ``<tr>`` per line, ``<td>``
cells, ``&nbsp;`` padding, entities for ``&`` and non-ASCII characters).

Which lines a statement has, their order, numbers and labels all come from the line-item catalog.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from etl.form.catalog import STATEMENTS, LineItem, load_catalog

STATEMENT_TITLES = {
    "cover": "Daily Segregation - Cover Page",
    "segregation": "Daily Segregation - Segregation Statement",
    "secured": "Daily Segregation - Secured Amounts",
    "swaps": "Daily Segregation - Swaps Statement",
}
DEFAULT_FORM = "Daily Seg - FOCUS II"
SAMPLE_ORDER = ("secured", "segregation", "swaps")  # the order the real sample prints
WRAP_HEADING_AT = 100  # a statement's opening heading longer than this wraps at " AND " (sample, swaps)
HTML_INDENT = "&nbsp;&nbsp;&nbsp;&nbsp;"


@dataclass(frozen=True)
class RenderStyle:
    """The habits of one firm's filing software: the same firm always prints the same way."""

    statement_order: tuple[str, ...] = SAMPLE_ORDER
    line_ending: str = "\n"
    paren_negatives: bool = False  # (1,234) instead of -1,234
    run_together_rate: float = 0.0  # chance that a statement's header block is run together with **
    space_separated: frozenset[str] = frozenset({"swaps"})  # statements printing "label <u>" (sample)
    form_name: str = DEFAULT_FORM

    @classmethod
    def random(cls, rng: random.Random) -> RenderStyle:
        """A plausible style: the sample's habits most of the time, variations now and then."""
        order = list(SAMPLE_ORDER)
        roll = rng.random()
        if roll < 0.3:
            order = list(STATEMENTS)
        elif roll < 0.45:
            rng.shuffle(order)
        return cls(
            statement_order=tuple(order),
            line_ending="\r\n" if rng.random() < 0.25 else "\n",
            paren_negatives=rng.random() < 0.12,
            run_together_rate=rng.choice((0.0, 0.0, 0.15, 0.35)),
            form_name=DEFAULT_FORM,
        )


@dataclass(frozen=True)
class CoverPage:
    """What the cover page says besides the firm name (printed as text lines, no codes).

    ``targets`` are the residual interest target descriptions in the order the catalog prints the
    cover's target lines (one per account class).
    """

    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    targets: tuple[str, ...] = field(default_factory=tuple)

    def fields(self, firm_name: str) -> list[str]:
        return [firm_name, self.contact_name, self.contact_phone, self.contact_email, *self.targets]


@dataclass(frozen=True)
class PrintedLine:
    """One printed line of a statement body, before values are filled in.

    ``free`` lines print as they are (the heading at the top of a statement, blank lines). Other
    lines have a number cell (``"1."``, or empty for a sub-line), a label, and the codes whose values
    print on the line, left to right.
    """

    label: str
    number: str = ""
    codes: tuple[str, ...] = ()
    free: bool = False


def us_date(day: date) -> str:
    """``M/D/YYYY`` with no zero padding, as the header prints dates."""
    return f"{day.month}/{day.day}/{day.year}"


def format_amount(value: int | None, paren_negatives: bool = False) -> str:
    """Whole dollars with thousands separators; blank when not reported."""
    if value is None:
        return ""
    if value < 0 and paren_negatives:
        return f"({-value:,})"
    return f"{value:,}"


# -- the lines of a statement, from the catalog ----------------------------------------------------------
def _number_and_label(item: LineItem) -> tuple[str, str]:
    """The number cell and label of a catalog row: "1" -> ("1.", label), "1.A" -> ("", "A. label")."""
    head, _, sub = item.line.partition(".")
    if sub:
        if len(sub) == 1 and sub.isalpha():
            return "", f"{sub}. {item.label}"
        return "", item.label  # "Less: ..." lines and other unnumbered sub-lines
    number = head.lstrip("F")  # the secured funds section numbers its lines F1.. in the catalog
    if not number or number == "0":
        return "", item.label
    return f"{number}.", item.label


def _opening_heading(label: str) -> list[PrintedLine]:
    """A statement's first heading, wrapped the way the sample wraps the swaps heading, then a blank."""
    if len(label) > WRAP_HEADING_AT and " AND " in label:
        before, _, after = label.partition(" AND ")
        parts = [before, "AND", after]
    else:
        parts = [label]
    return [*(PrintedLine(p, free=True) for p in parts), PrintedLine("", free=True)]


@lru_cache(maxsize=1)
def _era_boundaries() -> tuple[tuple[date, ...], tuple[date, ...]]:
    items = load_catalog().items
    return (tuple(sorted({i.required_from for i in items if i.required_from})),
            tuple(sorted({i.required_to for i in items if i.required_to})))


def _era_key(day: date) -> tuple[bool, ...]:
    """Days with the same key have the same layout for every statement."""
    starts, ends = _era_boundaries()
    return tuple(day >= d for d in starts) + tuple(day > d for d in ends)


_CACHE: dict[tuple, object] = {}


def _cached(kind: str, statement: str, day: date, build):
    key = (kind, statement, _era_key(day))
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = build()
    return found


def statement_lines(statement: str, day: date) -> list[PrintedLine]:
    """The printed lines of a statement on End Date ``day``: catalog rows in order, each subtotal on
    the line of the component it names in ``same_line_as``."""
    return _cached("lines", statement, day, lambda: _statement_lines(statement, day))


def _statement_lines(statement: str, day: date) -> list[PrintedLine]:
    lines: list[PrintedLine] = []
    line_of_code: dict[str, int] = {}
    for n, item in enumerate(load_catalog().layout(statement, day)):
        if item.code is None:
            if n == 0 and not item.line:
                lines.extend(_opening_heading(item.label))
            else:
                number, label = _number_and_label(item)
                lines.append(PrintedLine(label, number))
            continue
        if item.same_line_as and item.same_line_as in line_of_code:
            at = line_of_code[item.same_line_as]
            host = lines[at]
            lines[at] = PrintedLine(host.label, host.number, host.codes + (item.code,))
            line_of_code[item.code] = at
            continue
        number, label = _number_and_label(item)
        line_of_code[item.code] = len(lines)
        lines.append(PrintedLine(label, number, (item.code,)))
    return lines


def cover_lines(day: date, firm_name: str, cover: CoverPage | None) -> list[tuple[str, str]]:
    """The cover page: (label, text) per catalog row, filled in print order."""
    fields = (cover or CoverPage()).fields(firm_name)
    items = load_catalog().layout("cover", day)
    return [(item.label, fields[i] if i < len(fields) else "") for i, item in enumerate(items)]


def statements_in_order(values: dict[str, dict[str, int]], style: RenderStyle) -> list[str]:
    order = [s for s in style.statement_order if s in values]
    return order + [s for s in STATEMENTS if s in values and s not in order]


def has_cover(day: date) -> bool:
    return bool(_cached("cover", "cover", day, lambda: tuple(load_catalog().layout("cover", day))))


# -- text ----------------------------------------------------------------------------------------------
def _text_template(statement: str, day: date, spaced: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(fixed start of the line, codes printed after it) per line; cached per era and separator."""
    def build():
        template = []
        for line in statement_lines(statement, day):
            if line.free:
                template.append((line.label, ()))
            elif spaced:
                template.append((f"{line.number}\t{line.label}" + (" " if line.codes else ""), line.codes))
            else:
                template.append((f"{line.number}\t{line.label}\t", line.codes))
        return template
    return _cached(f"text:{spaced}", statement, day, build)


def _pairs(values: dict[str, int], codes: tuple[str, ...], parens: bool, between: str) -> str:
    out = []
    for code in codes:
        v = values.get(code)
        shown = "" if v is None else f"({-v:,})" if (v < 0 and parens) else f"{v:,}"
        out.append(f"<u>{shown}</u>{between}[{code}]")
    return between.join(out)


def _text_body(statement: str, day: date, values: dict[str, int], style: RenderStyle) -> list[str]:
    template = _text_template(statement, day, statement in style.space_separated)
    parens = style.paren_negatives
    return [start + _pairs(values, codes, parens, " ") if codes else start for start, codes in template]


def render_text(firm_name: str, end_date: date, submit_date: date, status: str,
                values: dict[str, dict[str, int]], rng: random.Random, *,
                style: RenderStyle | None = None, cover: CoverPage | None = None) -> str:
    """One filing in the published text layout (see the module docstring).

    Statements print in the style's order (those in ``values``), after the cover page when the form
    has one on ``end_date``. ``rng`` decides which header blocks run together (and the style if none
    is given).
    """
    style = style or RenderStyle.random(rng)
    fields = (f"End Date:{us_date(end_date)}", f"Firm Name:{firm_name}", f"Form:{style.form_name}",
              f"Submit Date:{us_date(submit_date)}")
    blocks: list[tuple[str, list[str]]] = []
    if has_cover(end_date):
        blocks.append((STATEMENT_TITLES["cover"],
                       [f"\t{label}\t{text}" for label, text in cover_lines(end_date, firm_name, cover)]))
    for statement in statements_in_order(values, style):
        blocks.append((STATEMENT_TITLES[statement], _text_body(statement, end_date, values[statement], style)))
    out = ["", ""]
    for n, (title, body) in enumerate(blocks):
        if n:
            out.append("")
        if rng.random() < style.run_together_rate:
            stars = "".join(f"**{f}**" for f in (*fields, title))
            out.append(f"{status}{stars}{body[0] if body else ''}")
            out += body[1:]
        else:
            for text in (status, *fields, title):
                out += [text, ""]
            out += body
    return style.line_ending.join(out)


# -- HTML ----------------------------------------------------------------------------------------------
def _escape(text: str) -> str:
    """HTML-escaped and ASCII only (non-ASCII letters as numeric character references)."""
    escaped = html.escape(text)
    return escaped if escaped.isascii() else escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _text_row(text: str) -> str:
    return f'<tr><td colspan="3">{_escape(text) or "&nbsp;"}</td></tr>'


def _row_start(number: str, label: str) -> str:
    indent = "" if number else HTML_INDENT
    return f"<tr><td>{number or '&nbsp;'}</td><td>{indent}{_escape(label)}</td><td>"


def _html_template(statement: str, day: date) -> list[tuple[str, tuple[str, ...]]]:
    def build():
        template = []
        for line in statement_lines(statement, day):
            if line.free:
                template.append((_text_row(line.label), ()))
            elif line.codes:
                template.append((_row_start(line.number, line.label), line.codes))
            else:
                template.append((_row_start(line.number, line.label) + "&nbsp;</td></tr>", ()))
        return template
    return _cached("html", statement, day, build)


def render_html(firm_name: str, end_date: date, submit_date: date, status: str,
                values: dict[str, dict[str, int]], rng: random.Random, *,
                style: RenderStyle | None = None, cover: CoverPage | None = None) -> str:
    """The HTML page the text layout comes from: one ``<tr>`` per printed line, ASCII only.

    Header fields are rows of their own (the page never runs them together).
    """
    style = style or RenderStyle.random(rng)
    header = [_text_row(text) for field_text in (
        status, f"End Date:{us_date(end_date)}", f"Firm Name:{firm_name}", f"Form:{style.form_name}",
        f"Submit Date:{us_date(submit_date)}") for text in (field_text, "")]
    blank = _text_row("")
    blocks: list[tuple[str, list[str]]] = []
    if has_cover(end_date):
        blocks.append((STATEMENT_TITLES["cover"],
                       [_row_start("", label) + f"{_escape(text) or '&nbsp;'}</td></tr>"
                        for label, text in cover_lines(end_date, firm_name, cover)]))
    parens = style.paren_negatives
    for statement in statements_in_order(values, style):
        own = values[statement]
        body = [start + _pairs(own, codes, parens, "&nbsp;") + "</td></tr>" if codes else start
                for start, codes in _html_template(statement, end_date)]
        blocks.append((STATEMENT_TITLES[statement], body))
    rows = ["<html>", "<body>", "<table>"]
    for n, (title, body) in enumerate(blocks):
        if n:
            rows.append(blank)
        rows += header
        rows += [_text_row(title), blank]
        rows += body
    rows += ["</table>", "</body>", "</html>", ""]
    return style.line_ending.join(rows)

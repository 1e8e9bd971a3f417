"""Synthetic Daily Seg filings on disk.

``generate_filings`` writes one INITIAL filing per firm and business day (some also AMENDED) in the text
or HTML layout (``etl.synthetic.render``), as WinJammer-style PDFs (``etl.synthetic.pdf_layout``), or
mixed (each firm publishing in one of the three); ``write_filing`` writes one filing with exactly the
values given, for planting altered values in tests. The firms come from ``etl.synthetic.firms`` and
their figures from ``etl.synthetic.values``.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from etl.business_days import business_days, next_business_day
from etl.synthetic.cftc_file import month_end_of, write_monthly_files
from etl.synthetic.firms import make_firms
from etl.synthetic.render import CoverPage, RenderStyle, render_html, render_text
from etl.synthetic.values import Values, amend_values, build_values, cover_page

# -- files -----------------------------------------------------------------------------------------------
FORMATS = {"text": ".txt", "html": ".html", "pdf": ".pdf"}
MIXED = "mixed"  # most firms publish text, every sixth HTML and every sixth a PDF


def firm_format(rank: int, fmt: str) -> str:
    """The format the firm of this rank (0 = largest) publishes in, for ``fmt`` (a format, or ``mixed``)."""
    if fmt != MIXED:
        return fmt
    return {2: "html", 4: "pdf"}.get(rank % 6, "text")


def encode_filing(text: str, fmt: str) -> bytes:
    return text.encode("ascii" if fmt == "html" else "utf-8", "xmlcharrefreplace")


def render_filing(firm_name: str, end_date: date, submit_date: date, status: str, values: Values,
                  fmt: str, rng: random.Random, *, style: RenderStyle | None = None,
                  cover: CoverPage | None = None) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    if fmt == "pdf":
        from etl.synthetic.pdf_layout import render_pdf
        return render_pdf(firm_name, end_date, submit_date, status, values, rng, style=style, cover=cover)
    render = render_html if fmt == "html" else render_text
    return encode_filing(render(firm_name, end_date, submit_date, status, values, rng, style=style, cover=cover),
                         fmt)


def write_filing(path: Path, firm_name: str, end_date: date, submit_date: date, status: str, values: Values,
                 fmt: str = "text", *, rng: random.Random | None = None, style: RenderStyle | None = None,
                 cover: CoverPage | None = None) -> Path:
    """Write one filing with exactly these values (for planting altered values in tests)."""
    rng = rng or random.Random(f"{firm_name}|{end_date}|{status}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_filing(firm_name, end_date, submit_date, status, values, fmt, rng,
                                   style=style or RenderStyle(), cover=cover))
    return path


@dataclass(frozen=True)
class GenerateSummary:
    files: int
    amended: int
    firms: int
    days: int
    outdir: Path
    by_format: dict[str, int] = field(default_factory=dict)  # files written in each format
    cftc_files: tuple[Path, ...] = ()  # the CFTC's monthly file for each month-end in range
    cftc_planted: tuple = ()  # the month-end figures those files state differently (cftc_file.Planted)


def _amended_submit_date(submit: date, rng: random.Random) -> date:
    for _ in range(rng.randint(1, 5)):
        submit = next_business_day(submit)
    return submit


def generate_filings(outdir: Path, firms: int, start: date, end: date, fmt: str = "text", seed: int = 0,
                     amend_rate: float = 0.02, progress: Callable[[int, int], None] | None = None,
                     cftc_dir: Path | None = None, cftc_differences: int = 0, cftc_unfiled: int = 3
                     ) -> GenerateSummary:
    """One INITIAL filing per firm and business day, some also AMENDED, as files under ``outdir``.

    Layout: ``outdir/YYYY-MM-DD/<firm-slug>.txt`` (``.html``, ``.pdf``) and ``<firm-slug>.amended.txt``.
    The Submit Date is the next business day; an amendment comes one to five business days later. The
    same arguments always write the same bytes, and a firm's figures are the same in every format.

    With ``cftc_dir``, also the CFTC's monthly file for each month whose last business day is in range,
    ``cftc_dir/fcm-financial-data-YYYY-MM.xlsx`` (not among the filings: it is loaded with ``dailyseg cftc
    load``, not ingested): the firms' month-end figures as their filings (the
    amended version where there is one) state them, ``cftc_unfiled`` firms more whose filings were not
    generated, a retail forex dealer, and ``cftc_differences`` figures planted across the months.
    """
    if fmt not in FORMATS and fmt != MIXED:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS) + [MIXED]}")
    outdir = Path(outdir)
    profiles = make_firms(firms, seed)
    days = business_days(start, end)
    for day in days:
        os.makedirs(outdir / day.isoformat(), exist_ok=True)
    total = len(profiles) * len(days)
    written = amended = 0
    by_format: Counter = Counter()
    month_ends = {day: as_of for day in days if (as_of := month_end_of(day))} if cftc_dir else {}
    at_month_end: dict[date, list] = {as_of: [] for as_of in month_ends.values()}
    for rank, firm in enumerate(profiles):
        firm_fmt = firm_format(rank, fmt)
        suffix = FORMATS[firm_fmt]
        rng = random.Random(f"filings:{seed}:{firm.slug}")  # the figures: the same in every format
        layout_rng = random.Random(f"layout:{seed}:{firm.slug}")  # which header blocks run together
        state: dict = {}
        for day in days:
            values = build_values(firm, day, rng, state)
            cover = cover_page(firm, state)
            submit = next_business_day(day)
            folder = outdir / day.isoformat()
            (folder / f"{firm.slug}{suffix}").write_bytes(
                render_filing(firm.name, day, submit, "INITIAL", values, firm_fmt, layout_rng, style=firm.style,
                              cover=cover))
            written += 1
            by_format[firm_fmt] += 1
            if amend_rate > 0 and rng.random() < amend_rate:
                fixed = amend_values(values, day, rng)
                (folder / f"{firm.slug}.amended{suffix}").write_bytes(
                    render_filing(firm.name, day, _amended_submit_date(submit, rng), "AMENDED", fixed, firm_fmt,
                                  layout_rng, style=firm.style, cover=cover))
                amended += 1
                by_format[firm_fmt] += 1
                values = fixed
            if day in month_ends:
                at_month_end[month_ends[day]].append((firm, values))
        if progress:
            progress(written, total)
    cftc_files, planted = write_monthly_files(Path(cftc_dir), at_month_end, seed, cftc_differences,
                                              cftc_unfiled) if at_month_end else ([], [])
    return GenerateSummary(files=written + amended, amended=amended, firms=len(profiles), days=len(days),
                           outdir=outdir, by_format=dict(by_format), cftc_files=tuple(cftc_files),
                           cftc_planted=tuple(planted))

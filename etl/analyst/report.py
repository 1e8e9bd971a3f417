"""The static HTML report: excess history per firm and account class, industry totals and concentration,
and the month-ends of the CFTC's monthly file against the daily filings.

``build_report`` reads ``excess_trend``, ``industry_daily`` and the CFTC views, draws a PNG per chart (in worker
processes: a hundred firms are three hundred charts), and writes ``index.html`` beside them. The page
needs nothing from the network (no CDN, inline style, a few lines of inline script to filter firms),
so it opens offline and the PNGs go into e-mails and slides as they are.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import pandas as pd

from etl import UserError
from etl.analyst.cftc_section import cftc_html, read_cftc
from etl.analyst.trends import STATEMENTS, date_range, excess_history, flagged, resolve_firms
from etl.analyst.formats import dollars, is_missing, percent
from etl.processes import can_fork_workers, fork_pool, mark
from etl.settings import Settings
from etl.warehouse import opened_for_writing

Progress = Callable[[int, int], None]


class ReportError(UserError, RuntimeError):
    """The report cannot be built (no data, unknown firm...); the message says why."""


@dataclass
class ReportSummary:
    index: Path
    firms: int
    charts: int
    first_day: date | None
    last_day: date | None
    seconds: float


def chart_name(firm: str, statement: str) -> str:
    """A file name for a firm's chart that is safe anywhere (ASCII) and unique (a hash of the name)."""
    slug = re.sub(r"[^a-z0-9]+", "-", firm.lower()).strip("-")[:40] or "firm"
    digest = hashlib.sha256(firm.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}-{statement}.png"


# -- drawing, in worker processes -------------------------------------------------------------------------
_HISTORY: pd.DataFrame | None = None
_SPAN: tuple[date | None, date | None] | None = None  # the range asked for, which every firm's chart covers


def _draw(jobs: list[tuple[str, str, str]]) -> int:
    from etl.analyst.charts import excess_chart
    from etl.analyst.time_axis import time_axis
    groups = _HISTORY.groupby(["firm", "statement"], sort=False)
    firm_days = _HISTORY.groupby("firm", sort=False)["end_date"]
    axes = {}
    for firm, statement, path in jobs:
        if firm not in axes:  # a firm's charts share its own dates (every account class), or the range asked
            axes[firm] = time_axis(firm_days.get_group(firm), _SPAN)
        excess_chart(groups.get_group((firm, statement)), firm, statement, Path(path), axes[firm])
    return len(jobs)


def _draw_all(history: pd.DataFrame, jobs: list[tuple[str, str, str]], workers: int, progress: Progress | None,
              span: tuple[date | None, date | None] | None = None) -> None:
    """Draw every chart, in forked worker processes when there are enough to share; if a worker dies,
    what is left is drawn here rather than waited for."""
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool
    global _HISTORY, _SPAN
    _HISTORY, _SPAN = history, span
    chunks = [jobs[i:i + 10] for i in range(0, len(jobs), 10)]
    pending = list(range(len(chunks)))
    done = 0
    try:
        if workers > 1 and len(chunks) > 1 and can_fork_workers():
            try:
                with fork_pool(workers) as pool:
                    futures = {pool.submit(_draw, chunks[i]): i for i in pending}
                    mark("report:charts-started")
                    for future in as_completed(futures):
                        done += future.result()
                        pending.remove(futures[future])
                        if progress:
                            progress(done, len(jobs))
            except BrokenProcessPool:
                pass  # the charts not drawn yet are drawn below, in this process
        for i in list(pending):
            done += _draw(chunks[i])
            if progress:
                progress(done, len(jobs))
    finally:
        _HISTORY = _SPAN = None


# -- reading ------------------------------------------------------------------------------------------------
def _load(settings: Settings, firm: str | None, date_from: date | None, date_to: date | None, wait: float):
    with opened_for_writing(settings.warehouse_url, wait=wait) as warehouse:
        firms = resolve_firms(warehouse, firm) if firm else None
        history = excess_history(warehouse, firms, date_from, date_to)
        where, params = date_range(date_from, date_to)
        industry = warehouse.read_df(
            f"SELECT * FROM industry_daily WHERE {' AND '.join(where)} ORDER BY statement, end_date", params)
        return history, industry, read_cftc(warehouse, firms, date_from, date_to)


def has_business(part: pd.DataFrame) -> bool:
    """Whether a firm holds anything in an account class (firms without one file it as zeros)."""
    figures = part[["requirement", "funds", "excess"]].apply(pd.to_numeric, errors="coerce")
    return bool((figures.fillna(0) != 0).any().any())


def firm_summary(history: pd.DataFrame) -> pd.DataFrame:
    """One row per firm and account class: the latest figures and what happened over the period."""
    rows = []
    for (firm, statement), part in history.groupby(["firm", "statement"], sort=True):
        if not has_business(part):
            continue
        last = part.iloc[-1]
        pct = pd.to_numeric(part["excess_pct"], errors="coerce")
        low = pct.idxmin() if pct.notna().any() else None
        rows.append({
            "firm": firm, "statement": statement, "days": len(part), "last_day": last["end_date"],
            "excess": last["excess"], "excess_pct": last["excess_pct"], "target": last["target"],
            "deficiency_days": int(sum(flagged(v) for v in part["deficiency"])),
            "below_target_days": int(sum(flagged(v) for v in part["below_target"])),
            "min_pct": None if low is None else pct[low],
            "min_pct_day": None if low is None else part.loc[low, "end_date"],
        })
    return pd.DataFrame(rows)


# -- writing ------------------------------------------------------------------------------------------------
def _day(value) -> str:
    return "-" if is_missing(value) else pd.Timestamp(value).date().isoformat()


def _anchor(firm: str) -> str:
    return "firm-" + hashlib.sha256(firm.encode("utf-8")).hexdigest()[:10]


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#12355b;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85;font-size:13px}main{padding:8px 28px 40px;max-width:1180px}
h2{margin:28px 0 8px;font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{margin:22px 0 6px;font-size:15px}img{max-width:100%;height:auto;background:#fff;border:1px solid #e4e4e4}
table{border-collapse:collapse;font-size:12.5px;background:#fff}th,td{padding:4px 8px;border-bottom:1px solid #eee;
text-align:right;white-space:nowrap}th{background:#f0f3f7;position:sticky;top:0}td:first-child,th:first-child,
td.l,th.l{text-align:left}tr.deficient td{background:#fdecea}tr.below td{background:#fff4e0}
.badge{display:inline-block;border-radius:8px;padding:0 6px;font-size:11px;color:#fff}.bad{background:#c62828}
.warn{background:#e08a00}.ok{background:#2e7d32}.note{color:#555;font-size:12.5px;max-width:900px}
#filter{margin:6px 0 10px;padding:5px 8px;width:320px;font-size:13px}section.firm{margin-top:18px}
nav a{margin-right:12px;font-size:13px}
"""

SCRIPT = """
document.getElementById('filter').addEventListener('input', function (event) {
  var wanted = event.target.value.toLowerCase();
  document.querySelectorAll('[data-firm]').forEach(function (element) {
    element.style.display = element.getAttribute('data-firm').toLowerCase().indexOf(wanted) >= 0 ? '' : 'none';
  });
});
"""


def _summary_table(summary: pd.DataFrame) -> str:
    e = html.escape
    head = ("<tr><th class=l>firm</th><th class=l>account class</th><th>last day</th><th>excess</th>"
            "<th>excess %</th><th>target</th><th>lowest excess %</th><th>on</th><th>days below target</th>"
            "<th>deficiency days</th></tr>")
    order = summary.assign(_pct=pd.to_numeric(summary["min_pct"], errors="coerce")).sort_values(
        ["deficiency_days", "below_target_days", "_pct"], ascending=[False, False, True], na_position="last")
    body = []
    for r in order.itertuples():
        css = "deficient" if r.deficiency_days else ("below" if r.below_target_days else "")
        badge = (f"<span class='badge bad'>{r.deficiency_days}</span>" if r.deficiency_days else "0")
        body.append(
            f"<tr class='{css}' data-firm='{e(r.firm)}'><td><a href='#{_anchor(r.firm)}'>{e(r.firm)}</a></td>"
            f"<td class=l>{e(r.statement)}</td><td>{_day(r.last_day)}</td><td>{dollars(r.excess)}</td>"
            f"<td>{percent(r.excess_pct)}</td><td>{dollars(r.target)}</td><td>{percent(r.min_pct)}</td>"
            f"<td>{_day(r.min_pct_day)}</td><td>{r.below_target_days}</td><td>{badge}</td></tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _industry_table(industry: pd.DataFrame) -> str:
    if industry.empty:
        return "<p class=note>No industry figures in this range.</p>"
    last_day = industry["end_date"].max()
    rows = []
    for r in industry[industry["end_date"] == last_day].itertuples():
        rows.append(f"<tr><td>{html.escape(r.statement)}</td><td>{r.n_firms}</td><td>{dollars(r.total_requirement)}</td>"
                    f"<td>{dollars(r.total_funds)}</td><td>{dollars(r.total_excess)}</td><td>{percent(r.excess_pct)}</td>"
                    f"<td>{'-' if is_missing(r.hhi) else f'{r.hhi:,.0f}'}</td><td>{percent(r.top5_share_pct)}</td>"
                    f"<td>{r.n_deficient}</td></tr>")
    return (f"<p class=note>On {_day(last_day)}:</p><table><thead><tr><th>account class</th><th>firms</th>"
            "<th>owed (requirement)</th><th>funds held</th><th>excess</th><th>excess %</th><th>HHI</th>"
            "<th>top 5 share</th><th>firms in deficiency</th></tr></thead><tbody>" + "".join(rows) +
            "</tbody></table>")


def write_html(out: Path, summary: pd.DataFrame, industry: pd.DataFrame, charts: dict[tuple[str, str], str],
               industry_charts: list[str], title: str, period: str, source: str, cftc: str = "") -> Path:
    e = html.escape
    firms = sorted(summary["firm"].unique()) if not summary.empty else []
    deficient = summary[summary["deficiency_days"] > 0]["firm"].nunique() if not summary.empty else 0
    below = summary[summary["below_target_days"] > 0]["firm"].nunique() if not summary.empty else 0
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{e(title)}</h1><p>{e(period)} &middot; {len(firms)} firms &middot; source {e(source)} "
        f"&middot; generated {datetime.now().strftime('%Y-%m-%d %H:%M')}</p></header><main>",
        "<nav><a href='#glance'>Firms at a glance</a><a href='#industry'>Industry</a>"
        "<a href='#cftc'>Month-ends vs the CFTC file</a><a href='#firms'>Each firm</a></nav>",
        "<h2 id=glance>Firms at a glance</h2>",
        f"<p class=note><span class='badge bad'>{deficient}</span> firms had a deficiency (excess below zero) and "
        f"<span class='badge warn'>{below}</span> ran below their own management target on at least one day. "
        "Excess % is excess as a share of what the firm owes customers (the requirement). Rows are ordered "
        "by deficiency days, then days below target, then the lowest excess %.</p>",
        "<input id=filter type=search placeholder='filter firms by name' aria-label='filter firms by name'>",
        _summary_table(summary) if not summary.empty else "<p>No filings in this range.</p>",
        "<h2 id=industry>Industry</h2>",
        _industry_table(industry),
    ]
    parts += [f"<p><img src='{e(name)}' alt='industry chart' loading=lazy></p>" for name in industry_charts]
    parts += ["<h2 id=cftc>Month-ends against the CFTC's monthly file</h2>", cftc]
    parts.append("<h2 id=firms>Each firm</h2><p class=note>Blue: excess in dollars (faint: its 20-day mean); "
                 "orange dashes: the firm's management target; red: deficiency days; orange dots: days below "
                 "target. Below each: excess and target as a share of the requirement.</p>")
    for firm in firms:
        parts.append(f"<section class=firm id='{_anchor(firm)}' data-firm='{e(firm)}'><h3>{e(firm)}</h3>")
        for statement in STATEMENTS:
            name = charts.get((firm, statement))
            if name:
                parts.append(f"<p><img src='{e(name)}' alt='{e(firm)}: {e(statement)}' loading=lazy "
                             "width=900 height=460></p>")
        parts.append("</section>")
    parts.append(f"</main><script>{SCRIPT}</script></body></html>")
    index = out / "index.html"
    tmp = index.with_suffix(".html.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, index)
    return index


def build_report(settings: Settings, firm: str | None = None, date_from: date | None = None,
                 date_to: date | None = None, out: Path | None = None, workers: int | None = None,
                 progress: Progress | None = None, wait: float = 600.0) -> ReportSummary:
    started = time.perf_counter()
    out = Path(out or settings.home / "report")
    history, industry, (reconciliation, coverage) = _load(settings, firm, date_from, date_to, wait)
    if history.empty:
        raise ReportError("no filings in that range" + ("" if date_from or date_to or firm else
                                                        ": the warehouse is empty (run dailyseg ingest first)"))
    if firm and not industry.empty:  # the industry over the same days as the firms shown
        days = pd.to_datetime(industry["end_date"])
        industry = industry[(days >= history["end_date"].min()) & (days <= history["end_date"].max())]
    charts_dir = out / "charts"
    charts_dir.mkdir(parents=True, exist_ok=True)
    jobs, charts = [], {}
    for (name, statement), part in history.groupby(["firm", "statement"], sort=True):
        if not has_business(part):
            continue
        file_name = chart_name(name, statement)
        charts[(name, statement)] = f"charts/{file_name}"
        jobs.append((name, statement, str(charts_dir / file_name)))
    _draw_all(history, jobs, workers or min(4, os.cpu_count() or 1), progress,
              (date_from, date_to) if date_from or date_to else None)

    from etl.analyst.charts import concentration_chart, industry_totals_chart
    from etl.analyst.time_axis import time_axis
    industry_charts = []
    if not industry.empty:  # the industry where firms file, broken at long stretches without filings
        axis = time_axis(industry["end_date"])
        industry_totals_chart(industry, charts_dir / "industry-totals.png", axis)
        concentration_chart(industry, charts_dir / "industry-concentration.png", axis)
        industry_charts = ["charts/industry-totals.png", "charts/industry-concentration.png"]
    # charts of firms no longer in the report would be left behind by an earlier, wider run
    keep = {Path(p).name for p in charts.values()} | {Path(p).name for p in industry_charts}
    for stale in charts_dir.glob("*.png"):
        if stale.name not in keep:
            stale.unlink()

    first, last = history["end_date"].min().date(), history["end_date"].max().date()
    summary = firm_summary(history)
    title = "Daily Seg: excess history" + (f" for {', '.join(sorted(summary['firm'].unique()))}" if firm else "")
    index = write_html(out, summary, industry, charts, industry_charts, title, f"{first} to {last}",
                       _source(settings), cftc_html(reconciliation, coverage))
    return ReportSummary(index, summary["firm"].nunique(), len(jobs) + len(industry_charts), first, last,
                         time.perf_counter() - started)


def _source(settings: Settings) -> str:
    from etl.warehouse import redact_url
    return redact_url(settings.warehouse_url).rsplit("/", 1)[-1] or "warehouse"

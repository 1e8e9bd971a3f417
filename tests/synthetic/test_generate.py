"""The synthetic filing generator: every identity ties, the calendar, the eras, amendments, the layout.

The files are read back here with a reader of the test's own (a regular expression for
``<u>value</u> [code]``) and the identities are evaluated straight from ``rules.csv``, so a mistake in
the generator's own rule handling cannot hide itself.
"""

from __future__ import annotations

import csv
import html
import math
import random
import re
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from etl.business_days import business_days, is_business_day
from etl.form.catalog import STATEMENTS, load_catalog
from etl.form.files import form_dir
from etl.synthetic import SAMPLE_FILING
from etl.synthetic.firms import FirmProfile, make_firms
from etl.synthetic.values import amend_values, build_values, cover_page
from etl.synthetic.files import generate_filings, write_filing
from etl.synthetic.render import RenderStyle, render_html, render_text

SAMPLE = SAMPLE_FILING
ERA_CHANGE = date(2015, 1, 1)

PAIR = re.compile(r"<u>([^<]*)</u>(?:\s|&nbsp;)*\[(\d{4})\]")
CODED_LINE = re.compile(
    r"^(\d{1,2}\.)?\t[^\t<]+[\t ](<u>(-?[\d,]+|\([\d,]+\))</u> \[\d{4}\])( <u>(-?[\d,]+|\([\d,]+\))</u> \[\d{4}\])?$")
US_DATE = r"[1-9]\d?/[1-9]\d?/\d{4}"


# -- an independent reader of the rules and of the files --------------------------------------------------
def read_rules() -> dict[str, dict]:
    rules: dict[str, dict] = {}
    with (form_dir() / "rules.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rule = rules.setdefault(row["rule_id"], {"statement": row["statement"], "total": row["total_code"],
                                                     "op": row["op"], "parts": []})
            rule["parts"].append((row["component_code"], int(row["weight"])))
    return rules


RULES = read_rules()


def check_rules(values: dict[str, dict[str, int]]) -> tuple[set[str], list[str]]:
    """(rules that applied, descriptions of the ones that do not tie exactly)."""
    applied, broken = set(), []
    for rule_id, rule in RULES.items():
        codes = values.get(rule["statement"], {})
        if rule["total"] not in codes or any(c not in codes for c, _ in rule["parts"]):
            continue
        terms = [w * codes[c] for c, w in rule["parts"]]
        expected = max(terms) if rule["op"] == "max" else sum(terms)
        applied.add(rule_id)
        if codes[rule["total"]] != expected:
            broken.append(f"{rule_id}: {rule['total']}={codes[rule['total']]:,}, components give {expected:,}")
    return applied, broken


def amount(text: str) -> int:
    text = text.split()[-1].replace(",", "")  # "<u>0 0</u> [8715]": the number right before the code
    return -int(text[1:-1]) if text.startswith("(") else int(text)


def read_filing(path: Path) -> dict:
    """Header fields and statement -> {code: value} of one generated file."""
    text = path.read_bytes().decode("utf-8")
    statement_of = load_catalog().statement_of
    values: dict[str, dict[str, int]] = {}
    for raw, code in PAIR.findall(text):
        values.setdefault(statement_of[code], {})[code] = amount(raw)
    month, day, year = map(int, re.search(r"End Date:(\d+)/(\d+)/(\d{4})", text).groups())
    s_month, s_day, s_year = map(int, re.search(r"Submit Date:(\d+)/(\d+)/(\d{4})", text).groups())
    return {
        "status": re.search(r"\b(INITIAL|AMENDED)\b", text)[1],
        "end_date": date(year, month, day),
        "submit_date": date(s_year, s_month, s_day),
        "firm": html.unescape(re.search(r"Firm Name:([^\r\n<*]+)", text)[1]).strip(),
        "cover": "Daily Segregation - Cover Page" in text,
        "values": values,
    }


# -- corpora ------------------------------------------------------------------------------------------------
CORPUS_START, CORPUS_END = date(2014, 12, 1), date(2016, 7, 8)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Four firms from December 2014 to July 2016 (both eras, Christmas 2015, July 4th 2016)."""
    outdir = tmp_path_factory.mktemp("generated")
    calls = []
    summary = generate_filings(outdir, firms=4, start=CORPUS_START, end=CORPUS_END, seed=7, amend_rate=0.05,
                               progress=lambda done, total: calls.append((done, total)))
    files = sorted(outdir.rglob("*.txt"))
    return {"outdir": outdir, "summary": summary, "files": files, "read": {f: read_filing(f) for f in files},
            "progress": calls}


@pytest.fixture(scope="module")
def html_corpus(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("generated_html")
    generate_filings(outdir, firms=4, start=date(2014, 12, 22), end=date(2015, 1, 9), fmt="html", seed=7,
                     amend_rate=0.05)
    return outdir


def walk(firm: FirmProfile, days: list[date], seed: int = 1) -> list[dict[str, dict[str, int]]]:
    rng, state = random.Random(seed), {}
    return [build_values(firm, day, rng, state) for day in days]


# -- every identity ties -------------------------------------------------------------------------------
def test_every_generated_file_ties_every_rule_and_carries_exactly_the_catalog_codes(corpus):
    catalog = load_catalog()
    applied_everywhere: set[str] = set()
    for path, filing in corpus["read"].items():
        values = filing["values"]
        applied, broken = check_rules(values)
        assert not broken, f"{path.name} {filing['end_date']}: {broken}"
        applied_everywhere |= applied
        for statement in STATEMENTS:
            assert sorted(values.get(statement, {})) == sorted(catalog.required_codes(statement, filing["end_date"]))
    assert applied_everywhere == set(RULES), f"rules never exercised: {set(RULES) - applied_everywhere}"


def test_build_values_ties_for_a_whole_industry_across_the_era_change():
    days = business_days(date(2014, 12, 1), date(2015, 1, 30))
    for firm in make_firms(60, seed=3):
        for day, values in zip(days, walk(firm, days)):
            applied, broken = check_rules(values)
            assert not broken, f"{firm.name} {day}: {broken}"
            assert applied, f"{firm.name} {day}: no rule applied"


def test_amended_values_change_but_still_tie():
    firm = make_firms(10, seed=2)[1]
    rng, state = random.Random(5), {}
    for day in business_days(date(2014, 12, 15), date(2015, 1, 15)):
        values = build_values(firm, day, rng, state)
        amended = amend_values(values, day, rng)
        assert amended != values
        assert {s: sorted(c) for s, c in amended.items()} == {s: sorted(c) for s, c in values.items()}
        assert not check_rules(amended)[1]


# -- realistic figures ---------------------------------------------------------------------------------------
def test_values_follow_the_catalog_sign_column():
    catalog = load_catalog()
    days = business_days(date(2014, 12, 1), date(2015, 2, 27))
    for firm in make_firms(30, seed=4):
        for day, values in zip(days, walk(firm, days)):
            for statement, codes in values.items():
                for code, value in codes.items():
                    sign = catalog.item(code, day).sign
                    if sign == "positive":
                        assert value >= 0, (firm.name, day, code, value)
                    elif sign == "negative":
                        assert value <= 0, (firm.name, day, code, value)


def test_excess_is_a_few_percent_and_the_target_sits_below_it():
    pairs = {"segregation": ("7060", "7190", "7194"), "secured": ("7360", "7380", "7780"),
             "swaps": ("8590", "8730", "8760")}
    days = business_days(date(2014, 11, 3), date(2015, 3, 31))
    for firm in make_firms(40, seed=5):
        for day, values in zip(days, walk(firm, days)):
            for statement, (required, excess, target) in pairs.items():
                codes = values[statement]
                if codes[required] == 0:
                    continue
                share = codes[excess] / codes[required]
                assert 0.009 <= share <= 0.101, (firm.name, day, statement, share)
                if day >= ERA_CHANGE:
                    assert 0 < codes[target] < codes[excess], (firm.name, day, statement)


def test_balances_walk_from_one_day_to_the_next():
    days = business_days(date(2015, 3, 2), date(2015, 6, 30))
    moved = 0
    for firm in make_firms(20, seed=6):
        series = [v["segregation"]["7060"] for v in walk(firm, days)]
        for before, after in zip(series, series[1:]):
            assert 0.85 < after / before < 1.18, firm.name
            moved += before != after
        assert max(series) / min(series) < 2.5, firm.name
    assert moved > 0.95 * 20 * (len(days) - 1)


def test_net_unrealized_pnl_takes_both_signs_and_small_firms_leave_lines_at_zero():
    days = business_days(date(2015, 3, 2), date(2015, 5, 29))
    firms = make_firms(60, seed=8)
    pnl = [v["segregation"]["7030"] for firm in firms[:10] for v in walk(firm, days)]
    assert min(pnl) < 0 < max(pnl)
    small = [f for f in firms if f.seg_size < 50e6]
    assert small
    zeros = [sum(1 for v in walk(f, days[:1])[0]["segregation"].values() if v == 0) for f in small]
    large = [sum(1 for v in walk(f, days[:1])[0]["segregation"].values() if v == 0) for f in firms[:5]]
    assert sum(zeros) / len(zeros) > sum(large) / len(large)


def test_a_firm_without_swaps_business_files_an_all_zero_swaps_statement():
    firms = make_firms(60, seed=0)
    no_swaps = [f for f in firms if f.swaps_share == 0]
    with_swaps = [f for f in firms if f.swaps_share > 0]
    assert no_swaps and with_swaps
    day = date(2015, 6, 1)
    assert not any(walk(no_swaps[0], [day])[0]["swaps"].values())
    assert walk(with_swaps[0], [day])[0]["swaps"]["8590"] > 0


def test_the_industry_is_concentrated_and_spans_retail_to_the_largest_clearing_firms():
    for seed in range(5):
        firms = make_firms(60, seed)
        sizes = sorted((f.seg_size for f in firms), reverse=True)
        top5 = sum(sizes[:5]) / sum(sizes)
        assert 0.40 <= top5 <= 0.56, (seed, top5)
        assert 8e9 <= sizes[0] <= 2e10
        assert 2e6 <= sizes[-1] <= 1.2e7
        names = [f.name for f in firms]
        assert len(set(names)) == 60 and len({f.slug for f in firms}) == 60
        assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", f.slug) for f in firms)
        assert any("&" in n for n in names) and any(not n.isascii() for n in names)


# -- files on disk -----------------------------------------------------------------------------------------
def test_one_initial_filing_per_firm_per_business_day(corpus):
    outdir, summary = corpus["outdir"], corpus["summary"]
    days = business_days(CORPUS_START, CORPUS_END)
    folders = sorted(p.name for p in outdir.iterdir())
    assert folders == [d.isoformat() for d in days]
    assert all(is_business_day(date.fromisoformat(name)) for name in folders)
    for holiday in ("2015-12-25", "2016-07-04", "2015-01-01", "2016-01-18"):
        assert not (outdir / holiday).exists()
    assert not (outdir / "2015-12-26").exists()  # a Saturday
    initial = [p for p in corpus["files"] if not p.name.endswith(".amended.txt")]
    assert Counter(p.parent.name for p in initial) == {d.isoformat(): 4 for d in days}
    assert summary.files == len(corpus["files"]) and summary.days == len(days) and summary.firms == 4
    assert corpus["progress"][-1] == (len(initial), len(initial))
    for path in initial:
        filing = corpus["read"][path]
        assert filing["status"] == "INITIAL"
        assert filing["end_date"].isoformat() == path.parent.name
        assert filing["submit_date"] > filing["end_date"] and is_business_day(filing["submit_date"])
        assert all(not is_business_day(d) for d in business_days(filing["end_date"], filing["submit_date"])[1:-1])


def test_both_eras_with_their_own_codes(corpus):
    before = [f for f in corpus["read"].values() if f["end_date"] < ERA_CHANGE]
    after = [f for f in corpus["read"].values() if f["end_date"] >= ERA_CHANGE]
    assert before and after
    for filing in before:
        assert "7370" in filing["values"]["secured"] and "7305" not in filing["values"]["secured"]
        assert "7194" not in filing["values"]["segregation"] and not filing["cover"]
    for filing in after:
        assert "7305" in filing["values"]["secured"] and "7370" not in filing["values"]["secured"]
        assert "7194" in filing["values"]["segregation"] and "8760" in filing["values"]["swaps"]
        assert filing["cover"]
    for filing in before:
        assert filing["values"]["secured"]["7370"] == filing["values"]["secured"]["7770"]


def test_amended_filings_are_separate_later_files_that_still_tie(corpus):
    amended = [p for p in corpus["files"] if p.name.endswith(".amended.txt")]
    assert amended and corpus["summary"].amended == len(amended)
    for path in amended:
        fixed = corpus["read"][path]
        initial = corpus["read"][path.with_name(path.name.replace(".amended.txt", ".txt"))]
        assert fixed["status"] == "AMENDED" and "INITIAL" not in path.read_text(encoding="utf-8")
        assert fixed["end_date"] == initial["end_date"] and fixed["firm"] == initial["firm"]
        assert fixed["submit_date"] > initial["submit_date"]
        assert fixed["values"] != initial["values"]
        assert not check_rules(fixed["values"])[1]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    def run(name: str, seed: int) -> dict[str, bytes]:
        out = tmp_path / name
        generate_filings(out, firms=5, start=date(2014, 12, 29), end=date(2015, 1, 9), seed=seed, amend_rate=0.2)
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.*"))}

    first, again, other = run("a", 11), run("b", 11), run("c", 12)
    assert first == again
    assert first != other


def test_html_pages_hold_rows_cells_padding_and_entities(html_corpus, tmp_path):
    pages = sorted(html_corpus.rglob("*.html"))
    assert pages and not list(html_corpus.rglob("*.txt"))
    firm_names = {f.slug: f.name for f in make_firms(4, 7)}
    for page in pages:
        raw = page.read_bytes()
        assert raw.isascii()
        text = raw.decode("ascii")
        assert text.startswith("<html>") and "<body>" in text and "<table>" in text
        assert "<tr>" in text and "<td>" in text and "&nbsp;" in text
        assert re.search(r"<u>[^<]+</u>&nbsp;\[7010\]", text)
        slug = page.name.split(".")[0]
        name = firm_names[slug]
        assert re.search(r"&(?!(amp|lt|gt|quot|nbsp|#x?[0-9a-fA-F]+);)", text) is None  # no bare "&"
        assert html.unescape(re.search(r"Firm Name:([^<]+)<", text)[1]) == name
    assert any("&amp;" in p.read_text(encoding="ascii") for p in pages)
    # The same seed gives the same figures in both layouts.
    text_out = tmp_path / "text"
    generate_filings(text_out, firms=4, start=date(2014, 12, 22), end=date(2015, 1, 9), seed=7, amend_rate=0.05)
    for page in pages:
        twin = text_out / page.parent.name / page.name.replace(".html", ".txt")
        assert read_filing(page)["values"] == read_filing(twin)["values"]


def test_text_files_follow_the_sample_layout(corpus):
    run_together = 0
    for path in corpus["files"][:400]:
        text = path.read_bytes().decode("utf-8")
        lines = text.replace("\r\n", "\n").split("\n")
        assert lines[:2] == ["", ""] and lines[2].split("*")[0] in ("INITIAL", "AMENDED")
        if "**" not in lines[2]:  # a separate header block
            assert re.fullmatch(f"End Date:{US_DATE}", lines[4])
            assert lines[6].startswith("Firm Name:") and lines[8] == "Form:Daily Seg - FOCUS II"
            assert re.fullmatch(f"Submit Date:{US_DATE}", lines[10]) and lines[11] == ""
            assert lines[12].startswith("Daily Segregation - ")
        for line in lines:
            if "**" in line:
                run_together += 1
                assert re.match(
                    rf"(INITIAL|AMENDED)\*\*End Date:{US_DATE}\*\*\*\*Firm Name:[^*]+\*\*\*\*Form:Daily Seg - FOCUS II"
                    rf"\*\*\*\*Submit Date:{US_DATE}\*\*\*\*Daily Segregation - [A-Za-z ]+\*\*", line), line
            elif "[" in line:
                assert CODED_LINE.match(line), line
        assert re.search(r"\tLess: amount offset by customer securities\t<u>[^<]+</u> \[7047\] <u>[^<]+</u> \[7050\]",
                         text)
        titles = re.findall(r"Daily Segregation - (Segregation Statement|Secured Amounts|Swaps Statement|Cover Page)",
                            text)
        assert sorted(set(titles)) == sorted(titles)
    assert run_together > 0


def test_render_options_line_endings_and_parenthesised_negatives():
    firm = make_firms(5, seed=1)[0]
    day = date(2015, 3, 3)
    values = walk(firm, [day])[0]
    style = RenderStyle(line_ending="\r\n", paren_negatives=True, run_together_rate=1.0,
                        statement_order=("swaps", "segregation", "secured"))
    text = render_text(firm.name, day, date(2015, 3, 4), "INITIAL", values, random.Random(0), style=style)
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert re.search(r"<u>\([\d,]+\)</u> \[7033\]", text) and not re.search(r"<u>-", text)
    assert text.index("Swaps Statement") < text.index("Segregation Statement") < text.index("Secured Amounts")
    assert text.count("INITIAL**End Date:3/3/2015****") == 4  # cover page and three statements
    page = render_html(firm.name, day, date(2015, 3, 4), "INITIAL", values, random.Random(0), style=style)
    assert "\r\n<tr>" in page and "**" not in page
    assert re.search(r"<u>\([\d,]+\)</u>&nbsp;\[7033\]", page)
    assert page.count('<tr><td colspan="3">End Date:3/3/2015</td></tr>') == 4


def test_cover_page_names_the_contact_and_each_target():
    firm = make_firms(8, seed=3)[2]
    rng, state = random.Random(2), {}
    day = date(2016, 2, 1)
    values = build_values(firm, day, rng, state)
    text = render_text(firm.name, day, date(2016, 2, 2), "INITIAL", values, rng, style=RenderStyle(),
                       cover=cover_page(firm, state))
    cover = text.split("Daily Segregation - Cover Page", 1)[1].split("INITIAL", 1)[0]
    assert f"\tContact Name\t{firm.contact_name}" in cover and firm.contact_email in cover
    assert cover.count("Residual Interest Target") == 3 and "[" not in cover
    if firm.target_style == "amount":
        assert f"Minimum dollar amount: {values['segregation']['7194']:,}" in cover


def test_sample_statements_reprint_line_for_line():
    if not SAMPLE.exists():
        pytest.skip("the real sample filing is not in this checkout")
    sample = SAMPLE.read_text(encoding="utf-8")
    statement_of = load_catalog().statement_of
    values: dict[str, dict[str, int]] = {}
    for raw, code in PAIR.findall(sample):
        values.setdefault(statement_of[code], {})[code] = amount(raw)
    text = render_text("Citigroup Global Markets Inc.", date(2013, 12, 31), date(2014, 1, 2), "INITIAL", values,
                       random.Random(0), style=RenderStyle(run_together_rate=0.0))

    def block(filing: str, statement: str) -> list[str]:
        start = filing.index(f"Daily Segregation - {statement}")
        end = filing.find("\nINITIAL", start)
        return filing[start:end if end > 0 else len(filing)].split("\n")

    def coded_lines(filing: str) -> list[str]:  # line 12 aside: the sample splits it into uncoded A to C
        return [line for line in block(filing, "Swaps Statement") if "[" in line and "[8715]" not in line]

    first_header = "Daily Segregation - Secured Amounts"
    assert text.split(first_header)[0] == sample.split(first_header)[0]
    assert block(text, "Segregation Statement") == block(sample, "Segregation Statement")
    ours, theirs = block(text, "Secured Amounts"), block(sample, "Secured Amounts")
    assert len(ours) == len(theirs)
    assert [(a, b) for a, b in zip(ours, theirs) if a != b] == [
        ("\tFUNDS DEPOSITED IN SEPARATE REGULATION 30.7 ACCOUNTS\t",
         "FUNDS DEPOSITED IN SEPARATE REGULATION 30.7 ACCOUNTS\t\t")]
    assert coded_lines(text) == coded_lines(sample) and len(coded_lines(text)) == 23


# -- planting values for data-quality tests ----------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "html"])
def test_write_filing_writes_exactly_the_values_given(tmp_path, fmt):
    firm = make_firms(4, seed=9)[1]
    day = date(2015, 8, 4)
    values = walk(firm, [day])[0]
    values["segregation"]["7190"] += 1_000  # an excess that no longer ties
    path = write_filing(tmp_path / "planted", firm.name, day, date(2015, 8, 5), "AMENDED", values, fmt)
    filing = read_filing(path)
    assert filing["values"] == values and filing["status"] == "AMENDED" and filing["firm"] == firm.name
    _, broken = check_rules(filing["values"])
    assert [b.split(":")[0] for b in broken] == ["SEG-EXCESS", "SEG-OVER-TARGET"]


# -- the parser reads back exactly what was generated ----------------------------------------------------------
def test_parser_reads_back_every_generated_value(corpus, html_corpus, tmp_path):
    parser = pytest.importorskip("etl.ingest.parser")
    firms = make_firms(6, seed=13)
    days = business_days(date(2014, 12, 24), date(2015, 1, 8))
    styles = [None, RenderStyle(line_ending="\r\n", paren_negatives=True, run_together_rate=1.0,
                                statement_order=tuple(reversed(STATEMENTS)))]
    checked = 0
    for firm in firms:
        rng, state = random.Random(firm.slug), {}
        for day in days:
            values = build_values(firm, day, rng, state)
            for fmt in ("text", "html"):
                for n, style in enumerate(styles):
                    path = write_filing(tmp_path / f"{firm.slug}-{day}-{n}.{fmt}", firm.name, day,
                                        date(2015, 1, 12), "INITIAL", values, fmt, style=style or firm.style,
                                        cover=cover_page(firm, state))
                    parsed = parser.parse_filing(path.read_bytes(), str(path))
                    assert parsed.header.firm == firm.name and parsed.header.end_date == day
                    assert parsed.header.status == "INITIAL" and parsed.header.submit_date == date(2015, 1, 12)
                    got: dict[str, dict[str, int]] = {}
                    for item in parsed.values:
                        got.setdefault(item.statement, {})[item.code] = item.value
                    assert got == values, (firm.name, day, fmt, n)
                    assert not parsed.unknown_codes
                    checked += 1
    assert checked == len(firms) * len(days) * 4
    for path in [*corpus["files"][:300], *sorted(html_corpus.rglob("*.html"))]:
        parsed = parser.parse_filing(path.read_bytes(), str(path))
        expected = read_filing(path)
        assert (parsed.header.firm, parsed.header.end_date, parsed.header.status) == (
            expected["firm"], expected["end_date"], expected["status"])
        got = {}
        for item in parsed.values:
            got.setdefault(item.statement, {})[item.code] = item.value
        assert got == expected["values"]


# -- speed -------------------------------------------------------------------------------------------------
def test_speed_of_fifty_firms_over_forty_business_days(tmp_path, capsys):
    start = date(2015, 3, 2)
    end = business_days(start, date(2015, 6, 30))[39]
    began = time.perf_counter()
    summary = generate_filings(tmp_path, firms=50, start=start, end=end, seed=1)
    elapsed = time.perf_counter() - began
    assert summary.days == 40 and summary.files == 2000 + summary.amended
    with capsys.disabled():
        print(f"\n[generate] {summary.files:,} filings (50 firms x 40 business days) in {elapsed:.2f} s "
              f"({summary.files / elapsed:,.0f} filings/s)")
    assert math.isfinite(elapsed)

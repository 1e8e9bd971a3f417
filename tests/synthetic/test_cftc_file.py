"""The generator's CFTC monthly file: one per month-end in range, each firm's row as its month-end filing
(the amended version) states it, except the figures planted on purpose; more firms than were filed,
and a retail forex dealer."""

from __future__ import annotations

from datetime import date

from etl.cftc.layout import load_columns
from etl.cftc.reader import read_cftc_file
from etl.form.catalog import statement_figures
from etl.ingest.parser import parse_filing
from etl.synthetic.cftc_file import published_name
from etl.synthetic.files import generate_filings
from etl.synthetic.firms import make_firms
from tests.cli.test_cli import run


def month_end_filings(landing, day: date) -> dict[str, dict]:
    """Each firm's headline figures on ``day``, from its latest version."""
    out, status = {}, {}
    for path in sorted((landing / day.isoformat()).iterdir()):
        parsed = parse_filing(path.read_bytes(), str(path))
        name = published_name(parsed.header.firm)
        if status.get(name) != "AMENDED":
            out[name], status[name] = statement_figures(parsed.values), parsed.header.status
    return out


def test_the_monthly_file_states_what_the_month_end_filings_state(tmp_path):
    summary = generate_filings(tmp_path / "landing", firms=6, start=date(2016, 1, 20), end=date(2016, 3, 3),
                               seed=4, amend_rate=0.3, cftc_dir=tmp_path / "cftc", cftc_differences=3,
                               cftc_unfiled=2)
    assert [p.name for p in summary.cftc_files] == ["fcm-financial-data-2016-01.xlsx",
                                                    "fcm-financial-data-2016-02.xlsx"]
    planted = {(p.firm, p.as_of, p.field): p for p in summary.cftc_planted}
    assert len(planted) == 3
    measured = [c for c in load_columns() if c.measure]
    for path, as_of, day in zip(summary.cftc_files, (date(2016, 1, 31), date(2016, 2, 29)),
                                (date(2016, 1, 29), date(2016, 2, 29))):
        parsed = read_cftc_file(path.read_bytes(), path.name)
        assert parsed.as_of_date == as_of
        filings = month_end_filings(tmp_path / "landing", day)
        rows = {r["firm"]: r for r in parsed.rows}
        assert set(filings) < set(rows)
        assert len(rows) == len(filings) + 2 + 1  # the firms nobody files for, and a retail forex dealer
        assert [r["registered_as"] for r in rows.values()].count("RFED") == 1
        for firm, figures in filings.items():
            for col in measured:
                filed = figures.get(col.statement, {}).get(col.measure)
                stated = rows[firm][col.field]
                if (firm, as_of, col.field) in planted:
                    p = planted[(firm, as_of, col.field)]
                    assert (filed, stated) == (p.daily_value, p.cftc_value) and filed != stated
                else:
                    assert stated == filed, (firm, col.field)
    assert {published_name(f.name) for f in make_firms(6, 4)} == set(month_end_filings(tmp_path / "landing",
                                                                                      date(2016, 2, 29)))


def test_generate_writes_the_monthly_file_on_request(tmp_path):
    result = run("generate", str(tmp_path / "out"), "--firms", "3", "--start", "2016-02-25", "--end", "2016-03-02",
                 "--cftc", str(tmp_path / "cftc"), "--cftc-differences", "1", "--quiet", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "Wrote 1 CFTC monthly files" in result.stdout and "(month-ends 2016-02)" in result.stdout
    assert "1 figures differ from the filings on purpose" in result.stdout
    assert [p.name for p in (tmp_path / "cftc").iterdir()] == ["fcm-financial-data-2016-02.xlsx"]
    assert not list((tmp_path / "out").rglob("*.xlsx"))  # not among the filings the ingest reads
    refused = run("generate", str(tmp_path / "out"), "--start", "2016-02-25", "--end", "2016-03-02",
                  "--cftc-differences", "1", home=tmp_path / "home")
    assert refused.returncode == 2 and refused.stderr.strip() == \
        "dailyseg generate: --cftc-differences and --cftc-unfiled need --cftc DIR"


def test_the_same_arguments_write_the_same_bytes(tmp_path):
    files = []
    for run_dir in ("one", "two"):
        summary = generate_filings(tmp_path / run_dir / "landing", firms=2, start=date(2016, 2, 26),
                                   end=date(2016, 2, 29), seed=8, cftc_dir=tmp_path / run_dir / "cftc",
                                   cftc_differences=1)
        files.append(summary.cftc_files[0].read_bytes())
    assert files[0] == files[1]  # so a demo run again loads nothing new

"""``dailyseg validate`` on a corpus with planted problems, on DuckDB and on PostgreSQL.

It must report exactly the planted problems (no false ones), with messages that name the firm, date,
rule and signed components, and both backends must produce identical results.
"""

from __future__ import annotations

import socket
from datetime import date

import pytest

from etl.dq.validate import validate
from etl.ingest.job import ingest
from etl.settings import load_settings
from etl.warehouse import open_warehouse
from tests.conftest import loaded_on_both_backends
from tests.dq import planted


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return planted.build(tmp_path_factory.mktemp("planted") / "landing")


def _run(corpus, home, warehouse_url: str):
    settings = load_settings(environ={}, home=home, warehouse_url=warehouse_url)
    ingest([corpus.landing], settings)
    summary = validate(settings)
    wh = open_warehouse(settings.warehouse_url)
    results = wh.read_df("SELECT * FROM dq_results WHERE run_id = :r", {"r": summary.run_id})
    runs = wh.read_df("SELECT * FROM dq_runs WHERE run_id = :r", {"r": summary.run_id})
    wh.dispose()
    return settings, summary, results, runs


on_duckdb, on_postgres = loaded_on_both_backends("corpus", _run, "on_duckdb", "on_postgres")[:2]


def found(summary) -> set[tuple]:
    return {(f.firm, f.end_date, f.rule_id, f.statement) for f in summary.findings}


@pytest.mark.parametrize("backend", ["on_duckdb", "on_postgres"])
def test_reports_exactly_the_planted_problems(backend, corpus, request):
    settings, summary, results, runs = request.getfixturevalue(backend)
    expected = corpus.expected_findings()
    assert found(summary) - expected == set(), "findings nobody planted"
    assert expected - found(summary) == set(), "planted problems not found"
    assert len(summary.findings) == len(expected)  # one finding per planted problem, no duplicates
    assert len(results) == len(summary.findings)


@pytest.mark.parametrize("backend", ["on_duckdb", "on_postgres"])
def test_every_identity_catches_a_planted_break(backend, corpus, request):
    from etl.form.rules import load_rules
    _, summary, _, _ = request.getfixturevalue(backend)
    arithmetic = {f.rule_id for f in summary.findings if f.kind == "arithmetic"}
    assert arithmetic == {r.rule_id for r in load_rules()}


def test_duckdb_and_postgres_give_identical_results(on_duckdb, on_postgres):
    columns = ["kind", "rule_id", "severity", "firm", "end_date", "statement", "code", "reported", "expected",
               "difference", "filing_id", "message"]

    def rows(results):
        frame = results[columns].astype(object).where(results[columns].notna(), None)
        frame["end_date"] = frame["end_date"].map(lambda d: str(d)[:10])
        return sorted(map(tuple, frame.itertuples(index=False)), key=repr)

    assert rows(on_duckdb[2]) == rows(on_postgres[2])
    duck_run, pg_run = on_duckdb[3].iloc[0], on_postgres[3].iloc[0]
    for column in ("filings_checked", "statements_checked", "expectations", "failures", "critical", "errors",
                   "warnings", "success"):
        assert duck_run[column] == pg_run[column], column


def _finding(summary, what_rule: str, firm: str | None = None):
    matches = [f for f in summary.findings if f.rule_id == what_rule and (firm is None or f.firm == firm)]
    assert matches, what_rule
    return matches[0]


def test_messages_name_firm_date_rule_and_signed_components(on_duckdb):
    _, summary, _, _ = on_duckdb
    f = _finding(summary, "SEG-NET-EQUITY")
    assert f.firm in f.message and str(f.end_date) in f.message and "SEG-NET-EQUITY" in f.message
    assert "7040" in f.message and "7010 + 7020 + 7030 + 7032 + 7033 =" in f.message
    assert f.reported - f.expected == f.difference and abs(f.difference) == 3
    excess = _finding(summary, "SEG-EXCESS")
    assert "7180 - 7060 =" in excess.message


def test_deficiency_is_critical_and_explains_itself(on_duckdb):
    _, summary, _, _ = on_duckdb
    f = _finding(summary, "DEFICIENCY-SEG")
    assert f.severity == "critical" and f.kind == "deficiency"
    assert f.reported < 0 and f.code == "7190"
    assert "DEFICIENCY" in f.message and "7180 - 7060" in f.message
    assert summary.findings[0].severity == "critical"  # most severe first


def test_wrong_sign_is_a_warning_that_says_flipping_ties(on_duckdb):
    _, summary, _, _ = on_duckdb
    f = _finding(summary, "SIGN-7047")
    assert f.severity == "warning" and f.reported > 0
    assert "flipping its sign makes SEG-DEFICIT-NET tie" in f.message
    same_filing = [g for g in summary.findings if g.filing_id == f.filing_id and g.kind == "arithmetic"]
    assert same_filing == []  # the sign explains the break; it is not reported twice


def test_truncated_statement_reports_completeness_not_arithmetic(on_duckdb, corpus):
    _, summary, _, _ = on_duckdb
    plant = next(p for p in corpus.plants if p.what == "truncated")
    here = [f for f in summary.findings if f.firm == plant.firm and f.end_date == plant.end_date]
    assert [f.kind for f in here] == ["completeness"]
    assert "7110" in here[0].message and "7190" in here[0].message
    assert here[0].severity == "error"


def test_amendment_that_fixes_a_break_clears_it(on_duckdb, corpus):
    _, summary, _, _ = on_duckdb
    fixed = next(p for p in corpus.plants if p.what == "amended fix")
    assert not [f for f in summary.findings if f.firm == fixed.firm and f.end_date == fixed.end_date]
    unfixed = next(p for p in corpus.plants if p.what == "unfixed break")
    assert {f.rule_id for f in summary.findings if f.firm == unfixed.firm and f.end_date == unfixed.end_date} == {
        "SEG-NET-EQUITY", "SEG-REQUIRED"}


def test_runs_are_recorded_with_counts_results_and_data_docs(on_duckdb):
    settings, summary, results, runs = on_duckdb
    run = runs.iloc[0]
    assert run.status == "completed" and not run.success
    assert run.critical == 1 and run.failures == len(summary.findings)
    assert run.date_from == planted.SUMMARY_ERA[0] or str(run.date_from)[:10] == str(planted.SUMMARY_ERA[0])
    from pathlib import Path
    assert Path(run.results_path).is_file() and Path(run.data_docs_path).is_file()
    assert "<html" in Path(run.data_docs_path).read_text().lower()


@pytest.mark.browser
def test_data_docs_open_offline_in_a_browser(on_duckdb, tmp_path):
    """Every page of the Data Docs site reads its styles and scripts from the site itself, and the
    index lists the run's validations once its scripts have run, in a browser with no network."""
    from pathlib import Path

    from etl.dq.data_docs import external_fetches
    from tests.browser import render, rendered_dom

    settings, summary, _, _ = on_duckdb
    site = settings.data_docs
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 4  # the index, a page per suite, a page per validation
    assert {page.name: external_fetches(page) for page in pages if external_fetches(page)} == {}
    index = Path(summary.data_docs_path)
    assert render(index, tmp_path / "index.png") == []  # no console errors: jQuery and the tables loaded
    dom = rendered_dom(index, tmp_path)
    assert summary.run_id in dom and "dailyseg_statements" in dom
    failed = next(p for p in pages if "dailyseg_statements" in p.parts and "validations" in p.parts)
    assert render(failed, tmp_path / "statements.png") == []
    assert "Unsuccessful Expectations" in rendered_dom(failed, tmp_path)


def test_validation_of_a_date_range_checks_only_that_range(on_duckdb, corpus):
    settings, _, _, _ = on_duckdb
    day = planted.FULL_ERA[0]
    summary = validate(settings, day, day)
    assert found(summary) == {f for f in corpus.expected_findings() if f[1] == day}
    assert "DEFICIENCY-SEG" in {f.rule_id for f in summary.findings}
    assert summary.date_from == summary.date_to == day
    wh = open_warehouse(settings.warehouse_url)
    current = wh.read_df("SELECT run_id, end_date FROM dq_current")
    wh.dispose()
    # for that day the newer run's findings stand; every other day keeps the full run's
    on_day = current[current.end_date.astype(str).str[:10] == str(day)]
    assert set(on_day.run_id) == {summary.run_id} and len(on_day) == len(summary.findings)
    assert len(current) == len(on_duckdb[1].findings)


def test_validation_makes_no_network_call(on_duckdb, monkeypatch):
    settings, _, _, _ = on_duckdb
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"validation tried to connect to {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    summary = validate(settings, planted.FULL_ERA[0], planted.FULL_ERA[2])
    assert summary.expectations > 0


def test_empty_warehouse_validates_to_nothing(settings):
    summary = validate(settings)
    assert summary.findings == [] and summary.success and summary.date_from is None


def _plain(value):
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return str(value)[:10]
    return int(value)


def _frame_rows(frame) -> list[tuple]:
    frame = frame.astype(object).where(frame.notna(), None)
    return sorted((tuple(_plain(v) for v in row) for row in frame.itertuples(index=False)), key=repr)


@pytest.mark.parametrize("backend", ["on_duckdb", "on_postgres"])
def test_the_range_query_gives_the_views_rows(backend, request):
    """Validation computes the frame pivot-first (fast for years of filings); the view is join-first
    (fast for a few). Both are generated from the rule files and must agree row for row."""
    from etl.dq import frames
    from etl.dq.compile import FRAME_VIEW, frame_range_sql

    settings, _, _, _ = request.getfixturevalue(backend)
    wh = open_warehouse(settings.warehouse_url)
    try:
        span = frames.date_range(wh, None, None)
        for start, end in (span, (planted.FULL_ERA[0], planted.FULL_ERA[1])):
            params = {"start": start, "end": end}
            view = wh.read_df(f"SELECT * FROM {FRAME_VIEW} WHERE end_date BETWEEN :start AND :end", params)
            fast = wh.read_df(frame_range_sql(), params)
            assert len(view) > 0 and list(fast.columns) == list(view.columns)
            assert _frame_rows(fast) == _frame_rows(view)
            if wh.dialect == "postgresql":  # the two-step materialized table GX validates in the database
                columns = list(view.columns)
                assert frames.materialize_statement_frame(wh, start, end, columns) == len(view)
                table = wh.read_df(f"SELECT * FROM {frames.PG_FRAME_TABLE}")
                frames.drop_materialized_frame(wh)
                assert _frame_rows(table) == _frame_rows(view)
    finally:
        wh.dispose()


def test_the_stored_suites_follow_the_rule_files(on_duckdb):
    """A GX project left by an older rule file gets the current suites, not a mix of both."""
    from etl.dq.compile import SUITE_STATEMENTS, suite_specs
    from etl.dq.gx_runner import GXRunner

    settings = on_duckdb[0]
    specs = suite_specs()
    GXRunner(settings.home, settings.data_docs)._suite(SUITE_STATEMENTS, specs[SUITE_STATEMENTS][:3])
    day = planted.FULL_ERA[0]
    summary = validate(settings, day, day)
    assert summary.expectations == sum(len(s) for s in specs.values())
    import json
    stored = json.loads((settings.home / "gx" / "expectations" / f"{SUITE_STATEMENTS}.json").read_text())
    assert sorted(e["meta"]["check_id"] for e in stored["expectations"]) == sorted(
        s["meta"]["check_id"] for s in specs[SUITE_STATEMENTS])


@pytest.mark.parametrize("backend", ["on_duckdb", "on_postgres"])
def test_a_long_range_checked_in_chunks_finds_what_one_pass_finds(backend, request):
    """With DAILYSEG_VALIDATE_CHUNK smaller than the history, the statements are checked in End Date
    ranges (the GX results file shows them); findings and counts are those of the one-pass run."""
    import json
    from pathlib import Path

    settings, whole, _, whole_run = request.getfixturevalue(backend)
    chunked = validate(settings.with_overrides(validate_chunk=3 * planted.FIRMS))
    results = json.loads(Path(chunked.results_path).read_text())
    # on PostgreSQL the statements are checked in the database in one pass; the rest range by range
    suites = ["dailyseg_anomalies", "dailyseg_freshness"] + (["dailyseg_statements"] if backend == "on_duckdb" else [])
    for suite in suites:
        ranges = results[suite]["ranges"]
        assert len(ranges) >= 6, suite
        assert [r["from"] for r in ranges] == sorted(r["from"] for r in ranges)
    assert found(chunked) == found(whole)
    assert sorted(f.message for f in chunked.findings) == sorted(f.message for f in whole.findings)
    for name in ("filings_checked", "statements_checked", "expectations"):
        assert getattr(chunked, name) == whole_run.iloc[0][name], name


def test_date_chunks_cover_the_range_in_ranges_of_at_most_the_size(on_duckdb):
    from etl.dq.frames import date_chunks

    settings = on_duckdb[0]
    wh = open_warehouse(settings.warehouse_url)
    try:
        counts = dict(wh.read_df("SELECT end_date, count(*) AS n FROM filings GROUP BY end_date").itertuples(index=False))
        counts = {str(day)[:10]: n for day, n in counts.items()}
        start, end = date(2014, 1, 1), date(2016, 12, 31)
        chunks = date_chunks(wh, start, end, 2 * planted.FIRMS + 1)
        assert chunks[0][0] == start and chunks[-1][1] == end
        assert all(lo <= hi for lo, hi in chunks)
        assert all(a[1] < b[0] for a, b in zip(chunks, chunks[1:]))  # in order, no day checked twice
        covered = [sum(n for day, n in counts.items() if str(lo) <= day <= str(hi)) for lo, hi in chunks]
        assert sum(covered) == sum(counts.values())  # no filing left out
        assert max(covered) <= 2 * planted.FIRMS + 1
        assert date_chunks(wh, start, end, sum(counts.values())) == [(start, end)]
        # a day holding more filings than the size is a range of its own, not left out
        assert sum(n for day, n in counts.items()) == sum(
            sum(n for day, n in counts.items() if str(lo) <= day <= str(hi)) for lo, hi in date_chunks(wh, start, end, 1))
    finally:
        wh.dispose()


def test_a_gx_project_left_torn_by_a_killed_run_does_not_stop_the_next(on_duckdb):
    """GX writes its files in place: a run killed mid-write leaves an empty project file or half a
    stored result. The next validation still runs and finds what a clean one finds, and its Data Docs
    are built (GX skips the torn result)."""
    settings, whole, _, _ = on_duckdb
    project = settings.home / "gx"
    (project / "great_expectations.yml").write_text("")  # truncated, never written
    results = sorted((project / "uncommitted" / "validations").rglob("*.json"))
    assert results, "the first run stored no GX results"
    torn = results[0]
    torn.write_bytes(torn.read_bytes()[:200])
    summary = validate(settings)
    assert found(summary) == found(whole)
    assert summary.run_id in settings.data_docs.joinpath("index.html").read_text()

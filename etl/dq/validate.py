"""``dailyseg validate``: every check on the loaded filings in a date range, results into the warehouse.

Runs the four suites with GX (statement checks, day-over-day anomalies, freshness, month-end figures
against the CFTC's monthly file), turns the failures
into ``dq_results`` rows, records a ``dq_runs`` row with the counts, keeps the full GX results as JSON
under ``$DAILYSEG_HOME/validations`` and builds the Data Docs under ``$DAILYSEG_HOME/data_docs``.
Checks run on the latest version of each (firm, End Date, statement).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from etl import UserError
from etl.clock import new_run_id, utc_now
from etl.dq import frames
from etl.dq.data_docs import make_offline
from etl.dq.compile import SUITE_ANOMALIES, SUITE_FRESHNESS, SUITE_RECONCILIATION, SUITE_STATEMENTS, suite_specs
from etl.dq.findings import RESULT_COLUMNS, Finding, FindingBuilder, rows_by_key, sort_findings
from etl.dq.gx_runner import SuiteOutcome, merge_outcomes
from etl.processes import mark
from etl.settings import Settings
from etl.locks import LockBusy
from etl.warehouse import Warehouse, WarehouseError, database_errors, exclusive_job, first_line, open_warehouse


#: What identifies a row of the statement frame.
_STATEMENT_KEYS = ("filing_id", "statement")


class ValidationError(UserError, RuntimeError):
    """Validation could not run (no warehouse, GX failure); one line for the user."""


@dataclass
class ValidationSummary:
    run_id: str
    date_from: date | None
    date_to: date | None
    backend: str
    filings_checked: int = 0
    statements_checked: int = 0
    expectations: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0  # the checks themselves, after Great Expectations has loaded
    setup_seconds: float = 0.0  # loading Great Expectations and its project
    results_path: str | None = None
    data_docs_path: str | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step, for benchmarks and logs

    @contextmanager
    def phase(self, name: str):
        mark(f"validate:{name}")
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started

    @property
    def by_severity(self) -> Counter:
        return Counter(f.severity for f in self.findings)

    @property
    def by_kind(self) -> Counter:
        return Counter((f.kind, f.severity) for f in self.findings)

    @property
    def success(self) -> bool:
        """Nothing of severity error or critical failed."""
        return not any(f.severity in ("error", "critical") for f in self.findings)



def _results_table(run_id: str, checked_at: datetime, findings: list[Finding]) -> pa.Table:
    columns = {"run_id": [run_id] * len(findings), "checked_at": [checked_at] * len(findings)}
    for name in RESULT_COLUMNS:
        columns[name] = [getattr(f, name) for f in findings]
    schema = pa.schema([("run_id", pa.string()), ("checked_at", pa.timestamp("us")), ("kind", pa.string()),
                        ("rule_id", pa.string()), ("severity", pa.string()), ("firm", pa.string()),
                        ("end_date", pa.date32()), ("statement", pa.string()), ("code", pa.string()),
                        ("reported", pa.int64()), ("expected", pa.int64()), ("difference", pa.int64()),
                        ("filing_id", pa.string()), ("message", pa.string())])
    return pa.table(columns, schema=schema)


class Validator:
    def __init__(self, settings: Settings, warehouse: Warehouse):
        self.settings = settings
        self.warehouse = warehouse
        self.run_id = new_run_id("dq-")

    def run(self, date_from: date | None = None, date_to: date | None = None) -> ValidationSummary:
        from etl.dq.gx_runner import GXRunner

        loading, wall_start = time.perf_counter(), time.time()
        runner = GXRunner(self.settings.home, self.settings.data_docs)  # imports GX: seconds, once per process
        started = time.perf_counter()
        started_at = utc_now()
        span = frames.date_range(self.warehouse, date_from, date_to)
        summary = ValidationSummary(self.run_id, *(span or (date_from, date_to)), backend=self.warehouse.dialect)
        summary.setup_seconds = started - loading
        self._record_start(started_at, summary)
        if span is None:  # nothing loaded: nothing to check
            summary.seconds = time.perf_counter() - started
            self._record_finish(summary, started_at)
            return summary
        start, end = span
        specs = suite_specs()
        builder = FindingBuilder()
        self.warehouse.limit_memory()  # DuckDB: cap its block cache, as a load does
        # The suites validated in this process run over End Date ranges of at most settings.validate_chunk
        # filings, one range after the other, so that memory does not grow with the years checked (a
        # night is one range). On PostgreSQL the statements are checked in the database, in one pass.
        chunks = frames.date_chunks(self.warehouse, start, end, self.settings.validate_chunk)
        in_database = self.warehouse.dialect == "postgresql"
        parts: dict[str, list] = {}
        if in_database:
            parts[SUITE_STATEMENTS] = [self._check_statements(runner, specs[SUITE_STATEMENTS], start, end, summary,
                                                              builder)]
        with _FramesAhead(self.warehouse, chunks, specs[SUITE_STATEMENTS], enabled=not in_database) as ahead:
            for n, (lo, hi) in enumerate(chunks):
                for outcome in self._check_range(runner, specs, lo, hi, summary, builder, statements=not in_database,
                                                 frame=ahead.frame(n)):
                    parts.setdefault(outcome.suite, []).append(outcome)
        outcomes = [merge_outcomes(suite_parts, chunks) for suite_parts in parts.values()]
        self.warehouse.lift_memory_limit()  # the results are written without a cap

        summary.findings = sort_findings(summary.findings)
        summary.expectations = sum(o.evaluated for o in outcomes)
        with summary.phase("results and Data Docs"):
            summary.results_path = str(self._write_results_json(outcomes))
            runner.build_data_docs()
            make_offline(self.settings.data_docs.resolve(), since=wall_start - 1.0)
        summary.data_docs_path = str(runner.docs_index())
        summary.seconds = time.perf_counter() - started
        self._record_finish(summary, started_at)
        mark("validate:finished")
        return summary

    def _check_range(self, runner, specs: dict, start: date, end: date, summary: ValidationSummary,
                     builder: FindingBuilder, statements: bool = True, frame=None) -> list[SuiteOutcome]:
        """The suites over one range of End Dates (the statements' too unless told otherwise, from the
        statement ``frame`` when it is being read already); their findings are added to the summary."""
        outcomes = [self._check_statements(runner, specs[SUITE_STATEMENTS], start, end, summary, builder, frame)
                    ] if statements else []
        # 2. day-over-day anomalies and 3. freshness (small frames, validated in memory on every backend)
        with summary.phase("anomaly frame"):
            anomalies = frames.anomaly_frame(self.warehouse, start, end)
        with summary.phase("anomaly checks (GX)"):
            outcomes.append(runner.validate_frame(SUITE_ANOMALIES, specs[SUITE_ANOMALIES], anomalies,
                                                  ["firm", "end_date", "statement"], self.run_id))
        if outcomes[-1].failed:
            summary.findings += builder.anomaly_findings(
                outcomes[-1].failed, rows_by_key(anomalies, ["firm", "end_date", "statement"]))
        del anomalies
        with summary.phase("freshness frame"):
            freshness = frames.freshness_frame(self.warehouse, start, end)
        with summary.phase("freshness checks (GX)"):
            outcomes.append(runner.validate_frame(SUITE_FRESHNESS, specs[SUITE_FRESHNESS], freshness,
                                                  ["firm", "end_date"], self.run_id))
        if outcomes[-1].failed:
            summary.findings += builder.freshness_findings(outcomes[-1].failed,
                                                           rows_by_key(freshness, ["firm", "end_date"]))
        del freshness
        # 4. month-end figures against the CFTC's monthly file
        with summary.phase("reconciliation frame"):
            reconciliation = frames.reconciliation_frame(self.warehouse, start, end)
        with summary.phase("reconciliation checks (GX)"):
            outcomes.append(runner.validate_frame(SUITE_RECONCILIATION, specs[SUITE_RECONCILIATION], reconciliation,
                                                  frames.RECONCILIATION_KEYS, self.run_id))
        if outcomes[-1].failed:
            summary.findings += builder.reconciliation_findings(
                outcomes[-1].failed, rows_by_key(reconciliation, frames.RECONCILIATION_KEYS))
        return outcomes

    def _check_statements(self, runner, specs: list[dict], start: date, end: date, summary: ValidationSummary,
                          builder: FindingBuilder, frame=None) -> SuiteOutcome:
        """The statement suite over one range of End Dates; its findings are added to the summary. On
        PostgreSQL its frame is built and checked in the database; elsewhere ``frame`` is the future of
        it (``_FramesAhead``)."""
        statement_keys = list(_STATEMENT_KEYS)
        columns = frames.validated_columns(specs, statement_keys)
        if self.warehouse.dialect == "postgresql":
            with summary.phase("statement frame (SQL)"):
                statements = frames.materialize_statement_frame(self.warehouse, start, end, columns)
            try:
                with summary.phase("statement checks (GX, in the database)"):
                    outcome = runner.validate_table(SUITE_STATEMENTS, specs, self.warehouse.url,
                                                    frames.PG_FRAME_TABLE, statement_keys, self.run_id)
                filings = int(self.warehouse.scalar(f"SELECT count(DISTINCT filing_id) FROM {frames.PG_FRAME_TABLE}"))
            finally:
                frames.drop_materialized_frame(self.warehouse)
        else:
            with summary.phase("statement frame (SQL)"):
                frame = frame.result()
            statements, filings = len(frame), int(frame.filing_id.nunique()) if len(frame) else 0
            with summary.phase("statement checks (GX, pandas)"):
                outcome = runner.validate_frame(SUITE_STATEMENTS, specs, frame, statement_keys, self.run_id)
            del frame
        summary.statements_checked += statements
        summary.filings_checked += filings
        with summary.phase("explaining findings"):
            keys = sorted({(h["filing_id"], h["statement"]) for _, hits in outcome.failed for h in hits})
            rows = rows_by_key(frames.frame_rows(self.warehouse, keys), statement_keys)
            summary.findings += builder.statement_findings(outcome.failed, rows)
        return outcome

    # -- persistence ------------------------------------------------------------------------------------
    def _write_results_json(self, outcomes) -> Path:
        folder = (self.settings.home / "validations").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.run_id}.json"
        path.write_text(json.dumps({o.suite: o.results_json for o in outcomes}, indent=1, default=str))
        return path

    def _record_start(self, started_at: datetime, summary: ValidationSummary) -> None:
        self.warehouse.execute(
            "INSERT INTO dq_runs (run_id, started_at, status, date_from, date_to, backend) "
            "VALUES (:run_id, :started_at, 'running', :date_from, :date_to, :backend)",
            {"run_id": self.run_id, "started_at": started_at, "date_from": summary.date_from,
             "date_to": summary.date_to, "backend": summary.backend})

    def _record_finish(self, summary: ValidationSummary, started_at: datetime) -> None:
        severities = summary.by_severity
        results = _results_table(self.run_id, started_at, summary.findings)
        with self.warehouse.begin() as conn:
            self.warehouse.insert_arrow(conn, "dq_results", results)
            import sqlalchemy as sa
            conn.execute(sa.text(
                "UPDATE dq_runs SET finished_at = :finished_at, status = 'completed', "
                "filings_checked = :filings, statements_checked = :statements, expectations = :expectations, "
                "failures = :failures, critical = :critical, errors = :errors, warnings = :warnings, "
                "success = :success, seconds = :seconds, results_path = :results, data_docs_path = :docs "
                "WHERE run_id = :run_id"),
                {"finished_at": utc_now(), "filings": summary.filings_checked, "statements": summary.statements_checked,
                 "expectations": summary.expectations, "failures": len(summary.findings),
                 "critical": severities["critical"], "errors": severities["error"],
                 "warnings": severities["warning"], "success": summary.success,
                 "seconds": round(summary.seconds, 3), "results": summary.results_path,
                 "docs": summary.data_docs_path, "run_id": self.run_id})

    def mark_failed(self) -> None:
        try:
            self.warehouse.execute("UPDATE dq_runs SET status = 'failed', finished_at = :t WHERE run_id = :r",
                                   {"t": utc_now(), "r": self.run_id})
        except Exception:  # the warehouse itself may be what failed
            pass


def validate(settings: Settings, date_from: date | None = None, date_to: date | None = None,
             wait: float = 600.0, on_message=None) -> ValidationSummary:
    """Run every check on the loaded filings with End Dates in range (default: all)."""
    if date_from and date_to and date_to < date_from:
        raise ValidationError("--to is before --from")
    try:
        # one validation at a time: on PostgreSQL runs share the scratch tables and the GX project
        with exclusive_job(settings.warehouse_url, "validation", wait, on_message):
            return _validate(settings, date_from, date_to)
    except (LockBusy, WarehouseError) as exc:
        raise ValidationError(str(exc)) from None


def _validate(settings: Settings, date_from: date | None, date_to: date | None) -> ValidationSummary:
    try:
        warehouse = open_warehouse(settings.warehouse_url)
    except WarehouseError as exc:
        raise ValidationError(str(exc)) from None
    validator = Validator(settings, warehouse)
    try:
        return validator.run(date_from, date_to)
    except database_errors() as exc:
        validator.mark_failed()
        raise ValidationError(f"the warehouse failed during validation: {first_line(exc)}") from None
    except WarehouseError as exc:
        raise ValidationError(str(exc)) from None
    finally:
        warehouse.dispose()


def findings_frame(summary: ValidationSummary) -> pd.DataFrame:
    return pd.DataFrame([{name: getattr(f, name) for name in RESULT_COLUMNS} for f in summary.findings],
                        columns=list(RESULT_COLUMNS))


class _FramesAhead:
    """The statement frame of each range, the next one read while the current one is checked.

    Reading a range's frame is SQL (DuckDB pivots its values, on its own threads and without the GIL);
    checking it is GX in Python. On 250,000 filings each took about half of the run, one after the
    other; side by side, two frames are in memory at a time instead of one. ``frame(n)`` is the future
    of range ``n``'s frame, and asks for range ``n + 1``'s (None when not ``enabled``: PostgreSQL checks
    its frame in the database)."""

    def __init__(self, warehouse: Warehouse, chunks: list, specs: list[dict], enabled: bool = True):
        self.warehouse, self.chunks, self.enabled = warehouse, chunks, enabled
        self.columns = frames.validated_columns(specs, list(_STATEMENT_KEYS))
        self._futures: dict = {}
        self._pool = None

    def __enter__(self) -> "_FramesAhead":
        if self.enabled and self.chunks:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="statement-frame")
        return self

    def _ask(self, n: int) -> None:
        if n < len(self.chunks) and n not in self._futures:
            self._futures[n] = self._pool.submit(frames.statement_frame, self.warehouse, *self.chunks[n], self.columns)

    def frame(self, n: int):
        if self._pool is None:
            return None
        self._ask(n)
        self._ask(n + 1)
        return self._futures.pop(n)

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            for future in self._futures.values():
                future.cancel()
            self._pool.shutdown(wait=True)  # a frame being read finishes; nothing else starts

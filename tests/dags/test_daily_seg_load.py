"""The daily_seg_load DAG: integrity, parse cost, and real runs through ``dag.test()``.

Runs use a private AIRFLOW_HOME with a SQLite metadata database (created once per session with
``airflow db migrate``), the embedded DuckDB warehouse, generated filings in a landing folder, and
alerts delivered to an SMTP server and a webhook receiver on loopback through Airflow connections.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from etl.synthetic.files import generate_filings
from etl.synthetic.firms import make_firms
from etl.warehouse import open_warehouse
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.conftest import REPO
from tests.dq.planted import _read, _write

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAY = date(2016, 3, 14)
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="session")
def airflow_db():
    result = subprocess.run([AIRFLOW, "db", "migrate"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"


def test_dag_file_imports_cleanly_with_owner_tags_retries_and_docs(airflow_db):
    from airflow.dag_processing.dagbag import DagBag
    from etl.airflow.timetable import BusinessDayTimetable
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    dag = bag.get_dag("daily_seg_load")
    assert dag is not None
    assert {"dailyseg"} <= set(dag.tags) and "daily_seg_load" in dag.doc_md
    assert isinstance(dag.timetable, BusinessDayTimetable)
    assert dag.max_active_runs == 1
    assert sorted(t.task_id for t in dag.tasks) == ["alert", "ingest", "publish", "validate"]
    for t in dag.tasks:
        assert t.owner == "dailyseg" and t.retries == 3 and t.on_failure_callback
    assert dag.get_task("alert").trigger_rule == "all_done"
    assert {a.uri for a in dag.get_task("publish").outlets} == {"dailyseg://warehouse/seg_values",
                                                               "dailyseg://warehouse/filings"}
    assert dag.get_task("publish").upstream_task_ids == {"ingest"}  # publishes even when checks fail


def test_parsing_the_dag_file_is_cheap_and_runs_no_heavy_imports():
    code = ("import sys, time, runpy; t = time.perf_counter(); runpy.run_path(sys.argv[1]); "
            "print('seconds=%f' % (time.perf_counter() - t)); "
            "print('heavy=' + ','.join(m for m in ('pandas', 'duckdb', 'great_expectations', 'pyarrow', 'psycopg') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "daily_seg_load.py")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    seconds, heavy = lines["seconds"], lines["heavy"]
    print(f"daily_seg_load.py parses in {float(seconds):.2f} s")
    assert heavy == ""
    assert float(seconds) < 30  # Airflow's default dagbag_import_timeout


def landing_with(tmp_path: Path, planted_break: bool, fmt: str = "text") -> Path:
    landing = tmp_path / "landing"
    generate_filings(landing, firms=4, start=date(2016, 3, 10), end=DAY, seed=8, amend_rate=0, fmt=fmt)
    if planted_break:
        slug = make_firms(4, 8)[0].slug
        path = landing / DAY.isoformat() / f"{slug}.txt"
        header, values = _read(path)
        values["segregation"]["7010"] += 777
        _write(path, header, values)
    return landing


def dags_test(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([AIRFLOW, "dags", "test", "daily_seg_load", DAY.isoformat()], capture_output=True,
                          text=True, env=env, timeout=600)


def task_states(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        run_id = con.execute("SELECT run_id FROM dag_run WHERE dag_id = 'daily_seg_load' ORDER BY id DESC LIMIT 1"
                             ).fetchone()[0]
        return dict(con.execute("SELECT task_id, state FROM task_instance WHERE run_id = ?", (run_id,)).fetchall())


def dag_env(tmp_path: Path, landing: Path, smtp: SmtpReceiver, hook: WebhookReceiver) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    env.update({
        "DAILYSEG_HOME": str(tmp_path / "home"), "DAILYSEG_LANDING": str(landing),
        "DAILYSEG_ALERT_TO": "risk@example.com",
        "AIRFLOW_CONN_DAILYSEG_SMTP": json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port, "login": smtp.user,
            "password": smtp.password,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "dailyseg@example.com"}}),
        "AIRFLOW_CONN_DAILYSEG_SLACK": json.dumps({"conn_type": "slackwebhook", "password": hook.url()}),
    })
    return env


def warehouse_counts(home: Path) -> tuple:
    wh = open_warehouse(f"duckdb:///{home / 'warehouse.duckdb'}")
    try:
        return tuple(wh.scalar(f"SELECT count(*) FROM {t}") for t in ("filings", "seg_values", "rejected_filings"))
    finally:
        wh.dispose()


@pytest.fixture
def receivers():
    smtp = SmtpReceiver(user="airflow", password="smtp-secret-99").start()
    hook = WebhookReceiver()
    yield smtp, hook
    smtp.stop()
    hook.stop()


def test_a_clean_day_loads_validates_publishes_and_a_rerun_changes_nothing(airflow_db, tmp_path, receivers):
    """The day's filings arrive as the PDFs firms post: the DAG loads them through the same ingest."""
    smtp, hook = receivers
    env = dag_env(tmp_path, landing_with(tmp_path, planted_break=False, fmt="pdf"), smtp, hook)
    result = dags_test(env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert task_states(airflow_db) == {"ingest": "success", "publish": "success", "validate": "success",
                                       "alert": "success"}
    counts = warehouse_counts(tmp_path / "home")
    assert counts[0] == 12 and counts[2] == 0  # 4 firms x 3 business days, nothing rejected
    wh = open_warehouse(f"duckdb:///{tmp_path / 'home' / 'warehouse.duckdb'}")
    run = wh.read_df("SELECT date_from, date_to, success, filings_checked FROM dq_runs").iloc[0]
    formats = wh.read_df("SELECT DISTINCT source_format FROM filings")
    wh.dispose()
    assert list(formats.source_format) == ["pdf"]
    assert str(run.date_from)[:10] == str(run.date_to)[:10] == "2016-03-14" and run.success and run.filings_checked == 4
    assert smtp.messages == [] and hook.posts == []  # nothing to report, nothing sent

    again = dags_test(env)
    assert again.returncode == 0
    assert warehouse_counts(tmp_path / "home") == counts


def test_a_planted_error_fails_validation_but_publishes_and_alerts(airflow_db, tmp_path, receivers):
    smtp, hook = receivers
    env = dag_env(tmp_path, landing_with(tmp_path, planted_break=True), smtp, hook)
    result = dags_test(env)
    assert task_states(airflow_db) == {"ingest": "success", "publish": "success", "validate": "failed",
                                       "alert": "success"}
    assert result.returncode != 0 or "failed" in (result.stdout + result.stderr).lower()
    assert warehouse_counts(tmp_path / "home")[0] == 12  # the good filings (and the bad one) are loaded
    firm = make_firms(4, 8)[0].name
    assert len(smtp.messages) == 1 and len(hook.posts) == 1  # through the providers' hooks and connections
    page = smtp.messages[0]["message"].get_body(("html",)).get_content()
    assert "SEG-NET-EQUITY" in page and firm.split()[0] in page and "2016-03-14" in page
    assert "SEG-NET-EQUITY" in json.dumps(hook.posts[0]["json"])
    assert smtp.messages[0]["from"] == "dailyseg@example.com"

    dags_test(env)  # a rerun of the same day alerts nothing new
    assert len(smtp.messages) == 1 and len(hook.posts) == 1


def test_failure_callback_reaches_the_alert_channels(tmp_path, receivers, monkeypatch):
    from etl.airflow import tasks
    smtp, hook = receivers
    monkeypatch.setenv("DAILYSEG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAILYSEG_SMTP_URL", smtp.url())
    monkeypatch.setenv("DAILYSEG_ALERT_TO", "ops@example.com")
    monkeypatch.setenv("DAILYSEG_SLACK_WEBHOOK_URL", hook.url())

    class TaskInstance:
        dag_id, task_id, run_id, log_url = "daily_seg_load", "ingest", "scheduled__2016-03-14", "http://af/log"

    import pendulum
    tasks.on_failure({"ti": TaskInstance(), "exception": RuntimeError("warehouse unreachable"),
                      "logical_date": pendulum.datetime(2016, 3, 14, tz="UTC")})
    assert len(smtp.messages) == 1 and len(hook.posts) == 1
    text = smtp.messages[0]["message"].get_body(("plain",)).get_content()
    assert "daily_seg_load.ingest failed: RuntimeError: warehouse unreachable" in text
    assert "http://af/log" in text and "2016-03-14" in text

"""The production topology, natively: a real Airflow api-server, scheduler and dag-processor (and a
Celery worker on the Redis at 127.0.0.1:6379) against a PostgreSQL metadata database, running
daily_seg_load for a business day from a trigger to success, its tasks queued in the writer pool, and
its deadline (set a few seconds after the run is queued) missed: the triggerer runs the deadline
callback, which sends an alert to an SMTP server on loopback and records it."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import psycopg
import pytest

from etl.synthetic.files import generate_filings
from etl.warehouse import exclusive_writer, open_warehouse
from tests.alerts.receivers import SmtpReceiver
from tests.conftest import REPO, new_pg_database

BIN = Path(sys.executable).parent
# one real scheduler at a time: with the suite's tests spread over processes, both run in the same one
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("scheduler")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(stack: ExitStack, argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = stack.enter_context(open(log, "w"))
    process = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)

    def stop():
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    stack.callback(stop)
    return process


def _wait(condition, timeout: float, what: str, logs: list[Path]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(2)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def recorded_deadline_alerts(url: str) -> int:
    with exclusive_writer(url, wait=60):  # the callback may still be writing
        wh = open_warehouse(url)
        try:
            return wh.scalar("SELECT count(*) FROM alerts WHERE kind = 'deadline' AND status = 'sent' "
                             "AND run_id = 'test_run'")
        finally:
            wh.dispose()


@pytest.mark.parametrize("executor", ["LocalExecutor", "CeleryExecutor"])
def test_scheduler_runs_daily_seg_load_on_postgres(executor, tmp_path):
    landing = tmp_path / "landing"
    generate_filings(landing, firms=3, start=date(2016, 3, 10), end=date(2016, 3, 14), seed=4, amend_rate=0)
    meta_url, drop = new_pg_database()
    metadata = meta_url.replace("postgresql+psycopg://", "postgresql+psycopg2://")
    plain = meta_url.replace("postgresql+psycopg://", "postgresql://")
    port = _free_port()
    redis_db = random.randint(1, 15)
    smtp = SmtpReceiver().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAILYSEG_", "AIRFLOW"))}
    env.update({
        "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"), "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": "a-test-secret-of-sufficient-length-123",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1", "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + plain,
        # only the triggered run: no scheduled run of the latest business day once the DAG is unpaused
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "DAILYSEG_HOME": str(tmp_path / "home"), "DAILYSEG_LANDING": str(landing), "GX_ANALYTICS_ENABLED": "false",
        "DAILYSEG_DEADLINE_MINUTES": "0.05", "DAILYSEG_SMTP_URL": smtp.url(), "DAILYSEG_ALERT_TO": "ops@example.com",
    })
    airflow = str(BIN / "airflow")
    url = f"duckdb:///{tmp_path / 'home' / 'warehouse.duckdb'}"
    logs = [tmp_path / f"{name}.log" for name in ("api-server", "scheduler", "dag-processor", "worker", "triggerer")]
    try:
        migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        pool = subprocess.run([airflow, "pools", "set", "dailyseg_warehouse", "1", "writers of the embedded warehouse"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert pool.returncode == 0, pool.stderr[-2000:]
        with ExitStack() as stack:
            _start(stack, [airflow, "api-server", "--port", str(port)], env, logs[0])
            _start(stack, [airflow, "scheduler"], env, logs[1])
            _start(stack, [airflow, "dag-processor"], env, logs[2])
            _start(stack, [airflow, "triggerer"], env, logs[4])
            if executor == "CeleryExecutor":
                _start(stack, [airflow, "celery", "worker", "--concurrency", "2"], env, logs[3])

            def query(sql, *args):
                with psycopg.connect(plain, autocommit=True) as con:
                    return con.execute(sql, args).fetchall()

            _wait(lambda: query("SELECT 1 FROM dag WHERE dag_id = 'daily_seg_load'"), 120, "the DAG to be parsed",
                  logs)
            trigger = subprocess.run([airflow, "dags", "trigger", "daily_seg_load", "--run-id", "test_run",
                                      "--logical-date", "2016-03-14T00:00:00+00:00"], env=env, capture_output=True,
                                     text=True, timeout=120)
            assert trigger.returncode == 0, trigger.stderr[-2000:]
            subprocess.run([airflow, "dags", "unpause", "daily_seg_load"], env=env, capture_output=True, timeout=120)

            def finished():
                rows = query("SELECT state FROM dag_run WHERE run_id = 'test_run'")
                return rows and rows[0][0] in ("success", "failed") and rows[0][0]

            state = _wait(finished, 300, "daily_seg_load to finish", logs)
            tasks = dict(query("SELECT task_id, state FROM task_instance WHERE run_id = 'test_run'"))
            assert state == "success", (tasks, [p.read_text()[-2000:] for p in logs if p.exists()])
            assert tasks == {"fetch": "success", "ingest": "success", "publish": "success", "validate": "success",
                             "alert": "success", "verdict": "skipped"}
            if executor == "CeleryExecutor":
                assert "celery@" in logs[3].read_text() or "ready" in logs[3].read_text().lower()
            # the run took longer than its 3-second deadline: the triggerer ran the deadline callback,
            # which sends the alert, then records it
            _wait(lambda: smtp.messages and recorded_deadline_alerts(url), 120, "the deadline alert", logs)
        text = smtp.messages[0]["message"].get_body(("plain",)).get_content()
        assert "daily_seg_load (deadline missed) failed: the run test_run has not finished by" in text
        assert recorded_deadline_alerts(url) == 1
        wh = open_warehouse(url)
        assert wh.scalar("SELECT count(*) FROM filings") == 9
        assert wh.scalar("SELECT count(*) FROM dq_runs WHERE date_to = DATE '2016-03-14' AND success") >= 1
        wh.dispose()
    finally:
        smtp.stop()
        drop()
        import redis
        redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()

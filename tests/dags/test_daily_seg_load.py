"""The daily_seg_load DAG: its shape, parse cost, and real runs through ``airflow dags test``.

Runs use a private AIRFLOW_HOME with a SQLite metadata database (created once per session with
``airflow db migrate``), the embedded DuckDB warehouse, generated filings in a landing zone (a folder,
or a bucket on an S3-compatible server on loopback), and alerts delivered to an SMTP server and a
webhook receiver on loopback through Airflow connections. Each run's DagRun state is the verdict.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from etl.business_days import next_business_day
from etl.synthetic.files import generate_filings
from etl.synthetic.firms import make_firms
from etl.warehouse import open_warehouse
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.conftest import REPO
from tests.dq.planted import _read, _write
from tests.fetch.sites import Site

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAY = date(2016, 3, 14)
WRITERS = ["alert", "fetch", "ingest", "publish", "validate"]
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="session")
def airflow_db():
    result = subprocess.run([AIRFLOW, "db", "migrate"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"


def test_the_dag_watches_every_task_and_queues_writers_in_one_pool(airflow_db):
    from airflow.dag_processing.dagbag import DagBag
    from etl.airflow.timetable import BusinessDayTimetable
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    dag = bag.get_dag("daily_seg_load")
    assert {"dailyseg"} <= set(dag.tags) and "daily_seg_load" in dag.doc_md
    assert isinstance(dag.timetable, BusinessDayTimetable) and dag.max_active_runs == 1
    assert sorted(t.task_id for t in dag.tasks) == WRITERS + ["verdict"]
    for task_id in WRITERS:
        task = dag.get_task(task_id)
        assert task.owner == "dailyseg" and task.retries == 3 and task.on_failure_callback
        assert task.pool == "dailyseg_warehouse"
    verdict = dag.get_task("verdict")
    assert verdict.trigger_rule == "one_failed" and verdict.upstream_task_ids == set(WRITERS)
    assert verdict.retries == 0 and not verdict.on_failure_callback and verdict.pool == "default_pool"
    publish = dag.get_task("publish")
    assert publish.upstream_task_ids == {"ingest", "validate"}  # publishes once loaded, whatever the checks say
    assert publish.trigger_rule == "all_done_min_one_success"
    assert {a.uri for a in publish.outlets} == {"dailyseg://warehouse/seg_values", "dailyseg://warehouse/filings"}
    assert dag.get_task("ingest").upstream_task_ids == {"fetch"}  # fetch first, as its own task
    assert dag.get_task("alert").trigger_rule == "all_done"
    assert set(dag.params) == {"day", "date_from", "date_to"} and dag.params["day"] is None
    (deadline,) = dag.deadline  # parsed by a scheduler's dag-processor (not under `dags test`)
    assert deadline.interval == timedelta(minutes=150)
    failing = {rule.exception for rule in dag.get_task("ingest").retry_policy.rules}
    assert failing == {"etl.airflow.steps.ChecksFailed", "etl.airflow.config.ConnectionUnusable",
                       "etl.airflow.tasks.BadParams"}


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


# -- real runs ------------------------------------------------------------------------------------------
def plant_break(landing: Path, day: date, firm_index: int = 0, seed: int = 8) -> str:
    firm = make_firms(4, seed)[firm_index]
    path = landing / day.isoformat() / f"{firm.slug}.txt"
    header, values = _read(path)
    values["segregation"]["7010"] += 777
    _write(path, header, values)
    return firm.name


def dags_test(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AIRFLOW, "dags", "test", "daily_seg_load", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def last_run(db: Path) -> tuple[str, str, dict[str, str]]:
    """(run id, DagRun state, task states) of the newest run."""
    with sqlite3.connect(db) as con:
        run_id, state = con.execute("SELECT run_id, state FROM dag_run WHERE dag_id = 'daily_seg_load' "
                                    "ORDER BY id DESC LIMIT 1").fetchone()
        tasks = dict(con.execute("SELECT task_id, state FROM task_instance WHERE run_id = ?", (run_id,)).fetchall())
    return run_id, state, tasks


def asset_extras(db: Path, run_id: str) -> dict[str, dict]:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT a.uri, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                           "WHERE e.source_run_id = ?", (run_id,)).fetchall()
    return {uri: json.loads(extra) for uri, extra in rows}


def dag_env(tmp_path: Path, landing, smtp: SmtpReceiver, hook: WebhookReceiver) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAILYSEG_", "AIRFLOW_CONN_"))}
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


def warehouse(home: Path):
    return open_warehouse(f"duckdb:///{home / 'warehouse.duckdb'}")


def counts(home: Path) -> tuple:
    wh = warehouse(home)
    try:
        return tuple(wh.scalar(f"SELECT count(*) FROM {t}") for t in ("filings", "seg_values", "rejected_filings"))
    finally:
        wh.dispose()


def validated(home: Path) -> list[tuple[str, str, bool]]:
    wh = warehouse(home)
    try:
        runs = wh.read_df("SELECT date_from, date_to, success FROM dq_runs ORDER BY started_at")
    finally:
        wh.dispose()
    return [(str(a)[:10], str(b)[:10], bool(ok)) for a, b, ok in runs.itertuples(index=False)]


@pytest.fixture
def receivers():
    smtp = SmtpReceiver(user="airflow", password="smtp-secret-99").start()
    hook = WebhookReceiver()
    yield smtp, hook
    smtp.stop()
    hook.stop()


@pytest.fixture
def bucket():
    """A bucket on moto's S3-compatible server on loopback, and the Airflow connection that reaches it."""
    import boto3
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="dailyseg", aws_secret_access_key="s3-key",
                      region_name="us-east-1")
    name = f"filings-{os.urandom(4).hex()}"  # moto keeps its buckets for the whole test process
    s3.create_bucket(Bucket=name)
    connection = json.dumps({"conn_type": "aws", "login": "dailyseg", "password": "s3-key",
                             "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}})
    yield s3, connection, name
    server.stop()


@pytest.mark.slow
def test_a_clean_day_from_object_storage_succeeds_and_its_asset_events_carry_the_summary(
        airflow_db, tmp_path, receivers, bucket):
    """The day's filings arrive as PDFs in a bucket: the DAG loads, checks and publishes them."""
    smtp, hook = receivers
    s3, connection, name = bucket
    local = tmp_path / "generated"  # the PDFs firms post, read through the same ingest
    generate_filings(local, firms=4, start=date(2016, 3, 10), end=DAY, seed=8, amend_rate=0, fmt="pdf")
    for path in sorted(local.rglob("*.pdf")):
        s3.upload_file(str(path), name, f"landing/{path.relative_to(local).as_posix()}")
    env = dag_env(tmp_path, f"s3://dailyseg_landing@{name}/landing", smtp, hook)
    env["AIRFLOW_CONN_DAILYSEG_LANDING"] = connection

    result = dags_test(env, DAY.isoformat())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_id, state, tasks = last_run(airflow_db)
    assert state == "success"
    assert tasks == {"fetch": "success", "ingest": "success", "validate": "success", "publish": "success",
                     "alert": "success", "verdict": "skipped"}
    home = tmp_path / "home"
    assert counts(home)[0] == 12 and counts(home)[2] == 0  # 4 firms x 3 business days, nothing rejected
    assert validated(home) == [("2016-03-10", "2016-03-14", True)]  # the day and every day it loaded
    extras = asset_extras(airflow_db, run_id)
    assert set(extras) == {"dailyseg://warehouse/seg_values", "dailyseg://warehouse/filings"}
    summary = extras["dailyseg://warehouse/seg_values"]
    assert (summary["end_date"], summary["filings"], summary["firms"], summary["loaded"], summary["rejected"]) == \
        ("2016-03-14", 4, 4, 12, 0)
    assert summary["end_dates_loaded"] == ["2016-03-10", "2016-03-11", "2016-03-14"]
    assert summary["checks"]["success"] is True and summary["checks"]["errors"] == 0
    assert smtp.messages == [] and hook.posts == []  # nothing to report, nothing sent


@pytest.mark.slow
def test_a_planted_break_fails_the_run_and_a_late_amendment_is_checked_by_the_next_run(
        airflow_db, tmp_path, receivers):
    smtp, hook = receivers
    landing, later = tmp_path / "landing", tmp_path / "later"
    generate_filings(landing, firms=4, start=date(2016, 3, 8), end=next_business_day(DAY), seed=8, amend_rate=0)
    tomorrow = next_business_day(DAY)
    shutil.move(landing / tomorrow.isoformat(), later / tomorrow.isoformat())  # not filed yet
    broken_day = date(2016, 3, 9)
    firm = plant_break(landing, broken_day)
    env = dag_env(tmp_path, landing, smtp, hook)
    home = tmp_path / "home"

    dags_test(env, DAY.isoformat())
    run_id, state, tasks = last_run(airflow_db)
    assert state == "failed"  # the day's verdict
    assert tasks == {"fetch": "success", "ingest": "success", "validate": "failed", "publish": "success",
                     "alert": "success", "verdict": "failed"}
    assert counts(home)[0] == 20  # every filing is loaded, the bad one included
    checks = asset_extras(airflow_db, run_id)["dailyseg://warehouse/filings"]["checks"]
    assert checks["success"] is False and checks["errors"] >= 1
    assert len(smtp.messages) == 1 and len(hook.posts) == 1  # through the providers' notifiers
    page = smtp.messages[0]["message"].get_body(("html",)).get_content()
    assert "SEG-NET-EQUITY" in page and firm.split()[0] in page and broken_day.isoformat() in page
    assert "End Dates checked: 2016-03-08 to 2016-03-14" in page
    assert smtp.messages[0]["from"] == "dailyseg@example.com"

    # The next day: that day's filings, and a late amendment of the 9th that fixes the break.
    shutil.move(later / tomorrow.isoformat(), landing / tomorrow.isoformat())
    path = landing / broken_day.isoformat() / f"{make_firms(4, 8)[0].slug}.txt"
    header, values = _read(path)
    values["segregation"]["7010"] -= 777
    _write(path.with_name(path.stem + ".amended.txt"), header, values, status="AMENDED",
           submit=tomorrow)
    result = dags_test(env, "-c", json.dumps({"day": tomorrow.isoformat()}))  # a manual run: no logical date
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    _, state, tasks = last_run(airflow_db)
    assert state == "success" and tasks["verdict"] == "skipped"
    assert counts(home)[0] == 25  # the new day's 4 filings and the amendment, nothing twice
    assert validated(home)[1:] == [("2016-03-09", "2016-03-09", True), ("2016-03-15", "2016-03-15", True)]
    assert len(smtp.messages) == 2
    text = smtp.messages[1]["message"].get_body(("html",)).get_content()
    assert "1 resolved for 2016-03-09" in text and "End Dates checked: 2016-03-09, 2016-03-15" in text


@pytest.mark.slow
def test_a_broken_warehouse_connection_fails_the_run_and_writes_no_local_warehouse(airflow_db, tmp_path, receivers):
    smtp, hook = receivers
    landing = tmp_path / "landing"
    generate_filings(landing, firms=2, start=DAY, end=DAY, seed=8, amend_rate=0)
    env = dag_env(tmp_path, landing, smtp, hook)
    env["AIRFLOW_CONN_DAILYSEG_WAREHOUSE"] = json.dumps({"conn_type": "http", "host": "warehouse.example.com"})

    dags_test(env, DAY.isoformat())
    _, state, tasks = last_run(airflow_db)
    assert state == "failed"
    assert tasks["fetch"] == "failed" and tasks["verdict"] == "failed"  # the first task: failed at once, no retry
    assert tasks["ingest"] == tasks["validate"] == tasks["publish"] == "upstream_failed"
    assert list(tmp_path.rglob("*.duckdb")) == [] and not (tmp_path / "home" / "lake").exists()
    assert len(smtp.messages) == 1  # the failure, from the callback, recorded nowhere
    text = smtp.messages[0]["message"].get_body(("html",)).get_content()
    assert "daily_seg_load.fetch failed: ConnectionUnusable: the Airflow connection dailyseg_warehouse has type " \
           "&#x27;http&#x27;" in text


@pytest.fixture
def firm_sites():
    made = [Site(), Site(), Site()]
    yield made
    for site in made:
        site.stop()


@pytest.mark.slow
def test_the_nightly_run_fetches_the_published_filings_then_loads_them(airflow_db, tmp_path, receivers, firm_sites):
    """fetch collects what the firms' web sites (real HTTP servers on loopback) published, with the sources
    and contact given as Airflow Variables, and ingest loads it; a site that is down is reported and the
    rest loads."""
    smtp, hook = receivers
    index, dated, down = firm_sites
    published = tmp_path / "published"
    generate_filings(published, firms=2, start=date(2016, 3, 8), end=DAY, seed=8, amend_rate=0)
    first, second = make_firms(2, 8)
    links = []
    for path in sorted(published.glob(f"*/{first.slug}.txt")):
        index.publish(f"/seg/{path.parent.name}.txt", path.read_bytes())
        links.append(f"{path.parent.name}.txt")
    index.page("/seg/", links)
    for path in sorted(published.glob(f"*/{second.slug}.txt")):
        dated.publish(f"/daily/{path.parent.name}.txt", path.read_bytes())
    down.page("/seg/", [], status=404)
    env = dag_env(tmp_path, tmp_path / "landing", smtp, hook)
    env.update({
        "AIRFLOW_VAR_DAILYSEG_SOURCES": "firm,url,pattern\n"
                                        f"{first.name},{index.url('/seg/')},\n"
                                        f"{second.name},{dated.url('/daily/{date:%Y-%m-%d}.txt')},\n"
                                        f"Gone Futures LLC,{down.url('/seg/')},\n",
        "AIRFLOW_VAR_DAILYSEG_FETCH_CONTACT": "data-team@example.com",
        "DAILYSEG_FETCH_DELAY": "0",
    })
    result = dags_test(env, DAY.isoformat())
    _, state, tasks = last_run(airflow_db)
    assert state == "success", result.stdout[-3000:] + result.stderr[-3000:]
    assert tasks == {"fetch": "success", "ingest": "success", "validate": "success", "publish": "success",
                     "alert": "success", "verdict": "skipped"}
    assert "data-team@example.com" in index.seen[0].headers["user-agent"]
    wh = open_warehouse(f"duckdb:///{tmp_path / 'home' / 'warehouse.duckdb'}")
    try:
        filings = wh.read_df("SELECT firm, end_date, source_url FROM filings")
        failed = wh.read_df("SELECT firm, error FROM fetch_log WHERE outcome = 'failed'")
    finally:
        wh.dispose()
    assert len(filings) == 10  # 2 firms x the 5 business days up to the run's day, all fetched, all loaded
    assert filings["source_url"].str.startswith(("http://127.0.0.1:",)).all()
    assert list(failed["firm"]) == ["Gone Futures LLC"] and "404 Not Found" in failed["error"][0]

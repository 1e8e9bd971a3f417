"""The daily_seg_report DAG: scheduled on what daily_seg_load publishes, and a real run through
``airflow dags test`` that writes the report from the warehouse."""

from __future__ import annotations

import os
import subprocess
from datetime import date

import pytest

from etl.synthetic.files import generate_filings
from etl.ingest.job import ingest
from etl.settings import load_settings
from tests.conftest import REPO
from tests.dags.test_daily_seg_load import AIRFLOW, airflow_db  # noqa: F401  (the session's metadata DB)

pytestmark = pytest.mark.airflow


def test_report_dag_runs_when_the_load_publishes(airflow_db):  # noqa: F811
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    load, report = bag.get_dag("daily_seg_load"), bag.get_dag("daily_seg_report")
    published = {a.uri for a in load.get_task("publish").outlets}
    scheduled_on = {asset.uri for asset in report.timetable.asset_condition.objects}
    assert scheduled_on == {"dailyseg://warehouse/seg_values"} and scheduled_on <= published
    assert report.tags and "daily_seg_report" in report.doc_md
    assert [t.task_id for t in report.tasks] == ["report"]
    assert report.get_task("report").owner == "dailyseg" and report.get_task("report").retries == 2


def test_report_dag_writes_the_report(airflow_db, tmp_path):  # noqa: F811
    home = tmp_path / "home"
    generate_filings(tmp_path / "landing", firms=3, start=date(2016, 3, 1), end=date(2016, 3, 14), seed=4)
    ingest([tmp_path / "landing"], load_settings(environ={}, home=home))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    env["DAILYSEG_HOME"] = str(home)
    result = subprocess.run([AIRFLOW, "dags", "test", "daily_seg_report", "2016-03-15"], capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    index = home / "report" / "index.html"
    assert index.exists()
    page = index.read_text(encoding="utf-8")
    assert "2016-03-01 to 2016-03-14" in page and "3 firms" in page
    assert len(list((home / "report" / "charts").glob("*.png"))) >= 3 * 2 + 2

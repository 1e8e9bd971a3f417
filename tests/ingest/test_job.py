"""The ingest job repairs a damaged embedded warehouse by itself: the file is set aside, the warehouse
rebuilt from the lake, the load carries on, and the summary (and, under Airflow, an alert) says so."""

from __future__ import annotations

from etl.airflow.steps import ingest_landing
from etl.alerts.channels import SlackWebhookChannel
from etl.lake.rebuild import read_back_error
from etl.settings import load_settings
from etl.warehouse import open_warehouse
from tests.alerts.receivers import WebhookReceiver
from tests.cli.test_cli import run
from tests.lake.test_rebuild import copy_home, damage, loaded, rows  # noqa: F401


def test_the_next_ingest_sets_a_damaged_warehouse_aside_rebuilds_it_and_loads(loaded, tmp_path):
    original_home, _, before = loaded
    home = copy_home(original_home, tmp_path / "home")
    warehouse = home / "warehouse.duckdb"
    damaged = damage(warehouse)
    landing = original_home.parent / "landing"

    result = run("ingest", "--quiet", str(landing), home=home)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "The warehouse file was damaged (Corrupt database file" in result.stdout
    assert "rebuilt from the lake" in result.stdout and "run dailyseg validate" in result.stdout
    kept = sorted(home.glob("warehouse.duckdb.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged  # kept as it was, not deleted
    assert "loaded               0" in result.stdout  # everything came back from the lake; nothing new
    assert read_back_error(warehouse) is None
    assert rows(f"duckdb:///{warehouse}", home) == before


def test_the_nightly_ingest_step_repairs_and_alerts(loaded, tmp_path):
    original_home, _, before = loaded
    home = copy_home(original_home, tmp_path / "home")
    damage(home / "warehouse.duckdb")
    settings = load_settings(environ={}, home=home, landing=str(original_home.parent / "landing"))
    hook = WebhookReceiver()
    try:
        result = ingest_landing(settings, channels=[SlackWebhookChannel(hook.url())])
    finally:
        hook.stop()
    assert result["repair"] and "damaged" in result["repair"] and result["loaded"] == 0
    assert len(hook.posts) == 1
    assert "warehouse repaired" in str(hook.posts[0]["json"]) and "set aside" in str(hook.posts[0]["json"])
    wh = open_warehouse(settings.warehouse_url)
    try:
        recorded = wh.read_df("SELECT kind, channel, status FROM alerts").to_dict("records")
    finally:
        wh.dispose()
    assert recorded == [{"kind": "event", "channel": "slack", "status": "sent"}]
    assert rows(settings.warehouse_url, home) == before

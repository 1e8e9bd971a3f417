"""Settings under Airflow: the warehouse from its connection (the Postgres hook's URL, extras honoured),
never a silent fallback, and the embedded default only when there is no connection at all.

Connections come from ``AIRFLOW_CONN_*`` environment variables, one of Airflow's own secrets
backends; a failing lookup is a real secrets backend that cannot reach its store."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from etl.airflow import config
from etl.warehouse import open_warehouse
from tests.conftest import REPO

CONN = "AIRFLOW_CONN_DAILYSEG_WAREHOUSE"


@pytest.fixture
def env(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("DAILYSEG_") or k.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DAILYSEG_HOME", str(tmp_path / "home"))
    return monkeypatch


def postgres_conn(url: str, **extra) -> str:
    from sqlalchemy.engine import make_url
    parts = make_url(url)
    return json.dumps({"conn_type": "postgres", "host": parts.host, "port": parts.port, "login": parts.username,
                       "password": parts.password, "schema": parts.database, "extra": extra})


def test_a_postgres_connection_gives_the_hooks_url_with_its_extras(env, pg_url):
    env.setenv(CONN, postgres_conn(pg_url, application_name="dailyseg-nightly", connect_timeout=7))
    settings = config.airflow_settings()
    assert settings.warehouse_url.startswith("postgresql+psycopg://postgres@127.0.0.1:5432/")
    warehouse = open_warehouse(settings.warehouse_url)
    try:  # the extras reach the server, as the hook would pass them when it connects
        assert warehouse.scalar("SELECT current_setting('application_name')") == "dailyseg-nightly"
    finally:
        warehouse.dispose()


def test_an_extra_the_server_refuses_is_not_dropped(env, pg_url):
    env.setenv(CONN, postgres_conn(pg_url, sslmode="require"))  # the test server does not speak TLS
    settings = config.airflow_settings()
    assert "sslmode=require" in settings.warehouse_url
    with pytest.raises(Exception) as failed:
        open_warehouse(settings.warehouse_url).dispose()
    assert "SSL" in str(failed.value) or "ssl" in str(failed.value)


def test_a_sqlalchemy_url_in_the_extra_is_used_as_it_is(env, tmp_path):
    path = tmp_path / "elsewhere" / "wh.duckdb"
    env.setenv(CONN, json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": f"duckdb:///{path}"}}))
    assert config.airflow_settings().warehouse_url == f"duckdb:///{path}"


@pytest.mark.parametrize("conn, words", [
    ({"conn_type": "http", "host": "warehouse.example.com"}, "has type 'http'"),
    ({"conn_type": "generic", "extra": {"sqlalchemy_url": "sqlite:///x.db"}}, "sqlalchemy_url dailyseg cannot use"),
    ({"conn_type": "postgres", "login": "u"}, "needs a host and a database"),
])
def test_a_connection_dailyseg_cannot_use_fails_in_one_line_that_names_it(env, tmp_path, conn, words):
    env.setenv(CONN, json.dumps(conn))
    with pytest.raises(config.ConnectionUnusable) as failed:
        config.airflow_settings()
    message = str(failed.value)
    assert "dailyseg_warehouse" in message and words in message and "\n" not in message
    assert not (tmp_path / "home").exists()  # nothing was written, least of all an embedded warehouse


def test_no_connection_means_the_embedded_default_and_the_log_says_so(env, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="etl.airflow.config"):
        settings = config.airflow_settings()
    assert settings.warehouse_url == f"duckdb:///{tmp_path / 'home' / 'warehouse.duckdb'}"
    assert "no Airflow connection dailyseg_warehouse" in caplog.text and settings.warehouse_url in caplog.text


def test_the_environment_wins_over_the_connection(env, tmp_path, caplog):
    env.setenv(CONN, json.dumps({"conn_type": "http", "host": "x"}))  # not even looked at
    env.setenv("DAILYSEG_WAREHOUSE", f"duckdb:///{tmp_path / 'chosen.duckdb'}")
    with caplog.at_level(logging.WARNING, logger="etl.airflow.config"):
        assert config.airflow_settings().warehouse_url == f"duckdb:///{tmp_path / 'chosen.duckdb'}"
    assert "embedded" not in caplog.text


BROKEN_BACKEND = '''
from airflow.secrets import BaseSecretsBackend

class UnreachableVault(BaseSecretsBackend):
    def get_conn_value(self, conn_id, team_name=None):
        raise ConnectionError("vault.internal:8200 refused the connection")

    def get_variable(self, key, team_name=None):
        return None
'''


def test_a_lookup_that_fails_is_an_error_not_a_missing_connection(tmp_path):
    (tmp_path / "broken_secrets.py").write_text(BROKEN_BACKEND)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAILYSEG_", "AIRFLOW_CONN_"))}
    env.update({"PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}", "DAILYSEG_HOME": str(tmp_path / "home"),
                "AIRFLOW__SECRETS__BACKEND": "broken_secrets.UnreachableVault"})
    code = ("from etl.airflow import config\n"
            "try:\n    config.airflow_settings()\n"
            "except config.ConnectionLookupFailed as exc:\n    print('FAILED', exc)\n"
            "else:\n    print('FELL BACK')\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    line = next((x for x in result.stdout.splitlines() if x.startswith(("FAILED", "FELL BACK"))), result.stderr[-2000:])
    assert line.startswith("FAILED"), line
    assert "dailyseg_warehouse" in line and "UnreachableVault" in line and "refused the connection" in line
    assert not (tmp_path / "home").exists()

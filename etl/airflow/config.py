"""dailyseg's settings inside Airflow: the shared settings module, filled from connections and Variables.

Precedence, for each item: the environment variable (``DAILYSEG_WAREHOUSE``, ``DAILYSEG_LANDING``...),
then the Airflow connection or Variable, then dailyseg's default (the embedded DuckDB under
``DAILYSEG_HOME``). Connections: ``dailyseg_warehouse`` (a PostgreSQL connection, or any connection
whose extra has ``{"sqlalchemy_url": ...}``). Variables: ``dailyseg_home``, ``dailyseg_landing``,
``dailyseg_lake``. Called at task run time, never while a DAG file is parsed.
"""

from __future__ import annotations

import os

from etl.settings import Settings, load_settings

WAREHOUSE_CONN_ID = "dailyseg_warehouse"
SMTP_CONN_ID = "dailyseg_smtp"
SLACK_CONN_ID = "dailyseg_slack"


def _variable(key: str) -> str | None:
    try:
        from airflow.sdk import Variable
        return Variable.get(key, default=None)
    except Exception:  # no Airflow context (tests, CLI): the environment decides
        return None


def connection_url(conn_id: str) -> str | None:
    """A SQLAlchemy URL from an Airflow connection, or None when there is no such connection."""
    try:
        from airflow.sdk import Connection
        conn = Connection.get(conn_id)
    except Exception:
        return None
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    if extra.get("sqlalchemy_url"):
        return extra["sqlalchemy_url"]
    if (conn.conn_type or "").startswith("postgres"):
        credentials = conn.login or ""
        if conn.password:
            from urllib.parse import quote
            credentials += ":" + quote(conn.password, safe="")
        host = f"{conn.host or 'localhost'}:{conn.port or 5432}"
        return f"postgresql+psycopg://{credentials + '@' if credentials else ''}{host}/{conn.schema or 'postgres'}"
    return None


def airflow_settings() -> Settings:
    env = os.environ
    overrides = {}
    if not env.get("DAILYSEG_HOME") and (home := _variable("dailyseg_home")):
        overrides["home"] = home
    if not env.get("DAILYSEG_WAREHOUSE") and (url := connection_url(WAREHOUSE_CONN_ID)):
        overrides["warehouse_url"] = url
    if not env.get("DAILYSEG_LANDING") and (landing := _variable("dailyseg_landing")):
        overrides["landing"] = landing
    if not env.get("DAILYSEG_LAKE") and (lake := _variable("dailyseg_lake")):
        overrides["lake"] = lake
    return load_settings(**overrides)

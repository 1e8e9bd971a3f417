"""dailyseg's settings inside Airflow: the shared settings module, filled from connections and Variables.

Precedence, for each item: the environment variable (``DAILYSEG_WAREHOUSE``, ``DAILYSEG_LANDING``...),
then the Airflow connection or Variable, then dailyseg's default (the embedded DuckDB under
``DAILYSEG_HOME``). Connections: ``dailyseg_warehouse`` (a PostgreSQL connection, or any connection
whose extra has ``{"sqlalchemy_url": ...}``). Variables: ``dailyseg_home``, ``dailyseg_landing``,
``dailyseg_lake``, ``dailyseg_fetch_contact`` and ``dailyseg_sources`` (the sources file's content, for
``fetch``; ``DAILYSEG_SOURCES`` wins over it, and ``$DAILYSEG_HOME/sources.csv`` is read when neither is
set). Called at task run time, never while a DAG file is parsed.
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
    if not env.get("DAILYSEG_FETCH_CONTACT") and (contact := _variable("dailyseg_fetch_contact")):
        overrides["fetch_contact"] = contact
    return load_settings(**overrides)


def airflow_sources(settings: Settings):
    """The sources ``fetch`` works through: the file ``DAILYSEG_SOURCES`` names, else the Variable
    ``dailyseg_sources`` (the file's content), else ``$DAILYSEG_HOME/sources.csv``; None when none of
    them exists (a deployment that does not fetch)."""
    from etl.fetch import parse_sources, read_sources
    if os.environ.get("DAILYSEG_SOURCES"):
        return read_sources(settings.sources_file)
    if text := _variable("dailyseg_sources"):
        return parse_sources(text, "the Airflow Variable dailyseg_sources")
    if settings.sources_file.exists():
        return read_sources(settings.sources_file)
    return None

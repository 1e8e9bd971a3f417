"""dailyseg's settings inside Airflow: the shared settings module, filled from connections and Variables.

Precedence, for each item: the environment variable (``DAILYSEG_WAREHOUSE``, ``DAILYSEG_LANDING``...),
then the Airflow connection or Variable, then dailyseg's default (the embedded DuckDB under
``DAILYSEG_HOME``). Connections: ``dailyseg_warehouse`` (a Postgres connection, whose URL the Postgres
provider's hook builds and whose extras, ``sslmode`` and the like, go along as the hook would pass them;
or any connection whose extra has ``{"sqlalchemy_url": ...}``). Variables: ``dailyseg_home``,
``dailyseg_landing``, ``dailyseg_lake``, ``dailyseg_alert_to``, ``dailyseg_fetch_contact`` and
``dailyseg_sources`` (the sources file's content, for ``fetch``; ``DAILYSEG_SOURCES`` wins over it, and
``$DAILYSEG_HOME/sources.csv`` is read when neither is set). Called at task run time, never while a
DAG file is parsed.

Nothing falls back silently: a connection dailyseg cannot use raises ``ConnectionUnusable`` and a
lookup that fails (a secrets backend or the API server not answering) raises
``ConnectionLookupFailed``, each one line naming the connection. Only when no backend has the
connection at all does the embedded default apply, and the task log says so before anything else.
"""

from __future__ import annotations

import logging
import os

from etl.settings import Settings, load_settings, normalize_warehouse_url

log = logging.getLogger(__name__)

WAREHOUSE_CONN_ID = "dailyseg_warehouse"
SMTP_CONN_ID = "dailyseg_smtp"
SLACK_CONN_ID = "dailyseg_slack"
WRITER_POOL = "dailyseg_warehouse"  # one slot on the embedded DuckDB: one writer process at a time


class ConnectionUnusable(RuntimeError):
    """The connection exists but dailyseg cannot use it: retrying will not help."""


class ConnectionLookupFailed(RuntimeError):
    """Looking a connection up failed (not: it does not exist); may be transient."""


def _first_line(exc: BaseException) -> str:
    from etl.warehouse import first_line  # imported when needed: DAG files import this module
    return first_line(exc)


def variable(key: str) -> str | None:
    try:
        from airflow.sdk import Variable
        return Variable.get(key, default=None)
    except Exception:  # no Airflow context (tests, CLI): the environment decides
        return None


def _confirm_absent(conn_id: str):
    """Ask every secrets backend again, keeping their errors, which Airflow's own lookup treats as "not
    found". Returns the connection if one now has it, None when all answered and none has it."""
    from airflow.sdk.execution_time.secrets.execution_api import ExecutionAPISecretsBackend
    from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

    failures = []
    for backend in ensure_secrets_backend_loaded():
        try:
            if isinstance(backend, ExecutionAPISecretsBackend):
                conn = _from_api_server(conn_id)
            else:
                conn = backend.get_connection(conn_id=conn_id)
        except Exception as exc:
            failures.append(f"{type(backend).__name__}: {type(exc).__name__}: {_first_line(exc)}")
            continue
        if conn:
            from airflow.sdk.log import mask_secret
            if conn.password:
                mask_secret(conn.password)
            return conn
    if failures:
        raise ConnectionLookupFailed(f"looking up the Airflow connection {conn_id} failed ({'; '.join(failures)})")
    return None


def _from_api_server(conn_id: str):
    """The connection from the API server, telling "not found" from an error (which Airflow's backend
    for tasks reports as not found, so that other backends may answer)."""
    from airflow.sdk.exceptions import ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse, GetConnection
    from airflow.sdk.execution_time.context import _process_connection_result_conn
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    answer = SUPERVISOR_COMMS.send(GetConnection(conn_id=conn_id))
    if isinstance(answer, ErrorResponse):
        if answer.error == ErrorType.CONNECTION_NOT_FOUND:
            return None
        raise RuntimeError(f"the API server answered {answer.error.value}: {answer.detail}")
    return _process_connection_result_conn(answer)


def lookup_connection(conn_id: str):
    """The Airflow connection ``conn_id``; None only when no backend has it."""
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:  # pragma: no cover - only without Airflow
        return None
    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return _confirm_absent(conn_id)
    except Exception as exc:
        raise ConnectionLookupFailed(f"looking up the Airflow connection {conn_id} failed: {type(exc).__name__}: "
                                     f"{_first_line(exc)}") from None


def warehouse_url_of(conn) -> str:
    """The SQLAlchemy URL of a warehouse connection; ``ConnectionUnusable`` when it names no warehouse."""
    conn_id = conn.conn_id or WAREHOUSE_CONN_ID
    extra = conn.extra_dejson
    if extra.get("sqlalchemy_url"):
        url = normalize_warehouse_url(str(extra["sqlalchemy_url"]))
        if not url.startswith(("duckdb:///", "postgresql")):
            raise ConnectionUnusable(f"the Airflow connection {conn_id} has a sqlalchemy_url dailyseg cannot use: "
                                     "give a postgresql:// or duckdb:/// URL")
        return url
    if (conn.conn_type or "") not in ("postgres", "postgresql"):
        raise ConnectionUnusable(
            f"the Airflow connection {conn_id} has type {conn.conn_type or 'none'!r}: dailyseg needs a postgres "
            'connection or an extra {"sqlalchemy_url": "postgresql://..." or "duckdb:///..."}')
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    try:
        hook = PostgresHook(postgres_conn_id=conn_id, connection=conn)
        url = hook.sqlalchemy_url
        passed = {key: value for key, value in extra.items()
                  if key not in hook.ignored_extra_options and key != "sqlalchemy_url" and value is not None}
    except Exception as exc:
        raise ConnectionUnusable(f"the Airflow connection {conn_id} does not make a PostgreSQL URL: "
                                 f"{_first_line(exc)}") from None
    if not url.host or not url.database:
        raise ConnectionUnusable(f"the Airflow connection {conn_id} needs a host and a database (schema)")
    # the hook hands these extras to the driver when it connects; a URL carries them as its query
    query = {**url.query, **{key: value if isinstance(value, str) else str(value).lower()
                             if isinstance(value, bool) else str(value) for key, value in passed.items()}}
    return normalize_warehouse_url(url.update_query_dict(query).render_as_string(hide_password=False))


def warehouse_url(environ=None) -> str | None:
    """``DAILYSEG_WAREHOUSE``, else the connection's URL, else None (no connection: the embedded default)."""
    env = os.environ if environ is None else environ
    if env.get("DAILYSEG_WAREHOUSE"):
        return None  # the settings module reads it
    conn = lookup_connection(WAREHOUSE_CONN_ID)
    return None if conn is None else warehouse_url_of(conn)


def airflow_settings() -> Settings:
    """The settings for a task; ``ConnectionUnusable`` or ``ConnectionLookupFailed`` rather than a guess."""
    env = os.environ
    overrides = {}
    if not env.get("DAILYSEG_HOME") and (home := variable("dailyseg_home")):
        overrides["home"] = home
    if not env.get("DAILYSEG_LANDING") and (landing := variable("dailyseg_landing")):
        overrides["landing"] = landing
    if not env.get("DAILYSEG_LAKE") and (lake := variable("dailyseg_lake")):
        overrides["lake"] = lake
    if not env.get("DAILYSEG_FETCH_CONTACT") and (contact := variable("dailyseg_fetch_contact")):
        overrides["fetch_contact"] = contact
    url = warehouse_url()
    if url:
        overrides["warehouse_url"] = url
    settings = load_settings(**overrides)
    if url is None and not env.get("DAILYSEG_WAREHOUSE"):
        log.warning("no Airflow connection %s and no DAILYSEG_WAREHOUSE: using the embedded warehouse %s",
                    WAREHOUSE_CONN_ID, settings.warehouse_url)
    return settings


def airflow_sources(settings: Settings):
    """The sources ``fetch`` works through: the file ``DAILYSEG_SOURCES`` names, else the Variable
    ``dailyseg_sources`` (the file's content), else ``$DAILYSEG_HOME/sources.csv``; None when none of
    them exists (a deployment that does not fetch)."""
    from etl.fetch import parse_sources, read_sources
    if os.environ.get("DAILYSEG_SOURCES"):
        return read_sources(settings.sources_file)
    if text := variable("dailyseg_sources"):
        return parse_sources(text, "the Airflow Variable dailyseg_sources")
    if settings.sources_file.exists():
        return read_sources(settings.sources_file)
    return None

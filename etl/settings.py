"""The one place dailyseg's configuration is read, shared by the CLI and the Airflow DAGs.

Everything has a default that works on a laptop: data under ``./data`` (``DAILYSEG_HOME``), an
embedded DuckDB warehouse file there, the Parquet lake beside it. Environment variables override the
defaults, and explicit arguments (CLI flags, Airflow connections) override the environment:

- ``DAILYSEG_HOME``       base folder (default ``./data``)
- ``DAILYSEG_WAREHOUSE``  SQLAlchemy URL (default ``duckdb:///$DAILYSEG_HOME/warehouse.duckdb``;
                          production: ``postgresql+psycopg://user@host/db``)
- ``DAILYSEG_LAKE``       Parquet lake, raw archive and quarantine (default ``$DAILYSEG_HOME/lake``)
- ``DAILYSEG_LANDING``    where new filings arrive (default ``$DAILYSEG_HOME/landing``; a folder, or an fsspec URL
                          such as ``s3://bucket/landing``, kept as text)
- ``DAILYSEG_MAX_FILE_MB`` largest file accepted (default 5)
- ``DAILYSEG_PDF_SECONDS``, ``DAILYSEG_PDF_MEMORY_MB`` what reading one PDF filing may take (default 10 s
  and 256 MB; a PDF over either is rejected)
- ``DAILYSEG_VALIDATE_CHUNK`` how many filings ``dailyseg validate`` checks at once (default 20,000): a
  longer range is checked in End Date ranges of about that size, so its memory does not grow with history
- ``DAILYSEG_SMTP_URL``, ``DAILYSEG_ALERT_FROM``, ``DAILYSEG_ALERT_TO``, ``DAILYSEG_SLACK_WEBHOOK_URL``
  alert channels; ``DAILYSEG_WARNING_CHANNEL`` (email, slack, both, none) where warnings go;
  ``DAILYSEG_ALERT_TIMEOUT``, ``DAILYSEG_ALERT_ATTEMPTS``, ``DAILYSEG_ALERT_BACKOFF`` delivery retries
  (see ``etl.alerts``).
- ``DAILYSEG_SOURCES``    the sources file of ``dailyseg fetch`` (default ``$DAILYSEG_HOME/sources.csv``)
- ``DAILYSEG_FETCH_CONTACT`` an email address or URL for the User-Agent of fetches (required to fetch)
- ``DAILYSEG_FETCH_DELAY``, ``DAILYSEG_FETCH_TIMEOUT``, ``DAILYSEG_FETCH_ATTEMPTS``, ``DAILYSEG_FETCH_BACKOFF``
  seconds between two requests to one host (default 1), connect and read timeout (default 20), tries
  of a request that failed transiently (default 3) and the first wait between them (default 2; see
  ``etl.fetch``).
- ``DAILYSEG_DEADLINE_MINUTES`` under Airflow, how long after it was queued the nightly run must have
  finished before a deadline alert goes out (default 150: a run queued at 12:30 New York time is late
  at 15:00)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from etl import UserError


def is_url(location: str | Path) -> bool:
    """Whether a location is an fsspec URL (``s3://bucket/landing``) rather than a local folder."""
    return "://" in str(location) and not str(location).startswith("file://")


def _env(name: str, environ: dict[str, str]) -> str | None:
    value = environ.get(name)
    return value if value not in (None, "") else None


class SettingsError(UserError, ValueError):
    """A setting that cannot be used as given; the message names the variable."""


def _number(name: str, environ: dict[str, str], cast, default):
    """The variable as a number (``cast``), ``default`` when it is unset or empty."""
    value = _env(name, environ)
    if value is None:
        return default
    try:
        return cast(value)
    except ValueError:
        kind = "a whole number" if cast is int else "a number"
        raise SettingsError(f"{name} must be {kind}, not {value!r}") from None


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    lake: Path
    landing: Path | str  # a folder, or an object-storage URL (``landing_location``)
    max_file_bytes: int = 5 * 1024 * 1024
    batch_size: int = 500
    pdf_seconds: float = 10.0
    pdf_memory_mb: int = 256
    validate_chunk: int = 20_000
    smtp_url: str | None = field(default=None, repr=False)
    alert_from: str | None = None
    alert_to: tuple[str, ...] = ()
    slack_webhook_url: str | None = field(default=None, repr=False)
    warning_channel: str = "both"
    alert_timeout: float = 10.0
    alert_attempts: int = 3
    alert_backoff: float = 2.0
    sources: Path | None = None  # None: the default file, $DAILYSEG_HOME/sources.csv
    fetch_contact: str | None = None
    fetch_delay: float = 1.0
    fetch_timeout: float = 20.0
    fetch_attempts: int = 3
    fetch_backoff: float = 2.0

    @property
    def sources_file(self) -> Path:
        """The sources file ``dailyseg fetch`` reads: ``DAILYSEG_SOURCES``, else ``$DAILYSEG_HOME/sources.csv``."""
        return self.sources if self.sources is not None else self.home / "sources.csv"
    deadline_minutes: float = 150.0  # under Airflow: a run not finished this long after it was queued is late

    @property
    def raw_zone(self) -> Path:
        return self.lake / "raw"

    @property
    def quarantine(self) -> Path:
        return self.lake / "quarantine"

    @property
    def data_docs(self) -> Path:
        return self.home / "data_docs"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def is_duckdb(self) -> bool:
        return self.warehouse_url.startswith("duckdb")

    def with_overrides(self, **overrides) -> Settings:
        """A copy with the given fields replaced; ``None`` values are ignored."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        if "warehouse_url" in clean:
            clean["warehouse_url"] = normalize_warehouse_url(str(clean["warehouse_url"]))
        for key in ("home", "lake", "sources"):
            if key in clean:
                clean[key] = Path(clean[key])
        if "landing" in clean:
            clean["landing"] = landing_location(clean["landing"])
        return replace(self, **clean)


def landing_location(value) -> Path | str:
    """A landing folder as a Path; an object-storage URL (``s3://conn_id@bucket/prefix``) kept as the
    string it is, since a Path would fold its ``//``."""
    text = str(value)
    if text.startswith("file://"):
        return Path(text[len("file://"):])
    return text if is_url(text) else Path(text)


def normalize_warehouse_url(url: str) -> str:
    """Accept the URL spellings people paste (``postgres://``, ``postgresql://``) and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load_settings(environ: dict[str, str] | None = None, **overrides) -> Settings:
    """Settings from the environment (``os.environ`` by default), then explicit overrides."""
    env = dict(os.environ if environ is None else environ)
    if overrides.get("home") is not None:  # derived defaults (warehouse, lake, landing) follow it
        env["DAILYSEG_HOME"] = str(overrides.pop("home"))
    home = Path(_env("DAILYSEG_HOME", env) or "data")
    warehouse = _env("DAILYSEG_WAREHOUSE", env) or f"duckdb:///{home / 'warehouse.duckdb'}"
    lake = Path(_env("DAILYSEG_LAKE", env) or home / "lake")
    landing = landing_location(_env("DAILYSEG_LANDING", env) or home / "landing")
    max_mb = _number("DAILYSEG_MAX_FILE_MB", env, float, None)
    alert_to = tuple(a.strip() for a in (_env("DAILYSEG_ALERT_TO", env) or "").split(",") if a.strip())
    settings = Settings(
        home=home,
        warehouse_url=normalize_warehouse_url(warehouse),
        lake=lake,
        landing=landing,
        max_file_bytes=int(max_mb * 1024 * 1024) if max_mb else 5 * 1024 * 1024,
        pdf_seconds=_number("DAILYSEG_PDF_SECONDS", env, float, Settings.pdf_seconds),
        pdf_memory_mb=_number("DAILYSEG_PDF_MEMORY_MB", env, int, Settings.pdf_memory_mb),
        validate_chunk=max(1, _number("DAILYSEG_VALIDATE_CHUNK", env, int, Settings.validate_chunk)),
        smtp_url=_env("DAILYSEG_SMTP_URL", env),
        alert_from=_env("DAILYSEG_ALERT_FROM", env),
        alert_to=alert_to,
        slack_webhook_url=_env("DAILYSEG_SLACK_WEBHOOK_URL", env),
        warning_channel=_env("DAILYSEG_WARNING_CHANNEL", env) or "both",
        alert_timeout=_number("DAILYSEG_ALERT_TIMEOUT", env, float, 10),
        alert_attempts=max(1, _number("DAILYSEG_ALERT_ATTEMPTS", env, int, 3)),
        alert_backoff=_number("DAILYSEG_ALERT_BACKOFF", env, float, 2),
        sources=Path(sources) if (sources := _env("DAILYSEG_SOURCES", env)) else None,
        fetch_contact=_env("DAILYSEG_FETCH_CONTACT", env),
        fetch_delay=max(0.0, _number("DAILYSEG_FETCH_DELAY", env, float, 1)),
        fetch_timeout=_number("DAILYSEG_FETCH_TIMEOUT", env, float, 20),
        fetch_attempts=max(1, _number("DAILYSEG_FETCH_ATTEMPTS", env, int, 3)),
        fetch_backoff=max(0.0, _number("DAILYSEG_FETCH_BACKOFF", env, float, 2)),
        deadline_minutes=_number("DAILYSEG_DEADLINE_MINUTES", env, float, 150),
    )
    return settings.with_overrides(**overrides)

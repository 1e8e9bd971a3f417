"""The nightly job as plain functions, one per step: what each task of ``daily_seg_load`` calls.

``fetch_day`` downloads what the firms' web sites published into the landing zone, ``ingest_landing``
loads whatever is new in the landing zone (a folder, or object storage through an Airflow connection:
``s3://conn_id@bucket/prefix``, read with ``ObjectStoragePath`` and mirrored locally first),
``validate_days`` checks the End Dates a run is responsible for, ``publish_days`` reports what the
warehouse now holds for them, and ``alert_run`` sends the findings. Each takes the shared settings and
returns a small JSON-able dict (Airflow passes them as XComs). Bad data raises ``ChecksFailed``, which a
retry cannot fix; anything else may be transient.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from pathlib import Path
from typing import Iterable

from etl.business_days import next_business_day
from etl.settings import Settings

# The writer pool keeps the DAGs' own tasks apart; only a command run by hand can still hold the lock,
# and a task that finds it busy fails and is retried later rather than sleeping in a worker slot.
WAREHOUSE_WAIT = 30


class ChecksFailed(Exception):
    """Checks of severity error or critical failed: the data is wrong, retrying will not help."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


def _filesystem(url: str):
    """The filesystem and root of a landing URL. A URL that names an Airflow connection
    (``s3://conn_id@bucket/prefix``) is read with that connection, which must exist: the provider
    would otherwise carry on anonymously."""
    from airflow.sdk import ObjectStoragePath

    from etl.airflow.config import ConnectionUnusable, lookup_connection
    path = ObjectStoragePath(url)
    if path.conn_id and lookup_connection(path.conn_id) is None:
        raise ConnectionUnusable(f"the landing zone {url} names the Airflow connection {path.conn_id}, which does "
                                 "not exist")
    return path.fs, path.path


def mirror_landing(url: str, home: Path) -> Path:
    """Copy the files under an object-storage URL that are not mirrored yet into a local folder."""
    fs, root = _filesystem(url)
    root = root.rstrip("/")
    mirror = home / "landing-mirror" / hashlib.sha256(url.encode()).hexdigest()[:16]
    mirror.mkdir(parents=True, exist_ok=True)
    for remote in sorted(fs.find(root)):
        relative = remote[len(root):].lstrip("/") if remote.startswith(root) else Path(remote).name
        if not relative or any(part.startswith(".") or part == ".." for part in Path(relative).parts):
            continue
        local = mirror / relative
        size = fs.size(remote)
        if local.exists() and local.stat().st_size == size:
            continue
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.part")
        fs.get_file(remote, str(tmp))
        tmp.replace(local)
    return mirror


def fetch_day(settings: Settings, sources, day: date, wait: float = 60.0) -> dict:
    """Fetch every source; dated addresses for ``day`` and the business days just before it (a filing
    published late is still collected; the others are asked for conditionally). A source that fails is
    reported, not raised. ``sources`` None: nothing configured, nothing to do."""
    from etl.fetch.run import fetch, template_days
    log = logging.getLogger(__name__)
    if sources is None:
        log.info("no sources file or dailyseg_sources Variable: nothing to fetch (the landing zone is loaded as it is)")
        return {"sources": 0}
    first = template_days(None, day)[0]
    summary = fetch(settings, sources, first, day, wait=wait, on_message=log.warning)
    failures = [{"firm": r.source.firm, "url": url, "reason": why} for r in summary.results for url, why in r.failures]
    for failure in failures:
        log.warning("fetch failed for %(firm)s: %(url)s: %(reason)s", failure)
    result = {"run_id": summary.run_id, "sources": len(summary.results), "from": first.isoformat(),
              "to": day.isoformat(), "failures": failures[:50], "seconds": round(summary.seconds, 2),
              **{name: summary.total(name) for name in ("new", "republished", "unchanged", "not_published", "failed")}}
    log.info("fetch: %(new)d new, %(republished)d re-published, %(unchanged)d unchanged, %(not_published)d not "
             "published yet, %(failed)d failed, from %(sources)d sources", result)
    return result


def ingest_landing(settings: Settings, channels=None) -> dict:
    """Load what is new in the landing zone. A damaged embedded warehouse is rebuilt from the lake first,
    and ``channels`` (the alert channels) are told."""
    from etl.ingest.job import ingest
    landing = settings.landing
    folder = mirror_landing(landing, settings.home) if isinstance(landing, str) else landing
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)  # an empty landing zone is a quiet day, not an error
    summary = ingest([folder], settings, wait=WAREHOUSE_WAIT, on_message=logging.getLogger(__name__).warning)
    repair = None
    if summary.repair is not None:
        from etl.alerts import notify_event
        repair = summary.repair.describe()
        notify_event(settings, "warehouse repaired", repair, channels=channels)
    return {
        "repair": repair,
        "run_id": summary.run_id, "files_seen": summary.files_seen, "loaded": summary.loaded,
        "duplicates": summary.duplicates, "rejected": summary.rejected_count,
        "rejections": [{"path": r.source_path, "reason": r.reason, "line": r.line_no}
                       for r in summary.rejected if not r.already_known][:50],
        "value_rows": summary.value_rows, "seconds": round(summary.seconds, 2),
        "end_dates": sorted(d.isoformat() for d in summary.loaded_end_dates),
    }


def validation_spans(days: Iterable[date]) -> list[tuple[date, date]]:
    """The fewest date ranges covering these days, each range exactly: consecutive business days (a
    weekend or holiday between them included) share one."""
    spans: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if spans and day <= next_business_day(spans[-1][1]):
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def validate_days(settings: Settings, days: Iterable[date]) -> dict:
    """Validate the filings of these End Dates, one validation run per span of consecutive days;
    ``ChecksFailed`` (after every span ran) when errors or deficiencies were found."""
    from etl.dq.validate import validate
    spans = validation_spans(days)
    summaries = [validate(settings, first, last, wait=WAREHOUSE_WAIT) for first, last in spans]
    findings = [f for s in summaries for f in s.findings]
    severities = {level: sum(s.by_severity[level] for s in summaries) for level in ("critical", "error", "warning")}
    result = {
        "run_ids": [s.run_id for s in summaries], "spans": [[str(a), str(b)] for a, b in spans],
        "success": all(s.success for s in summaries), "filings_checked": sum(s.filings_checked for s in summaries),
        "findings": len(findings), "critical": severities["critical"], "errors": severities["error"],
        "warnings": severities["warning"], "data_docs": summaries[-1].data_docs_path if summaries else None,
        "first": [f.message for f in sorted(findings, key=lambda f: f.key())[:10]],
    }
    if not result["success"]:
        from etl.alerts.digest import span_text
        raise ChecksFailed(f"{result['critical']} critical and {result['errors']} error findings for "
                           f"{span_text(spans)}: " + " | ".join(result["first"][:3]), result)
    return result


def publish_days(settings: Settings, first: date, last: date, loaded: dict | None = None,
                 validation: dict | None = None) -> dict:
    """What the warehouse publishes for End Dates ``first``..``last`` (latest versions), with what the
    run loaded and what its checks found: the summary an Asset event carries."""
    from etl.warehouse import open_warehouse
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        frame = warehouse.read_df(
            "SELECT count(DISTINCT firm) AS firms, count(DISTINCT filing_id) AS filings, count(*) AS value_rows "
            "FROM seg_values_latest WHERE end_date BETWEEN :first AND :last", {"first": first, "last": last})
    finally:
        warehouse.dispose()
    row = frame.iloc[0]
    loaded = loaded or {}
    summary = {"end_date": first.isoformat() if first == last else None, "date_from": first.isoformat(),
               "date_to": last.isoformat(), "firms": int(row.firms), "filings": int(row.filings),
               "value_rows": int(row.value_rows), "loaded": loaded.get("loaded", 0),
               "rejected": loaded.get("rejected", 0), "end_dates_loaded": loaded.get("end_dates", []),
               "warehouse": warehouse.describe()}
    if validation:
        summary["checks"] = {key: validation.get(key) for key in ("success", "critical", "errors", "warnings",
                                                                  "spans")}
    return summary


def alert_run(settings: Settings, validation: dict | None, links: dict | None = None, channels=None) -> dict:
    """Send the findings of a validation run (new ones only); never raises for a delivery problem."""
    from etl.alerts import notify_validation_run
    if not validation or not validation.get("run_ids"):
        return {"sent": [], "note": "no validation result to alert on"}
    return notify_validation_run(settings, validation["run_ids"], links=links or {}, channels=channels,
                                 wait=WAREHOUSE_WAIT)

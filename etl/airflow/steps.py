"""The nightly job as plain functions, one per step: what each task of ``daily_seg_load`` calls.

``fetch_day`` downloads what the firms' web sites published into the landing zone, ``ingest_landing``
loads whatever is new in the landing zone (a folder, or any fsspec URL whose
filesystem is installed: its files are mirrored locally first), ``validate_day`` checks one business
day, ``publish_day`` reports what the warehouse now holds for it, and ``alert_run`` sends the findings.
Each takes the shared settings and returns a small JSON-able dict (Airflow passes them as XComs).
Bad data raises ``ChecksFailed``, which a retry cannot fix; anything else may be transient.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from pathlib import Path

from etl.settings import Settings, is_url


class ChecksFailed(Exception):
    """Checks of severity error or critical failed: the data is wrong, retrying will not help."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


def mirror_landing(url: str, home: Path) -> Path:
    """Copy the files under an fsspec URL that are not mirrored yet into a local folder."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
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
    from etl.ingest.job import ingest
    landing = str(settings.landing)
    folder = mirror_landing(landing, settings.home) if is_url(landing) else Path(landing.removeprefix("file://"))
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)  # an empty landing zone is a quiet day, not an error
    summary = ingest([folder], settings, on_message=logging.getLogger(__name__).warning)
    repair = None
    if summary.repair is not None:
        from etl.alerts import notify_event
        from etl.cli.printers import repair_text
        repair = repair_text(summary.repair).strip()
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


def validation_summary_dict(summary) -> dict:
    severities = summary.by_severity
    return {
        "run_id": summary.run_id, "date_from": str(summary.date_from), "date_to": str(summary.date_to),
        "success": summary.success, "filings_checked": summary.filings_checked,
        "findings": len(summary.findings), "critical": severities["critical"], "errors": severities["error"],
        "warnings": severities["warning"], "data_docs": summary.data_docs_path, "results": summary.results_path,
        "first": [f.message for f in summary.findings[:10]],
    }


def validate_day(settings: Settings, day: date) -> dict:
    """Validate the filings whose End Date is ``day``; ``ChecksFailed`` when errors or deficiencies."""
    from etl.dq.validate import validate
    summary = validate(settings, day, day)
    result = validation_summary_dict(summary)
    if not summary.success:
        raise ChecksFailed(f"{result['critical']} critical and {result['errors']} error findings for {day}: "
                           + " | ".join(result["first"][:3]), result)
    return result


def publish_day(settings: Settings, day: date) -> dict:
    """What the warehouse publishes for ``day`` (latest versions), for the asset event and the log."""
    from etl.warehouse import open_warehouse
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        frame = warehouse.read_df(
            "SELECT count(DISTINCT firm) AS firms, count(DISTINCT filing_id) AS filings, count(*) AS value_rows "
            "FROM seg_values_latest WHERE end_date = :day", {"day": day})
    finally:
        warehouse.dispose()
    row = frame.iloc[0]
    return {"end_date": day.isoformat(), "firms": int(row.firms), "filings": int(row.filings),
            "value_rows": int(row.value_rows), "warehouse": warehouse.describe()}


def alert_run(settings: Settings, validation: dict | None, links: dict | None = None, channels=None) -> dict:
    """Send the findings of a validation run (new ones only); never raises for a delivery problem."""
    from etl.alerts import notify_validation_run
    if not validation:
        return {"sent": [], "note": "no validation result to alert on"}
    return notify_validation_run(settings, validation["run_id"], links=links or {}, channels=channels)

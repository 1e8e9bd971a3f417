"""Time as dailyseg records it: naive UTC timestamps in every table, and the ids of runs."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone


def utc_now() -> datetime:
    """Now, in UTC, without a time zone (the warehouse's TIMESTAMP columns hold UTC)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id(prefix: str = "") -> str:
    """A run's id: ``[prefix]20160315T123000-1a2b3c4d`` (UTC start time, then 8 random hex digits),
    sortable by start and unique across machines."""
    return prefix + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def file_stamp() -> str:
    """A timestamp for the name of a file set aside (``warehouse.duckdb.damaged-20160315T123000``)."""
    return datetime.now().strftime("%Y%m%dT%H%M%S")

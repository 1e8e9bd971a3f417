"""The lake's raw zone and quarantine: every file kept exactly as it arrived.

Layout under ``DAILYSEG_LAKE``::

    raw/ab/abcdef....txt          every accepted file, named by its sha256 (the same bytes: no-op);
                                  .html for HTML pages so named, .pdf for every PDF
    quarantine/<sha16>/<name>     every rejected file, with reason.json beside it

Files are written through a hidden temporary name and renamed into place, so a reader never sees half
a file. Raw files are not synced one by one: the loader calls ``flush_to_disk`` once per batch, before
the warehouse commit that refers to them. This module needs no third-party package, so the worker
processes that read and parse files (``etl.ingest.workers``) can import it cheaply.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from etl.lake.durable import atomic_write, sync_filesystem

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_TMP_PID = re.compile(r"\.tmp-(\d+)-")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


class RawWriting:
    """Marks the raw zone as being written by this run, and on entry removes what runs that died while
    writing left behind: half-written temporaries, whose writer process no longer exists.

    Normally this costs a marker file; the raw zone is only swept after a run was killed.
    """

    def __init__(self, lake: Path):
        self.raw = lake / "raw"
        self.marker = self.raw / f".writing-{os.getpid()}"

    def __enter__(self) -> "RawWriting":
        self.raw.mkdir(parents=True, exist_ok=True)
        me = os.getpid()  # our own marker at entry: an earlier run in this process ended on an error
        dead = [m for m in self.raw.glob(".writing-*")
                if m.name[9:].isdigit() and (int(m.name[9:]) == me or not _alive(int(m.name[9:])))]
        if dead:
            sweep_abandoned(self.raw)
            for marker in dead:
                marker.unlink(missing_ok=True)
        self.marker.touch()
        return self

    def __exit__(self, exc_type, *_) -> None:
        # After an error the marker stays: a worker killed mid-write leaves its temporary behind, and
        # may not even be reaped yet, so the next run (which finds this marker's run over) sweeps.
        if exc_type is None:
            self.marker.unlink(missing_ok=True)


def sweep_abandoned(raw: Path) -> int:
    """Delete temporaries under ``raw`` whose writing process is gone; return how many."""
    removed = 0
    for bucket in raw.iterdir() if raw.is_dir() else ():
        if not bucket.is_dir():
            continue
        for entry in os.scandir(bucket):
            match = _TMP_PID.search(entry.name)
            if entry.name.startswith(".") and match and not _alive(int(match[1])):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed


def flush_to_disk(lake: Path) -> None:
    """Make the raw files written so far durable, with their folders, before the warehouse commit that
    refers to them: the lake's filesystem only, not every disk of the machine."""
    sync_filesystem(lake)


def raw_path(lake: Path, sha256: str, suffix: str, source_format: str = "text") -> Path:
    """Where ``archive_raw`` stores these bytes: a PDF as ``.pdf``, other files as ``.html`` (or ``.htm``)
    when so named, else ``.txt``."""
    if source_format == "pdf":
        suffix = ".pdf"
    else:
        suffix = suffix.lower() if suffix.lower() in (".txt", ".htm", ".html") else ".txt"
    return lake / "raw" / sha256[:2] / f"{sha256}{suffix}"


def archive_raw(lake: Path, sha256: str, data: bytes, suffix: str, source_format: str = "text") -> Path:
    """Store accepted bytes under their hash; a second copy of the same bytes writes nothing.

    Not fsynced file by file: the loader calls ``flush_to_disk`` once per batch before committing.
    """
    target = raw_path(lake, sha256, suffix, source_format)
    if not target.exists():
        atomic_write(target, data, durable=False)
    return target


def safe_file_name(name: str) -> str:
    """A file name with no path, no traversal and only portable characters."""
    cleaned = _SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name).strip("._") or "file"
    return cleaned[:120]


def quarantine(lake: Path, source: Path, sha256: str | None, data: bytes | None, reason: dict) -> Path:
    """Copy a rejected file into the quarantine with its reason; the landing zone is left as it was."""
    folder = lake / "quarantine" / (sha256[:16] if sha256 else "unreadable-" + safe_file_name(str(source)))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_file_name(source.name)
    if not target.exists():
        if data is not None:
            atomic_write(target, data)
        else:
            try:
                shutil.copyfile(source, target, follow_symlinks=False)
            except OSError:
                pass  # unreadable: the reason file says so
    atomic_write(folder / "reason.json", json.dumps(reason, indent=2, default=str).encode())
    return target

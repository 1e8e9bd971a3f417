"""Durability without flushing the machine: files and their folders are synced, on the lake's filesystem."""

from __future__ import annotations

import os
import stat

from etl.lake import raw
from etl.lake.durable import atomic_write


def test_a_durable_write_syncs_the_file_and_then_its_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    atomic_write(tmp_path / "part" / "part-0.parquet", b"data")
    assert synced == ["file", "folder"]
    assert (tmp_path / "part" / "part-0.parquet").read_bytes() == b"data"
    assert [p.name for p in (tmp_path / "part").iterdir()] == ["part-0.parquet"]  # no temporary left


def test_a_batch_of_raw_files_is_made_durable_without_syncing_every_disk(tmp_path, monkeypatch):
    def machine_wide_sync():
        raise AssertionError("os.sync flushes every disk of the machine")

    monkeypatch.setattr(os, "sync", machine_wide_sync)
    stored = raw.archive_raw(tmp_path, "ab" * 32, b"a filing", ".txt")
    raw.flush_to_disk(tmp_path)
    assert stored.read_bytes() == b"a filing"

"""The raw zone's temporaries: a run removes what a killed writer left half-written, never what a live
writer is still filling."""

from __future__ import annotations

import os
import subprocess
import sys

from etl.lake import raw as raw_archive


def test_a_killed_writers_temporary_is_swept_and_a_live_writers_is_kept(tmp_path):
    bucket = tmp_path / "raw" / "ab"
    bucket.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "raw" / f".writing-{dead.pid}").touch()  # the killed run's marker
    abandoned = bucket / f".abcd.txt.tmp-{dead.pid}-x1"
    live = bucket / f".abce.txt.tmp-{os.getpid()}-x2"
    kept = bucket / "abcf.txt"
    for path in (abandoned, live, kept):
        path.write_bytes(b"half")
    with raw_archive.RawWriting(tmp_path):
        assert (tmp_path / "raw" / f".writing-{os.getpid()}").exists()
    assert not abandoned.exists() and live.exists() and kept.exists()
    assert not list((tmp_path / "raw").glob(".writing-*"))


def test_without_a_dead_run_nothing_is_swept(tmp_path):
    bucket = tmp_path / "raw" / "ab"
    bucket.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stray = bucket / f".abcd.txt.tmp-{dead.pid}-x1"
    stray.write_bytes(b"half")
    with raw_archive.RawWriting(tmp_path):
        pass
    assert stray.exists()  # no dead run's marker: the zone is not walked at all


def test_a_run_ending_on_an_error_leaves_its_marker_and_the_next_run_sweeps(tmp_path):
    """A worker killed mid-write stops the run with an error; its temporary must not outlive the next
    run, whether that run is a new process or the same one (an Airflow task process, a notebook)."""
    bucket = tmp_path / "raw" / "ab"
    bucket.mkdir(parents=True)
    worker = subprocess.Popen([sys.executable, "-c", "pass"])
    worker.wait()
    half = bucket / f".abcd.txt.tmp-{worker.pid}-x1"
    try:
        with raw_archive.RawWriting(tmp_path):
            half.write_bytes(b"half")  # the worker died here
            raise RuntimeError("a parsing worker was lost")
    except RuntimeError:
        pass
    assert (tmp_path / "raw" / f".writing-{os.getpid()}").exists()
    with raw_archive.RawWriting(tmp_path):  # the next run, in this same process
        pass
    assert not half.exists()
    assert not list((tmp_path / "raw").glob(".writing-*"))

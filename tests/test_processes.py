"""Bounded calls on untrusted input: a call over its time, over its memory or crashing its child ends as an
``Overrun`` and the caller goes on with a fresh child; the child dies with its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from etl.processes import BoundedWorker, Overrun, run_bounded
from tests.conftest import REPO


def _echo(value, seconds=0.0):
    time.sleep(seconds)
    return value


def _apply(function, *args):
    return function(*args)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _abort():
    os.abort()


def _allocate(mb: int) -> int:
    return len(bytearray(mb << 20))


def _fail():
    raise ValueError("not like this")


def test_results_come_back_whole_and_one_child_serves_many_calls():
    big = os.urandom(3 << 20)  # larger than a pipe's buffer, both ways
    with BoundedWorker(_apply, seconds=10, memory_bytes=256 << 20) as worker:
        assert worker.call(bytes, big) == big
        assert [worker.call(int, n) for n in range(50)] == list(range(50))
        pid = worker.call(os.getpid)
        assert pid != os.getpid() and worker.call(os.getpid) == pid  # the same child, not one per call
    assert not _running(pid)  # closing stops it


def test_a_call_over_its_time_is_killed_at_the_deadline_and_the_next_call_runs():
    with BoundedWorker(_apply, seconds=0.5, memory_bytes=256 << 20) as worker:
        first = worker.call(os.getpid)
        started = time.monotonic()
        with pytest.raises(Overrun) as overrun:
            worker.call(_echo, "late", 30)
        assert overrun.value.kind == "time"
        assert time.monotonic() - started < 3
        assert not _running(first)  # the stalled child is gone, not left running
        assert worker.call(_echo, "next") == "next"


def test_a_call_that_crashes_its_child_is_an_overrun_and_the_caller_lives_on():
    with BoundedWorker(lambda kind: _abort() if kind == "crash" else kind, seconds=10,
                       memory_bytes=256 << 20) as worker:
        assert worker.call("fine") == "fine"
        with pytest.raises(Overrun) as overrun:
            worker.call("crash")
        assert (overrun.value.kind, overrun.value.detail) == ("ended", "SIGABRT")
        assert worker.call("after") == "after"


def test_memory_beyond_the_bound_ends_the_call_and_within_it_is_fine():
    with BoundedWorker(_allocate, seconds=10, memory_bytes=64 << 20) as worker:
        assert worker.call(16) == 16 << 20
        with pytest.raises(Overrun) as overrun:
            worker.call(512)
        assert overrun.value.kind == "ended"
        assert worker.call(16) == 16 << 20


def test_an_exception_is_reported_not_raised_in_the_caller_as_is():
    with pytest.raises(Overrun) as overrun:
        run_bounded(_fail, seconds=10, memory_bytes=64 << 20)
    assert overrun.value.kind == "error" and "ValueError: not like this" in overrun.value.detail


def test_the_child_dies_with_its_parent(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from etl.processes import BoundedWorker
        worker = BoundedWorker(lambda: __import__("os").getpid(), seconds=10, memory_bytes=64 << 20)
        print(worker.call(), flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child), "the bounded child outlived its parent"

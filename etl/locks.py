"""Inter-process locks on files: one writer of an embedded warehouse, one rewriter of the lake.

``exclusive(path, wait=...)`` holds an ``flock`` on ``path`` for the ``with`` block. A second process
waits up to ``wait`` seconds (0: fail at once) and then gets ``LockBusy`` naming who holds the lock and
since when, instead of corrupting anything. The lock dies with its process: a crash never leaves a
stale lock behind, provided no child process keeps a copy of the lock's file descriptor. Worker
processes are started by ``etl.processes.fork_pool``, which closes those copies in every worker
(``release_inherited``).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from etl import UserError


#: File descriptors of the locks this process holds (closed in forked workers: ``release_inherited``).
_held: set[int] = set()


class LockBusy(UserError, RuntimeError):
    """Another process holds the lock; the message says which and what to do."""


def wait_for(try_acquire, holder, wait: float, on_wait, busy, waiting, poll: float = 0.2) -> None:
    """Call ``try_acquire`` until it returns True. Meanwhile tell ``on_wait`` once, with
    ``waiting(holder())``; after ``wait`` seconds raise ``LockBusy(busy(holder()))``."""
    deadline = time.monotonic() + wait
    told = False
    while not try_acquire():
        who = holder()
        if time.monotonic() >= deadline:
            raise LockBusy(busy(who))
        if on_wait is not None and not told:
            on_wait(waiting(who))
            told = True
        time.sleep(poll)


@contextmanager
def exclusive(path: Path, purpose: str, wait: float = 0.0, on_wait=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    _held.add(fd)
    try:
        def try_lock() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        wait_for(try_lock, lambda: _holder(fd), wait, on_wait,
                 busy=lambda who: f"{purpose} is busy: {who}. Wait for it to finish, or retry with a longer --wait.",
                 waiting=lambda who: f"waiting for {purpose}: {who}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": datetime.now(timezone.utc).isoformat(
            timespec="seconds"), "purpose": purpose}).encode(), 0)
        yield
    finally:
        _held.discard(fd)
        os.close(fd)  # closing releases the flock (once no forked child has a copy: release_inherited)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"process {info.get('pid', '?')} has held it since {info.get('since', '?')}"
    except (OSError, ValueError):
        return "another process holds it"


def release_inherited() -> None:
    """In a forked child: close the copies of the parent's lock files, so that only the parent holds them
    (a child holding a copy would keep the lock alive after the parent died)."""
    for fd in list(_held):
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()

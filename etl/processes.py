"""Worker processes that never outlive the process that started them, and never hold its locks.

``fork_pool(n)`` is the one way dailyseg starts workers (the ingest's parsers, the report's chart
drawers). Each worker, as it starts:

* asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``), however the parent dies
  (SIGKILL from a supervisor or the OOM killer included), and exits at once if the parent is already gone;
* closes its copies of the parent's lock files (``etl.locks``). A forked child shares the parent's open
  file descriptions, and an ``flock`` lives until the last of them is closed: a worker that kept its
  copy would hold the warehouse's writer lock after its parent died.

Workers are forked, not spawned: spawn and forkserver re-import the caller's ``__main__``, which fails
(and respawns workers forever) when dailyseg runs inside a notebook, a heredoc or a task runner.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

from etl import locks

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)


def _start_worker(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    _die_with_parent(parent)
    locks.release_inherited()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a stop is the parent's business; workers just end
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C goes to the whole group: the parent handles it
    if initializer is not None:
        initializer(*initargs)


def fork_pool(workers: int, initializer: Callable | None = None, initargs: tuple = ()) -> ProcessPoolExecutor:
    """A process pool of ``workers`` forked workers that die with this process and hold none of its locks."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker,
                               initargs=(os.getpid(), initializer, initargs))


def can_fork_workers() -> bool:
    """False inside a daemonic process (a multiprocessing worker may not have children)."""
    return not multiprocessing.current_process().daemon

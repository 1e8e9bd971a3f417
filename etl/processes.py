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


# -- progress markers ----------------------------------------------------------------------------------------
#: ``DAILYSEG_TRACE=FILE`` makes a run append one line per step it reaches (``ingest:batch-committed 3``)
#: to FILE, with its process id. Operators can follow a long run with ``tail -f``; the crash tests kill a
#: run at exactly these points instead of after a guessed number of seconds.
TRACE_VARIABLE = "DAILYSEG_TRACE"
_trace_fd: int | None = None


def mark(step: str) -> None:
    """Report that this process has reached ``step`` (a no-op unless ``DAILYSEG_TRACE`` is set)."""
    global _trace_fd
    path = os.environ.get(TRACE_VARIABLE)
    if not path:
        return
    if _trace_fd is None:
        _trace_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    os.write(_trace_fd, f"{os.getpid()} {step}\n".encode())


# -- stopping on request -------------------------------------------------------------------------------------
class Stopped(BaseException):
    """The process was asked to stop (SIGTERM, as Airflow, systemd and ``docker stop`` send).

    A ``BaseException``, like ``KeyboardInterrupt``: it unwinds through every ``with`` block (an open
    transaction rolls back, locks are released, worker pools are shut down) without being mistaken for
    an error of the data by the ``except Exception`` handlers that set a bad file aside.
    """


def _stop(signum, _frame) -> None:
    raise Stopped(signal.Signals(signum).name)


def stop_on_sigterm() -> None:
    """From now on, SIGTERM raises ``Stopped`` in the main thread (call once, from the main thread)."""
    signal.signal(signal.SIGTERM, _stop)

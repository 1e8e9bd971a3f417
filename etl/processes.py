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

``run_bounded(function, args, seconds, memory_bytes)`` runs one call in a child process of the same
kind, with a bound on its wall time and on the memory it may add, for work on untrusted input (reading
a PDF) that could hang, exhaust memory or crash: the caller gets the result, or ``Overrun``, and lives on.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import resource
import select
import signal
import sys
import time
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


def _become_child(parent: int) -> None:
    _die_with_parent(parent)
    locks.release_inherited()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a stop is the parent's business; workers just end
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C goes to the whole group: the parent handles it


def _start_worker(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    _become_child(parent)
    if initializer is not None:
        initializer(*initargs)


def fork_pool(workers: int, initializer: Callable | None = None, initargs: tuple = ()) -> ProcessPoolExecutor:
    """A process pool of ``workers`` forked workers that die with this process and hold none of its locks."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker,
                               initargs=(os.getpid(), initializer, initargs))


def can_fork_workers() -> bool:
    """False inside a daemonic process (a multiprocessing worker may not have children)."""
    return not multiprocessing.current_process().daemon


class Overrun(RuntimeError):
    """A bounded call did not finish: ``kind`` is ``time`` (killed at its deadline), ``ended`` (its process
    ended abruptly: out of memory, or crashed) or ``error`` (it raised); ``detail`` says more."""

    def __init__(self, kind: str, detail: str):
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def _address_space() -> int:
    """The bytes of address space this process maps now."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


def _bounded_child(parent: int, write_end: int, function: Callable, args: tuple, memory_bytes: int) -> None:
    status = 0
    try:
        _become_child(parent)
        # The limit counts address space, so it is set above what the process (a copy of its parent) maps
        # already: what the call may add is ``memory_bytes``.
        limit = _address_space() + memory_bytes
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        try:
            outcome = ("ok", function(*args))
        except MemoryError:
            outcome = ("memory", "out of memory")
        except Exception as exc:  # reported to the parent, which decides what it means
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(payload)
        while view:
            view = view[os.write(write_end, view):]
    except BaseException:
        status = 70
    finally:
        os._exit(status)  # no interpreter teardown: nothing of the parent's is flushed or closed twice


def _read_until(fd: int, deadline: float) -> list[bytes]:
    """Everything written to the pipe ``fd`` until its writer closes it, or ``Overrun`` at ``deadline``."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Overrun("time", "still running at its deadline")
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return chunks
            chunks.append(chunk)


def run_bounded(function: Callable, args: tuple = (), *, seconds: float, memory_bytes: int):
    """``function(*args)`` in a forked child that may run ``seconds`` and add ``memory_bytes`` of memory;
    its result (pickled back), or ``Overrun``. The child dies with its parent and holds none of its locks."""
    parent = os.getpid()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _bounded_child(parent, write_end, function, args, memory_bytes)
    os.close(write_end)
    try:
        chunks = _read_until(read_end, time.monotonic() + seconds)
    except BaseException:  # the deadline, or the caller interrupted: the child does not outlive the call
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise Overrun("ended", f"{name}")
    if not chunks:
        raise Overrun("ended", f"exit status {os.waitstatus_to_exitcode(status)}")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "ok":
        return value
    raise Overrun("ended" if kind == "memory" else "error", value)

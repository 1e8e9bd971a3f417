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

``BoundedWorker(function, seconds, memory_bytes)`` runs calls in one child process of the same kind, each
with a bound on its wall time and on the memory it may add, for work on untrusted input (reading a PDF)
that could hang, exhaust memory or crash: the caller gets the result, or ``Overrun``, and lives on.
(One child serves many calls: forking one per call costs more than reading a small PDF.)
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
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
    # What the worker inherited is never garbage it made: out of its collector's sight, which would
    # otherwise write to every inherited object's header and so copy every page of the parent's heap.
    gc.freeze()
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


def _read_exactly(fd: int, n: int, deadline: float | None = None) -> bytes | None:
    """``n`` bytes from the pipe ``fd`` (None at end of file), or ``Overrun`` at ``deadline``."""
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                if time.monotonic() >= deadline:
                    raise Overrun("time", "still running at its deadline")
                continue
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _frame(obj) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(8, "little") + payload


def _serve(parent: int, requests: int, replies: int, function: Callable, memory_bytes: int,
           recycle_after: int) -> None:
    """The child's loop: a call per request until the parent closes the pipe, then exit."""
    status = 0
    try:
        _become_child(parent)
        faulthandler.disable()  # a crash here is an outcome the parent reports, not a traceback to print
        # The limit counts address space, so it is set above what the process (a copy of its parent) maps
        # already: what the calls may add is ``memory_bytes``.
        base = _address_space()
        limit = base + memory_bytes
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        for served in range(1, recycle_after + 1):
            header = _read_exactly(requests, 8)
            if header is None:
                break
            args = pickle.loads(_read_exactly(requests, int.from_bytes(header, "little")) or b"")
            try:
                outcome = ("ok", function(*args))
            except MemoryError:
                outcome = ("memory", "out of memory")
            except Exception as exc:  # reported to the parent, which decides what it means
                outcome = ("error", f"{type(exc).__name__}: {exc}")
            del args
            # A child that has grown (memory the allocators keep) makes way for a fresh one, so that a
            # later call still has its whole allowance.
            last = served == recycle_after or _address_space() > base + memory_bytes // 2
            _write_all(replies, _frame((outcome, last)))
            if last:
                break
    except BaseException:
        status = 70
    finally:
        os._exit(status)  # no interpreter teardown: nothing of the parent's is flushed or closed twice


class BoundedWorker:
    """A forked child that runs ``function`` on one set of arguments after another (``call``), each call
    bounded: it may take ``seconds`` and the child may add ``memory_bytes`` of memory. A call over either,
    or one that crashes the child, raises ``Overrun``; the child is then replaced and the caller lives on.
    Like the pool's workers, the child dies with its parent and holds none of its locks. Arguments and
    results travel pickled through pipes; the child is started on first use and again after a failure or
    every ``recycle_after`` calls."""

    def __init__(self, function: Callable, seconds: float, memory_bytes: int, recycle_after: int = 1000):
        self.function = function
        self.seconds = seconds
        self.memory_bytes = memory_bytes
        self.recycle_after = recycle_after
        self._child: tuple[int, int, int, int] | None = None  # owner pid, child pid, request fd, reply fd
        self._served = 0

    def __enter__(self) -> BoundedWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> tuple[int, int, int, int]:
        parent = os.getpid()
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(request_write)
            os.close(reply_read)
            _serve(parent, request_read, reply_write, self.function, self.memory_bytes, self.recycle_after)
        os.close(request_read)
        os.close(reply_write)
        self._served = 0
        return parent, pid, request_write, reply_read

    def close(self) -> None:
        """Stop the child (if this process started it)."""
        child, self._child = self._child, None
        if child is None or child[0] != os.getpid():
            return  # nothing, or a copy inherited across a fork: the child is not ours to stop
        _, pid, request, reply = child
        os.close(request)  # end of file: the child leaves its loop
        os.close(reply)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass

    def call(self, *args):
        """``function(*args)`` in the child: its result, or ``Overrun``."""
        if self._child is not None and self._child[0] != os.getpid():
            self._child = None  # inherited from the process this one was forked from
        fresh = self._child is None or self._served == 0
        try:
            return self._call(args)
        except Overrun as overrun:
            if overrun.kind != "ended" or fresh:
                raise
        return self._call(args)  # ended in a child that had served others: once more in a fresh one

    def _call(self, args: tuple):
        if self._child is None:
            self._child = self._start()
        _, pid, request, reply = self._child
        deadline = time.monotonic() + self.seconds
        try:
            _write_all(request, _frame(args))
            header = _read_exactly(reply, 8, deadline)
            payload = None if header is None else _read_exactly(reply, int.from_bytes(header, "little"), deadline)
        except BrokenPipeError:
            payload = None
        except BaseException:  # the deadline, or the caller interrupted: the child does not outlive the call
            self.close()
            raise
        if payload is None:  # the child ended without answering
            self._child = None
            os.close(request)
            os.close(reply)
            _, status = os.waitpid(pid, 0)
            raise Overrun("ended", signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status)
                          else f"exit status {os.waitstatus_to_exitcode(status)}")
        (kind, value), last = pickle.loads(payload)
        self._served += 1
        if last:
            self._child = None
            os.close(request)
            os.close(reply)
            os.waitpid(pid, 0)
        if kind == "ok":
            return value
        raise Overrun("ended" if kind == "memory" else "error", value)


def run_bounded(function: Callable, args: tuple = (), *, seconds: float, memory_bytes: int):
    """``function(*args)`` once, in a fresh child bounded as a ``BoundedWorker``'s calls are."""
    with BoundedWorker(function, seconds, memory_bytes, recycle_after=1) as worker:
        return worker.call(*args)

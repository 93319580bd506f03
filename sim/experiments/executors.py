"""Where the runs of a sweep execute: in process, a local process pool, or a Dask cluster.

All three are :class:`concurrent.futures.Executor`\\ s, so the runner has one code path:

- ``-j 1`` (or a job of at most :data:`SMALL_JOB` runs): :class:`InlineExecutor`, no pool.
- ``-j N``: :class:`~concurrent.futures.ProcessPoolExecutor` with N worker processes.
- ``--scheduler local``: a ``dask.distributed.LocalCluster`` of N single-threaded workers;
  ``--scheduler tcp://host:8786``: an existing Dask cluster (e.g. started by dask-jobqueue on
  SLURM or PBS). Both through ``Client.get_executor()``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any

from sim.errors import HashsimError
from sim.experiments.errors import UsageError

#: At most this many runs: a pool costs more than it saves, so they run in process.
SMALL_JOB = 2
#: Seconds a Dask scheduler has to accept the connection and answer Dask's handshake.
CONNECT_TIMEOUT_S = 20.0
#: Seconds between two looks at a Dask cluster's size (workers join as batch jobs start).
RESIZE_INTERVAL_S = 2.0


class InlineExecutor(Executor):
    """Runs each call at once, in the calling process (``-j 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


class MissingExtraError(HashsimError):
    """An optional dependency is not installed."""

    exit_code = 2


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Pool:
    """An executor that can be replaced after a worker process died (a broken pool)."""

    def __init__(self, jobs: int, scheduler: str | None, pending: int) -> None:
        self.jobs = max(1, jobs)
        self.scheduler = scheduler
        self.inline = pending == 0 or (
            scheduler is None and (self.jobs == 1 or pending <= SMALL_JOB))
        self._client: Any = None
        self._cluster: Any = None
        self._sized_at = -float("inf")
        try:
            self.executor: Executor = self._open()
            self._window = 1 if self.inline else 2 * self.jobs
            self.threads = self._resize()
        except BaseException:
            self._close_dask()  # a cluster started before the failure is not left running
            raise

    @property
    def description(self) -> str:
        if self.inline:
            return "in process"
        if self.scheduler is None:
            return f"process pool of {self.jobs} workers"
        if self.scheduler == "local":
            return f"Dask LocalCluster of {self.jobs} workers"
        return f"Dask cluster at {self.scheduler}"

    @property
    def remote(self) -> bool:
        """Whether runs go to an existing Dask cluster (``--scheduler ADDRESS``)."""
        return self.scheduler not in (None, "local") and self._client is not None

    @property
    def window(self) -> int:
        """Runs submitted at once: enough to keep every worker busy, few enough to bound
        the memory held by finished-but-unwritten results. On an existing Dask cluster the
        cluster's size, looked at again every few seconds, sets it, not -j: batch jobs
        (dask-jobqueue) add workers while the sweep runs."""
        if self.remote and time.monotonic() - self._sized_at >= RESIZE_INTERVAL_S:
            self._resize()
        return self._window

    def _resize(self) -> int | None:
        """Set the window from the Dask cluster's threads; their number (None if local)."""
        if not self.remote:
            return None
        self._sized_at = time.monotonic()
        try:
            threads = sum(self._client.nthreads().values())
        except Exception:  # the scheduler is busy or gone: keep the window; runs will tell
            return None
        self._window = max(4, 2 * threads)
        return int(threads)

    @property
    def restartable(self) -> bool:
        return self.scheduler is None and not self.inline

    def restart(self) -> None:
        """Replace a broken process pool by a fresh one."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._open()

    def close(self, cancel: bool = False) -> None:
        if isinstance(self.executor, ProcessPoolExecutor):
            # the workers' running tasks too: a process interrupted alone (SIGTERM, not the
            # terminal's Ctrl-C, which reaches its workers as well) would leave them running
            # (the executor offers no public way to stop them). SIGKILL: a forked worker has
            # the CLI's SIGTERM handler, and a run in progress would take it for its own
            # interrupt and carry on. Shards are written whole or not at all.
            workers = list((getattr(self.executor, "_processes", None) or {}).values()) \
                if cancel else []
            self.executor.shutdown(wait=not cancel, cancel_futures=cancel)
            for process in workers:
                process.kill()
        else:  # Dask's ClientExecutor has no cancel_futures
            self.executor.shutdown(wait=not cancel)
        self._close_dask()

    def _close_dask(self) -> None:
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(cancel=exc is not None)

    def _open(self) -> Executor:
        if self.inline:
            return InlineExecutor()
        if self.scheduler is None:
            return ProcessPoolExecutor(self.jobs, mp_context=_context())
        return self._dask()

    def _dask(self) -> Executor:
        try:
            import logging

            from distributed import Client, LocalCluster
        except ImportError:
            raise MissingExtraError("--scheduler needs Dask: pip install 'hashsim[dask]' "
                                    "(or 'dask[distributed]')") from None
        if self._client is None:
            if self.scheduler == "local":
                with _sigint_ignored():  # (by the worker processes the cluster starts)
                    self._cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1,
                                                 processes=True, dashboard_address=None,
                                                 silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
            else:
                _probe(str(self.scheduler))
                self._client = _connect(Client, str(self.scheduler), CONNECT_TIMEOUT_S)
        return self._client.get_executor(pure=False)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while a LocalCluster starts its worker processes, which inherit that.

    A terminal's Ctrl-C reaches every process of the sweep, and each Dask worker printed a
    30-line KeyboardInterrupt traceback of its own above the sweep's "interrupted" message,
    as though the sweep had crashed; the sweep stops them itself (it closes the cluster).
    A Ctrl-C in the second it takes is ignored (press it again).
    """
    before = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or before is None:
        yield  # (only the main thread may set handlers; None: one set outside Python)
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _connect(client_class: Any, address: str, timeout_s: float) -> Any:
    """A Dask client of the scheduler at `address`, or a UsageError within about
    `timeout_s`. Dask's own timeout does not cover a server that accepts the connection and
    never answers (a web server, the dashboard's port), and a server that answers something
    else can raise anything: both are a usage error, not a hang or a traceback."""
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            box["client"] = client_class(address, timeout=f"{timeout_s}s")
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=attempt, name="hashsim-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout_s + min(5.0, timeout_s / 4))  # Dask's own timeout speaks first
    if "client" in box:
        return box["client"]
    hint = ("is it the scheduler's address (tcp://host:8786 by default), not the dashboard's "
            "(http://host:8787)?")
    if thread.is_alive():
        raise UsageError(f"cannot reach the Dask scheduler at {address}: something accepts "
                         f"connections there but gave no Dask answer in {timeout_s:g} s; {hint}")
    exc = box.get("error")
    if isinstance(exc, OSError | TimeoutError | ValueError):
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}")
    raise UsageError(f"cannot reach the Dask scheduler at {address}: its answer is not "
                     f"Dask's ({type(exc).__name__}: {exc}); {hint}")


def _probe(address: str) -> None:
    """Fail at once on a malformed address, or where nothing listens at a tcp:// or tls://
    scheduler address (Dask's client would retry for its whole timeout). An address without
    a scheme is tcp://, as Dask reads it; other schemes are left to Dask."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        port = parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise UsageError(f"bad Dask scheduler address {address!r}: {exc} (expected "
                         "tcp://host:port, e.g. tcp://login-node:8786, or 'local')") from None
    if not parts.hostname or port is None:
        raise UsageError(f"bad Dask scheduler address {address!r}: expected tcp://host:port, "
                         "e.g. tcp://login-node:8786, or 'local'")
    try:
        socket.create_connection((parts.hostname, port), timeout=5.0).close()
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: nothing answers at "
                         f"{parts.hostname}:{port} ({exc.strerror or exc})") from None


def _context() -> Any:
    """fork where there is one: workers start at once and inherit the loaded modules."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)

"""Where the runs of a sweep execute: in process, a local process pool, or a Dask cluster.

All three are :class:`concurrent.futures.Executor`\\ s, so the runner has one code path:

- ``-j 1`` (or a job of at most :data:`SMALL_JOB` runs): :class:`InlineExecutor`, no pool.
- ``-j N``: :class:`~concurrent.futures.ProcessPoolExecutor` with N worker processes.
- ``--scheduler local``: a ``dask.distributed.LocalCluster`` of N single-threaded workers;
  ``--scheduler tcp://host:8786``: an existing Dask cluster (e.g. started by dask-jobqueue on
  SLURM or PBS). Both through ``Client.get_executor()``.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any

from sim.errors import HashsimError
from sim.experiments.errors import UsageError

#: At most this many runs: a pool costs more than it saves, so they run in process.
SMALL_JOB = 2


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
        try:
            self.executor: Executor = self._open()
            self._window = 1 if self.inline else 2 * self.jobs
            if self.scheduler not in (None, "local") and self._client is not None:
                workers = len(self._client.scheduler_info().get("workers", {}))
                self._window = max(4, 2 * workers)  # a cluster's size, not -j, sets the pace
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
    def window(self) -> int:
        """Runs submitted at once: enough to keep every worker busy, few enough to bound
        the memory held by finished-but-unwritten results."""
        return self._window

    @property
    def restartable(self) -> bool:
        return self.scheduler is None and not self.inline

    def restart(self) -> None:
        """Replace a broken process pool by a fresh one."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._open()

    def close(self, cancel: bool = False) -> None:
        if isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=not cancel, cancel_futures=cancel)
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
                self._cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1,
                                             processes=True, dashboard_address=None,
                                             silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
            else:
                _probe(str(self.scheduler))
                try:
                    self._client = Client(self.scheduler, timeout="20s")
                except (OSError, TimeoutError, ValueError) as exc:
                    raise UsageError(f"cannot reach the Dask scheduler at {self.scheduler}: "
                                       f"{exc}") from None
        return self._client.get_executor(pure=False)


def _probe(address: str) -> None:
    """Fail at once where nothing listens at a tcp:// scheduler address (Dask's client would
    retry for its whole timeout); other schemes are left to Dask."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        return
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5.0).close()
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: nothing answers at "
                         f"{parts.hostname}:{parts.port} ({exc.strerror or exc})") from None


def _context() -> Any:
    """fork where there is one: workers start at once and inherit the loaded modules."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)

"""Running a sweep: one shard per run, written atomically as it finishes; resume; failures.

Layout of a sweep's results folder::

    results/x/
      manifest.json        what ran, with which seed and versions; status; failed runs
      experiment.yaml      the experiment file as given
      scenarios/NAME-SHA.yaml   each arm's scenario file as run (manifest: scenario_copy)
      samples.csv          the design: sample, param_<name>, …
      shards/sSSSSSS/ARM/rRRRRRR/   one folder per (sample, arm, replicate): every table
      errors/sSSSSSS-ARM-rRRRRRR.txt   the traceback of each run that failed
      network.csv …        the combined tables (sample, arm, replicate, param_*, columns)

Replicates of one design point and arm run together as batch worlds (sim/batch.py, `batches`),
which give each replicate exactly its tables alone; each still gets its own shard.

A shard is written to a temporary folder beside its place and renamed into it, so a shard that
exists is complete; ``--resume`` runs only the runs without a shard. The combined tables are
rebuilt from the shards in (sample, arm, replicate) order, so they are the same bytes whatever
the executor, the number of workers, the order runs finished in, or how often the sweep was
interrupted and resumed.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.batch import batch_size
from sim.csvtext import csv_line, csv_text
from sim.errors import HashsimError, ResultsExistError
from sim.experiments.errors import InputError, UsageError
from sim.experiments.executors import Pool, default_jobs
from sim.experiments.plan import ArmPlan, Plan, Task
from sim.results import check_replaceable, staging_dir, version_diffs

#: Fault injection for tests: ``HASHSIM_INJECT_FAULTS="raise@s000001-ban-r000002,kill@*"``
#: (``hang@…``: a run that does not end by itself, for tests of interrupts).
FAULTS_ENV = "HASHSIM_INJECT_FAULTS"
MANIFEST = "manifest.json"
FORMATS = ("csv", "parquet")
#: Files other commands derive from a sweep's combined tables and write into its folder
#: (`summarize`, `sensitivity`, `report`): stale once a resume changes the tables.
DERIVED = ("ensemble_series.csv", "ensemble_metrics.csv", "ensemble_differences.csv",
           "sensitivity_*.csv", "report.html")


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: finished shards are kept; ``--resume`` continues. Still a
    KeyboardInterrupt (not an Exception), so that a caller's ``except Exception`` in a loop
    of sweeps does not swallow the user's Ctrl-C."""


@dataclass
class Outcome:
    """What a worker sends back: the run's encoded tables, or the traceback of its failure."""

    order: tuple[int, int, int]
    tables: dict[str, bytes] | None
    error: str | None
    seconds: float
    versions: dict[str, str] | None = None  # the worker's Python and libraries


@dataclass
class SweepReport:
    """The result of :func:`run_sweep`."""

    directory: Path
    num_tasks: int
    ran: int
    skipped: int
    failed: list[dict[str, Any]] = field(default_factory=list)
    executor: str = ""
    wall_time_s: float = 0.0
    removed: list[str] = field(default_factory=list)  # stale derived files (see DERIVED)
    #: Versions of workers that differ from this process's (a cluster's other environment).
    other_versions: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


# ---------------------------------------------------------------------------- in the worker


@functools.cache
def _worker_versions() -> dict[str, str]:
    from sim.results import versions

    return versions()


@functools.lru_cache(maxsize=8)
def _scenario(text: str, file: str, overrides: tuple[str, ...]) -> Any:
    from sim.validation import loads

    return loads(text, file, overrides)


def execute(task: Task) -> Outcome:
    """Run one task (in whatever process the executor chose) and encode its tables."""
    from sim.engine import run_replicate
    from sim.results import TABLES
    from sim.summary import summarize

    started = time.perf_counter()
    try:
        _inject(task.fault)
        scenario = _scenario(task.scenario_text, task.scenario_file, task.overrides)
        tables, _ = run_replicate(scenario, task.seed, task.replicate, sample=task.stream_sample)
        tables["summary"] = summarize(scenario, tables)
        encoded = {name: encode_run(tables[name], task) for name in TABLES}
    except Exception:
        return Outcome(task.order, None, traceback.format_exc(),
                       time.perf_counter() - started, _worker_versions())
    return Outcome(task.order, encoded, None, time.perf_counter() - started,
                   _worker_versions())


def execute_batch(tasks: list[Task]) -> list[Outcome]:
    """Run tasks that differ only in their replicate as one batch world (sim/batch.py): the
    same tables as running each alone, in a fraction of the time. Should the batch raise,
    each task runs alone, so that a failure is the failing run's only."""
    from sim.batch import run_batch
    from sim.results import TABLES
    from sim.summary import summarize

    if len(tasks) == 1:
        return [execute(tasks[0])]
    first = tasks[0]
    started = time.perf_counter()
    try:
        scenario = _scenario(first.scenario_text, first.scenario_file, first.overrides)
        runs = run_batch(scenario, first.seed, [t.replicate for t in tasks],
                         sample=first.stream_sample)
        encoded = []
        for task, tables in zip(tasks, runs, strict=True):
            tables["summary"] = summarize(scenario, tables)
            encoded.append({name: encode_run(tables[name], task) for name in TABLES})
    except Exception:
        return [execute(task) for task in tasks]
    seconds = (time.perf_counter() - started) / len(tasks)
    return [Outcome(task.order, tables, None, seconds, _worker_versions())
            for task, tables in zip(tasks, encoded, strict=True)]


def batches(tasks: list[Task], workers: int, size: int | None = None) -> list[list[Task]]:
    """The tasks in jobs: runs of consecutive tasks that differ only in their replicate, of
    a cohort-resolution scenario and without an injected fault, go together, in batches of
    `size` (default: as large as keeps `workers` busy twice over counting every task of the
    sweep, at most `sim.batch.batch_size` of the scenario); any other task alone. Results do
    not depend on the batches (tests/test_batch.py).

    The default is reckoned over the whole sweep, not per design point: 40 design points of 3
    replicates on 2 workers run as 80 batches of 3, not 240 runs alone (which cost three times
    as much). The scenario's batch size is read once per arm (at its first design point), as
    parameters change a scenario's values, not the cohorts it starts with — and a batch size
    changes no result anyway.
    """
    def key(t: Task) -> tuple[Any, ...]:
        return (t.sample, t.arm, t.scenario_file, t.scenario_text, t.overrides, t.seed,
                t.stream_sample, t.fmt)

    groups: list[list[Task]] = []
    for task in tasks:
        if task.fault is None and groups and groups[-1][-1].fault is None \
                and key(groups[-1][-1]) == key(task):
            groups[-1].append(task)
        else:
            groups.append([task])
    target = size or -(-len(tasks) // (2 * max(workers, 1)))
    caps: dict[tuple[Any, ...], int] = {}
    jobs: list[list[Task]] = []
    for group in groups:
        first = group[0]
        if len(group) == 1:  # runs alone anyway: its scenario is not loaded here
            cap = 0
        else:
            arm = (first.arm, first.scenario_file, first.scenario_text,
                   tuple(o for o in first.overrides if o.startswith("resolution=")))
            if arm not in caps:
                caps[arm] = _batch_cap(first)
            cap = caps[arm]
        n = (size or min(cap, target)) if cap else 1
        jobs.extend(group[i:i + n] for i in range(0, len(group), n))
    return jobs


def _batch_cap(task: Task) -> int:
    """Most replicates of the task's scenario to run as one world by default
    (sim.batch.batch_size), or 0 where they run alone: outside cohort resolution. The
    scenario is loaded here, once per arm (:func:`batches`)."""
    try:
        scenario = _scenario(task.scenario_text, task.scenario_file, task.overrides)
    except Exception:
        return 0  # runs alone, and fails there with its own message
    return batch_size(scenario) if scenario.resolution == "cohort" else 0


def _inject(fault: str | None) -> None:
    if fault == "raise":
        raise RuntimeError("injected fault (HASHSIM_INJECT_FAULTS)")
    if fault == "kill":
        os.kill(os.getpid(), 9)
    if fault == "hang":
        time.sleep(3600)


def decorate(df: pd.DataFrame, task: Task) -> pd.DataFrame:
    """The table with the sweep's key columns first: sample, arm, replicate, param_*."""
    front = {"sample": task.sample, "arm": task.arm, "replicate": task.replicate}
    front.update({f"param_{name}": value for name, value in task.params})
    rest = df.drop(columns=["replicate"], errors="ignore")
    n = len(rest)
    head = pd.DataFrame({k: pd.Series([v] * n, dtype=_dtype(v)) for k, v in front.items()})
    return pd.concat([head, rest.reset_index(drop=True)], axis=1)


def encode_run(df: pd.DataFrame, task: Task) -> bytes:
    """``encode(decorate(df, task), task.fmt)``; in CSV without building the decorated table:
    the key columns are the same on every line, so their text is written once and put in
    front of each line (the same bytes)."""
    body = csv_text(df, skip="replicate") if task.fmt == "csv" else ""
    if body is None:
        body = df.drop(columns=["replicate"], errors="ignore").to_csv(index=False,
                                                                      lineterminator="\n")
    if task.fmt != "csv" or body.count("\n") != len(df) + 1:  # a field holds a line break
        return encode(decorate(df, task), task.fmt)
    head_names, head_values = _key_text(task).split("\n")[:2]
    header, _, lines = body.partition("\n")
    prefix = head_values + ","
    # every line but the header starts with the key values: put them after each line break
    text = lines[:-1].replace("\n", "\n" + prefix) if lines else ""
    return (f"{head_names},{header}\n" + (prefix + text + "\n" if lines else "")).encode()


@functools.lru_cache(maxsize=256)
def _key_text(task: Task) -> str:
    """The CSV text of a run's key columns: names, then values (as pandas writes them)."""
    names = ["sample", "arm", "replicate", *(f"param_{name}" for name, _ in task.params)]
    values = [task.sample, task.arm, task.replicate, *(value for _, value in task.params)]
    head, line = csv_line(names), csv_line(values)
    if head is None or line is None:
        return decorate(pd.DataFrame(index=range(1)), task).to_csv(index=False,
                                                                   lineterminator="\n")
    return f"{head}\n{line}\n"


def _dtype(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "object"


def encode(df: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "csv":
        return df.to_csv(index=False, lineterminator="\n").encode()
    import pyarrow as pa
    import pyarrow.parquet as pq

    # An empty text ("no date") is a missing value, as it reads back from CSV.
    text = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
    df = df.assign(**{c: df[c].mask(df[c] == "") for c in text}) if text else df
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------- in the client


def parse_faults(text: str | None) -> dict[str, str]:
    """``kind@label,…`` → {label: kind}; label ``*`` means every run."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        kind, _, label = item.strip().partition("@")
        if kind in ("raise", "kill", "hang") and label:
            out[label] = kind
    return out


def run_sweep(plan: Plan, directory: str | os.PathLike[str], jobs: int | None = None,
              scheduler: str | None = None, resume: bool = False, force: bool = False,
              fmt: str = "csv", progress: bool = False, command: list[str] | None = None,
              on_done: Callable[[Task, Outcome], None] | None = None,
              batch: int | None = None) -> SweepReport:
    """Run every task of ``plan`` that has no shard in ``directory`` yet, then combine.

    Replicates of one design point and arm run together in batch worlds of ``batch``
    replicates (default: automatic; 1: one at a time); the results do not depend on it.

    Raises
    ------
    ResultsExistError
        ``directory`` exists and neither ``resume`` nor ``force`` was given (exit code 2).
    UsageError
        Resuming a folder made by another experiment or with another format (exit code 2).
    """
    from sim.experiments.combine import combine

    _check_arguments(plan, directory, jobs, batch, on_done)
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        _need_pyarrow()
    out = Path(directory)
    started = time.perf_counter()
    # Everything that can fail for reasons of the folder or the environment (an existing
    # folder, another experiment's folder, a missing extra, an unreachable scheduler) fails
    # before the folder is touched: an old sweep survives a --force that cannot run.
    keep = _check_directory(plan, out, resume, force, fmt)
    tasks = plan.tasks(fmt, parse_faults(os.environ.get(FAULTS_ENV)))
    pending = [t for t in tasks if not (keep and (out / t.shard).is_dir())]
    manifest = _manifest(plan, out, fmt, command)
    report = SweepReport(out, len(tasks), len(pending), len(tasks) - len(pending))
    earlier_workers: list[dict[str, str]] = []
    attempts: list[dict[str, Any]] = []  # what each earlier attempt ran, where, how long
    if keep:  # a resume: the sweep's own provenance stays, the resumes are added to it
        before = read_manifest(out)
        attempts = _attempts(before)
        manifest.update({k: before[k] for k in ("seed_source", "command") if k in before})
        manifest["resumed"] = [*before.get("resumed", []), _command(command)]
        earlier = _earlier_versions(before, manifest)
        if earlier:
            manifest["earlier_versions"] = earlier
            if report.skipped and pending:
                print(resume_version_warning(manifest, earlier[-1], report.skipped),
                      file=sys.stderr)
        workers = before.get("worker_versions")
        if isinstance(workers, list):
            earlier_workers = [w for w in workers if isinstance(w, dict)]
    with Pool(jobs or default_jobs(), scheduler, len(pending)) as pool:
        if pool.remote and pool.threads == 0:
            print(f"note: the Dask cluster at {scheduler} has no workers yet; the runs start "
                  "as workers join (batch jobs still queued?)", file=sys.stderr)
        _prepare_directory(plan, out, keep)
        if keep and pending:  # the combined tables will change: what was derived is stale
            report.removed = _remove_derived(out)
        report.executor = manifest["executor"] = pool.description
        _write_json(out / MANIFEST, {**manifest, "status": "running"})
        try:
            work = batches(pending, pool.threads or pool.jobs, batch)
            _drive(pool, work, out, report, progress, on_done)
        except KeyboardInterrupt:
            manifest.update(status="interrupted", failed=report.failed)
            _note_workers(manifest, earlier_workers, report)
            finished = sum(1 for t in pending if (out / t.shard).is_dir())
            manifest["attempts"] = [*attempts, _attempt(finished, report.executor,
                                                         "interrupted", started)]
            _write_json(out / MANIFEST, manifest)
            done = len(tasks) - len(pending) + finished
            raise SweepInterrupted(f"interrupted after {done} of {len(tasks)} runs; the "
                                   "finished ones are kept: continue with --resume "
                                   "(in Python: resume=True)") from None
    combine(out, sorted(tasks, key=lambda t: t.order), fmt)
    with contextlib.suppress(OSError):
        (out / "errors").rmdir()  # only if empty: every failure was fixed
    report.wall_time_s = round(time.perf_counter() - started, 3)
    manifest.update(status="complete" if report.ok else "incomplete", failed=report.failed,
                    completed=len(tasks) - len(report.failed), wall_time_s=report.wall_time_s)
    manifest["attempts"] = [*attempts, _attempt(report.ran, report.executor, manifest["status"],
                                                 started)]
    if report.other_versions:
        print(version_warning(manifest["versions"], report.other_versions), file=sys.stderr)
    _note_workers(manifest, earlier_workers, report)
    _write_json(out / MANIFEST, manifest)
    return report


def _attempt(ran: int, executor: str, status: str, started: float) -> dict[str, Any]:
    """This attempt, for the manifest's `attempts`: the runs it ran (not those a resume
    kept; an interrupted one's finished runs), its executor, its wall time, how it ended."""
    return {"ran": ran, "executor": executor, "status": status,
            "wall_time_s": round(time.perf_counter() - started, 3)}


def _attempts(before: dict[str, Any]) -> list[dict[str, Any]]:
    """The attempts a resumed sweep's manifest lists; a manifest of an earlier version
    without them stands for one attempt, described as far as it says."""
    listed = before.get("attempts")
    if isinstance(listed, list):
        return [a for a in listed if isinstance(a, dict)]
    first: dict[str, Any] = {k: before[k] for k in ("executor", "status", "wall_time_s")
                             if k in before}
    return [first] if first else []


def _note_workers(manifest: dict[str, Any], earlier: list[dict[str, str]],
                  report: SweepReport) -> None:
    """List under worker_versions the other versions of this attempt's workers and of an
    earlier attempt's (whose shards a resume keeps)."""
    workers = [*earlier, *(v for v in report.other_versions if v not in earlier)]
    if workers:
        manifest["worker_versions"] = workers


def _check_arguments(plan: Any, directory: Any, jobs: Any, batch: Any, on_done: Any) -> None:
    """run_sweep's arguments from Python, checked before the folder is touched (a wrong
    one failed half-way, leaving a folder that a retry then found in its way)."""
    from sim.results import ArgumentTypeError, whole_number

    if not isinstance(plan, Plan):
        raise ArgumentTypeError(f"plan must be a Plan (from sim.experiments.prepare), not "
                                f"{type(plan).__name__}")
    if not isinstance(directory, str | os.PathLike):
        raise ArgumentTypeError(f"directory must be a folder's path (a str or a path), not "
                                f"{type(directory).__name__}")
    for name, value in (("jobs", jobs), ("batch", batch)):
        if value is not None:
            whole_number(value, name, 1)
    if on_done is not None and not callable(on_done):
        raise ArgumentTypeError(f"on_done must be a function (or None), not "
                                f"{type(on_done).__name__}")


def version_warning(here: dict[str, str], others: list[dict[str, str]]) -> str:
    """The warning for workers whose Python or libraries differ from this process's."""
    diffs = sorted({d for other in others for d in version_diffs(here, other)})
    return ("warning: some workers run other versions than this machine: "
            f"{'; '.join(diffs)}. The same seed gives the same numbers only with the same "
            "versions (numpy's streams above all): install the same environment on the "
            "workers; manifest.json lists their versions under worker_versions")


def _earlier_versions(before: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    """The versions and git commits of a resumed sweep's earlier attempts that differ from
    this attempt's, oldest first: the shards they made are kept, so the manifest must not
    forget them (it lists this attempt's under versions and git_commit)."""
    current = {"versions": now.get("versions"), "git_commit": now.get("git_commit")}
    listed = before.get("earlier_versions")
    seen = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
    last = {"versions": before.get("versions"), "git_commit": before.get("git_commit")}
    out: list[dict[str, Any]] = []
    for entry in [*seen, last]:
        if entry != current and entry not in out:
            out.append(entry)
    return out


def resume_version_warning(now: dict[str, Any], before: dict[str, Any], kept: int) -> str:
    """The warning for a resume whose kept runs were made by other versions or code."""
    diffs = version_diffs(now.get("versions") or {}, before.get("versions") or {})
    if before.get("git_commit") != now.get("git_commit"):
        diffs.append(f"git commit {before.get('git_commit')} (here {now.get('git_commit')})")
    return (f"warning: the {kept} runs kept from before were made with other versions than "
            f"this resume: {'; '.join(diffs)}. The combined tables will mix them, and the same "
            "seed gives the same numbers only with the same versions and code: resume with "
            "the versions of the earlier attempt, or rerun every run with --force. "
            "manifest.json lists the earlier versions under earlier_versions")


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        from sim.experiments.executors import MissingExtraError

        raise MissingExtraError("--format parquet needs pyarrow: pip install "
                                "'hashsim[parquet]'") from None


def _drive(pool: Pool, jobs: list[list[Task]], out: Path, report: SweepReport,
           progress: bool, on_done: Callable[[Task, Outcome], None] | None) -> None:
    """Submit jobs (a task, or a batch of tasks) in a bounded window; write each run's result
    as it arrives.

    When a worker process dies (a killed or crashed process breaks a process pool), every run
    then in flight is requeued as a suspect and rerun alone in a fresh pool: a suspect whose
    rerun breaks the pool again is the culprit and is recorded as failed; nothing else is lost.
    """
    from tqdm import tqdm

    queue = deque(jobs)
    in_flight: dict[Future[list[Outcome]], list[Task]] = {}
    suspects: set[str] = set()
    show = progress and sys.stderr.isatty()
    with tqdm(total=sum(len(j) for j in jobs), unit="run", disable=not show, file=sys.stderr,
              dynamic_ncols=True, leave=False) as bar:

        def collect(future: Future[list[Outcome]], job: list[Task]) -> bool:
            """Handle a finished future; True if its worker process died."""
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                again = [t for t in job if t.label not in suspects]
                if again:
                    for task in reversed(again):
                        suspects.add(task.label)
                        queue.appendleft([task])
                    return True
                outcomes = [Outcome(t.order, None, "the worker process died while running "
                                    "this run (killed, out of memory, or crashed)\n", 0.0)
                            for t in job]
            except Exception:
                outcomes = [Outcome(t.order, None, traceback.format_exc(), 0.0) for t in job]
            for task, outcome in zip(job, outcomes, strict=True):
                _store(out, task, outcome, report)
                if on_done is not None:
                    on_done(task, outcome)
                bar.update(1)
            return False

        while queue or in_flight:
            broken = not _fill(pool, queue, in_flight, suspects)
            if not broken:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                broken = any([collect(f, in_flight.pop(f)) for f in _by_order(done, in_flight)])
            if broken and pool.restartable:
                wait(in_flight)  # the others in flight fail with the pool (or just finished)
                for future in _by_order(set(in_flight), in_flight):
                    collect(future, in_flight.pop(future))
                pool.restart()


def _by_order(futures: set[Future[list[Outcome]]],
              in_flight: dict[Future[list[Outcome]], list[Task]]
              ) -> list[Future[list[Outcome]]]:
    """Futures by descending order of their first task, so that requeued suspects run in
    order."""
    return sorted(futures, key=lambda f: in_flight[f][0].order, reverse=True)


def _fill(pool: Pool, queue: deque[list[Task]],
          in_flight: dict[Future[list[Outcome]], list[Task]], suspects: set[str]) -> bool:
    """Submit queued jobs up to the window; False if the pool turned out to be broken."""
    while queue and len(in_flight) < pool.window:
        suspect = any(t.label in suspects for t in queue[0])
        if suspect and in_flight:
            return True  # a suspect runs alone, so that a second death names the culprit
        job = queue[0]
        try:
            future = pool.executor.submit(execute_batch, job)
        except BrokenProcessPool:
            return False
        queue.popleft()
        in_flight[future] = job
        if suspect:
            return True
    return True


def _store(out: Path, task: Task, outcome: Outcome, report: SweepReport) -> None:
    if outcome.versions is not None and outcome.versions != _worker_versions() \
            and outcome.versions not in report.other_versions:
        report.other_versions.append(outcome.versions)
    if outcome.tables is None:
        _record_failure(out, task, outcome.error or "unknown error", report)
        return
    write_shard(out, task, outcome)
    with contextlib.suppress(FileNotFoundError):
        (out / "errors" / f"{task.label}.txt").unlink()


def write_shard(out: Path, task: Task, outcome: Outcome) -> Path:
    """Write a run's tables into its shard folder, atomically (temporary folder, rename)."""
    assert outcome.tables is not None
    target = out / task.shard
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(target, ".tmp-")
    try:
        ext = "csv" if task.fmt == "csv" else "parquet"
        for name, data in outcome.tables.items():
            (tmp / f"{name}.{ext}").write_bytes(data)
        meta = {"sample": task.sample, "arm": task.arm, "replicate": task.replicate,
                "params": dict(task.params), "seconds": round(outcome.seconds, 4)}
        (tmp / "shard.json").write_text(json.dumps(meta, default=str) + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _record_failure(out: Path, task: Task, error: str, report: SweepReport) -> None:
    path = out / "errors" / f"{task.label}.txt"
    path.parent.mkdir(exist_ok=True)
    header = (f"sample {task.sample}, arm {task.arm}, replicate {task.replicate}\n"
              f"scenario {task.scenario_file}\noverrides {list(task.overrides)}\n\n")
    _write_text(path, header + error)
    last = [line for line in error.strip().splitlines() if line.strip()]
    report.failed.append({"sample": task.sample, "arm": task.arm, "replicate": task.replicate,
                          "error": str(path.relative_to(out)),
                          "message": last[-1] if last else "unknown error"})


# ---------------------------------------------------------------------------- the folder


def _check_directory(plan: Plan, out: Path, resume: bool, force: bool, fmt: str) -> bool:
    """Whether the sweep continues in ``out``'s existing contents (a resume); touches nothing.

    Raises ResultsExistError or UsageError when ``out`` may not be used as asked.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    check_replaceable(out)  # (an empty or new folder is fine; a link or the cwd is not)
    if not (out.exists() and any(out.iterdir())):
        return False
    if resume:
        _check_resumable(plan, out, fmt)
        return True
    if not force:
        raise ResultsExistError(f"{out} exists; use --resume to continue the sweep in it "
                                "or --force to replace it (in Python: resume=True, force=True)")
    return False


def _prepare_directory(plan: Plan, out: Path, keep: bool) -> None:
    """Make ``out`` ready: kept as it is for a resume, else replaced by a fresh folder."""
    if keep:
        _clean_temporaries(out)
    else:
        if out.exists() and any(out.iterdir()):
            _remove(out)
        out.mkdir(parents=True, exist_ok=True)
        _write_text(out / "experiment.yaml", plan.text)
        samples_csv(plan).to_csv(out / ".samples.csv.tmp", index=False, lineterminator="\n")
        os.replace(out / ".samples.csv.tmp", out / "samples.csv")
    # the arms' scenario files as run: the sweep can be repeated (and read) after they change
    # (a resume, whose files are the same, adds them to a folder made before there were any)
    (out / SCENARIOS).mkdir(exist_ok=True)
    for arm in plan.arms:
        _write_text(out / scenario_copy(arm), arm.scenario_text)


#: The folder of a sweep that holds the arms' scenario files.
SCENARIOS = "scenarios"


def scenario_copy(arm: ArmPlan) -> str:
    """Where (relative to the sweep's folder) the scenario file of `arm` is kept: one copy
    per distinct file content, named after the file and its sha256."""
    stem = Path(arm.scenario_file).stem
    return f"{SCENARIOS}/{stem}-{arm.scenario_sha256[:12]}.yaml"


def samples_csv(plan: Plan) -> pd.DataFrame:
    """The design: one row per sample, one param_<name> column per parameter."""
    rows = [{"sample": s, **{f"param_{n}": v for n, v in point.items()}}
            for s, point in enumerate(plan.design.values)]
    columns = ["sample", *(f"param_{n}" for n in plan.design.names)]
    return pd.DataFrame(rows, columns=columns)


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """A sweep folder's manifest; HashsimError if there is none."""
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{Path(directory)} is not a sweep results folder (no "
                           f"{MANIFEST})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(data, dict) or "hashsim_experiment" not in data:
        raise InputError(f"{path} is not a hashsim sweep manifest")
    return data


def resume_seed(directory: str | os.PathLike[str]) -> int | None:
    """The seed a sweep in ``directory`` drew for itself (None if it was given one)."""
    try:
        manifest = read_manifest(directory)
    except HashsimError:
        return None
    return int(manifest["seed"]) if manifest.get("seed_source") == "drawn" else None


def _check_resumable(plan: Plan, out: Path, fmt: str) -> None:
    manifest = read_manifest(out)
    if manifest.get("fingerprint") != plan.fingerprint:
        raise UsageError(
            f"{out} holds the results of a different experiment (or of other scenario files, "
            "--set values, seed or design points — another version may draw other points) "
            "than the one given; resume it with the same inputs and version, or use --force "
            "to start again")
    if manifest.get("format") != fmt:
        raise UsageError(f"{out} was written with --format {manifest.get('format')}; resume "
                           "it with the same format")


def _clean_temporaries(out: Path) -> None:
    shards = out / "shards"
    if shards.is_dir():
        for tmp in shards.glob("*/*/.*.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
    for tmp in out.glob(".*.tmp*"):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _remove_derived(out: Path) -> list[str]:
    """Delete the files of :data:`DERIVED` in ``out``; their names, sorted."""
    removed = sorted({p.name for pattern in DERIVED for p in out.glob(pattern) if p.is_file()})
    for name in removed:
        (out / name).unlink(missing_ok=True)
    return removed


def _remove(out: Path) -> None:
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    shutil.rmtree(old, ignore_errors=True)


def _manifest(plan: Plan, out: Path, fmt: str, command: list[str] | None) -> dict[str, Any]:
    from sim.results import git_commit, versions

    exp = plan.experiment
    return {
        "hashsim_experiment": 1,
        "name": exp.name,
        "experiment_file": plan.file,
        "experiment": exp.model_dump(mode="json"),
        "extra_overrides": list(plan.extra_overrides),
        "fingerprint": plan.fingerprint,
        "seed": plan.seed,
        "seed_source": plan.seed_source,
        "crn": exp.crn,
        "stream_key": "(sample, replicate, stream)" if exp.crn == "arms"
                      else "(0, replicate, stream)",
        "format": fmt,
        # absolute: the manifest is read from anywhere (experiment_file is absolute too)
        "arms": {a.name: {"scenario": str(Path(a.scenario_file).resolve()),
                          "scenario_sha256": a.scenario_sha256,
                          "scenario_copy": scenario_copy(a),
                          "overrides": list(a.overrides)} for a in plan.arms},
        "parameters": {n: p.model_dump(mode="json") for n, p in exp.parameters.items()},
        "design": plan.design.info,
        "num_samples": plan.design.num_samples,
        "replicates": exp.replicates,
        "num_tasks": plan.num_tasks,
        "failed": [],
        "versions": versions(),
        "git_commit": git_commit(),
        "command": _command(command),
    }


def _command(command: list[str] | None) -> list[str]:
    return command if command is not None else list(sys.argv)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    _write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)

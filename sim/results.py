"""Running a scenario and holding its results: tables, provenance, atomic writing."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.batch import batch_size, run_batch
from sim.csvtext import write_csv
from sim.engine import run_replicate
from sim.errors import HashsimError, ResultsExistError
from sim.rng import draw_seed
from sim.scenario import Scenario
from sim.summary import summarize
from sim.validation import revalidate
from sim.world import World

TABLES = ("network", "regions", "pools", "facilities", "flows", "decisions", "events",
          "summary")
LIBRARIES = ("numpy", "scipy", "simpy", "networkx", "pandas", "pydantic", "ruamel.yaml", "numba")


def scenario_hash(scenario: Scenario) -> str:
    """sha256 of the resolved scenario's canonical JSON."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def run_inputs(scenario: Scenario, seed: int | None, replicates: int | None) -> dict[str, Any]:
    """What repeats a run, as run.json holds it: the scenario as run (with `seed`, so that the
    scenario saved alone repeats the run too), its hash, the seed and the replicates."""
    scenario = scenario.model_copy(update={"seed": seed})
    return {"scenario": scenario.model_dump(mode="json"),
            "scenario_hash": scenario_hash(scenario), "seed": seed, "replicates": replicates}


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("hashsim", *LIBRARIES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def version_diffs(here: dict[str, str], other: dict[str, str]) -> list[str]:
    """``name version (here version)`` for each of Python and the libraries whose versions
    differ between `other` (a run's, a worker's, an earlier attempt's) and `here`."""
    return [f"{k} {other.get(k, 'not installed')} (here {here.get(k, 'not installed')})"
            for k in sorted(set(here) | set(other)) if here.get(k) != other.get(k)]


#: Files that mark a folder as hashsim's own output (a run's or a backtest's, a sweep's, a
#: calibration's): the only kind of non-empty folder that --force replaces.
OUTPUT_MARKERS = ("run.json", "manifest.json", "calibration.json")


def check_replaceable(target: Path) -> None:
    """Refuse (`ResultsExistError`) an output folder that --force must not replace: a
    non-empty folder that is not hashsim's output (a mistyped ``-o ~/work --force`` would
    delete someone's work), the current folder or one holding it, or a symbolic link (it
    would be replaced by a folder, not followed)."""
    if target.is_symlink():
        raise ResultsExistError(f"{target} is a symbolic link; give the folder it points to "
                                "(a link is not replaced)")
    full, here = target.resolve(), Path.cwd().resolve()
    if full == here or full in here.parents:
        raise ResultsExistError(f"{target or '.'} is the current folder or holds it; give "
                                "the results a folder of their own")
    if full.is_dir() and any(full.iterdir()) \
            and not any((full / name).is_file() for name in OUTPUT_MARKERS):
        raise ResultsExistError(
            f"{target} is not a hashsim output folder (it has no {', '.join(OUTPUT_MARKERS)}); "
            "--force replaces only those: move it away or choose another folder")


def check_target(path: Path, what: str = "output") -> None:
    """Refuse, before any work, an output path that cannot be created: its nearest existing
    ancestor must be a writable folder (nothing is created here)."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe != path and not probe.is_dir():
        raise HashsimError(f"cannot create {what} {path}: {probe} is a file, not a folder")
    if probe.is_dir() and not os.access(probe, os.W_OK | os.X_OK):
        raise HashsimError(f"cannot create {what} {path}: {probe} is not writable")


def staging_dir(target: Path, infix: str = ".") -> Path:
    """A new hidden folder beside `target` (``.NAME<infix>XXXXXXXX``) to write into and then
    rename into place. Made with the umask's permissions, as any folder: tempfile.mkdtemp's
    0700 would keep colleagues on a shared server out of the results."""
    import uuid

    while True:
        path = target.parent / f".{target.name}{infix}{uuid.uuid4().hex[:8]}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # a clash of random names: draw another
            continue


def git_commit(package: Path | None = None) -> str | None:
    """The commit of the source checkout that `package` (this ``sim`` folder) belongs to,
    ending in ``-dirty`` when its code (``sim/``, ``cli.py``) differs from that commit; None
    for an installed copy, even one inside some other git repository (a virtual environment
    in a project's folder), whose commit would say nothing about this code."""
    here = (package or Path(__file__).parent).resolve()

    def git(*args: str, cwd: Path = here) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                 timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != here.parent:
        return None
    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    changed = git("status", "--porcelain", "--", here.name, "cli.py", cwd=here.parent)
    return f"{commit}-dirty" if changed or changed is None else commit


class ArgumentError(HashsimError, ValueError):
    """A bad value given to the Python API (``sim.run``, ``sim.load``): a usage error."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the Python API of the wrong type (a string for a seed, say)."""


def override_list(overrides: Any, name: str = "overrides") -> list[str]:
    """``PATH=VALUE`` overrides as a list: one string, or an iterable of them (None: none);
    else an `ArgumentTypeError` that names the argument (a lone string is not split into its
    characters, nor a mapping read as its keys)."""
    from collections.abc import Iterable, Mapping

    what = f"{name} must be PATH=VALUE strings (one, or a list of them)"
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping) or not isinstance(overrides, Iterable):
        # a mapping's keys alone would read as "PATH" without "=VALUE"
        hint = (f" (write [{', '.join(repr(f'{k}=...') for k in list(overrides)[:2])}])"
                if isinstance(overrides, Mapping) else "")
        raise ArgumentTypeError(f"{what}, not {type(overrides).__name__}{hint}")
    out = list(overrides)
    bad = [o for o in out if not isinstance(o, str)]
    if bad:
        raise ArgumentTypeError(f"{what}, not {bad[0]!r} ({type(bad[0]).__name__})")
    return out


#: The confidence levels an interval may have (the CLI's --confidence and the Python API's).
CONFIDENCE_RANGE = (0.5, 0.999)


def confidence_level(value: Any, name: str = "confidence") -> float:
    """`value` as a confidence level in CONFIDENCE_RANGE, as the CLI's ``--confidence`` takes
    it; else an `ArgumentError` (or `ArgumentTypeError`)."""
    low, high = CONFIDENCE_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ArgumentTypeError(f"{name} must be a number between {low} and {high}, not "
                                f"{value!r} ({type(value).__name__})")
    if not low <= float(value) <= high:  # (NaN fails this too)
        raise ArgumentError(f"{name} must be between {low} and {high}, not {value}")
    return float(value)


def whole_number(value: Any, name: str, least: int) -> int:
    """`value` as an int if it is a whole number (not a bool) of at least `least`, else a
    plain `ArgumentError` (or `ArgumentTypeError`) that names the argument."""
    what = f"a whole number (an int) of at least {least}"
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ArgumentTypeError(f"{name} must be {what}, not {value!r} "
                                f"({type(value).__name__})")
    if value < least:
        raise ArgumentError(f"{name} must be {what}, not {value}")
    return int(value)


@dataclass(eq=False)
class Results:
    """The tables of a run (pandas DataFrames) and its provenance; what `sim.run` returns.

    Tables: network, regions, pools, facilities, flows, decisions, events, summary — the files
    that ``write`` makes, described column by column, with units, in results/README.md (in short:
    one row per date × replicate × key; hashrate in H/s, power in MW, energy in MWh, CO₂ in
    tonnes, money in USD, each per simulated day; ``summary`` gives each metric's ``unit``).
    ``results.network`` is the same as ``results.tables["network"]``. In memory the ``date``
    columns hold `datetime.date` objects (``pd.to_datetime(df["date"])`` for datetimes); read
    back from the CSVs they are ISO text.

    ``scenario`` is the resolved `sim.Scenario`, ``seed`` the master seed used (also when it
    was drawn), ``replicates`` the number of replicates, ``provenance`` the library versions,
    git commit, command line and wall time (run.json). Two `Results` are equal (``==``) when
    their scenario, seed, replicates and tables are: the provenance (wall time) is left out,
    so ``sim.run(s, seed=1) == sim.run(s, seed=1)``.
    """

    scenario: Scenario
    seed: int
    replicates: int
    tables: dict[str, pd.DataFrame]
    provenance: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r} "
                             f"(its tables: {', '.join(tables)})")

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.__dict__.get("tables", {})})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Results):
            return NotImplemented
        return (self.seed == other.seed and self.replicates == other.replicates
                and self.scenario == other.scenario
                and list(self.tables) == list(other.tables)
                and all(self.tables[n].equals(other.tables[n]) for n in self.tables))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        tables = self.__dict__.get("tables", {})
        net = tables.get("network")
        span = ""
        if net is not None and len(net) and "date" in net.columns:
            span = f", {net['date'].min()} … {net['date'].max()}"
        sizes = ", ".join(f"{n} {len(df):,}×{len(df.columns)}" for n, df in tables.items())
        return (f"<sim.Results {getattr(self.scenario, 'name', '?')!r}{span}, seed {self.seed}, "
                f"{self.replicates} replicate{'s' * (self.replicates != 1)}; tables: {sizes}>")

    def _repr_html_(self) -> str:
        from sim.notebook import results_html

        return results_html(self)

    def to_numpy(self, table: str) -> dict[str, np.ndarray]:
        """A table as a dict of numpy columns (column name → array).

        Raises `ArgumentError` (a ValueError) naming the tables for an unknown `table`."""
        if not isinstance(table, str) or table not in self.tables:
            raise ArgumentError(f"unknown table {table!r}; one of {', '.join(self.tables)}")
        df = self.tables[table]
        return {c: df[c].to_numpy() for c in df.columns}

    def run_json(self) -> dict[str, Any]:
        # the scenario as run: with the seed used (given, the file's, or drawn)
        return {"hashsim_run": 1, **run_inputs(self.scenario, self.seed, self.replicates),
                **self.provenance}

    def write(self, directory: str | os.PathLike[str], force: bool = False,
              extra: dict[str, pd.DataFrame] | None = None) -> Path:
        """Write every table as CSV plus run.json into `directory`, atomically; `extra`
        tables (name → table, e.g. a backtest's) are written beside them as NAME.csv.

        The files go to a temporary directory beside it that is renamed into place, so an
        interrupted write leaves nothing half-written. An existing directory is replaced only
        with `force` (else `sim.errors.ResultsExistError`). Returns the directory's path.
        A directory that is not a path, or an `extra` table that is not a DataFrame, is not
        named with a plain file name or would replace one of the run's own files, is an
        `ArgumentError` (nothing is written).
        """
        if not isinstance(directory, str | os.PathLike):
            raise ArgumentTypeError(f"directory must be a folder's path (a str or a path), not "
                                    f"{type(directory).__name__}")
        extra = check_extra(extra)
        target = Path(directory)
        if target.exists() and not force:
            raise ResultsExistError(f"{target} exists; pass force=True to replace it (the CLI's "
                                    "--force)")
        if target.exists() and not target.is_dir():
            raise HashsimError(f"{target} exists and is not a directory")
        check_replaceable(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = staging_dir(target)
        try:
            for name in TABLES:
                write_csv(self.tables[name], tmp / f"{name}.csv")
            for name, table in (extra or {}).items():
                table.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
            (tmp / "run.json").write_text(json.dumps(self.run_json(), indent=2) + "\n")
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target


def check_extra(extra: Any) -> dict[str, pd.DataFrame]:
    """`extra` tables of `Results.write` as a dict, or an `ArgumentError` that says why not."""
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise ArgumentTypeError(f"extra must be a dict of name → DataFrame, not "
                                f"{type(extra).__name__}")
    taken = {*TABLES, "run"}
    for name, table in extra.items():
        if not isinstance(name, str) or not name or name != Path(name).name \
                or name.startswith("."):
            raise ArgumentError(f"extra table name {name!r} must be a plain file name "
                                f"(written as NAME.csv)")
        if name in taken:
            raise ArgumentError(f"extra table {name!r} would replace the run's own {name}."
                                f"{'json' if name == 'run' else 'csv'}; give it another name")
        if not isinstance(table, pd.DataFrame):
            raise ArgumentTypeError(f"extra table {name!r} must be a pandas DataFrame, not "
                                    f"{type(table).__name__}")
    return dict(extra)


def _batches(scenario: Scenario, replicates: int, alone: bool) -> list[list[int]]:
    """Replicate numbers in batches of at most `batch_size(scenario)` (cohort resolution),
    else one by one."""
    size = 1 if alone or replicates == 1 else batch_size(scenario)
    return [list(range(lo, min(lo + size, replicates))) for lo in range(0, replicates, size)]


def run(scenario: Scenario, seed: int | None = None, replicates: int = 1,
        on_day: Callable[[int, int], None] | None = None, command: list[str] | None = None,
        on_start: Callable[[int, World], None] | None = None) -> Results:
    """Run `replicates` seeded replicates of `scenario`.

    The seed is `seed`, else the scenario's, else a fresh one (recorded in the results).
    `on_day(replicate, day)` is called after every simulated day (progress reporting);
    `on_start(replicate, world)` before each replicate's first day (narration).
    """
    if not isinstance(scenario, Scenario):
        raise ArgumentTypeError(f"scenario must be a sim.Scenario (from sim.load), not "
                                f"{type(scenario).__name__}")
    for hook_name, hook_fn in (("on_day", on_day), ("on_start", on_start)):
        if hook_fn is not None and not callable(hook_fn):
            raise ArgumentTypeError(f"{hook_name} must be a function (or None), not "
                                    f"{type(hook_fn).__name__}")
    if command is not None and (not isinstance(command, list | tuple)
                                or not all(isinstance(c, str) for c in command)):
        raise ArgumentTypeError(f"command must be a list of strings (the command line), not "
                                f"{command!r}")
    replicates = whole_number(replicates, "replicates", 1)
    # checked again, and a copy of its own for the results' provenance (see revalidate)
    scenario = revalidate(scenario)
    if seed is None:
        seed = scenario.seed if scenario.seed is not None else draw_seed()
    seed = whole_number(seed, "seed", 0)
    started = time.perf_counter()
    parts: dict[str, list[pd.DataFrame]] = {}
    for reps in _batches(scenario, replicates, on_start is not None):
        if len(reps) == 1:  # one at a time (rig resolution, a narration's on_start)
            rep = reps[0]
            hook = (lambda day, rep=rep: on_day(rep, day)) if on_day else None
            start = (lambda world, rep=rep: on_start(rep, world)) if on_start else None
            runs = [run_replicate(scenario, seed, rep, on_day=hook, on_start=start)[0]]
        else:  # together, as one batch world: the same tables (sim/batch.py)
            def each(day: int, reps: list[int] = reps) -> None:
                for rep in reps:
                    on_day(rep, day)  # type: ignore[misc]

            runs = run_batch(scenario, seed, reps, on_day=each if on_day else None)
        for tables in runs:
            for name, df in tables.items():
                parts.setdefault(name, []).append(df)
    tables = {name: pd.concat(dfs, ignore_index=True) for name, dfs in parts.items()}
    tables["summary"] = summarize(scenario, tables)
    provenance = {
        "versions": versions(),
        "git_commit": git_commit(),
        "command": list(command) if command is not None else list(sys.argv),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    return Results(scenario, seed, replicates, tables, provenance)

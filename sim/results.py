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

from sim.engine import run_replicate
from sim.errors import HashsimError, ResultsExistError
from sim.rng import draw_seed
from sim.scenario import Scenario
from sim.summary import summarize
from sim.world import World

TABLES = ("network", "regions", "pools", "facilities", "flows", "events", "summary")
LIBRARIES = ("numpy", "scipy", "simpy", "networkx", "pandas", "pydantic", "ruamel.yaml", "numba")


def scenario_hash(scenario: Scenario) -> str:
    """sha256 of the resolved scenario's canonical JSON."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("hashsim", *LIBRARIES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


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


@dataclass
class Results:
    """The tables of a run (pandas DataFrames) and its provenance.

    Tables: network, regions, pools, facilities, flows, events, summary — the files that
    ``write`` makes, described column by column in results/README.md.
    ``results.network`` is the same as ``results.tables["network"]``.
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
        raise AttributeError(name)

    def _repr_html_(self) -> str:
        from sim.notebook import results_html

        return results_html(self)

    def to_numpy(self, table: str) -> dict[str, np.ndarray]:
        """A table as a dict of numpy columns."""
        df = self.tables[table]
        return {c: df[c].to_numpy() for c in df.columns}

    def run_json(self) -> dict[str, Any]:
        return {
            "hashsim_run": 1,
            "scenario": self.scenario.model_dump(mode="json"),
            "scenario_hash": scenario_hash(self.scenario),
            "seed": self.seed,
            "replicates": self.replicates,
            **self.provenance,
        }

    def write(self, directory: str | os.PathLike[str], force: bool = False,
              extra: dict[str, pd.DataFrame] | None = None) -> Path:
        """Write every table as CSV plus run.json into `directory`, atomically; `extra`
        tables (name → table, e.g. a backtest's) are written beside them as NAME.csv.

        The files go to a temporary directory beside it that is renamed into place, so an
        interrupted write leaves nothing half-written. An existing directory is replaced only
        with `force`.
        """
        target = Path(directory)
        if target.exists() and not force:
            raise ResultsExistError(f"{target} exists; pass force=True to replace it (the CLI's "
                                    "--force)")
        if target.exists() and not target.is_dir():
            raise HashsimError(f"{target} exists and is not a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = staging_dir(target)
        try:
            for name in TABLES:
                self.tables[name].to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
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
    replicates = whole_number(replicates, "replicates", 1)
    if seed is None:
        seed = scenario.seed if scenario.seed is not None else draw_seed()
    seed = whole_number(seed, "seed", 0)
    started = time.perf_counter()
    parts: dict[str, list[pd.DataFrame]] = {}
    for rep in range(replicates):
        hook = (lambda day, rep=rep: on_day(rep, day)) if on_day else None
        start = (lambda world, rep=rep: on_start(rep, world)) if on_start else None
        tables, _ = run_replicate(scenario, seed, rep, on_day=hook, on_start=start)
        for name, df in tables.items():
            parts.setdefault(name, []).append(df)
    tables = {name: pd.concat(dfs, ignore_index=True) for name, dfs in parts.items()}
    tables["summary"] = summarize(scenario, tables)
    provenance = {
        "versions": versions(),
        "git_commit": git_commit(),
        "command": command if command is not None else list(sys.argv),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    return Results(scenario, seed, replicates, tables, provenance)

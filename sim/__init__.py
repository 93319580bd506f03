"""hashsim: a simulator of mining bans, pool shutdowns and hashrate migration.

>>> import sim
>>> scenario = sim.load("tutorial")                  # a bundled name, or a scenario file
>>> results = sim.run(scenario, seed=1, replicates=3)
>>> results                                          # one line (a notebook shows a figure)
>>> results.network.head()                           # pandas DataFrame
>>> results.write("results/tutorial")                # CSVs + run.json, as `hashsim run -o`

``sim.load(path, overrides)`` reads and validates a scenario (a frozen `sim.Scenario`; change
values with ``overrides=["end=2021-06-30", "policies.ban.hazard_per_day=0.2"]``, as the CLI's
``--set``). ``sim.bundled.bundled_scenarios()`` lists the bundled scenarios by name.

``sim.run(scenario, seed, replicates)`` returns a `sim.Results`: its tables ``network``,
``regions``, ``pools``, ``facilities``, ``flows``, ``events`` and ``summary`` are pandas
DataFrames, one row per date × replicate × key, in SI-style units named by the column
(``hashrate_hs`` in H/s, ``power_mw`` in MW, ``energy_mwh`` in MWh, ``co2_t`` in tonnes,
``*_usd`` in USD; ``summary`` has a ``unit`` column); every figure is per simulated
day. The same seed gives identical tables, and replicate *k* is the same whatever the number
of replicates.

Errors: `sim.ScenarioError` (an invalid scenario or override, every problem with
file:line:col), `sim.ArgumentError` (a bad argument: a ValueError; `sim.ArgumentTypeError`, a
TypeError too, for the wrong type), `sim.ResultsExistError` (writing over a folder without
``force=True``); all are `sim.HashsimError`.

Figures and reports: `sim.notebook` (``show(results, "regions")``; a `Results` displays
itself in Jupyter), `sim.plots` (``write_figures``, ``load_run`` to read a results folder
back), `sim.report` (``write_report``); sweeps: `sim.experiments` (docs/experiments.md). These
submodules are imported on first use (``sim.plots.load_run(...)`` works after ``import sim``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sim.errors import HashsimError, ResultsExistError, ScenarioError
    from sim.results import ArgumentError, ArgumentTypeError, Results
    from sim.scenario import Scenario
    from sim.world import World

__all__ = ["ArgumentError", "ArgumentTypeError", "HashsimError", "Results", "ResultsExistError",
           "Scenario", "ScenarioError", "load", "run"]

# names served lazily (importing them eagerly would make `import sim` slow)
_LAZY = {"Results": "sim.results", "ArgumentError": "sim.results",
         "ArgumentTypeError": "sim.results", "Scenario": "sim.scenario",
         "HashsimError": "sim.errors", "ScenarioError": "sim.errors",
         "ResultsExistError": "sim.errors"}


def load(path: str | os.PathLike[str], overrides: str | Sequence[str] | None = ()
         ) -> Scenario:
    """Read and validate a scenario file (or a bundled scenario's name) into a `Scenario`.

    `path` is a YAML file, or the name of a bundled scenario (``"tutorial"``, ``"china-2021"``;
    see ``sim.bundled.bundled_scenarios()``). `overrides` are ``PATH=VALUE`` strings, as the
    CLI's ``--set`` (``"end=2021-06-30"``, ``"policies.ban.hazard_per_day=0.2"``): a list of
    them, or one (None: none). The `Scenario` returned is frozen, with every default filled in.

    Raises `sim.ScenarioError` (``sim.errors.ScenarioError``) listing every problem with
    file:line:col (a missing file, an invalid value or override), and `sim.ArgumentTypeError`
    (``sim.results.ArgumentTypeError``, a TypeError) for a path or overrides that are not text.
    """
    from sim.bundled import resolve
    from sim.results import ArgumentError, ArgumentTypeError, override_list
    from sim.validation import load as _load

    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be a scenario file or a bundled scenario's name "
                                f"(a str or a path), not {type(path).__name__}")
    if not os.fspath(path):
        raise ArgumentError("path is empty: give a scenario file or a bundled scenario's name")
    return _load(resolve(os.fspath(path)), override_list(overrides))


def run(scenario: Scenario | str | os.PathLike[str], seed: int | None = None,
        replicates: int = 1, *, on_day: Callable[[int, int], None] | None = None,
        on_start: Callable[[int, World], None] | None = None,
        command: list[str] | None = None) -> Results:
    """Run a scenario and return its `Results` (pandas tables and provenance).

    `scenario` is a loaded `Scenario` (from `sim.load`) or what `sim.load` takes: a scenario
    file or a bundled scenario's name (without overrides; load it first to change values).
    `seed` is a whole number ≥ 0 (default: the scenario's ``seed``, else a fresh one; either
    way ``results.seed`` records it) and `replicates` one ≥ 1. Replicate *k* draws the same
    random numbers whatever `replicates` is, and the same seed gives identical tables.

    `on_day(replicate, day)` is called after every simulated day (progress: day 0, 1, …) and
    `on_start(replicate, world)` before each replicate's first day. `command` is recorded in
    run.json as the command line (default ``sys.argv``).

    Raises `sim.ArgumentError` (a ValueError) for a bad seed or replicate count, and
    `sim.ArgumentTypeError` (a TypeError too) for an argument of the wrong type; a scenario
    given as a path raises what `sim.load` raises.
    """
    from sim.results import ArgumentTypeError
    from sim.results import run as _run
    from sim.scenario import Scenario as _Scenario

    if not isinstance(scenario, _Scenario):
        if not isinstance(scenario, str | os.PathLike):
            raise ArgumentTypeError(f"scenario must be a sim.Scenario (from sim.load), a "
                                    f"scenario file or a bundled scenario's name, not "
                                    f"{type(scenario).__name__}")
        scenario = load(scenario)
    return _run(scenario, seed=seed, replicates=replicates, on_day=on_day, on_start=on_start,
                command=command)


def __getattr__(name: str) -> Any:
    """`sim.Results`, `sim.Scenario`, the error classes and the submodules, on first use."""
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if not name.startswith("_"):
        import importlib.util

        try:
            found = importlib.util.find_spec(f"{__name__}.{name}") is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    import pkgutil

    return sorted({*globals(), *_LAZY, *(m.name for m in pkgutil.iter_modules(__path__))})

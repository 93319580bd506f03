"""hashsim: a simulator of mining bans, pool shutdowns and hashrate migration.

>>> import sim
>>> scenario = sim.load("scenarios/tutorial.yaml")
>>> results = sim.run(scenario, seed=1, replicates=2)
>>> results.network.head()          # pandas DataFrame
>>> results.write("results/tutorial")
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sim.results import Results
    from sim.scenario import Scenario

__all__ = ["Results", "Scenario", "load", "run"]


def load(path: str | os.PathLike[str], overrides: str | Sequence[str] | None = ()
         ) -> Scenario:
    """Read and validate a scenario file (or a bundled scenario's name).

    `overrides` are ``PATH=VALUE`` strings, as the CLI's ``--set``: a list of them, or one
    (None: none). Raises `sim.errors.ScenarioError` listing every problem with file:line:col,
    and `sim.results.ArgumentTypeError` (a TypeError) for a path or overrides that are not text.
    """
    from sim.bundled import resolve
    from sim.results import ArgumentTypeError
    from sim.validation import load as _load

    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be a scenario file or a bundled scenario's name "
                                f"(a str or a path), not {type(path).__name__}")
    if overrides is None:
        overrides = ()
    if isinstance(overrides, str):
        overrides = [overrides]
    if isinstance(overrides, Mapping) or not isinstance(overrides, Iterable):
        # a mapping's keys alone would read as "PATH" without "=VALUE"
        hint = (f" (write [{', '.join(repr(f'{k}=...') for k in list(overrides)[:2])}])"
                if isinstance(overrides, Mapping) else "")
        raise ArgumentTypeError(f"overrides must be PATH=VALUE strings (one, or a list of "
                                f"them), not {type(overrides).__name__}{hint}")
    bad = [o for o in overrides if not isinstance(o, str)]
    if bad:
        raise ArgumentTypeError(f"overrides must be PATH=VALUE strings (one, or a list of "
                                f"them), not {bad[0]!r} ({type(bad[0]).__name__})")
    return _load(resolve(os.fspath(path)), list(overrides))


def run(scenario: Scenario | str | os.PathLike[str], seed: int | None = None,
        replicates: int = 1, **kwargs: Any) -> Results:
    """Run a scenario (a loaded one or a path) and return its `Results`.

    `seed` is a whole number ≥ 0 (default: the scenario's, else a fresh one) and `replicates`
    one ≥ 1; anything else is a `sim.results.ArgumentError` (a ValueError, and a TypeError
    for the wrong type) that says so.
    """
    from sim.results import run as _run
    from sim.scenario import Scenario as _Scenario

    if not isinstance(scenario, _Scenario):
        scenario = load(scenario)
    return _run(scenario, seed=seed, replicates=replicates, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "Results":
        from sim.results import Results

        return Results
    if name == "Scenario":
        from sim.scenario import Scenario

        return Scenario
    raise AttributeError(name)

"""hashsim: a simulator of mining bans, pool shutdowns and hashrate migration.

>>> import sim
>>> scenario = sim.load("scenarios/tutorial.yaml")
>>> results = sim.run(scenario, seed=1, replicates=2)
>>> results.network.head()          # pandas DataFrame
>>> results.write("results/tutorial")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sim.results import Results
    from sim.scenario import Scenario

__all__ = ["Results", "Scenario", "load", "run"]


def load(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """Read and validate a scenario file (or a bundled scenario's name).

    Raises `sim.errors.ScenarioError` listing every problem with file:line:col.
    """
    from sim.bundled import resolve
    from sim.validation import load as _load

    return _load(resolve(os.fspath(path)), overrides)


def run(scenario: Scenario | str | os.PathLike[str], seed: int | None = None,
        replicates: int = 1, **kwargs: Any) -> Results:
    """Run a scenario (a loaded one or a path) and return its `Results`."""
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

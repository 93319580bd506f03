"""Design points of an experiment: grid, zip, lhs, halton, sobol (Saltelli) and morris.

Every design is a deterministic function of the parameters and the experiment seed: its random
numbers come from ``SeedSequence(seed, spawn_key=(DESIGN_KEY,))``, a branch of the seed tree that
no run uses (runs use ``(sample, replicate, stream)``). Sample ids are 0, 1, … in design order.

Random designs draw points ``u`` in the unit cube; parameter ``j`` of point ``i`` is
``Parameter.from_unit(u[i, j])`` (a range: ``low + u·(high − low)``, or the same in log space;
a list of values: the value of index ``floor(u·k)``; an integer range: each whole number with
the same chance). Grid, zip and Morris levels are ``Parameter.at(u)``: evenly spaced points from
``low`` to ``high`` (whole numbers rounded half up).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.experiments.spec import Lhs, Morris, Parameter, Sobol

#: Spawn key of the design's random numbers (runs' keys are 3-tuples, so they never collide).
DESIGN_KEY = 0x7E57_DE51


@dataclass(frozen=True)
class Design:
    """The design points of an experiment.

    ``values[i][name]`` is parameter ``name`` at sample ``i``; ``unit`` the points in the unit
    cube (shape (num_samples, num_params)) for random designs, else None. ``info`` describes the
    structure the analysis needs (written to the manifest): for ``sobol`` the base sample size
    N and the layout of its N·(d+2) rows, for ``morris`` every step of every trajectory.
    """

    kind: str
    names: list[str]
    values: list[dict[str, Any]]
    unit: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_samples(self) -> int:
        return len(self.values)


def build(parameters: Mapping[str, Parameter], design: Any, seed: int) -> Design:
    """The design points of ``design`` (a spec model: Grid, Zip, Lhs, …) over ``parameters``."""
    names = list(parameters)
    params = [parameters[n] for n in names]
    kind = design.kind
    if kind == "grid":
        combos = itertools.product(*(p.grid() for p in params))
        return Design(kind, names, [dict(zip(names, c, strict=True)) for c in combos],
                      info={"kind": kind})
    if kind == "zip":
        columns = [p.grid() for p in params]
        rows = [dict(zip(names, c, strict=True)) for c in zip(*columns, strict=True)]
        return Design(kind, names, rows or [{}], info={"kind": kind})
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DESIGN_KEY,)))
    info: dict[str, Any] = {"kind": kind}
    if kind == "lhs":
        assert isinstance(design, Lhs)
        unit = _qmc("LatinHypercube", len(names), rng).random(design.samples)
    elif kind == "halton":
        unit = _qmc("Halton", len(names), rng).random(design.samples)
    elif kind == "sobol":
        assert isinstance(design, Sobol)
        unit = saltelli_points(len(names), design.base_samples, rng)
        info.update(base_samples=design.base_samples, num_params=len(names),
                    layout="per base sample j: A_j, AB_j^1 … AB_j^d, B_j")
    elif kind == "morris":
        assert isinstance(design, Morris)
        unit, steps = morris_points(len(names), design.trajectories, design.levels, rng)
        info.update(trajectories=design.trajectories, levels=design.levels,
                    delta=design.levels / (2 * (design.levels - 1)), steps=steps)
    else:
        raise ValueError(f"unknown design {kind!r}")
    # Morris' points lie on a p-level grid: its levels are the range's evenly spaced points
    # (as a grid design's); the other designs sample the parameters' distributions.
    to_value = (lambda p, u: p.at(u)) if kind == "morris" else \
        (lambda p, u: p.from_unit(u))
    values = [{n: to_value(p, float(u)) for n, p, u in zip(names, params, row, strict=True)}
              for row in unit]
    return Design(kind, names, values, unit, info)


def _qmc(name: str, d: int, rng: np.random.Generator) -> Any:
    from scipy.stats import qmc

    cls = getattr(qmc, name)
    try:
        return cls(d, scramble=True, rng=rng)
    except TypeError:  # scipy < 1.15 names the argument `seed`
        return cls(d, scramble=True, seed=rng)


def saltelli_points(d: int, base_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Saltelli's (2010) sampling scheme on a scrambled Sobol' sequence of dimension 2d.

    A = the first d columns, B = the last d; AB^i is A with column i taken from B. Rows come in
    blocks of d+2 per base sample j: A_j, AB_j^1 … AB_j^d, B_j. Shape (N·(d+2), d).
    """
    m = int(base_samples).bit_length() - 1
    base = _qmc("Sobol", 2 * d, rng).random_base2(m)
    a, b = base[:, :d], base[:, d:]
    out = np.empty((base_samples, d + 2, d))
    out[:, 0] = a
    for i in range(d):
        out[:, 1 + i] = a
        out[:, 1 + i, i] = b[:, i]
    out[:, d + 1] = b
    return out.reshape(-1, d)


def morris_points(d: int, trajectories: int, levels: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, list[list[int]]]:
    """Morris' (1991) random trajectories on a ``levels``-point grid of the unit cube.

    Each trajectory starts at a random grid point whose coordinates lie in the lower half
    (so that +Δ stays inside), each coordinate randomly at its lower or upper position, then
    moves one parameter at a time, in random order, by ±Δ with Δ = p / (2(p−1)).

    Returns
    -------
    points
        Shape (r·(d+1), d).
    steps
        For each trajectory, ``[j, sign, j, sign, …]``: step k moves parameter ``steps[2k]`` by
        ``steps[2k+1]·Δ``.
    """
    delta = levels / (2 * (levels - 1))
    lower = np.arange(levels // 2) / (levels - 1)
    points = np.empty((trajectories, d + 1, d))
    steps: list[list[int]] = []
    for t in range(trajectories):
        base = rng.choice(lower, size=d)
        up = rng.random(d) < 0.5  # start at the upper position, then step down
        x = base + np.where(up, delta, 0.0)
        order = rng.permutation(d)
        points[t, 0] = x
        traj: list[int] = []
        for k, j in enumerate(order):
            sign = -1 if up[j] else 1
            x = x.copy()
            x[j] = base[j] + (0.0 if up[j] else delta)
            points[t, k + 1] = x
            traj += [int(j), sign]
        steps.append(traj)
    return np.clip(points, 0.0, 1.0).reshape(-1, d), steps

"""Do a baseline and hashsim agree? Aggregates of the last day, within binomial noise.

Both are stochastic and draw different random numbers, so they are compared in distribution:
for each aggregate of the window's last day — rigs per status, hashrate per leaf region and per
pool (in rigs' worth) — the mean over the baseline's runs and the mean over hashsim's runs (one
per seed) must differ by less than `Z` standard deviations of that difference, plus one rig.

The variance of an aggregate of one run is the sum over rigs of p·(1 − p), p being the chance
that the rig ends in it (rigs' fates are independent draws; capacity rationing only makes them
negatively correlated, which lowers it). That sum is at most N·p̄·(1 − p̄) for N rigs, p̄ the
aggregate's share, and at most the expected number of rigs that enter or leave the aggregate
during the window (a rig that starts in it contributes 1 − p ≤ its chance of leaving; one that
starts outside p, its chance of entering); the latter is estimated by the larger of the two
sides' mean churn, plus one. The tolerance uses the smaller bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from benchmarks.baselines.driver import Baseline, run_baseline, run_hashsim
from benchmarks.workloads import tutorial as scaled
from sim.state import STATUS_NAMES

#: Standard deviations allowed between the means.
Z = 5.0

F64 = NDArray[np.float64]


@dataclass
class Comparison:
    """Last-day aggregates of a baseline's runs and hashsim's, side by side."""

    kind: str
    names: list[str]  # statuses, then hashrate by region and by pool (in rigs' worth)
    baseline: F64  # mean over the baseline's runs
    hashsim: F64  # mean over hashsim's runs
    tolerance: F64
    runs: list[Baseline]  # the baseline's, then hashsim's
    ok: bool

    def report(self) -> str:
        """A table: aggregate, baseline, hashsim, difference, tolerance."""
        lines = [f"{'aggregate':<28} {self.kind:>12} {'hashsim':>12} {'diff':>10} {'tol':>10}"]
        for name, b, h, tol in zip(self.names, self.baseline, self.hashsim, self.tolerance,
                                   strict=True):
            flag = "" if abs(b - h) <= tol else "  <-- differs"
            lines.append(f"{name:<28} {b:>12,.1f} {h:>12,.1f} {b - h:>+10,.1f} {tol:>10,.1f}"
                         f"{flag}")
        return "\n".join(lines)


def last_day(run: Baseline, rig_hs: float) -> F64:
    """The last day's rigs per status, hashrate per leaf region and per pool (in rigs'
    worth)."""
    return np.concatenate([run.statuses[-1].astype(float), run.hashrate_hs[-1] / rig_hs,
                           run.pool_hashrate_hs[-1] / rig_hs])


def compare(kind: str, rigs: int, first_day: int, days: int, seeds: list[int] | tuple[int, ...]
            ) -> Comparison:
    """Run baseline `kind` and hashsim once per seed on the same window and compare their
    last day's aggregates (see the module docstring for the tolerance)."""
    ours = [run_baseline(kind, rigs, first_day, days, s) for s in seeds]
    theirs = [run_hashsim(rigs, first_day, days, s) for s in seeds]
    return compare_runs(ours, theirs)


def compare_runs(ours: list[Baseline], theirs: list[Baseline]) -> Comparison:
    """Compare runs already made: a baseline's `ours` and hashsim's `theirs`, all on the same
    world and window (one run a side will do; more narrow the tolerance)."""
    rigs = ours[0].rigs
    if any(r.rigs != rigs or r.days != ours[0].days or r.first_day != ours[0].first_day
           for r in ours + theirs):
        raise ValueError("runs of different worlds or windows")
    scenario = scaled(rigs)
    rig_hs = max(h.hashrate_hs for h in scenario.hardware)
    a = np.array([last_day(r, rig_hs) for r in ours])
    b = np.array([last_day(r, rig_hs) for r in theirs])
    n = float(rigs)
    p = np.clip((a.mean(axis=0) + b.mean(axis=0)) / (2.0 * n), 0.0, 1.0)
    churn = np.maximum(np.mean([r.churn for r in ours], axis=0),
                       np.mean([r.churn for r in theirs], axis=0)) + 1.0
    variance = np.minimum(n * p * (1.0 - p), churn)
    sd = np.sqrt(variance * (1.0 / len(a) + 1.0 / len(b)))
    tolerance = Z * sd + 1.0
    names = [*STATUS_NAMES, *(f"hashrate {r}" for r in ours[0].regions),
             *(f"hashrate pool {p.name}" for p in scenario.pools)]
    ok = bool(np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) <= tolerance))
    return Comparison(ours[0].kind, names, a.mean(axis=0), b.mean(axis=0), tolerance,
                      ours + theirs, ok)

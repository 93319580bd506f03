"""Experiments: ensembles, sweeps, sensitivity and comparison of hashsim runs.

The way through::

    experiment.yaml ──spec.read──▶ Experiment ──plan.prepare──▶ Plan (arms, design, seed, checks)
        ──runner.run_sweep──▶ shards/ (one per sample × arm × replicate, atomic, resumable)
        ──combine.combine──▶ network.csv … summary.csv (sample, arm, replicate, param_*)
        ──▶ ensemble (bands, statistics, arm differences) · sensitivity (Sobol', Morris)
            · compare (two results: inputs, metric deltas, series NRMSE, plots)

>>> from sim.experiments import prepare, run_sweep
>>> plan = prepare("scenarios/experiments/tutorial-sweep.yaml")
>>> report = run_sweep(plan, "results/tutorial-sweep", jobs=2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.experiments.plan import Plan, prepare
    from sim.experiments.runner import SweepReport, run_sweep

__all__ = ["Plan", "SweepReport", "prepare", "run_sweep"]


def __getattr__(name: str) -> Any:
    if name in ("Plan", "prepare"):
        from sim.experiments import plan

        return getattr(plan, name)
    if name in ("SweepReport", "run_sweep"):
        from sim.experiments import runner

        return getattr(runner, name)
    raise AttributeError(name)
